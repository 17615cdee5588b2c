#pragma once
// The SIP thread: owns the Sofia root, the nta agent with its UDP/TCP transports, and the
// B2BUA. start() and stop() are called from the main thread; everything else runs on the SIP
// thread.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "config/config.h"
#include "notify/event.h"
#include "proxy/health.h"
#include "proxy/live_feed.h"
#include "proxy/routing_log.h"
#include "routing/elin.h"
#include "routing/location_resolver.h"
#include "routing/router.h"
#include "store/test_call.h"

struct su_root_s;

namespace sos::proxy {

class B2bua;
struct B2buaCounters;
class SipTlsTransport;
class SystemdNotifier;

class Server {
 public:
  Server(std::shared_ptr<const config::Config> config,
         std::shared_ptr<const routing::Router> router, RoutingLog& log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts the SIP thread and returns once it listens; or why it cannot (port in use, ...).
  std::optional<std::string> start();
  // Stops the SIP thread and waits for it. Safe to call twice.
  void stop();

  // The location snapshot calls start with (call before start()).
  void setInitialLocations(std::shared_ptr<const routing::LocationSnapshot> snapshot) {
    initialLocations_ = std::move(snapshot);
  }
  // ELIN mappings: where they are saved, and the ones saved before (call before start()).
  void setElinPersistence(std::function<void(std::vector<model::CallbackTarget>)> sink,
                          std::vector<model::CallbackTarget> initial) {
    elinSink_ = std::move(sink);
    initialElins_ = std::move(initial);
  }
  // Where each call's record goes when its INVITE has its outcome (the store, via the I/O
  // thread). Called on the SIP thread; must not block (call before start()).
  void setCallRecordSink(std::function<void(RoutingLogEntry)> sink) {
    recordSink_ = std::move(sink);
  }
  // Where emergency-call events go (responder alerts); same rules as the record sink.
  void setEventSink(std::function<void(notify::CallEvent)> sink) { eventSink_ = std::move(sink); }
  // Scheduled test calls (issue 21): where each result goes (the store, via the I/O thread; same
  // rules as the record sink), and each site's and trunk's last test before this start (call
  // before start()).
  void setTestCalls(std::function<void(store::TestCallResult)> sink,
                    std::vector<store::TestCallStatus> history) {
    testCallSink_ = std::move(sink);
    testCallHistory_ = std::move(history);
  }
  // Where the SIP thread queues every emergency call's events for the dashboard (issue 18);
  // the I/O thread drains it (proxy/live_dashboard.h).
  LiveFeed& liveFeed() { return liveFeed_; }
  // Runs `fn` on the SIP thread with the B2BUA. Any thread; false if the SIP thread is not
  // running (the closure is then dropped).
  bool post(std::function<void(B2bua&)> fn);

  // A reloaded configuration's Router for new calls. Any thread but the SIP thread: waits up
  // to `timeout` for the SIP thread to take it, so that a call arriving after this returns
  // true is routed with it. False: not taken yet (the SIP thread is busy or not running).
  bool setRouter(std::shared_ptr<const routing::Router> router,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

  // SIGHUP: listen.tls's certificate, key and CAs read again on the calling thread (not the SIP
  // thread) and put into the SIP TLS transport on the SIP thread (logged there). Nothing when
  // TLS is not listened on.
  void reloadSipTls();

  const B2buaCounters& counters() const { return *counters_; }
  // The SIP thread's heartbeat and the trunks it found down (/healthz, /readyz; issue 21).
  SipHealth& health() { return *health_; }
  // Where the heartbeat sends systemd's WATCHDOG=1, when a watchdog was asked for (call before
  // start(); `systemd` must outlive the Server).
  void setSystemd(const SystemdNotifier* systemd) { systemd_ = systemd; }

  // "udp:127.0.0.1:5060 tcp:127.0.0.1:5060"
  const std::string& listening() const { return listening_; }

 private:
  struct State;
  void run(const std::shared_ptr<State>& state);

  std::shared_ptr<const config::Config> config_;
  std::shared_ptr<const routing::Router> router_;
  RoutingLog& log_;
  std::shared_ptr<State> state_;
  std::thread thread_;
  std::string listening_;
  std::shared_ptr<const routing::LocationSnapshot> initialLocations_;
  std::unique_ptr<B2buaCounters> counters_;
  std::unique_ptr<SipHealth> health_;
  std::unique_ptr<SipTlsTransport> sipTls_;  // used on the SIP thread only
  LiveFeed liveFeed_;
  const SystemdNotifier* systemd_ = nullptr;
  std::function<void(std::vector<model::CallbackTarget>)> elinSink_;
  std::function<void(RoutingLogEntry)> recordSink_;
  std::function<void(notify::CallEvent)> eventSink_;
  std::function<void(store::TestCallResult)> testCallSink_;
  std::vector<store::TestCallStatus> testCallHistory_;
  std::vector<model::CallbackTarget> initialElins_;
};

}  // namespace sos::proxy
