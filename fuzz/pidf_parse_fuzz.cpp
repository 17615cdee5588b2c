// libFuzzer target: the PIDF-LO parser reads bodies straight from the network (RFC 6442 section
// 3). Whatever the input, it must return (no crash, leak, UB or unbounded time) and a usable
// result must carry coordinates in range or a civic address with a country.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pidf/pidf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  sos::pidf::DeviceLocation l = sos::pidf::parsePidfLo(body);
  if (l.latitude && (*l.latitude < -90 || *l.latitude > 90)) std::abort();
  if (l.longitude && (*l.longitude < -180 || *l.longitude > 180)) std::abort();
  if (l.usable && !l.latitude && !(l.civic && !l.civic->country.empty())) std::abort();
  if (!l.usable && l.problems.empty()) std::abort();  // an unusable answer always says why
  return 0;
}
