#pragma once
// Users, desk phones, personal locations and sites over the admin API, and CSV import and
// export of those and of company locations (issue 16). Every write goes through
// store::Store::applyRecords: the seed's checks with the same words, all or nothing, one audit
// entry per record changed, and a rebuilt routing snapshot, so the very next 911 sees it. Runs on
// the I/O thread.
//
//   GET    /api/v1/COLLECTION[?site=S&limit=N&after=KEY]  a page in key order; "next" is the
//                                                      key to ask `after` for the next page
//   GET    /api/v1/COLLECTION/KEY                      one record, with its ETag
//   PUT    /api/v1/COLLECTION/KEY                      creates (201) or updates (200): the fields
//                                                      given change, the others stay; an update
//                                                      needs If-Match (428 without, 412 stale)
//   DELETE /api/v1/COLLECTION/KEY                      needs If-Match; a user's desk phones and
//                                                      personal locations go with the user; a
//                                                      site still in use stays (400)
// COLLECTION and KEY: users/EXTENSION, devices/MAC, personal-locations/KEY (a user's own
// addresses with the networks that say "I am here"), sites/NAME (its country and default
// location).
//   POST   /api/v1/import/KIND?mode=merge|replace&dry_run=true
//                                                      a CSV body (Content-Type text/csv);
//                                                      answers the difference; 400 with every
//                                                      problem at its line and column
//   GET    /api/v1/export/KIND                         text/csv, what import takes back
// KIND is users, devices, locations, personal-locations or sites. A record's JSON has one member
// per column (store::dataColumns): yes/no columns as true/false, lists as arrays of strings.
// super-admin: everything; site-admin: its sites' records only (a desk phone's and a personal
// location's site is its user's; a record of another site is 403, a list shows none of them,
// replace deletes within its sites); other roles: 403.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/auth.h"
#include "admin/http_server.h"
#include "base/result.h"
#include "store/data_import.h"

namespace sos::admin {

// Why a device token may not write `given` as hold_until_ms of its user's personal location
// whose stored value is `stored` ("" for a new one), or "" when it may (issue 17). A hold is
// the "this emergency only" choice: the user holds an address for at most `holdMs` from
// `nowMs`. So a device token gives the stored value back unchanged, or "" (a kept address,
// which the user may save anyway), or a time no later than nowMs + holdMs; a later end would
// keep a "temporary" address in force, ahead of the user's kept ones, and is an admin's to set.
std::string holdRefusal(const std::string& given, const std::string& stored, int64_t nowMs,
                        int64_t holdMs);

class RecordsApi {
 public:
  struct Deps {
    std::function<Result<std::vector<store::DataRecord>>(store::DataKind)> load;
    // Checks and (unless a dry run) writes, then rebuilds the routing snapshot.
    std::function<Result<store::ImportResult>(const store::ImportRequest&)> apply;
    std::function<Result<std::string>(store::DataKind, const std::vector<std::string>& sites)>
        exportCsv;
    std::function<int64_t()> nowMs;
    // The site of `extension` when nomadic emergency services are off there (a device token
    // may then add no personal address; issue 17), else empty. Null: never off.
    std::function<std::string(const std::string& extension)> nomadicOffSite;
    // How long a user may hold an address for one emergency (location.temporary_hold_s, in
    // ms): a device token's hold_until_ms ends within this of now (holdRefusal). Null: 8 hours.
    std::function<int64_t()> holdMs;
  };

  // The collections of records, each at its path.
  struct Collection {
    std::string_view path;
    store::DataKind kind;
    std::string_view singular;  // for messages: "user", "desk phone", ...
  };
  static constexpr Collection kCollections[] = {
      {"/api/v1/users", store::DataKind::Users, "user"},
      {"/api/v1/devices", store::DataKind::Devices, "desk phone"},
      {"/api/v1/personal-locations", store::DataKind::PersonalLocations, "personal location"},
      {"/api/v1/sites", store::DataKind::Sites, "site"},
  };
  static constexpr std::string_view kImportPath = "/api/v1/import/";
  static constexpr std::string_view kExportPath = "/api/v1/export/";

  explicit RecordsApi(Deps deps) : deps_(std::move(deps)) {}

  // Does `path` belong here?
  static bool serves(std::string_view path);
  // `path` without its query; `who` any role (those without access get 403 here).
  HttpResponse handle(const HttpRequest& request, std::string_view path, const Principal& who);

 private:
  HttpResponse one(const HttpRequest& r, const Collection& c, const std::string& key,
                   const Principal& who);
  HttpResponse list(const HttpRequest& r, store::DataKind kind, const Principal& who);
  HttpResponse import(const HttpRequest& r, store::DataKind kind, const Principal& who);
  store::ImportRequest request(store::DataKind kind, const Principal& who) const;
  // May `who` see and change this record? An admin: of its sites; a device token: its own
  // user's personal locations.
  // `own`: ownExtension(who), worked out once per request.
  bool covers(const Principal& who, store::DataKind kind, const store::DataRecord& r,
              const std::string& own) const;
  // The extension a device token acts for (its subject, or its MAC's user); "" for another role.
  std::string ownExtension(const Principal& who) const;
  Deps deps_;
};

}  // namespace sos::admin
