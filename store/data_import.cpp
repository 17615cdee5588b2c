// Users, desk phones and company locations changed in bulk or one at a time (data_import.h):
// checked by the seed's rules, compared with what the store holds, written all or nothing.

#include "store/data_import.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <unordered_map>

#include "base/csv.h"
#include "base/text.h"
#include "config/config_checks.h"
#include "config/yaml_reader.h"
#include "model/mac.h"
#include "store/checks.h"
#include "store/db.h"
#include "store/store.h"

namespace sos::store {
namespace {

using config::checkCountry;
using config::checkNetwork;
using config::expecting;
using config::inQuotes;

enum class Type {
  Text,         // anything, "" allowed
  Key,          // a location key
  Extension,    // digits
  E164,         // "" or an E.164 number
  Site,         // a site's name (checked against the sites table)
  Boolean,      // yes / no
  Mac,          // normalized
  Email,        // "" or an e-mail address
  Kind,         // company, site-default, account-default
  Country,      // ISO 3166 alpha-2
  Latitude,     // degrees, "" for none
  Longitude,    // degrees, "" for none
  E164List,     // ';'-separated
  NetworkList,  // CIDR, ';'-separated
  BssidList,    // normalized, ';'-separated
  SwitchList,   // "CHASSIS" or "CHASSIS PORT", ';'-separated
  TrunkList,    // trunk names, ';'-separated
  UnixMs,       // a time as Unix milliseconds, "" for none
};

struct Column {
  std::string name;
  Type type;
  std::string initial;  // a new record's value when the input does not give the column
  bool required = false;
};

struct Schema {
  DataKind kind;
  std::string singular;  // "user": the audit trail's "user.create", "user:1001"
  std::vector<Column> columns;
  int siteColumn = -1;  // users, locations, sites: their own; devices, personal: their user's
};

const Schema& schemaOf(DataKind kind) {
  static const Schema users{DataKind::Users,
                            "user",
                            {{"extension", Type::Extension, "", true},
                             {"did", Type::E164, ""},
                             {"name", Type::Text, ""},
                             {"site", Type::Site, "", true},
                             {"nomadic", Type::Boolean, "no"},
                             {"location_permission", Type::Boolean, "yes"},
                             {"email", Type::Email, ""}},
                            3};
  static const Schema devices{DataKind::Devices,
                              "device",
                              {{"mac", Type::Mac, "", true},
                               {"extension", Type::Extension, "", true},
                               {"brand", Type::Text, ""},
                               {"model", Type::Text, ""},
                               {"common_area", Type::Boolean, "no"}},
                              -1};
  static const auto civicColumns = [](Schema& s) {
    for (const auto& f : kCivicFields) {
      bool country = f.name == "country";
      s.columns.push_back({std::string(f.name), country ? Type::Country : Type::Text, "", country});
    }
  };
  static const Schema locations = [] {
    Schema s{DataKind::Locations,
             "location",
             {{"key", Type::Key, "", true},
              {"name", Type::Text, "", true},
              {"site", Type::Site, ""},
              {"kind", Type::Kind, "company"}},
             2};
    civicColumns(s);
    for (auto [name, type] : {std::pair{"latitude", Type::Latitude},
                              {"longitude", Type::Longitude},
                              {"elins", Type::E164List},
                              {"subnets", Type::NetworkList},
                              {"bssids", Type::BssidList},
                              {"switches", Type::SwitchList},
                              {"psap_route", Type::TrunkList}}) {
      s.columns.push_back({name, type, ""});
    }
    return s;
  }();
  static const Schema personal = [] {
    // Unconfirmed unless the input says so: an address the user never confirmed must not be
    // sent to a PSAP as if it were certain.
    Schema s{DataKind::PersonalLocations,
             "personal-location",
             {{"key", Type::Key, "", true},
              {"extension", Type::Extension, "", true},
              {"name", Type::Text, "", true},
              {"confirmed", Type::Boolean, "no"}},
             -1};
    civicColumns(s);
    for (auto [name, type] : {std::pair{"latitude", Type::Latitude},
                              {"longitude", Type::Longitude},
                              {"elin", Type::E164},
                              {"networks", Type::NetworkList},
                              {"bssids", Type::BssidList},
                              // An address held for one emergency (issue 17): until when. Kept
                              // by an export, so that importing it does not make a hold a kept
                              // address.
                              {"hold_until_ms", Type::UnixMs}}) {
      s.columns.push_back({name, type, ""});
    }
    return s;
  }();
  static const Schema sites{DataKind::Sites,
                            "site",
                            {{"name", Type::Text, "", true},
                             {"country", Type::Country, "", true},
                             {"default_location", Type::Key, ""}},
                            0};
  switch (kind) {
    case DataKind::Users:
      return users;
    case DataKind::Devices:
      return devices;
    case DataKind::PersonalLocations:
      return personal;
    case DataKind::Sites:
      return sites;
    default:
      return locations;
  }
}

int columnIndex(const Schema& schema, std::string_view name) {
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    if (schema.columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> listItems(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    size_t cut = std::min(text.find(';'), text.size());
    if (auto item = trimmed(text.substr(0, cut)); !item.empty()) items.push_back(item);
    text.remove_prefix(std::min(cut + 1, text.size()));
  }
  return items;
}

std::string joinList(const std::vector<std::string>& items, std::string_view separator = ";") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string degreesText(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

// A checked latitude or longitude as the database keeps it (none for "").
std::optional<double> degreesValue(const std::string& v) {
  if (v.empty()) return std::nullopt;
  return std::strtod(v.c_str(), nullptr);
}

// A value in its stored form, or what is wrong with it (the words after the quoted value, as
// the seed's checks put them; or a whole sentence starting with '!').
struct Canonical {
  std::string value;
  std::string problem;  // "" when fine
  std::string item;     // the list item the problem is about ("" for the whole value)
};

Canonical canonical(Type type, std::string_view raw) {
  std::string v = trimmed(raw);
  auto check = [&](std::string (*f)(std::string_view), const std::string& normal = {}) {
    std::string problem = v.empty() ? "" : f(v);
    return Canonical{problem.empty() ? (normal.empty() ? v : normal) : v, problem, {}};
  };
  auto list = [&](std::string (*f)(std::string_view), auto normalize) -> Canonical {
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const auto& item : listItems(v)) {
      if (std::string problem = f(item); !problem.empty()) return {v, problem, item};
      std::string normal = normalize(item);
      if (!seen.insert(normal).second) return {v, " is given twice", item};
      out.push_back(normal);
    }
    return {joinList(out), "", {}};
  };
  auto same = [](const std::string& s) { return s; };
  switch (type) {
    case Type::Text:
    case Type::Site:
      return {v, "", {}};
    case Type::Key:
      return check(checkKey);
    case Type::Extension:
      return check(checkExtension);
    case Type::E164:
      return check(checkE164);
    case Type::Country:
      return check(checkCountry);
    case Type::Email:
      return check(config::detail::checkEmail);
    case Type::Mac: {
      auto c = check(checkMac);
      if (c.problem.empty() && !v.empty()) c.value = *storedMac(v, false);
      return c;
    }
    case Type::Boolean: {
      std::string lower;
      for (char ch : v) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower == "yes" || lower == "true" || lower == "1" || lower == "y") return {"yes", "", {}};
      if (lower == "no" || lower == "false" || lower == "0" || lower == "n") return {"no", "", {}};
      if (lower.empty()) return {"", "", {}};
      return {v, expecting(false, "yes or no"), {}};
    }
    case Type::Kind:
      if (v.empty() || v == "company" || v == "site-default" || v == "account-default") {
        return {v, "", {}};
      }
      return {v,
              " is not one of company, site-default and account-default" +
                  didYouMean(v, std::vector<std::string_view>{"company", "site-default",
                                                              "account-default"}),
              {}};
    case Type::Latitude:
    case Type::Longitude: {
      if (v.empty()) return {"", "", {}};
      const double limit = type == Type::Latitude ? 90 : 180;
      double number = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), number);
      if (ec == std::errc() && end == v.data() + v.size() && std::isfinite(number) &&
          std::fabs(number) <= limit) {
        return {degreesText(number), "", {}};
      }
      std::string bound = std::to_string(static_cast<int>(limit));
      return {v,
              expecting(false, std::string(type == Type::Latitude ? "a latitude" : "a longitude") +
                                   " in degrees from -" + bound + " to " + bound),
              {}};
    }
    case Type::UnixMs: {
      if (v.empty()) return {"", "", {}};
      int64_t ms = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
      if (ec == std::errc() && end == v.data() + v.size() && ms > 0) {
        return {std::to_string(ms), "", {}};
      }
      return {v, expecting(false, "a time in Unix milliseconds, e.g. 1767225600000"), {}};
    }
    case Type::E164List:
      return list(checkE164, same);
    case Type::NetworkList:
      return list(checkNetwork, same);
    case Type::BssidList:
      return list(checkBssid, [](const std::string& s) { return *storedMac(s, true); });
    case Type::TrunkList:
      return list(checkTrunkName, same);
    case Type::SwitchList: {
      std::vector<std::string> out;
      std::set<std::string> seen;
      for (const auto& item : listItems(v)) {
        size_t space = item.find_first_of(" \t");
        std::string chassis = model::normalizeChassis(item.substr(0, space));
        std::string port = space == std::string::npos ? "" : trimmed(item.substr(space + 1));
        std::string normal = chassis;
        if (!port.empty()) normal.append(" ").append(port);
        if (!seen.insert(normal).second) return {v, " is given twice", item};
        out.push_back(normal);
      }
      return {joinList(out), "", {}};
    }
  }
  return {v, "", {}};
}

