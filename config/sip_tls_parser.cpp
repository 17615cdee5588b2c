// SIP over TLS (issue 20): listen.tls, and the checks that "tls" among the transports and every
// TLS trunk have it. Part of the configuration parser (config_parser.h).

#include <algorithm>
#include <fstream>

#include "config/config_parser.h"

namespace sos::config::detail {

namespace {

// A PEM file sosproxy can open now: a typo in a path is found by `sosproxy lint`, not at the
// first TLS connection.
std::string checkReadable(std::string_view path) {
  std::ifstream in{std::string(path)};
  return in ? "" : "cannot be read (" + std::string(path) + ")";
}

}  // namespace

void Parser::readSipTls(const YamlValue& v) {
  auto f = fields(v, {"port", "certificate", "key", "ca", "verify_server_names",
                      "require_client_certificates"});
  if (!f) return;
  SipTls tls;
  tls.at = place(v);
  tlsAt_ = v;
  if (auto p = get(*f, v, "port")) {
    tls.port = port(*p).value_or(tls.port);
    tlsPortAt_ = *p;
  }
  const auto file = [&](std::string_view name) {
    auto value = get(*f, v, name, true);
    if (!value) return std::string();
    std::string path = besideSource(nonEmpty(*value));
    if (path.empty()) return path;
    if (std::string why = checkReadable(path); !why.empty()) report(*value, why);
    return path;
  };
  tls.certificate = file("certificate");
  tls.key = file("key");
  tls.ca = file("ca");
  if (auto b = get(*f, v, "verify_server_names")) {
    tls.verifyServerNames = boolean(*b).value_or(tls.verifyServerNames);
  }
  if (auto b = get(*f, v, "require_client_certificates")) {
    tls.requireClientCertificates = boolean(*b).value_or(tls.requireClientCertificates);
  }
  config_.listen.tls = std::move(tls);
}

void Parser::checkSipTls() {
  const bool listed = tlsListedAt_.has_value();
  const std::optional<SipTls>& tls = config_.listen.tls;
  if (tls && !listed) report(*tlsAt_, "is set, but \"tls\" is not among listen.transports");
  if (listed && !tls) {
    report(*tlsListedAt_, "\"tls\" needs listen.tls (its port, certificate, key and ca)");
  }
  for (const YamlValue& t : tlsTrunksAt_) {
    if (!listed || !tls) {
      report(t,
             "a TLS trunk needs \"tls\" among listen.transports and listen.tls (whose ca "
             "its certificate must chain to)");
    }
  }
  const auto& all = config_.listen.transports;
  const bool plain =
      std::any_of(all.begin(), all.end(), [](Transport t) { return t != Transport::Tls; });
  if (tls && plain && tls->port == config_.listen.port) {
    if (tlsPortAt_) {
      report(*tlsPortAt_, "is the port of UDP and TCP too (" + std::to_string(tls->port) +
                              "); TLS needs a port of its own, usually 5061");
    } else {
      report(*tlsAt_, "would listen on " + std::to_string(tls->port) +
                          " (its default), the port of UDP and TCP too: give listen.tls a port "
                          "of its own");
    }
  }
}

}  // namespace sos::config::detail
