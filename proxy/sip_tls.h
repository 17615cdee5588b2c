#pragma once
// SIP over TLS (issue 20) with Sofia's own TLS transport. Sofia reads its certificate from a
// directory (agent.pem: certificate and private key; cafile.pem: the CAs it trusts), so the
// files listen.tls names are copied into a private directory (0700, files 0600) for the moment
// the transport is created, and the directory is removed right after: no copy of the key stays
// behind. The transport is added on the SIP thread, before the first request.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "config/config.h"
#include "proxy/sofia.h"

struct ssl_ctx_st;

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

// What listen.tls's files hold (the certificate with the chain after it, the key, the CAs),
// read and checked, ready to go into the transport (SipTlsTransport::use).
struct SipTlsFiles;
// Reads and checks `tls`'s files as checkTlsFiles does. Null, with why in `why`, when they do
// not make a working set-up. It reads the disk: not on the SIP thread once calls run (SIGHUP
// reads them on the I/O thread).
std::shared_ptr<SipTlsFiles> readSipTlsFiles(const config::SipTls& tls, std::string& why);

// Sofia's TLS transport on an nta agent, and the OpenSSL context Sofia made for it. Sofia has no
// call to read certificate files again, so the context is taken as Sofia creates it (this
// program defines SSL_CTX_new, which does what OpenSSL's does and notes the context while add()
// runs) and the certificate chain, key and CAs are put into it by this class: at start, and
// again by use() (SIGHUP, with the files the I/O thread read) without a restart. Connections made
// from then on use what was read; those already up keep theirs. Used on the SIP thread only
// (Sofia's handshakes run there, so nothing reads the context while it changes).
class SipTlsTransport {
 public:
  SipTlsTransport() = default;
  ~SipTlsTransport();
  SipTlsTransport(const SipTlsTransport&) = delete;
  SipTlsTransport& operator=(const SipTlsTransport&) = delete;

  // Adds a TLS transport to `agent` on `uriHost`:tls.port (`uriHost` with IPv6 brackets), with
  // the TCP limits the other transports have. Empty when it listens, else why not.
  std::string add(nta_agent_t* agent, const std::string& uriHost, const config::SipTls& tls,
                  unsigned idleMs, unsigned messageMs);
  // Puts files read by readSipTlsFiles into the transport's context. Empty when they took
  // effect, else why not: the certificate, key and CAs in use then stay. SIP thread.
  std::string use(SipTlsFiles& files);

  // TLS connections Sofia closed whose OpenSSL state was freed (proxy/sip_tls.cpp,
  // SSL_shutdown: Sofia alone would have kept it). Any thread.
  static const std::atomic<uint64_t>& connectionsReleased();

 private:
  ssl_ctx_st* context_ = nullptr;  // Sofia's, with a reference of our own
};

}  // namespace sos::proxy
