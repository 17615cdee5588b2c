// Location resolution at enterprise scale (issue 3): 1,000,000 users, 200,000 subnets,
// 100,000 BSSIDs and 50,000 switch ports. Prints the snapshot build time (target under 5 s),
// its memory, and the time per resolve() (target under 1 us median). Figures, not a gate.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include <unistd.h>

#include "routing/location_resolver.h"

namespace sos::routing {
namespace {

using model::DeviceReport;
using model::Location;
using model::LocationData;
using model::LocationKind;
using model::PersonalLocationRow;
using model::UserRow;

constexpr int kUsers = 1'000'000;
constexpr int kSubnets = 200'000;
constexpr int kBssids = 100'000;
constexpr int kSwitchPorts = 50'000;
constexpr int kSites = 500;
constexpr int kLocations = 40'000;
constexpr int kPersonal = 20'000;
constexpr int64_t kNow = 1'700'000'000'000;

std::string hex(uint64_t v, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(digits, '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) s[i] = kHex[v & 0xf];
  return s;
}

std::string macText(uint64_t mac) {
  std::string h = hex(mac, 12), out;
  for (int i = 0; i < 12; i += 2) {
    if (i) out += ':';
    out += h.substr(i, 2);
  }
  return out;
}

std::string v4Text(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
         std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

// The calls a benchmark cycles through, with the reports they point at.
struct Workload {
  std::vector<CallNetworkData> calls;
  std::vector<DeviceReport> reports;
};

struct World {
  LocationData data;
  std::vector<uint32_t> v4Hosts;    // an address inside each generated IPv4 subnet
  std::vector<std::string> bssids;  // exact BSSIDs that are mapped
  std::vector<std::pair<std::string, std::string>> ports;  // chassis, port
  Workload bssidHit, subnetHit, chassisPortHit, unknownNetwork, mixed;
};

// Deterministic: the same seed gives the same data, so runs compare.
World generate() {
  World w;
  std::mt19937_64 rng(20240531);
  LocationData& d = w.data;
  d.locations.reserve(kLocations + kSites + 1);
  for (int s = 0; s < kSites; ++s) {
    Location l;
    l.key = "site-" + std::to_string(s) + "-default";
    l.name = "Site " + std::to_string(s) + " lobby";
    l.site = "site-" + std::to_string(s);
    l.kind = LocationKind::SiteDefault;
    l.civic.country = "US";
    l.civic.a1 = "IL";
    l.civic.a3 = "Springfield";
    l.civic.hno = std::to_string(100 + s);
    l.civic.rd = "Main";
    l.civic.sts = "St";
    l.civic.flr = "1";
    d.siteDefaults.push_back({l.site, l.key});
    d.locations.push_back(std::move(l));
  }
  for (int i = 0; i < kLocations; ++i) {
    Location l = d.locations[i % kSites];
    l.key = "loc-" + std::to_string(i);
    l.name = "Location " + std::to_string(i);
    l.kind = LocationKind::Company;
    l.civic.flr = std::to_string(i % 20);
    l.civic.room = std::to_string(i % 400);
    l.elins = {"+1217555" + std::to_string(1000 + i % 9000)};
    d.locations.push_back(std::move(l));
  }
  Location account;
  account.key = "account-default";
  account.name = "Registered address";
  account.kind = LocationKind::AccountDefault;
  d.locations.push_back(account);
  d.accountDefaultKey = account.key;
  auto randomLocation = [&] { return "loc-" + std::to_string(rng() % kLocations); };

  // Subnets: mostly /24, a spread of /16../30, and 10% IPv6 (/48../64). No duplicates.
  std::unordered_set<uint64_t> seen;
  std::uniform_int_distribution<int> lengthPick(0, 99);
  d.subnets.reserve(kSubnets);
  while (static_cast<int>(d.subnets.size()) < kSubnets) {
    int p = lengthPick(rng);
    if (p < 10) {
      int length = 48 + static_cast<int>(rng() % 17);
      uint64_t top = (0x20010db8ULL << 32) | (rng() & 0xffffffffULL);
      top &= length == 64 ? ~0ULL : ~0ULL << (64 - length);
      if (!seen.insert(top ^ (uint64_t(length) << 58) ^ 1).second) continue;
      std::string text;
      for (int g = 0; g < 4; ++g) text += hex(top >> (48 - 16 * g), 4) + ":";
      d.subnets.push_back({text + ":/" + std::to_string(length), randomLocation()});
      continue;
    }
    int length = p < 11   ? 16
                 : p < 25 ? 17 + static_cast<int>(rng() % 7)
                 : p < 80 ? 24
                          : 25 + static_cast<int>(rng() % 6);
    auto addr = static_cast<uint32_t>(rng());
    uint32_t net = addr & (~0u << (32 - length));
    if (!seen.insert((uint64_t(length) << 32) | net).second) continue;
    d.subnets.push_back({v4Text(net) + "/" + std::to_string(length), randomLocation()});
    w.v4Hosts.push_back(net | 1);
  }
  d.bssids.reserve(kBssids);
  for (int i = 0; i < kBssids; ++i) {
    uint64_t mac = (rng() & 0xfcffffffffffULL) | 0x000100000000ULL;  // never a placeholder
    if (i % 10 == 0) {
      d.bssids.push_back({macText(mac).substr(0, 16) + "*", randomLocation()});
    } else {
      d.bssids.push_back({macText(mac), randomLocation()});
      w.bssids.push_back(d.bssids.back().bssid);
    }
  }
  d.switches.reserve(kSwitchPorts + kSwitchPorts / 48);
  for (int c = 0; c * 48 < kSwitchPorts; ++c) {
    std::string chassis = macText(0x00aa00000000ULL + static_cast<uint64_t>(c));
    d.switches.push_back({chassis, "", randomLocation()});
    for (int port = 1; port <= 48 && c * 48 + port <= kSwitchPorts; ++port) {
      std::string name = "Gi1/0/" + std::to_string(port);
      d.switches.push_back({chassis, name, randomLocation()});
      w.ports.emplace_back(chassis, name);
    }
  }
  d.users.reserve(kUsers);
  for (int i = 0; i < kUsers; ++i) {
    UserRow u;
    u.extension = std::to_string(1'000'000 + i);
    u.did = "+1217" + std::to_string(2'000'000 + i);
    u.name = "User " + std::to_string(i);
    u.site = "site-" + std::to_string(i % kSites);
    u.macs = {macText(0x0004f2000000ULL + static_cast<uint64_t>(i))};
    u.nomadic = i % 5 == 0;
    d.users.push_back(std::move(u));
  }
  for (int i = 0; i < kPersonal; ++i) {
    PersonalLocationRow p;
    p.extension = std::to_string(1'000'000 + i * (kUsers / kPersonal));
    p.location.key = "home-" + p.extension;
    p.location.name = "Home of " + p.extension;
    p.location.kind = LocationKind::Personal;
    p.location.civic.country = "US";
    p.location.civic.rd = "Elm";
    p.location.civic.hno = std::to_string(i);
    p.matchNetworks = {v4Text(0xcb007100u + static_cast<uint32_t>(i % 256))};
    d.personal.push_back(std::move(p));
  }
  return w;
}

void makeWorkloads(World& w) {
  std::mt19937_64 rng(7);
  constexpr int kCalls = 4096;
  auto caller = [&] { return std::to_string(1'000'000 + rng() % kUsers); };
  for (Workload* wl : {&w.bssidHit, &w.subnetHit, &w.chassisPortHit, &w.unknownNetwork, &w.mixed}) {
    wl->reports.reserve(kCalls);  // calls point into it: no reallocation
  }
  for (int i = 0; i < kCalls; ++i) {
    CallNetworkData c;
    c.extension = caller();
    c.bssid = w.bssids[rng() % w.bssids.size()];
    c.bssidNetworkProvided = true;
    w.bssidHit.calls.push_back(c);

    c = CallNetworkData{};
    c.extension = caller();
    c.contactHost = v4Text(w.v4Hosts[rng() % w.v4Hosts.size()]);
    w.subnetHit.calls.push_back(c);

    c = CallNetworkData{};
    c.extension = caller();
    DeviceReport r;
    r.extension = c.extension;
    const auto& [chassis, port] = w.ports[rng() % w.ports.size()];
    r.chassis = chassis;
    r.port = port;
    r.reportedAtMs = kNow - 60'000;
    w.chassisPortHit.reports.push_back(r);
    c.report = &w.chassisPortHit.reports.back();
    w.chassisPortHit.calls.push_back(c);

    c = CallNetworkData{};
    c.extension = caller();
    c.contactHost = "192.0.2." + std::to_string(rng() % 250);  // TEST-NET-1: never generated
    w.unknownNetwork.calls.push_back(c);
  }
  for (int i = 0; i < kCalls; ++i) {
    const Workload* from[] = {&w.bssidHit, &w.subnetHit, &w.chassisPortHit, &w.unknownNetwork};
    CallNetworkData c = from[i % 4]->calls[i];
    if (c.report) {
      w.mixed.reports.push_back(*c.report);
      c.report = &w.mixed.reports.back();
    }
    w.mixed.calls.push_back(c);
  }
}

long rssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

World* gWorld = nullptr;
const LocationSnapshot* gSnap = nullptr;

// `expected`: the signal these calls should resolve by; the share that did is printed as
// "expected" so a benchmark that quietly measures the wrong path shows it.
void resolveLoop(benchmark::State& state, const Workload& wl, std::optional<Signal> expected) {
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    Resolution r = gSnap->resolve(wl.calls[i], kNow);
    hits += expected && r.signal == *expected;
    benchmark::DoNotOptimize(r);
    if (++i == wl.calls.size()) i = 0;
  }
  if (expected) {
    state.counters["expected"] =
        benchmark::Counter(static_cast<double>(hits), benchmark::Counter::kAvgIterations);
  }
}

void BM_ResolveBssid(benchmark::State& s) { resolveLoop(s, gWorld->bssidHit, Signal::Bssid); }
void BM_ResolveSubnet(benchmark::State& s) { resolveLoop(s, gWorld->subnetHit, Signal::Subnet); }
void BM_ResolveChassisPort(benchmark::State& s) {
  resolveLoop(s, gWorld->chassisPortHit, Signal::ChassisPort);
}
void BM_ResolveUnknownNetwork(benchmark::State& s) {
  resolveLoop(s, gWorld->unknownNetwork, Signal::SiteDefault);
}
void BM_ResolveMixed(benchmark::State& s) { resolveLoop(s, gWorld->mixed, std::nullopt); }

// Keeps the median of each benchmark's repetitions to print one summary at the end.
class MedianReporter : public benchmark::ConsoleReporter {
 public:
  MedianReporter() : ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.aggregate_name == "median") {
        medians.emplace_back(run.run_name.function_name, run.GetAdjustedRealTime());
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::vector<std::pair<std::string, double>> medians;  // ns per call (time unit is ns)
};

}  // namespace
}  // namespace sos::routing

int main(int argc, char** argv) {
  using namespace sos::routing;
  benchmark::Initialize(&argc, argv);

  World world = generate();
  makeWorkloads(world);
  gWorld = &world;
  // The snapshot owns its data: the RSS delta counts the copy handed to build() and the
  // indexes, which is what a snapshot costs. The copy is not part of the build time.
  long rssBefore = rssKiB();
  LocationData copy = world.data;
  auto start = std::chrono::steady_clock::now();
  auto snap = LocationSnapshot::build(std::move(copy));
  double buildSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  long rssAfter = rssKiB();
  gSnap = snap.get();

  std::printf(
      "data: %zu users, %zu subnets, %zu BSSIDs, %zu switch rows, %zu locations, "
      "%zu personal locations\n",
      snap->data().users.size(), snap->data().subnets.size(), snap->data().bssids.size(),
      snap->data().switches.size(), snap->data().locations.size(), snap->data().personal.size());
  std::printf("snapshot build: %.3f s (target < 5 s), %zu warnings\n", buildSeconds,
              snap->warnings().size());
  std::printf(
      "snapshot memoryBytes(): %.1f MiB; process RSS delta over data copy + build: "
      "%.1f MiB\n",
      static_cast<double>(snap->memoryBytes()) / (1 << 20),
      static_cast<double>(rssAfter - rssBefore) / 1024);
  std::fflush(stdout);

  for (auto [name, fn] : {std::pair{"BM_ResolveBssid", &BM_ResolveBssid},
                          std::pair{"BM_ResolveSubnet", &BM_ResolveSubnet},
                          std::pair{"BM_ResolveChassisPort", &BM_ResolveChassisPort},
                          std::pair{"BM_ResolveUnknownNetwork", &BM_ResolveUnknownNetwork},
                          std::pair{"BM_ResolveMixed", &BM_ResolveMixed}}) {
    benchmark::RegisterBenchmark(name, fn)
        ->Unit(benchmark::kNanosecond)
        ->Repetitions(10)
        ->ReportAggregatesOnly(true);
  }
  MedianReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\nresolve() median time per call (target < 1000 ns):\n");
  for (const auto& [name, ns] : reporter.medians)
    std::printf("  %-28s %8.1f ns\n", name.c_str(), ns);
  benchmark::Shutdown();
  return 0;
}
