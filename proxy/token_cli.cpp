// `sosproxy token ...` (token_cli.h).

#include "proxy/token_cli.h"

#include <ctime>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "admin/auth.h"
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
};

std::optional<int> parseTokenArgs(const std::vector<std::string>& args, TokenArgs& t) {
  if (args.empty()) return tokenUsageError("give create, list or revoke");
  t.action = args[0];
  if (t.action == "-h" || t.action == "--help") {
    std::cout << "Usage:\n" << kTokenUsage;
    return 0;
  }
  if (t.action != "create" && t.action != "list" && t.action != "revoke") {
    return tokenUsageError("unknown action '" + t.action + "' (create, list or revoke)");
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
  if (t.action == "revoke" && t.positional.size() != 1) {
    return tokenUsageError("revoke needs the NAME of one token");
  }
  if (t.action != "revoke" && !t.positional.empty()) {
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
