#pragma once
// The one place Sofia-SIP headers are included from. The magic typedefs must be set before any
// Sofia header is seen, so every proxy/ file includes this one instead of <sofia-sip/...>.
// Sofia types never leave proxy/ (docs/ARCHITECTURE.md: the edge converts them to plain values).

#include <utility>  // before any Asio header in C++20 on Boost 1.74 (std::exchange)

namespace sos::proxy {
struct Leg;
struct Txn;
}  // namespace sos::proxy

#define NTA_LEG_MAGIC_T ::sos::proxy::Leg
#define NTA_OUTGOING_MAGIC_T ::sos::proxy::Txn
#define NTA_INCOMING_MAGIC_T ::sos::proxy::Txn

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_mime.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>
