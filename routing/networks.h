#pragma once
// Sets of IPv4/IPv6 networks (CIDR) and the membership test used for trusted sources and
// site networks. Pure; thread-agnostic once built.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sos::routing {

// An IPv4 address is held as an IPv4-mapped IPv6 address (::ffff:a.b.c.d) so one
// comparison serves both families.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;
  bool operator==(const IpAddress&) const = default;
};

// Parses "10.1.2.45", "2001:db8::1", "[2001:db8::1]" (brackets allowed). Nullopt if not an address.
std::optional<IpAddress> parseIpAddress(std::string_view text);

struct Cidr {
  IpAddress network;     // host bits cleared
  int prefixLength = 0;  // in the address's own family: 0..32 for IPv4, 0..128 for IPv6
  bool contains(const IpAddress& a) const;
};

// Parses "10.0.0.0/8", "2001:db8::/32"; a bare address is a host route (/32 or /128).
// Errors name what is wrong ("prefix length 33 is over 32").
Result<Cidr> parseCidr(std::string_view text);

class NetworkSet {
 public:
  NetworkSet() = default;
  explicit NetworkSet(std::vector<Cidr> nets) : nets_(std::move(nets)) {}
  static Result<NetworkSet> parse(const std::vector<std::string>& cidrs);

  bool contains(const IpAddress& a) const;
  bool contains(std::string_view address) const;  // false if `address` does not parse
  bool empty() const { return nets_.empty(); }

 private:
  std::vector<Cidr> nets_;
};

}  // namespace sos::routing
