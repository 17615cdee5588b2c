#pragma once
// What becomes of a scheduled test call's result (issue 21), on the I/O thread: it is saved in
// the store with its site's and trunk's status, and when the trunk has now failed the site's
// test twice in a row, the site's responders are alerted through the notifier's outbox (once:
// a third failure in a row does not alert again; once a test passes, the count starts over).

#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>

#include "notify/event.h"
#include "notify/notifier.h"
#include "proxy/location_service.h"
#include "proxy/server.h"
#include "store/test_call.h"

namespace sos::proxy {

inline constexpr int kTestCallAlertAfter = 2;  // failures in a row

// The alert `result` calls for, given its site's and trunk's status with it: a TestCallFailed
// event when this failure is the kTestCallAlertAfter-th in a row, else none.
std::optional<notify::CallEvent> testCallAlert(const store::TestCallResult& result,
                                               const store::TestCallStatus& status);

// Hands the server its test calls' sink (posting each result to `io`, where it is saved and may
// alert through `notifier`) and the history the schedule goes on from. Main thread, before
// server.start().
void connectTestCalls(Server& server, LocationService& locations, boost::asio::io_context& io,
                      std::unique_ptr<notify::Notifier>& notifier);

}  // namespace sos::proxy
