// Reads the configuration file into plain values and validates all of it before anything
// starts, so a bad file is refused at start-up with every problem listed at once, never
// half-applied (config_parser.h). Emergency routing is read in emergency_routing_parser.cpp.

#include "config/config_parser.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "base/text.h"

namespace sos::config::detail {

Result<Config> Parser::run(const std::string& text) {
  config_.sourcePath = source();
  if (auto problems =
          read(text, "config.invalid", "; expected a mapping with carrier_trunk, trunks and sites",
               [this](const YamlValue& root) { readTop(root); })) {
    return *problems;
  }
  return std::move(config_);
}

std::optional<uint16_t> Parser::port(const YamlValue& v) {
  auto s = text(v);
  if (!s) {
    return std::nullopt;
  }
  std::string_view digits = *s;
  bool negative = !digits.empty() && digits.front() == '-';
  digits.remove_prefix(negative ? 1 : 0);
  unsigned long long number = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (!isDigits(digits)) {
    report(v.mark, v.key,
           inQuotes(*s) + " is not a port number; expected an integer from 1 to 65535");
  } else if (negative || ec != std::errc() || number < 1 || number > 65535) {
    report(v.mark, v.key, "port " + *s + " is out of range; expected 1 to 65535");
  } else {
    return static_cast<uint16_t>(number);
  }
  return std::nullopt;
}

// A whole number from 1 to kMaxSeconds.
std::optional<int64_t> Parser::seconds(const YamlValue& v) {
  auto s = text(v);
  if (!s) {
    return std::nullopt;
  }
  int64_t number = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), number);
  if (isDigits(*s) && ec == std::errc::result_out_of_range) {
    number = kMaxSeconds + 1;
  } else if (!isDigits(*s) || ec != std::errc() || number == 0) {
    report(v.mark, v.key, inQuotes(*s) + expecting(false, "a whole number of seconds, at least 1"));
    return std::nullopt;
  }
  if (number > kMaxSeconds) {
    report(v.mark, v.key,
           inQuotes(*s) + " is too large; expected at most " + std::to_string(kMaxSeconds));
    return std::nullopt;
  }
  return number;
}

// A failover timer of a PSAP trunk: seconds, decimals allowed ("0.5"), kept in milliseconds.
std::optional<int> Parser::timeoutMs(const YamlValue& v) {
  auto s = text(v);
  if (!s) {
    return std::nullopt;
  }
  auto ms = millisecondsOf(*s);
  if (ms && *ms >= 1 && *ms <= kMaxTimeoutMs) {
    return static_cast<int>(*ms);
  }
  report(v.mark, v.key,
         inQuotes(*s) + expecting(false, "seconds from 0.001 to 300, e.g. 2 or 0.5"));
  return std::nullopt;
}

// The OPTIONS probe period: 0 (not probed) or at least a second, so that probes never pile
// up on a trunk that takes its time to answer.
std::optional<int> Parser::probeIntervalMs(const YamlValue& v) {
  auto s = text(v);
  if (!s) {
    return std::nullopt;
  }
  auto ms = millisecondsOf(*s);
  if (ms && (*ms == 0 || (*ms >= 1000 && *ms <= kMaxProbeIntervalMs))) {
    return static_cast<int>(*ms);
  }
  report(v.mark, v.key,
         inQuotes(*s) + expecting(false, "0 (not probed) or seconds from 1 to 3600, e.g. 30"));
  return std::nullopt;
}

// A whole number from 0 to kMaxCount.
std::optional<int> Parser::count(const YamlValue& v) {
  auto s = text(v);
  if (!s) {
    return std::nullopt;
  }
  int number = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), number);
  if (!isDigits(*s)) {
    report(v.mark, v.key, inQuotes(*s) + expecting(false, "a whole number, 0 or more"));
  } else if (ec != std::errc() || number > kMaxCount) {
    report(v.mark, v.key,
           inQuotes(*s) + " is too large; expected at most " + std::to_string(kMaxCount));
  } else {
    return number;
  }
  return std::nullopt;
}

// A trunk name, checked against the trunks once they are all read.
std::string Parser::trunkReference(const YamlValue& v) {
  std::string name = nonEmpty(v);
  references_.push_back({name, v});
  return name;
}

