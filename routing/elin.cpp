// ELIN choice and PSAP callback mapping (issue 4). See elin.h for the rules; this file keeps
// them cheap enough to run on the SIP thread for every emergency call (pools are a handful of
// numbers, the map has one entry per ELIN).

#include "routing/elin.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <stdexcept>
#include <utility>

#include "model/e164.h"

namespace sos::routing {

using model::CallbackTarget;
using model::CallerIdentity;
using model::Location;
using model::normalizeDialedNumber;

namespace {

// Ten digits shaped NXX-NXX-XXXX (area code and exchange start with 2-9): only then can a
// number without a country code be read as North American. This keeps e.g. a UK national
// number written without its 0 from being taken for a NANP one by accident.
bool looksNanpNational(std::string_view d) {
  return d.size() == 10 && d[0] >= '2' && d[0] <= '9' && d[3] >= '2' && d[3] <= '9';
}

bool sameCaller(const CallerIdentity& a, const CallerIdentity& b) {
  // The most specific identity both sides carry decides; an unknown caller matches nobody,
  // so two anonymous calls never share a mapping silently.
  if (!a.extension.empty() && !b.extension.empty()) return a.extension == b.extension;
  if (!a.did.empty() && !b.did.empty()) return a.did == b.did;
  if (!a.contact.empty() && !b.contact.empty()) return a.contact == b.contact;
  return false;
}

// The pool's ELINs as configured with their keys, each key once: of ELINs written twice (e.g.
// with and without spaces), the first.
std::vector<std::pair<const std::string*, std::string>> distinctElins(
    const std::vector<std::string>& pool) {
  std::vector<std::pair<const std::string*, std::string>> out;
  out.reserve(pool.size());
  for (const std::string& e : pool) {
    std::string key = CallbackMap::keyOf(e);
    const bool seen =
        std::any_of(out.begin(), out.end(), [&](const auto& d) { return d.second == key; });
    if (!seen) out.emplace_back(&e, std::move(key));
  }
  return out;
}

int64_t saturatingAdd(int64_t a, int64_t b) {
  // b is a positive window; only the upper bound can be crossed.
  return a > std::numeric_limits<int64_t>::max() - b ? std::numeric_limits<int64_t>::max() : a + b;
}

}  // namespace

// ---- CallbackMap ----

std::string CallbackMap::keyOf(std::string_view elin) {
  std::string n = normalizeDialedNumber(elin);
  if (!n.empty() && n.front() == '+') n.erase(0, 1);
  return n;
}

const CallbackTarget* CallbackMap::find(const std::string& key) const {
  auto it = byElin_.find(key);
  return it == byElin_.end() ? nullptr : &it->second;
}

void CallbackMap::put(const std::string& key, CallbackTarget target) {
  byElin_.insert_or_assign(key, std::move(target));
}

std::optional<CallbackTarget> CallbackMap::lookup(std::string_view dialedElin,
                                                  int64_t nowMs) const {
  const std::string n = normalizeDialedNumber(dialedElin);
  if (n.empty()) return std::nullopt;
  auto live = [&](const std::string& key) -> const CallbackTarget* {
    const CallbackTarget* t = find(key);
    return t != nullptr && nowMs < t->expiresAtMs ? t : nullptr;
  };

  if (n.front() == '+') {
    // A '+' promises the full international number: no guessing at country codes.
    if (const CallbackTarget* t = live(n.substr(1))) return *t;
    return std::nullopt;
  }
  const CallbackTarget* asE164 = live(n);
  const CallbackTarget* asNanp = looksNanpNational(n) ? live("1" + n) : nullptr;
  if (asE164 != nullptr && asNanp != nullptr) {
    // Two callers could be meant; ringing the wrong person is worse than the security desk.
    return std::nullopt;
  }
  if (asE164 != nullptr) return *asE164;
  if (asNanp != nullptr) return *asNanp;
  return std::nullopt;
}

void CallbackMap::expire(int64_t nowMs) {
  std::erase_if(byElin_, [nowMs](const auto& entry) { return entry.second.expiresAtMs <= nowMs; });
}

std::vector<CallbackTarget> CallbackMap::snapshot() const {
  std::vector<CallbackTarget> out;
  out.reserve(byElin_.size());
  for (const auto& [key, target] : byElin_) out.push_back(target);
  // Sorted so that two snapshots of the same state persist to the same bytes.
  std::sort(out.begin(), out.end(),
            [](const CallbackTarget& a, const CallbackTarget& b) { return a.elin < b.elin; });
  return out;
}

void CallbackMap::restore(std::vector<CallbackTarget> mappings) {
  for (CallbackTarget& m : mappings) {
    std::string key = keyOf(m.elin);
    if (key.empty() || m.expiresAtMs < m.assignedAtMs) continue;
    const CallbackTarget* held = find(key);
    if (held != nullptr && held->assignedAtMs > m.assignedAtMs) continue;
    put(key, std::move(m));
  }
}

// ---- ElinAllocator ----

ElinAllocator::ElinAllocator(std::map<std::string, std::string, std::less<>> siteDefaultElins,
                             int64_t callbackWindowMs)
    : siteDefaults_(std::move(siteDefaultElins)), windowMs_(callbackWindowMs) {
  if (windowMs_ <= 0) {
    // A zero window would make every callback land at the security desk without anyone
    // noticing: refuse the configuration instead.
    throw std::invalid_argument("ELIN callback window must be positive, got " +
                                std::to_string(windowMs_) + " ms");
  }
}

ElinChoice ElinAllocator::assign(const Location& loc, const CallerIdentity& caller, int64_t nowMs) {
  std::vector<std::string> pool;
  for (const std::string& e : loc.elins) {
    if (!CallbackMap::keyOf(e).empty()) pool.push_back(e);
  }
  if (!pool.empty()) return pick(pool, caller, nowMs);

  // Degraded path (STYLE.md: every one is counted; the proxy logs fallbackReason as a warning).
  ++counters_.fallbacks;
  std::string why =
      "location " + loc.key + (loc.elins.empty() ? " has no ELIN" : " has no usable ELIN");
  // Personal locations belong to no site (location.h), so they never borrow a site ELIN: its
  // ALI record names the office, and a PSAP must not be sent there for someone at home.
  if (!loc.site.empty()) {
    auto it = siteDefaults_.find(loc.site);
    if (it != siteDefaults_.end() && !CallbackMap::keyOf(it->second).empty()) {
      ElinChoice choice = pick({it->second}, caller, nowMs);
      choice.fromFallback = true;
      choice.fallbackReason = why + "; using the default ELIN of site " + loc.site;
      return choice;
    }
  }
  ElinChoice choice;
  choice.fromFallback = true;
  // With no ELIN the proxy presents the caller's own DID in From and P-Asserted-Identity: the
  // PSAP can still call the person back directly, and no mapping is needed for that.
  choice.fallbackReason = why +
                          (loc.site.empty() ? " and belongs to no site"
                                            : "; site " + loc.site + " has no default ELIN") +
                          "; presenting the caller's own DID";
  return choice;
}

std::vector<PoolWithoutShare> poolsWithoutShare(const std::vector<model::Location>& locations,
                                                ElinShare share) {
  std::vector<PoolWithoutShare> out;
  if (share.count < 2 || share.index < 0 || share.index >= share.count) return out;
  for (const auto& loc : locations) {
    if (loc.elins.empty()) continue;
    const size_t elins = distinctElins(loc.elins).size();
    if (static_cast<int>(elins) <= share.index) out.push_back({&loc, elins});
  }
  return out;
}

void ElinAllocator::setShare(ElinShare share) {
  const bool whole = share.count < 1 || share.index < 0 || share.index >= share.count;
  share_ = whole ? ElinShare{} : share;
}

ElinChoice ElinAllocator::pick(const std::vector<std::string>& pool, const CallerIdentity& caller,
                               int64_t nowMs) {
  struct Candidate {
    const std::string* elin;     // as configured
    std::string key;             // digits
    const CallbackTarget* held;  // current mapping, live or not, or null
    bool ours;                   // in this node's share of the pool (rule 2)
  };
  std::vector<Candidate> candidates;
  candidates.reserve(pool.size());
  for (auto& [elin, key] : distinctElins(pool)) {
    const CallbackTarget* held = callbacks_.find(key);
    const bool ours = static_cast<int>(candidates.size() % share_.count) == share_.index;
    candidates.push_back({elin, std::move(key), held, ours});
  }

  const Candidate* mine = nullptr;  // rule 1
  const Candidate* idle = nullptr;  // rule 2
  const Candidate* busy = nullptr;  // rule 3
  constexpr int64_t kNeverUsed = std::numeric_limits<int64_t>::min();
  auto lastUsed = [&](const Candidate* c) { return c->held ? c->held->assignedAtMs : kNeverUsed; };
  // Rule 2's order: this node's share first, then the least recently used.
  auto idleBefore = [&](const Candidate* a, const Candidate* b) {
    return a->ours != b->ours ? a->ours : lastUsed(a) < lastUsed(b);
  };
  // Strict '<' everywhere keeps the first in pool order on ties.
  for (const Candidate& c : candidates) {
    bool live = c.held != nullptr && nowMs < c.held->expiresAtMs;
    if (live && sameCaller(c.held->caller, caller)) {
      if (mine == nullptr || lastUsed(mine) < lastUsed(&c)) mine = &c;
    } else if (live) {
      if (busy == nullptr || lastUsed(&c) < lastUsed(busy)) busy = &c;
    } else {
      if (idle == nullptr || idleBefore(&c, idle)) idle = &c;
    }
  }
  const Candidate* chosen = mine ? mine : idle ? idle : busy;

  ElinChoice choice;
  choice.elin = *chosen->elin;
  if (chosen == busy) {
    // Every ELIN of the pool may still be called back. Taking the one assigned longest ago
    // cuts the shortest remaining window; that caller's callback now reaches the new caller.
    choice.reusedLive = true;
    choice.displaced = *chosen->held;
    ++counters_.reusesOfLiveElin;
  }
  callbacks_.put(chosen->key,
                 CallbackTarget{caller, choice.elin, nowMs, saturatingAdd(nowMs, windowMs_)});
  return choice;
}

}  // namespace sos::routing
