// SIP over TLS (proxy/sip_tls.h).

#include "proxy/sip_tls.h"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string_view>
#include <vector>

namespace {

// The contexts SSL_CTX_new makes on this thread while SipTlsTransport::add runs (null otherwise).
thread_local std::vector<SSL_CTX*>* contextsMade = nullptr;

// Sofia's TLS context once its transport is added: connections it closes are released below.
std::atomic<SSL_CTX*> sofiaContext{nullptr};

// Connections Sofia has closed, waiting to be freed (see SSL_shutdown below), and how many were.
std::mutex closedMutex;
std::vector<SSL*> closedConnections;
std::atomic<uint64_t> releasedCount{0};

void releaseClosed(std::vector<SSL*>& closed) {
  for (SSL* ssl : closed) SSL_free(ssl);
  releasedCount.fetch_add(closed.size(), std::memory_order_relaxed);
  closed.clear();
}

using ShutdownFunction = int (*)(SSL*);

ShutdownFunction opensslShutdown() {
  // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): dlsym's result is a function
  void* found = dlvsym(RTLD_NEXT, "SSL_shutdown", "OPENSSL_3.0.0");
  if (found == nullptr) found = dlsym(RTLD_NEXT, "SSL_shutdown");
  return reinterpret_cast<ShutdownFunction>(found);
  // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
}

}  // namespace

// Sofia makes its TLS context with SSL_CTX_new and keeps it to itself; this definition takes
// the place of OpenSSL's for the whole process (the dynamic linker finds the program's own
// first) and does what OpenSSL 3's does, noting the context while a transport is added.
extern "C" SSL_CTX* SSL_CTX_new(const SSL_METHOD* method) {
  SSL_CTX* context = SSL_CTX_new_ex(nullptr, nullptr, method);
  if (context != nullptr && contextsMade != nullptr) contextsMade->push_back(context);
  return context;
}

// Debian's Sofia-SIP 1.12.11 closes a TLS connection (tls_free) with SSL_shutdown, then
// SSL_CTX_free (the reference the connection's SSL_new took) and BIO_free of the socket's BIO,
// and never frees the SSL: about 65 KB a connection stayed behind, for good. SSL_shutdown of a
// connection of Sofia's context is that moment (Sofia calls it nowhere else), so this one,
// after OpenSSL's, takes a reference to the BIO and to the context for the SSL (in place of
// those Sofia drops next) and frees the SSL, with them, at the next such call, once Sofia's
// tls_free has returned, or when the transport goes. Only with Sofia-SIP 1.12 (sofiaContext is
// set for no other: SipTlsTransport::add). Every other SSL (the admin server's, the alerts') is
// OpenSSL's business alone.
extern "C" int SSL_shutdown(SSL* ssl) {
  static const ShutdownFunction openssl = opensslShutdown();
  const int result = openssl != nullptr ? openssl(ssl) : -1;
  SSL_CTX* sofia = sofiaContext.load(std::memory_order_acquire);
  if (ssl != nullptr && sofia != nullptr && SSL_get_SSL_CTX(ssl) == sofia) {
    std::vector<SSL*> earlier;
    {
      const std::lock_guard<std::mutex> lock(closedMutex);
      // The same SSL shut down twice (a Sofia that calls it again) is taken once.
      const bool known = std::find(closedConnections.begin(), closedConnections.end(), ssl) !=
                         closedConnections.end();
      if (known) return result;
      earlier.swap(closedConnections);
      BIO* bio = SSL_get_rbio(ssl);
      if (bio != nullptr && BIO_up_ref(bio) == 1) {
        if (SSL_CTX_up_ref(sofia) == 1) {
          closedConnections.push_back(ssl);
        } else {
          BIO_free(bio);
        }
      }
    }
    releaseClosed(earlier);
  }
  return result;
}

namespace sos::proxy {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

struct ChainDeleter {
  void operator()(STACK_OF(X509) * chain) const { sk_X509_pop_free(chain, X509_free); }
};
struct NamesDeleter {
  void operator()(STACK_OF(X509_NAME) * names) const {
    sk_X509_NAME_pop_free(names, X509_NAME_free);
  }
};

// Everything `tls`'s files hold, read before any of it goes into a context: the certificate,
// the chain after it in the same file, the key, the CAs to verify with, and the CA names a
// caller is asked for.
struct SipTlsFiles {
  X509Ptr certificate{nullptr, X509_free};
  std::unique_ptr<STACK_OF(X509), ChainDeleter> chain;
  KeyPtr key{nullptr, EVP_PKEY_free};
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store{nullptr, X509_STORE_free};
  std::unique_ptr<STACK_OF(X509_NAME), NamesDeleter> caNames;
};

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

std::string readMaterial(const config::SipTls& tls, SipTlsFiles& m) {
  ERR_clear_error();
  std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new_file(tls.certificate.c_str(), "r"),
                                               BIO_free);
  if (in) m.certificate.reset(PEM_read_bio_X509_AUX(in.get(), nullptr, nullptr, nullptr));
  if (!m.certificate) {
    return "certificate " + tls.certificate + " holds no PEM certificate (" + opensslReason() + ")";
  }
  m.chain.reset(sk_X509_new_null());
  while (X509* next = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr))
    sk_X509_push(m.chain.get(), next);
  ERR_clear_error();  // the end of the file
  in.reset(BIO_new_file(tls.key.c_str(), "r"));
  if (in) m.key.reset(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  if (!m.key) return "key " + tls.key + " holds no PEM private key (" + opensslReason() + ")";
  if (X509_check_private_key(m.certificate.get(), m.key.get()) != 1) {
    ERR_clear_error();
    return "key " + tls.key + " is not the key of certificate " + tls.certificate;
  }
  m.store.reset(X509_STORE_new());
  if (!m.store || X509_STORE_load_file(m.store.get(), tls.ca.c_str()) != 1)
    return "ca " + tls.ca + " holds no PEM CA certificate (" + opensslReason() + ")";
  m.caNames.reset(SSL_load_client_CA_file(tls.ca.c_str()));
  ERR_clear_error();
  if (X509_cmp_current_time(X509_get0_notAfter(m.certificate.get())) < 0) {
    spdlog::warn(
        "SIP over TLS: certificate {} has expired: callers and trunks that check it "
        "will refuse the connection",
        tls.certificate);
  }
  return "";
}