// Problems, each at its place: "SOURCE:LINE:COLUMN: FIELD: what", "SOURCE:LINE: FIELD: what"
// when the column is not known, "FIELD: what" for input without lines.
class Problems {
 public:
  explicit Problems(std::string source) : source_(std::move(source)) {}
  void add(int line, int column, std::string_view field, const std::string& what) {
    std::string at;
    if (line > 0) {
      at = source_ + ":" + std::to_string(line) + ":";
      if (column > 0) at += std::to_string(column) + ":";
      at += " ";
    }
    list_.push_back({line, column, at + std::string(field) + ": " + what});
  }
  bool empty() const { return list_.empty(); }
  // One line per problem, in the input's order (line, then column).
  Error error(const std::string& code) const {
    auto sorted = list_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const Problem& a, const Problem& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    std::string message;
    for (const auto& p : sorted) message += (message.empty() ? "" : "\n") + p.text;
    return Error{code, message};
  }

 private:
  struct Problem {
    int line, column;
    std::string text;
  };
  std::string source_;
  std::vector<Problem> list_;
};

// A record of the store or of the input, values in schema order.
struct Row {
  std::vector<std::string> values;
  int line = 0;
  std::vector<int> columnNumbers;  // per schema column: where the input gave it (0: not given)
  bool fromInput = false;
};

std::string siteOf(const Schema& schema, const Row& row,
                   const std::unordered_map<std::string, std::string>& userSites) {
  if (schema.siteColumn >= 0) return row.values[schema.siteColumn];
  auto it = userSites.find(row.values[1]);  // a device: its user's site
  return it == userSites.end() ? "" : it->second;
}

nlohmann::json recordJson(const Schema& schema, const std::vector<std::string>& values) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    if (!values[i].empty()) j[schema.columns[i].name] = values[i];
  }
  return j;
}

}  // namespace

std::string_view dataKindName(DataKind kind) {
  switch (kind) {
    case DataKind::Users:
      return "users";
    case DataKind::Devices:
      return "devices";
    case DataKind::PersonalLocations:
      return "personal-locations";
    case DataKind::Sites:
      return "sites";
    default:
      return "locations";
  }
}

std::optional<DataKind> dataKindNamed(std::string_view name) {
  for (DataKind k : kAllDataKinds) {
    if (dataKindName(k) == name) return k;
  }
  return std::nullopt;
}

const std::vector<std::string>& dataColumns(DataKind kind) {
  static const auto names = [] {
    std::map<DataKind, std::vector<std::string>> out;
    for (DataKind k : kAllDataKinds) {
      for (const auto& c : schemaOf(k).columns) out[k].push_back(c.name);
    }
    return out;
  }();
  return names.at(kind);
}

std::string normalizedKey(DataKind kind, std::string_view key) {
  Canonical c = canonical(schemaOf(kind).columns[0].type, key);
  return c.problem.empty() ? c.value : std::string(key);
}

ColumnShape columnShape(DataKind kind, std::string_view column) {
  const Schema& schema = schemaOf(kind);
  int i = columnIndex(schema, column);
  if (i < 0) return ColumnShape::Text;
  switch (schema.columns[i].type) {
    case Type::Boolean:
      return ColumnShape::Boolean;
    case Type::E164List:
    case Type::NetworkList:
    case Type::BssidList:
    case Type::SwitchList:
    case Type::TrunkList:
      return ColumnShape::List;
    default:
      return ColumnShape::Text;
  }
}

