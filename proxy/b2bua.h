#pragma once
// The back-to-back user agent: every call is two dialogs (legs) with their own Call-ID, tags
// and CSeq. Leg A faces the caller (PBX or phone), leg B the trunk routing chose.
// Lives on the SIP thread; every method is called from there (Sofia callbacks included).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "proxy/emergency_invite.h"
#include "proxy/routing_log.h"
#include "proxy/sofia.h"
#include "routing/elin.h"
#include "routing/location_resolver.h"
#include "routing/router.h"

namespace sos::proxy {

class B2bua;
struct Call;

enum class Side { A, B };

// One dialog of a call, or (with call == nullptr) the agent's default leg.
struct Leg {
  B2bua* owner = nullptr;
  Call* call = nullptr;
  Side side = Side::A;
  nta_leg_t* leg = nullptr;
  std::string contact;  // our Contact toward this leg's peer
};

// A request relayed from one leg to the other: the server transaction it came in on and the
// client transaction it went out as.
struct Txn {
  Call* call = nullptr;
  Side from = Side::A;  // the side that sent the request
  nta_incoming_t* irq = nullptr;
  nta_outgoing_t* orq = nullptr;
  sip_method_t method = sip_method_unknown;
  bool initial = false;   // the INVITE that created the call
  bool finished = false;  // a final response has gone back on `irq`
  uint32_t outCseq = 0;   // CSeq of the relayed INVITE, for its ACK (RFC 3261 13.2.2.4)
};

// Where a call is (RFC 3261 13 and 15, from the caller's side).
enum class CallState {
  Proceeding,  // INVITE sent on leg B; no final response yet
  Answered,    // 2xx relayed to A; waiting for A's ACK (RFC 3261 13.3.1.4)
  Confirmed,   // ACKed on both legs: the session is up
  Ending,      // a BYE is being relayed
  Ended,       // nothing left to do; freed on the next reap
};

struct Call {
  uint64_t id = 0;
  B2bua* owner = nullptr;
  Leg a, b;
  CallState state = CallState::Proceeding;
  bool cancelled = false;  // A cancelled the INVITE
  Txn* invite = nullptr;   // the initial INVITE, owned by txns
  std::list<std::unique_ptr<Txn>> txns;
  su_home_t* home = nullptr;
  std::chrono::steady_clock::time_point received;
  RoutingLogEntry log;  // the decision, completed with the outcome

