#pragma once
// SIP over TLS (issue 20) with Sofia's own TLS transport. Sofia reads its certificate from a
// directory (agent.pem: certificate and private key; cafile.pem: the CAs it trusts), so the
// files listen.tls names are copied into a private directory (0700, files 0600) for the moment
// the transport is created, and the directory is removed right after: no copy of the key stays
// behind. Runs on the SIP thread, before the first request.

#include <string>

#include "config/config.h"
#include "proxy/sofia.h"

namespace sos::proxy {

// Sofia's verification policy for `tls` (TPTLS_VERIFY_*): a trunk's certificate must chain to
// the CA bundle, and name the trunk when verifyServerNames; a caller's must chain to it when
// requireClientCertificates.
unsigned tlsVerifyPolicy(const config::SipTls& tls);

// Whether the files of `tls` make a working TLS set-up, checked with OpenSSL before Sofia sees
// them (Sofia goes on with a key that is not the certificate's and fails every handshake later):
// a certificate, a private key that is its own, and at least one CA certificate. Empty when
// they do, else why not ("key /etc/sosproxy/sip.key is not the key of certificate ...").
// An expired certificate is not refused here; it is logged as a warning.
std::string checkTlsFiles(const config::SipTls& tls);

// Adds a TLS transport to `agent` on `uriHost`:tls.port (`uriHost` with IPv6 brackets), with
// the TCP limits the other transports have. Empty when it listens, else why not.
std::string addTlsTransport(nta_agent_t* agent, const std::string& uriHost,
                            const config::SipTls& tls, unsigned idleMs, unsigned messageMs);

}  // namespace sos::proxy
