// libFuzzer target: a whole SIP message as it arrives, through Sofia's parser (msg_make, the
// extended header classes sosproxy registers), the checks nta makes before sosproxy sees a
// request (sip_sanity_check), the SIP edge (proxy/edge_policy.h screen(), proxy/sip_edge.h
// toCallRequest and copyEndToEnd) and the routing decision (routing::Router::decide) on the
// demo enterprise. The first input byte picks the packet's source: a trusted phone, a trunk, or
// a stranger. Checks what the edge and the router promise: every decision has a site; an
// emergency call from a trusted source is routed and never refused by the edge; a stranger is
// never accepted; a relayed call always has a trunk.

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "config/config.h"
#include "proxy/edge_policy.h"
#include "proxy/sip_edge.h"
#include "routing/router.h"

// After proxy/sofia.h (through sip_edge.h), which sets the magic types first.
#include <sofia-sip/sip_util.h>

namespace {

constexpr const char* kConfig = R"(
listen: {address: 127.0.0.1, port: 5060}
trusted_networks: [127.0.0.1/32, 10.0.0.0/8]
carrier_trunk: carrier
trunks:
  - {name: carrier, host: 127.0.0.1, port: 5080}
  - {name: il-psap-a, host: 127.0.0.1, port: 5090, mode: pidf}
  - {name: il-psap-b, host: 127.0.0.1, port: 5091, mode: elin}
  - {name: erc, host: 192.0.2.50, port: 5092, mode: both}
  - {name: uk-999, host: 127.0.0.1, port: 5093, mode: elin}
sites:
  - {name: HQ, country: US, dial_strings: ["911"], outside_line_prefix: "9",
     test_numbers: ["933"], extensions: ["1*"], networks: [10.1.0.0/16],
     psap_route: [il-psap-a, il-psap-b, erc]}
  - {name: London, country: GB, dial_strings: ["999", "112"], extensions: ["2*"],
     psap_route: [uk-999, erc]}
emergency_routing:
  erc: erc
  civic_rules:
    - {match: {country: US, A1: IL}, route: [il-psap-a, il-psap-b]}
)";

std::shared_ptr<const sos::routing::Router> gRouter;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  su_init();
  sip_update_default_mclass(sip_extend_mclass(nullptr));
  auto cfg = sos::config::parseConfig(kConfig, "fuzz.yaml");
  if (!cfg.ok()) std::abort();
  auto router = sos::routing::Router::create(
      std::make_shared<const sos::config::Config>(std::move(cfg).value()));
  if (!router.ok()) std::abort();
  gRouter = std::move(router).value();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t who = data[0] % 3;  // 0: trusted phone, 1: a trunk's address, 2: a stranger
  msg_t* msg = msg_make(sip_default_mclass(), 0, data + 1, static_cast<ssize_t>(size - 1));
  if (msg == nullptr) return 0;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_port = htons(5070);
  from.sin_addr.s_addr = htonl(who == 0 ? 0x7f000001 : who == 1 ? 0xc0000232 : 0xc0000209);
  msg_set_address(msg, reinterpret_cast<su_sockaddr_t*>(&from), sizeof from);
  msg_addrinfo(msg)->ai_protocol = IPPROTO_UDP;

  sip_t* sip = sip_object(msg);
  // What nta refuses itself never reaches the edge (nta.c, agent_recv_request).
  if (sip && sip->sip_request && !(sip->sip_flags & MSG_FLG_ERROR) && sip->sip_via &&
      sip_sanity_check(sip) == 0) {
    sos::routing::CallRequest req = sos::proxy::toCallRequest(msg, sip);
    sos::routing::RouteDecision d = gRouter->decide(req);
    if (d.site == nullptr) std::abort();
    if (d.action != sos::routing::Action::Reject &&
        (d.trunks.empty() || d.trunks.front() == nullptr))
      std::abort();
    if (d.trusted && d.match.emergency && d.action != sos::routing::Action::RouteEmergency)
      std::abort();

    sos::proxy::EdgeFacts f;
    f.method = sos::proxy::edgeMethod(sip->sip_request->rq_method);
    f.toTag = sip->sip_to->a_tag != nullptr;
    f.trusted = d.trusted;
    f.fromTrunk = who == 1;
    f.emergency = f.method == sos::proxy::EdgeMethod::Invite && d.match.emergency;
    f.knownScheme = sos::proxy::knownUriScheme(req.requestUri);
    f.serverTransactions = size;  // sometimes over the cap below, sometimes not
    sos::config::Edge settings;
    settings.maxServerTransactions = 64;
    sos::proxy::EdgeVerdict v = sos::proxy::screen(f, settings);
    using Action = sos::proxy::EdgeVerdict::Action;
    if (who == 2 && v.action == Action::Accept) std::abort();  // a stranger never gets in
    if (who == 0 && f.emergency && !f.toTag && v.action != Action::Accept) std::abort();

    // The end-to-end headers and body copied into a new message, as toward a trunk.
    msg_t* out = msg_create(sip_default_mclass(), 0);
    if (out) {
      if (!sos::proxy::copyEndToEnd(out, sip_object(out), msg)) std::abort();
      msg_destroy(out);
    }
  }
  msg_destroy(msg);
  return 0;
}
