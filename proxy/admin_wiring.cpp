#include "proxy/admin_wiring.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "notify/channels.h"
#include "proxy/b2bua.h"
#include "proxy/health.h"
#include "proxy/live_dashboard.h"
#include "proxy/metrics.h"

namespace sos::proxy {

namespace {

// One e-mail through notifications.smtp, from the I/O thread; a failed delivery is logged.
// `what` names it in the log ("location request 7"). Not through the outbox: each use is one a
// lost message costs nothing (the request stays listed until decided, the user is asked again).
void sendMail(boost::asio::io_context& io, const config::Config& cfg, const std::string& to,
              const std::string& subject, const std::string& body, const std::string& what) {
  static uint64_t sent = 0;
  notify::MailRequest mail = notify::relayRequest(cfg.notifications);
  mail.to = to;
  mail.subject = subject;
  mail.body = body;
  mail.messageId =
      "<mail-" + std::to_string(unixMsNow()) + "-" + std::to_string(++sent) + "@sosproxy>";
  mail.timeout = std::chrono::milliseconds(cfg.notifications.timeoutMs);
  notify::sendMail(io, std::move(mail), [what, to](const Result<void>& done) {
    if (done.ok()) {
      spdlog::info("{}: {} told by e-mail", what, to);
    } else {
      spdlog::warn("{}: e-mail to {} not delivered: {}", what, to, done.error().message);
    }
  });
}

// A submitted company location (issue 17): each approver (sites[].approvers) gets an e-mail.
void tellApprovers(boost::asio::io_context& io, const config::Config& cfg,
                   const store::LocationRequest& r, const std::string& subject,
                   const std::string& body) {
  const auto site = std::find_if(cfg.sites.begin(), cfg.sites.end(),
                                 [&](const config::Site& s) { return s.name == r.site; });
  if (site == cfg.sites.end() || site->approvers.empty()) {
    spdlog::warn(
        "location request {} of site {}: nobody to tell (sites[].approvers is empty); "
        "it waits at /api/v1/location-requests",
        r.id, r.site);
    return;
  }
  for (const auto& to : site->approvers) {
    sendMail(io, cfg, to, subject, body, "location request " + std::to_string(r.id));
  }
}

// What a desk phone on a new network saw, for the messages about it: "IP 10.1.3.7, BSSID ...".
std::string seenBy(const model::DeviceReport& r) {
  std::string seen = "IP " + r.ip;
  if (!r.bssid.empty()) seen += ", BSSID " + r.bssid;
  if (!r.chassis.empty()) seen += ", switch " + r.chassis + " port " + r.port;
  return seen;
}

// The SIP MESSAGE to a desk phone on a new network (location.desk_phone_moved: phone), sent by
// the SIP thread to the address the report came from (`peer`), at location.phone_sip_port, and
// only when the report names that same address (admin::deskPhoneMessageRefusal): the report's
// body is its token holder's to write, the address it came from is not. Not sent: logged and
// counted by reason. Its answer (or none) is logged; nothing waits for it.
void messageDeskPhone(Running& run, const model::DeviceReport& r, const model::UserRow& user,
                      const std::string& peer) {
  const config::Config& cfg = *run.current;
  if (const std::string why = admin::deskPhoneMessageRefusal(r.ip, peer); !why.empty()) {
    spdlog::warn("desk phone {} of {} on a new network: no SIP MESSAGE sent: {}", r.mac,
                 user.extension, why);
    run.locations.counters().deskPhoneMessagesWithheld.add(r.ip.empty() ? "no-address"
                                                                        : "reported-ip-not-sender");
    return;
  }
  // The report's IP is the peer's address here, written as the report writes it (IPv4 where a
  // dual-stack socket said ::ffff:...).
  const bool v6 = r.ip.find(':') != std::string::npos;
  notify::SipMessageRequest m;
  m.uri = "sip:" + user.extension + "@" + (v6 ? "[" + r.ip + "]" : r.ip) + ":" +
          std::to_string(cfg.location.phoneSipPort);
  m.body = "sosproxy: this phone (extension " + user.extension + ", MAC " + r.mac +
           ") is on a network it has not been seen on: " + seenBy(r) +
           ". If it has moved, confirm where it is now at " + cfg.selfServiceUrl() +
           " (My emergency location), so that an emergency call from it reports the right "
           "place.";
  m.timeout = std::chrono::milliseconds(cfg.notifications.timeoutMs);
  const std::string what = "desk phone " + r.mac + " (MESSAGE to " + m.uri + ")";
  auto io = &run.io;
  auto done = [what](const Result<void>& result) {
    if (result.ok()) {
      spdlog::info("{}: delivered", what);
    } else {
      spdlog::warn("{}: not delivered: {}", what, result.error().message);
    }
  };
  const bool posted = run.server.post([m = std::move(m), done, io](B2bua& b) mutable {
    b.messages().send(m, [done, io](Result<void> result) {
      boost::asio::post(*io, [done, result = std::move(result)] { done(result); });
    });
  });
  if (posted) run.locations.counters().deskPhoneMessagesSent.fetch_add(1);
  if (!posted) done(Error{"sip.down", "the SIP thread is not running"});
}

// A desk phone on a network new for its user (issue 17): whom location.desk_phone_moved (or the
// site's own setting) names is told what was seen: the user and the site's approvers by e-mail,
// the phone by a SIP MESSAGE.
void tellDeskPhoneMoved(Running& run, const model::DeviceReport& r, const model::UserRow& user,
                        const std::string& peer) {
  const config::Config& cfg = *run.current;
  const config::DeskPhoneMoved& tell = cfg.deskPhoneMovedTells(user.site);
  const std::string seen = seenBy(r);
  if (tell.user) {
    store::Store* const db = run.locations.store();
    auto email = db != nullptr ? db->userEmail(user.extension) : Result<std::string>("");
    if (!email.ok() || email.value().empty()) {
      spdlog::info("desk phone {} of {} on a new network ({}): no e-mail address to tell", r.mac,
                   user.extension, r.ip);
    } else {
      sendMail(run.io, cfg, email.value(), "sosproxy: your desk phone is on a new network",
               "Hello" + (user.name.empty() ? std::string() : " " + user.name) +
                   ",\n\nyour desk phone (MAC " + r.mac + ", extension " + user.extension +
                   ") now reports from a network it has not been seen on: " + seen +
                   ".\nIf the phone has moved, confirm where it is now when it asks, or on "
                   "the page My emergency location, " +
                   cfg.selfServiceUrl() +
                   ", so that an emergency call from it reports the right place.\n",
               "desk phone " + r.mac);
    }
  }
  if (tell.approvers) {
    const config::Site* site = cfg.findSite(user.site);
    if (site == nullptr || site->approvers.empty()) {
      spdlog::info("desk phone {} of {} on a new network: site {} has no approvers to tell", r.mac,
                   user.extension, user.site);
    } else {
      for (const auto& to : site->approvers) {
        sendMail(run.io, cfg, to,
                 "sosproxy: desk phone of " + user.extension + " is on a new network",
                 "The desk phone of " + user.extension +
                     (user.name.empty() ? std::string() : " (" + user.name + ")") + ", MAC " +
                     r.mac + ", site " + user.site +
                     ", now reports from a network it has not been seen on: " + seen +
                     ".\nIf it has moved, its user confirms where it is now when it asks; a "
                     "network of the company it is on can be added to a company location "
                     "(POST /api/v1/locations/KEY/networks).\n",
                 "desk phone " + r.mac);
      }
    }
  }
  if (tell.phone) messageDeskPhone(run, r, user, peer);
}

// A submitted company location decided (issue 17): its user is told by e-mail, if they have one.
void tellRequestUser(Running& run, const store::LocationRequest& r, const std::string& subject,
                     const std::string& body) {
  store::Store* const db = run.locations.store();
  auto email = db != nullptr ? db->userEmail(r.extension) : Result<std::string>("");
  if (!email.ok() || email.value().empty()) {
    spdlog::info("location request {} decided: {} has no e-mail address to tell", r.id,
                 r.extension);
    return;
  }
  sendMail(run.io, *run.current, email.value(), subject, body,
           "location request " + std::to_string(r.id) + " decided");
}

// /readyz (I/O thread): the SIP thread, snapshot, store, outbox and sites.
Readiness checkReadiness(Running& run) {
  ReadinessFacts facts;
  facts.sip = run.server.health().view();
  facts.live = liveness(facts.sip, std::chrono::steady_clock::now());
  const auto snapshot = run.locations.snapshot();
  facts.snapshotLoaded = snapshot != nullptr;
  facts.locations = snapshot ? snapshot->data().locations.size() : 0;
  facts.storeProblem = run.locations.storeProblem();
  if (run.notifier) facts.alertsProblem = run.notifier->outboxProblem();
  return readiness(facts, *run.reloader->running());
}

// /metrics over every part's counters. Each probed trunk of the configuration in force is up
// unless its probes found it down; both listeners' refusals count together (a spoofing attempt
// on the phones' listener is one like any other).
std::string metricsText(Running& run) {
  std::vector<TrunkState> trunks;
  const auto down = run.server.health().view().downTrunks;
  for (const auto& t : run.current->trunks) {
    if (t.optionsIntervalMs <= 0) continue;
    trunks.push_back({t.name, std::find(down.begin(), down.end(), t.name) == down.end()});
  }
  return prometheusText(
      run.server.counters(), run.locations.counters(), run.reloader->counters(),
      LogLoss{run.routingLog.dropped(), run.console.dropped(), run.routingLog.reopenFailures()},
      run.notifier ? &run.notifier->counters() : nullptr,
      run.routes != nullptr ? &run.routes->counters() : nullptr,
      run.deviceRoutes != nullptr ? &run.deviceRoutes->counters() : nullptr, trunks,
      run.live != nullptr ? &run.live->counters() : nullptr);
}

admin::AdminRoutes::Tokens tokenStore(store::Store* db) {
  admin::AdminRoutes::Tokens tokens;
  if (db == nullptr) return tokens;
  tokens.find = [db](const std::string& hash) { return db->findTokenByHash(hash); };
  tokens.list = [db] { return db->listTokens(); };
  tokens.create = [db](store::ApiToken& t, const store::AuditEntry& e) {
    return db->createToken(t, &e);
  };
  tokens.revoke = [db](const std::string& name, const store::AuditEntry& e) {
    return db->revokeToken(name, e.atMs, &e);
  };
  tokens.audit = [db](const store::AuditEntry& e) { return db->appendAudit(e); };
  tokens.loadAudit = [db](const store::AuditQuery& q) { return db->loadAudit(q); };
  tokens.findLogin = [db](const std::string& name) { return db->findPasswordLogin(name); };
  return tokens;
}

int64_t now() { return unixMsNow(); }

admin::LocationApi::Deps locationDeps(Running& run) {
  return {[&run](model::DeviceReport& r) { return run.locations.saveReport(r); },
          [&run] { return run.locations.snapshot(); },
          [&run](const model::DeviceReport& r) {
            run.server.post([r](B2bua& b) { b.plannerState().addReport(r); });
          },
          now,
          [&run](const model::DeviceReport& r, const model::UserRow& user,
                 const std::string& peer) { tellDeskPhoneMoved(run, r, user, peer); }};
}

admin::LocationsApi::Deps locationsDeps(Running& run) {
  store::Store* const db = run.locations.store();
  return {[&run] { return run.locations.snapshot(); },
          [db, &run](const std::string& text, const std::string& key,
                     const store::AuditEntry& audit) -> Result<store::Store::LocationWrite> {
            if (db == nullptr) return Error{"store.write", "no store is open"};
            auto written = db->putLocation(text, key, audit);
            if (written.ok()) run.locations.rebuild();  // the next call sees it
            return written;
          },
          [db, &run](const std::string& key, const store::AuditEntry& audit) -> Result<bool> {
            if (db == nullptr) return Error{"store.write", "no store is open"};
            auto removed = db->deleteLocation(key, audit);
            if (removed.ok() && removed.value()) run.locations.rebuild();
            return removed;
          },
          now};
}

admin::CallsApi::Deps callsDeps(store::Store* db) {
  return {[db](const store::CallQuery& q) -> Result<std::vector<store::CallRecord>> {
            if (db == nullptr) return std::vector<store::CallRecord>{};
            return db->findCallRecords(q);
          },
          [db](const std::string& callId) -> Result<std::optional<store::CallAlert>> {
            if (db == nullptr) return std::optional<store::CallAlert>{};
            return db->loadCallAlert(callId);
          },
          [db](const std::string& callId) -> Result<std::vector<store::NotificationJob>> {
            if (db == nullptr) return std::vector<store::NotificationJob>{};
            return db->loadNotificationJobs(callId);
          }};
}

admin::OpsApi::Deps opsDeps(Running& run) {
  store::Store* const db = run.locations.store();
  return {[&run] { return run.reloader->running(); },
          [&run] { return run.server.health().view().downTrunks; },
          [db]() -> Result<std::vector<model::CallbackTarget>> {
            if (db == nullptr) return std::vector<model::CallbackTarget>{};
            return db->loadElinMappings();
          },
          [&run] { return run.locations.snapshot(); },
          now,
          [&run] { return trunkFacts(run.server.health().trunks()); }};
}

// Users, desk phones, locations, personal locations and sites written by the API: checked and
// written by the store, then the snapshot rebuilt, so the next call sees the change.
using ApplyRecords = std::function<Result<store::ImportResult>(const store::ImportRequest&)>;
ApplyRecords applyRecords(Running& run) {
  store::Store* const db = run.locations.store();
  return [db, &run](const store::ImportRequest& request) -> Result<store::ImportResult> {
    if (db == nullptr) return Error{"store.write", "no store is open"};
    auto applied = db->applyRecords(request);
    if (applied.ok() && applied.value().written) run.locations.rebuild();
    return applied;
  };
}

admin::RecordsApi::Deps recordsDeps(Running& run) {
  store::Store* const db = run.locations.store();
  return {[db](store::DataKind kind) -> Result<std::vector<store::DataRecord>> {
            if (db == nullptr) return Error{"store.read", "no store is open"};
            return db->loadRecords(kind);
          },
          applyRecords(run),
          [db](store::DataKind kind, const std::vector<std::string>& sites) -> Result<std::string> {
            if (db == nullptr) return Error{"store.read", "no store is open"};
            return db->exportCsv(kind, sites);
          },
          now,
          [&run](const std::string& extension) -> std::string {
            const auto snapshot = run.locations.snapshot();
            const model::UserRow* user = snapshot ? snapshot->findUser(extension) : nullptr;
            if (user == nullptr || snapshot->nomadicAllowed(user->site)) return "";
            return user->site;
          },
          [&run] { return run.current->location.temporaryHoldSeconds * 1000; }};
}

std::function<Result<std::vector<store::LocationRequest>>(const store::LocationRequestQuery&)>
loadRequests(store::Store* db) {
  return [db](const store::LocationRequestQuery& q) -> Result<std::vector<store::LocationRequest>> {
    if (db == nullptr) return std::vector<store::LocationRequest>{};
    return db->loadLocationRequests(q);
  };
}

admin::MeApi::Deps meDeps(Running& run) {
  store::Store* const db = run.locations.store();
  return {
      [&run] { return run.locations.snapshot(); },
      [db](const std::string& extension) -> Result<std::optional<model::DeviceReport>> {
        if (db == nullptr) return std::optional<model::DeviceReport>{};
        return db->latestReport(extension);
      },
      applyRecords(run),
      now,
      [db](store::LocationRequest& r, const store::AuditEntry& audit) -> Result<void> {
        if (db == nullptr) return Error{"store.write", "no store is open"};
        return db->submitLocationRequest(r, audit);
      },
      loadRequests(db),
      [&run](const store::LocationRequest& r, const std::string& subject, const std::string& body) {
        tellApprovers(run.io, *run.current, r, subject, body);
      },
      [&run] { return run.current->location.temporaryHoldSeconds * 1000; },
      [db, &run](const std::string& extension, bool allowed, int64_t atMs,
                 const store::AuditEntry& audit) -> Result<bool> {
        if (db == nullptr) return Error{"store.write", "no store is open"};
        auto answered = db->answerLocationPermission(extension, allowed, atMs, audit);
        if (answered.ok() && answered.value()) run.locations.rebuild();  // the next call sees it
        return answered;
      }};
}

admin::LocationRequestsApi::Deps requestsDeps(Running& run) {
  store::Store* const db = run.locations.store();
  return {
      loadRequests(db),
      [db](int64_t id) -> Result<std::optional<store::LocationRequest>> {
        if (db == nullptr) return std::optional<store::LocationRequest>{};
        return db->loadLocationRequest(id);
      },
      applyRecords(run),
      [db](int64_t id, const std::string& reason, const store::AuditEntry& audit) -> Result<bool> {
        if (db == nullptr) return Error{"store.write", "no store is open"};
        return db->rejectLocationRequest(id, reason, audit);
      },
      now,
      [&run](const store::LocationRequest& r, const std::string& subject, const std::string& body) {
        tellRequestUser(run, r, subject, body);
      }};
}

admin::RetriggerApi::Deps retriggerDeps(Running& run) {
  store::Store* const db = run.locations.store();
  return {[&run] { return run.locations.snapshot(); },
          [db](const std::vector<std::string>& extensions, const store::AuditEntry& audit)
              -> Result<std::vector<std::pair<std::string, std::string>>> {
            if (db == nullptr) return Error{"store.write", "no store is open"};
            return db->resetPrompts(extensions, audit);
          },
          [&run](const std::string& to, const std::string& subject, const std::string& body) {
            sendMail(run.io, *run.current, to, subject, body, "re-trigger");
          },
          now, [&run] { return run.current->selfServiceUrl(); }};
}

admin::DashboardApi::Deps dashboardDeps(Running& run) {
  store::Store* const db = run.locations.store();
  return {[&run] { return run.locations.snapshot(); },
          [db]() -> Result<std::vector<model::DeviceReport>> {
            if (db == nullptr) return std::vector<model::DeviceReport>{};
            return db->latestReports();
          },
          now};
}

admin::ComplianceApi::Deps complianceDeps(Running& run) {
  store::Store* const db = run.locations.store();
  return {
      [&run] { return run.reloader->running(); },
      [db](const std::vector<std::string>& sites) -> Result<std::vector<store::TestCallStatus>> {
        if (db == nullptr) return std::vector<store::TestCallStatus>{};
        return db->testCallStatuses(sites);
      },
      now};
}

}  // namespace

std::unique_ptr<AdminApis> makeAdminApis(Running& run) {
  auto apis = std::unique_ptr<AdminApis>(new AdminApis{
      admin::LocationApi(locationDeps(run)), admin::LocationsApi(locationsDeps(run)),
      admin::CallsApi(callsDeps(run.locations.store())), admin::OpsApi(opsDeps(run)),
      admin::RecordsApi(recordsDeps(run)), admin::MeApi(meDeps(run)),
      admin::LocationRequestsApi(requestsDeps(run)), admin::RetriggerApi(retriggerDeps(run)),
      admin::DashboardApi(dashboardDeps(run)), admin::ComplianceApi(complianceDeps(run))});
  // The dashboard's snapshots list the trunks as GET /api/v1/trunks does.
  if (run.live != nullptr) run.live->setTrunks([ops = &apis->ops] { return ops->trunksJson(); });
  return apis;
}

admin::AdminRoutes::Handlers adminHandlers(Running& run, AdminApis& apis) {
  store::Store* const db = run.locations.store();
  admin::AdminRoutes::Handlers handlers{
      &apis.location,
      &apis.locations,
      &apis.calls,
      &apis.ops,
      &apis.records,
      &apis.me,
      &apis.requests,
      &apis.retrigger,
      &apis.dashboard,
      &apis.compliance,
      [&run] { return metricsText(run); },
      [&run] {
        const auto a =
            healthzAnswer(liveness(run.server.health().view(), std::chrono::steady_clock::now()));
        return admin::HttpResponse{a.status, a.contentType, a.body, {}};
      },
      [&run] {
        const auto a = readyzAnswer(checkReadiness(run));
        return admin::HttpResponse{a.status, a.contentType, a.body, {}};
      },
      run.notifier ? std::function([&run](const std::string& callId, const std::string& by) {
        return run.notifier->acknowledge(callId, by);
      })
                   : nullptr,
      [db](const std::string& callId) -> Result<std::optional<std::string>> {
        if (db == nullptr) return std::optional<std::string>{};
        auto alert = db->loadCallAlert(callId);
        if (!alert.ok()) return alert.error();
        if (!alert.value()) return std::optional<std::string>{};
        return std::optional<std::string>{alert.value()->site};
      },
      [&run] {
        auto result = run.reloader->reload();
        return admin::AdminRoutes::ReloadOutcome{result.reloaded, toJson(result)};
      },
      tokenStore(db),
      now};
  handlers.liveCalls = run.live;
  return handlers;
}

admin::AdminRoutes::Settings adminSettings(const config::Config& c) {
  admin::AdminRoutes::Settings s;
  s.allowedHosts = c.admin.allowedHosts;
  // The name users reach the server by (admin.public_url) is one of its names.
  if (const std::string host = config::publicUrlHost(c.admin.publicUrl); !host.empty()) {
    s.allowedHosts.push_back(host);
  }
  s.metricsPublic = c.admin.metricsPublic;
  for (const auto& site : c.sites) s.sites.push_back(site.name);
  return s;
}

admin::AdminRoutes::Settings deviceSettings(const config::Config& c) {
  admin::AdminRoutes::Settings s = adminSettings(c);
  s.onlyPaths = {std::string(admin::LocationApi::kPath),
                 std::string(admin::AdminRoutes::kHealthPath)};
  return s;
}

void applyConfig(Running& run, std::shared_ptr<const config::Config> c) {
  run.current = c;
  if (run.notifier) run.notifier->setConfig(c);
  if (run.routes != nullptr) run.routes->setSettings(adminSettings(*c));
  if (run.deviceRoutes != nullptr) run.deviceRoutes->setSettings(deviceSettings(*c));
  run.locations.reload(std::move(c));
}

}  // namespace sos::proxy