Result<CsvInput> readCsvInput(std::string_view text, const std::string& source,
                              std::optional<DataKind> kind) {
  Problems problems(source);
  auto parsed = parseCsv(text);
  if (!parsed.ok()) return Error{"import.invalid", source + ":" + parsed.error().message};
  auto& rows = parsed.value();
  if (rows.empty()) {
    return Error{"import.invalid", source +
                                       ": the file is empty; expected a "
                                       "header row of column names first"};
  }
  const CsvRecord& header = rows.front();
  if (!kind) {
    std::string first = trimmed(header.fields.front());
    if (first == "extension") kind = DataKind::Users;
    if (first == "mac") kind = DataKind::Devices;
    if (first == "name") kind = DataKind::Sites;
    if (first == "key") {
      bool hasExtension =
          std::any_of(header.fields.begin(), header.fields.end(),
                      [](const std::string& f) { return trimmed(f) == "extension"; });
      kind = hasExtension ? DataKind::PersonalLocations : DataKind::Locations;
    }
    if (!kind) {
      return Error{"import.invalid",
                   source + ":" + std::to_string(header.line) + ":1: " + inQuotes(first) +
                       " is not a key column: a users file starts with extension, a desk-phone "
                       "file with mac, a sites file with name, a locations or personal-locations "
                       "file with key"};
    }
  }
  const Schema& schema = schemaOf(*kind);
  std::vector<std::string_view> known;
  for (const auto& c : schema.columns) known.push_back(c.name);
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (size_t i = 0; i < header.fields.size(); ++i) {
    std::string name = trimmed(header.fields[i]);
    const int column = static_cast<int>(i) + 1;
    if (columnIndex(schema, name) < 0) {
      problems.add(header.line, column, "(header)",
                   inQuotes(name) + " is not a column of " + std::string(dataKindName(*kind)) +
                       didYouMean(name, known) + "; expected some of " +
                       config::joined(known, ", ") + " (" + schema.columns[0].name + " first)");
    } else if (!seen.insert(name).second) {
      problems.add(header.line, column, "(header)", inQuotes(name) + " is given twice");
    }
    names.push_back(name);
  }
  if (names.front() != schema.columns[0].name && problems.empty()) {
    problems.add(header.line, 1, "(header)",
                 "the first column must be " + schema.columns[0].name + ", the key");
  }
  if (!problems.empty()) return problems.error("import.invalid");
  CsvInput input{*kind, {}};
  input.records.reserve(rows.size() - 1);
  for (size_t r = 1; r < rows.size(); ++r) {
    const CsvRecord& row = rows[r];
    if (row.fields.size() != names.size()) {
      problems.add(row.line, static_cast<int>(std::min(row.fields.size(), names.size())) + 1,
                   "(row)",
                   std::to_string(row.fields.size()) + " fields; the header has " +
                       std::to_string(names.size()));
      continue;
    }
    InputRecord record{row.line, {}};
    for (size_t i = 0; i < names.size(); ++i) {
      record.fields.push_back({names[i], row.fields[i], static_cast<int>(i) + 1});
    }
    input.records.push_back(std::move(record));
  }
  if (!problems.empty()) return problems.error("import.invalid");
  return input;
}

std::string diffText(const ImportResult& result) {
  std::string out = std::string(dataKindName(result.kind)) + ": " + std::to_string(result.added) +
                    " added, " + std::to_string(result.changed) + " changed, " +
                    std::to_string(result.removed) + " removed, " +
                    std::to_string(result.unchanged) + " unchanged\n";
  for (const auto& c : result.changes) {
    switch (c.op) {
      case RecordChange::Op::Added: {
        out += "+ " + c.key + ":";
        bool first = true;
        for (const auto& f : c.fields) {
          out += (first ? " " : ", ") + f.column + " " + inQuotes(f.after);
          first = false;
        }
        break;
      }
      case RecordChange::Op::Changed: {
        out += "~ " + c.key + ":";
        bool first = true;
        for (const auto& f : c.fields) {
          out += (first ? " " : ", ") + f.column + " " + inQuotes(f.before) + " -> " +
                 inQuotes(f.after);
          first = false;
        }
        break;
      }
      case RecordChange::Op::Removed:
        out += "- " + c.key;
        break;
    }
    out += "\n";
  }
  return out;
}

// ---- The store's side ----

namespace {

// Every stored record of a kind in its canonical text form, in key order. Lists keep the order
// they were written in (ELINs: their pool order).
Result<std::vector<DataRecord>> readRecords(Db* db, DataKind kind) {
  std::vector<DataRecord> out;
  auto failed = [](const Statement& s) { return Error{"store.read", s.error()}; };
  auto yes = [](int64_t v) { return std::string(v != 0 ? "yes" : "no"); };
  if (kind == DataKind::Users) {
    Statement s(db,
                "SELECT extension, did, name, site, nomadic, location_permission, email FROM users "
                "ORDER BY extension");
    while (s.row()) {
      out.push_back({s.columnText(0),
                     s.columnText(3),
                     {s.columnText(0), s.columnText(1), s.columnText(2), s.columnText(3),
                      yes(s.columnInt(4)), yes(s.columnInt(5)), s.columnText(6)}});
    }
    if (s.failed()) return failed(s);
    return out;
  }
  if (kind == DataKind::Devices) {
    Statement s(db,
                "SELECT d.mac, d.extension, d.brand, d.model, d.common_area, u.site FROM devices d "
                "JOIN users u ON u.extension = d.extension ORDER BY d.mac");
    while (s.row()) {
      out.push_back({s.columnText(0),
                     s.columnText(5),
                     {s.columnText(0), s.columnText(1), s.columnText(2), s.columnText(3),
                      yes(s.columnInt(4))}});
    }
    if (s.failed()) return failed(s);
    return out;
  }
  if (kind == DataKind::Sites) {
    Statement s(db,
                "SELECT s.name, s.country, d.location_key FROM sites s "
                "LEFT JOIN site_defaults d ON d.site = s.name ORDER BY s.name");
    while (s.row()) {
      out.push_back(
          {s.columnText(0), s.columnText(0), {s.columnText(0), s.columnText(1), s.columnText(2)}});
    }
    if (s.failed()) return failed(s);
    return out;
  }
  const Schema& schema = schemaOf(kind);
  std::unordered_map<std::string, size_t> index;
  const int civicCount = static_cast<int>(kCivicFields.size());
  // Each child row's value appended to its record's list column.
  auto append = [&](const std::string& sql, const char* column) -> Result<void> {
    const int at = columnIndex(schema, column);
    Statement children(db, sql);
    while (children.row()) {
      auto it = index.find(children.columnText(0));
      if (it == index.end()) continue;
      std::string& list = out[it->second].values[at];
      list += (list.empty() ? "" : ";") + children.columnText(1);
    }
    if (children.failed()) return failed(children);
    return {};
  };
  auto degreesOf = [](const Statement& s, int column) {
    auto v = s.columnReal(column);
    return v ? degreesText(*v) : std::string();
  };
  if (kind == DataKind::PersonalLocations) {
    Statement s(db, "SELECT p.key, p.extension, p.name, p.confirmed, " + civicColumns() +
                        ", p.latitude, p.longitude, p.elin, u.site, p.hold_until_ms FROM "
                        "personal_locations p JOIN users u ON u.extension = p.extension "
                        "ORDER BY p.key");
    while (s.row()) {
      DataRecord r{s.columnText(0), s.columnText(7 + civicCount), {}};
      for (int i = 0; i < 3; ++i) r.values.push_back(s.columnText(i));
      r.values.push_back(yes(s.columnInt(3)));
      for (int i = 4; i < 4 + civicCount; ++i) r.values.push_back(s.columnText(i));
      r.values.push_back(degreesOf(s, 4 + civicCount));
      r.values.push_back(degreesOf(s, 5 + civicCount));
      r.values.insert(r.values.end(),
                      {s.columnText(6 + civicCount), "", "", s.columnText(8 + civicCount)});
      index.emplace(r.key, out.size());
      out.push_back(std::move(r));
    }
    if (s.failed()) return failed(s);
    for (auto [networkKind, column] : {std::pair{"ip", "networks"}, {"bssid", "bssids"}}) {
      auto r = append(std::string("SELECT personal_key, network FROM personal_location_networks "
                                  "WHERE kind = '") +
                          networkKind + "' ORDER BY rowid",
                      column);
      if (!r.ok()) return r.error();
    }
    return out;
  }
  Statement s(db, "SELECT key, name, site, kind, " + civicColumns() +
                      ", latitude, longitude, psap_route FROM locations ORDER BY key");
  while (s.row()) {
    DataRecord r{s.columnText(0), s.columnText(2), {}};
    for (int i = 0; i < 4 + civicCount; ++i) r.values.push_back(s.columnText(i));
    r.values.push_back(degreesOf(s, 4 + civicCount));
    r.values.push_back(degreesOf(s, 5 + civicCount));
    std::string route = s.columnText(6 + civicCount);
    std::replace(route.begin(), route.end(), ' ', ';');
    r.values.insert(r.values.end(), {"", "", "", "", route});
    index.emplace(r.key, out.size());
    out.push_back(std::move(r));
  }
  if (s.failed()) return failed(s);
  for (auto [sql, column] :
       {std::pair{"SELECT location_key, elin FROM location_elins ORDER BY location_key, position",
                  "elins"},
        {"SELECT location_key, cidr FROM subnets ORDER BY rowid", "subnets"},
        {"SELECT location_key, bssid FROM bssids ORDER BY rowid", "bssids"},
        {"SELECT location_key, chassis || CASE port WHEN '' THEN '' ELSE ' ' || port END "
         "FROM switches ORDER BY rowid",
         "switches"}}) {
    if (auto r = append(sql, column); !r.ok()) return r.error();
  }
  return out;
}

class DataImport {
 public:
  DataImport(Db* db, const std::string& path, const ImportRequest& request)
      : db_(db),
        path_(path),
        request_(request),
        schema_(schemaOf(request.kind)),
        problems_(request.source) {}