// The trunks an emergency call tries, in order.
std::vector<std::string> Parser::route(const YamlValue& v) {
  std::vector<std::string> names;
  for (const auto& entry : list(v, false)) {
    names.push_back(trunkReference(entry));
  }
  return names;
}

// Relative to the configuration file's directory, not to wherever sosproxy was started.
std::string Parser::besideSource(const std::string& path) const {
  std::filesystem::path p(path);
  if (path.empty() || p.is_absolute()) {
    return path;
  }
  return (std::filesystem::path(source()).parent_path() / p).lexically_normal().string();
}

std::string Parser::uniqueName(const YamlValue& name, const YamlValue& item, Seen& seen,
                               std::string_view kind) {
  std::string s = nonEmpty(name);
  if (!s.empty()) unique(seen, s, name, std::string(kind) + " name", item);
  return s;
}

void Parser::readTop(const YamlValue& root) {
  auto f =
      fields(root, {"listen", "trusted_networks", "pbx_sources", "network_sources", "carrier_trunk",
                    "trunks", "sites", "emergency_routing", "limits", "notifications", "logging",
                    "store", "location", "admin", "edge", "test_calls"});
  if (!f) {
    return;
  }
  if (auto v = get(*f, root, "listen")) {
    readListen(*v);
  }
  // Absent means nothing is trusted: sosproxy then answers every call with 403, never relays.
  if (auto v = get(*f, root, "trusted_networks")) {
    config_.trustedNetworks = checkedList(*v, true, checkNetwork);
  }
  if (auto v = get(*f, root, "pbx_sources")) {
    config_.pbxSources = checkedList(*v, true, checkNetwork);
  }
  if (auto v = get(*f, root, "network_sources")) {
    config_.networkSources = checkedList(*v, true, checkNetwork);
  }
  if (auto v = get(*f, root, "carrier_trunk", true)) {
    config_.carrierTrunk = nonEmpty(*v);
    references_.push_back({config_.carrierTrunk, *v});
  }
  if (auto v = get(*f, root, "trunks", true)) {
    readTrunks(*v);
  }
  if (auto v = get(*f, root, "sites", true)) {
    readSites(*v);
  }
  if (auto v = get(*f, root, "emergency_routing")) {
    readEmergencyRouting(*v);
  }
  if (auto v = get(*f, root, "limits")) {
    readLimits(*v);
  }
  if (auto v = get(*f, root, "notifications")) {
    readNotifications(*v);
  }
  if (auto v = get(*f, root, "logging")) {
    readLogging(*v);
  }
  if (auto v = get(*f, root, "store")) {
    readStore(*v);
  }
  if (auto v = get(*f, root, "location")) {
    readLocation(*v);
  }
  if (auto v = get(*f, root, "admin")) {
    readAdmin(*v);
  }
  if (auto v = get(*f, root, "edge")) {
    readEdge(*v);
  }
  if (auto v = get(*f, root, "test_calls")) {
    readTestCalls(*v);
  }
  checkReferences();
  checkTestCalls();
  checkSipTls();
}

void Parser::readListen(const YamlValue& v) {
  auto f = fields(v, {"host_name", "address", "port", "transports", "tls"});
  if (!f) {
    return;
  }
  Listen& listen = config_.listen;
  if (auto h = get(*f, v, "host_name")) {
    listen.hostName = checked(*h, checkHostName).value_or("");
  }
  if (auto a = get(*f, v, "address")) {
    listen.address = nonEmpty(*a);
  }
  if (auto p = get(*f, v, "port")) {
    listen.port = port(*p).value_or(listen.port);
  }
  if (auto t = get(*f, v, "transports")) {
    listen.transports.clear();
    for (const auto& item : list(*t, false)) {
      auto transport = choice(item, kTransports);
      auto& have = listen.transports;
      if (transport && std::find(have.begin(), have.end(), *transport) != have.end()) {
        report(item.mark, item.key, inQuotes(toString(*transport)) + " is listed twice");
      } else if (transport) {
        have.push_back(*transport);
        if (*transport == Transport::Tls) tlsListedAt_ = item;
      }
    }
  }
  if (auto t = get(*f, v, "tls")) {
    readSipTls(*t);
  }
}

