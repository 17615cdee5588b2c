#pragma once
// ELINs for trunks in ELIN mode and PSAP callback (issue 4).
//
// A PSAP that only receives an ELIN (Emergency Location Identification Number) looks the
// address up in its ALI database and, if the call drops, calls that number back. The ELIN
// belongs to a place, not to a person, so we remember which caller last used it and route a
// callback there for a configurable window (REFERENCE.md: one product keeps 3 hours). Pools
// are handed out least recently used first so that a recently used ELIN stays reachable for
// its caller as long as possible.
//
// Thread: the SIP thread only. Nothing here locks; every call comes from the stack's thread.
// Pure: no I/O and no clock of its own. Time is Unix milliseconds passed in by the caller;
// logging and metrics are the proxy's job, from the flags and counters returned here.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/callback.h"
#include "model/e164.h"
#include "model/location.h"

namespace sos::routing {

inline constexpr int64_t kDefaultCallbackWindowMs = 3LL * 3600 * 1000;

struct ElinChoice {
  std::string elin;  // empty: no ELIN at all (see fromFallback)
  // The chosen ELIN still had a live mapping for another caller: all of the pool was busy.
  // That caller can no longer be called back through it; the proxy logs a warning.
  bool reusedLive = false;
  std::optional<model::CallbackTarget> displaced;  // the mapping overwritten when reusedLive
  bool fromFallback = false;
  std::string fallbackReason;  // for the routing log, when fromFallback
};

struct ElinCounters {
  uint64_t reusesOfLiveElin = 0;  // an ELIN handed out while another caller's mapping was live
  uint64_t fallbacks = 0;         // the location had no usable ELIN (site default or none)
};

// ELIN -> last caller, with expiry. One entry per ELIN, so memory never exceeds the number of
// configured ELINs; expire() drops entries past their window so that caller data (contact
// URIs) is not kept longer than a callback could need it.
class CallbackMap {
 public:
  // The caller who last used `dialedElin`, if that mapping is live at nowMs.
  // Matching: digits only (see model::normalizeDialedNumber). With a '+', the digits must equal the
  // ELIN's E.164 digits. Without one, the digits are tried as a full E.164 number and, when
  // they are ten digits shaped like a NANP number (NXX-NXX-XXXX), also with the country code
  // '1' in front; if both forms have a live mapping the number is ambiguous and nothing is
  // returned (the call then goes to the security desk rather than to a guessed person). So
  // "+12175550131", "12175550131", "2175550131" and "+1 (217) 555-0131" all find
  // +12175550131; "+2175550131" does not. Other national formats (UK "0...") are not mapped.
  std::optional<model::CallbackTarget> lookup(std::string_view dialedElin, int64_t nowMs) const;

  // Drops every mapping whose window has ended at nowMs. The proxy calls it from a timer.
  void expire(int64_t nowMs);

  // Mappings held, including ones past their window that expire() has not dropped yet.
  size_t liveMappings() const { return byElin_.size(); }

  // Every mapping held, ordered by ELIN, for the proxy to persist across restarts.
  std::vector<model::CallbackTarget> snapshot() const;
  // Loads mappings persisted by snapshot(). The file is outside our control, so entries with no
  // usable ELIN or with expiry before assignment are skipped; when an ELIN appears twice (or is
  // already held), the mapping assigned last wins.
  void restore(std::vector<model::CallbackTarget> mappings);

  // Key: the ELIN's digits without '+'. Configured ELINs are E.164, so these are unique.
  static std::string keyOf(std::string_view elin);

 private:
  friend class ElinAllocator;

  const model::CallbackTarget* find(const std::string& key) const;
  void put(const std::string& key, model::CallbackTarget target);

  std::unordered_map<std::string, model::CallbackTarget> byElin_;
};

// This node's share of each ELIN pool when several nodes route on one database (issue 22):
// the ELINs at pool positions p with p % count == index. A node hands out an idle ELIN of its
// share before any other, so two nodes routing calls from one place in the same instant (before
// either hears of the other's mapping, or while the database is away) present different ELINs
// as long as the pool has one for each. One node alone: index 0 of 1, the whole pool.
struct ElinShare {
  int index = 0;
  int count = 1;
  bool operator==(const ElinShare&) const = default;
};

// A location whose ELIN pool gives this node none of its own, with its distinct ELINs.
struct PoolWithoutShare {
  const model::Location* location;
  size_t elins;
};
// The locations whose ELIN pool gives this node none of its own under `share`: fewer distinct
// ELINs than share.index + 1. Two callers at one such place routed through two nodes in the same
// instant may be shown one ELIN (each node's rule 2 falls back to the least recently used).
// Empty pools are left out (their calls take the site default); so is everything when the node
// is alone.
std::vector<PoolWithoutShare> poolsWithoutShare(const std::vector<model::Location>& locations,
                                                ElinShare share);

class ElinAllocator {
 public:
  // siteDefaultElins: site name -> the ELIN used when a location of that site has none
  // (demo: "HQ" -> "+12175550100"). callbackWindowMs: how long a mapping stays live; must be
  // positive (throws std::invalid_argument at start-up otherwise).
  explicit ElinAllocator(std::map<std::string, std::string, std::less<>> siteDefaultElins = {},
                         int64_t callbackWindowMs = kDefaultCallbackWindowMs);

  // Chooses the ELIN to present for `caller` at `loc` and records ELIN -> caller until
  // nowMs + window. In order:
  //  1. the caller already holds a live mapping on one of the pool's ELINs: that one again, so
  //     a repeated 911 call does not take a second ELIN from the pool (no warning);
  //  2. an ELIN of the pool with no live mapping, of this node's share first (setShare), then
  //     least recently used first (ties, e.g. never used, in pool order, which the store keeps
  //     least recently used first);
  //  3. all busy: the least recently assigned one, with reusedLive set and counted.
  // A location with no usable ELIN takes its site's default ELIN (same rules), fromFallback set.
  // With no site default either, elin is empty and fromFallback set.
  ElinChoice assign(const model::Location& loc, const model::CallerIdentity& caller, int64_t nowMs);

  // This node's share of the pools (rule 2 of assign); a count under 1 or an index outside it
  // is taken as the whole pool.
  void setShare(ElinShare share);
  const ElinShare& share() const { return share_; }

  CallbackMap& callbacks() { return callbacks_; }
  const CallbackMap& callbacks() const { return callbacks_; }
  const ElinCounters& counters() const { return counters_; }
  int64_t callbackWindowMs() const { return windowMs_; }

 private:
  // Picks among `pool` (configured strings) by the rules of assign() and records the mapping.
  ElinChoice pick(const std::vector<std::string>& pool, const model::CallerIdentity& caller,
                  int64_t nowMs);

  std::map<std::string, std::string, std::less<>> siteDefaults_;
  int64_t windowMs_;
  CallbackMap callbacks_;
  ElinCounters counters_;
  ElinShare share_;
};

}  // namespace sos::routing
