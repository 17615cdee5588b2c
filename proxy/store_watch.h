#pragma once
// Location data changed by another process or node reaches this one's snapshot on the I/O
// thread: the store's data version is read once a second (the CLI's import, issue 16; any
// engine), and with PostgreSQL the store's change feed (store/change_feed.h, issue 22) says so
// at the other node's commit, so the rebuild starts within milliseconds. Device reports another
// node saved come the same way, read by their id and handed to `reports` (the SIP thread's
// planner); when a lost feed is open again, the reports saved meanwhile are read too. So do
// ELIN callback mappings (all of the store's, handed to `elins`, which
// merges them: a PSAP may call an ELIN back through any node). With PostgreSQL each check also
// says this node is alive (Store::heartbeatNode) and hands its share of the ELIN pools among the
// nodes heard from in the last kNodeAliveMs to `share` when it changes (routing::ElinShare); while
// the database is away the last share stays. A feed that cannot be opened, or is
// lost, leaves the once-a-second check in force; it is opened again at a later check, with a log
// line either way. Another process saying it is this node (one store.node_name given to two)
// is an ALARM once a minute and a count (nodeNameClashes). Before each heartbeat it reads the
// database server's clock and makes the offset of this host's the shared clock's
// (base/clock.h: sharedMsNow), logging it when it moves by kClockLogStepMs or more.

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/callback.h"
#include "model/location.h"
#include "proxy/location_service.h"
#include "routing/elin.h"
#include "store/change_feed.h"
#include "store/store.h"

namespace sos::proxy {

class StoreWatch {
 public:
  using ReportSink = std::function<void(const model::DeviceReport&)>;
  using ElinSink = std::function<void(std::vector<model::CallbackTarget>)>;
  using ShareSink = std::function<void(routing::ElinShare)>;
  // `postgresql`: the store's connection URI ("" for SQLite: the version check only); `node`:
  // this node's store.node_name.
  StoreWatch(boost::asio::io_context& io, LocationService& locations, std::string postgresql,
             ReportSink reports, ElinSink elins, std::string node = "", ShareSink share = {});
  ~StoreWatch();
  StoreWatch(const StoreWatch&) = delete;
  StoreWatch& operator=(const StoreWatch&) = delete;

  // The first check in a second; the feed at once. Counts go to the service's counters
  // (storeChangesHeard, storeReportsHeard, storeFeedLosses).
  void start();

 private:
  void scheduleCheck();
  void check();
  void openFeed();
  void waitForFeed();
  void readFeed();
  void dropFeed(const std::string& why);
  void catchUp();
  void handOver(int64_t id, const model::DeviceReport& report);
  void heartbeat();
  void nameClash(const store::Store::NodeHeartbeat& beat, int64_t nowMs);
  void measureClock(store::Store& db);
  static std::string makeInstance();
  // A node not heard from for this long is no longer given a share of the ELIN pools.
  static constexpr int64_t kNodeAliveMs = 5000;
  static constexpr int64_t kClashLogEveryMs = 60'000;
  static constexpr int64_t kClockLogStepMs = 1000;
  // Reports read at once when a feed opens again; older ones missed are left to the next
  // snapshot (a feed away for that long is a database away for that long).
  static constexpr size_t kCatchUpReports = 10000;

  boost::asio::io_context& io_;
  boost::asio::steady_timer timer_;
  LocationService& locations_;
  std::string postgresql_;
  ReportSink reports_;
  ElinSink elins_;
  std::string node_;
  std::string instance_;        // this process, as the nodes table says who spoke for node_ last
  int64_t startedAtMs_;         // when this watch was made (the process's start, near enough)
  int64_t loggedOffsetMs_ = 0;  // the clock offset last logged (0: none logged)
  ShareSink share_;
  std::optional<int64_t> lastClashLogMs_;
  std::optional<routing::ElinShare> lastShare_;
  std::unique_ptr<store::ChangeFeed> feed_;
  // Waits on the feed's socket; libpq owns the descriptor (released, never closed, here).
  std::unique_ptr<boost::asio::posix::stream_descriptor> socket_;
  bool feedFailing_ = false;             // the last try failed: logged once until one succeeds
  std::optional<int64_t> lastReportId_;  // the newest report handed over (or in the snapshot)
};

}  // namespace sos::proxy