void Parser::readTrunks(const YamlValue& v) {
  Seen seen;
  for (const auto& item : list(v, false)) {
    auto f = fields(
        item, {"name", "host", "port", "transport", "mode", "response_timeout_s", "ring_timeout_s",
               "options_interval_s", "tcp_fallback", "test_destination", "tls_name"});
    if (!f) {
      continue;
    }
    Trunk trunk;
    trunk.at = place(item);
    if (auto name = get(*f, item, "name", true)) {
      trunk.name = uniqueName(*name, item, seen, "trunk");
    }
    if (auto host = get(*f, item, "host", true)) {
      trunk.host = checked(*host, checkHost).value_or("");
    }
    if (auto p = get(*f, item, "port")) {
      trunk.port = port(*p).value_or(trunk.port);
    }
    if (auto t = get(*f, item, "transport")) {
      trunk.transport = choice(*t, kTransports).value_or(trunk.transport);
      if (trunk.transport == Transport::Tls) tlsTrunksAt_.push_back(*t);
    }
    if (auto m = get(*f, item, "mode")) {
      trunk.mode = choice(*m, kModes).value_or(trunk.mode);
    }
    if (auto t = get(*f, item, "response_timeout_s")) {
      trunk.responseTimeoutMs = timeoutMs(*t).value_or(trunk.responseTimeoutMs);
    }
    if (auto t = get(*f, item, "ring_timeout_s")) {
      trunk.ringTimeoutMs = timeoutMs(*t).value_or(trunk.ringTimeoutMs);
    }
    if (auto t = get(*f, item, "options_interval_s")) {
      trunk.optionsIntervalMs = probeIntervalMs(*t).value_or(trunk.optionsIntervalMs);
      trunk.optionsIntervalWritten = true;
    }
    if (auto t = get(*f, item, "tcp_fallback")) {
      trunk.tcpFallback = boolean(*t).value_or(trunk.tcpFallback);
      if (trunk.tcpFallback && trunk.transport != Transport::Udp) {
        report(t->mark, t->key, "applies to a UDP trunk only; this one already uses TCP");
      }
    }
    if (auto t = get(*f, item, "test_destination")) {
      trunk.testDestination = checked(*t, checkTestDestination).value_or("");
    }
    if (auto t = get(*f, item, "tls_name")) {
      trunk.tlsName = checked(*t, checkHostName).value_or("");
      if (trunk.transport != Transport::Tls) {
        report(t->mark, t->key, "applies to a TLS trunk only (transport: tls)");
      }
    }
    config_.trunks.push_back(std::move(trunk));
  }
}

void Parser::readSites(const YamlValue& v) {
  Seen seen;
  for (const auto& item : list(v, false)) {
    auto f = fields(item, {"name", "country", "dial_strings", "outside_line_prefix", "test_numbers",
                           "extensions", "networks", "psap_route", "last_resort", "security_desk",
                           "responders", "approvers", "expected_concurrent_emergency_calls",
                           "nomadic", "desk_phone_moved", "test_calls"});
    if (!f) {
      continue;
    }
    Site site;
    site.at = place(item);
    if (auto name = get(*f, item, "name", true)) {
      site.name = uniqueName(*name, item, seen, "site");
    }
    if (auto c = get(*f, item, "country", true)) {
      site.country = checked(*c, checkCountry).value_or("");
    }
    if (auto d = get(*f, item, "dial_strings", true)) {
      site.dialStrings = checkedList(*d, false, checkDialString);
    }
    if (auto p = get(*f, item, "outside_line_prefix")) {
      site.outsideLinePrefix = checked(*p, checkPrefix).value_or("");
    }
    if (auto t = get(*f, item, "test_numbers")) {
      site.testNumbers = checkedList(*t, true, checkTestNumber);
    }
    if (auto e = get(*f, item, "extensions")) {
      site.extensions = checkedList(*e, true, checkExtension);
    }
    if (auto n = get(*f, item, "networks")) {
      site.networks = checkedList(*n, true, checkNetwork);
    }
    if (auto r = get(*f, item, "psap_route", true)) {
      site.psapRoute = route(*r);
      site.psapRouteAt = place(*r);
    }
    if (auto l = get(*f, item, "last_resort")) {
      site.lastResort = trunkReference(*l);
    }
    if (auto d = get(*f, item, "security_desk")) {
      site.securityDesk = checked(*d, checkSipTarget).value_or("");
    }
    if (auto r = get(*f, item, "responders")) {
      site.responders = responders(*r);
    }
    if (auto a = get(*f, item, "approvers")) {
      site.approvers = checkedList(*a, true, checkEmail);
    }
    if (auto e = get(*f, item, "expected_concurrent_emergency_calls")) {
      site.expectedConcurrentEmergencyCalls =
          count(*e).value_or(site.expectedConcurrentEmergencyCalls);
    }
    if (auto n = get(*f, item, "nomadic")) {
      site.nomadic = boolean(*n);
    }
    if (auto d = get(*f, item, "desk_phone_moved")) {
      site.deskPhoneMoved = deskPhoneMoved(*d);
    }
    testCallsRead_.push_back({item, std::nullopt, {}});
    if (auto t = get(*f, item, "test_calls")) {
      site.testCalls = siteTestCalls(*t, testCallsRead_.size() - 1);
    }
    config_.sites.push_back(std::move(site));
  }
}

