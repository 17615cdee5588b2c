// The LocationSnapshot index primitives (switch keys, longest-prefix match, BSSID lookup) and
// the snapshot's lookups (issue 3). Pure; the indexes are immutable once built.

#include "routing/location_index.h"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>

namespace sos::routing {

using model::BssidRow;
using model::CivicAddress;
using model::DeviceReport;
using model::Location;
using model::LocationData;
using model::PersonalLocationRow;
using model::SiteDefaultRow;
using model::SubnetRow;
using model::SwitchRow;
using model::UserRow;

namespace detail {

namespace {

std::string_view trimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Not std::tolower: no locale lookup per character on the hot path.
char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool isMapped(const model::IpAddress& a) {
  static constexpr std::array<uint8_t, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a.bytes.data(), kMapped.data(), kMapped.size()) == 0;
}

uint64_t load64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

uint32_t v4Mask(int length) { return length == 0 ? 0 : ~0u << (32 - length); }
uint64_t v6Mask(int bits) {  // `bits` of a 64-bit half, 0..64
  return bits <= 0 ? 0 : (bits >= 64 ? ~0ULL : ~0ULL << (64 - bits));
}

}  // namespace

bool switchKey(std::string_view chassis, std::string_view port, bool withPort,
               std::array<char, 520>& buf, std::string_view& out) {
  // LLDP (IEEE 802.1AB) limits chassis and port IDs to 255 octets.
  chassis = trimSpace(chassis);
  port = trimSpace(port);
  if (chassis.empty() || chassis.size() > 255 || (withPort && port.size() > 255)) return false;
  // NUL separates the two parts (and ends the chassis part for a chassis-only lookup), so it
  // may not occur inside either.
  if (chassis.find('\0') != std::string_view::npos) return false;
  if (withPort && port.find('\0') != std::string_view::npos) return false;
  size_t n = 0;
  if (auto mac = model::parseMac(chassis)) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (int shift = 44; shift >= 0; shift -= 4) buf[n++] = kHex[(mac->value >> shift) & 0xf];
  } else {
    for (char c : chassis) buf[n++] = lowerAscii(c);
  }
  if (withPort) {
    buf[n++] = '\0';
    for (char c : port) buf[n++] = lowerAscii(c);
  }
  out = std::string_view(buf.data(), n);
  return true;
}

void appendCidr(std::string& out, const model::Cidr& c) {
  const uint8_t* b = c.network.bytes.data();
  char buf[INET6_ADDRSTRLEN + 8];  // the address, '/', up to three digits
  char* end = buf;
  if (c.network.v4) {
    // By hand: inet_ntop formats IPv4 through sprintf, a third of a subnet hit's time. Digit by
    // digit rather than with std::to_chars, whose end pointer GCC 12 cannot bound at -O3
    // (-Wstringop-overflow on the '.' written after it).
    for (int i = 12; i < 16; ++i) {
      unsigned v = b[i];
      if (v >= 100) *end++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *end++ = static_cast<char>('0' + v / 10 % 10);
      *end++ = static_cast<char>('0' + v % 10);
      *end++ = i < 15 ? '.' : '/';
    }
  } else {
    inet_ntop(AF_INET6, b, buf, sizeof buf);
    end = buf + std::strlen(buf);
    *end++ = '/';
  }
  end = std::to_chars(end, buf + sizeof buf, c.prefixLength).ptr;
  out.append(buf, end);
}

