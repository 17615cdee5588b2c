#pragma once
// When each scheduled test call is due (issue 21): every site's trunks, one interval after their
// last test. Pure: no Sofia, no clock of its own (the time is passed in, Unix ms), so the rules
// are table-tested without real time. Kept by the TestCaller on the SIP thread.
//
// - A test never tried before (and, after a start, one overdue) waits min(kSettleMs, interval)
//   after the start: the probes and the location data are in place by then.
// - A trunk has one test call at a time: the other sites' tests of it wait for its outcome.
// - While sosproxy is busy (ordinary calls shed, or draining) nothing is placed: each test due
//   waits min(kPostponeMs, interval) and is tried again, so it never takes capacity from an
//   emergency call.
// - A reloaded configuration keeps the last test time of the tests it still has.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"

namespace sos::proxy {

class TestSchedule {
 public:
  static constexpr int64_t kSettleMs = 10000;
  static constexpr int64_t kPostponeMs = 30000;

  // `startMs`: when sosproxy started (the settle time counts from it).
  explicit TestSchedule(int64_t startMs) : startMs_(startMs) {}

  // When a site's trunk was last tested (from the store, before the first configure()).
  void restore(const std::string& site, const std::string& trunk, int64_t lastTestAtMs);
  // The tests from now on: those of an earlier configuration that are still there keep their
  // last test time (and a test in flight stays in flight).
  void configure(const std::vector<config::TestCallTarget>& targets);

  struct Due {
    std::vector<config::TestCallTarget> place;  // now in flight
    size_t postponed = 0;                       // due, but put off because sosproxy is busy
  };
  // The tests due at `nowMs`. With `busy`, none is placed.
  Due due(int64_t nowMs, bool busy);
  // A test placed by due() has its outcome (or could not be placed): it is due again one
  // interval after `startedAtMs`.
  void finished(const std::string& site, const std::string& trunk, int64_t startedAtMs);

  size_t size() const { return tests_.size(); }
  // When the test is next due (Unix ms), 0 when it is not scheduled; for tests.
  int64_t dueAt(const std::string& site, const std::string& trunk) const;

 private:
  struct Test {
    config::TestCallTarget target;
    int64_t lastAtMs = 0;  // 0: never
    int64_t dueAtMs = 0;
    bool inFlight = false;
  };
  using Key = std::pair<std::string, std::string>;  // site, trunk
  int64_t firstDue(const Test& t) const;

  int64_t startMs_;
  std::map<Key, Test> tests_;
  std::map<Key, int64_t> restored_;  // last test times not yet taken by a configuration
};

}  // namespace sos::proxy