  Result<ImportResult> run() {
    Transaction tx(db_, request_.dryRun ? Transaction::Kind::Read : Transaction::Kind::Write);
    if (!tx.begun()) return failure(tx.error());
    if (auto loaded = load(); !loaded.ok()) return loaded.error();
    merge();
    if (!problems_.empty()) return problems_.error("import.invalid");
    checkTogether();
    if (!problems_.empty()) return problems_.error("import.invalid");
    ImportResult result = difference();
    if (!scopeProblems_.empty()) return scopeProblems_.error("import.forbidden");
    if (!missing_.empty()) {
      return Error{"store.not-found",
                   "no " + schema_.singular + " has the key " + inQuotes(missing_.front())};
    }
    if (request_.dryRun || result.changes.empty()) return result;
    if (auto written = write(result); !written.ok()) return written.error();
    if (auto marked = markApproved(); !marked.ok()) return marked.error();
    if (auto bumped = bumpDataVersion(db_, path_); !bumped.ok()) return bumped.error();
    if (!tx.commit()) return failure(tx.error());
    result.written = true;
    return result;
  }

 private:
  Error failure(const std::string& why) const { return Error{"store.write", path_ + ": " + why}; }

  Result<void> markApproved() {
    if (request_.approvesRequest == 0) return {};
    if (request_.records.size() != 1 || inputOrder_.size() != 1) {
      return Error{"import.invalid", "an approval writes exactly one location"};
    }
    Statement mark(db_,
                   "UPDATE location_requests SET state = 'approved', decided_at_ms = ?, "
                   "decided_by = ?, location_key = ? WHERE id = ? AND state = 'pending'");
    mark.integer(1, request_.atMs).text(2, request_.actor).text(3, inputOrder_.front());
    if (!mark.integer(4, request_.approvesRequest).run()) return failure(mark.error());
    if (db_->changes() == 0) {
      return Error{"store.conflict", "location request " +
                                         std::to_string(request_.approvesRequest) +
                                         " is not pending (decided already, or never made)"};
    }
    return {};
  }

  Result<void> load() {
    {
      Statement s(db_, "SELECT name FROM sites");
      while (s.row()) sites_.insert(s.columnText(0));
      if (s.failed()) return failure(s.error());
    }
    {
      Statement s(db_, "SELECT extension, site FROM users");
      while (s.row()) userSites_[s.columnText(0)] = s.columnText(1);
      if (s.failed()) return failure(s.error());
    }
    auto stored = readRecords(db_, request_.kind);
    if (!stored.ok()) return failure(stored.error().message);
    for (auto& r : stored.value()) {
      order_.push_back(r.key);
      stored_.emplace(r.key, Row{std::move(r.values), 0, {}, false});
    }
    // What the other kinds hold that a record of this kind may collide with or point at.
    auto read = [&](const char* sql, auto&& take) -> Result<void> {
      Statement st(db_, sql);
      while (st.row()) take(st);
      if (st.failed()) return failure(st.error());
      return {};
    };
    std::vector<Result<void>> reads;
    if (request_.kind == DataKind::Locations) {
      reads.push_back(
          read("SELECT location_key FROM site_defaults UNION SELECT default_location_key FROM "
               "account WHERE default_location_key IS NOT NULL",
               [&](const Statement& st) { defaults_.insert(st.columnText(0)); }));
      reads.push_back(read("SELECT elin, key FROM personal_locations WHERE elin IS NOT NULL",
                           [&](const Statement& st) {
                             otherElins_[st.columnText(0)] =
                                 "personal location " + st.columnText(1);
                           }));
      reads.push_back(read("SELECT key FROM personal_locations", [&](const Statement& st) {
        otherKeys_[st.columnText(0)] = "a personal location";
      }));
    }
    if (request_.kind == DataKind::PersonalLocations) {
      reads.push_back(
          read("SELECT elin, location_key FROM location_elins", [&](const Statement& st) {
            otherElins_[st.columnText(0)] = "location " + st.columnText(1);
          }));
      reads.push_back(read("SELECT key FROM locations", [&](const Statement& st) {
        otherKeys_[st.columnText(0)] = "a company location";
      }));
      // The sites whose default location has ELINs: a pool a call can take a callback number
      // from, good in the site's own country.
      reads.push_back(read(
          "SELECT s.name, s.country FROM sites s JOIN site_defaults d ON d.site = s.name "
          "WHERE EXISTS (SELECT 1 FROM location_elins e WHERE e.location_key = d.location_key)",
          [&](const Statement& st) { elinPools_[st.columnText(0)] = st.columnText(1); }));
    }
    if (request_.kind == DataKind::Sites) {
      reads.push_back(read("SELECT key, kind FROM locations", [&](const Statement& st) {
        locationKinds_[st.columnText(0)] = st.columnText(1);
      }));
      reads.push_back(
          read("SELECT site, COUNT(*) FROM locations WHERE site IS NOT NULL GROUP BY site",
               [&](const Statement& st) { siteUses_[st.columnText(0)].first = st.columnInt(1); }));
      reads.push_back(
          read("SELECT site, COUNT(*) FROM users WHERE site IS NOT NULL GROUP BY site",
               [&](const Statement& st) { siteUses_[st.columnText(0)].second = st.columnInt(1); }));
    }
    for (auto& r : reads) {
      if (!r.ok()) return r.error();
    }
    return {};
  }

