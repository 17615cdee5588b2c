// When each scheduled test call is due (test_schedule.h).

#include "proxy/test_schedule.h"

#include <algorithm>
#include <set>

namespace sos::proxy {

void TestSchedule::restore(const std::string& site, const std::string& trunk,
                           int64_t lastTestAtMs) {
  restored_[{site, trunk}] = lastTestAtMs;
}

// One interval after the last test, but never before the settle time after the start.
int64_t TestSchedule::firstDue(const Test& t) const {
  const int64_t settled = startMs_ + std::min(kSettleMs, t.target.intervalMs);
  return t.lastAtMs == 0 ? settled : std::max(t.lastAtMs + t.target.intervalMs, settled);
}

void TestSchedule::configure(const std::vector<config::TestCallTarget>& targets) {
  std::map<Key, Test> next;
  for (const auto& target : targets) {
    Key key{target.site, target.trunk};
    Test t;
    if (auto it = tests_.find(key); it != tests_.end()) {
      t = it->second;
    } else if (auto r = restored_.find(key); r != restored_.end()) {
      t.lastAtMs = r->second;
    }
    t.target = target;
    if (!t.inFlight) t.dueAtMs = firstDue(t);
    next[key] = std::move(t);
  }
  // A test in flight whose target went stays until its outcome, so that its trunk has no second
  // test call meanwhile; it is not placed again.
  for (auto& [key, t] : tests_) {
    if (t.inFlight && next.find(key) == next.end()) {
      t.target.intervalMs = 0;
      next[key] = t;
    }
  }
  tests_ = std::move(next);
  restored_.clear();
}

TestSchedule::Due TestSchedule::due(int64_t nowMs, bool busy) {
  Due out;
  std::set<std::string> busyTrunks;
  for (const auto& [key, t] : tests_)
    if (t.inFlight) busyTrunks.insert(t.target.trunk);
  for (auto& [key, t] : tests_) {
    if (t.inFlight || t.target.intervalMs <= 0 || t.dueAtMs > nowMs) continue;
    if (busy) {
      t.dueAtMs = nowMs + std::min(kPostponeMs, t.target.intervalMs);
      ++out.postponed;
      continue;
    }
    if (!busyTrunks.insert(t.target.trunk).second) continue;  // its trunk has a test going on
    t.inFlight = true;
    out.place.push_back(t.target);
  }
  return out;
}

void TestSchedule::finished(const std::string& site, const std::string& trunk,
                            int64_t startedAtMs) {
  auto it = tests_.find({site, trunk});
  if (it == tests_.end()) return;
  Test& t = it->second;
  t.inFlight = false;
  if (t.target.intervalMs <= 0) {  // no longer configured
    tests_.erase(it);
    return;
  }
  t.lastAtMs = startedAtMs;
  t.dueAtMs = startedAtMs + t.target.intervalMs;
}

int64_t TestSchedule::dueAt(const std::string& site, const std::string& trunk) const {
  auto it = tests_.find({site, trunk});
  return it == tests_.end() || it->second.target.intervalMs <= 0 ? 0 : it->second.dueAtMs;
}

}  // namespace sos::proxy
