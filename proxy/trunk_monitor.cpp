#include "proxy/trunk_monitor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/clock.h"
#include "proxy/b2bua.h"
#include "proxy/sip_edge.h"

namespace sos::proxy {

struct TrunkMonitor::Health {
  bool probed = false;
  bool up = true;
  std::string why;                 // the last reason it went down
  su_timer_t* interval = nullptr;  // fires every optionsIntervalMs
};

// One OPTIONS in flight.
struct TrunkMonitor::Probe : TxnMagic {
  TrunkMonitor* owner = nullptr;
  std::string trunk;
  nta_outgoing_t* orq = nullptr;
  su_timer_t* deadline = nullptr;
  bool timedOut = false;
  bool done = false;
};

// What an interval timer names: whose trunk.
struct TrunkMonitor::Target {
  TrunkMonitor* owner = nullptr;
  std::string trunk;
};

TrunkMonitor::TrunkMonitor(nta_agent_t* agent, su_root_t* root, B2buaCounters& counters,
                           std::string host)
    : agent_(agent), root_(root), counters_(counters), host_(std::move(host)) {}

TrunkMonitor::~TrunkMonitor() {
  stop();
  for (auto& p : probes_) {
    if (p->deadline) su_timer_destroy(p->deadline);
    if (p->orq) nta_outgoing_destroy(p->orq);
  }
}

int TrunkMonitor::onResponse(TxnMagic* magic, nta_outgoing_t* orq, const sip_t* sip) {
  auto* probe = static_cast<Probe*>(magic);
  try {
    const int status =
        sip && sip->sip_status ? sip->sip_status->st_status : nta_outgoing_status(orq);
    if (status < 200) return 0;
    TrunkMonitor& self = *probe->owner;
    if (probe->deadline) su_timer_reset(probe->deadline);
    if (!probe->timedOut) {
      // Any answer but "overloaded" or nta's own timeout means the trunk is there.
      const bool up = !(status == 503 || (status == 408 && madeByNta(sip)));
      if (!up) ++self.counters_.probeFailures;
      // nta answers for the trunk when none came (408) or the transport failed (503, e.g. for an
      // ICMP refusal): said so, with nta's status and phrase.
      std::string said = std::to_string(status);
      if (sip != nullptr && sip->sip_status && sip->sip_status->st_phrase)
        said += std::string(" ") + sip->sip_status->st_phrase;
      if (madeByNta(sip)) said = (status == 408 ? "no answer (" : "unreachable (") + said + ")";
      self.probed(probe->trunk, said);
      self.setUp(probe->trunk, up, "OPTIONS answered " + std::to_string(status));
    }
    probe->done = true;
  } catch (...) {
    spdlog::error("OPTIONS probe of {}: internal error", probe->trunk);
  }
  return 0;
}

void TrunkMonitor::onDeadline(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* probe = static_cast<Probe*>(arg);
  try {
    if (probe->done) return;
    probe->timedOut = true;
    ++probe->owner->counters_.probeFailures;
    probe->owner->probed(probe->trunk, "no answer");
    probe->owner->setUp(probe->trunk, false, "no answer to OPTIONS");
  } catch (...) {
    spdlog::error("OPTIONS probe of {}: internal error", probe->trunk);
  }
}

void TrunkMonitor::onTick(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* target = static_cast<Target*>(arg);
  try {
    target->owner->send(target->trunk);
  } catch (...) {
    spdlog::error("OPTIONS probe of {}: internal error", target->trunk);
  }
}

void TrunkMonitor::start(std::shared_ptr<const config::Config> config) {
  stop();
  config_ = std::move(config);
  if (!config_) return;
  for (const auto& t : config_->trunks) {
    if (t.optionsIntervalMs <= 0) continue;
    auto& slot = health_[t.name];
    if (!slot) slot = std::make_unique<Health>();
    Health& h = *slot;
    h.probed = true;
    h.interval = su_timer_create(su_root_task(root_), t.optionsIntervalMs);
    targets_.push_back(std::make_unique<Target>(Target{this, t.name}));
    if (h.interval) su_timer_set_for_ever(h.interval, onTick, targets_.back().get());
    send(t.name);  // know at once, not one interval later
  }
  // Trunks no longer probed (a reload) count as up again.
  for (auto& [name, h] : health_) {
    if (h->probed || h->up) continue;
    h->up = true;
    --counters_.trunksDown;
  }
  ++version_;  // the configuration's trunks, as they are now
}

void TrunkMonitor::stop() {
  for (auto& [name, h] : health_) {
    if (h->interval) su_timer_destroy(h->interval);
    h->interval = nullptr;
    h->probed = false;
  }
  targets_.clear();
}

void TrunkMonitor::send(const std::string& trunkName) {
  const config::Trunk* trunk = config_ ? config_->findTrunk(trunkName) : nullptr;
  if (trunk == nullptr) return;
  const std::string target = "sip:" + uriHost(trunk->host) + ":" + std::to_string(trunk->port);
  const std::string nextHop = nextHopFor(*trunk);
  msg_t* msg = nta_msg_create(agent_, 0);
  if (msg == nullptr) return;
  su_home_t* home = msg_home(msg);
  const std::string from =
      "<sip:sosproxy@" + host_ + ">;tag=" + nta_agent_newtag(home, "%s", agent_);
  bool ok = sip_add_tl(msg, sip_object(msg),
                       SIPTAG_REQUEST(sip_request_create(home, SIP_METHOD_OPTIONS,
                                                         URL_STRING_MAKE(target.c_str()), nullptr)),
                       SIPTAG_FROM_STR(from.c_str()), SIPTAG_TO_STR(("<" + target + ">").c_str()),
                       SIPTAG_CALL_ID(sip_call_id_create(home, nullptr)),
                       SIPTAG_CSEQ(sip_cseq_create(home, cseq_++, SIP_METHOD_OPTIONS)),
                       SIPTAG_MAX_FORWARDS_STR("70"), TAG_END()) >= 0;
  auto probe = std::make_unique<Probe>();
  probe->owner = this;
  probe->trunk = trunkName;
  probe->orq = ok ? nta_outgoing_mcreate(agent_, onResponse, probe.get(),
                                         URL_STRING_MAKE(nextHop.c_str()), msg, TAG_END())
                  : nullptr;
  if (probe->orq == nullptr) {
    msg_destroy(msg);
    ++counters_.probeFailures;
    probed(trunkName, "not sent");
    setUp(trunkName, false, "OPTIONS could not be sent");
    return;
  }
  probe->deadline = su_timer_create(su_root_task(root_), trunk->responseTimeoutMs);
  if (probe->deadline) su_timer_set(probe->deadline, onDeadline, probe.get());
  probes_.push_back(std::move(probe));
}

void TrunkMonitor::setUp(const std::string& trunk, bool up, const std::string& why) {
  auto it = health_.find(trunk);
  // Only probed trunks have a state: an unprobed trunk marked down would never come back.
  if (it == health_.end() || !it->second->probed) return;
  Health& h = *it->second;
  if (h.up == up) return;
  h.up = up;
  h.why = why;
  Facts& f = facts_[trunk];
  f.changedAtMs = unixMsNow();
  f.why = why;
  ++version_;
  if (up) {
    --counters_.trunksDown;
    spdlog::info("trunk {} is up ({})", trunk, why);
  } else {
    ++counters_.trunksDown;
    spdlog::warn("trunk {} is down ({}); emergency calls skip it while another trunk is up", trunk,
                 why);
  }
}

bool TrunkMonitor::up(const std::string& trunk) const {
  auto it = health_.find(trunk);
  return it == health_.end() || !it->second->probed || it->second->up;
}

std::vector<std::string> TrunkMonitor::down() const {
  std::vector<std::string> names;
  for (const auto& [name, h] : health_)
    if (h->probed && !h->up) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

void TrunkMonitor::probed(const std::string& trunk, std::string outcome) {
  Facts& f = facts_[trunk];
  f.lastProbeAtMs = unixMsNow();
  f.lastProbe = std::move(outcome);
  ++version_;
}

void TrunkMonitor::failedOver(const std::string& trunk, const std::string& callId,
                              const std::string& reason) {
  Facts& f = facts_[trunk];
  f.lastFailoverAtMs = unixMsNow();
  f.lastFailover = reason + " (call " + callId + ")";
  ++f.failovers;
  ++version_;
}

std::optional<std::vector<TrunkStatus>> TrunkMonitor::status(uint64_t& version) const {
  if (version == version_ || !config_) return std::nullopt;
  version = version_;
  std::vector<TrunkStatus> out;
  for (const auto& t : config_->trunks) {
    TrunkStatus s;
    s.name = t.name;
    auto h = health_.find(t.name);
    s.probed = h != health_.end() && h->second->probed;
    s.up = up(t.name);
    if (auto f = facts_.find(t.name); f != facts_.end()) {
      s.changedAtMs = f->second.changedAtMs;
      s.why = f->second.why;
      s.lastProbeAtMs = f->second.lastProbeAtMs;
      s.lastProbe = f->second.lastProbe;
      s.lastFailoverAtMs = f->second.lastFailoverAtMs;
      s.lastFailover = f->second.lastFailover;
      s.failovers = f->second.failovers;
    }
    out.push_back(std::move(s));
  }
  return out;
}

void TrunkMonitor::reap() {
  for (auto it = probes_.begin(); it != probes_.end();) {
    Probe& p = **it;
    if (!p.done) {
      ++it;
      continue;
    }
    if (p.deadline) su_timer_destroy(p.deadline);
    if (p.orq) nta_outgoing_destroy(p.orq);
    it = probes_.erase(it);
  }
}

}  // namespace sos::proxy
