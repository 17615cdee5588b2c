// Users, desk phones, and CSV import and export over the admin API (records_api.h).

#include "admin/records_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "admin/location_api.h"
#include "admin/request_text.h"
#include "base/text.h"

namespace sos::admin {
namespace {

using nlohmann::json;
using store::ColumnShape;
using store::DataKind;

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t cut = std::min(text.find(';', start), text.size());
    out.push_back(text.substr(start, cut - start));
    start = cut + 1;
  }
  return out;
}

json recordJson(DataKind kind, const store::DataRecord& r) {
  const auto& columns = store::dataColumns(kind);
  json j = json::object();
  for (size_t i = 0; i < columns.size(); ++i) {
    switch (store::columnShape(kind, columns[i])) {
      case ColumnShape::Boolean:
        j[columns[i]] = r.values[i] == "yes";
        break;
      case ColumnShape::List:
        j[columns[i]] = splitList(r.values[i]);
        break;
      default:
        j[columns[i]] = r.values[i];
    }
  }
  return j;
}

HttpResponse withEtag(int status, const json& record) {
  HttpResponse out{status, "application/json", jsonText(record), {}};
  out.headers.emplace_back("ETag", etagOf(record));
  return out;
}

// A JSON body as input fields: strings as given, true/false as yes/no, numbers as written,
// arrays of strings joined by ';'. nullopt (with `why`) for any other shape.
std::optional<store::InputRecord> inputOf(const json& body, std::string& why) {
  store::InputRecord record;
  for (const auto& [name, value] : body.items()) {
    std::string text;
    if (value.is_string()) {
      text = value.get<std::string>();
    } else if (value.is_boolean()) {
      text = value.get<bool>() ? "yes" : "no";
    } else if (value.is_number()) {
      text = value.dump();
    } else if (value.is_null()) {
      text = "";
    } else if (value.is_array()) {
      for (const auto& item : value) {
        if (!item.is_string()) {
          why = "field '" + name + "': a list holds strings";
          return std::nullopt;
        }
        text += (text.empty() ? "" : ";") + item.get<std::string>();
      }
    } else {
      why = "field '" + name + "': expected a string, true / false, a number or a list";
      return std::nullopt;
    }
    record.fields.push_back({name, text, 0});
  }
  return record;
}

json changesJson(const store::ImportResult& result) {
  json changes = json::array();
  static const char* const kOps[] = {"added", "changed", "removed"};
  for (const auto& c : result.changes) {
    json fields = json::array();
    for (const auto& f : c.fields) {
      fields.push_back({{"column", f.column}, {"before", f.before}, {"after", f.after}});
    }
    changes.push_back({{"op", kOps[static_cast<int>(c.op)]},
                       {"key", c.key},
                       {"site", c.site},
                       {"fields", fields}});
  }
  return json{{"kind", store::dataKindName(result.kind)},
              {"added", result.added},
              {"changed", result.changed},
              {"removed", result.removed},
              {"unchanged", result.unchanged},
              {"written", result.written},
              {"changes", changes}};
}

}  // namespace

std::string holdRefusal(const std::string& given, const std::string& stored, int64_t nowMs,
                        int64_t holdMs) {
  if (given == stored || given.empty()) return "";
  const int64_t latest = nowMs + holdMs;
  const std::string rule =
      "a device token holds an address for this emergency only, for "
      "location.temporary_hold_s (" +
      std::to_string(holdMs / 1000) + " s) at most: until " + std::to_string(latest) +
      " (Unix ms) at the latest; a later end is an admin's to set";
  int64_t until = 0;
  const auto [end, ec] = std::from_chars(given.data(), given.data() + given.size(), until);
  if (ec != std::errc() || end != given.data() + given.size()) {
    return "hold_until_ms: \"" + given + "\" is not a time in Unix milliseconds; " + rule;
  }
  if (until > latest) return "hold_until_ms: " + given + " is too late: " + rule;
  return "";
}

bool RecordsApi::serves(std::string_view path) {
  auto under = [&](std::string_view base) {
    return path == base ||
           (path.size() > base.size() + 1 && path.rfind(base, 0) == 0 && path[base.size()] == '/');
  };
  return std::any_of(std::begin(kCollections), std::end(kCollections),
                     [&](const Collection& c) { return under(c.path); }) ||
         path.rfind(kImportPath, 0) == 0 || path.rfind(kExportPath, 0) == 0;
}

std::string RecordsApi::ownExtension(const Principal& who) const {
  if (who.role != Role::Device) return "";
  if (isDigits(who.subject)) return who.subject;
  auto devices = deps_.load(DataKind::Devices);
  if (!devices.ok()) return "";
  const std::string mac = store::normalizedKey(DataKind::Devices, who.subject);
  for (const auto& d : devices.value()) {
    if (d.key == mac) return d.values[1];
  }
  return "";
}

