#pragma once

#include "notify/notifier.h"
// Prometheus text exposition (format 0.0.4) of sosproxy's counters, for GET /metrics on the
// admin port. Called on the I/O thread; the counters are atomics written by other threads.

#include <cstdint>
#include <string>
#include <vector>

#include "admin/routes.h"
#include "proxy/b2bua.h"
#include "proxy/location_service.h"
#include "proxy/reload.h"

namespace sos::proxy {

// Log lines lost because their writer fell behind (or the disk refused them): the routing log's
// (RoutingLog::dropped) and the operational log's (QueuedSink::dropped).
struct LogLoss {
  uint64_t routing = 0;
  uint64_t operational = 0;
  uint64_t routingReopenFailures = 0;  // SIGHUPs after which the routing log kept its old file
};

// A probed trunk's state now (issue 21): up unless its OPTIONS probes found it down.
struct TrunkState {
  std::string name;
  bool up = true;
};

// `alerts` is null when responder alerts are not running, `api` when there is no admin server.
// `deviceApi`, the phones' own listener's (admin.device_listen), is added to `api`'s counts.
std::string prometheusText(const B2buaCounters& calls, const LocationCounters& locations,
                           const ReloadCounters& reloads, LogLoss logLoss,
                           const notify::NotifyCounters* alerts = nullptr,
                           const admin::RouteCounters* api = nullptr,
                           const admin::RouteCounters* deviceApi = nullptr,
                           const std::vector<TrunkState>& trunks = {},
                           const admin::LiveCounters* live = nullptr);

}  // namespace sos::proxy
