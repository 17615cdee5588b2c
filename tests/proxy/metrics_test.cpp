// GET /metrics: the Prometheus text carries each counter under its documented name with the
// value it had, including the log lines each log lost.

#include "proxy/metrics.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "notify/notifier.h"

namespace sos::proxy {
namespace {

bool hasSample(const std::string& text, const std::string& sample) {
  return text.find("\n" + sample + "\n") != std::string::npos;
}

TEST(Metrics, CountersAppearWithTheirValues) {
  B2buaCounters calls;
  calls.calls = 5;
  calls.emergencyCalls = 2;
  calls.active = 1;
  LocationCounters locations;
  ReloadCounters reloads;
  const std::string text = prometheusText(calls, locations, reloads, LogLoss{3, 7, 0});
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

// Issue 21: the time sosproxy adds, as a histogram with cumulative buckets; each probed trunk's
// state as a labelled gauge.
TEST(Metrics, AddedLatencyIsAHistogramAndEachProbedTrunkHasItsGauge) {
  B2buaCounters calls;
  calls.added.observe(0.2);   // <= 0.25 ms
  calls.added.observe(0.3);   // <= 0.5 ms
  calls.added.observe(4000);  // past every bound
  LocationCounters locations;
  ReloadCounters reloads;
  const std::string text = prometheusText(calls, locations, reloads, LogLoss{}, nullptr, nullptr,
                                          nullptr, {{"il-psap-a", false}, {"il-psap-b", true}});
  EXPECT_NE(text.find("# TYPE sosproxy_invite_added_seconds histogram\n"), std::string::npos);
  EXPECT_TRUE(hasSample(text, "sosproxy_invite_added_seconds_bucket{le=\"0.00025\"} 1")) << text;
  EXPECT_TRUE(hasSample(text, "sosproxy_invite_added_seconds_bucket{le=\"0.0005\"} 2"));
  EXPECT_TRUE(hasSample(text, "sosproxy_invite_added_seconds_bucket{le=\"2.5\"} 2"));
  EXPECT_TRUE(hasSample(text, "sosproxy_invite_added_seconds_bucket{le=\"+Inf\"} 3"));
  EXPECT_TRUE(hasSample(text, "sosproxy_invite_added_seconds_sum 4.000500"));
  EXPECT_TRUE(hasSample(text, "sosproxy_invite_added_seconds_count 3"));
  EXPECT_TRUE(hasSample(text, "sosproxy_trunk_up{trunk=\"il-psap-a\"} 0"));
  EXPECT_TRUE(hasSample(text, "sosproxy_trunk_up{trunk=\"il-psap-b\"} 1"));
}

// Issue 21: PSAP answer time as a histogram; attempts by trunk and outcome, failovers by
// reason, emergency calls by site and location method as labelled counters.
TEST(Metrics, AttemptsFailoversAndEmergencyCallsCarryTheirLabels) {
  B2buaCounters calls;
  calls.psapAnswer.observe(800);    // <= 1 s
  calls.psapAnswer.observe(15000);  // <= 20 s
  calls.trunkAttempts.add("il-psap-a", "timeout");
  calls.trunkAttempts.add("il-psap-b", "answered");
  calls.trunkAttempts.add("il-psap-b", "answered");
  calls.failoverReasons.add("timeout");
  calls.emergencyBySite.add("HQ", "subnet");
  calls.emergencyBySite.add("London", "site-default");
  const std::string text =
      prometheusText(calls, LocationCounters{}, ReloadCounters{}, LogLoss{0, 0});
  for (const char* sample : {
           "sosproxy_psap_answer_seconds_bucket{le=\"0.5\"} 0",
           "sosproxy_psap_answer_seconds_bucket{le=\"1\"} 1",
           "sosproxy_psap_answer_seconds_bucket{le=\"20\"} 2",
           "sosproxy_psap_answer_seconds_count 2",
           "sosproxy_trunk_attempts_total{trunk=\"il-psap-a\",outcome=\"timeout\"} 1",
           "sosproxy_trunk_attempts_total{trunk=\"il-psap-b\",outcome=\"answered\"} 2",
           "sosproxy_failovers_total{reason=\"timeout\"} 1",
           "sosproxy_emergency_calls_by_location_total{site=\"HQ\",located_by=\"subnet\"} 1",
           "sosproxy_emergency_calls_by_location_total{site=\"London\",located_by=\"site-default\"}"
           " 1",
       })
    EXPECT_TRUE(hasSample(text, sample)) << sample << "\n" << text;
  EXPECT_NE(text.find("# TYPE sosproxy_failovers_total counter\n"), std::string::npos);
}

// Issue 21: scheduled test calls by trunk and outcome, and those put off while sosproxy was busy.
TEST(Metrics, TestCallsCarryTheirTrunkAndOutcome) {
  B2buaCounters calls;
  calls.testCalls.add("il-psap-a", "answered");
  calls.testCalls.add("il-psap-b", "rejected");
  calls.testCalls.add("il-psap-b", "rejected");
  calls.testCallsPostponed = 3;
  const std::string text =
      prometheusText(calls, LocationCounters{}, ReloadCounters{}, LogLoss{0, 0});
  for (const char* sample :
       {"sosproxy_test_calls_total{trunk=\"il-psap-a\",outcome=\"answered\"} 1",
        "sosproxy_test_calls_total{trunk=\"il-psap-b\",outcome=\"rejected\"} 2",
        "sosproxy_test_calls_postponed_total 3"})
    EXPECT_TRUE(hasSample(text, sample)) << sample << "\n" << text;
  EXPECT_NE(text.find("# TYPE sosproxy_test_calls_total counter\n"), std::string::npos);
}

// Issue 14: what the SIP edge refused, dropped and closed, under their documented names.
TEST(Metrics, EdgeCountersAppearWithTheirValues) {
  B2buaCounters calls;
  calls.edge.untrustedRefused = 54;
  calls.edge.untrustedDropped = 99945;
  calls.edge.untrustedEmergency = 1000;
  calls.edge.unknownScheme = 2;
  calls.edge.tcpConnections = 12;
  calls.edge.oversizeTrimmed = 1;
  calls.edge.descriptorLimit = 20000;
  const std::string text =
      prometheusText(calls, LocationCounters{}, ReloadCounters{}, LogLoss{0, 0});
  for (const char* sample :
       {"sosproxy_edge_untrusted_refused_total 54", "sosproxy_edge_untrusted_dropped_total 99945",
        "sosproxy_edge_untrusted_emergency_total 1000", "sosproxy_edge_unknown_scheme_total 2",
        "sosproxy_tcp_connections 12", "sosproxy_udp_oversize_trimmed_total 1",
        "sosproxy_descriptor_limit 20000", "sosproxy_edge_transaction_cap_total 0",
        "sosproxy_dns_refused_total 0", "sosproxy_admin_accept_errors_total 0",
        "sosproxy_sofia_log_suppressed_total 0"})
    EXPECT_TRUE(hasSample(text, sample)) << sample << "\n" << text;
  EXPECT_NE(text.find("# TYPE sosproxy_tcp_connections gauge\n"), std::string::npos);
}

// Issue 14: an alert failing past max_attempts and an outbox that could not be opened are alarms
// a scraper can see, as gauges.
TEST(Metrics, AlertAlarmsAreGauges) {
  notify::NotifyCounters alerts;
  alerts.failing = 2;
  alerts.pastMaxAttempts = 3;
  alerts.outboxUp = 0;
  alerts.notPersisted = 6;
  const std::string text =
      prometheusText(B2buaCounters{}, LocationCounters{}, ReloadCounters{}, LogLoss{}, &alerts);
  for (const char* sample :
       {"sosproxy_alert_jobs_failing 2", "sosproxy_alerts_past_max_attempts_total 3",
        "sosproxy_alerts_given_up_total 0", "sosproxy_alert_outbox_up 0",
        "sosproxy_alerts_not_persisted_total 6"})
    EXPECT_TRUE(hasSample(text, sample)) << sample << "\n" << text;
  EXPECT_NE(text.find("# TYPE sosproxy_alert_jobs_failing gauge\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE sosproxy_alert_outbox_up gauge\n"), std::string::npos);
}

// Issue 21: the Grafana dashboard in the repository is valid JSON, and every metric its queries
// name is one /metrics writes (a renamed metric would leave a panel empty without a word).
TEST(Metrics, TheGrafanaDashboardNamesOnlyMetricsThatExist) {
  std::ifstream file(std::string(SOS_SOURCE_DIR) + "/packaging/grafana/sosproxy-dashboard.json");
  ASSERT_TRUE(file) << "packaging/grafana/sosproxy-dashboard.json is missing";
  std::stringstream buffer;
  buffer << file.rdbuf();
  nlohmann::json dashboard = nlohmann::json::parse(buffer.str(), nullptr, false);
  ASSERT_FALSE(dashboard.is_discarded()) << "not JSON";
  ASSERT_TRUE(dashboard.contains("panels"));

  notify::NotifyCounters alerts;
  const std::string text = prometheusText(B2buaCounters{}, LocationCounters{}, ReloadCounters{},
                                          LogLoss{}, &alerts, nullptr, nullptr, {{"erc", true}});
  std::set<std::string> written;
  const std::regex type("# TYPE (sosproxy_[a-z_0-9]+) ([a-z]+)");
  for (std::sregex_iterator it(text.begin(), text.end(), type), end; it != end; ++it) {
    written.insert((*it)[1]);
    if ((*it)[2] == "histogram") written.insert(std::string((*it)[1]) + "_bucket");
  }
  const std::regex name("sosproxy_[a-z_0-9]+");
  size_t queries = 0;
  for (const auto& panel : dashboard["panels"]) {
    for (const auto& target : panel["targets"]) {
      const std::string expr = target["expr"];
      ++queries;
      for (std::sregex_iterator it(expr.begin(), expr.end(), name), end; it != end; ++it)
        EXPECT_TRUE(written.count(it->str())) << panel["title"] << ": " << it->str();
    }
  }
  EXPECT_GE(queries, 10u);
}

}  // namespace
}  // namespace sos::proxy
