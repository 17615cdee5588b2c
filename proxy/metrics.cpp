#include "proxy/metrics.h"

#include "admin/http_server.h"
#include "proxy/allocator.h"
#include "proxy/dns_guard.h"
#include "proxy/sip_tls.h"
#include "proxy/sofia_log.h"
#include "proxy/version.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace sos::proxy {

namespace {

template <class T>
void metric(std::string& out, const char* name, const char* type, const char* help,
            const std::atomic<T>& value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
         name + " " + std::to_string(value.load(std::memory_order_relaxed)) + "\n";
}

// A label value as the text format wants it: backslash, double quote and line feed escaped
// (a commit given to CMake by hand could hold anything).
std::string labelValue(std::string_view v) {
  std::string out;
  for (char ch : v) {
    if (ch == '\\' || ch == '"') out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += ch;
  }
  return out;
}

}  // namespace

namespace {

// The calls and what became of them (the SIP thread's counters).
void callMetrics(std::string& out, const B2buaCounters& c) {
  metric(out, "sosproxy_calls_total", "counter", "INVITEs that started a call", c.calls);
  metric(out, "sosproxy_emergency_calls_total", "counter", "emergency calls routed",
         c.emergencyCalls);
  metric(out, "sosproxy_rejected_calls_total", "counter",
         "calls refused by routing (483, 503 limits, 403 to a trunk address that is no callback)",
         c.rejected);
  metric(out, "sosproxy_answered_calls_total", "counter", "calls answered", c.answered);
  metric(out, "sosproxy_failed_calls_total", "counter", "calls that failed or timed out", c.failed);
  metric(out, "sosproxy_cancelled_calls_total", "counter", "calls the caller cancelled",
         c.cancelled);
  metric(out, "sosproxy_active_calls", "gauge", "calls in progress", c.active);
  metric(out, "sosproxy_calls_settled_total", "counter",
         "calls up longer than 64*T1 that let go of their set-up transactions", c.settled);
  metric(out, "sosproxy_location_fallbacks_total", "counter",
         "emergency calls placed at a site or account default location", c.locationFallbacks);
  metric(out, "sosproxy_elin_reused_live_total", "counter",
         "ELINs handed out while another caller's callback window was open", c.elinReusedLive);
  metric(out, "sosproxy_elin_fallbacks_total", "counter",
         "emergency calls whose location had no ELIN (site default or caller DID)",
         c.elinFallbacks);
  metric(out, "sosproxy_location_424_retries_total", "counter",
         "424 Bad Location Information answers retried with ELIN only", c.locationRetries424);
  metric(out, "sosproxy_psap_callbacks_to_caller_total", "counter",
         "PSAP callbacks routed to the caller who used the ELIN", c.callbacksToCaller);
  metric(out, "sosproxy_psap_callbacks_to_desk_total", "counter",
         "PSAP callbacks routed to a security desk", c.callbacksToDesk);
  metric(out, "sosproxy_emergency_degraded_total", "counter",
         "emergency calls routed without location because locating or PIDF-LO building failed",
         c.emergencyDegraded);
  metric(out, "sosproxy_device_location_unusable_total", "counter",
         "emergency calls whose own location (PIDF-LO or Geolocation) said nothing usable; "
         "sosproxy's PIDF-LO was added beside it",
         c.deviceLocationUnusable);
  metric(out, "sosproxy_sdp_shielded_total", "counter",
         "calls whose SDP had malformed lines left out, or was replaced by a minimal offer or none",
         c.sdpShielded);
  metric(out, "sosproxy_headers_dropped_total", "counter",
         "headers not relayed: malformed, oversized, or unknown and not on the allow-list",
         c.headersDropped);
  metric(
      out, "sosproxy_identity_not_vouched_total", "counter",
      "calls whose P-Asserted-Identity came from a source outside pbx_sources (ignored, removed)",
      c.identityNotVouched);
  metric(out, "sosproxy_network_mark_not_vouched_total", "counter",
         "calls whose P-Access-Network-Info said network-provided from a source outside "
         "network_sources (ignored, removed)",
         c.networkMarkNotVouched);
  metric(out, "sosproxy_trunk_skips_total", "counter",
         "trunks skipped on an emergency route because their OPTIONS probe said down",
         c.trunkSkips);
  metric(out, "sosproxy_trunk_probe_failures_total", "counter",
         "OPTIONS probes unanswered, refused with 503, or not sent", c.probeFailures);
  metric(out, "sosproxy_emergency_to_erc_total", "counter",
         "emergency calls sent to the ERC because the location was unknown or unconfirmed",
         c.ercOnly);
  metric(out, "sosproxy_ordinary_limited_total", "counter",
         "ordinary calls refused with 503 by the limits or because sosproxy was overloaded",
         c.ordinaryLimited);
  metric(out, "sosproxy_overloads_total", "counter",
         "times sosproxy began refusing ordinary calls because it could not keep up", c.overloads);
  metric(out, "sosproxy_sip_udp_kernel_drops_total", "counter",
         "datagrams the kernel dropped on the SIP UDP sockets: a full receive queue or INVITEs "
         "held back",
         c.gate.kernelDrops);
  metric(out, "sosproxy_invite_gate_closings_total", "counter",
         "times a long UDP receive queue made sosproxy drop a share of INVITEs before reading them",
         c.gate.closings);
  metric(out, "sosproxy_invite_gate_drop_per_mille", "gauge",
         "INVITE requests over UDP dropped before they are read now, per thousand (0 to 900)",
         c.gate.dropPermille);
}

// The time sosproxy adds to an INVITE (issue 21): cumulative buckets, as the text format wants
// them.
// A histogram in seconds: cumulative buckets, as the text format wants them.
void histogram(std::string& out, const char* name, const char* help, const Histogram& h) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t below = 0;
  for (size_t i = 0; i < h.boundsMs().size(); ++i) {
    below += h.bucket(i);
    char le[32];
    std::snprintf(le, sizeof le, "%g", h.boundsMs()[i] / 1000);
    out += std::string(name) + "_bucket{le=\"" + le + "\"} " + std::to_string(below) + "\n";
  }
  char sum[32];
  std::snprintf(sum, sizeof sum, "%.6f", static_cast<double>(h.sumUs()) / 1e6);
  out += std::string(name) + "_bucket{le=\"+Inf\"} " + std::to_string(h.count()) + "\n" + name +
         "_sum " + sum + "\n" + name + "_count " + std::to_string(h.count()) + "\n";
}

