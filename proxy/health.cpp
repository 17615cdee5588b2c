#include "proxy/health.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace sos::proxy {

void SipHealth::beat(SteadyTime now) {
  lastBeatNs_.store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count(),
      std::memory_order_relaxed);
}

void SipHealth::setDownTrunks(std::vector<std::string> trunks) {
  std::lock_guard<std::mutex> lock(mutex_);
  downTrunks_ = std::move(trunks);
}

void SipHealth::setTrunks(std::vector<TrunkStatus> trunks) {
  std::lock_guard<std::mutex> lock(mutex_);
  trunks_ = std::move(trunks);
  trunksVersion_.fetch_add(1, std::memory_order_release);
}

std::vector<TrunkStatus> SipHealth::trunks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return trunks_;
}

void SipHealth::setListening(bool listening) { listening_ = listening; }

void SipHealth::setStopping() { stopping_ = true; }

SipHealth::View SipHealth::view() const {
  View v;
  v.listening = listening_;
  v.stopping = stopping_;
  if (int64_t ns = lastBeatNs_.load(std::memory_order_relaxed); ns != 0) {
    v.lastBeat =
        SteadyTime(std::chrono::duration_cast<SteadyTime::duration>(std::chrono::nanoseconds(ns)));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  v.downTrunks = downTrunks_;
  return v;
}

namespace {

std::string seconds(std::chrono::steady_clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s",
                std::chrono::duration_cast<std::chrono::duration<double>>(d).count());
  return buf;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

Liveness liveness(const SipHealth::View& sip, SteadyTime now, std::chrono::milliseconds within) {
  if (!sip.lastBeat) return {false, "the SIP thread has not turned its event loop yet"};
  const auto since = now - *sip.lastBeat;
  if (since > within) {
    return {false, "the SIP thread last turned its event loop " + seconds(since) + " ago (limit " +
                       seconds(within) + ")"};
  }
  return {true, "the SIP thread turned its event loop " + seconds(since) + " ago"};
}

Readiness readiness(const ReadinessFacts& facts, const config::Config& config) {
  Readiness r;
  auto problem = [&r](const char* check, std::string reason) {
    r.notReady.push_back({check, std::move(reason)});
  };
  if (facts.sip.stopping) problem("stopping", "sosproxy is stopping (draining calls)");
  if (!facts.sip.listening) problem("sip", "the SIP sockets are not listening");
  if (!facts.live.live) problem("sip", facts.live.detail);
  if (!facts.snapshotLoaded) {
    problem("locations", "no location snapshot is loaded");
  } else if (facts.locations == 0) {
    problem("locations",
            "the location snapshot holds no locations: emergency calls would go out with the "
            "location unknown");
  }
  if (facts.storeProblem) problem("store", *facts.storeProblem);
  if (facts.alertsProblem) problem("alerts", *facts.alertsProblem);

  // A site is served when one trunk of its emergency route (psap_route, then the ERC) is not
  // known to be down. Unprobed trunks are never down. The last resort does not count: it is a
  // carrier that routes the dialed number itself, not a PSAP.
  const auto down = [&facts](const std::string& trunk) {
    return std::find(facts.sip.downTrunks.begin(), facts.sip.downTrunks.end(), trunk) !=
           facts.sip.downTrunks.end();
  };
  for (const auto& site : config.sites) {
    std::vector<std::string> route;
    for (const auto& t : site.psapRoute)
      if (std::find(route.begin(), route.end(), t) == route.end()) route.push_back(t);
    const std::string& erc = config.emergencyRouting.erc;
    if (!erc.empty() && std::find(route.begin(), route.end(), erc) == route.end())
      route.push_back(erc);
    if (route.empty() ||
        std::any_of(route.begin(), route.end(), [&down](const std::string& t) { return !down(t); }))
      continue;
    problem("routes", "site " + site.name + ": every trunk of its route is down: " + joined(route));
  }
  return r;
}

HealthAnswer healthzAnswer(const Liveness& live) {
  if (live.live) return {200, "text/plain", "ok\n"};
  return {503, "text/plain", "not live: " + live.detail + "\n"};
}

HealthAnswer readyzAnswer(const Readiness& ready) {
  nlohmann::ordered_json problems = nlohmann::ordered_json::array();
  for (const auto& p : ready.notReady)
    problems.push_back({{"check", p.check}, {"reason", p.reason}});
  nlohmann::ordered_json body{{"ready", ready.ready()}, {"not_ready", std::move(problems)}};
  return {ready.ready() ? 200 : 503, "application/json",
          body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
}

}  // namespace sos::proxy
