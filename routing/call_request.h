#pragma once
// What routing needs to know about an incoming INVITE, as plain values.
// The SIP edge (proxy/sip_edge) builds it from Sofia's sip_t; nothing here knows Sofia.

#include <string>
#include <vector>

namespace sos::routing {

struct CallRequest {
  std::string callId;
  std::string requestUri;  // as received, e.g. "sip:911@10.0.0.5", "tel:911", "urn:service:sos"
  std::string fromUri;     // e.g. "sip:1001@pbx.example"
  std::string fromUser;    // user part of From, e.g. "1001"
  std::string fromDisplay;
  std::string paiUri;              // first P-Asserted-Identity URI, empty if none
  std::string paiUser;             // its user part
  std::string contactHost;         // host of the first Contact (the phone's address, issue 3)
  std::string contactUri;          // the first Contact URI, for calling the caller back (issue 4)
  bool psapCallback = false;       // Priority: psap-callback (RFC 7090)
  unsigned long maxForwards = 70;  // Max-Forwards as received (RFC 3261 8.1.1.6: 70 if absent)
  std::string sourceAddress;       // address the packet came from (IPv4 or IPv6, no port)
  std::string transport;           // "udp" or "tcp"
  std::string pAccessNetworkInfo;  // raw header value(s), joined by ", "
  std::vector<std::string> geolocation;  // raw Geolocation header values
  std::string geolocationRouting;        // Geolocation-Routing value, "" when absent
  // The body as received, byte for byte: a location object sosproxy did not create is relayed
  // unaltered (RFC 6442 section 3), and an ordinary call's body is the caller's business.
  std::string bodyContentType;  // the Content-Type value, "multipart/mixed;boundary=b1"
  std::string body;
  // The message's own Content-Disposition, Content-Encoding and Content-Language lines (each
  // ending in CRLF): they describe the body, and go with it into a part when it is wrapped.
  std::string bodyHeaders;
  // What an emergency INVITE needs from the body, found at any depth of a multipart (RFC 5621)
  // with its transfer encoding undone: the session description and every PIDF-LO part.
  std::string sdpContentType;  // "application/sdp", empty when there is no SDP
  std::string sdp;
  struct BodyPart {
    std::string contentId;  // without angle brackets
    std::string text;
  };
  std::vector<BodyPart> pidfParts;
  std::string bodyProblem;  // a multipart that does not parse: what is wrong with it
  std::string userSite;     // the caller's site according to the user store; empty if unknown
};

}  // namespace sos::routing