// Puts `m` into `context` (each call takes its part or a reference to it): new handshakes
// show the certificate with its chain and verify with the CAs.
std::string useMaterial(SSL_CTX* context, SipTlsFiles& m) {
  if (SSL_CTX_use_certificate(context, m.certificate.get()) != 1 ||
      SSL_CTX_use_PrivateKey(context, m.key.get()) != 1 ||
      SSL_CTX_set1_chain(context, m.chain.get()) != 1)
    return "OpenSSL did not take the certificate (" + opensslReason() + ")";
  SSL_CTX_set_cert_store(context, m.store.release());
  if (m.caNames) SSL_CTX_set_client_CA_list(context, m.caNames.release());
  return "";
}

}  // namespace

std::string checkTlsFiles(const config::SipTls& tls) {
  SipTlsFiles material;
  return readMaterial(tls, material);
}

std::shared_ptr<SipTlsFiles> readSipTlsFiles(const config::SipTls& tls, std::string& why) {
  auto files = std::make_shared<SipTlsFiles>();
  why = readMaterial(tls, *files);
  return why.empty() ? files : nullptr;
}

unsigned tlsVerifyPolicy(const config::SipTls& tls) {
  unsigned policy = tls.verifyServerNames ? TPTLS_VERIFY_SUBJECTS_OUT : TPTLS_VERIFY_OUT;
  if (tls.requireClientCertificates) policy |= TPTLS_VERIFY_IN;
  return policy;
}

SipTlsTransport::~SipTlsTransport() {
  if (context_ == nullptr) return;
  // The agent is gone: Sofia has closed every connection; what it left is freed now.
  std::vector<SSL*> closed;
  {
    const std::lock_guard<std::mutex> lock(closedMutex);
    closed.swap(closedConnections);
  }
  releaseClosed(closed);
  sofiaContext.store(nullptr, std::memory_order_release);
  SSL_CTX_free(context_);
}

const std::atomic<uint64_t>& SipTlsTransport::connectionsReleased() { return releasedCount; }

std::string SipTlsTransport::add(nta_agent_t* agent, const std::string& uriHost,
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
  std::vector<SSL_CTX*> made;
  contextsMade = &made;
  const int rc = nta_agent_add_tport(
      agent, URL_STRING_MAKE(url.c_str()), TPTAG_CERTIFICATE(dir.path().c_str()),
      TPTAG_TLS_VERIFY_POLICY(tlsVerifyPolicy(tls)), TPTAG_TLS_VERIFY_DEPTH(8),
      // A connection Sofia closes (a certificate that fails the checks, the peer gone) fails
      // the transactions waiting on it at once (nta's 503): a TLS failure toward a PSAP trunk
      // fails over now, not at the response timeout.
      TPTAG_SDWN_ERROR(1), TPTAG_QUEUESIZE(1000), TPTAG_IDLE(idleMs), TPTAG_TIMEOUT(messageMs),
      TAG_END());
  contextsMade = nullptr;
  if (rc < 0) {
    return "cannot listen on " + url + " (" +
           (errno != 0 ? std::string(std::strerror(errno)) : "TLS set-up failed") +
           "; is the key the certificate's, and are both PEM?)";
  }
  // Sofia made one context, for the transport's server side and its connections out alike.
  if (made.size() == 1 && SSL_CTX_up_ref(made.front()) == 1) {
    context_ = made.front();
    // Only the Sofia-SIP 1.12 line leaves its connections' SSL behind (later ones free it in
    // tls_free, where freeing it again would be a double free).
    if (std::string_view(nta_version).starts_with("1.12.")) {
      sofiaContext.store(context_, std::memory_order_release);
    } else {
      spdlog::info("SIP over TLS: Sofia-SIP {} frees its own closed connections", nta_version);
    }
    // Put in as SIGHUP puts them: the chain after the certificate is sent too (Sofia alone
    // sends the certificate only).
    SipTlsFiles files;
    if (std::string problem = readMaterial(tls, files); !problem.empty()) return problem;
    if (std::string problem = use(files); !problem.empty()) return problem;
  } else {
    spdlog::warn(
        "SIP over TLS: Sofia's TLS context was not found ({} made): the certificate files "
        "are read at start only",
        made.size());
  }
  spdlog::info("SIP over TLS on {}: server names of trunks {}, client certificates {}", url,
               tls.verifyServerNames ? "verified" : "not verified",
               tls.requireClientCertificates ? "required" : "not asked for");
  return "";
}

std::string SipTlsTransport::use(SipTlsFiles& files) {
  if (context_ == nullptr) return "Sofia's TLS context was not found at start; restart sosproxy";
  return useMaterial(context_, files);
}

}  // namespace sos::proxy
