// Reads the encryption settings (issue 20): the admin server's certificate and whether plain
// HTTP may listen beyond loopback, and the mail relay's TLS and authentication.

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "config/config_parser.h"
#include "model/network.h"

namespace sos::config::detail {

namespace {

// Can this process read `path` now? (The files are read again at start-up and on SIGHUP; a
// path that cannot be opened is a mistake worth a line number.)
bool readable(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace

// admin.tls: {cert_file, key_file}, both required.
void Parser::readAdminTls(const YamlValue& v) {
  auto f = fields(v, {"cert_file", "key_file"});
  if (!f) return;
  AdminTls& tls = config_.admin.tls;
  tls.at = place(v);
  tls.certFile = readableFile(*f, v, "cert_file");
  tls.keyFile = readableFile(*f, v, "key_file");
}

// A required file name, beside the configuration file when relative, that can be read.
std::string Parser::readableFile(const YamlFields& f, const YamlValue& parent,
                                 std::string_view name) {
  auto v = get(f, parent, name, true);
  if (!v) return {};
  std::string path = besideSource(nonEmpty(*v));
  if (!path.empty() && !readable(path)) report(*v, inQuotes(path) + " cannot be read");
  return path;
}

// A listener of the admin server that would serve plain HTTP beyond loopback: tokens, session
// cookies and personal data in clear on the network. Refused unless admin.allow_plain_http says
// it is meant (a TLS proxy in front, say).
void Parser::checkPlainHttp(const std::optional<YamlValue>& address, std::string_view listener) {
  const Admin& admin = config_.admin;
  if (!admin.enabled || admin.https() || admin.allowPlainHttp || !address) return;
  auto text = YamlReader::text(*address);
  if (!text || !model::addressBits(*text) || isLoopback(*text)) return;
  report(*address, "plain HTTP for the " + std::string(listener) + " on " + inQuotes(*text) +
                       ", which is not a loopback address: set admin.tls (cert_file, "
                       "key_file) for HTTPS, or admin.allow_plain_http: true if plain HTTP "
                       "there is meant");
}

// notifications.smtp: {host, port, from, tls, ca_file, username, password | password_env |
// password_file}.
void Parser::readSmtp(const YamlValue& smtp) {
  auto sf = fields(smtp, {"host", "port", "from", "tls", "ca_file", "username", "password",
                          "password_env", "password_file"});
  if (!sf) return;
  Notifications& n = config_.notifications;
  if (auto h = get(*sf, smtp, "host")) n.smtpHost = checked(*h, checkMailHost).value_or(n.smtpHost);
  if (auto t = get(*sf, smtp, "tls")) {
    n.smtpTls = choice(*t, kSmtpTls).value_or(n.smtpTls);
    // RFC 8314: 465 is TLS from the first byte.
    if (n.smtpTls == SmtpTls::Implicit) n.smtpPort = 465;
  }
  if (auto p = get(*sf, smtp, "port")) n.smtpPort = port(*p).value_or(n.smtpPort);
  if (auto from = get(*sf, smtp, "from")) {
    n.mailFrom = checked(*from, checkEmail).value_or(n.mailFrom);
  }
  if (auto c = get(*sf, smtp, "ca_file")) {
    n.smtpCaFile = besideSource(nonEmpty(*c));
    if (!n.smtpCaFile.empty() && !readable(n.smtpCaFile)) {
      report(*c, inQuotes(n.smtpCaFile) + " cannot be read");
    }
  }
  readSmtpAuth(*sf, smtp);
}

// The user name and exactly one source of its password. The password is kept in the model and
// nowhere else: no message quotes it.
void Parser::readSmtpAuth(const YamlFields& sf, const YamlValue& smtp) {
  SmtpAuth& auth = config_.notifications.smtpAuth;
  auto user = get(sf, smtp, "username");
  if (user) auth.username = nonEmpty(*user);
  int sources = 0;
  if (auto p = get(sf, smtp, "password")) {
    ++sources;
    auth.password = nonEmpty(*p);
  }
  if (auto e = get(sf, smtp, "password_env")) {
    ++sources;
    const std::string name = nonEmpty(*e);
    const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') {
      report(*e, "the environment variable " + inQuotes(name) + " is not set or empty");
    } else {
      auth.password = value;
    }
  }
  if (auto fp = get(sf, smtp, "password_file")) {
    ++sources;
    const std::string path = besideSource(nonEmpty(*fp));
    std::ifstream in(path);
    if (in.is_open()) {
      std::stringstream text;
      text << in.rdbuf();
      auth.password = text.str();
    }
    // The file's last line end is not part of the password.
    while (!auth.password.empty() && (auth.password.back() == '\n' || auth.password.back() == '\r'))
      auth.password.pop_back();
    if (auth.password.empty()) {
      report(*fp, inQuotes(path) + " cannot be read or is empty");
    }
  }
  if (sources > 1) {
    report(smtp, "give the password once: password, password_env or password_file");
  } else if (user && sources == 0) {
    report(*user, "a username needs a password, password_env or password_file");
  } else if (!user && sources == 1) {
    report(smtp, "a password needs a username");
  }
}

}  // namespace sos::config::detail
