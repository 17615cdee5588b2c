// What becomes of a scheduled test call's result (test_call_records.h).

#include "proxy/test_call_records.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "base/clock.h"

namespace sos::proxy {

std::optional<notify::CallEvent> testCallAlert(const store::TestCallResult& result,
                                               const store::TestCallStatus& status) {
  if (result.passed() || status.consecutiveFailures != kTestCallAlertAfter) return std::nullopt;
  notify::CallEvent e;
  e.kind = notify::EventKind::TestCallFailed;
  e.callId = result.callId.empty() ? "test-call-" + result.site + "-" + result.trunk + "-" +
                                         std::to_string(result.startedAtMs)
                                   : result.callId;
  e.atMs = unixMsNow();
  e.test = true;
  e.site = result.site;
  e.dialed = result.destination;
  e.location = result.location;
  e.trunk = result.trunk;
  e.detail = result.outcome + ": " + result.reason;
  return e;
}

void connectTestCalls(Server& server, LocationService& locations, boost::asio::io_context& io,
                      std::unique_ptr<notify::Notifier>& notifier) {
  std::vector<store::TestCallStatus> history;
  if (store::Store* db = locations.store()) {
    auto read = db->testCallStatuses();
    if (read.ok()) {
      history = std::move(read.value());
    } else {
      spdlog::warn("test calls' history not read ({}): every test is due soon after the start",
                   read.error().message);
    }
  }
  server.setTestCalls(
      [&io, &locations, &notifier](store::TestCallResult r) {
        boost::asio::post(io, [&locations, &notifier, r = std::move(r)] {
          store::Store* db = locations.store();
          if (db == nullptr) return;
          auto status = db->saveTestCall(r);
          if (!status.ok()) {
            spdlog::error("test call of site {} to trunk {} ({}) not saved: {}", r.site, r.trunk,
                          r.outcome, status.error().message);
            return;
          }
          auto alert = testCallAlert(r, status.value());
          if (!alert) return;
          spdlog::error(
              "trunk {} failed the scheduled test call of site {} {} times in a row "
              "(last: {}): alerting the site's responders",
              r.trunk, r.site, kTestCallAlertAfter, alert->detail);
          if (notifier) notifier->post(std::move(*alert));
        });
      },
      std::move(history));
}

}  // namespace sos::proxy
