#pragma once
// The admin server over the running process: each API's dependencies as closures over the
// store, the location service, the SIP thread and the mail relay, and the route table's
// handlers (/metrics, /healthz, /readyz, acknowledgements, reloads, tokens). Built once by
// runApp; every closure runs on the I/O thread.

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "admin/calls_api.h"
#include "admin/compliance_api.h"
#include "admin/dashboard_api.h"
#include "admin/live_calls.h"
#include "admin/location_api.h"
#include "admin/location_requests_api.h"
#include "admin/locations_api.h"
#include "admin/me_api.h"
#include "admin/ops_api.h"
#include "admin/records_api.h"
#include "admin/retrigger_api.h"
#include "admin/routes.h"
#include "config/config.h"
#include "notify/notifier.h"
#include "proxy/location_service.h"
#include "proxy/queued_sink.h"
#include "proxy/reload.h"
#include "proxy/routing_log.h"
#include "proxy/server.h"

namespace sos::proxy {

// What the handlers reach. Owned by runApp, whose frame outlives every handler.
struct Running {
  Server& server;
  LocationService& locations;
  boost::asio::io_context& io;
  std::unique_ptr<notify::Notifier>& notifier;
  // The configuration in force for the I/O thread's own uses (mail); a reload replaces it.
  std::shared_ptr<const config::Config>& current;
  RoutingLog& routingLog;
  QueuedSink& console;
  ConfigReloader* reloader = nullptr;
  admin::AdminRoutes* routes = nullptr;        // the admin port's, once built
  admin::AdminRoutes* deviceRoutes = nullptr;  // the phones' listener's, once built
  admin::LiveCalls* live = nullptr;            // the dashboard's live calls
};

// Every API of the admin server, built over `run` (and the trunks of `run.live`'s snapshots).
struct AdminApis {
  admin::LocationApi location;
  admin::LocationsApi locations;
  admin::CallsApi calls;
  admin::OpsApi ops;
  admin::RecordsApi records;
  admin::MeApi me;
  admin::LocationRequestsApi requests;
  admin::RetriggerApi retrigger;
  admin::DashboardApi dashboard;
  admin::ComplianceApi compliance;
};
std::unique_ptr<AdminApis> makeAdminApis(Running& run);

// The route table's handlers over `apis` and the process.
admin::AdminRoutes::Handlers adminHandlers(Running& run, AdminApis& apis);

// What a configuration says of each listener: the admin port's hosts, metrics and sites; the
// phones' listener takes the location-report API and /healthz only.
admin::AdminRoutes::Settings adminSettings(const config::Config& c);
admin::AdminRoutes::Settings deviceSettings(const config::Config& c);

// A reloaded configuration reaches the I/O thread's users: the notifier, both route tables,
// the location service.
void applyConfig(Running& run, std::shared_ptr<const config::Config> c);

}  // namespace sos::proxy
