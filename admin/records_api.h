#pragma once
// Users and desk phones over the admin API, and CSV import and export of users, desk phones and
// company locations (issue 16). Every write goes through store::Store::applyRecords: the seed's
// checks with the same words, all or nothing, one audit entry per record changed, and a rebuilt
// routing snapshot, so the very next 911 sees it. Runs on the I/O thread.
//
//   GET    /api/v1/users[?site=S&limit=N&after=KEY]   a page of users, key order; "next" is the
//   GET    /api/v1/devices[?site=S&limit=N&after=KEY]   key to ask `after` for the next page
//   GET    /api/v1/users/EXT, /api/v1/devices/MAC      one record, with its ETag
//   PUT    /api/v1/users/EXT, /api/v1/devices/MAC      creates (201) or updates (200): the fields
//                                                      given change, the others stay; an update
//                                                      needs If-Match (428 without, 412 stale)
//   DELETE /api/v1/users/EXT, /api/v1/devices/MAC      needs If-Match; a user's desk phones and
//                                                      personal locations go with the user
//   POST   /api/v1/import/KIND?mode=merge|replace&dry_run=true
//                                                      a CSV body (Content-Type text/csv);
//                                                      answers the difference; 400 with every
//                                                      problem at its line and column
//   GET    /api/v1/export/KIND                         text/csv, what import takes back
// KIND is users, devices or locations. A record's JSON has one member per column
// (store::dataColumns): yes/no columns as true/false, lists as arrays of strings. super-admin:
// everything; site-admin: its sites' records only (a record of another site is 403, a list
// shows none of them, replace deletes within its sites); other roles: 403.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/auth.h"
#include "admin/http_server.h"
#include "base/result.h"
#include "store/data_import.h"

namespace sos::admin {

class RecordsApi {
 public:
  struct Deps {
    std::function<Result<std::vector<store::DataRecord>>(store::DataKind)> load;
    // Checks and (unless a dry run) writes, then rebuilds the routing snapshot.
    std::function<Result<store::ImportResult>(const store::ImportRequest&)> apply;
    std::function<Result<std::string>(store::DataKind, const std::vector<std::string>& sites)>
        exportCsv;
    std::function<int64_t()> nowMs;
  };

  static constexpr std::string_view kUsersPath = "/api/v1/users";
  static constexpr std::string_view kDevicesPath = "/api/v1/devices";
  static constexpr std::string_view kImportPath = "/api/v1/import/";
  static constexpr std::string_view kExportPath = "/api/v1/export/";

  explicit RecordsApi(Deps deps) : deps_(std::move(deps)) {}

  // Does `path` belong here?
  static bool serves(std::string_view path);
  // `path` without its query; `who` any role (those without access get 403 here).
  HttpResponse handle(const HttpRequest& request, std::string_view path, const Principal& who);

 private:
  HttpResponse one(const HttpRequest& r, store::DataKind kind, const std::string& key,
                   const Principal& who);
  HttpResponse list(const HttpRequest& r, store::DataKind kind, const Principal& who);
  HttpResponse import(const HttpRequest& r, store::DataKind kind, const Principal& who);
  store::ImportRequest request(store::DataKind kind, const Principal& who) const;
  Deps deps_;
};

}  // namespace sos::admin