// Who is told of a desk phone on a new network: a list of user, approvers, phone; [] for nobody.
DeskPhoneMoved Parser::deskPhoneMoved(const YamlValue& v) {
  DeskPhoneMoved out{.user = false};
  for (const auto& item : list(v, true)) {
    auto who = choice(item, kDeskPhoneTold);
    if (who == "user") out.user = true;
    if (who == "approvers") out.approvers = true;
    if (who == "phone") out.phone = true;
  }
  return out;
}

// Each responder names exactly one channel: {webhook: URL, secret: KEY}, {email: ADDRESS} or
// {sip: URI}, with an optional tier (1 = alerted at once).
std::vector<Responder> Parser::responders(const YamlValue& v) {
  std::vector<Responder> out;
  for (const auto& item : list(v, true)) {
    auto f = fields(item, {"webhook", "email", "sip", "secret", "tier"});
    if (!f) {
      continue;
    }
    Responder r;
    int channels = 0;
    if (auto w = get(*f, item, "webhook")) {
      ++channels;
      r.channel = Responder::Channel::Webhook;
      r.target = checked(*w, checkWebhookUrl).value_or("");
    }
    if (auto e = get(*f, item, "email")) {
      ++channels;
      r.channel = Responder::Channel::Email;
      r.target = checked(*e, checkEmail).value_or("");
    }
    if (auto sip = get(*f, item, "sip")) {
      ++channels;
      r.channel = Responder::Channel::Sip;
      r.target = checked(*sip, checkSipTarget).value_or("");
    }
    if (channels != 1) {
      report(item.mark, item.key,
             channels == 0 ? "a responder needs one of webhook, email or sip"
                           : "a responder has one channel: webhook, email or sip, not several");
    }
    if (auto k = get(*f, item, "secret")) {
      r.secret = nonEmpty(*k);
      if (r.channel != Responder::Channel::Webhook) {
        report(k->mark, k->key, "only a webhook responder has a secret");
      }
    }
    if (auto t = get(*f, item, "tier")) {
      auto tier = count(*t);
      if (tier && (*tier < 1 || *tier > kMaxTier)) {
        report(t->mark, t->key,
               inQuotes(std::to_string(*tier)) +
                   expecting(false, "a tier from 1 to " + std::to_string(kMaxTier)));
      } else if (tier) {
        r.tier = *tier;
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

void Parser::readNotifications(const YamlValue& v) {
  auto f = fields(v, {"smtp", "escalate_after_s", "timeout_s", "max_attempts", "retry_initial_s",
                      "retry_max_s", "webhook_ca_file", "lease_s"});
  if (!f) {
    return;
  }
  Notifications& n = config_.notifications;
  if (auto smtp = get(*f, v, "smtp")) readSmtp(*smtp);
  if (auto c = get(*f, v, "webhook_ca_file")) {
    n.webhookCaFile = besideSource(nonEmpty(*c));
  }
  if (auto e = get(*f, v, "escalate_after_s")) {
    n.escalateAfterSeconds = static_cast<int>(seconds(*e).value_or(n.escalateAfterSeconds));
  }
  if (auto t = get(*f, v, "timeout_s")) {
    n.timeoutMs = timeoutMs(*t).value_or(n.timeoutMs);
  }
  if (auto m = get(*f, v, "max_attempts")) {
    auto attempts = count(*m);
    if (attempts && *attempts < 1) {
      report(m->mark, m->key, "\"0\"" + expecting(false, "at least 1 attempt"));
    } else if (attempts) {
      n.maxAttempts = *attempts;
    }
  }
  if (auto r = get(*f, v, "retry_initial_s")) {
    n.retryInitialMs = timeoutMs(*r).value_or(n.retryInitialMs);
  }
  if (auto r = get(*f, v, "retry_max_s")) {
    n.retryMaxMs = timeoutMs(*r).value_or(n.retryMaxMs);
  }
  if (auto l = get(*f, v, "lease_s")) {
    auto ms = timeoutMs(*l);
    if (ms && *ms < 1000) {
      report(l->mark, l->key, "is too short; expected at least 1 second");
    } else if (ms) {
      n.leaseMs = *ms;
    }
  }
}

void Parser::readLogging(const YamlValue& v) {
  auto f = fields(v, {"level", "format", "routing_log"});
  if (!f) {
    return;
  }
  Logging& logging = config_.logging;
  if (auto l = get(*f, v, "level")) {
    logging.level = std::string(choice(*l, kLevels).value_or(logging.level));
  }
  if (auto fmt = get(*f, v, "format")) {
    logging.format = choice(*fmt, kFormats).value_or(logging.format);
  }
  if (auto r = get(*f, v, "routing_log")) {
    logging.routingLog = nonEmpty(*r);
  }
}

void Parser::readStore(const YamlValue& v) {
  auto f = fields(v, {"backend", "path", "postgresql", "seed", "node_name", "spool"});
  if (!f) {
    return;
  }
  Store& store = config_.store;
  auto backend = get(*f, v, "backend");
  bool backendKnown = true;  // an unknown one is reported; the keys are not checked against it
  if (backend) {
    auto chosen = choice(*backend, kStoreBackends);
    backendKnown = chosen.has_value();
    store.backend = chosen.value_or(store.backend);
  }
  auto path = get(*f, v, "path");
  if (path) {
    store.path = besideSource(nonEmpty(*path));
  }
  auto postgresql = get(*f, v, "postgresql");
  if (postgresql) {
    store.postgresql = nonEmpty(*postgresql);
    const std::string& uri = store.postgresql;
    if (!uri.empty() && uri.rfind("postgresql://", 0) != 0 && uri.rfind("postgres://", 0) != 0) {
      report(postgresql->mark, postgresql->key,
             "expected a connection URI, postgresql://USER@HOST:PORT/DATABASE");
    }
  }
  if (auto s = get(*f, v, "seed")) {
    store.seed = besideSource(nonEmpty(*s));
  }
  if (auto sp = get(*f, v, "spool")) {
    store.spool = besideSource(nonEmpty(*sp));
  }
  if (auto n = get(*f, v, "node_name")) {
    store.nodeName = nonEmpty(*n);
  }
  if (!backendKnown) return;
  const bool pg = store.backend == StoreBackend::Postgresql;
  if (pg && !postgresql) {
    report(backend->mark, backend->key, "postgresql needs store.postgresql, its connection URI");
  }
  if (!pg && postgresql) {
    report(postgresql->mark, postgresql->key,
           "is the postgresql backend's; set store.backend: postgresql to use it");
  }
}

void Parser::readLocation(const YamlValue& v) {
  auto f = fields(v, {"precedence", "stale_after_s", "callback_window_s", "temporary_hold_s",
                      "nomadic", "desk_phone_moved", "phone_sip_port"});
  if (!f) {
    return;
  }
  LocationSettings& location = config_.location;
  if (auto p = get(*f, v, "precedence")) {
    location.precedence.clear();
    for (const auto& item : list(*p, false)) {
      auto signal = choice(item, kSignals);
      auto& have = location.precedence;
      // A signal listed twice would only ever be tried at its first place: surely a slip.
      if (signal && std::find(have.begin(), have.end(), *signal) != have.end()) {
        report(item.mark, item.key, inQuotes(*signal) + " is listed twice");
      } else if (signal) {
        have.emplace_back(*signal);
      }
    }
  }
  if (auto s = get(*f, v, "stale_after_s")) {
    location.staleAfterSeconds = seconds(*s).value_or(location.staleAfterSeconds);
  }
  if (auto s = get(*f, v, "callback_window_s")) {
    location.callbackWindowSeconds = seconds(*s).value_or(location.callbackWindowSeconds);
  }
  if (auto s = get(*f, v, "temporary_hold_s")) {
    location.temporaryHoldSeconds = seconds(*s).value_or(location.temporaryHoldSeconds);
  }
  if (auto n = get(*f, v, "nomadic")) {
    location.nomadic = boolean(*n).value_or(location.nomadic);
  }
  if (auto d = get(*f, v, "desk_phone_moved")) {
    location.deskPhoneMoved = deskPhoneMoved(*d);
  }
  if (auto p = get(*f, v, "phone_sip_port")) {
    location.phoneSipPort = port(*p).value_or(location.phoneSipPort);
  }
}

void Parser::readAdmin(const YamlValue& v) {
  auto f = fields(v, {"address", "port", "enabled", "allowed_hosts", "metrics_public",
                      "device_listen", "public_url", "tls", "allow_plain_http"});
  if (!f) {
    return;
  }
  Admin& admin = config_.admin;
  std::optional<YamlValue> deviceAddress;
  if (auto d = get(*f, v, "device_listen")) {
    if (auto df = fields(*d, {"address", "port"})) {
      if (auto a = get(*df, *d, "address")) {
        admin.deviceAddress = checked(*a, checkAddress).value_or(admin.deviceAddress);
        deviceAddress = a;
      }
      if (auto p = get(*df, *d, "port", true)) {
        admin.devicePort = port(*p).value_or(admin.devicePort);
      }
    }
  }
  if (auto h = get(*f, v, "allowed_hosts")) {
    admin.allowedHosts.clear();
    for (const auto& entry : list(*h, true)) {
      if (std::string name = nonEmpty(entry); !name.empty()) admin.allowedHosts.push_back(name);
    }
  }
  if (auto m = get(*f, v, "metrics_public")) {
    admin.metricsPublic = boolean(*m).value_or(admin.metricsPublic);
  }
  if (auto a = get(*f, v, "address")) {
    admin.address = checked(*a, checkAddress).value_or(admin.address);
  }
  if (auto p = get(*f, v, "port")) {
    admin.port = port(*p).value_or(admin.port);
  }
  if (auto e = get(*f, v, "enabled")) {
    admin.enabled = boolean(*e).value_or(admin.enabled);
  }
  if (auto u = get(*f, v, "public_url")) {
    std::string url = checked(*u, checkPublicUrl).value_or("");
    while (!url.empty() && url.back() == '/') url.pop_back();
    admin.publicUrl = url;
  }
  if (auto t = get(*f, v, "tls")) readAdminTls(*t);
  if (auto p = get(*f, v, "allow_plain_http")) {
    admin.allowPlainHttp = boolean(*p).value_or(admin.allowPlainHttp);
  }
  checkPlainHttp(get(*f, v, "address"), "admin API");
  if (admin.devicePort != 0) checkPlainHttp(deviceAddress, "device reports");
}

void Parser::readLimits(const YamlValue& v) {
  auto f = fields(v, {"ordinary_calls_per_second", "ordinary_burst", "max_ordinary_calls",
                      "overload_lag_ms", "udp_invite_gate", "drain_s"});
  if (!f) {
    return;
  }
  Limits& limits = config_.limits;
  if (auto r = get(*f, v, "ordinary_calls_per_second")) {
    limits.ordinaryCallsPerSecond = count(*r).value_or(limits.ordinaryCallsPerSecond);
  }
  if (auto b = get(*f, v, "ordinary_burst")) {
    limits.ordinaryBurst = count(*b).value_or(limits.ordinaryBurst);
  }
  if (auto m = get(*f, v, "max_ordinary_calls")) {
    limits.maxOrdinaryCalls = count(*m).value_or(limits.maxOrdinaryCalls);
  }
  if (auto l = get(*f, v, "overload_lag_ms")) {
    limits.overloadLagMs = count(*l).value_or(limits.overloadLagMs);
  }
  if (auto d = get(*f, v, "drain_s")) {
    limits.drainSeconds = count(*d).value_or(limits.drainSeconds);
  }
  if (auto g = get(*f, v, "udp_invite_gate")) {
    limits.udpInviteGate = boolean(*g).value_or(limits.udpInviteGate);
  }
}

void Parser::readEdge(const YamlValue& v) {
  auto f = fields(v, {"untrusted", "untrusted_replies_per_source", "untrusted_replies_per_second",
                      "max_server_transactions", "max_tcp_connections", "tcp_idle_timeout_s",
                      "tcp_message_timeout_s", "ordinary_relay", "emergency_relay"});
  if (!f) {
    return;
  }
  Edge& edge = config_.edge;
  if (auto u = get(*f, v, "untrusted")) {
    edge.untrusted = choice(*u, kUntrustedPolicies).value_or(edge.untrusted);
  }
  if (auto r = get(*f, v, "ordinary_relay")) {
    edge.ordinaryRelay = choice(*r, kOrdinaryRelays).value_or(edge.ordinaryRelay);
  }
  if (auto r = get(*f, v, "emergency_relay")) {
    edge.emergencyRelay = choice(*r, kEmergencyRelays).value_or(edge.emergencyRelay);
  }
  if (auto r = get(*f, v, "untrusted_replies_per_source")) {
    edge.untrustedRepliesPerSource = count(*r).value_or(edge.untrustedRepliesPerSource);
  }
  if (auto r = get(*f, v, "untrusted_replies_per_second")) {
    edge.untrustedRepliesPerSecond = count(*r).value_or(edge.untrustedRepliesPerSecond);
  }
  if (auto m = get(*f, v, "max_server_transactions")) {
    edge.maxServerTransactions = count(*m).value_or(edge.maxServerTransactions);
  }
  if (auto m = get(*f, v, "max_tcp_connections")) {
    edge.maxTcpConnections = count(*m).value_or(edge.maxTcpConnections);
  }
  // Sofia counts these in milliseconds and needs at least 100 ms (tport.c).
  if (auto t = get(*f, v, "tcp_idle_timeout_s")) {
    edge.tcpIdleTimeoutMs = idleTimeoutMs(*t).value_or(edge.tcpIdleTimeoutMs);
  }
  if (auto t = get(*f, v, "tcp_message_timeout_s")) {
    edge.tcpMessageTimeoutMs = timeoutMs(*t).value_or(edge.tcpMessageTimeoutMs);
    if (edge.tcpMessageTimeoutMs < 100) {
      report(t->mark, t->key, inQuotes(t->node.Scalar()) + expecting(false, "at least 0.1"));
      edge.tcpMessageTimeoutMs = 100;
    }
  }
}

// An idle connection's lifetime: 0.1 s to a day.
std::optional<int> Parser::idleTimeoutMs(const YamlValue& v) {
  auto s = text(v);
  if (!s) {
    return std::nullopt;
  }
  auto ms = millisecondsOf(*s);
  if (ms && *ms >= 100 && *ms <= int64_t{86400} * 1000) {
    return static_cast<int>(*ms);
  }
  report(v.mark, v.key, inQuotes(*s) + expecting(false, "seconds from 0.1 to 86400, e.g. 600"));
  return std::nullopt;
}

// After every trunk is read, so a route may name a trunk defined further down.
void Parser::checkReferences() {
  std::vector<std::string> names;
  for (const auto& t : config_.trunks) {
    names.push_back(t.name);
  }
  for (const auto& ref : references_) {
    // An empty name was already reported where it was read.
    if (!ref.name.empty() && std::find(names.begin(), names.end(), ref.name) == names.end()) {
      report(ref.where.mark, ref.where.key,
             "no trunk is named " + inQuotes(ref.name) + didYouMean(ref.name, names));
    }
  }
}

}  // namespace sos::config::detail