bool RecordsApi::covers(const Principal& who, DataKind kind, const store::DataRecord& r,
                        const std::string& own) const {
  if (who.role == Role::Device) {
    return kind == DataKind::PersonalLocations && !own.empty() && r.values[1] == own;
  }
  return who.coversSite(r.site);
}

store::ImportRequest RecordsApi::request(DataKind kind, const Principal& who) const {
  store::ImportRequest req;
  req.kind = kind;
  req.source = "request";
  if (who.role != Role::SuperAdmin) req.sites = who.sites;
  req.actor = who.name;
  req.role = std::string(toString(who.role));
  req.atMs = deps_.nowMs();
  return req;
}

HttpResponse RecordsApi::handle(const HttpRequest& r, std::string_view path, const Principal& who) {
  const bool admin = who.role == Role::SuperAdmin || who.role == Role::SiteAdmin;
  const std::string_view personal = kCollections[2].path;
  const bool own = who.role == Role::Device && path.rfind(personal, 0) == 0 &&
                   (path.size() == personal.size() || path[personal.size()] == '/');
  if (!admin && !own) {
    return jsonError(403,
                     "users, desk phones, personal locations, sites and imports are an admin's "
                     "(a device token may change its own user's personal locations)");
  }
  for (std::string_view prefix : {kImportPath, kExportPath}) {
    if (path.rfind(prefix, 0) != 0) continue;
    auto kind = store::dataKindNamed(path.substr(prefix.size()));
    if (!kind) {
      return jsonError(
          404, "import and export take users, devices, locations, personal-locations or sites");
    }
    if (prefix == kImportPath) return import(r, *kind, who);
    auto csv = deps_.exportCsv(
        *kind, who.role == Role::SuperAdmin ? std::vector<std::string>{} : who.sites);
    if (!csv.ok()) return jsonError(500, csv.error().message);
    return HttpResponse{200, "text/csv; charset=utf-8", csv.value(), {}};
  }
  for (const Collection& c : kCollections) {
    if (path.rfind(c.path, 0) != 0) continue;
    if (path.size() == c.path.size()) return list(r, c.kind, who);
    if (path[c.path.size()] != '/') continue;  // "/api/v1/sitesX" is not a site
    return one(r, c, percentDecoded(path.substr(c.path.size() + 1)), who);
  }
  return jsonError(404, "no such path");
}

HttpResponse RecordsApi::list(const HttpRequest& r, DataKind kind, const Principal& who) {
  auto page = pageOf(r.target);
  if (!page) return jsonError(400, "limit must be a whole number from 1");
  std::string site;
  for (const auto& [k, v] : queryParameters(r.target)) {
    if (k == "site") site = v;
  }
  auto all = deps_.load(kind);
  if (!all.ok()) return jsonError(500, all.error().message);
  const std::string own = ownExtension(who);  // once: a MAC token's user is looked up
  json records = json::array();
  std::string next;
  for (const auto& record : all.value()) {
    if (!page->after.empty() && record.key <= page->after) continue;
    if (!site.empty() && record.site != site) continue;
    if (!covers(who, kind, record, own)) continue;
    if (records.size() == page->limit) {
      next = records.back()[store::dataColumns(kind)[0]].get<std::string>();
      break;
    }
    records.push_back(recordJson(kind, record));
  }
  json out{{std::string(store::dataKindName(kind)), records}};
  out["next"] = next.empty() ? json(nullptr) : json(next);
  return HttpResponse{200, "application/json", jsonText(out), {}};
}

