#include "proxy/store_watch.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <random>
#include <utility>
#include <vector>

#include "base/clock.h"

namespace sos::proxy {

StoreWatch::StoreWatch(boost::asio::io_context& io, LocationService& locations,
                       std::string postgresql, ReportSink reports, ElinSink elins, std::string node,
                       ShareSink share)
    : io_(io),
      timer_(io),
      locations_(locations),
      postgresql_(std::move(postgresql)),
      reports_(std::move(reports)),
      elins_(std::move(elins)),
      node_(std::move(node)),
      instance_(makeInstance()),
      startedAtMs_(unixMsNow()),
      share_(std::move(share)) {}

StoreWatch::~StoreWatch() {
  if (socket_) socket_->release();
}

void StoreWatch::start() {
  if (!postgresql_.empty()) openFeed();
  scheduleCheck();
}

void StoreWatch::scheduleCheck() {
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) check();
  });
}

void StoreWatch::check() {
  // The store's own connection is the probe (a reconnection that never blocks for long): the
  // feed, whose connection is made in one go, is opened again only once the store is back.
  locations_.checkStore();
  if (!postgresql_.empty() && !feed_ && locations_.counters().storeUp.load() == 1) openFeed();
  // What could not be written while the database was away; then the backstop: a notification
  // missed while the feed was down is a version seen here.
  locations_.retryUnsaved();
  locations_.rebuildIfChanged();
  if (!postgresql_.empty() && share_ && locations_.counters().storeUp.load() == 1) heartbeat();
  scheduleCheck();
}

void StoreWatch::heartbeat() {
  store::Store* db = locations_.store();
  if (db == nullptr) return;
  measureClock(*db);
  const auto nowMs = sharedMsNow();
  auto alive = db->heartbeatNode(node_, instance_, nowMs, kNodeAliveMs);
  if (!alive.ok()) {
    spdlog::warn("node {} not said alive ({}): its share of the ELIN pools stays as it was", node_,
                 alive.error().message);
    return;
  }
  // Another process heard from since this one started: a node restarted within the window
  // finds its previous process's last word, older than its own start, and that is no clash.
  if (!alive.value().otherInstance.empty() &&
      alive.value().otherSeenAtMs >= startedAtMs_ + sharedClockOffsetMs())
    nameClash(alive.value(), nowMs);
  const auto& names = alive.value().alive;
  const auto me = std::find(names.begin(), names.end(), node_);
  if (me == names.end()) return;  // not read back: a clock far behind the others'
  const routing::ElinShare share{static_cast<int>(me - names.begin()),
                                 static_cast<int>(names.size())};
  if (lastShare_ == share) return;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  spdlog::info(
      "ELIN pools: node {} is {} of {} nodes alive ({}); it hands out the ELINs at positions {}, "
      "{}, ... of each pool before the others",
      node_, share.index + 1, share.count, list, share.index + 1, share.index + 1 + share.count);
  lastShare_ = share;
  share_(share);
}

// The database server's clock against this host's: the offset every node applies is its own to
// the one server, so all of them agree on the time within a round trip.
void StoreWatch::measureClock(store::Store& db) {
  const int64_t before = unixMsNow();
  auto server = db.databaseClockMs();
  if (!server.ok()) return;  // the last offset stays
  const int64_t offset = clockOffsetMs(before, server.value(), unixMsNow());
  setSharedClockOffsetMs(offset);
  locations_.counters().clockOffsetMs = offset;
  if (std::abs(offset - loggedOffsetMs_) < kClockLogStepMs) return;
  if (std::abs(offset) < kClockLogStepMs) {
    spdlog::info("clock: this host's clock agrees with the database server's again ({} ms)",
                 offset);
  } else {
    spdlog::warn(
        "clock: this host's clock is {} ms {} the database server's; heartbeats, alert claims and "
        "escalations use the server's time",
        std::abs(offset), offset > 0 ? "behind" : "ahead of");
  }
  loggedOffsetMs_ = offset;
}