uint32_t LocationIndexes::findSubnet(const model::IpAddress& a, model::Cidr& matched) const {
  auto hit = [&](uint32_t location, int length, bool v4) {
    matched.network = a;
    matched.network.v4 = v4;
    matched.prefixLength = length;
    // Clear the host bits, as parseCidr does, so the network reads as the row was written.
    int keep = v4 ? 96 + length : length;
    for (int i = 0; i < 16; ++i) {
      int bits = std::clamp(keep - i * 8, 0, 8);
      matched.network.bytes[i] &= static_cast<uint8_t>(bits == 0 ? 0 : 0xff << (8 - bits));
    }
    return location;
  };
  if (isMapped(a)) {
    // RFC 4291 section 2.5.5.2: IPv4 (and IPv4-mapped IPv6) addresses go to the IPv4 table.
    uint32_t addr = (uint32_t{a.bytes[12]} << 24) | (uint32_t{a.bytes[13]} << 16) |
                    (uint32_t{a.bytes[14]} << 8) | a.bytes[15];
    for (uint32_t lengths = v4Under16[addr >> 16]; lengths != 0;) {
      int bit = 31 - std::countl_zero(lengths);
      int length = 16 + bit;
      uint32_t loc = v4.find((uint64_t(length) << 32) | (addr & v4Mask(length)));
      if (loc != kNone) return hit(loc, length, true);
      lengths &= ~(1u << bit);
    }
    for (uint32_t lengths = v4Short; lengths != 0;) {
      int length = 31 - std::countl_zero(lengths);
      uint32_t loc = v4.find((uint64_t(length) << 32) | (addr & v4Mask(length)));
      if (loc != kNone) return hit(loc, length, true);
      lengths &= ~(1u << length);
    }
    return kNone;
  }
  uint64_t hi = load64(a.bytes.data());
  uint64_t lo = load64(a.bytes.data() + 8);
  for (uint8_t length : v6Lengths) {
    V6Key key{hi & v6Mask(length), lo & v6Mask(length - 64), length};
    uint32_t loc = v6.find(key);
    if (loc != kNone) return hit(loc, length, false);
  }
  return kNone;
}

uint32_t LocationIndexes::findBssid(uint64_t mac, bool& viaWildcard) const {
  uint32_t loc = bssidExact.find(mac);
  viaWildcard = loc == kNone;
  if (loc == kNone) loc = bssidWildcard.find(mac & ~0xFULL);
  return loc;
}

size_t LocationIndexes::memoryBytes() const {
  size_t n = locationByKey.memoryBytes() + personalByKey.memoryBytes() +
             (locationPlace.capacity() + personalPlace.capacity()) * sizeof(Place) +
             v4.memoryBytes() + v4Under16.capacity() * sizeof(uint32_t) + v6.memoryBytes() +
             v6Lengths.capacity() + bssidExact.memoryBytes() + bssidWildcard.memoryBytes() +
             switchEntries.capacity() * sizeof(SwitchEntry) + chassisPort.memoryBytes() +
             chassis.memoryBytes() + userByExtension.memoryBytes() + userByDid.memoryBytes() +
             userByMac.memoryBytes() + personal.capacity() * sizeof(PersonalEntry) +
             personalByExtension.memoryBytes() + siteEntries.capacity() * sizeof(SiteEntry) +
             siteDefault.memoryBytes() + reportByExtension.memoryBytes() +
             elinEntries.capacity() * sizeof(ElinEntry) + elinByNumber.memoryBytes();
  for (const auto& e : switchEntries) n += e.key.capacity() > 15 ? e.key.capacity() + 1 : 0;
  for (const auto& e : elinEntries) n += e.number.capacity() > 15 ? e.number.capacity() + 1 : 0;
  for (const auto& p : personal) {
    n += p.networks.capacity() * sizeof(model::Cidr) + p.bssids.capacity() * sizeof(model::Mac);
  }
  return n;
}

}  // namespace detail

const UserRow* LocationSnapshot::findUser(std::string_view extensionOrDid) const {
  if (extensionOrDid.empty()) return nullptr;
  const auto& users = data_.users;
  uint32_t i = idx_->userByExtension.find(
      extensionOrDid, [&](uint32_t v) { return std::string_view(users[v].extension); });
  if (i == detail::kNone) {
    i = idx_->userByDid.find(extensionOrDid,
                             [&](uint32_t v) { return std::string_view(users[v].did); });
  }
  return i == detail::kNone ? nullptr : &users[i];
}

const UserRow* LocationSnapshot::findUserByMac(std::string_view mac) const {
  auto bits = model::parseMac(mac);
  if (!bits) return nullptr;
  uint32_t i = idx_->userByMac.find(bits->value);
  return i == detail::kNone ? nullptr : &data_.users[i];
}

const DeviceReport* LocationSnapshot::latestReport(std::string_view extension) const {
  const auto& reports = data_.reports;
  uint32_t i = idx_->reportByExtension.find(
      extension, [&](uint32_t v) { return std::string_view(reports[v].extension); });
  return i == detail::kNone ? nullptr : &reports[i];
}