HttpResponse RecordsApi::one(const HttpRequest& r, const Collection& c, const std::string& given,
                             const Principal& who) {
  const DataKind kind = c.kind;
  const std::string singular(c.singular);
  const std::string key = store::normalizedKey(kind, given);
  const std::string what = singular + " \"" + key + "\"";
  const std::string own = ownExtension(who);
  auto all = deps_.load(kind);
  if (!all.ok()) return jsonError(500, all.error().message);
  auto found = std::find_if(all.value().begin(), all.value().end(),
                            [&](const store::DataRecord& d) { return d.key == key; });
  const store::DataRecord* existing = found == all.value().end() ? nullptr : &*found;
  if (existing != nullptr && !covers(who, kind, *existing, own)) {
    return jsonError(403, what + " is not of your sites");
  }
  if (r.method == "GET") {
    if (existing == nullptr) return jsonError(404, "no " + what);
    return withEtag(200, recordJson(kind, *existing));
  }
  if (r.method == "DELETE" && existing == nullptr) return jsonError(404, "no " + what);
  if (existing != nullptr) {
    // Lost updates are refused: a change names the version it was made from.
    const std::string current = etagOf(recordJson(kind, *existing));
    if (r.ifMatch.empty() || (r.ifMatch != current && r.ifMatch != "*")) {
      auto out =
          r.ifMatch.empty()
              ? jsonError(428, "send If-Match with the ETag of the " + singular + " as read (GET)")
              : jsonError(412, "the " + singular +
                                   " changed since it was read: "
                                   "read it again");
      out.headers.emplace_back("ETag", current);
      return out;
    }
  }
  store::ImportRequest req = request(kind, who);
  if (r.method == "DELETE") {
    req.remove.push_back(key);
  } else {
    json body = json::parse(r.body, nullptr, false);
    if (!body.is_object()) return jsonError(400, "body must be a JSON object: one " + singular);
    std::string why;
    auto input = inputOf(body, why);
    if (!input) return jsonError(400, why);
    const std::string keyColumn = store::dataColumns(kind)[0];
    if (who.role == Role::Device) {
      // A user's own personal location: whose it is is not theirs to say.
      for (const auto& f : input->fields) {
        if (f.column == "extension" && f.value != own) {
          return jsonError(403, "a device token writes its own user's (" + own + ") only");
        }
      }
      if (own.empty()) return jsonError(404, "this token's user is not known");
      // A hold is the "this emergency only" choice's, and as short (issue 17).
      const auto& columns = store::dataColumns(kind);
      const auto holdColumn = std::find(columns.begin(), columns.end(), "hold_until_ms");
      for (const auto& f : input->fields) {
        if (f.column != "hold_until_ms" || holdColumn == columns.end()) continue;
        const std::string stored =
            existing == nullptr ? "" : existing->values[holdColumn - columns.begin()];
        const int64_t holdMs = deps_.holdMs ? deps_.holdMs() : int64_t{8} * 3600 * 1000;
        if (const std::string why = holdRefusal(f.value, stored, deps_.nowMs(), holdMs);
            !why.empty()) {
          return jsonError(403, why);
        }
      }
      if (existing == nullptr && deps_.nomadicOffSite) {
        if (const std::string site = deps_.nomadicOffSite(own); !site.empty()) {
          return jsonError(403, nomadicOffText(site));
        }
      }
      input->fields.push_back({"extension", own, 0});
    }
    // Looked for only now: the push_back above may have moved the fields.
    auto keyField = std::find_if(input->fields.begin(), input->fields.end(),
                                 [&](const store::InputField& f) { return f.column == keyColumn; });
    if (keyField == input->fields.end()) {
      input->fields.insert(input->fields.begin(), {keyColumn, key, 0});
    } else if (store::normalizedKey(kind, keyField->value) != key) {
      return jsonError(400, keyColumn + ": \"" + keyField->value + "\" is not the " + singular +
                                " of the path (\"" + key + "\")");
    }
    req.records.push_back(std::move(*input));
  }
  auto applied = deps_.apply(req);
  if (!applied.ok()) return refusedWrite(applied.error(), "records");
  spdlog::info("admin API: {} {} by \"{}\"", what,
               r.method == "DELETE" ? "deleted"
               : existing           ? "updated"
                                    : "created",
               who.name);
  if (r.method == "DELETE") {
    return HttpResponse{200, "application/json", jsonText(json{{"deleted", key}}), {}};
  }
  auto now = deps_.load(kind);
  if (!now.ok()) return jsonError(500, now.error().message);
  for (const auto& d : now.value()) {
    if (d.key == key) return withEtag(existing ? 200 : 201, recordJson(kind, d));
  }
  return jsonError(500, what + " was written but cannot be read back");
}

HttpResponse RecordsApi::import(const HttpRequest& r, DataKind kind, const Principal& who) {
  if (r.method != "POST") return jsonError(405, "use POST");
  store::ImportRequest req = request(kind, who);
  for (const auto& [k, v] : queryParameters(r.target)) {
    if (k == "mode") {
      if (v != "merge" && v != "replace") return jsonError(400, "mode is merge or replace");
      req.replace = v == "replace";
    } else if (k == "dry_run") {
      if (v != "true" && v != "false") return jsonError(400, "dry_run is true or false");
      req.dryRun = v == "true";
    }
  }
  auto input = store::readCsvInput(r.body, "request", kind);
  if (!input.ok()) return refusedWrite(Error{"import.invalid", input.error().message}, "records");
  req.records = std::move(input.value().records);
  auto applied = deps_.apply(req);
  if (!applied.ok()) return refusedWrite(applied.error(), "records");
  const auto& result = applied.value();
  spdlog::info("admin API: {} import by \"{}\"{}: {} added, {} changed, {} removed, {} unchanged",
               store::dataKindName(kind), who.name, req.dryRun ? " (dry run)" : "", result.added,
               result.changed, result.removed, result.unchanged);
  return HttpResponse{200, "application/json", jsonText(changesJson(result)), {}};
}

}  // namespace sos::admin
