#pragma once
// What an emergency call's event puts in the outbox (issues 6 and 14): one job per responder of
// tier 1 of the caller's site and, for a started call, the alert that waits for its
// acknowledgement; a later event of an alerted call brings that alert's details up to date.
//
// writeEvent() runs on the outbox's writer thread (notify/outbox_writer.h), or on the I/O thread
// when the store is in memory: events are written by one thread only, so the alert read before
// it is written needs no lock. Escalations are the I/O thread's (notifier.cpp), and use the
// helpers here too.

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "notify/event.h"
#include "store/notification_job.h"

namespace sos::store {
class Store;
}

namespace sos::notify {

// Delivery ids: 32 random hex digits, unique across runs. Each thread that makes jobs has its
// own.
class DeliveryIds {
 public:
  DeliveryIds();
  std::string next();

 private:
  std::mt19937_64 random_;
};

// The site named, else the default site (the first): an alert reaching somebody beats one
// reaching nobody. Null when no site is configured.
const config::Site* alertSite(const config::Config& config, const std::string& name);

// The lowest tier above `tier` that the site has, or 0.
int nextTier(const config::Site& site, int tier);

// One job per responder of `tier` of `site`, due at `nowMs`, saying `eventName` about `e`.
std::vector<store::NotificationJob> jobsFor(const config::Site& site, const CallEvent& e,
                                            std::string_view eventName, int tier, int64_t nowMs,
                                            DeliveryIds& ids);

// What writeEvent() did with one event.
struct WrittenEvent {
  std::string callId;
  std::string site;                          // the site alerted; "" when none is configured
  std::vector<store::NotificationJob> jobs;  // with their ids when stored
  // A started call's new alert, waiting for its acknowledgement from now on (its escalation is
  // the I/O thread's to schedule).
  std::optional<store::CallAlert> newAlert;
  bool stored = true;  // false: the store refused them; the jobs have no ids then
  std::string error;   // why not stored
};

// Claims `jobs` for `node` (this node, "" for none) for notifications.lease_s of `config` from
// `nowMs`.
void claimFor(std::vector<store::NotificationJob>& jobs, const std::string& node,
              const config::Config& config, int64_t nowMs);

// Writes the jobs of `e` and its call's alert to `store` in one transaction, claimed for
// `node` (see claimFor; a new alert too).
WrittenEvent writeEvent(store::Store& store, const config::Config& config, const CallEvent& e,
                        std::chrono::milliseconds escalateAfter, DeliveryIds& ids,
                        const std::string& node = "");

}  // namespace sos::notify
