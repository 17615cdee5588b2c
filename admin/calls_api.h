#pragma once
// Call records over the admin API (issue 16), for operators and the safety desk. Runs on the I/O
// thread; reads the store only.
//
//   GET /api/v1/calls?since=MS&until=MS&site=SITE&emergency=yes|no&outcome=O&limit=N&before=ID
//       newest first; &format=csv for a CSV file (RFC 4180) of the same records
//   GET /api/v1/calls/CALL-ID   the call's record(s), its alert (escalation, acknowledgement)
//                               and every alert delivery with its state
// super-admin: every call; site-admin and responder: their sites' calls (a call of another
// site is 403); other roles: 403.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "admin/auth.h"
#include "admin/http_server.h"
#include "base/result.h"
#include "store/call_record.h"
#include "store/notification_job.h"

namespace sos::admin {

class CallsApi {
 public:
  struct Deps {
    std::function<Result<std::vector<store::CallRecord>>(const store::CallQuery&)> find;
    std::function<Result<std::optional<store::CallAlert>>(const std::string& callId)> alert;
    std::function<Result<std::vector<store::NotificationJob>>(const std::string& callId)> jobs;
  };

  static constexpr std::string_view kPath = "/api/v1/calls";

  explicit CallsApi(Deps deps) : deps_(std::move(deps)) {}

  HttpResponse handle(const HttpRequest& request, std::string_view path, const Principal& who);

  // The records as CSV: a header line, then one line per record (RFC 4180 quoting).
  static std::string csv(const std::vector<store::CallRecord>& records);

 private:
  Deps deps_;
};

}  // namespace sos::admin
