// libFuzzer target: a caller's body as the SIP edge reads it (pidf/multipart.h), then what the
// emergency path decides from it (pidf/device_location.h) and what the PSAP's shield makes of
// its SDP (proxy/sdp_shield.h). Input: the Content-Type value up to the first newline, the body
// after it. Checks the documented bounds, that every part found lies in the body as it was,
// that adding a part to a well-formed multipart keeps every byte before its close delimiter,
// and that the shield's output needs no shielding.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pidf/device_location.h"
#include "pidf/multipart.h"
#include "proxy/sdp_shield.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nl = input.find('\n');
  std::string_view type = nl == std::string_view::npos ? input : input.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  auto root = sos::pidf::parseBody(type, body);
  if (root.content != body) std::abort();
  auto all = sos::pidf::flatten(root);
  std::vector<sos::pidf::LocationPart> locations;
  for (const auto* e : all) {
    if (e->parts.size() > sos::pidf::kMaxMimeParts) std::abort();
    if (e != &root && body.find(e->raw) == std::string_view::npos) std::abort();
    if (e != &root && e->raw.size() < e->content.size()) std::abort();
    std::string decoded = sos::pidf::decodedContent(*e);
    if (decoded.size() > e->content.size()) std::abort();  // decoding never grows
    if (e->contentType == "application/pidf+xml") locations.push_back({e->contentId, decoded});
  }
  if (root.multipart && root.wellFormed) {
    std::string ours = sos::pidf::makePart("Content-Type: text/plain\r\n", "x");
    std::string added = sos::pidf::appendParts(body, root.boundary, {ours});
    if (added.empty()) std::abort();
    if (added.size() != body.size() + ours.size() + root.boundary.size() + 6) std::abort();
  }
  // The shield's output is well-formed: shielding it again changes nothing.
  auto shielded = sos::proxy::shieldBody(type, body);
  if (shielded.changed && !shielded.sdp.empty() &&
      sos::proxy::shieldSdp(shielded.sdp).kind != sos::proxy::ShieldedSdp::Kind::Unchanged)
    std::abort();
  auto check = sos::pidf::checkDeviceLocation({}, locations);
  if (check.state == sos::pidf::DeviceLocationState::Usable) std::abort();  // nothing names it
  return 0;
}
