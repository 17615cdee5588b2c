#include "proxy/app.h"
#include "base/clock.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "admin/http_server.h"
#include "admin/location_api.h"
#include "admin/routes.h"
#include "base/text.h"
#include "config/config.h"
#include "config/config_edit.h"
#include "notify/channels.h"
#include "notify/notifier.h"
#include "proxy/b2bua.h"
#include "proxy/data_cli.h"
#include "proxy/health.h"
#include "proxy/lint_cli.h"
#include "proxy/location_service.h"
#include "proxy/metrics.h"
#include "proxy/queued_sink.h"
#include "proxy/reload.h"
#include "proxy/routing_log.h"
#include "proxy/server.h"
#include "proxy/sofia.h"
#include "proxy/systemd.h"
#include "proxy/token_cli.h"
#include "proxy/version.h"
#include "routing/router.h"

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
routing log file again by its name (after logrotate has moved it away).
--version prints the version and the commit it was built from.
Exit status: 0 stopped normally, 1 could not start (e.g. address in use), 2 bad command line
or configuration (every problem is listed as FILE:LINE:COLUMN: KEY: message).
)";

struct Options {
  std::string command = "run";
  std::string configPath;
  ConfigOverrides overrides;
  std::vector<config::ConfigChange> changes;  // print-config --set
};

int usageError(const std::string& message) {
  std::cerr << "sosproxy: " << message << "\nTry 'sosproxy --help'.\n";
  return 2;
}

// Returns an exit status when the command line is done with (help, errors).
std::optional<int> parse(int argc, char** argv, Options& o) {
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

// SIGHUP calls `reload` (which only queues the work) and waits on.
int waitForStopSignal(const std::function<void()>& reload) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return 1;
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP received: reloading the configuration");
      reload();
      continue;
    }
    spdlog::info("{} received: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return 0;
  }
}

// Issue 14: a stop is a drain. New ordinary calls are refused, emergency calls still routed,
// and calls in progress get up to `seconds` to end; a second SIGTERM or SIGINT stops at once.
void drain(Server& server, int seconds) {
  const int64_t active = server.counters().active.load();
  if (seconds <= 0 || active == 0) return;
  if (!server.post([](B2bua& b) { b.startDraining(); })) return;
  spdlog::warn(
      "draining: {} calls in progress get up to {} s to end; new ordinary calls get "
      "503, emergency calls are still routed",
      active, seconds);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  const timespec tick{0, 100'000'000};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (server.counters().active.load() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      spdlog::warn("drain time over: stopping with {} calls in progress",
                   server.counters().active.load());
      return;
    }
    if (sigtimedwait(&stop, nullptr, &tick) > 0) {
      spdlog::warn("second stop signal: stopping with {} calls in progress",
                   server.counters().active.load());
      return;
    }
  }
  spdlog::info("drained: every call has ended");
}

