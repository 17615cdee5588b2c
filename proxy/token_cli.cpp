// `sosproxy token ...` (token_cli.h).

#include "proxy/token_cli.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "admin/auth.h"
#include "admin/password.h"
#include "config/config.h"
#include "proxy/cli_store.h"
#include "store/store.h"

namespace sos::proxy {

const char* const kTokenUsage =
    R"(  sosproxy token create --config FILE --name NAME --role ROLE [--site SITE]...
                        [--user EXTENSION | --mac MAC]
                                     make an API token; prints it once (only its hash is kept)
  sosproxy token list --config FILE  every token: name, role, sites, subject, created, revoked
  sosproxy token revoke --config FILE NAME
                                     the token stops working at its next request
  sosproxy token password --config FILE [--clear] NAME
                                     set (or clear) the dashboard password of token NAME, a
                                     super-admin, site-admin or responder: it then also signs in
                                     at /dashboard as user NAME with that password. The password
                                     is read from standard input (asked twice, unseen, on a
                                     terminal), never from the command line; 10 to 1024
                                     characters. Kept as PBKDF2-HMAC-SHA256, 600,000 rounds,
                                     salted.
    Roles: super-admin; site-admin and responder (with --site, one or more); device (with
    --user or --mac: the one device it reports for); network-reporter (reports for any device,
    marked network-provided).
)";

namespace {

int tokenUsageError(const std::string& message) { return cliUsageError("token", message); }

std::string isoTime(int64_t ms) {
  if (ms == 0) return "-";
  const std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return out.str();
}

struct TokenArgs {
  std::string action, configPath, name, role, subject;
  std::vector<std::string> sites;
  std::vector<std::string> positional;
  bool clear = false;
};

std::optional<int> parseTokenArgs(const std::vector<std::string>& args, TokenArgs& t) {
  if (args.empty()) return tokenUsageError("give create, list, revoke or password");
  t.action = args[0];
  if (t.action == "-h" || t.action == "--help") {
    std::cout << "Usage:\n" << kTokenUsage;
    return 0;
  }
  if (t.action != "create" && t.action != "list" && t.action != "revoke" &&
      t.action != "password") {
    return tokenUsageError("unknown action '" + t.action + "' (create, list, revoke or password)");
  }
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    std::string* target = nullptr;
    if (a == "-c" || a == "--config") {
      target = &t.configPath;
    } else if (a == "--name") {
      target = &t.name;
    } else if (a == "--role") {
      target = &t.role;
    } else if (a == "--user" || a == "--mac") {
      if (!t.subject.empty()) return tokenUsageError("give --user or --mac once");
      target = &t.subject;
    } else if (a == "--clear" && t.action == "password") {
      t.clear = true;
      continue;
    } else if (a == "--site") {
      auto v = value();
      if (!v) return tokenUsageError("--site needs a SITE");
      t.sites.push_back(*v);
      continue;
    } else if (!a.empty() && a[0] == '-') {
      return tokenUsageError("unknown option '" + a + "'");
    } else {
      t.positional.push_back(a);
      continue;
    }
    auto v = value();
    if (!v) return tokenUsageError(a + " needs a value");
    *target = *v;
  }
  if (t.configPath.empty()) return tokenUsageError("no configuration given (--config FILE)");
  const bool named = t.action == "revoke" || t.action == "password";
  if (named && t.positional.size() != 1) {
    return tokenUsageError(t.action + " needs the NAME of one token");
  }
  if (!named && !t.positional.empty()) {
    return tokenUsageError("unexpected argument '" + t.positional[0] + "'");
  }
  if (t.action == "create" && (t.name.empty() || t.role.empty())) {
    return tokenUsageError("create needs --name NAME and --role ROLE");
  }
  return std::nullopt;
}

int listTokens(store::Store& store) {
  auto all = store.listTokens();
  if (!all.ok()) {
    std::cerr << "sosproxy token: " << all.error().message << "\n";
    return 1;
  }
  std::cout << std::left << std::setw(24) << "NAME" << std::setw(18) << "ROLE" << std::setw(20)
            << "SITES" << std::setw(16) << "SUBJECT" << std::setw(22) << "CREATED"
            << "REVOKED\n";
  for (const auto& t : all.value()) {
    std::string sites;
    for (const auto& s : t.sites) sites += (sites.empty() ? "" : ",") + s;
    std::cout << std::setw(24) << t.name << std::setw(18) << t.role << std::setw(20)
              << (sites.empty() ? "-" : sites) << std::setw(16)
              << (t.subject.empty() ? "-" : t.subject) << std::setw(22) << isoTime(t.createdAtMs)
              << isoTime(t.revokedAtMs) << "\n";
  }
  return 0;
}

// One line of standard input, its line end dropped; on a terminal, asked for with `prompt` and
// not echoed. nullopt at end of input.
std::optional<std::string> readSecretLine(const char* prompt) {
  const bool terminal = isatty(STDIN_FILENO) == 1;
  termios before{};
  if (terminal) {
    std::cerr << prompt << std::flush;
    tcgetattr(STDIN_FILENO, &before);
    termios quiet = before;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (terminal) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &before);
    std::cerr << "\n";
  }
  if (!got) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// The password to set, read and checked; nullopt (and the reason printed) if there is none.