// A counter by label values: one line per combination seen (none before the first).
void labelled(std::string& out, const char* name, const char* help, const LabelledCounts& counts,
              const char* label, const char* secondLabel = nullptr) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
  for (const auto& [key, n] : counts.snapshot()) {
    out += std::string(name) + "{" + label + "=\"" + labelValue(key.first) + "\"";
    if (secondLabel) out += std::string(",") + secondLabel + "=\"" + labelValue(key.second) + "\"";
    out += "} " + std::to_string(n) + "\n";
  }
}

// The time sosproxy adds and the PSAPs take, each attempt's outcome, why calls failed over,
// emergency calls by site and location method (issue 21).
void callDetailMetrics(std::string& out, const B2buaCounters& c) {
  histogram(out, "sosproxy_invite_added_seconds",
            "the time sosproxy adds to a routed call: its INVITE in -> the INVITE toward a trunk "
            "out",
            c.added);
  histogram(out, "sosproxy_psap_answer_seconds",
            "how long PSAP trunks take to answer an emergency call: the INVITE out -> the 2xx in",
            c.psapAnswer);
  labelled(out, "sosproxy_trunk_attempts_total",
           "INVITEs toward each trunk by outcome (answered, refused, timeout, no-answer, "
           "unreachable, skipped while down, not-sent)",
           c.trunkAttempts, "trunk", "outcome");
  labelled(out, "sosproxy_failovers_total",
           "emergency calls moved to the next trunk of their route, by what the trunk before "
           "did (timeout, no-answer, refused, unreachable, not-sent)",
           c.failoverReasons, "reason");
  labelled(out, "sosproxy_emergency_calls_by_location_total",
           "emergency calls routed, by the caller's site and how the location was found",
           c.emergencyBySite, "site", "located_by");
  labelled(out, "sosproxy_test_calls_total",
           "scheduled test calls to each PSAP trunk by outcome (answered, rejected, timeout, "
           "transport-error)",
           c.testCalls, "trunk", "outcome");
  metric(out, "sosproxy_test_calls_postponed_total", "counter",
         "scheduled test calls put off because ordinary calls were shed or sosproxy was draining",
         c.testCallsPostponed);
}

