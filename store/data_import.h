#pragma once
// Bulk and single-record changes of the location data (issue 16): users, desk phones, company
// locations with their networks, personal locations and sites, as tables of named text fields. A
// CSV file, an API body or one record edited over the API is read into `InputRecord`s; the store
// checks them by the seed's rules (the same words), works out the exact difference from what it
// holds, and writes all of it or nothing. Plain values; Store::applyRecords does the work.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sos::store {

enum class DataKind { Users, Devices, Locations, PersonalLocations, Sites };
inline constexpr DataKind kAllDataKinds[] = {DataKind::Users, DataKind::Devices,
                                             DataKind::Locations, DataKind::PersonalLocations,
                                             DataKind::Sites};

// "users", "devices", "locations", "personal-locations", "sites"; parsed back by dataKindNamed
// (nullopt for another word).
std::string_view dataKindName(DataKind kind);
std::optional<DataKind> dataKindNamed(std::string_view name);

// The columns of a kind, the key first, in the order an export writes them:
//   users:     extension, did, name, site, nomadic, location_permission, email
//   devices:   mac, extension, brand, model, common_area
//   locations: key, name, site, kind, the RFC 5139 elements (country ... ADDCODE), latitude,
//              longitude, elins, subnets, bssids, switches, psap_route
//   personal-locations: key, extension (whose), name, confirmed, the RFC 5139 elements,
//              latitude, longitude, elin, networks (public IPs or CIDRs), bssids,
//              hold_until_ms (an address held for one emergency: until when, Unix ms)
//   sites:     name, country, default_location (a location key)
// Lists are separated by ';'; a switch is "CHASSIS" or "CHASSIS PORT"; booleans are yes / no.
const std::vector<std::string>& dataColumns(DataKind kind);

// A key in the form the store keeps it (a MAC in colon form, lower case); as given when it is
// not a valid key of the kind.
std::string normalizedKey(DataKind kind, std::string_view key);

// How the API's JSON shows a column's value: a string, true / false, or an array of strings.
enum class ColumnShape { Text, Boolean, List };
ColumnShape columnShape(DataKind kind, std::string_view column);

// One record as given: its fields by column name, each with where it came from (a CSV file's
// line and column number, or 0), so a problem is reported at its place. A column the input did
// not give keeps the stored value (or its default, for a new record).
struct InputField {
  std::string column;
  std::string value;
  int columnNumber = 0;  // from 1; 0 when the input has no columns (a JSON body)
};
struct InputRecord {
  int line = 0;  // from 1; 0 when the input has no lines
  std::vector<InputField> fields;
};

// A CSV file (a header row of column names, then one record per row) as input records. The
// kind is told by the header when not given: its first column (extension: users, mac: devices,
// name: sites, key: locations, or personal locations when an extension column follows). Errors
// "import.invalid" with "SOURCE:LINE:COLUMN: what".
struct CsvInput {
  DataKind kind = DataKind::Users;
  std::vector<InputRecord> records;
};
Result<CsvInput> readCsvInput(std::string_view text, const std::string& source,
                              std::optional<DataKind> kind = std::nullopt);

struct ImportRequest {
  DataKind kind = DataKind::Users;
  std::vector<InputRecord> records;
  // Replace: what the input lacks is deleted (of the sites in scope). Merge (the default):
  // records are added or updated by key; nothing is deleted.
  bool replace = false;
  // Keys to delete (the API's DELETE of one record); none of them may also be in `records`.
  std::vector<std::string> remove;
  bool dryRun = false;             // work out and return the difference; write nothing
  std::string source;              // for messages: the file's name, or "request"
  std::vector<std::string> sites;  // the sites the caller may change; empty: all
  // Who makes the change (the audit trail's actor and role) and when.
  std::string actor, role;
  int64_t atMs = 0;
  // The pending location request (store/location_request.h) this write approves: marked
  // approved, with the one location written, in the same transaction ("store.conflict" when it
  // is not pending any more). 0: none.
  int64_t approvesRequest = 0;
  // Every record must be new: a key the store has already is a problem, nothing is updated.
  bool createOnly = false;
  // Personal locations only: the ones this request adds are temporary holds until this time
  // (Unix ms; model::PersonalLocationRow::holdUntilMs), written in the same transaction. 0: kept.
  int64_t holdUntilMs = 0;
};

struct FieldChange {
  std::string column, before, after;
};
struct RecordChange {
  enum class Op { Added, Changed, Removed } op = Op::Added;
  std::string key;
  std::string site;
  std::vector<FieldChange> fields;  // added: every non-empty field; changed: those that differ
};
struct ImportResult {
  DataKind kind = DataKind::Users;
  std::vector<RecordChange> changes;  // in input order, removals last
  // unchanged: stored records kept as they were, whether the input named them or not.
  size_t added = 0, changed = 0, removed = 0, unchanged = 0;
  bool written = false;  // false for a dry run or when nothing changed
};

// The difference as a person reads it, one line per record:
//   + 1005: name "Dana Ames", site "HQ", ...
//   ~ 1001: name "Alice Able" -> "Alice Abel"
//   - 1009
// after a summary line "users: 1 added, 1 changed, 1 removed, 9997 unchanged".
std::string diffText(const ImportResult& result);

// One stored record of a kind, for an API read: its key, its site and its fields in
// dataColumns order.
struct DataRecord {
  std::string key;
  std::string site;
  std::vector<std::string> values;
};

}  // namespace sos::store
