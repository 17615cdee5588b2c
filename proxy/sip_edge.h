#pragma once
// The edge between Sofia-SIP and the rest: turns a received request into a plain
// routing::CallRequest, and copies end-to-end headers from one leg's message to the other's.
// SIP thread only.

#include <string>

#include "config/config.h"
#include "proxy/copy_skip.h"
#include "proxy/edge_policy.h"
#include "proxy/sofia.h"
#include "routing/call_request.h"

namespace sos::proxy {

// Builds the plain value routing decides on. `msg` is the request as received (for the source
// address and transport), `sip` its parsed form.
routing::CallRequest toCallRequest(msg_t* msg, const sip_t* sip);

// "sip:911@10.0.0.5" from a parsed URL; empty for null.
std::string urlToString(const url_t* url);

// Source address of a received message, "127.0.0.1" or "::1" (no port), and its port.
std::string sourceAddress(msg_t* msg, unsigned* port = nullptr);
// "udp", "tcp" or "tls" for a received message.
std::string sourceTransport(msg_t* msg);

// Removes the top Via's maddr: sosproxy answers the source (RFC 3581), never a host the Via
// names (Sofia would resolve it on the SIP thread, or reflect answers at another address).
// True when there was one.
bool dropMaddr(sip_t* sip);

// Host part for a URI: IPv6 literals need brackets (RFC 3261 25.1).
std::string uriHost(const std::string& host);
// Where requests to a trunk go: "sip:127.0.0.1:5090;transport=udp"; a TLS trunk with a
// tls_name: "sip:psap-a.example:5061;transport=tls;maddr=127.0.0.1".
std::string nextHopFor(const config::Trunk& trunk);

// Which headers go across the B2BUA. Hop-by-hop and dialog headers (Via, Route,
// Record-Route, Contact, Call-ID, CSeq, From, To, Max-Forwards, Content-Length) are the legs'
// own; the rest travels end to end. 100rel and its headers are not passed on: each leg would
// need its own PRACK exchange, and sosproxy answers without it.

// Copies every end-to-end header of `src` (with its body and Content-Type) into `dst`, less
// what `skip` names and what the PSAP's shield keeps back (issue 14): a header Sofia could not
// parse, one longer than 2 KiB, and an unknown header that is neither on the list of relayed
// extensions (Geolocation, P-Access-Network-Info, History-Info, Resource-Priority, ...) nor an
// "X-" header, or whose value holds control characters. `dropped` counts those kept back.
// Returns false when a header could not be copied (out of memory).
bool copyEndToEnd(msg_t* dst, sip_t* dstSip, msg_t* src, unsigned skip = kCopyAll,
                  size_t* dropped = nullptr);

// What the edge's rules (edge_policy.h) make of a request's method; the edge and its fuzz target
// share it.
EdgeMethod edgeMethod(sip_method_t method);

}  // namespace sos::proxy