  // The input laid over what is stored: each record's fields checked, then its whole result.
  void merge() {
    const size_t n = schema_.columns.size();
    std::unordered_map<std::string, int> firstLine;
    for (const InputRecord& in : request_.records) {
      const InputField* keyField = nullptr;
      for (const auto& f : in.fields)
        if (f.column == schema_.columns[0].name) keyField = &f;
      if (keyField == nullptr) {
        problems_.add(in.line, 0, schema_.columns[0].name, "required: the record's key");
        continue;
      }
      Canonical key = canonical(schema_.columns[0].type, keyField->value);
      if (key.value.empty()) {
        problems_.add(in.line, keyField->columnNumber, keyField->column, "required");
        continue;
      }
      if (!key.problem.empty()) {
        problems_.add(in.line, keyField->columnNumber, keyField->column,
                      inQuotes(key.value) + key.problem);
        continue;
      }
      if (auto [it, fresh] = firstLine.emplace(key.value, in.line); !fresh) {
        problems_.add(
            in.line, keyField->columnNumber, keyField->column,
            inQuotes(key.value) + " is given twice (also line " + std::to_string(it->second) + ")");
        continue;
      }
      auto old = stored_.find(key.value);
      if (request_.createOnly && old != stored_.end()) {
        problems_.add(in.line, keyField->columnNumber, keyField->column,
                      inQuotes(key.value) + " exists already: give another key");
        continue;
      }
      Row row;
      row.fromInput = true;
      row.line = in.line;
      row.columnNumbers.assign(n, 0);
      if (old != stored_.end()) {
        row.values = old->second.values;
      } else {
        for (const auto& c : schema_.columns) row.values.push_back(c.initial);
        row.values[0] = key.value;
      }
      bool fine = true;
      for (const InputField& f : in.fields) {
        int i = columnIndex(schema_, f.column);
        if (i < 0) {
          problems_.add(in.line, f.columnNumber, f.column,
                        "not a column of " + std::string(dataKindName(request_.kind)));
          fine = false;
          continue;
        }
        Canonical c = canonical(schema_.columns[i].type, f.value);
        if (!c.problem.empty()) {
          problems_.add(in.line, f.columnNumber, f.column,
                        inQuotes(c.item.empty() ? c.value : c.item) + c.problem);
          fine = false;
          continue;
        }
        if (c.value.empty() && !schema_.columns[i].initial.empty())
          c.value = schema_.columns[i].initial;
        row.values[i] = c.value;
        row.columnNumbers[i] = f.columnNumber;
      }
      if (!fine) continue;
      for (size_t i = 0; i < n; ++i) {
        const Column& c = schema_.columns[i];
        if (c.required && row.values[i].empty()) {
          problems_.add(in.line, row.columnNumbers[i], c.name,
                        c.type == Type::Country
                            ? "required: a PSAP cannot place an address without the country"
                            : "required");
        }
      }
      result_.emplace(key.value, std::move(row));
      inputOrder_.push_back(key.value);
    }
    for (const auto& key : request_.remove) {
      if (result_.count(key) != 0) {
        problems_.add(0, 0, schema_.columns[0].name,
                      inQuotes(key) + " is both written and deleted");
      }
    }
  }

  const Row& current(const std::string& key) const {
    auto it = result_.find(key);
    return it != result_.end() ? it->second : stored_.at(key);
  }

  // Keys the result keeps: the stored ones (less those removed) and the input's.
  std::vector<std::string> resultKeys() {
    std::vector<std::string> keys;
    for (const auto& key : order_) {
      if (removed(key)) continue;
      keys.push_back(key);
    }
    for (const auto& key : inputOrder_) {
      if (stored_.count(key) == 0) keys.push_back(key);
    }
    return keys;
  }

  bool removed(const std::string& key) const {
    if (result_.count(key) != 0) return false;
    if (std::find(request_.remove.begin(), request_.remove.end(), key) != request_.remove.end()) {
      return true;
    }
    if (!request_.replace) return false;
    return inScope(siteOf(schema_, stored_.at(key), userSites_));
  }

  bool inScope(const std::string& site) const {
    return request_.sites.empty() ||
           std::find(request_.sites.begin(), request_.sites.end(), site) != request_.sites.end();
  }

  // What holds across records: references, unique ELINs, networks and DIDs, both coordinates.
  void checkTogether() {
    std::vector<std::string_view> siteNames(sites_.begin(), sites_.end());
    // value -> the record that has it
    std::map<std::pair<int, std::string>, std::string> owners;
    auto claim = [&](const std::string& key, const Row& row, int column, const std::string& value,
                     std::string_view what) {
      auto [it, fresh] = owners.emplace(std::make_pair(column, value), key);
      if (fresh || it->second == key) return;
      // Reported at the input's row; of two stored records neither is the input's fault.
      const Row& other = current(it->second);
      const Row& at = row.fromInput ? row : other;
      const std::string& otherKey = row.fromInput ? it->second : key;
      if (!at.fromInput) return;
      problems_.add(at.line, at.columnNumbers[column], schema_.columns[column].name,
                    std::string(what) + " " + inQuotes(value) + " is " + otherKey + "'s already" +
                        (current(otherKey).fromInput
                             ? " (line " + std::to_string(current(otherKey).line) + ")"
                             : ""));
    };
    for (const auto& key : resultKeys()) {
      const Row& row = current(key);
      if (!row.fromInput) {
        // Stored and untouched: only its values that an input record may collide with.
        claimAll(key, row, claim);
        continue;
      }
      auto at = [&](int column) { return row.columnNumbers[column]; };
      if (schema_.siteColumn >= 0 && request_.kind != DataKind::Sites) {
        const std::string& site = row.values[schema_.siteColumn];
        bool account = request_.kind == DataKind::Locations && row.values[3] == "account-default";
        if (site.empty() && !account) {
          problems_.add(row.line, at(schema_.siteColumn), "site", "required");
        } else if (!site.empty() && sites_.count(site) == 0) {
          problems_.add(row.line, at(schema_.siteColumn), "site",
                        "no site is named " + inQuotes(site) + didYouMean(site, siteNames));
        }
      }
      const bool ofUser =
          request_.kind == DataKind::Devices || request_.kind == DataKind::PersonalLocations;
      if (ofUser && userSites_.count(row.values[1]) == 0) {
        problems_.add(row.line, at(1), "extension",
                      "no user has extension " + inQuotes(row.values[1]));
      }
      if (auto other = otherKeys_.find(key); other != otherKeys_.end()) {
        problems_.add(row.line, at(0), "key", inQuotes(key) + " is " + other->second + "'s key");
      }
      if (int lat = columnIndex(schema_, "latitude"); lat >= 0) {
        const int lon = lat + 1;
        if (row.values[lat].empty() != row.values[lon].empty()) {
          bool hasLat = !row.values[lat].empty();
          problems_.add(row.line, at(hasLat ? lat : lon), hasLat ? "latitude" : "longitude",
                        std::string("needs ") + (hasLat ? "longitude" : "latitude") + " as well");
        }
      }
      if (request_.kind == DataKind::PersonalLocations) checkPersonalElin(row);
      if (request_.kind == DataKind::Sites && !row.values[2].empty()) {
        auto target = locationKinds_.find(row.values[2]);
        if (target == locationKinds_.end()) {
          problems_.add(row.line, at(2), "default_location",
                        "no location is keyed " + inQuotes(row.values[2]));
        } else if (target->second == "account-default") {
          problems_.add(row.line, at(2), "default_location",
                        inQuotes(row.values[2]) +
                            " is the account's default; a site's default is a company or "
                            "site-default location");
        }
      }
      if (request_.kind == DataKind::Locations) {
        if (row.values[3] == "account-default" &&
            !row.values[columnIndex(schema_, "psap_route")].empty()) {
          problems_.add(row.line, at(columnIndex(schema_, "psap_route")), "psap_route",
                        "an account-default location stands for an unknown location, which is "
                        "routed to the ERC; give the override to a company or site-default "
                        "location");
        }
      }
      claimAll(key, row, claim);
    }
    for (const auto& key : order_) {
      if (!removed(key)) continue;
      if (defaults_.count(key) != 0) {
        problems_.add(0, 0, "key",
                      inQuotes(key) + " is a site's or the account's default location: it stays");
      }
      if (auto uses = siteUses_.find(key); uses != siteUses_.end()) {
        auto count = [](int64_t n, const char* what) {
          return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
        };
        problems_.add(0, 0, "name",
                      "site " + inQuotes(key) + " still has " +
                          count(uses->second.first, "location") + " and " +
                          count(uses->second.second, "user") + ": move or delete them first");
      }
    }
  }