// Another process says it is this node: the two share each other's claims on alerts and one
// share of the ELIN pools, so two callers at one place may be shown one ELIN. Calls go on as
// before; the log says so once a minute until it stops.
void StoreWatch::nameClash(const store::Store::NodeHeartbeat& beat, int64_t nowMs) {
  ++locations_.counters().nodeNameClashes;
  if (lastClashLogMs_ && nowMs - *lastClashLogMs_ < kClashLogEveryMs) return;
  lastClashLogMs_ = nowMs;
  spdlog::error(
      "ALARM: store.node_name {} is used by another process too ({}, heard from {} ms ago; this "
      "one is {}): the two share their claims on alerts and their share of the ELIN pools; give "
      "each node a store.node_name of its own",
      node_, beat.otherInstance, nowMs - beat.otherSeenAtMs, instance_);
}

std::string StoreWatch::makeInstance() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  std::random_device random;
  return fmt::format("{} pid {} {:08x}", host.data(), getpid(), random());
}

void StoreWatch::openFeed() {
  std::string error;
  feed_ = store::ChangeFeed::open(postgresql_, &error);
  if (!feed_) {
    if (!feedFailing_) {
      spdlog::warn(
          "store change feed not open ({}): other nodes' changes are seen within a "
          "second instead",
          error);
    }
    feedFailing_ = true;
    return;
  }
  if (feedFailing_) spdlog::info("store change feed open again");
  feedFailing_ = false;
  socket_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, feed_->socket());
  waitForFeed();
  catchUp();
}

// What was written while no feed listened (before the first, or while one was lost): the
// version check finds a data change; reports after the last one handed over are read by id;
// the ELIN mappings are read whole.
void StoreWatch::catchUp() {
  locations_.rebuildIfChanged();
  store::Store* db = locations_.store();
  if (db == nullptr) return;
  if (!lastReportId_) {
    // The first feed: the snapshot holds the reports so far.
    if (auto last = db->lastReportId(); last.ok()) lastReportId_ = last.value();
    return;
  }
  if (auto missed = db->reportsAfter(*lastReportId_, kCatchUpReports); missed.ok()) {
    for (const auto& [id, report] : missed.value()) handOver(id, report);
  }
  ++locations_.counters().storeElinReads;
  elins_(locations_.loadElinMappings());
}

void StoreWatch::handOver(int64_t id, const model::DeviceReport& report) {
  ++locations_.counters().storeReportsHeard;
  if (!lastReportId_ || id > *lastReportId_) lastReportId_ = id;
  reports_(report);
}

void StoreWatch::waitForFeed() {
  socket_->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                      [this](const boost::system::error_code& ec) {
                        if (ec == boost::asio::error::operation_aborted || !feed_) return;
                        readFeed();
                      });
}

void StoreWatch::readFeed() {
  std::vector<store::ChangeFeed::Change> changes;
  std::string error;
  if (!feed_->take(changes, &error)) {
    dropFeed(error);
    return;
  }
  bool data = false;
  bool elins = false;
  for (const auto& c : changes) {
    ++locations_.counters().storeChangesHeard;
    if (c.channel == store::kDataChannel) data = true;
    if (c.channel == store::kElinChannel) elins = true;
    if (c.channel != store::kReportsChannel || !locations_.store()) continue;
    char* end = nullptr;
    const long long id = std::strtoll(c.payload.c_str(), &end, 10);
    if (end == c.payload.c_str()) continue;
    auto report = locations_.store()->reportById(id);
    if (report.ok() && report.value()) {
      handOver(id, *report.value());
    } else if (!report.ok()) {
      spdlog::warn("device report {} another node saved not read: {}", id, report.error().message);
    }
  }
  if (data) locations_.rebuildIfChanged();
  if (elins) {
    // A handful of rows (one per ELIN in use); several notifications read them once.
    ++locations_.counters().storeElinReads;
    elins_(locations_.loadElinMappings());
  }
  waitForFeed();
}

void StoreWatch::dropFeed(const std::string& why) {
  ++locations_.counters().storeFeedLosses;
  spdlog::warn("store change feed lost ({}); opened again at the next check, within a second", why);
  if (socket_) {
    socket_->cancel();
    socket_->release();
    socket_.reset();
  }
  feed_.reset();
}

}  // namespace sos::proxy
