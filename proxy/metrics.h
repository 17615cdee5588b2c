#pragma once

#include "notify/notifier.h"
// Prometheus text exposition (format 0.0.4) of sosproxy's counters, for GET /metrics on the
// admin port. Called on the I/O thread; the counters are atomics written by other threads.

#include <cstdint>
#include <string>

#include "proxy/b2bua.h"
#include "proxy/location_service.h"
#include "proxy/reload.h"

namespace sos::proxy {

// `routingLogDropped`: routing-log lines lost because the disk fell behind (RoutingLog::dropped).
// `alerts` is null when responder alerts are not running.
std::string prometheusText(const B2buaCounters& calls, const LocationCounters& locations,
                           const ReloadCounters& reloads, uint64_t routingLogDropped,
                           const notify::NotifyCounters* alerts = nullptr);

}  // namespace sos::proxy