void trunkMetrics(std::string& out, const B2buaCounters& c, const std::vector<TrunkState>& trunks) {
  metric(out, "sosproxy_trunks_down", "gauge", "probed trunks that are down now", c.trunksDown);
  if (!trunks.empty()) {
    out +=
        "# HELP sosproxy_trunk_up each probed trunk: 1 while it answers its OPTIONS probes, 0 "
        "once they found it down\n# TYPE sosproxy_trunk_up gauge\n";
    for (const auto& t : trunks) {
      out += "sosproxy_trunk_up{trunk=\"" + labelValue(t.name) + "\"} " + (t.up ? "1" : "0") + "\n";
    }
  }
}

// The location data, call records and configuration reloads (the I/O thread's counters).
void dataMetrics(std::string& out, const LocationCounters& l, const ReloadCounters& r) {
  metric(out, "sosproxy_store_fallbacks_total", "counter",
         "starts on seed data because the database was unusable or did not answer",
         l.storeFallbacks);
  metric(out, "sosproxy_location_rebuild_failures_total", "counter",
         "location snapshot rebuilds that kept the previous snapshot", l.rebuildFailures);
  metric(out, "sosproxy_location_reports_saved_total", "counter", "device reports saved",
         l.reportsSaved);
  metric(out, "sosproxy_location_reports_not_saved_total", "counter",
         "device reports used in memory only (store unavailable)", l.reportsNotSaved);
  metric(out, "sosproxy_store_changes_heard_total", "counter",
         "notifications of the PostgreSQL store's change feed (data changes and device reports, "
         "this node's own included)",
         l.storeChangesHeard);
  metric(out, "sosproxy_store_reports_heard_total", "counter",
         "device reports read from the store because its change feed named them (any node's)",
         l.storeReportsHeard);
  metric(out, "sosproxy_store_elin_mapping_reads_total", "counter",
         "reads of the ELIN callback mappings because the store's change feed said a node "
         "saved some, or opened again after a loss",
         l.storeElinReads);
  metric(out, "sosproxy_store_writes_replayed_total", "counter",
         "device reports, call records and ELIN mapping sets written after the store could not "
         "take them at first",
         l.writesReplayed);
  metric(out, "sosproxy_store_writes_dropped_total", "counter",
         "kept device reports and call records dropped (over the cap, or refused by the store "
         "once it took writes again)",
         l.unsavedDropped);
  metric(out, "sosproxy_store_writes_waiting", "gauge",
         "device reports, call records and ELIN mapping sets kept until the store takes writes "
         "again",
         l.unsavedWaiting);
  metric(out, "sosproxy_store_up", "gauge",
         "1 while the store takes writes; 0 while it does not (ALARM; calls are routed on the "
         "snapshot in force)",
         l.storeUp);
  metric(out, "sosproxy_store_outages_total", "counter",
         "times the store stopped taking writes, as the once-a-second check saw it",
         l.storeOutages);
  metric(out, "sosproxy_store_feed_losses_total", "counter",
         "PostgreSQL change feeds lost (the once-a-second check stands in until one is open)",
         l.storeFeedLosses);
  metric(out, "sosproxy_store_node_name_clashes_total", "counter",
         "heartbeats that found another process using this node's store.node_name (ALARM)",
         l.nodeNameClashes);
  metric(out, "sosproxy_store_clock_offset_ms", "gauge",
         "how far the database server's clock is ahead of this host's (negative: behind), "
         "as the last heartbeat measured it; times shared with other nodes use the server's",
         l.clockOffsetMs);
  metric(out, "sosproxy_call_records_saved_total", "counter",
         "call records written to the store (one per call with an outcome)", l.callRecordsSaved);
  metric(out, "sosproxy_call_records_not_saved_total", "counter",
         "call records the store could not write (the routing log still has the call)",
         l.callRecordsNotSaved);
  metric(out, "sosproxy_desk_phone_messages_total", "counter",
         "SIP MESSAGEs to desk phones reporting from a network new for their user, sent "
         "(location.desk_phone_moved: phone)",
         l.deskPhoneMessagesSent);
  labelled(out, "sosproxy_desk_phone_messages_withheld_total",
           "SIP MESSAGEs to desk phones on a new network not sent, by reason "
           "(reported-ip-not-sender: the report named another IP than the one it came from; "
           "no-address: it named none)",
           l.deskPhoneMessagesWithheld, "reason");
  metric(out, "sosproxy_config_reloads_total", "counter",
         "configuration reloads that took effect (SIGHUP, admin reload)", r.reloads);
  metric(out, "sosproxy_config_reload_failures_total", "counter",
         "configuration reloads refused because of errors (the running one stayed)", r.failures);
}

