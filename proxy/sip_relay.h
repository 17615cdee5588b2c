#pragma once
// How one leg's messages are built from the other's: a request carrying the end-to-end headers
// and body of the one it relays (an attempt's rewrite applied), a response relayed on a server
// transaction, an ACK on a dialog. Knows Sofia's messages and the call's legs, not what the call
// is for: the B2BUA and the trunk attempts decide what to send, this builds and sends it. SIP
// thread only.

#include <cstdint>
#include <string>

#include "proxy/b2bua_counters.h"
#include "proxy/call.h"
#include "proxy/emergency_invite.h"
#include "proxy/sofia.h"

namespace sos::proxy {

// The method's name of a request, "?" for anything else (for log lines).
const char* methodName(const sip_t* sip);
// Requests and responses that establish or refresh a dialog's remote target carry a Contact
// (RFC 3261 12.1, 12.2 and RFC 3311 5.1).
bool needsContact(sip_method_t m);

class SipRelay {
 public:
  // Our Contact for each transport, as the SIP edge listens.
  struct Contacts {
    std::string udp;  // "<sip:127.0.0.1:5060>"
    std::string tcp;  // "<sip:127.0.0.1:5060;transport=tcp>"
    std::string tls;  // "<sip:127.0.0.1:5061;transport=tls>"; empty: no TLS
  };

  // `onResponse` gets the responses to what send() sends unless it is given another callback.
  SipRelay(nta_agent_t* agent, Contacts contacts, B2buaCounters& counters,
           nta_response_f* onResponse);

  // Sends `method` on `to`, carrying the end-to-end headers and body of `src`. With `rewrite`,
  // what it names replaces what the caller sent (emergency INVITE, issue 4). Null when nta
  // would not take it.
  nta_outgoing_t* send(Leg& to, TxnMagic* magic, sip_method_t method, const char* methodName,
                       msg_t* src, const url_string_t* requestUri, const url_string_t* nextHop,
                       unsigned long maxForwards, const EmergencyInvite* rewrite = nullptr,
                       nta_response_f* callback = nullptr) const;
  // Relays the response `src` (from the other leg) on `txn`'s server transaction toward `to`;
  // a bare status when `src` is null. Nothing when that transaction has its final response.
  void relayResponse(Txn& txn, Leg& to, msg_t* src, int status, const char* phrase) const;
  // ACK on `leg` with the INVITE's CSeq number (RFC 3261 13.2.2.4), the SDP of the caller's
  // `ack` when it carries one (late offer). Sent statelessly: an ACK to a 2xx has no
  // transaction (RFC 3261 17.1.1.3). False when it could not be sent.
  bool sendAck(nta_leg_t* leg, uint32_t cseq, const sip_t* ack) const;

  const std::string& contactFor(const std::string& transport) const {
    if (transport == "tls" && !contacts_.tls.empty()) return contacts_.tls;
    return transport == "tcp" ? contacts_.tcp : contacts_.udp;
  }
  // Our address as the UDP Contact says it ("127.0.0.1", "[::1]"): for Content-IDs and the
  // P-Asserted-Identity of an ELIN.
  const std::string& host() const { return host_; }

 private:
  nta_agent_t* agent_;
  Contacts contacts_;
  std::string host_;
  B2buaCounters& counters_;
  nta_response_f* onResponse_;
};

}  // namespace sos::proxy
