#pragma once
// The one place Sofia-SIP headers are included from. The magic typedefs must be set before any
// Sofia header is seen, so every proxy/ file includes this one instead of <sofia-sip/...>.
// Sofia types never leave proxy/ (docs/ARCHITECTURE.md: the edge converts them to plain values).

#include <utility>  // before any Asio header in C++20 on Boost 1.74 (std::exchange)

namespace sos::proxy {
struct Leg;
class Edge;
// What nta hands back to a transaction's callback: one typed base for everything sosproxy keeps
// per transaction (a relayed request, a branch of an emergency call, an OPTIONS probe, a SIP
// MESSAGE), so each callback gets its own kind back with a static_cast from this base, never a
// reinterpret_cast of an unrelated pointer.
struct TxnMagic {
  virtual ~TxnMagic() = default;
};
}  // namespace sos::proxy

#define NTA_LEG_MAGIC_T ::sos::proxy::Leg
#define NTA_OUTGOING_MAGIC_T ::sos::proxy::TxnMagic
#define NTA_INCOMING_MAGIC_T ::sos::proxy::TxnMagic
#define NTA_AGENT_MAGIC_T ::sos::proxy::Edge

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_mime.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>

namespace sos::proxy {
// A final response nta made itself (none came in time: 408; the transport failed: 503) rather
// than one the far end sent. nta hands its callback such a message marked NTA_INTERNAL_MSG
// (1 << 15 in nta_internal.h, which is not installed); no message at all counts the same.
inline bool madeByNta(const sip_t* sip) {
  return sip == nullptr || (sip->sip_flags & (1 << 15)) != 0;
}
}  // namespace sos::proxy