  // What a retry on the same trunk needs (a 424 Bad Location Information to the PIDF-LO we
  // inserted: once more with ELIN only, RFC 6442 section 4.3). Set only for such calls.
  struct Retry {
    msg_t* request = nullptr;  // the caller's INVITE (a reference of our own)
    routing::CallRequest req;
    std::shared_ptr<const routing::LocationSnapshot> snapshot;  // keeps `location` alive
    const routing::Location* location = nullptr;
    routing::CallerIdentity who;
    std::string requestUri, nextHop;
    unsigned long maxForwards = 70;
    bool done = false;
  };
  std::unique_ptr<Retry> retry;
  std::vector<nta_outgoing_t*> retiredOrqs;  // earlier leg-B INVITEs, destroyed with the call
};

// Counted on the SIP thread, read by the admin API's /metrics (relaxed atomics: figures, not
// synchronisation). Owned by the Server so they outlive any one B2bua.
struct B2buaCounters {
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> emergencyCalls{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> answered{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> cancelled{0};
  std::atomic<int64_t> active{0};
  std::atomic<uint64_t> locationFallbacks{0};   // emergency calls placed at a site/account default
  std::atomic<uint64_t> elinReusedLive{0};      // an ELIN handed out while another caller held it
  std::atomic<uint64_t> elinFallbacks{0};       // no ELIN of the location: site default or DID
  std::atomic<uint64_t> locationRetries424{0};  // 424 to our PIDF-LO: retried with ELIN only
  std::atomic<uint64_t> callbacksToCaller{0};
  std::atomic<uint64_t> callbacksToDesk{0};
  std::atomic<uint64_t> emergencyDegraded{0};  // location or PIDF-LO failed: routed without
};

class B2bua {
 public:
  struct Contacts {
    std::string udp;  // "<sip:127.0.0.1:5060>"
    std::string tcp;  // "<sip:127.0.0.1:5060;transport=tcp>"
  };

  B2bua(nta_agent_t* agent, su_root_t* root, std::shared_ptr<const routing::Router> router,
        RoutingLog& log, Contacts contacts, B2buaCounters& counters);
  ~B2bua();
  B2bua(const B2bua&) = delete;
  B2bua& operator=(const B2bua&) = delete;

  // The agent's default leg: requests outside any dialog.
  Leg* defaultLeg() { return &default_; }

  const B2buaCounters& counters() const { return counters_; }

  // A reloaded configuration's router (SIGHUP, admin reload). New calls use it; calls in
  // progress finish with the router they started with (each Call holds its own reference).
  void setRouter(std::shared_ptr<const routing::Router> router);

  // A new location snapshot (built on the I/O thread). Reports it carries that are newer than
  // the ones already held are taken over.
  void setLocations(std::shared_ptr<const routing::LocationSnapshot> snapshot);
  // Where ELIN -> caller mappings go after each assignment (the store, via the I/O thread), and
  // the ones saved before a restart.
  using ElinSink = std::function<void(std::vector<routing::CallbackTarget>)>;
  void setElinPersistence(ElinSink sink, std::vector<routing::CallbackTarget> initial) {
    elinSink_ = std::move(sink);
    initialElins_ = std::move(initial);
  }
  // A device's latest network report, as the location-report API accepted it.
  void addReport(const routing::DeviceReport& report);

  // Sofia callbacks (C linkage-compatible static functions).
  static int onRequest(Leg* leg, nta_leg_t* nleg, nta_incoming_t* irq, sip_t const* sip);
  static int onResponse(Txn* txn, nta_outgoing_t* orq, sip_t const* sip);
  static int onAckOrCancel(Txn* txn, nta_incoming_t* irq, sip_t const* sip);

 private:
  int newRequest(nta_incoming_t* irq, sip_t const* sip);
  int newInvite(nta_incoming_t* irq, sip_t const* sip);
  int inDialog(Leg& leg, nta_incoming_t* irq, sip_t const* sip);
  void response(Txn& txn, nta_outgoing_t* orq, sip_t const* sip);
  void inviteResponse(Txn& txn, sip_t const* sip, int status);
  void ackOrCancel(Txn& txn, sip_t const* sip);

  // Sends `method` on `to`, carrying the end-to-end headers and body of `src`.
  // With `rewrite`, what it names replaces what the caller sent (emergency INVITE, issue 4).
  nta_outgoing_t* send(Leg& to, Txn* txn, sip_method_t method, char const* methodName, msg_t* src,
                       url_string_t const* requestUri, url_string_t const* nextHop,
                       unsigned long maxForwards, EmergencyInvite const* rewrite = nullptr);
  // Relays the response `src` (from the other leg) on `irq`; a fabricated status when null.
  void relayResponse(Txn& txn, Leg& to, msg_t* src, int status, char const* phrase);
  void sendAck(Call& call, Leg& to, uint32_t cseq, sip_t const* ack);
  void sendBye(Call& call, Leg& to);
  int relayInDialog(Call& call, Leg& from, Leg& to, nta_incoming_t* irq, sip_t const* sip);

  // Where is the caller? Fills the location fields of the routing-log entry.
  std::optional<routing::Resolution> locate(const routing::CallRequest& req,
                                            std::string const& site, RoutingLogEntry& entry);
  // PIDF-LO and/or ELIN for the trunk's mode; fills the log entry's elin/pidf fields.
  EmergencyInvite planInvite(const config::Trunk& trunk, const routing::CallRequest& req,
                             const routing::Resolution* where, RoutingLogEntry& entry);
  // 424 to our PIDF-LO: sends the INVITE again on the same trunk with ELIN only. False when
  // there is nothing to retry (the 424 then goes back to the caller).
  bool retryWithElinOnly(Call& call);
  // A PSAP calling an ELIN back (or saying Priority: psap-callback): the caller who used the
  // ELIN within its window, else the security desk of the ELIN's site. Empty: not a callback.
  std::string callbackTarget(const routing::CallRequest& req, RoutingLogEntry& entry);
  Call* createCall();
  void finishInvite(Call& call, std::string outcome, int status, std::string reason);
  void endCall(Call& call);
  static void reap(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  void destroy(Call* call);

  Leg& other(Call& call, Side side) { return side == Side::A ? call.b : call.a; }
  std::string const& contactFor(std::string const& transport) const;

  nta_agent_t* agent_;
  su_root_t* root_;
  std::shared_ptr<const routing::Router> router_;
  RoutingLog& log_;
  Contacts contacts_;
  Leg default_;
  uint64_t nextId_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Call>> calls_;
  std::list<Call*> ended_;
  su_timer_t* reaper_ = nullptr;
  bool reapArmed_ = false;
  B2buaCounters& counters_;
  std::shared_ptr<const routing::LocationSnapshot> locations_;
  std::unordered_map<std::string, routing::DeviceReport> reports_;  // by extension
  // ELIN pools and the ELIN -> caller callback mappings (kept across snapshot swaps).
  std::unique_ptr<routing::ElinAllocator> elins_;
  std::string host_;    // our address, for Content-IDs and P-Asserted-Identity
  std::string locSrc_;  // our host name for loc-src (RFC 8787)
  int64_t callbackWindowMs_ = routing::kDefaultCallbackWindowMs;
  ElinSink elinSink_;
  std::vector<routing::CallbackTarget> initialElins_;
  void persistElins(int64_t nowMs);
};

}  // namespace sos::proxy