void notifyMetrics(std::string& out, const notify::NotifyCounters& n) {
  metric(out, "sosproxy_alerts_queued_total", "counter",
         "responder alert jobs written to the outbox", n.queued);
  metric(out, "sosproxy_alerts_delivered_total", "counter", "responder alerts a channel accepted",
         n.delivered);
  metric(out, "sosproxy_alert_retries_total", "counter",
         "responder alert attempts that failed and were scheduled again", n.retries);
  metric(out, "sosproxy_alerts_past_max_attempts_total", "counter",
         "responder alerts that failed max_attempts times (an emergency call's is still "
         "retried until delivered)",
         n.pastMaxAttempts);
  metric(out, "sosproxy_alerts_given_up_total", "counter",
         "test calls' responder alerts given up after max_attempts (an emergency call's never "
         "is)",
         n.givenUp);
  metric(out, "sosproxy_alert_jobs_failing", "gauge",
         "responder alerts past max_attempts and not delivered yet (ALARM while above 0)",
         n.failing);
  metric(out, "sosproxy_alert_escalations_total", "counter",
         "calls not acknowledged in time: the next tier was alerted", n.escalations);
  metric(out, "sosproxy_alerts_acknowledged_total", "counter", "calls a responder acknowledged",
         n.acknowledged);
  metric(out, "sosproxy_alerts_not_queued_total", "counter",
         "emergency-call events whose alerts could not be written to the outbox", n.notQueued);
  metric(out, "sosproxy_alert_outbox_up", "gauge",
         "1: responder alerts are written to the outbox's database before they are tried; 0: "
         "it could not be opened, they are kept in memory only (ALARM)",
         n.outboxUp);
  metric(out, "sosproxy_alerts_not_persisted_total", "counter",
         "responder alerts kept in memory only because the outbox's database could not be "
         "opened",
         n.notPersisted);
  metric(out, "sosproxy_alert_jobs_taken_over_total", "counter",
         "pending responder alerts of another node whose claim ran out, taken over by this node",
         n.jobsTakenOver);
  metric(out, "sosproxy_alert_escalations_taken_over_total", "counter",
         "escalation timers of another node whose claim ran out, taken over by this node",
         n.escalationsTakenOver);
  metric(out, "sosproxy_alerts_replayed_total", "counter",
         "responder alert jobs tried from memory because the outbox could not take them, "
         "written to it once it could",
         n.replayed);
  metric(out, "sosproxy_alert_claim_renewals_failed_total", "counter",
         "renewals of this node's claims on its pending alerts that the database refused",
         n.claimRenewalsFailed);
  labelled(out, "sosproxy_alert_attempts_total",
           "responder alert delivery attempts by channel (webhook, email, sip) and outcome "
           "(delivered, failed and to be tried again, given-up)",
           n.attempts, "channel", "outcome");
  labelled(out, "sosproxy_alert_errors_total",
           "responder alert attempts that failed, by channel and error (webhook.tls, smtp.auth, "
           "connect, timeout, ...)",
           n.errors, "channel", "error");
}

