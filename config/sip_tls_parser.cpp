// SIP over TLS (issue 20): listen.tls, and the checks that "tls" among the transports and every
// TLS trunk have it. Part of the configuration parser (config_parser.h).

#include <algorithm>

#include "config/config_parser.h"

namespace sos::config::detail {

void Parser::readSipTls(const YamlValue& v) {
  auto f = fields(v, {"port", "cert_file", "key_file", "ca_file", "verify_server_names",
                      "require_client_certificates"});
  if (!f) return;
  SipTls tls;
  tls.at = place(v);
  tlsAt_ = v;
  if (auto p = get(*f, v, "port")) {
    tls.port = port(*p).value_or(tls.port);
    tlsPortAt_ = *p;
  }
  tls.certificate = readableFile(*f, v, "cert_file");
  tls.key = readableFile(*f, v, "key_file");
  tls.ca = readableFile(*f, v, "ca_file");
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
    report(*tlsListedAt_, "\"tls\" needs listen.tls (its cert_file, key_file and ca_file)");
  }
  for (const YamlValue& t : tlsTrunksAt_) {
    if (!listed || !tls) {
      report(t,
             "a TLS trunk needs \"tls\" among listen.transports and listen.tls (whose ca_file "
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
