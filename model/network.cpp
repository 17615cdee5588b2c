#include "model/network.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <initializer_list>

#include "base/text.h"

namespace sos::model {

namespace {

// ::ffff:0:0/96 (RFC 4291 section 2.5.5.2): the first 96 bits of every IPv4-mapped address.
constexpr std::array<uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool isMapped(const std::array<uint8_t, 16>& bytes) {
  return std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes.begin());
}

// True when the first `bits` bits of a and b agree.
bool samePrefix(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, int bits) {
  int whole = bits / 8;
  if (!std::equal(a.begin(), a.begin() + whole, b.begin())) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

void clearHostBits(std::array<uint8_t, 16>& bytes, int bits) {
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(bits - i * 8, 0, 8);
    auto mask = static_cast<uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
    bytes[i] &= mask;
  }
}

// The parts joined. Not `"literal" + std::string(...)`: GCC 12 at -O3 sees that operator+
// (an insert at the front of a temporary) as an overlapping memcpy and warns (-Wrestrict, a
// known false positive of GCC 12).
std::string joined(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out += p;
  return out;
}

std::string quoted(std::string_view text) { return joined({"'", text, "'"}); }

// Parses `text` into `out`; returns what is wrong, or "" when it is a network.
std::string parseInto(std::string_view text, Cidr& out) {
  std::string_view t = trimBlanks(text);
  if (t.empty()) return "empty network";
  std::string_view addressPart = t;
  std::optional<std::string_view> prefixPart;
  if (auto slash = t.find('/'); slash != std::string_view::npos) {
    addressPart = t.substr(0, slash);
    prefixPart = t.substr(slash + 1);
  }
  auto address = parseIpAddress(addressPart);
  if (!address) return joined({quoted(addressPart), " is not an IPv4 or IPv6 address"});
  int maxLength = address->v4 ? 32 : 128;
  int length = maxLength;
  if (prefixPart) {
    if (prefixPart->empty()) return "prefix length is missing after '/'";
    const char* first = prefixPart->data();
    const char* last = first + prefixPart->size();
    auto [end, ec] = std::from_chars(first, last, length);
    std::string over = joined({" is over ", std::to_string(maxLength)});
    // from_chars accepts a leading '-'; a prefix length is plain digits only.
    if (ec == std::errc::result_out_of_range) {
      return joined({"prefix length ", *prefixPart, over});
    }
    if (ec != std::errc{} || end != last || prefixPart->front() == '-') {
      return joined({"prefix length ", quoted(*prefixPart), " is not a number"});
    }
    if (length > maxLength) return joined({"prefix length ", std::to_string(length), over});
  }
  out.network = *address;
  out.prefixLength = length;
  // "::ffff:10.0.0.0/104" is the IPv4 network 10.0.0.0/8 written in IPv6: store it as such so
  // it matches IPv4 sources as its author meant.
  if (!out.network.v4 && length >= 96 && isMapped(out.network.bytes)) {
    out.network.v4 = true;
    out.prefixLength = length - 96;
  }
  // Host bits are cleared rather than refused: "10.1.2.3/8" plainly means 10.0.0.0/8.
  clearHostBits(out.network.bytes, out.network.v4 ? 96 + out.prefixLength : out.prefixLength);
  return {};
}

}  // namespace

std::optional<IpAddress> parseIpAddress(std::string_view text) {
  // "[2001:db8::1]" is how SIP writes IPv6 hosts (RFC 3261 section 25.1, IPv6reference).
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  // inet_pton reads a C string: an embedded NUL would silently cut the input short, and the
  // longest textual IPv6 address is INET6_ADDRSTRLEN - 1 characters.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN ||
      text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  std::string s(text);
  IpAddress a;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), a.bytes.begin());
    std::memcpy(a.bytes.data() + 12, &v4.s_addr, 4);  // s_addr is already network order
    a.v4 = true;
    return a;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(a.bytes.data(), &v6, 16);
    // A written "::ffff:10.1.2.3" stays an IPv6 address (v4 false); it still matches IPv4
    // networks because the bytes are the same mapped form.
    return a;
  }
  return std::nullopt;
}

bool Cidr::contains(const IpAddress& a) const {
  if (network.v4) {
    // IPv4 networks are compared in the mapped space: the 96-bit ::ffff prefix must agree too,
    // so a pure IPv6 address can never fall inside an IPv4 network.
    return samePrefix(network.bytes, a.bytes, 96 + prefixLength);
  }
  // An IPv6 network never takes in IPv4 (mapped) addresses: "::/0" in trusted_networks means
  // "every IPv6 source", and must not quietly trust every IPv4 source as well. Mapped networks
  // are turned into IPv4 ones by parseCidr, so the mapping is still honoured there.
  if (isMapped(a.bytes)) return false;
  return samePrefix(network.bytes, a.bytes, prefixLength);
}

int addressBits(std::string_view text) {
  if (!text.empty() && text.front() == '[') return 0;
  auto a = parseIpAddress(text);
  if (!a) return 0;
  return a->v4 ? 32 : 128;
}

Result<Cidr> parseCidr(std::string_view text) {
  Cidr c;
  std::string problem = parseInto(text, c);
  if (problem.empty()) return c;
  return Error{"network.invalid", joined({quoted(text), ": ", problem})};
}

std::string cidrProblem(std::string_view text) {
  Cidr c;
  return parseInto(text, c);
}

Result<NetworkSet> NetworkSet::parse(const std::vector<std::string>& cidrs) {
  std::vector<Cidr> nets;
  nets.reserve(cidrs.size());
  for (const auto& text : cidrs) {
    auto c = parseCidr(text);
    if (!c) return c.error();
    nets.push_back(c.value());
  }
  return NetworkSet(std::move(nets));
}

bool NetworkSet::contains(const IpAddress& a) const {
  return std::any_of(nets_.begin(), nets_.end(), [&](const Cidr& c) { return c.contains(a); });
}

bool NetworkSet::contains(std::string_view address) const {
  auto a = parseIpAddress(address);
  return a && contains(*a);
}

}  // namespace sos::model
