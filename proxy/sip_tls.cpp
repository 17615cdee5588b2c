// SIP over TLS (proxy/sip_tls.h).

#include "proxy/sip_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace sos::proxy {

namespace {

std::string readAll(const std::string& path, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot read " + path + ": " + std::strerror(errno);
    return "";
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool writePrivate(const std::string& path, const std::string& text, std::string& why) {
  const mode_t old = umask(077);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  umask(old);
  out << text;
  out.close();
  if (!out) why = "cannot write " + path + ": " + std::strerror(errno);
  return static_cast<bool>(out);
}

// Where the private directory goes: systemd's RuntimeDirectory when there is one, else TMPDIR,
// else /tmp.
std::string privateBase() {
  for (const char* name : {"RUNTIME_DIRECTORY", "TMPDIR"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return v;
  }
  return "/tmp";
}

// The directory Sofia reads, removed (with what it holds) when this goes.
class SofiaCertDir {
 public:
  explicit SofiaCertDir(std::string& why) {
    std::string pattern = privateBase() + "/sosproxy-tls-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      why = "cannot create a private directory in " + privateBase() + ": " + std::strerror(errno);
      return;
    }
    path_ = pattern;
  }
  ~SofiaCertDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  SofiaCertDir(const SofiaCertDir&) = delete;
  SofiaCertDir& operator=(const SofiaCertDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// OpenSSL's last reason, for a message ("no start line", "key values mismatch").
std::string opensslReason() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  const char* reason = e != 0 ? ERR_reason_error_string(e) : nullptr;
  return reason != nullptr ? reason : "unknown reason";
}

}  // namespace

std::string checkTlsFiles(const config::SipTls& tls) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_method()), SSL_CTX_free);
  if (!ctx) return "OpenSSL cannot make a TLS context (" + opensslReason() + ")";
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.certificate.c_str()) != 1)
    return "certificate " + tls.certificate + " holds no PEM certificate (" + opensslReason() + ")";
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return "key " + tls.key + " holds no PEM private key (" + opensslReason() + ")";
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return "key " + tls.key + " is not the key of certificate " + tls.certificate;
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca.c_str(), nullptr) != 1)
    return "ca " + tls.ca + " holds no PEM CA certificate (" + opensslReason() + ")";
  if (const X509* cert = SSL_CTX_get0_certificate(ctx.get());
      cert != nullptr && X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    spdlog::warn(
        "SIP over TLS: certificate {} has expired: callers and trunks that check it "
        "will refuse the connection",
        tls.certificate);
  }
  return "";
}

unsigned tlsVerifyPolicy(const config::SipTls& tls) {
  unsigned policy = tls.verifyServerNames ? TPTLS_VERIFY_SUBJECTS_OUT : TPTLS_VERIFY_OUT;
  if (tls.requireClientCertificates) policy |= TPTLS_VERIFY_IN;
  return policy;
}

std::string addTlsTransport(nta_agent_t* agent, const std::string& uriHost,
                            const config::SipTls& tls, unsigned idleMs, unsigned messageMs) {
  std::string why = checkTlsFiles(tls);
  if (!why.empty()) return why;
  const std::string certificate = readAll(tls.certificate, why);
  const std::string key = why.empty() ? readAll(tls.key, why) : "";
  const std::string ca = why.empty() ? readAll(tls.ca, why) : "";
  if (!why.empty()) return why;
  SofiaCertDir dir(why);
  if (!why.empty()) return why;
  // agent.pem: the certificate, then its key (Sofia loads both from the one file).
  if (!writePrivate(dir.path() + "/agent.pem", certificate + "\n" + key, why) ||
      !writePrivate(dir.path() + "/cafile.pem", ca, why))
    return why;
  // A sips: URL: nta binds TLS for sips: only (sip: gives UDP, TCP and SCTP).
  const std::string url = "sips:" + uriHost + ":" + std::to_string(tls.port) + ";transport=tls";
  errno = 0;
  const int rc = nta_agent_add_tport(
      agent, URL_STRING_MAKE(url.c_str()), TPTAG_CERTIFICATE(dir.path().c_str()),
      TPTAG_TLS_VERIFY_POLICY(tlsVerifyPolicy(tls)), TPTAG_TLS_VERIFY_DEPTH(8),
      // A connection Sofia closes (a certificate that fails the checks, the peer gone) fails
      // the transactions waiting on it at once (nta's 503): a TLS failure toward a PSAP trunk
      // fails over now, not at the response timeout.
      TPTAG_SDWN_ERROR(1), TPTAG_QUEUESIZE(1000), TPTAG_IDLE(idleMs), TPTAG_TIMEOUT(messageMs),
      TAG_END());
  if (rc < 0) {
    return "cannot listen on " + url + " (" +
           (errno != 0 ? std::string(std::strerror(errno)) : "TLS set-up failed") +
           "; is the key the certificate's, and are both PEM?)";
  }
  spdlog::info("SIP over TLS on {}: server names of trunks {}, client certificates {}", url,
               tls.verifyServerNames ? "verified" : "not verified",
               tls.requireClientCertificates ? "required" : "not asked for");
  return "";
}

}  // namespace sos::proxy
