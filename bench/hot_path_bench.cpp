// The pieces of an emergency call's hot path, one at a time (issue 7): the SIP edge turning a
// parsed INVITE into a CallRequest, the dial-plan match, the PSAP route choice, the PIDF-LO and
// the multipart body; and the stateless relay's branch of an ordinary call's request. The demo
// enterprise's values throughout. Figures, not a gate.

#include <benchmark/benchmark.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "config/config.h"
#include "pidf/pidf.h"
#include "proxy/sip_edge.h"
#include "proxy/sofia.h"
#include "proxy/stateless_relay.h"
#include "routing/dial_plan.h"
#include "routing/psap_router.h"

namespace sos {
namespace {

// config/examples/demo.yaml itself: the bench measures the demo enterprise, not a copy of it.
std::shared_ptr<const config::Config> demoConfig() {
  auto cfg = config::loadConfig(std::string(SOS_SOURCE_DIR) + "/config/examples/demo.yaml");
  if (!cfg.ok()) throw std::runtime_error(cfg.error().message);
  return std::make_shared<const config::Config>(std::move(cfg.value()));
}

model::Location hqFloor2() {
  model::Location l;
  l.key = "hq-floor-2";
  l.name = "HQ Floor 2";
  l.site = "HQ";
  l.civic.country = "US";
  l.civic.a1 = "IL";
  l.civic.a2 = "Sangamon";
  l.civic.a3 = "Springfield";
  l.civic.hno = "100";
  l.civic.rd = "Main";
  l.civic.sts = "St";
  l.civic.pc = "62701";
  l.civic.flr.push_back('2');  // not = "2": GCC 12 at -O3 warns (-Wrestrict, a false positive)
  l.elins.emplace_back("+12175550102");
  l.elins.emplace_back("+12175550112");
  return l;
}

constexpr const char* kSdp =
    "v=0\r\no=caller 53655765 2353687637 IN IP4 10.1.2.45\r\ns=-\r\nc=IN IP4 10.1.2.45\r\n"
    "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

void DialPlanEmergency(benchmark::State& state) {
  auto cfg = demoConfig();
  for (auto _ : state) {
    auto m = routing::classify("sip:9911@10.0.0.5;user=phone", cfg->sites[0], *cfg);
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(DialPlanEmergency);

void DialPlanOrdinary(benchmark::State& state) {
  auto cfg = demoConfig();
  for (auto _ : state) {
    auto m = routing::classify("sip:9112345@10.0.0.5", cfg->sites[0], *cfg);
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(DialPlanOrdinary);

void PsapRouteByCivicRule(benchmark::State& state) {
  auto cfg = demoConfig();
  auto router = routing::PsapRouter::create(cfg);
  if (!router.ok()) {
    state.SkipWithError(router.error().message.c_str());
    return;
  }
  const model::Location loc = hqFloor2();
  routing::RouteQuery q;
  q.location = &loc;
  q.site = &cfg->sites[0];
  for (auto _ : state) {
    auto r = router.value()->route(q);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(PsapRouteByCivicRule);

void PidfLoBuild(benchmark::State& state) {
  const model::Location loc = hqFloor2();
  pidf::PidfOptions o;
  o.entity = "pres:1001@sosproxy.hq.example";
  o.deviceId = "d1001";
  o.deviceUri = "mac:0004f2001001";
  o.method = "Manual";
  o.timestampMs = 1'700'000'000'000;
  for (auto _ : state) {
    auto xml = pidf::buildPidfLo(loc, o);
    benchmark::DoNotOptimize(xml);
  }
}
BENCHMARK(PidfLoBuild);

void MultipartAssembly(benchmark::State& state) {
  pidf::PidfOptions o;
  o.entity = "pres:1001@sosproxy.hq.example";
  o.timestampMs = 1'700'000'000'000;
  const std::string xml = pidf::buildPidfLo(hqFloor2(), o);
  uint64_t seed = 1;
  for (auto _ : state) {
    auto body = pidf::buildMultipartMixed(pidf::makeBoundary(++seed), "application/sdp", kSdp,
                                          "loc1@sosproxy.hq.example", xml);
    benchmark::DoNotOptimize(body);
  }
}
BENCHMARK(MultipartAssembly);

void SipEdgeToCallRequest(benchmark::State& state) {
  static const bool extended = (sip_update_default_mclass(sip_extend_mclass(nullptr)), true);
  (void)extended;
  const std::string sdp = kSdp;
  const std::string text =
      "INVITE sip:911@127.0.0.1:5060 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bK-1-1\r\n"
      "From: \"Phone 1001\" <sip:1001@127.0.0.1:5071>;tag=1\r\n"
      "To: <sip:911@127.0.0.1:5060>\r\n"
      "Call-ID: 1-1@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
      "Contact: <sip:1001@10.1.2.45:5060;transport=udp>\r\n"
      "Max-Forwards: 70\r\n"
      "P-Asserted-Identity: <sip:1001@pbx.hq.example>\r\n"
      "P-Access-Network-Info: IEEE-802.11; i-wlan-node-id=001122334455\r\n"
      "Content-Type: application/sdp\r\nContent-Length: " +
      std::to_string(sdp.size()) + "\r\n\r\n" + sdp;
  for (auto _ : state) {
    msg_t* msg = msg_make(sip_default_mclass(), 0, text.data(), static_cast<isize_t>(text.size()));
    if (msg == nullptr) {
      state.SkipWithError("the INVITE did not parse");
      return;
    }
    auto req = proxy::toCallRequest(msg, sip_object(msg));
    benchmark::DoNotOptimize(req);
    msg_destroy(msg);
  }
}
BENCHMARK(SipEdgeToCallRequest);

// The stateless relay's branch for a request (a SipHash-2-4 of the incoming branch; made once
// for each request it relays and checked once for each response).
void RelayBranch(benchmark::State& state) {
  proxy::RelayMac mac(std::string(32, 'k'));
  for (auto _ : state) {
    auto branch = proxy::relayBranch(mac, "z9hG4bK-1-1-0123456789");
    benchmark::DoNotOptimize(branch);
  }
}
BENCHMARK(RelayBranch);

}  // namespace
}  // namespace sos

BENCHMARK_MAIN();