void edgeMetrics(std::string& out, const EdgeCounters& e) {
  // The SIP edge (issue 14): what strangers and mistakes got, without a transaction.
  metric(out, "sosproxy_edge_untrusted_refused_total", "counter",
         "requests from untrusted sources answered 403 without a transaction", e.untrustedRefused);
  metric(out, "sosproxy_edge_untrusted_dropped_total", "counter",
         "requests from untrusted sources not answered (edge.untrusted: drop, or the answers' "
         "rate limit)",
         e.untrustedDropped);
  metric(out, "sosproxy_edge_untrusted_emergency_total", "counter",
         "emergency calls from untrusted sources (ALARM)", e.untrustedEmergency);
  metric(out, "sosproxy_edge_untrusted_alerts_total", "counter",
         "responder alerts raised for emergency calls from untrusted sources", e.untrustedAlerts);
  metric(out, "sosproxy_edge_unknown_method_total", "counter", "requests answered 501",
         e.unknownMethod);
  metric(out, "sosproxy_edge_method_not_allowed_total", "counter",
         "requests answered 405 (REGISTER, SUBSCRIBE, ... outside a dialog)", e.notAllowed);
  metric(out, "sosproxy_edge_unknown_scheme_total", "counter",
         "requests answered 416 (unknown Request-URI scheme)", e.unknownScheme);
  metric(out, "sosproxy_edge_options_total", "counter", "OPTIONS answered 200", e.options);
  metric(out, "sosproxy_edge_no_dialog_total", "counter",
         "requests for no known dialog or transaction answered 481", e.noDialog);
  metric(out, "sosproxy_edge_stray_acks_total", "counter", "ACKs matching nothing, dropped",
         e.strayAcks);
  metric(out, "sosproxy_edge_stray_responses_total", "counter",
         "responses matching no transaction, dropped", e.strayResponses);
  metric(out, "sosproxy_edge_transaction_cap_total", "counter",
         "ordinary calls answered 503 because edge.max_server_transactions was reached",
         e.transactionCap);
  metric(out, "sosproxy_edge_emergency_over_cap_total", "counter",
         "emergency calls taken although edge.max_server_transactions was reached",
         e.emergencyOverCap);
  metric(out, "sosproxy_edge_maddr_ignored_total", "counter",
         "requests whose Via maddr was ignored: the answer went to the source", e.maddrIgnored);
  metric(out, "sosproxy_server_transactions", "gauge", "SIP server transactions held now",
         e.serverTransactions);
  metric(out, "sosproxy_tcp_connections", "gauge", "TCP connections to the SIP port now",
         e.tcpConnections);
  metric(out, "sosproxy_edge_tcp_closed_untrusted_total", "counter",
         "TCP connections of untrusted sources closed", e.tcpClosedUntrusted);
  metric(out, "sosproxy_edge_tcp_closed_over_cap_total", "counter",
         "TCP connections closed above edge.max_tcp_connections", e.tcpClosedOverCap);
  metric(out, "sosproxy_descriptor_limit", "gauge", "open-file limit in force (RLIMIT_NOFILE)",
         e.descriptorLimit);
  metric(out, "sosproxy_sip_tls_connections_released_total", "counter",
         "SIP TLS connections closed whose OpenSSL state was freed",
         SipTlsTransport::connectionsReleased());
  metric(out, "sosproxy_udp_oversize_over_tcp_total", "counter",
         "requests too large for a UDP datagram sent to their trunk over TCP", e.oversizeOverTcp);
  metric(out, "sosproxy_udp_oversize_trimmed_total", "counter",
         "emergency INVITEs too large for a UDP datagram trimmed to what the PSAP needs",
         e.oversizeTrimmed);
  metric(out, "sosproxy_relay_initial_total", "counter",
         "ordinary INVITEs, and their CANCELs and ACKs, relayed without state", e.relayedInitial);
  metric(out, "sosproxy_relay_in_dialog_total", "counter",
         "requests of dialogs relayed without state", e.relayedInDialog);
  metric(out, "sosproxy_relay_responses_total", "counter",
         "responses relayed without state by their Via", e.relayedResponses);
  metric(out, "sosproxy_relay_taken_total", "counter",
         "requests and responses of calls relayed without state taken off the SIP port before "
         "Sofia read them",
         e.relayTaken);
  metric(out, "sosproxy_relay_refused_total", "counter",
         "requests with sosproxy's Record-Route refused: their source may not reach where they go",
         e.relayRefused);
  metric(out, "sosproxy_relay_limited_total", "counter",
         "ordinary INVITEs to relay without state answered 503 by the limits", e.relayLimited);
}

