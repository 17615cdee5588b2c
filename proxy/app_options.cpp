// sosproxy's command line (proxy/app_options.h).

#include "proxy/app_options.h"

#include <spdlog/spdlog.h>

#include <iostream>

#include "base/text.h"
#include "config/config.h"
#include "proxy/data_cli.h"
#include "proxy/lint_cli.h"
#include "proxy/token_cli.h"
#include "proxy/version.h"

namespace sos::proxy {

namespace {

constexpr const char* kUsageHead =
    R"(sosproxy - SIP emergency-call routing proxy (back-to-back user agent)

Usage:
  sosproxy --config FILE [options]   run the proxy
  sosproxy check-config FILE         validate FILE and its location seed (store.seed) and
                                     exit (0 valid, 2 invalid); what `sosproxy lint` finds
                                     is printed as warnings after the OK line
  sosproxy print-config FILE [--set PATH=VALUE]...
                                     print FILE with values changed (e.g. the demo on other
                                     ports), if the result is valid (else exit 2)
)";
constexpr const char* kUsage =
    R"(  sosproxy --help | --version

Options:
  -c, --config FILE        YAML configuration (see config/examples/demo.yaml)
      --log-format FORMAT  routing log as "text" (key=value) or "json" (one object per line);
                           overrides logging.format
      --routing-log PATH   where the routing log goes ("-" for standard output);
                           overrides logging.routing_log
      --log-level LEVEL    trace, debug, info, warn or error; overrides logging.level
      --set PATH=VALUE     (print-config) the value at PATH, written as the file would, e.g.
                           listen.port=5070, trunks[il-psap-a].port=5090 (a list item by
                           name or position), sites[HQ].responders=[], store={}

Signals: SIGTERM or SIGINT stop the proxy. SIGHUP reloads FILE (with the options above) and
the location data without dropping a call: trunks, sites, trusted networks, location settings
and the log level take effect for new calls; a file with errors is refused, every problem
logged, and the running configuration kept. Listen address, port and transports, the admin
server, the store and the routing log's path and format need a restart.
POST /api/v1/admin/reload on the admin port does the same as SIGHUP. SIGHUP also opens the
routing log file again by its name (after logrotate has moved it away), and the TLS
certificate, key and CA files (listen.tls, admin.tls) for new connections.
--version prints the version and the commit it was built from.
Exit status: 0 stopped normally, 1 could not start (e.g. address in use), 2 bad command line
or configuration (every problem is listed as FILE:LINE:COLUMN: KEY: message).
)";

int usageError(const std::string& message) {
  std::cerr << "sosproxy: " << message << "\nTry 'sosproxy --help'.\n";
  return 2;
}

}  // namespace

std::optional<int> parseOptions(int argc, char** argv, Options& o) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const std::string& name) -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      (void)name;
      return args[++i];
    };
    if (a == "-h" || a == "--help") {
      std::cout << kUsageHead << kLintUsage << kTokenUsage << kDataUsage << kUsage;
      return 0;
    }
    if (a == "--version") {
      std::cout << "sosproxy " << buildVersion() << " (commit " << buildCommit() << ")\n";
      return 0;
    }
    if ((a == "check-config" || a == "print-config") && i == 0) {
      o.command = a;
      auto v = value(a);
      if (!v) return usageError(a + " needs a FILE");
      o.configPath = *v;
      continue;
    }
    if (a == "--set") {
      auto v = value(a);
      if (!v) return usageError("--set needs PATH=VALUE");
      auto change = config::parseConfigChange(*v);
      if (!change.ok()) return usageError("--set " + change.error().message);
      o.changes.push_back(std::move(change.value()));
      continue;
    }
    std::optional<std::string>* target = nullptr;
    if (a == "-c" || a == "--config") {
      auto v = value(a);
      if (!v) return usageError(a + " needs a FILE");
      o.configPath = *v;
      continue;
    }
    if (a == "--log-format") {
      target = &o.overrides.logFormat;
    } else if (a == "--routing-log") {
      target = &o.overrides.routingLog;
    } else if (a == "--log-level") {
      target = &o.overrides.logLevel;
    } else {
      return usageError("unknown argument '" + a + "'");
    }
    auto v = value(a);
    if (!v) return usageError(a + " needs a value");
    *target = *v;
  }
  if (o.configPath.empty()) return usageError("no configuration given (--config FILE)");
  if (!o.changes.empty() && o.command != "print-config")
    return usageError("--set changes the file print-config prints; it does not apply to a run");
  const auto& v = o.overrides;
  if (v.logFormat && *v.logFormat != "text" && *v.logFormat != "json")
    return usageError("--log-format must be text or json, not '" + *v.logFormat + "'");
  if (v.logLevel && spdlog::level::from_str(*v.logLevel) == spdlog::level::off &&
      *v.logLevel != "off")
    return usageError("--log-level must be trace, debug, info, warn or error");
  return std::nullopt;
}

// `sosproxy print-config FILE --set ...`: a variant of FILE on standard output, only when it is
// a valid configuration (the scripts and tests that derive theirs from the demo fail early).
int printConfig(const Options& opts) {
  auto text = readWholeFile(opts.configPath);
  if (!text.ok()) {
    std::cerr << opts.configPath << ": cannot read: " << text.error().message << "\n";
    return 2;
  }
  auto edited = config::editConfig(text.value(), opts.configPath, opts.changes);
  if (!edited.ok()) {
    std::cerr << "sosproxy: --set " << edited.error().message << "\n";
    return 2;
  }
  // Problems name the printed text's lines: the changed file is what would be loaded.
  auto checked = config::parseConfig(edited.value(), opts.configPath + " (as printed)");
  if (!checked.ok()) {
    std::cerr << checked.error().message << "\n";
    return 2;
  }
  std::cout << edited.value();
  return 0;
}

// The subcommands that are programs of their own (lint, token, import, export).
std::optional<int> runSubcommand(int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  const std::string_view command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "lint") return runLintCommand(args);
  if (command == "token") return runTokenCommand(args);
  if (command == "import") return runImportCommand(args);
  if (command == "export") return runExportCommand(args);
  return std::nullopt;
}

}  // namespace sos::proxy
