#include "proxy/emergency_invite.h"

#include <cstdio>

#include "base/text.h"
#include "pidf/multipart.h"
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

// The caller's body with our part in it. Every byte the caller sent is kept: a well-formed
// multipart/mixed gets our part before its close delimiter (RFC 2046 section 5.1.1); a multipart
// whose end is missing is rebuilt from the parts it has; anything else (SDP alone, a
// multipart/alternative, a bare PIDF-LO) becomes the first part of a new multipart/mixed.
// Sets the body, its type and what the message no longer carries as its own.
void addOurPart(const routing::CallRequest& req, const std::string& ours, uint64_t seed,
                EmergencyInvite& out) {
  out.skip |= kSkipBody;
  const std::string type = pidf::mediaType(req.bodyContentType);
  if (req.body.empty()) {
    const std::string boundary = pidf::makeBoundary(seed, ours);
    out.contentType = "multipart/mixed;boundary=" + boundary;
    out.body = pidf::buildMultipart(boundary, {ours});
    return;
  }
  if (type == "multipart/mixed") {
    const std::string boundary = pidf::contentTypeParam(req.bodyContentType, "boundary");
    std::string appended =
        boundary.empty() ? std::string() : pidf::appendParts(req.body, boundary, {ours});
    if (!appended.empty()) {
      out.contentType = req.bodyContentType;
      out.body = std::move(appended);
      return;
    }
    const pidf::MimeEntity broken = pidf::parseBody(req.bodyContentType, req.body);
    if (!broken.parts.empty()) {
      std::vector<std::string> parts;
      for (const auto& p : broken.parts) parts.push_back(p.raw);
      parts.push_back(ours);
      const std::string fresh = pidf::makeBoundary(seed, req.body + ours);
      out.contentType = "multipart/mixed;boundary=" + fresh;
      out.body = pidf::buildMultipart(fresh, parts);
      return;
    }
  }
  std::string headers;
  if (!req.bodyContentType.empty()) headers = "Content-Type: " + req.bodyContentType + "\r\n";
  headers += req.bodyHeaders;  // Content-Disposition & co. describe the body: they go with it
  out.skip |= kSkipBodyHeaders;
  const std::string boundary = pidf::makeBoundary(seed, req.body + ours);
  out.contentType = "multipart/mixed;boundary=" + boundary;
  out.body = pidf::buildMultipart(boundary, {pidf::makePart(headers, req.body), ours});
}

}  // namespace

EmergencyInvite planEmergencyInvite(const EmergencyInputs& in) {
  EmergencyInvite out;
  const routing::CallRequest& req = *in.request;
  if (wantsElin(in.mode) && !in.elin.empty()) {
    out.elin = in.elin;
    out.skip |= kSkipIdentity;
  }
  if (!wantsPidf(in.mode) || in.location == nullptr) return out;

  // A usable location the device sent is the caller's own: it reaches the PSAP untouched.
  const auto state = in.device ? in.device->state : pidf::DeviceLocationState::None;
  if (state == pidf::DeviceLocationState::Usable) {
    out.pidf = "device-kept";
    return out;
  }

  char id[40];
  std::snprintf(id, sizeof id, "loc-%016llx", static_cast<unsigned long long>(in.seed));
  const std::string contentId = std::string(id) + "@" + in.host;
  pidf::PidfOptions opts;
  opts.entity = in.entity;
  opts.deviceId = id;
  opts.method = in.method;
  opts.retransmissionAllowed = false;
  opts.timestampMs = in.nowMs;
  const std::string ours = pidf::pidfPart(contentId, pidf::buildPidfLo(*in.location, opts));
  addOurPart(req, ours, in.seed, out);
  out.skip |= kSkipGeolocation;

  // Ours first, marked as inserted by us (RFC 8787 section 4); the device's values after it, so
  // that what it sent still points at its own parts.
  std::string geo = "<cid:" + contentId + ">;loc-src=" + (in.locSrc.empty() ? in.host : in.locSrc);
  for (const auto& v : req.geolocation) geo += ", " + v;
  // An intermediary may lower Geolocation-Routing to "no", never raise it (RFC 6442 4.2).
  const bool deviceSaysNo =
      !req.geolocationRouting.empty() && !equalsNoCase(trimLws(req.geolocationRouting), "yes");
  out.extraHeaders =
      "Geolocation: " + geo + "\r\nGeolocation-Routing: " + (deviceSaysNo ? "no" : "yes");
  out.pidf = state == pidf::DeviceLocationState::Unusable ? "added-beside-device" : "added";
  return out;
}

}  // namespace sos::proxy