// /readyz: what the SIP thread last handed over, the snapshot in force, a write check of the
// store, the alerts' outbox and the running configuration's sites. On the I/O thread, like the
// store.
Readiness checkReadiness(Server& server, LocationService& locations, const ConfigReloader& reloader,
                         const notify::Notifier* notifier) {
  ReadinessFacts facts;
  facts.sip = server.health().view();
  facts.live = liveness(facts.sip, std::chrono::steady_clock::now());
  const auto snapshot = locations.snapshot();
  facts.snapshotLoaded = snapshot != nullptr;
  facts.locations = snapshot ? snapshot->data().locations.size() : 0;
  facts.storeProblem = locations.storeProblem();
  if (notifier) facts.alertsProblem = notifier->outboxProblem();
  return readiness(facts, *reloader.running());
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

admin::AdminRoutes::Settings adminSettings(const config::Config& c) {
  admin::AdminRoutes::Settings s;
  s.allowedHosts = c.admin.allowedHosts;
  s.metricsPublic = c.admin.metricsPublic;
  for (const auto& site : c.sites) s.sites.push_back(site.name);
  return s;
}

// A company location submitted for approval (issue 17): each of the site's approvers
// (sites[].approvers) gets an e-mail through notifications.smtp. Not through the outbox: a lost
// message loses nothing, as the request stays listed at /api/v1/location-requests until decided;
// a failed delivery is logged.
// One e-mail through notifications.smtp, from the I/O thread; a failed delivery is logged.
// `what` names it in the log ("location request 7").
void sendMail(boost::asio::io_context& io, const config::Config& cfg, const std::string& to,
              const std::string& subject, const std::string& body, const std::string& what) {
  static uint64_t sent = 0;
  notify::MailRequest mail;
  mail.host = cfg.notifications.smtpHost;
  mail.port = cfg.notifications.smtpPort;
  mail.from = cfg.notifications.mailFrom;
  mail.to = to;
  mail.subject = subject;
  mail.body = body;
  mail.messageId =
      "<mail-" + std::to_string(unixMsNow()) + "-" + std::to_string(++sent) + "@sosproxy>";
  mail.timeout = std::chrono::milliseconds(cfg.notifications.timeoutMs);
  notify::sendMail(io, std::move(mail), [what, to](Result<void> done) {
    if (done.ok()) {
      spdlog::info("{}: {} told by e-mail", what, to);
    } else {
      spdlog::warn("{}: e-mail to {} not delivered: {}", what, to, done.error().message);
    }
  });
}

void tellApprovers(boost::asio::io_context& io, const config::Config& cfg,
                   const store::LocationRequest& r, const std::string& subject,
                   const std::string& body) {
  const auto site = std::find_if(cfg.sites.begin(), cfg.sites.end(),
                                 [&](const config::Site& s) { return s.name == r.site; });
  if (site == cfg.sites.end() || site->approvers.empty()) {
    spdlog::warn(
        "location request {} of site {}: nobody to tell (sites[].approvers is empty); "
        "it waits at /api/v1/location-requests",
        r.id, r.site);
    return;
  }
  for (const auto& to : site->approvers) {
    sendMail(io, cfg, to, subject, body, "location request " + std::to_string(r.id));
  }
}

admin::AdminRoutes::Settings deviceSettings(const config::Config& c) {
  admin::AdminRoutes::Settings s = adminSettings(c);
  s.onlyPaths = {std::string(admin::LocationApi::kPath),
                 std::string(admin::AdminRoutes::kHealthPath)};
  return s;
}

}  // namespace

