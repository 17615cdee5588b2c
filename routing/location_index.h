#pragma once
// Internal to routing/: the indexes behind LocationSnapshot. location_build.cpp builds them,
// location_index.cpp holds their lookups, location_resolver.cpp and location_signals.cpp read
// them; nothing outside routing/ includes this header.
//
// Why not std::unordered_map: resolve() runs on the SIP thread for every emergency call and is
// measured at a million users (issue 3: under 1 us median). A node-based map costs a pointer
// chase per probe and an allocation per entry; these open-addressing tables cost one hash and,
// almost always, one cache line. They are built once and never erased from (a new snapshot is
// built instead), so they need no tombstones.

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "model/mac.h"
#include "model/network.h"
#include "routing/location_resolver.h"

namespace sos::routing::detail {

inline constexpr uint32_t kNone = UINT32_MAX;

// The splitmix64 finalizer: every input bit affects every output bit, so the low bits used as
// the slot number are well spread even for keys that differ in their top bits only.
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

inline size_t tableCapacity(size_t n) {
  size_t cap = 8;
  while (cap < 2 * n) cap *= 2;  // load factor at most 1/2
  return cap;
}

// Key -> uint32 (an index into the snapshot's rows). Linear probing, power-of-two capacity.
template <class Key, class Hash>
class FlatMap {
 public:
  void reserve(size_t n) {
    if (tableCapacity(n) > slots_.size()) rehash(tableCapacity(n));
  }
  // Inserts key -> value unless the key is present. Returns the value already there, or kNone
  // when this call inserted it.
  uint32_t insert(const Key& key, uint32_t value) {
    if (slots_.empty() || 2 * (size_ + 1) > slots_.size()) rehash(tableCapacity(size_ + 1));
    size_t mask = slots_.size() - 1;
    for (size_t i = Hash{}(key)&mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.value == kNone) {
        s.key = key;
        s.value = value;
        ++size_;
        return kNone;
      }
      if (s.key == key) return s.value;
    }
  }
  uint32_t find(const Key& key) const {
    if (size_ == 0) return kNone;
    size_t mask = slots_.size() - 1;
    for (size_t i = Hash{}(key)&mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.value == kNone) return kNone;
      if (s.key == key) return s.value;
    }
  }
  size_t size() const { return size_; }
  size_t memoryBytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  struct Slot {
    Key key{};
    uint32_t value = kNone;
  };
  void rehash(size_t capacity) {
    std::vector<Slot> old(capacity);
    old.swap(slots_);
    size_ = 0;
    for (const Slot& s : old) {
      if (s.value != kNone) insert(s.key, s.value);
    }
  }
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

struct U64Hash {
  size_t operator()(uint64_t k) const { return static_cast<size_t>(mix64(k)); }
};

// An IPv6 prefix: the network's 128 bits (host bits cleared) and its length.
struct V6Key {
  uint64_t hi = 0, lo = 0;
  uint32_t length = 0;
  bool operator==(const V6Key&) const = default;
};
struct V6Hash {
  size_t operator()(const V6Key& k) const {
    return static_cast<size_t>(mix64(k.hi ^ mix64(k.lo ^ k.length)));
  }
};

// String -> uint32 without a copy of the strings: a slot holds a hash tag and the value, and
// keyOf(value) yields the key to compare. The keys live in the snapshot's rows (or in entries
// the index owns), which do not move once built.
class StringIndex {
 public:
  using KeyOf = std::function<std::string_view(uint32_t)>;

  void reserve(size_t n, const KeyOf& keyOf) {
    if (tableCapacity(n) > slots_.size()) rehash(tableCapacity(n), keyOf);
  }
  // As FlatMap::insert.
  uint32_t insert(std::string_view key, uint32_t value, const KeyOf& keyOf) {
    if (slots_.empty() || 2 * (size_ + 1) > slots_.size()) {
      rehash(tableCapacity(size_ + 1), keyOf);
    }
    uint64_t h = hashOf(key);
    auto tag = static_cast<uint32_t>(h >> 32);
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.value == kNone) {
        s = Slot{tag, value};
        ++size_;
        return kNone;
      }
      if (s.tag == tag && keyOf(s.value) == key) return s.value;
    }
  }
  // Points an existing key at a new value (same key, so the slot stays valid). False if absent.
  bool replace(std::string_view key, uint32_t value, const KeyOf& keyOf) {
    if (size_ == 0) return false;
    uint64_t h = hashOf(key);
    auto tag = static_cast<uint32_t>(h >> 32);
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.value == kNone) return false;
      if (s.tag == tag && keyOf(s.value) == key) {
        s.value = value;
        return true;
      }
    }
  }
  // A template rather than KeyOf so the hot path pays no std::function call.
  template <class F>
  uint32_t find(std::string_view key, const F& keyOf) const {
    if (size_ == 0) return kNone;
    uint64_t h = hashOf(key);
    auto tag = static_cast<uint32_t>(h >> 32);
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.value == kNone) return kNone;
      if (s.tag == tag && keyOf(s.value) == key) return s.value;
    }
  }
  size_t size() const { return size_; }
  size_t memoryBytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  struct Slot {
    uint32_t tag = 0;
    uint32_t value = kNone;
  };
  static uint64_t hashOf(std::string_view key) { return mix64(std::hash<std::string_view>{}(key)); }
  void rehash(size_t capacity, const KeyOf& keyOf) {
    std::vector<Slot> old(capacity);
    old.swap(slots_);
    size_ = 0;
    for (const Slot& s : old) {
      if (s.value != kNone) insert(keyOf(s.value), s.value, keyOf);
    }
  }
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// "10.1.2.0/24", "2001:db8::/32".
void appendCidr(std::string& out, const model::Cidr& c);

