#pragma once
// No DNS on the SIP thread, ever (issue 14).
//
// Sofia's transport layer resolves a response's destination with a blocking getaddrinfo()
// (tport.c, tport_resolve) whenever the top Via names a host and nta has not written a
// received= address into it: the 505 to a request of an unknown SIP version and the 413 to an
// oversized one are answered before nta checks the Via (nta.c, agent_recv_request), the 400 to
// a request whose Via names another transport is answered after a check that gave up early,
// and a Via's maddr= wins over received= for every response. With a slow or silent DNS server
// one such datagram held the SIP thread, and every call with it, for ten seconds.
//
// This module makes it impossible: sosproxy defines getaddrinfo(), getnameinfo() and
// gethostbyname() itself (the executable's definitions come first in the dynamic lookup, so
// libsofia-sip-ua's calls land here) and, on the thread marked as the SIP thread, lets through
// numeric addresses only. A host name there fails at once as "name unknown" (EAI_NONAME /
// HOST_NOT_FOUND): the message that needed it is not sent, so such an error answer to a
// malformed request goes nowhere (one whose Via names a numeric address still goes there).
// Every other thread resolves as usual. Requests that reach sosproxy's own code have their Via's
// maddr removed first, so their answers go to the address they came from (proxy/edge.cpp).

#include <cstdint>

namespace sos::proxy::dns_guard {

// Marks the calling thread as the SIP thread (Server::run, once the agent listens).
void markSipThread();

// Host-name lookups refused on the SIP thread so far (for /metrics).
uint64_t refused();

}  // namespace sos::proxy::dns_guard