int runApp(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "lint") {
    return runLintCommand(std::vector<std::string>(argv + 2, argv + argc));
  }
  if (argc >= 2 && std::string_view(argv[1]) == "token") {
    return runTokenCommand(std::vector<std::string>(argv + 2, argv + argc));
  }
  if (argc >= 2 && std::string_view(argv[1]) == "import") {
    return runImportCommand(std::vector<std::string>(argv + 2, argv + argc));
  }
  if (argc >= 2 && std::string_view(argv[1]) == "export") {
    return runExportCommand(std::vector<std::string>(argv + 2, argv + argc));
  }
  Options opts;
  if (auto done = parse(argc, argv, opts)) return *done;
  if (opts.command == "print-config") return printConfig(opts);

  // The same function reads the file again on SIGHUP, overrides included.
  auto loaded = loadRunnable(opts.configPath, opts.overrides);
  if (!loaded.ok()) {
    std::cerr << loaded.error().message << "\n";
    return 2;
  }
  auto cfg = loaded.value().config;
  auto router = loaded.value().router;
  if (opts.command == "check-config") {
    // The location seed is part of what a start reads: checked too (nothing is written).
    if (!cfg->store.seed.empty()) {
      if (auto seed = store::Store::checkSeed(cfg->store.seed); !seed.ok()) {
        std::cerr << seed.error().message << "\n";
        return 2;
      }
    }
    std::cout << opts.configPath << ": OK (" << cfg->trunks.size() << " trunks, "
              << cfg->sites.size() << " sites"
              << (cfg->store.seed.empty() ? "" : "; location seed " + cfg->store.seed + " OK")
              << ")\n";
    for (const auto& w : router->psap().warnings())
      std::cout << opts.configPath << ": warning: " << w << "\n";
    // The seed was read and found valid just above: an error here is a file changed meanwhile.
    auto lint = lintLines(*cfg);
    if (!lint.ok()) {
      std::cerr << lint.error().message << "\n";
      return 2;
    }
    for (const auto& line : lint.value()) std::cout << line << "\n";
    return 0;
  }

  // Operational messages go to standard error; the routing log has its own destination.
  // Written by a thread of the log's own every 20 ms: a warning on the SIP thread never waits on
  // a slow stderr (a full pipe, a stalled journal) nor wakes another thread; when the writer
  // falls 8192 lines behind, the oldest lines go.
  // Under systemd, standard error is the journal: each line carries its syslog priority, and
  // the journal stamps the time itself.
  const bool journal = stderrIsJournal();
  auto consoleSink = std::make_shared<QueuedSink>(stderr, 8192, RoutingLog::kFlushEvery, journal);
  auto console = std::make_shared<spdlog::logger>("sosproxy", consoleSink);
  if (journal) console->set_pattern("[%l] %v");
  spdlog::set_default_logger(console);
  spdlog::set_level(spdlog::level::from_str(cfg->logging.level));
  for (const auto& w : router->psap().warnings()) spdlog::warn("configuration: {}", w);

  std::unique_ptr<RoutingLog> routingLog;
  try {
    routingLog = std::make_unique<RoutingLog>(cfg->logging.routingLog, cfg->logging.format);
  } catch (const std::exception& e) {
    std::cerr << "sosproxy: cannot open the routing log: " << e.what() << "\n";
    return 2;
  }

  // Signals are taken by sigwait on this thread only; every thread started later inherits
  // the mask, so none of them is interrupted.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  su_init();
  // P-Asserted-Identity and the other extension headers parse only with the extended class.
  sip_update_default_mclass(sip_extend_mclass(nullptr));

  // Readiness and the watchdog for systemd (Type=notify); nothing outside it. Declared before
  // the Server, whose SIP thread pings through it, so that it outlives that thread.
  const SystemdNotifier systemd = SystemdNotifier::fromEnvironment();
  Server server(cfg, router, *routingLog);
  server.setSystemd(&systemd);

  // Location data: loaded before the first call can arrive; later snapshots are built on the
  // I/O thread and handed to the SIP thread.
  LocationService locations(cfg,
                            [&server](const std::shared_ptr<const routing::LocationSnapshot>& s) {
                              server.post([s](B2bua& b) { b.setLocations(s); });
                            });
  locations.start();
  server.setInitialLocations(locations.snapshot());

  // The I/O thread: admin API, configuration reloads, the store writer.
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);

  // Responder alerts (issue 6): an outbox in the same store, worked by the I/O thread. SIP
  // MESSAGEs go out through the SIP thread; their answers come back here. Issue 14: each event's
  // jobs are written by the outbox's own writer thread, on a connection of its own to the
  // database file, the moment the SIP thread hands it over. A store in memory cannot be shared
  // with a second connection: its jobs are written by the I/O thread. In memory because the
  // database of store.path could not be opened is an alarm (the alerts would not survive a
  // restart); without store.path it is the configuration's choice.
  std::unique_ptr<notify::Notifier> notifier;
  if (locations.store()) {
    notify::SipSender sip = [&server, &io](notify::SipMessageRequest r, notify::Done done) {
      auto shared = std::make_shared<notify::Done>(std::move(done));
      bool const posted = server.post([r = std::move(r), shared, &io](B2bua& b) mutable {
        b.sendMessage(std::move(r), [shared, &io](Result<void> result) {
          boost::asio::post(
              io, [shared, result = std::move(result)]() mutable { (*shared)(std::move(result)); });
        });
      });
      if (!posted) (*shared)(Error{"sip.down", "the SIP thread is not running"});
    };
    notifier = std::make_unique<notify::Notifier>(io, *locations.store(), cfg, std::move(sip));
    notify::Notifier::Outbox outbox;
    outbox.path = locations.store()->fileName();
    if (!locations.openError().empty())
      outbox.problem =
          "the outbox's database could not be opened at start: " + locations.openError();
    notifier->setOutbox(std::move(outbox));
  }
  // The SIP thread posts an event once the INVITE toward the PSAP has left; the call never waits.
  server.setEventSink([&notifier](notify::CallEvent e) {
    if (notifier) notifier->post(std::move(e));
  });

  // The configuration in force, for the I/O thread's own uses (the approvers' e-mail);
  // replaced by a reload, which runs on the I/O thread too.
  std::shared_ptr<const config::Config> current = cfg;
  // The admin route table, once built below (reloads replace its settings).
  admin::AdminRoutes* routesPtr = nullptr;
  admin::AdminRoutes* deviceRoutesPtr = nullptr;
  // Reloads run on the I/O thread only (SIGHUP is posted there, the admin API runs there), so
  // two never overlap and none runs on the SIP thread.
  ConfigReloader reloader(
      opts.configPath, opts.overrides, cfg,
      ConfigReloader::Apply{[&server](std::shared_ptr<const routing::Router> r) {
                              if (!server.setRouter(std::move(r))) {
                                spdlog::warn(
                                    "the SIP thread has not taken the reloaded routing yet");
                              }
                            },
                            [&locations, &notifier, &routesPtr, &deviceRoutesPtr,
                             &current](std::shared_ptr<const config::Config> c) {
                              current = c;
                              if (notifier) notifier->setConfig(c);
                              if (routesPtr != nullptr) routesPtr->setSettings(adminSettings(*c));
                              if (deviceRoutesPtr != nullptr) {
                                deviceRoutesPtr->setSettings(deviceSettings(*c));
                              }
                              locations.reload(std::move(c));
                            }});
  std::unique_ptr<admin::HttpServer> http;
  store::Store* const db = locations.store();
  admin::LocationApi locationApi(admin::LocationApi::Deps{
      [&locations](model::DeviceReport& r) { return locations.saveReport(r); },
      [&locations] { return locations.snapshot(); },
      [&server](const model::DeviceReport& r) { server.post([r](B2bua& b) { b.addReport(r); }); },
      [] { return unixMsNow(); },
      // A desk phone on a network new for its user: the user is e-mailed what was seen.
      [db, &io, &current](const model::DeviceReport& r, const model::UserRow& user) {
        auto email = db != nullptr ? db->userEmail(user.extension) : Result<std::string>("");
        if (!email.ok() || email.value().empty()) {
          spdlog::info("desk phone {} of {} on a new network ({}): no e-mail address to tell",
                       r.mac, user.extension, r.ip);
          return;
        }
        std::string seen = "IP " + r.ip;
        if (!r.bssid.empty()) seen += ", BSSID " + r.bssid;
        if (!r.chassis.empty()) seen += ", switch " + r.chassis + " port " + r.port;
        sendMail(io, *current, email.value(), "sosproxy: your desk phone is on a new network",
                 "Hello" + (user.name.empty() ? std::string() : " " + user.name) +
                     ",\n\nyour desk phone (MAC " + r.mac + ", extension " + user.extension +
                     ") now reports from a network it has not been seen on: " + seen +
                     ".\nIf the phone has moved, confirm where it is now when it asks, so that "
                     "an emergency call from it reports the right place.\n",
                 "desk phone " + r.mac);
      }});
  admin::AdminRoutes::Tokens tokens;
  if (db != nullptr) {
    tokens.find = [db](const std::string& hash) { return db->findTokenByHash(hash); };
    tokens.list = [db] { return db->listTokens(); };
    tokens.create = [db](store::ApiToken& t, const store::AuditEntry& e) {
      return db->createToken(t, &e);
    };
    tokens.revoke = [db](const std::string& name, const store::AuditEntry& e) {
      return db->revokeToken(name, e.atMs, &e);
    };
    tokens.audit = [db](const store::AuditEntry& e) { return db->appendAudit(e); };
    tokens.loadAudit = [db](const store::AuditQuery& q) { return db->loadAudit(q); };
  }
  admin::LocationsApi locationsApi(admin::LocationsApi::Deps{
      [&locations] { return locations.snapshot(); },
      [db, &locations](const std::string& text, const std::string& key,
                       const store::AuditEntry& audit) -> Result<store::Store::LocationWrite> {
        if (db == nullptr) return Error{"store.write", "no store is open"};
        auto written = db->putLocation(text, key, audit);
        if (written.ok()) locations.rebuild();  // the next call sees it
        return written;
      },
      [db, &locations](const std::string& key, const store::AuditEntry& audit) -> Result<bool> {
        if (db == nullptr) return Error{"store.write", "no store is open"};
        auto removed = db->deleteLocation(key, audit);
        if (removed.ok() && removed.value()) locations.rebuild();
        return removed;
      },
      [] { return unixMsNow(); }});
  admin::CallsApi callsApi(admin::CallsApi::Deps{
      [db](const store::CallQuery& q) -> Result<std::vector<store::CallRecord>> {
        if (db == nullptr) return std::vector<store::CallRecord>{};
        return db->findCallRecords(q);
      },
      [db](const std::string& callId) -> Result<std::optional<store::CallAlert>> {
        if (db == nullptr) return std::optional<store::CallAlert>{};
        return db->loadCallAlert(callId);
      },
      [db](const std::string& callId) -> Result<std::vector<store::NotificationJob>> {
        if (db == nullptr) return std::vector<store::NotificationJob>{};
        return db->loadNotificationJobs(callId);
      }});
  admin::OpsApi opsApi(admin::OpsApi::Deps{[&reloader] { return reloader.running(); },
                                           [&server] { return server.health().view().downTrunks; },
                                           [db]() -> Result<std::vector<model::CallbackTarget>> {
                                             if (db == nullptr)
                                               return std::vector<model::CallbackTarget>{};
                                             return db->loadElinMappings();
                                           },
                                           [&locations] { return locations.snapshot(); },
                                           [] { return unixMsNow(); }});
  // Users, desk phones, locations, personal locations and sites written by the API: checked and
  // written by the store, then the snapshot rebuilt, so the next call sees the change.
  auto applyRecords =
      [db, &locations](const store::ImportRequest& request) -> Result<store::ImportResult> {
    if (db == nullptr) return Error{"store.write", "no store is open"};
    auto applied = db->applyRecords(request);
    if (applied.ok() && applied.value().written) locations.rebuild();
    return applied;
  };
  admin::RecordsApi recordsApi(admin::RecordsApi::Deps{
      [db](store::DataKind kind) -> Result<std::vector<store::DataRecord>> {
        if (db == nullptr) return Error{"store.read", "no store is open"};
        return db->loadRecords(kind);
      },
      applyRecords,
      [db](store::DataKind kind, const std::vector<std::string>& sites) -> Result<std::string> {
        if (db == nullptr) return Error{"store.read", "no store is open"};
        return db->exportCsv(kind, sites);
      },
      [] { return unixMsNow(); }});
  admin::MeApi meApi(admin::MeApi::Deps{
      [&locations] { return locations.snapshot(); },
      [db](const std::string& extension) -> Result<std::optional<model::DeviceReport>> {
        if (db == nullptr) return std::optional<model::DeviceReport>{};
        return db->latestReport(extension);
      },
      applyRecords, [] { return unixMsNow(); },
      [db](store::LocationRequest& r, const store::AuditEntry& audit) -> Result<void> {
        if (db == nullptr) return Error{"store.write", "no store is open"};
        return db->submitLocationRequest(r, audit);
      },
      [db](const store::LocationRequestQuery& q) -> Result<std::vector<store::LocationRequest>> {
        if (db == nullptr) return std::vector<store::LocationRequest>{};
        return db->loadLocationRequests(q);
      },
      [&io, &current](const store::LocationRequest& r, const std::string& subject,
                      const std::string& body) { tellApprovers(io, *current, r, subject, body); }});
  admin::LocationRequestsApi requestsApi(admin::LocationRequestsApi::Deps{
      [db](const store::LocationRequestQuery& q) -> Result<std::vector<store::LocationRequest>> {
        if (db == nullptr) return std::vector<store::LocationRequest>{};
        return db->loadLocationRequests(q);
      },
      [db](int64_t id) -> Result<std::optional<store::LocationRequest>> {
        if (db == nullptr) return std::optional<store::LocationRequest>{};
        return db->loadLocationRequest(id);
      },
      applyRecords,
      [db](int64_t id, const std::string& reason, const store::AuditEntry& audit) -> Result<bool> {
        if (db == nullptr) return Error{"store.write", "no store is open"};
        return db->rejectLocationRequest(id, reason, audit);
      },
      [] { return unixMsNow(); }});
  admin::RetriggerApi retriggerApi(admin::RetriggerApi::Deps{
      [&locations] { return locations.snapshot(); },
      [db](const std::vector<std::string>& extensions, const store::AuditEntry& audit)
          -> Result<std::vector<std::pair<std::string, std::string>>> {
        if (db == nullptr) return Error{"store.write", "no store is open"};
        return db->resetPrompts(extensions, audit);
      },
      [&io, &current](const std::string& to, const std::string& subject, const std::string& body) {
        sendMail(io, *current, to, subject, body, "re-trigger");
      },
      [] { return unixMsNow(); }});
  admin::AdminRoutes::Handlers handlers{
      &locationApi,
      &locationsApi,
      &callsApi,
      &opsApi,
      &recordsApi,
      &meApi,
      &requestsApi,
      &retriggerApi,
      [&server, &locations, &reloader, &routingLog, &consoleSink, &notifier, &routesPtr,
       &deviceRoutesPtr, &current] {
        // Each probed trunk of the configuration in force, up unless its probes found it down.
        std::vector<TrunkState> trunks;
        const auto down = server.health().view().downTrunks;
        for (const auto& t : current->trunks) {
          if (t.optionsIntervalMs <= 0) continue;
          trunks.push_back({t.name, std::find(down.begin(), down.end(), t.name) == down.end()});
        }
        // Both listeners' refusals count together: a spoofing attempt on the phones' listener
        // is one like any other.
        return prometheusText(
            server.counters(), locations.counters(), reloader.counters(),
            LogLoss{routingLog->dropped(), consoleSink->dropped(), routingLog->reopenFailures()},
            notifier ? &notifier->counters() : nullptr,
            routesPtr != nullptr ? &routesPtr->counters() : nullptr,
            deviceRoutesPtr != nullptr ? &deviceRoutesPtr->counters() : nullptr, trunks);
      },
      [&server] {
        auto const a =
            healthzAnswer(liveness(server.health().view(), std::chrono::steady_clock::now()));
        return admin::HttpResponse{a.status, a.contentType, a.body, {}};
      },
      [&server, &locations, &reloader, &notifier] {
        auto const a = readyzAnswer(checkReadiness(server, locations, reloader, notifier.get()));
        return admin::HttpResponse{a.status, a.contentType, a.body, {}};
      },
      notifier ? std::function([&notifier](const std::string& callId, const std::string& by) {
        return notifier->acknowledge(callId, by);
      })
               : nullptr,
      [db](const std::string& callId) -> Result<std::optional<std::string>> {
        if (db == nullptr) return std::optional<std::string>{};
        auto alert = db->loadCallAlert(callId);
        if (!alert.ok()) return alert.error();
        if (!alert.value()) return std::optional<std::string>{};
        return std::optional<std::string>{alert.value()->site};
      },
      [&reloader] {
        auto result = reloader.reload();
        return admin::AdminRoutes::ReloadOutcome{result.reloaded, toJson(result)};
      },
      std::move(tokens),
      [] { return unixMsNow(); }};
  // Phones' own listener (admin.device_listen): the location-report API and /healthz only.
  admin::AdminRoutes deviceRoutes(handlers, deviceSettings(*cfg));
  admin::AdminRoutes routes(std::move(handlers), adminSettings(*cfg));
  routesPtr = &routes;
  deviceRoutesPtr = &deviceRoutes;
  std::unique_ptr<admin::HttpServer> deviceHttp;
  if (cfg->admin.enabled) {
    try {
      http = std::make_unique<admin::HttpServer>(
          io, cfg->admin.address, cfg->admin.port,
          [&routes](const admin::HttpRequest& r) { return routes.handle(r); });
      if (cfg->admin.devicePort != 0) {
        deviceHttp = std::make_unique<admin::HttpServer>(
            io, cfg->admin.deviceAddress, cfg->admin.devicePort,
            [&deviceRoutes](const admin::HttpRequest& r) { return deviceRoutes.handle(r); });
      }
    } catch (const std::exception& e) {
      std::cerr << "sosproxy: " << e.what() << "\n";
      su_deinit();
      return 1;
    }
  }

  // ELIN -> caller mappings: saved on the I/O thread after each emergency call, reloaded here.
  server.setElinPersistence(
      [&io, &locations](std::vector<model::CallbackTarget> mappings) {
        boost::asio::post(io, [&locations, m = std::move(mappings)] {
          if (auto r = locations.saveElinMappings(m); !r.ok())
            spdlog::warn("ELIN callback mappings not saved: {}", r.error().message);
        });
      },
      locations.loadElinMappings());

  // Call records: the SIP thread stamps the end of each call and hands its final entry over;
  // the I/O thread writes it, so a slow or locked database never holds up a call. A record that
  // cannot be written is still in the routing log.
  server.setCallRecordSink([&io, &locations](RoutingLogEntry e) {
    int64_t const endedAtMs = unixMsNow();
    boost::asio::post(io, [&locations, e = std::move(e), endedAtMs] {
      if (auto r = locations.saveCallRecord(callRecordFrom(e, endedAtMs)); !r.ok()) {
        spdlog::warn("call record of call {} ({} {}) not saved: {}", e.callId, e.outcome, e.status,
                     r.error().message);
      }
    });
  });

  if (auto error = server.start()) {
    std::cerr << "sosproxy: " << *error << "\n";
    su_deinit();
    return 1;
  }
  if (http) http->start();
  if (deviceHttp) deviceHttp->start();
  // Alerts a previous run left pending go out first (nothing is lost to a crash).
  if (notifier) boost::asio::post(io, [&notifier] { notifier->start(); });
  // Location data another process changed (the CLI's import, issue 16) is looked for once a
  // second; the next call after a change sees it.
  boost::asio::steady_timer dataPoll(io);
  std::function<void()> pollData = [&dataPoll, &locations, &pollData] {
    dataPoll.expires_after(std::chrono::seconds(1));
    dataPoll.async_wait([&locations, &pollData](const boost::system::error_code& ec) {
      if (ec) return;
      locations.rebuildIfChanged();
      pollData();
    });
  };
  pollData();
  std::thread ioThread([&io] { io.run(); });

  std::cout << "sosproxy ready: SIP on " << server.listening();
  if (http) std::cout << "; admin http://" << cfg->admin.address << ":" << http->port();
  if (deviceHttp) {
    std::cout << "; device reports http://" << cfg->admin.deviceAddress << ":"
              << deviceHttp->port();
  }
  std::cout << "; config " << opts.configPath << "; routing log "
            << (cfg->logging.routingLog == "-" ? "standard output" : cfg->logging.routingLog)
            << std::endl;
  // After the ready line: the SIP sockets listen and the admin server accepts.
  systemd.notify("READY=1\nSTATUS=SIP on " + server.listening());

  int status = waitForStopSignal([&io, &reloader, &routingLog] {
    routingLog->reopen();  // logrotate: the writer thread opens the file by its name again
    boost::asio::post(io, [&reloader] { (void)reloader.reload(); });
  });
  systemd.notify("STOPPING=1");
  server.health().setStopping();
  drain(server, cfg->limits.drainSeconds);
  // The I/O thread finishes what is queued (the last ELIN mappings and call records) and stops
  // before the SIP thread, so nothing is posted to a SIP thread that is going away.
  if (http) http->stop();
  std::promise<void> drained;
  boost::asio::post(io, [&drained, &notifier] {
    // Jobs still pending stay in the outbox for the next start.
    if (notifier) notifier->stop();
    drained.set_value();
  });
  drained.get_future().wait_for(std::chrono::seconds(5));
  work.reset();
  io.stop();
  ioThread.join();
  server.stop();
  // No event comes any more (the SIP thread is gone): the outbox writer writes what it still
  // holds and its thread ends, before the loggers it logs to go away.
  notifier.reset();
  su_deinit();
  spdlog::shutdown();
  console.reset();  // the last reference: its writer writes the queued lines and ends
  return status;
}

}  // namespace sos::proxy