std::optional<std::string> readNewPassword(const std::string& name) {
  const std::string prompt = "Dashboard password for \"" + name + "\": ";
  auto password = readSecretLine(prompt.c_str());
  if (!password) {
    std::cerr << "sosproxy token: no password on standard input\n";
    return std::nullopt;
  }
  if (password->size() < admin::kMinPasswordLength ||
      password->size() > admin::kMaxPasswordLength) {
    std::cerr << "sosproxy token: the password must have " << admin::kMinPasswordLength << " to "
              << admin::kMaxPasswordLength << " characters\n";
    return std::nullopt;
  }
  if (isatty(STDIN_FILENO) == 1 && readSecretLine("Again: ") != password) {
    std::cerr << "sosproxy token: the two passwords differ\n";
    return std::nullopt;
  }
  return password;
}

// `token password`: only a dashboard role's token in force takes one.
int setPassword(store::Store& db, const TokenArgs& t) {
  const std::string& name = t.positional[0];
  auto all = db.listTokens();
  if (!all.ok()) {
    std::cerr << "sosproxy token: " << all.error().message << "\n";
    return 1;
  }
  const auto& tokens = all.value();
  auto it = std::find_if(tokens.begin(), tokens.end(), [&](const store::ApiToken& k) {
    return k.name == name && k.revokedAtMs == 0;
  });
  if (it == tokens.end()) {
    std::cerr << "sosproxy token: no token in force is named \"" << name << "\"\n";
    return 2;
  }
  if (it->role != "super-admin" && it->role != "site-admin" && it->role != "responder") {
    std::cerr << "sosproxy token: \"" << name << "\" is a " << it->role
              << " token; only super-admin, site-admin and responder tokens sign in to the "
                 "dashboard\n";
    return 2;
  }
  std::optional<store::PasswordHash> hash;
  if (!t.clear) {
    auto password = readNewPassword(name);
    if (!password) return 2;
    try {
      hash = admin::hashPassword(*password);
    } catch (const std::exception& e) {
      std::cerr << "sosproxy token: " << e.what() << "\n";
      return 1;
    }
  }
  const std::string action = t.clear ? "token.password-clear" : "token.password-set";
  store::AuditEntry e{0, cliNowMs(), cliActor(), "cli", action, "token:" + name, "", "", ""};
  auto set = db.setTokenPassword(name, hash ? &*hash : nullptr, e.atMs, &e);
  if (!set.ok()) {
    std::cerr << "sosproxy token: " << set.error().message << "\n";
    return 1;
  }
  std::cerr << "token \"" << name << "\": dashboard password " << (t.clear ? "cleared" : "set")
            << "\n";
  return 0;
}

}  // namespace

int runTokenCommand(const std::vector<std::string>& args) {
  TokenArgs t;
  if (auto done = parseTokenArgs(args, t)) return *done;
  auto cfg = config::loadConfig(t.configPath);
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return 2;
  }
  int status = 0;
  auto store = openConfiguredStore(t.configPath, "token", status);
  if (!store) return status;
  auto& db = *store;
  if (t.action == "list") return listTokens(db);
  if (t.action == "password") return setPassword(db, t);

  const std::string actor = cliActor();
  if (t.action == "revoke") {
    const std::string& name = t.positional[0];
    store::AuditEntry e{0, cliNowMs(), actor, "cli", "token.revoke", "token:" + name, "", "", ""};
    auto revoked = db.revokeToken(name, e.atMs, &e);
    if (!revoked.ok()) {
      std::cerr << "sosproxy token: " << revoked.error().message << "\n";
      return 1;
    }
    if (!revoked.value()) {
      std::cerr << "sosproxy token: no token in force is named \"" << name << "\"\n";
      return 2;
    }
    std::cerr << "token \"" << name << "\" revoked\n";
    return 0;
  }

  std::vector<std::string> sites;
  for (const auto& s : cfg.value().sites) sites.push_back(s.name);
  auto row = admin::tokenRow(t.name, t.role, t.sites, t.subject, sites, cliNowMs());
  if (!row.ok()) {
    std::cerr << "sosproxy token: " << row.error().message << "\n";
    return 2;
  }
  std::string secret;
  try {
    secret = admin::newToken();
  } catch (const std::exception& e) {
    std::cerr << "sosproxy token: " << e.what() << "\n";
    return 1;
  }
  store::ApiToken token = row.value();
  token.hash = admin::tokenHash(secret);
  store::AuditEntry e{
      0,  token.createdAtMs, actor, "cli", "token.create", "token:" + token.name, "",
      "", token.role};
  if (auto made = db.createToken(token, &e); !made.ok()) {
    std::cerr << "sosproxy token: " << made.error().message << "\n";
    return made.error().code == "store.conflict" ? 2 : 1;
  }
  std::cout << secret << "\n";
  std::cerr << "token \"" << token.name << "\" (" << token.role
            << ") created; it is shown only this once: keep it now\n";
  return 0;
}

}  // namespace sos::proxy
