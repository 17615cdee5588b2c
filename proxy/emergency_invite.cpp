#include "proxy/emergency_invite.h"

#include <cstdio>

#include "pidf/pidf.h"
#include "proxy/copy_skip.h"

namespace sos::proxy {

namespace {

bool wantsPidf(config::TrunkMode m) {
  return m == config::TrunkMode::Pidf || m == config::TrunkMode::Both;
}
bool wantsElin(config::TrunkMode m) {
  return m == config::TrunkMode::Elin || m == config::TrunkMode::Both;
}

// One body part carrying a PIDF-LO (RFC 6442 section 3).
std::string pidfPart(std::string const& boundary, std::string const& contentId,
                     std::string const& xml) {
  std::string part = "--" + boundary + "\r\nContent-Type: application/pidf+xml\r\n";
  if (!contentId.empty()) part += "Content-ID: <" + contentId + ">\r\n";
  part += "Content-Disposition: by-reference;handling=optional\r\n\r\n" + xml + "\r\n";
  return part;
}

}  // namespace

EmergencyInvite planEmergencyInvite(EmergencyInputs const& in) {
  EmergencyInvite out;
  routing::CallRequest const& req = *in.request;
  if (wantsElin(in.mode) && !in.elin.empty()) {
    out.elin = in.elin;
    out.skip |= kSkipIdentity;
  }
  if (!wantsPidf(in.mode) || in.location == nullptr) return out;

  // A location the device sent is the caller's own: never overridden (RFC 6442 section 3,
  // RFC 8787 section 3). By-reference values cannot be checked here, so they are kept too.
  bool deviceUsable = false;
  for (auto const& part : req.pidfParts)
    if (pidf::parsePidfLo(part.text).usable) deviceUsable = true;
  if (deviceUsable) {
    out.pidf = "device-kept";
    return out;
  }
  if (req.pidfParts.empty() && !req.geolocation.empty()) {
    out.pidf = "device-by-reference";
    return out;
  }

  char id[40];
  std::snprintf(id, sizeof id, "loc-%016llx", static_cast<unsigned long long>(in.seed));
  std::string const contentId = std::string(id) + "@" + in.host;
  pidf::PidfOptions opts;
  opts.entity = in.entity;
  opts.deviceId = id;
  opts.method = in.method;
  opts.retransmissionAllowed = false;
  opts.timestampMs = in.nowMs;
  std::string const xml = pidf::buildPidfLo(*in.location, opts);

  std::string const boundary = pidf::makeBoundary(in.seed);
  std::string body =
      req.sdp.empty()
          ? pidfPart(boundary, contentId, xml) + "--" + boundary + "--\r\n"
          : pidf::buildMultipartMixed(boundary, req.sdpContentType, req.sdp, contentId, xml);
  // The device's own (unusable) PIDF-LO parts stay, after ours, with their Content-IDs, so its
  // Geolocation values still point at something (RFC 6442 section 3: keep what the UA sent).
  if (!req.pidfParts.empty()) {
    std::string const closing = "--" + boundary + "--";
    auto at = body.rfind(closing);
    std::string theirs;
    for (auto const& part : req.pidfParts) theirs += pidfPart(boundary, part.contentId, part.text);
    if (at != std::string::npos) body.insert(at, theirs);
  }
  out.skip |= kSkipBody | kSkipGeolocation;
  out.contentType = "multipart/mixed;boundary=" + boundary;
  out.body = std::move(body);

  // Ours first, marked as inserted by us (RFC 8787 section 4); the device's values after it.
  std::string geo = "<cid:" + contentId + ">;loc-src=" + (in.locSrc.empty() ? in.host : in.locSrc);
  for (auto const& v : req.geolocation) geo += ", " + v;
  // An intermediary may lower Geolocation-Routing to "no", never raise it (RFC 6442 4.2).
  std::string routing = "yes";
  if (!req.geolocationRouting.empty() && req.geolocationRouting != "yes" &&
      req.geolocationRouting != "Yes" && req.geolocationRouting != "YES")
    routing = "no";
  out.extraHeaders = "Geolocation: " + geo + "\r\nGeolocation-Routing: " + routing;
  out.pidf = "added";
  return out;
}

}  // namespace sos::proxy