  // Outside the US and Canada a PSAP calls back the number the call gave, so an address there
  // needs an ELIN of its own, unless the user's site has a pool in that very country.
  void checkPersonalElin(const Row& row) {
    const int country = columnIndex(schema_, "country"), elin = columnIndex(schema_, "elin");
    const std::string& where = row.values[country];
    if (where == "US" || where == "CA" || !row.values[elin].empty()) return;
    auto site = userSites_.find(row.values[1]);
    auto pool = site == userSites_.end() ? elinPools_.end() : elinPools_.find(site->second);
    if (pool != elinPools_.end() && pool->second == where) return;
    problems_.add(row.line, row.columnNumbers[elin] > 0 ? row.columnNumbers[elin] : 0, "elin",
                  "an address in " + where +
                      " needs an ELIN: outside the US and Canada a PSAP calls back the number "
                      "the call gave, and " +
                      (site == userSites_.end() ? std::string("the user's site")
                                                : "site " + inQuotes(site->second)) +
                      " has no ELINs in " + where + "; give the address its own elin");
  }

  template <class Claim>
  void claimAll(const std::string& key, const Row& row, Claim& claim) {
    if (request_.kind == DataKind::Users) {
      if (!row.values[1].empty()) claim(key, row, 1, row.values[1], "DID");
      return;
    }
    if (request_.kind != DataKind::Locations && request_.kind != DataKind::PersonalLocations) {
      return;
    }
    for (auto [name, what] : {std::pair{"elins", "ELIN"},
                              {"elin", "ELIN"},
                              {"subnets", "subnet"},
                              {"bssids", "BSSID"},
                              {"switches", "switch port"}}) {
      const int column = columnIndex(schema_, name);
      // A personal location's networks are its own ("I am home"): two may share one.
      if (column < 0 ||
          (request_.kind == DataKind::PersonalLocations && std::string_view(what) != "ELIN"))
        continue;
      for (const auto& item : listItems(row.values[column])) {
        claim(key, row, column, item, what);
        if (what == std::string_view("ELIN") && row.fromInput) {
          if (auto other = otherElins_.find(item); other != otherElins_.end()) {
            problems_.add(row.line, row.columnNumbers[column], name,
                          "ELIN " + inQuotes(item) + " is " + other->second + "'s already");
          }
        }
      }
    }
  }

  ImportResult difference() {
    ImportResult out;
    out.kind = request_.kind;
    for (const auto& key : inputOrder_) {
      const Row& row = result_.at(key);
      std::string site = siteOf(schema_, row, userSites_);
      auto old = stored_.find(key);
      RecordChange change;
      change.key = key;
      change.site = site;
      if (old == stored_.end()) {
        change.op = RecordChange::Op::Added;
        for (size_t i = 1; i < schema_.columns.size(); ++i) {
          if (!row.values[i].empty()) {
            change.fields.push_back({schema_.columns[i].name, "", row.values[i]});
          }
        }
      } else {
        change.op = RecordChange::Op::Changed;
        for (size_t i = 1; i < schema_.columns.size(); ++i) {
          if (row.values[i] != old->second.values[i]) {
            change.fields.push_back(
                {schema_.columns[i].name, old->second.values[i], row.values[i]});
          }
        }
        if (change.fields.empty()) continue;
        std::string oldSite = siteOf(schema_, old->second, userSites_);
        if (oldSite != site && !inScope(oldSite)) scopeProblem(row, oldSite);
      }
      if (!inScope(site)) scopeProblem(row, site);
      (change.op == RecordChange::Op::Added ? out.added : out.changed)++;
      out.changes.push_back(std::move(change));
    }
    for (const auto& key : order_) {
      if (!removed(key)) continue;
      std::string site = siteOf(schema_, stored_.at(key), userSites_);
      if (!inScope(site)) scopeProblem(Row{}, site);
      out.changes.push_back({RecordChange::Op::Removed, key, site, {}});
      ++out.removed;
    }
    for (const auto& key : request_.remove) {
      if (stored_.count(key) == 0) missing_.push_back(key);
    }
    // Every stored record kept as it was, named in the input or not.
    out.unchanged = stored_.size() - out.changed - out.removed;
    return out;
  }

  void scopeProblem(const Row& row, const std::string& site) {
    int column =
        schema_.siteColumn >= 0 && row.fromInput ? row.columnNumbers[schema_.siteColumn] : 0;
    scopeProblems_.add(row.line, column, "site",
                       (site.empty() ? std::string("a record of no site") : inQuotes(site)) +
                           " is not one of the sites this token may change");
  }

  using Changes = std::vector<const RecordChange*>;
  Result<void> write(const ImportResult& result);
  Result<void> writePersonal(const Changes& added, const Changes& changed, const Changes& gone);
  Result<void> writeSites(const Changes& added, const Changes& changed, const Changes& gone);

