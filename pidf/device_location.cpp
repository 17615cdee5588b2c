#include "pidf/device_location.h"

#include <cstdio>

#include "base/text.h"

namespace sos::pidf {

namespace {

// The problems that made a document unusable, without the notes on what was tolerated.
std::string whyUnusable(const DeviceLocation& d) {
  std::string out;
  for (const auto& p : d.problems) {
    if (p.find("tolerated") != std::string::npos || p.find("assumed") != std::string::npos ||
        p.find("ignored") != std::string::npos || p.find("reduced to") != std::string::npos)
      continue;
    if (!out.empty()) out += ", ";
    out += p;
  }
  return out.empty() ? "no location" : out;
}

std::string partName(const std::string& contentId) {
  return contentId.empty() ? "a part without Content-ID" : "part <" + contentId + ">";
}

}  // namespace

std::string describe(const DeviceLocation& d) {
  std::string out;
  if (d.civic) out = "civic " + d.civic->oneLine();
  if (d.latitude && d.longitude) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "point %.6g, %.6g", *d.latitude, *d.longitude);
    if (!out.empty()) out += "; ";
    out += buf;
    if (d.radiusMeters) {
      std::snprintf(buf, sizeof buf, " (radius %.6g m)", *d.radiusMeters);
      out += buf;
    }
  }
  return out;
}

DeviceLocationCheck checkDeviceLocation(const std::vector<GeolocationValue>& geolocation,
                                        const std::vector<LocationPart>& parts) {
  DeviceLocationCheck out;
  if (geolocation.empty() && parts.empty()) return out;
  std::vector<std::string> reasons;
  std::vector<bool> named(parts.size(), false);
  std::vector<std::optional<DeviceLocation>> parsed(parts.size());
  auto parse = [&](size_t i) -> const DeviceLocation& {
    if (!parsed[i]) parsed[i] = parsePidfLo(parts[i].text);
    return *parsed[i];
  };
  auto usable = [&](size_t i) {
    out.state = DeviceLocationState::Usable;
    out.location = parse(i);
    out.contentId = parts[i].contentId;
    out.summary = describe(out.location) + " in " + partName(parts[i].contentId);
    return out;
  };

  for (const auto& value : geolocation) {
    if (!value.isCid) {
      // RFC 6442 section 3.2: a reference the recipient may dereference. sosproxy does not fetch
      // (that would make an emergency call wait on the network), so it proves nothing here.
      reasons.push_back("by reference only (<" + value.uri.substr(0, 120) + ">), not fetched");
      continue;
    }
    size_t found = parts.size();
    for (size_t i = 0; i < parts.size() && found == parts.size(); ++i)
      if (parts[i].contentId == value.cid) found = i;
    // Content-IDs are addr-specs; some phones change the case of the domain between the two.
    for (size_t i = 0; i < parts.size() && found == parts.size(); ++i)
      if (equalsNoCase(parts[i].contentId, value.cid)) found = i;
    if (found == parts.size()) {
      reasons.push_back("cid:" + value.cid.substr(0, 120) + " names no PIDF-LO body part");
      continue;
    }
    named[found] = true;
    if (parse(found).usable) return usable(found);
    reasons.push_back(partName(parts[found].contentId) + ": " + whyUnusable(parse(found)));
  }
  // A part no Geolocation value names is not a location conveyed to the PSAP (RFC 6442 section
  // 3: the header is how a recipient finds it), however good its content: it stays in the body,
  // and ours, named by the header, goes beside it.
  for (size_t i = 0; i < parts.size(); ++i) {
    if (named[i]) continue;
    reasons.push_back(partName(parts[i].contentId) + ": " +
                      (parse(i).usable ? "no Geolocation value names it" : whyUnusable(parse(i))));
  }
  out.state = DeviceLocationState::Unusable;
  for (const auto& r : reasons) {
    if (!out.summary.empty()) out.summary += "; ";
    out.summary += r;
  }
  return out;
}

}  // namespace sos::pidf
