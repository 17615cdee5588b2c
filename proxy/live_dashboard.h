#pragma once
// The dashboard's live calls and trunks (issue 18), the proxy's side of admin::LiveCalls:
// LivePump, on the I/O thread, takes what the SIP thread queued (proxy/live_feed.h, the Server's)
// every 100 ms into admin::LiveCalls, tells it when a trunk changed (SipHealth's trunks, handed
// over by the SIP thread's heartbeat) and when events were lost, and flushes the changes to the
// browsers following them. The calls' alerts come from the notifier, their outcomes from their
// records.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "admin/live_calls.h"
#include "admin/ops_api.h"
#include "notify/event.h"
#include "notify/notifier.h"
#include "proxy/health.h"
#include "proxy/live_feed.h"
#include "proxy/server.h"
#include "store/store.h"

namespace sos::proxy {

// The dashboard's view of a call event and of a change to its alerts.
admin::LiveCallEvent liveEvent(const notify::CallEvent& e, bool refused);
void applyAlertChange(admin::LiveCalls& calls, const notify::AlertChange& c);
// What /api/v1/trunks adds to up and down, from what the SIP thread handed over.
std::vector<admin::TrunkFacts> trunkFacts(const std::vector<TrunkStatus>& trunks);
// The most recent emergency calls of earlier runs (from the store's call records and alerts),
// so that a restart does not empty the dashboard's list. At start, before the I/O thread runs.
void seedLiveCalls(admin::LiveCalls& calls, store::Store& db, size_t count);

// Every 100 ms on the I/O thread: the SIP thread's events into `calls`, trunk changes, lost
// events, then a flush to the browsers.
class LivePump {
 public:
  LivePump(boost::asio::io_context& io, LiveFeed& feed, admin::LiveCalls& calls,
           const SipHealth& health);
  void start();
  void stop();
  // Takes what the SIP thread has queued now (before a call's record, which comes another way,
  // is applied: its events first).
  void drain();

  static constexpr std::chrono::milliseconds kEvery{100};

 private:
  void tick();

  boost::asio::steady_timer timer_;
  LiveFeed& feed_;
  admin::LiveCalls& calls_;
  const SipHealth& health_;
  uint64_t trunksVersion_ = 0;
  uint64_t lostSeen_ = 0;
  bool stopped_ = false;
};

// The dashboard's live calls over the running process: the calls and their pump. Built on the
// main thread before the SIP and I/O threads run: the calls take the server's feed and trunks,
// the notifier's alert changes (if any), and the store's most recent emergency calls (if any).
class LiveDashboard {
 public:
  LiveDashboard(boost::asio::io_context& io, Server& server, notify::Notifier* notifier,
                store::Store* db);
  // I/O thread: a call's record, after the events the SIP thread queued before it.
  void record(const store::CallRecord& r) {
    pump_.drain();
    calls_.record(r);
  }
  void start() { pump_.start(); }
  void stop() { pump_.stop(); }  // I/O thread
  admin::LiveCalls& calls() { return calls_; }

  static constexpr size_t kSeeded = 50;  // emergency calls of earlier runs shown at start

 private:
  admin::LiveCalls calls_;
  LivePump pump_;
};

}  // namespace sos::proxy
