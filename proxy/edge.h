#pragma once
// The SIP edge's front door (issue 14). nta hands it, through its stateless message callback,
// every request that matches no transaction and no dialog and every response that matches no
// client transaction, before any transaction exists and before the body is read. It decides
// with screen() (proxy/edge_policy.h), answers strangers and mistakes without keeping a
// transaction (a 403 to an untrusted source lives no 32 s in nta's tables), and hands the rest
// to the B2BUA as a new server transaction. Once a second it also reads the SIP transaction
// count and the TCP connections to our port, and chooses untrusted peers' connections and,
// above edge.max_tcp_connections, those of the busiest peers to close, a few every 100 ms.
//
// SIP thread only (constructed on it too). Requests reach it only once su_root_run has begun,
// after attach().

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "model/network.h"
#include "proxy/edge_policy.h"
#include "proxy/emergency_relay.h"
#include "proxy/relay_tap.h"
#include "proxy/routing_log.h"
#include "proxy/sofia.h"
#include "proxy/stateless_relay.h"
#include "routing/router.h"

namespace sos::proxy {

class B2bua;

// Raises the process's descriptor limit (RLIMIT_NOFILE) to its hard limit, so that TCP
// connections and transactions do not run out of descriptors at the soft default (1024).
// Returns the limit in force afterwards. Any thread, at start-up.
int64_t raiseDescriptorLimit();

// What a rate-limited log line adds: " (N more since the last such line)", or "" for none.
std::string suppressedNote(uint64_t n);

class Edge {
 public:
  Edge(su_root_t* root, RoutingLog& log, EdgeCounters& counters);
  ~Edge();
  Edge(const Edge&) = delete;
  Edge& operator=(const Edge&) = delete;

  // The agent whose callback this is, the B2BUA that takes accepted requests, and the SIP port
  // (for counting its TCP connections). Starts the once-a-second sweep.
  void attach(nta_agent_t* agent, B2bua* b2bua, uint16_t sipPort);

  // nta_message_f: owns `msg` from here on.
  static int onMessage(Edge* edge, nta_agent_t* agent, msg_t* msg, sip_t* sip);
  // Before each turn of Sofia's loop: the stateless relay's datagrams taken off the SIP port
  // (proxy/relay_tap.h).
  void takeRelayed() {
    if (tap_) tap_->take();
  }

 private:
  void message(msg_t* msg, sip_t* sip);
  void refuseUntrusted(msg_t* msg, sip_t* sip, const EdgeVerdict& v,
                       const routing::RouteDecision& d, const routing::CallRequest& req);
  // Answers `msg` without a transaction (nta_msg_treply takes `msg`).
  void reply(msg_t* msg, sip_t* sip, int status, bool closeAfter = false);
  void accept(msg_t* msg, sip_t* sip, const EdgeVerdict& v, const routing::CallRequest& req);
  // edge.ordinary_relay: stateless (proxy/edge_relay.cpp). Does this request of an ordinary
  // call go through the stateless relay? An INVITE (`invite`) that is a PSAP's callback keeps
  // the B2BUA.
  bool relays(const routing::RouteDecision& d, const routing::CallRequest& req, bool invite) const;
  // edge.emergency_relay: stateful (proxy/emergency_relay.h): an emergency INVITE over UDP the
  // edge accepted goes through the emergency relay when it takes it (true: `msg` taken).
  bool relayEmergency(msg_t* msg, sip_t* sip, const routing::CallRequest& req);
  // An ordinary call's INVITE (after the limits), CANCEL or ACK: to the carrier trunk.
  void relayInitial(msg_t* msg, sip_t* sip, const routing::RouteDecision& d,
                    const routing::CallRequest& req, const routing::Router& router);
  // One of the relay's messages, as bytes (from the tap, or written back from Sofia's): a
  // request of a relayed dialog (its top Route the relay's Record-Route) goes on when its source
  // may reach where it goes (a trusted network's phone to the carrier trunk, the carrier trunk
  // to a trusted network), else 403; a response goes back by its Via when the relay put that
  // Via there and it comes from a trusted network or a trunk. False: not the relay's. `tapped`:
  // taken off the queue before Sofia read it (counted so before it leaves).
  bool relayDatagram(const wire::Message& m, const Peer& from, bool tapped);
  // The same for a message Sofia read (over TCP, or one the tap could not read): written out
  // and read as bytes. True when it was the relay's (`msg` then destroyed).
  bool relayFromSofia(msg_t* msg);
  // The configuration in force changed (a reload): rates and TCP timers follow it.
  void applySettings();
  bool fromTrunk(const std::string& source) const;
  void logCause(EdgeCause cause, const std::string& detail);

  static void onSweep(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  void sweep();
  static void onCloseTick(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  void closeSome();

  su_root_t* root_;
  RoutingLog& log_;
  EdgeCounters& counters_;
  nta_agent_t* agent_ = nullptr;
  B2bua* b2bua_ = nullptr;
  uint16_t sipPort_ = 0;
  std::unique_ptr<RelayTap> tap_;              // the SIP port's UDP sockets; null: none
  std::unique_ptr<StatelessRelay> relay_;      // null without a UDP listener
  std::unique_ptr<EmergencyRelay> emergency_;  // made with relay_
  std::string carrierHost_;  // the carrier trunk's address when it takes UDP, for the relay
  uint16_t carrierPort_ = 0;
  std::optional<model::IpAddress> carrierAddress_;  // the carrier trunk's address
  su_timer_t* sweepTimer_ = nullptr;
  su_timer_t* closeTimer_ = nullptr;
  // Connections the last sweep chose to close, closed kClosesPerTick at a time.
  struct PendingClose {
    std::string address;
    uint16_t port = 0;
    bool overCap = false;  // else: an untrusted peer's
  };
  static constexpr size_t kClosesPerTick = 50;
  std::vector<PendingClose> closing_;
  size_t closingNext_ = 0;
  const routing::Router* appliedFor_ = nullptr;  // the router whose settings are in force
  config::Edge settings_;
  std::vector<model::IpAddress> trunkAddresses_;

  // Answers to strangers, per source; routing-log lines and ALARM lines for them, per source;
  // responder alerts for their emergency calls, per source (each also capped in total).
  SourceRateLimiter replies_;
  SourceRateLimiter refusalLines_;
  SourceRateLimiter alarms_;
  SourceRateLimiter alerts_;
  uint64_t alarmsSuppressed_ = 0;
  // One operational-log line per cause per interval.
  std::vector<std::pair<EdgeCause, LogLimiter>> causeLogs_;
  LogLimiter tcpLog_{std::chrono::seconds(60)};
  LogLimiter capLog_{std::chrono::seconds(60)};
  // Untrusted peers' connections seen by the last sweep ("ip port"): closed at the next one, so
  // that each has had a second to receive its answer.
  std::set<std::pair<std::string, uint16_t>> untrustedSeen_;
  // Trusted peers' connections seen by the last sweep: a new one gets its idle timer armed.
  std::set<std::pair<std::string, uint16_t>> trustedSeen_;
};

}  // namespace sos::proxy