// Both listeners' refusals count together: a spoofing attempt on the phones' listener is one
// like any other.
void apiMetrics(std::string& out, const admin::RouteCounters& api,
                const admin::RouteCounters* deviceApi) {
  auto both = [deviceApi, &api](const std::atomic<uint64_t> admin::RouteCounters::*field) {
    uint64_t n = (api.*field).load(std::memory_order_relaxed);
    if (deviceApi != nullptr) n += (deviceApi->*field).load(std::memory_order_relaxed);
    return n;
  };
  const std::atomic<uint64_t> unauthenticated{both(&admin::RouteCounters::unauthenticated)};
  const std::atomic<uint64_t> forbidden{both(&admin::RouteCounters::forbidden)};
  const std::atomic<uint64_t> badHost{both(&admin::RouteCounters::badHost)};
  const std::atomic<uint64_t> csrf{both(&admin::RouteCounters::csrfRefused)};
  const std::atomic<uint64_t> fallbacks{both(&admin::RouteCounters::tokenStoreFallbacks)};
  const std::atomic<uint64_t> signInFailures{both(&admin::RouteCounters::signInFailures)};
  const std::atomic<uint64_t> signInThrottled{both(&admin::RouteCounters::signInThrottled)};
  metric(out, "sosproxy_admin_unauthenticated_total", "counter",
         "admin API requests refused 401 (no token, or an unknown or revoked one)",
         unauthenticated);
  metric(out, "sosproxy_admin_forbidden_total", "counter",
         "admin API requests refused 403 (a token outside its role or sites)", forbidden);
  metric(out, "sosproxy_admin_csrf_refused_total", "counter",
         "admin API requests refused 403 for coming with the dashboard's session cookie and "
         "without its CSRF token (counted in sosproxy_admin_forbidden_total too)",
         csrf);
  metric(out, "sosproxy_admin_bad_host_total", "counter",
         "admin API requests refused 421 (a Host that names no host of this server)", badHost);
  metric(out, "sosproxy_admin_token_store_fallbacks_total", "counter",
         "admin API requests let in on a token as last read (the store could not be read)",
         fallbacks);
  metric(out, "sosproxy_admin_sign_in_failures_total", "counter",
         "dashboard sign-ins refused 401: a wrong token, user or password (counted in "
         "sosproxy_admin_unauthenticated_total too)",
         signInFailures);
  metric(out, "sosproxy_admin_sign_in_throttled_total", "counter",
         "dashboard sign-ins refused 429: too many failures from the address", signInThrottled);
}

