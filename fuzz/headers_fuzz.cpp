// libFuzzer target: the SIP header values sosproxy reads from phones, Geolocation and
// Geolocation-Routing (RFC 6442 section 4) and P-Access-Network-Info (RFC 7315 section 5.4).
// The first input byte picks nothing: every parser sees every input.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pidf/geolocation.h"
#include "routing/access_network_info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view value(reinterpret_cast<const char*>(data), size);
  auto geo = sos::pidf::parseGeolocation(value);
  if (geo.size() > 16) std::abort();  // the documented bound
  for (const auto& g : geo) {
    if (g.uri.empty() || (g.isCid && g.cid.empty())) std::abort();
  }
  (void)sos::pidf::geolocationRoutingAllowed(value);
  auto ani = sos::routing::parseAccessNetworkInfo(value);
  if (ani.size() > 16) std::abort();
  return 0;
}