  Db* db_;
  const std::string path_;
  const ImportRequest& request_;
  const Schema& schema_;
  Problems problems_;
  Problems scopeProblems_{request_.source};
  std::set<std::string> sites_, defaults_;
  // ELINs and keys of the other kind of location (company <-> personal), with whose they are.
  std::unordered_map<std::string, std::string> userSites_, otherElins_, otherKeys_;
  std::unordered_map<std::string, std::string> locationKinds_;  // sites: what a default may be
  std::unordered_map<std::string, std::string> elinPools_;  // site -> its country, if it has ELINs
  // sites: how many locations and users each has
  std::unordered_map<std::string, std::pair<int64_t, int64_t>> siteUses_;
  std::unordered_map<std::string, Row> stored_, result_;
  std::vector<std::string> order_, inputOrder_, missing_;
};

Result<void> DataImport::write(const ImportResult& result) {
  auto refused = [&](const Statement& s) { return failure(s.error()); };
  auto audit = [&](const RecordChange& c) -> Result<void> {
    static const char* const kVerbs[] = {"create", "update", "delete"};
    AuditEntry e;
    e.atMs = request_.atMs;
    e.actor = request_.actor;
    e.role = request_.role;
    e.action = schema_.singular + "." + kVerbs[static_cast<int>(c.op)];
    e.object = schema_.singular + ":" + c.key;
    e.site = c.site;
    if (auto old = stored_.find(c.key); old != stored_.end()) {
      e.before = recordJson(schema_, old->second.values).dump();
    }
    if (c.op != RecordChange::Op::Removed)
      e.after = recordJson(schema_, current(c.key).values).dump();
    return insertAudit(db_, e, path_);
  };
  auto flag = [](const std::string& v) { return v == "yes" ? 1 : 0; };
  std::vector<const RecordChange*> added, changed, gone;
  for (const auto& c : result.changes) {
    (c.op == RecordChange::Op::Added     ? added
     : c.op == RecordChange::Op::Changed ? changed
                                         : gone)
        .push_back(&c);
  }
  if (request_.kind == DataKind::Users) {
    Statement clear(db_, "UPDATE users SET did = NULL WHERE extension = ?");
    Statement update(db_,
                     "UPDATE users SET did = ?2, name = ?3, site = ?4, nomadic = ?5, "
                     "location_permission = ?6, email = ?7 WHERE extension = ?1");
    Statement insert(db_,
                     "INSERT INTO users (extension, did, name, site, nomadic, "
                     "location_permission, email) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    Statement remove(db_, "DELETE FROM users WHERE extension = ?");
    for (const auto* c : gone) {
      if (!remove.text(1, c->key).run()) return refused(remove);
      remove.reset();
    }
    // A DID moving from one user to another: every changed user lets go of its old one first.
    for (const auto* c : changed) {
      if (!clear.text(1, c->key).run()) return refused(clear);
      clear.reset();
    }
    for (const auto& list : {changed, added}) {
      for (const auto* c : list) {
        const auto& v = current(c->key).values;
        Statement& s = list == added ? insert : update;
        s.text(1, v[0]).textOrNull(2, v[1]).text(3, v[2]).text(4, v[3]);
        s.integer(5, flag(v[4])).integer(6, flag(v[5])).text(7, v[6]);
        if (!s.run()) return refused(s);
        s.reset();
      }
    }
  } else if (request_.kind == DataKind::Devices) {
    Statement update(db_,
                     "UPDATE devices SET extension = ?2, brand = ?3, model = ?4, common_area = ?5 "
                     "WHERE mac = ?1");
    Statement insert(db_,
                     "INSERT INTO devices (mac, extension, brand, model, common_area) "
                     "VALUES (?1, ?2, ?3, ?4, ?5)");
    Statement remove(db_, "DELETE FROM devices WHERE mac = ?");
    for (const auto* c : gone) {
      if (!remove.text(1, c->key).run()) return refused(remove);
      remove.reset();
    }
    for (const auto& list : {changed, added}) {
      for (const auto* c : list) {
        const auto& v = current(c->key).values;
        Statement& s = list == added ? insert : update;
        s.text(1, v[0]).text(2, v[1]).text(3, v[2]).text(4, v[3]).integer(5, flag(v[4]));
        if (!s.run()) return refused(s);
        s.reset();
      }
    }
  } else if (request_.kind == DataKind::PersonalLocations) {
    if (auto r = writePersonal(added, changed, gone); !r.ok()) return r;
    if (request_.holdUntilMs > 0) {
      Statement hold(db_, "UPDATE personal_locations SET hold_until_ms = ? WHERE key = ?");
      for (const auto* c : added) {
        if (!hold.integer(1, request_.holdUntilMs).text(2, c->key).run()) return refused(hold);
        hold.reset();
      }
    }
  } else if (request_.kind == DataKind::Sites) {
    if (auto r = writeSites(added, changed, gone); !r.ok()) return r;
  } else {
    std::string error;
    // A default's row is deleted and written back in one transaction: checked at commit.
    if (!deferForeignKeys(db_, &error)) return failure(error);
    static const char* const kChildren[] = {"location_elins", "subnets", "bssids", "switches"};
    for (const auto& list : {changed, gone}) {
      for (const auto* c : list) {
        for (const char* table : kChildren) {
          Statement s(db_, std::string("DELETE FROM ") + table + " WHERE location_key = ?");
          if (!s.text(1, c->key).run()) return refused(s);
        }
      }
    }
    Statement remove(db_, "DELETE FROM locations WHERE key = ?");
    for (const auto* c : gone) {
      if (!remove.text(1, c->key).run()) return refused(remove);
      remove.reset();
    }
    const int civicCount = static_cast<int>(kCivicFields.size());
    std::string set = "name = ?2, site = ?3, kind = ?4";
    std::string columns = "key, name, site, kind";
    int p = 5;
    for (const auto& f : kCivicFields) {
      set += ", " + std::string(f.column) + " = ?" + std::to_string(p++);
      columns += ", " + std::string(f.column);
    }
    set += ", latitude = ?" + std::to_string(p) + ", longitude = ?" + std::to_string(p + 1) +
           ", psap_route = ?" + std::to_string(p + 2);
    columns += ", latitude, longitude, psap_route";
    Statement update(db_, "UPDATE locations SET " + set + " WHERE key = ?1");
    Statement insert(db_, "INSERT INTO locations (" + columns + ") VALUES (" +
                              placeholders(7 + civicCount) + ")");
    Statement elin(db_,
                   "INSERT INTO location_elins (location_key, elin, position) VALUES (?, ?, ?)");
    Statement subnet(db_, "INSERT INTO subnets (cidr, location_key) VALUES (?, ?)");
    Statement bssid(db_, "INSERT INTO bssids (bssid, location_key) VALUES (?, ?)");
    Statement sw(db_, "INSERT INTO switches (chassis, port, location_key) VALUES (?, ?, ?)");
    const int lat = columnIndex(schema_, "latitude");
    for (const auto& list : {changed, added}) {
      for (const auto* c : list) {
        const auto& v = current(c->key).values;
        Statement& s = list == added ? insert : update;
        s.text(1, v[0]).text(2, v[1]).textOrNull(3, v[2]).text(4, v[3].empty() ? "company" : v[3]);
        for (int i = 0; i < civicCount; ++i) s.textOrNull(5 + i, v[4 + i]);
        s.real(5 + civicCount, degreesValue(v[lat])).real(6 + civicCount, degreesValue(v[lat + 1]));
        s.text(7 + civicCount, joinList(listItems(v[lat + 6]), " "));
        if (!s.run()) return refused(s);
        s.reset();
        const auto elins = listItems(v[lat + 2]);
        for (size_t i = 0; i < elins.size(); ++i) {
          elin.text(1, c->key).text(2, elins[i]).integer(3, static_cast<int64_t>(i));
          if (!elin.run()) return refused(elin);
          elin.reset();
        }
        for (const auto& cidr : listItems(v[lat + 3])) {
          if (!subnet.text(1, cidr).text(2, c->key).run()) return refused(subnet);
          subnet.reset();
        }
        for (const auto& b : listItems(v[lat + 4])) {
          if (!bssid.text(1, b).text(2, c->key).run()) return refused(bssid);
          bssid.reset();
        }
        for (const auto& item : listItems(v[lat + 5])) {
          size_t space = item.find(' ');
          std::string port = space == std::string::npos ? "" : item.substr(space + 1);
          sw.text(1, item.substr(0, space)).text(2, port).text(3, c->key);
          if (!sw.run()) return refused(sw);
          sw.reset();
        }
      }
    }
  }
  for (const auto& c : result.changes) {
    if (auto logged = audit(c); !logged.ok()) return logged.error();
  }
  return {};
}

Result<void> DataImport::writePersonal(const Changes& added, const Changes& changed,
                                       const Changes& gone) {
  auto refused = [&](const Statement& st) { return failure(st.error()); };
  Statement networks(db_, "DELETE FROM personal_location_networks WHERE personal_key = ?");
  for (const auto& list : {changed, gone}) {
    for (const auto* c : list) {
      if (!networks.text(1, c->key).run()) return refused(networks);
      networks.reset();
    }
  }
  Statement remove(db_, "DELETE FROM personal_locations WHERE key = ?");
  for (const auto* c : gone) {
    if (!remove.text(1, c->key).run()) return refused(remove);
    remove.reset();
  }
  const int civicCount = static_cast<int>(kCivicFields.size());
  std::string set = "extension = ?2, name = ?3, confirmed = ?4";
  std::string columns = "key, extension, name, confirmed";
  int p = 5;
  for (const auto& f : kCivicFields) {
    set += ", " + std::string(f.column) + " = ?" + std::to_string(p++);
    columns += ", " + std::string(f.column);
  }
  set += ", latitude = ?" + std::to_string(p) + ", longitude = ?" + std::to_string(p + 1) +
         ", elin = ?" + std::to_string(p + 2) + ", hold_until_ms = ?" + std::to_string(p + 3);
  columns += ", latitude, longitude, elin, hold_until_ms";
  Statement update(db_, "UPDATE personal_locations SET " + set + " WHERE key = ?1");
  Statement insert(db_, "INSERT INTO personal_locations (" + columns + ") VALUES (" +
                            placeholders(8 + civicCount) + ")");
  Statement network(db_,
                    "INSERT INTO personal_location_networks (personal_key, network, kind) "
                    "VALUES (?, ?, ?)");
  const int lat = columnIndex(schema_, "latitude");
  for (const auto& list : {changed, added}) {
    for (const auto* c : list) {
      const auto& v = current(c->key).values;
      Statement& st = list == added ? insert : update;
      st.text(1, v[0]).text(2, v[1]).text(3, v[2]).integer(4, v[3] == "yes" ? 1 : 0);
      for (int i = 0; i < civicCount; ++i) st.textOrNull(5 + i, v[4 + i]);
      st.real(5 + civicCount, degreesValue(v[lat])).real(6 + civicCount, degreesValue(v[lat + 1]));
      st.textOrNull(7 + civicCount, v[lat + 2]).textOrNull(8 + civicCount, v[lat + 5]);
      if (!st.run()) return refused(st);
      st.reset();
      for (auto [column, kind] : {std::pair{lat + 3, "ip"}, {lat + 4, "bssid"}}) {
        for (const auto& n : listItems(v[column])) {
          if (!network.text(1, c->key).text(2, n).text(3, kind).run()) return refused(network);
          network.reset();
        }
      }
    }
  }
  return {};
}

Result<void> DataImport::writeSites(const Changes& added, const Changes& changed,
                                    const Changes& gone) {
  auto refused = [&](const Statement& st) { return failure(st.error()); };
  Statement clearDefault(db_, "DELETE FROM site_defaults WHERE site = ?");
  Statement setDefault(db_, "INSERT INTO site_defaults (site, location_key) VALUES (?, ?)");
  Statement remove(db_, "DELETE FROM sites WHERE name = ?");
  Statement update(db_, "UPDATE sites SET country = ?2 WHERE name = ?1");
  Statement insert(db_, "INSERT INTO sites (name, country) VALUES (?1, ?2)");
  for (const auto& list : {gone, changed}) {
    for (const auto* c : list) {
      if (!clearDefault.text(1, c->key).run()) return refused(clearDefault);
      clearDefault.reset();
    }
  }
  for (const auto* c : gone) {
    if (!remove.text(1, c->key).run()) return refused(remove);
    remove.reset();
  }
  for (const auto& list : {changed, added}) {
    for (const auto* c : list) {
      const auto& v = current(c->key).values;
      Statement& st = list == added ? insert : update;
      if (!st.text(1, v[0]).text(2, v[1]).run()) return refused(st);
      st.reset();
      if (v[2].empty()) continue;
      if (!setDefault.text(1, v[0]).text(2, v[2]).run()) return refused(setDefault);
      setDefault.reset();
    }
  }
  return {};
}

}  // namespace

Result<ImportResult> Store::applyRecords(const ImportRequest& request) {
  return DataImport(db_, path_, request).run();
}

Result<std::vector<DataRecord>> Store::loadRecords(DataKind kind) {
  Transaction tx(db_, Transaction::Kind::Read);
  if (!tx.begun()) return Error{"store.read", path_ + ": " + tx.error()};
  auto records = readRecords(db_, kind);
  if (!records.ok()) return Error{"store.read", path_ + ": " + records.error().message};
  return records;
}

Result<std::string> Store::exportCsv(DataKind kind, const std::vector<std::string>& sites) {
  auto records = loadRecords(kind);
  if (!records.ok()) return records.error();
  std::string out = csvLine(dataColumns(kind));
  for (const auto& r : records.value()) {
    if (!sites.empty() && std::find(sites.begin(), sites.end(), r.site) == sites.end()) continue;
    out += csvLine(r.values);
  }
  return out;
}

}  // namespace sos::store