// The dashboard's live calls (issue 18): what it follows and what it could not pass on.
void liveMetrics(std::string& out, const admin::LiveCounters& l) {
  metric(out, "sosproxy_dashboard_streams", "gauge",
         "dashboards following the live calls now (GET /api/v1/events)", l.streams);
  metric(out, "sosproxy_dashboard_call_events_total", "counter",
         "emergency-call events the dashboard's live calls took", l.events);
  metric(out, "sosproxy_dashboard_call_events_lost_total", "counter",
         "emergency-call events the SIP thread could not hand to the dashboard (its queue was "
         "full; the call went on)",
         l.eventsLost);
  metric(out, "sosproxy_dashboard_messages_dropped_total", "counter",
         "live messages a dashboard could not take in time (it got a fresh snapshot instead)",
         l.slowClientDrops);
}

// The process: lookups refused, log lines lost, the heap.
void processMetrics(std::string& out, LogLoss logLoss) {
  const std::atomic<uint64_t> dnsRefused{dns_guard::refused()};
  metric(out, "sosproxy_dns_refused_total", "counter",
         "host names not looked up on the SIP thread (the message needing them was not sent)",
         dnsRefused);
  const std::atomic<uint64_t> sofiaSuppressed{sofia_log::suppressed()};
  metric(out, "sosproxy_sofia_log_suppressed_total", "counter",
         "lines of Sofia-SIP's own log not written (more than 10 a second)", sofiaSuppressed);
  const std::atomic<uint64_t> acceptErrors{admin::HttpServer::acceptErrors()};
  metric(out, "sosproxy_admin_accept_errors_total", "counter",
         "admin HTTP accept failures (the server waited before accepting again)", acceptErrors);
  const std::atomic<uint64_t> dropped{logLoss.routing};
  metric(out, "sosproxy_routing_log_dropped_total", "counter",
         "routing-log lines lost because the log's disk fell behind", dropped);
  const std::atomic<uint64_t> operationalDropped{logLoss.operational};
  metric(out, "sosproxy_log_dropped_total", "counter",
         "operational-log lines lost because standard error fell behind", operationalDropped);
  const std::atomic<uint64_t> reopenFailures{logLoss.routingReopenFailures};
  metric(out, "sosproxy_routing_log_reopen_failures_total", "counter",
         "SIGHUPs after which the routing log could not be opened again (the old file kept)",
         reopenFailures);
  // What the process's heap holds live, against resident memory: the difference is memory freed
  // but kept by the allocator for reuse.
  const std::atomic<uint64_t> inUse{allocator::heapInUse()};
  metric(out, "sosproxy_heap_in_use_bytes", "gauge",
         "heap memory in use (allocated and not freed), all threads", inUse);
}

}  // namespace

std::string prometheusText(const B2buaCounters& c, const LocationCounters& l,
                           const ReloadCounters& r, LogLoss logLoss,
                           const notify::NotifyCounters* n, const admin::RouteCounters* api,
                           const admin::RouteCounters* deviceApi,
                           const std::vector<TrunkState>& trunks, const admin::LiveCounters* live) {
  // The Prometheus convention for what is running: a constant 1 whose labels say which build.
  std::string out =
      "# HELP sosproxy_build_info the sosproxy build running: version and commit\n"
      "# TYPE sosproxy_build_info gauge\n"
      "sosproxy_build_info{version=\"" +
      labelValue(buildVersion()) + "\",commit=\"" + labelValue(buildCommit()) + "\"} 1\n";
  callMetrics(out, c);
  callDetailMetrics(out, c);
  trunkMetrics(out, c, trunks);
  dataMetrics(out, l, r);
  if (n) notifyMetrics(out, *n);
  edgeMetrics(out, c.edge);
  processMetrics(out, logLoss);
  if (api != nullptr) apiMetrics(out, *api, deviceApi);
  if (live != nullptr) liveMetrics(out, *live);
  return out;
}

}  // namespace sos::proxy
