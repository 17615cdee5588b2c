// The configuration model's few functions, and the entry points of its loader (the parser is
// config_parser.h: yaml-cpp stays inside config/, no other library sees a YAML node).

#include "config/config.h"

#include <algorithm>

#include "base/text.h"
#include "config/config_checks.h"
#include "config/config_parser.h"

namespace sos::config {

using detail::kEmergencyRelays;
using detail::kModes;
using detail::kOrdinaryRelays;
using detail::kSmtpTls;
using detail::kTransports;
using detail::kUntrustedPolicies;
using detail::nameOf;

const Trunk* Config::findTrunk(std::string_view name) const {
  auto it =
      std::find_if(trunks.begin(), trunks.end(), [&](const Trunk& t) { return t.name == name; });
  return it == trunks.end() ? nullptr : &*it;
}

const Site* Config::findSite(std::string_view name) const {
  auto it = std::find_if(sites.begin(), sites.end(), [&](const Site& s) { return s.name == name; });
  return it == sites.end() ? nullptr : &*it;
}

bool Config::nomadicServices(std::string_view site) const {
  const Site* s = findSite(site);
  return s != nullptr && s->nomadic ? *s->nomadic : location.nomadic;
}

const DeskPhoneMoved& Config::deskPhoneMovedTells(std::string_view site) const {
  const Site* s = findSite(site);
  return s != nullptr && s->deskPhoneMoved ? *s->deskPhoneMoved : location.deskPhoneMoved;
}

std::string Config::selfServiceUrl() const {
  if (!admin.publicUrl.empty()) return admin.publicUrl + "/me";
  const bool v6 = admin.address.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + admin.address + "]" : admin.address) + ":" +
         std::to_string(admin.port) + "/me";
}

std::string publicUrlHost(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view authority = url.substr(scheme + 3);
  authority = authority.substr(0, authority.find('/'));
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    return close == std::string_view::npos ? "" : std::string(authority.substr(1, close - 1));
  }
  return std::string(authority.substr(0, authority.find(':')));
}

std::vector<std::string> Config::testCallTrunks(const Site& site) const {
  if (site.testCalls && !site.testCalls->trunks.empty()) return site.testCalls->trunks;
  std::vector<std::string> out;
  auto add = [&out](const std::string& name) {
    if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  for (const auto& name : site.psapRoute) add(name);
  add(emergencyRouting.erc);
  return out;
}

std::vector<TestCallTarget> Config::testCallTargets() const {
  std::vector<TestCallTarget> out;
  for (const auto& site : sites) {
    const int64_t interval = site.testCalls && site.testCalls->intervalSeconds
                                 ? *site.testCalls->intervalSeconds
                                 : testCalls.intervalSeconds;
    if (interval <= 0) continue;
    for (const auto& name : testCallTrunks(site)) {
      const Trunk* trunk = findTrunk(name);
      if (trunk == nullptr || trunk->testDestination.empty()) continue;
      out.push_back({site.name, trunk->name, trunk->testDestination, interval * 1000});
    }
  }
  return out;
}

Result<Config> loadConfig(const std::string& path) {
  auto text = readWholeFile(path);
  if (!text.ok())
    return Error{"config.unreadable", path + ": cannot read: " + text.error().message};
  return parseConfig(text.value(), path);
}

Result<Config> parseConfig(const std::string& yamlText, const std::string& sourceName) {
  return detail::Parser(sourceName).run(yamlText);
}

std::string_view toString(Transport t) { return nameOf(kTransports, t); }

std::string_view toString(TrunkMode m) { return nameOf(kModes, m); }

std::string_view toString(UntrustedPolicy p) { return nameOf(kUntrustedPolicies, p); }
std::string_view toString(EmergencyRelay r) { return nameOf(kEmergencyRelays, r); }
std::string_view toString(OrdinaryRelay r) { return nameOf(kOrdinaryRelays, r); }

std::string_view toString(SmtpTls t) { return nameOf(kSmtpTls, t); }

std::string_view toString(Responder::Channel c) {
  switch (c) {
    case Responder::Channel::Webhook:
      return "webhook";
    case Responder::Channel::Email:
      return "email";
    case Responder::Channel::Sip:
      return "sip";
  }
  return "?";
}

}  // namespace sos::config