// The form switch keys are compared in: a MAC chassis ID as 12 lower-case hex digits, any other
// chassis ID (LLDP also allows names and addresses) and every port ID lower-cased and trimmed.
// Writes into `buf` (no allocation: called on the hot path); false if it does not fit.
bool switchKey(std::string_view chassis, std::string_view port, bool withPort,
               std::array<char, 520>& buf, std::string_view& out);

struct PersonalEntry {
  uint32_t row = 0;  // into LocationData::personal
  std::vector<model::Cidr> networks;
  std::vector<model::Mac> bssids;
};

struct SwitchEntry {
  std::string key;  // switchKey() form
  uint32_t row = 0;
  uint32_t location = kNone;
};

// An ELIN of some location's pool, in model::normalizeDialedNumber's form ("+12175550102").
struct ElinEntry {
  std::string number;
  const model::Location* location = nullptr;  // into LocationData::locations or ::personal
};

struct SiteEntry {
  std::string site;
  uint32_t location = kNone;
};

// The civic fields the conflict rule compares (location_resolver.cpp, differentPlace): the
// street address, the building and the floor.
inline constexpr std::array<std::string model::CivicAddress::*, 11> kPlaceFields{
    &model::CivicAddress::country, &model::CivicAddress::a1,  &model::CivicAddress::a2,
    &model::CivicAddress::a3,      &model::CivicAddress::rd,  &model::CivicAddress::sts,
    &model::CivicAddress::hno,     &model::CivicAddress::hns, &model::CivicAddress::pc,
    &model::CivicAddress::bld,     &model::CivicAddress::flr};

// A location reduced to what the conflict rule compares, as interned ids (0: empty). Dense, so
// comparing two matches does not pull two kilobyte-sized Location objects into the cache.
struct Place {
  uint32_t site = 0;
  std::array<uint32_t, kPlaceFields.size()> civic{};
};

inline constexpr size_t kSignalCount = 9;

// All values are indices into the snapshot's LocationData vectors, which are never resized
// once indexing starts.
struct LocationIndexes {
  // Position of each Signal in ResolverSettings::order; -1 when the order leaves it out. The
  // account default always ranks last, whatever the order says.
  std::array<int, kSignalCount> rank{};

  StringIndex locationByKey;         // -> locations
  std::vector<Place> locationPlace;  // parallel to LocationData::locations
  std::vector<Place> personalPlace;  // parallel to LocationData::personal
  StringIndex personalByKey;         // -> personal (findLocation's fallback)

  // IPv4: one table keyed (length << 32 | network), walked longest prefix first over only the
  // lengths present. Lengths 16..32 are recorded per /16 (bit length-16 of v4Under16[top 16
  // bits]), so an address in a /16 no subnet touches costs one array read, not 17 probes.
  // Network tables map straight to locations (not to rows): a hit costs one cache miss less,
  // and the explanation is written from the key itself.
  FlatMap<uint64_t, U64Hash> v4;    // -> locations
  std::vector<uint32_t> v4Under16;  // 65536 masks
  uint32_t v4Short = 0;             // bit n: some subnet has length n < 16
  FlatMap<V6Key, V6Hash> v6;        // -> locations
  std::vector<uint8_t> v6Lengths;   // lengths present, longest first

  FlatMap<uint64_t, U64Hash> bssidExact;     // 48-bit BSSID -> locations
  FlatMap<uint64_t, U64Hash> bssidWildcard;  // BSSID with the last digit cleared -> locations

  std::vector<SwitchEntry> switchEntries;
  StringIndex chassisPort;  // -> switchEntries (rows with a port)
  StringIndex chassis;      // -> switchEntries (rows without one)

  StringIndex userByExtension, userByDid;  // -> users
  FlatMap<uint64_t, U64Hash> userByMac;    // -> users

  std::vector<PersonalEntry> personal;  // grouped by extension, row order within a group
  StringIndex personalByExtension;      // -> first entry of the group

  std::vector<SiteEntry> siteEntries;
  StringIndex siteDefault;  // -> siteEntries

  StringIndex reportByExtension;  // -> reports (the newest per extension)

  std::vector<ElinEntry> elinEntries;
  StringIndex elinByNumber;  // -> elinEntries (PSAP callbacks: is a dialed number our ELIN?)

  uint32_t accountDefault = kNone;  // -> locations

  // Longest-prefix match: the location (kNone if no subnet holds `a`) and the network matched.
  uint32_t findSubnet(const model::IpAddress& a, model::Cidr& matched) const;
  // Exact BSSID first, then the wildcard rows. Returns the location or kNone.
  uint32_t findBssid(uint64_t mac, bool& viaWildcard) const;
  size_t memoryBytes() const;
};

}  // namespace sos::routing::detail

namespace sos::routing {
struct LocationSnapshot::Indexes : detail::LocationIndexes {};
}  // namespace sos::routing