const Location* LocationSnapshot::findLocation(std::string_view key) const {
  uint32_t i = idx_->locationByKey.find(
      key, [&](uint32_t v) { return std::string_view(data_.locations[v].key); });
  if (i != detail::kNone) return &data_.locations[i];
  i = idx_->personalByKey.find(
      key, [&](uint32_t v) { return std::string_view(data_.personal[v].location.key); });
  return i == detail::kNone ? nullptr : &data_.personal[i].location;
}

const Location* LocationSnapshot::siteDefault(std::string_view site) const {
  if (site.empty()) return nullptr;
  const auto& entries = idx_->siteEntries;
  uint32_t i =
      idx_->siteDefault.find(site, [&](uint32_t v) { return std::string_view(entries[v].site); });
  return i == detail::kNone ? nullptr : &data_.locations[entries[i].location];
}

const Location* LocationSnapshot::findElin(std::string_view normalized) const {
  if (normalized.empty()) return nullptr;
  const auto& entries = idx_->elinEntries;
  uint32_t i = idx_->elinByNumber.find(
      normalized, [&](uint32_t v) { return std::string_view(entries[v].number); });
  return i == detail::kNone ? nullptr : entries[i].location;
}

namespace {

size_t heapOf(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; }

size_t heapOf(const std::vector<std::string>& v) {
  size_t n = v.capacity() * sizeof(std::string);
  for (const auto& s : v) n += heapOf(s);
  return n;
}

size_t heapOf(const Location& l) {
  const CivicAddress& c = l.civic;
  size_t n = heapOf(l.key) + heapOf(l.name) + heapOf(l.site) + heapOf(l.elins);
  for (const std::string* s :
       {&c.country, &c.a1,   &c.a2,   &c.a3,  &c.a4,  &c.a5,    &c.a6,     &c.prm,
        &c.prd,     &c.rd,   &c.sts,  &c.pod, &c.pom, &c.rdsec, &c.rdbr,   &c.rdsubbr,
        &c.hno,     &c.hns,  &c.lmk,  &c.loc, &c.flr, &c.nam,   &c.pc,     &c.bld,
        &c.unit,    &c.room, &c.seat, &c.plc, &c.pcn, &c.pobox, &c.addcode}) {
    n += heapOf(*s);
  }
  return n;
}

}  // namespace

// Approximate: vector capacities plus string buffers beyond the small-string capacity, not the
// allocator's own overhead (the benchmark prints the process RSS delta beside it).
size_t LocationSnapshot::memoryBytes() const {
  const LocationData& d = data_;
  size_t n = sizeof(*this) + idx_->memoryBytes();
  n += d.locations.capacity() * sizeof(Location);
  for (const auto& l : d.locations) n += heapOf(l);
  n += d.subnets.capacity() * sizeof(SubnetRow);
  for (const auto& r : d.subnets) n += heapOf(r.cidr) + heapOf(r.locationKey);
  n += d.bssids.capacity() * sizeof(BssidRow);
  for (const auto& r : d.bssids) n += heapOf(r.bssid) + heapOf(r.locationKey);
  n += d.switches.capacity() * sizeof(SwitchRow);
  for (const auto& r : d.switches) n += heapOf(r.chassis) + heapOf(r.port) + heapOf(r.locationKey);
  n += d.users.capacity() * sizeof(UserRow);
  for (const auto& u : d.users) {
    n += heapOf(u.extension) + heapOf(u.did) + heapOf(u.name) + heapOf(u.site) + heapOf(u.macs);
  }
  n += d.personal.capacity() * sizeof(PersonalLocationRow);
  for (const auto& p : d.personal) {
    n += heapOf(p.extension) + heapOf(p.location) + heapOf(p.matchNetworks) + heapOf(p.matchBssids);
  }
  n += d.siteDefaults.capacity() * sizeof(SiteDefaultRow);
  for (const auto& s : d.siteDefaults) n += heapOf(s.site) + heapOf(s.locationKey);
  n += d.reports.capacity() * sizeof(DeviceReport);
  for (const auto& r : d.reports) {
    n += heapOf(r.extension) + heapOf(r.mac) + heapOf(r.ip) + heapOf(r.bssid) + heapOf(r.chassis) +
         heapOf(r.port);
  }
  for (const auto& w : warnings_) n += heapOf(w);
  return n + warnings_.capacity() * sizeof(std::string);
}

}  // namespace sos::routing
