#pragma once
// IP addresses and networks (CIDR): the one parser every library uses, for trusted sources,
// site networks, subnet rows, personal networks and configuration checks alike. Pure;
// thread-agnostic once built.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sos::model {

// An IPv4 address is held as an IPv4-mapped IPv6 address (::ffff:a.b.c.d) so one
// comparison serves both families.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;
  bool operator==(const IpAddress&) const = default;
};

// Parses "10.1.2.45", "2001:db8::1", "[2001:db8::1]" (brackets allowed). Nullopt if not an address.
std::optional<IpAddress> parseIpAddress(std::string_view text);

// 32 for a numeric IPv4 address, 128 for IPv6, 0 otherwise (brackets included: a configured
// host is written bare). Never resolves a name.
int addressBits(std::string_view text);

struct Cidr {
  IpAddress network;     // host bits cleared
  int prefixLength = 0;  // in the address's own family: 0..32 for IPv4, 0..128 for IPv6
  bool contains(const IpAddress& a) const;
};

// Parses "10.0.0.0/8", "2001:db8::/32"; a bare address is a host route (/32 or /128).
// Errors (code "network.invalid") read "'TEXT': what is wrong", e.g.
// "'10.0.0.0/33': prefix length 33 is over 32".
Result<Cidr> parseCidr(std::string_view text);

// What parseCidr would find wrong with `text` ("prefix length 33 is over 32"), or "" when it is
// a network. For messages that name the value themselves (the YAML loaders).
std::string cidrProblem(std::string_view text);

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

}  // namespace sos::model
