// GET /metrics: the Prometheus text carries each counter under its documented name with the
// value it had, including the log lines each log lost.

#include "proxy/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace sos::proxy {
namespace {

bool hasSample(std::string const& text, std::string const& sample) {
  return text.find("\n" + sample + "\n") != std::string::npos;
}

TEST(Metrics, CountersAppearWithTheirValues) {
  B2buaCounters calls;
  calls.calls = 5;
  calls.emergencyCalls = 2;
  calls.active = 1;
  LocationCounters locations;
  ReloadCounters reloads;
  std::string const text = prometheusText(calls, locations, reloads, LogLoss{3, 7, 0});
  EXPECT_TRUE(hasSample(text, "sosproxy_calls_total 5")) << text;
  EXPECT_TRUE(hasSample(text, "sosproxy_emergency_calls_total 2"));
  EXPECT_TRUE(hasSample(text, "sosproxy_active_calls 1"));
  EXPECT_TRUE(hasSample(text, "sosproxy_routing_log_dropped_total 3"));
  EXPECT_TRUE(hasSample(text, "sosproxy_log_dropped_total 7"));
  EXPECT_TRUE(hasSample(text, "sosproxy_routing_log_reopen_failures_total 0"));
  EXPECT_NE(text.find("# TYPE sosproxy_log_dropped_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("\nsosproxy_heap_in_use_bytes "), std::string::npos);
  EXPECT_EQ(text.find("sosproxy_alerts_queued_total"), std::string::npos)
      << "no alert counters when alerts are not running";
}

}  // namespace
}  // namespace sos::proxy
