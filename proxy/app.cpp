#include "proxy/app.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
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
#include "base/clock.h"
#include "base/text.h"
#include "config/config.h"
#include "notify/channels.h"
#include "notify/notifier.h"
#include "proxy/admin_wiring.h"
#include "proxy/app_options.h"
#include "proxy/b2bua.h"
#include "proxy/batch_post.h"
#include "proxy/health.h"
#include "proxy/lint_cli.h"
#include "proxy/live_dashboard.h"
#include "proxy/location_service.h"
#include "proxy/metrics.h"
#include "proxy/queued_sink.h"
#include "proxy/reload.h"
#include "proxy/routing_log.h"
#include "proxy/server.h"
#include "proxy/sofia.h"
#include "proxy/store_watch.h"
#include "proxy/systemd.h"
#include "proxy/test_call_records.h"
#include "routing/elin.h"
#include "routing/router.h"
#include "store/store.h"

namespace sos::proxy {

namespace {

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
  if (!server.post([](B2bua& b) { b.admission().startDraining(); })) return;
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

// `sosproxy check-config FILE`: the file has loaded; the location seed is part of what a start
// reads, so it is checked too (nothing is written), and lint's findings follow as warnings.
int checkConfig(const Options& opts, const config::Config& cfg, const routing::Router& router) {
  if (!cfg.store.seed.empty()) {
    if (auto seed = store::Store::checkSeed(cfg.store.seed); !seed.ok()) {
      std::cerr << seed.error().message << "\n";
      return 2;
    }
  }
  std::cout << opts.configPath << ": OK (" << cfg.trunks.size() << " trunks, " << cfg.sites.size()
            << " sites"
            << (cfg.store.seed.empty() ? "" : "; location seed " + cfg.store.seed + " OK") << ")\n";
  for (const auto& w : router.psap().warnings())
    std::cout << opts.configPath << ": warning: " << w << "\n";
  // The seed was read and found valid just above: an error here is a file changed meanwhile.
  auto lint = lintLines(cfg);
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
struct Console {
  std::shared_ptr<QueuedSink> sink;
  std::shared_ptr<spdlog::logger> logger;
};
Console startConsole(const config::Config& cfg, const routing::Router& router) {
  const bool journal = stderrIsJournal();
  Console c;
  c.sink = std::make_shared<QueuedSink>(stderr, 8192, RoutingLog::kFlushEvery, journal);
  c.logger = std::make_shared<spdlog::logger>("sosproxy", c.sink);
  if (journal) c.logger->set_pattern("[%l] %v");
  spdlog::set_default_logger(c.logger);
  spdlog::set_level(spdlog::level::from_str(cfg.logging.level));
  for (const auto& w : router.psap().warnings()) spdlog::warn("configuration: {}", w);
  return c;
}

// Signals are taken by sigwait on this thread only; every thread started later inherits the
// mask, so none of them is interrupted.
void blockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

// This node's name among those sharing the database: store.node_name, else HOSTNAME:SIP-PORT
// (stable across restarts, distinct for two nodes on one host).
std::string nodeName(const config::Config& cfg) {
  if (!cfg.store.nodeName.empty()) return cfg.store.nodeName;
  std::array<char, 256> host{};
  std::string name = "localhost";
  if (gethostname(host.data(), host.size() - 1) == 0 && host[0] != '\0') name = host.data();
  return name + ":" + std::to_string(cfg.listen.port);
}

// Responder alerts (issue 6): an outbox in the same store, worked by the I/O thread. SIP
// MESSAGEs go out through the SIP thread; their answers come back here. Issue 14: each event's
// jobs are written by the outbox's own writer thread, on a connection of its own to the
// database file, the moment the SIP thread hands it over. A store in memory cannot be shared
// with a second connection: its jobs are written by the I/O thread. In memory because the
// database of store.path (or store.postgresql) could not be opened is an alarm (the alerts
// would not survive a restart); without either it is the configuration's choice. Null without a
// store.
std::unique_ptr<notify::Notifier> makeNotifier(Server& server, LocationService& locations,
                                               boost::asio::io_context& io,
                                               std::shared_ptr<const config::Config> cfg) {
  if (!locations.store()) return nullptr;
  notify::SipSender sip = [&server, &io](notify::SipMessageRequest r, notify::Done done) {
    auto shared = std::make_shared<notify::Done>(std::move(done));
    const bool posted = server.post([r = std::move(r), shared, &io](B2bua& b) mutable {
      b.messages().send(r, [shared, &io](Result<void> result) {
        boost::asio::post(
            io, [shared, result = std::move(result)]() mutable { (*shared)(std::move(result)); });
      });
    });
    if (!posted) (*shared)(Error{"sip.down", "the SIP thread is not running"});
  };
  const std::string node = nodeName(*cfg);
  auto notifier =
      std::make_unique<notify::Notifier>(io, *locations.store(), std::move(cfg), std::move(sip));
  notify::Notifier::Outbox outbox;
  outbox.path = locations.store()->fileName();
  outbox.node = node;
  outbox.shared = store::Store::isPostgresql(outbox.path);
  // Beside the store's spool file: the responder alerts the outbox could not take, or, with the
  // outbox in memory (its database could not be opened), all the alerts of this run's calls.
  if (!locations.spoolFile().empty()) outbox.spool = locations.spoolFile() + ".alerts";
  if (!locations.openError().empty())
    outbox.problem = "the outbox's database could not be opened at start: " + locations.openError();
  notifier->setOutbox(std::move(outbox));
  return notifier;
}

// What the SIP thread hands over to be kept, written on the I/O thread so that a slow or locked
// database never holds up a call: ELIN -> caller mappings after each emergency call (reloaded
// here from the last run), and each call's record once its INVITE has an outcome (a record
// that cannot be written is still in the routing log), then shown to the dashboard's live
// calls. Both go in batches (proxy/batch_post.h): written kRecordBatch after the first of a
// batch, the call records in one transaction; the returned flush writes what waits (at a stop).
constexpr std::chrono::milliseconds kRecordBatch{100};

std::function<void()> connectStore(Server& server, LocationService& locations,
                                   boost::asio::io_context& io, LiveDashboard& live) {
  // Each set of mappings is the whole set: of a batch only the newest is written.
  using Mappings = std::vector<model::CallbackTarget>;
  auto elins = std::make_shared<BatchPost<Mappings>>(
      io, kRecordBatch, [&locations](std::vector<Mappings>& sets) {
        if (auto r = locations.saveElinMappings(sets.back()); !r.ok())
          spdlog::warn("ELIN callback mappings not saved: {}", r.error().message);
      });
  server.setElinPersistence([elins](Mappings m) { elins->add(std::move(m)); },
                            locations.loadElinMappings());
  // The entry and when the call's INVITE had its outcome; made a record on the I/O thread.
  using Ended = std::pair<RoutingLogEntry, int64_t>;
  auto batch = std::make_shared<BatchPost<Ended>>(
      io, kRecordBatch, [&locations, &live](std::vector<Ended>& ended) {
        std::vector<store::CallRecord> records;
        records.reserve(ended.size());
        for (const auto& [entry, endedAtMs] : ended)
          records.push_back(callRecordFrom(entry, endedAtMs));
        locations.saveCallRecords(records);
        for (const auto& record : records) live.record(record);
      });
  server.setCallRecordSink([batch](RoutingLogEntry e) {
    batch->add(Ended{std::move(e), unixMsNow()});
  });
  return [batch, elins] {
    elins->flush();
    batch->flush();
  };
}

// This node's new share of the ELIN pools (on the SIP thread), and a warning naming the pools
// too small to give it an ELIN of its own (routing::poolsWithoutShare).
void applyElinShare(B2bua& b, routing::ElinShare share) {
  b.plannerState().setElinShare(share);
  const auto& snapshot = b.plannerState().locations();
  if (!snapshot) return;
  const auto pools = routing::poolsWithoutShare(snapshot->data().locations, share);
  if (pools.empty()) return;
  std::string list;
  for (const auto& p : pools) {
    list += (list.empty() ? "" : ", ") + p.location->key + " (" + std::to_string(p.elins) + ")";
  }
  spdlog::warn(
      "ELIN pools: node {} of {} has no ELIN of its own at {} location(s), ELINs in brackets: {}; "
      "two callers at one of them through two nodes at once may be shown one ELIN; give each "
      "pool {} ELINs or more",
      share.index + 1, share.count, pools.size(), list, share.count);
}

// Other processes' and nodes' changes to the store (store_watch.h); device reports and ELIN
// mappings another node saved go to the SIP thread's planner as this node's own do.
std::unique_ptr<StoreWatch> watchStore(boost::asio::io_context& io, LocationService& locations,
                                       Server& server, const config::Config& cfg) {
  const bool shared = cfg.store.backend == config::StoreBackend::Postgresql;
  return std::make_unique<StoreWatch>(
      io, locations, shared ? cfg.store.postgresql : "",
      [&server](const model::DeviceReport& r) {
        server.post([r](B2bua& b) { b.plannerState().addReport(r); });
      },
      [&server](std::vector<model::CallbackTarget> m) {
        server.post([m = std::move(m)](B2bua& b) mutable {
          b.plannerState().mergeCallbacks(std::move(m));
        });
      },
      nodeName(cfg),
      [&server](routing::ElinShare share) {
        server.post([share](B2bua& b) { applyElinShare(b, share); });
      });
}

// The admin port and the phones' own listener (admin.device_listen), when configured.
struct Listeners {
  std::unique_ptr<admin::HttpServer> admin;
  std::unique_ptr<admin::HttpServer> device;
};
std::optional<Listeners> openListeners(boost::asio::io_context& io, const config::Config& cfg,
                                       admin::AdminRoutes& routes,
                                       admin::AdminRoutes& deviceRoutes) {
  Listeners l;
  if (!cfg.admin.enabled) return l;
  // HTTPS on both when admin.tls is set (issue 20); the configuration refused plain HTTP beyond
  // loopback unless admin.allow_plain_http.
  std::optional<admin::TlsFiles> tls;
  if (cfg.admin.https()) tls = admin::TlsFiles{cfg.admin.tls.certFile, cfg.admin.tls.keyFile};
  try {
    l.admin = std::make_unique<admin::HttpServer>(
        io, cfg.admin.address, cfg.admin.port,
        [&routes](const admin::HttpRequest& r) { return routes.handle(r); }, tls);
    if (cfg.admin.devicePort != 0) {
      l.device = std::make_unique<admin::HttpServer>(
          io, cfg.admin.deviceAddress, cfg.admin.devicePort,
          [&deviceRoutes](const admin::HttpRequest& r) { return deviceRoutes.handle(r); }, tls);
    }
  } catch (const std::exception& e) {
    std::cerr << "sosproxy: " << e.what() << "\n";
    return std::nullopt;
  }
  return l;
}

// SIGHUP, on the I/O thread: the configuration, the admin server's certificate and the SIP TLS
// transport's (a renewed one takes effect for connections made from then on).
void reloadAll(ConfigReloader& reloader, Listeners& l, Server& server) {
  (void)reloader.reload();
  server.reloadSipTls();
  for (auto* server : {l.admin.get(), l.device.get()}) {
    if (server == nullptr || !server->https()) continue;
    if (auto error = server->reloadTls()) {
      spdlog::error("admin HTTPS: keeping the certificate in use: {}", *error);
    } else {
      spdlog::info("admin HTTPS: certificate and key read again");
    }
  }
}

void printReady(const Options& opts, const config::Config& cfg, const Server& server,
                const Listeners& l) {
  std::cout << "sosproxy ready: SIP on " << server.listening();
  const char* scheme = cfg.admin.https() ? "https://" : "http://";
  if (l.admin) std::cout << "; admin " << scheme << cfg.admin.address << ":" << l.admin->port();
  if (l.device) {
    std::cout << "; device reports " << scheme << cfg.admin.deviceAddress << ":"
              << l.device->port();
  }
  std::cout << "; config " << opts.configPath << "; routing log "
            << (cfg.logging.routingLog == "-" ? "standard output" : cfg.logging.routingLog)
            << std::endl;
}

// The I/O thread finishes what is queued (the last ELIN mappings and call records, and what a
// database away kept) and stops before the SIP thread, so nothing is posted to a SIP thread that
// is going away. Alert jobs still pending stay in the outbox for the next start.
void stopIo(boost::asio::io_context& io,
            boost::asio::executor_work_guard<boost::asio::io_context::executor_type>& work,
            std::thread& ioThread, std::unique_ptr<notify::Notifier>& notifier, LiveDashboard& live,
            const std::function<void()>& flushRecords, LocationService& locations) {
  std::promise<void> drained;
  boost::asio::post(io, [&drained, &notifier, &live, &flushRecords, &locations] {
    flushRecords();
    locations.stopping();
    live.stop();
    if (notifier) notifier->stop();
    drained.set_value();
  });
  drained.get_future().wait_for(std::chrono::seconds(5));
  work.reset();
  io.stop();
  ioThread.join();
}

// The process once its configuration is loaded and its logs are open: the SIP thread, the
// location data, the I/O thread with the admin server, until a stop signal.
int serve(const Options& opts, const std::shared_ptr<const config::Config>& cfg,
          const std::shared_ptr<const routing::Router>& router, RoutingLog& routingLog,
          QueuedSink& console) {
  // Readiness and the watchdog for systemd (Type=notify); nothing outside it. Declared before
  // the Server, whose SIP thread pings through it, so that it outlives that thread.
  const SystemdNotifier systemd = SystemdNotifier::fromEnvironment();
  Server server(cfg, router, routingLog);
  server.setSystemd(&systemd);
  // Location data: loaded before the first call; later snapshots come from the I/O thread.
  LocationService locations(cfg,
                            [&server](const std::shared_ptr<const routing::LocationSnapshot>& s) {
                              server.post([s](B2bua& b) { b.setLocations(s); });
                            });
  locations.start();
  server.setInitialLocations(locations.snapshot());
  // The I/O thread: admin API, configuration reloads, the store writer, the notifier.
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::unique_ptr<notify::Notifier> notifier = makeNotifier(server, locations, io, cfg);
  // The SIP thread posts an event once the INVITE toward the PSAP has left; the call never waits.
  server.setEventSink([&notifier](notify::CallEvent e) {
    if (notifier) notifier->post(std::move(e));
  });
  // The dashboard's live calls (issue 18), fed by the SIP thread without waiting.
  LiveDashboard live(io, server, notifier.get(), locations.store());
  std::shared_ptr<const config::Config> current = cfg;
  Running run{server, locations, io, notifier, current, routingLog, console};
  run.live = &live.calls();
  // Reloads run on the I/O thread only (SIGHUP is posted there, the admin API runs there), so
  // two never overlap and none runs on the SIP thread.
  ConfigReloader reloader(
      opts.configPath, opts.overrides, cfg,
      ConfigReloader::Apply{
          [&server](std::shared_ptr<const routing::Router> r) {
            if (!server.setRouter(std::move(r)))
              spdlog::warn("the SIP thread has not taken the reloaded routing yet");
          },
          [&run](std::shared_ptr<const config::Config> c) { applyConfig(run, std::move(c)); }});
  run.reloader = &reloader;
  std::unique_ptr<AdminApis> apis = makeAdminApis(run);
  admin::AdminRoutes::Handlers handlers = adminHandlers(run, *apis);
  admin::AdminRoutes deviceRoutes(handlers, deviceSettings(*cfg));
  admin::AdminRoutes routes(std::move(handlers), adminSettings(*cfg));
  run.routes = &routes;
  run.deviceRoutes = &deviceRoutes;
  std::optional<Listeners> http = openListeners(io, *cfg, routes, deviceRoutes);
  if (!http) return 1;
  const std::function<void()> flushRecords = connectStore(server, locations, io, live);
  connectTestCalls(server, locations, io, notifier);  // scheduled test calls (issue 21)
  if (auto error = server.start()) {
    std::cerr << "sosproxy: " << *error << "\n";
    return 1;
  }
  if (http->admin) http->admin->start();
  if (http->device) http->device->start();
  // Alerts a previous run left pending go out first (nothing is lost to a crash).
  if (notifier) boost::asio::post(io, [&notifier] { notifier->start(); });
  auto watch = watchStore(io, locations, server, *cfg);
  watch->start();
  live.start();
  std::thread ioThread([&io] { io.run(); });
  printReady(opts, *cfg, server, *http);
  // After the ready line: the SIP sockets listen and the admin server accepts.
  systemd.notify("READY=1\nSTATUS=SIP on " + server.listening());

  int status = waitForStopSignal([&io, &reloader, &routingLog, &http, &server] {
    routingLog.reopen();  // logrotate: the writer thread opens the file by its name again
    boost::asio::post(io, [&reloader, &http, &server] { reloadAll(reloader, *http, server); });
  });
  systemd.notify("STOPPING=1");
  server.health().setStopping();
  drain(server, cfg->limits.drainSeconds);
  if (http->admin) http->admin->stop();
  stopIo(io, work, ioThread, notifier, live, flushRecords, locations);
  server.stop();
  // No event comes any more (the SIP thread is gone): the outbox writer writes what it still
  // holds and its thread ends, before the loggers it logs to go away.
  notifier.reset();
  return status;
}

}  // namespace

int runApp(int argc, char** argv) {
  if (auto done = runSubcommand(argc, argv)) return *done;
  Options opts;
  if (auto done = parseOptions(argc, argv, opts)) return *done;
  if (opts.command == "print-config") return printConfig(opts);
  // The same function reads the file again on SIGHUP, overrides included.
  auto loaded = loadRunnable(opts.configPath, opts.overrides);
  if (!loaded.ok()) {
    std::cerr << loaded.error().message << "\n";
    return 2;
  }
  auto cfg = loaded.value().config;
  auto router = loaded.value().router;
  if (opts.command == "check-config") return checkConfig(opts, *cfg, *router);

  Console console = startConsole(*cfg, *router);
  std::unique_ptr<RoutingLog> routingLog;
  try {
    routingLog = std::make_unique<RoutingLog>(cfg->logging.routingLog, cfg->logging.format);
  } catch (const std::exception& e) {
    std::cerr << "sosproxy: cannot open the routing log: " << e.what() << "\n";
    return 2;
  }
  blockStopSignals();
  su_init();
  // P-Asserted-Identity and the other extension headers parse only with the extended class.
  sip_update_default_mclass(sip_extend_mclass(nullptr));
  const int status = serve(opts, cfg, router, *routingLog, *console.sink);
  su_deinit();
  spdlog::shutdown();
  // The logger's last reference is this thread's own, dropped after every other thread's (the
  // log writers take the logger too); its sink's writer writes the queued lines and ends when
  // `console` goes.
  console.logger.reset();
  return status;
}

}  // namespace sos::proxy
