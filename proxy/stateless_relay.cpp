#include "proxy/stateless_relay.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <cstdio>
#include <random>
#include <vector>

#include "proxy/sip_edge.h"

namespace sos::proxy {

namespace {

constexpr std::string_view kBranchPrefix = "z9hG4bKsl";
constexpr const char* kMarker = "sosrelay";  // the Record-Route's parameter that names the relay

// FNV-1a over the key's bytes, then the text.
uint64_t keyedHash(uint64_t key, std::string_view text) {
  uint64_t h = 1469598103934665603ULL;
  for (int i = 0; i < 8; ++i) {
    h ^= (key >> (i * 8)) & 0xff;
    h *= 1099511628211ULL;
  }
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// What a request without a branch is known by (RFC 2543 clients): its Call-ID and CSeq number.
std::string branchOf(const sip_via_t* via, const sip_t* sip) {
  if (via != nullptr && via->v_branch != nullptr) return via->v_branch;
  std::string id = sip->sip_call_id && sip->sip_call_id->i_id ? sip->sip_call_id->i_id : "";
  if (sip->sip_cseq) id += " " + std::to_string(sip->sip_cseq->cs_seq);
  return id;
}

bool sameText(const char* a, const std::string& b) {
  return a != nullptr && strcasecmp(a, b.c_str()) == 0;
}

// Counts Max-Forwards down (RFC 3261 16.6 step 3); false when it is already 0.
bool countDown(msg_t* msg, sip_t* sip) {
  sip_max_forwards_t* mf = sip->sip_max_forwards;
  if (mf == nullptr) {
    // Inserted among the headers (a header added by tags would follow the body).
    auto* made = sip_max_forwards_make(msg_home(msg), "70");
    return made != nullptr &&
           sip_header_insert(msg, sip, reinterpret_cast<sip_header_t*>(made)) >= 0;
  }
  if (mf->mf_count == 0) return false;
  --mf->mf_count;
  sip_fragment_clear(mf->mf_common);
  return true;
}

void removeAll(msg_t* msg, sip_t* sip, const std::vector<sip_header_t*>& headers) {
  for (sip_header_t* h : headers) sip_header_remove(msg, sip, h);
}

uint64_t randomKey() {
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

}  // namespace

std::string relayBranch(uint64_t key, std::string_view incoming) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(keyedHash(key, incoming)));
  return std::string(kBranchPrefix) + hex;
}

bool isRelayBranch(uint64_t key, std::string_view branch, std::string_view incoming) {
  return branch.size() == kBranchPrefix.size() + 16 && branch.starts_with(kBranchPrefix) &&
         strncasecmp(branch.data(), relayBranch(key, incoming).c_str(), branch.size()) == 0;
}

StatelessRelay::StatelessRelay(nta_agent_t* agent, std::string host, std::string port)
    : agent_(agent),
      host_(std::move(host)),
      port_(std::move(port)),
      recordRoute_("<sip:" + uriHost(host_) + ":" + port_ + ";lr;" + kMarker + ">"),
      key_(randomKey()) {}

bool StatelessRelay::viaIsOurs(const sip_via_t* via) const {
  if (via == nullptr || via->v_branch == nullptr ||
      std::string_view(via->v_branch).substr(0, kBranchPrefix.size()) != kBranchPrefix)
    return false;
  for (const sip_via_t* v = nta_agent_via(agent_); v != nullptr; v = v->v_next) {
    if (strcasecmp(v->v_host, via->v_host) != 0) continue;
    const char* mine = v->v_port ? v->v_port : "5060";
    const char* theirs = via->v_port ? via->v_port : "5060";
    if (strcmp(mine, theirs) == 0) return true;
  }
  return false;
}

bool StatelessRelay::routedHere(const sip_t* sip) const {
  if (sip->sip_route == nullptr) return false;
  const url_t* u = sip->sip_route->r_url;
  if (!url_has_param(u, kMarker) || !sameText(u->url_host, host_)) return false;
  return u->url_port ? port_ == u->url_port : port_ == "5060";
}

std::string StatelessRelay::nextHost(const sip_t* sip) {
  const sip_route_t* next = sip->sip_route ? sip->sip_route->r_next : nullptr;
  const url_t* u =
      next && url_has_param(next->r_url, "lr") ? next->r_url : sip->sip_request->rq_url;
  return u && u->url_host ? u->url_host : "";
}

int StatelessRelay::send(msg_t* msg, sip_t* sip, const char* nextHop) {
  const std::string branch = relayBranch(key_, branchOf(sip->sip_via, sip));
  const bool ack = sip->sip_request->rq_method == sip_method_ack;
  if (!countDown(msg, sip)) {
    if (ack) {
      msg_destroy(msg);
    } else {
      nta_msg_treply(agent_, msg, SIP_483_TOO_MANY_HOPS, TAG_END());
    }
    return 483;
  }
  const std::string method = sip->sip_request->rq_method_name;
  // nta adds sosproxy's Via with this branch and sends without keeping a transaction.
  if (nta_msg_tsend(agent_, msg, nextHop ? URL_STRING_MAKE(nextHop) : nullptr,
                    NTATAG_BRANCH_KEY(branch.c_str()), TAG_END()) < 0)
    spdlog::debug("relay: {} could not be sent on", method);
  return 0;
}

int StatelessRelay::forwardInitial(msg_t* msg, sip_t* sip, const std::string& nextHop,
                                   const Unvouched& drop) {
  // A Route naming sosproxy (a phone's outbound proxy setting) has done its work.
  if (sip->sip_route && sameText(sip->sip_route->r_url->url_host, host_))
    sip_header_remove(msg, sip, reinterpret_cast<sip_header_t*>(sip->sip_route));
  std::vector<sip_header_t*> gone;
  if (drop.identity) {
    for (auto* h = sip_p_asserted_identity(sip); h != nullptr; h = h->paid_next)
      gone.push_back(reinterpret_cast<sip_header_t*>(h));
  }
  if (drop.networkMark) {
    // The first P-Access-Network-Info takes the values without the mark, in its place; the
    // others go.
    bool first = true;
    for (sip_unknown_t* u = sip->sip_unknown; u != nullptr; u = u->un_next) {
      if (u->un_name == nullptr || strcasecmp(u->un_name, "P-Access-Network-Info") != 0) continue;
      if (first && !drop.accessNetworkInfo.empty()) {
        u->un_value = su_strdup(msg_home(msg), drop.accessNetworkInfo.c_str());
        sip_fragment_clear(u->un_common);
      } else {
        gone.push_back(reinterpret_cast<sip_header_t*>(u));
      }
      first = false;
    }
  }
  removeAll(msg, sip, gone);
  if (sip->sip_request->rq_method == sip_method_invite) {
    sip_record_route_t* rr = sip_record_route_make(msg_home(msg), recordRoute_.c_str());
    if (rr == nullptr || sip_header_insert(msg, sip, reinterpret_cast<sip_header_t*>(rr)) < 0) {
      spdlog::warn("relay: no Record-Route could be added to INVITE {} (out of memory?)",
                   sip->sip_call_id ? sip->sip_call_id->i_id : "?");
    }
  }
  return send(msg, sip, nextHop.c_str());
}

int StatelessRelay::forwardInDialog(msg_t* msg, sip_t* sip) {
  sip_header_remove(msg, sip, reinterpret_cast<sip_header_t*>(sip->sip_route));
  return send(msg, sip, nullptr);
}

bool StatelessRelay::forwardResponse(msg_t* msg, sip_t* sip) {
  const sip_via_t* top = sip->sip_via;
  if (!viaIsOurs(top) || top->v_next == nullptr) return false;
  if (!isRelayBranch(key_, top->v_branch, branchOf(top->v_next, sip))) return false;
  const int status = sip->sip_status ? sip->sip_status->st_status : 0;
  // nta removes the top Via and sends to the next one (its received and rport).
  if (nta_msg_tsend(agent_, msg, nullptr, TAG_END()) < 0)
    spdlog::debug("relay: a {} response could not be sent on", status);
  return true;
}

}  // namespace sos::proxy
