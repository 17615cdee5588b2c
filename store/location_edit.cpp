// Company locations written through the API (store.h: putLocation, deleteLocation). The text is
// read by the seed's parser, so an edit passes exactly the checks a seed file does, with the
// same messages; the rows are written by the seed's writer.

#include <algorithm>
#include <regex>
#include <sstream>

#include "store/db.h"
#include "store/seed.h"
#include "store/store.h"

namespace sos::store {
namespace {

constexpr const char* kSource = "request";

// A JSON string literal of `s` (the sites are the store's own names and country codes, but a
// quote or backslash in one must not break the document).
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The seed parser's problems about the wrapped document, as problems about the text the client
// sent: "request:LINE:COLUMN: locations[0].elins[1]: what" -> "LINE-1:COLUMN: elins[1]: what"
// (the text starts on the wrapper's second line).
std::string asTextProblems(const std::string& message) {
  static const std::regex kLine(R"(^request:(\d+):(\d+): (?:locations\[0\]\.?)?(.*)$)");
  std::string out, line;
  std::istringstream in(message);
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, kLine)) {
      const int row = std::max(1, std::stoi(m[1]) - 1);
      std::string rest = m[3];
      if (rest.rfind(": ", 0) == 0) rest.insert(0, "(location)");
      line = std::to_string(row);
      line.append(":").append(m[2].str()).append(": ").append(rest);
    }
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

}  // namespace

Result<Store::LocationWrite> Store::putLocation(const std::string& text, const std::string& key,
                                                const AuditEntry& audit) {
  auto failure = [&](const std::string& why) { return Error{"store.write", path_ + ": " + why}; };
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) return failure(tx.error());

  // The sites the location may name, then the text as the one location of a seed document.
  std::string doc = "{\"sites\": [";
  {
    Statement sites(db_, "SELECT name, country FROM sites ORDER BY name");
    bool first = true;
    while (sites.row()) {
      doc += (first ? "" : ", ") + std::string("{\"name\": ") + quoted(sites.columnText(0)) +
             ", \"country\": " + quoted(sites.columnText(1)) + "}";
      first = false;
    }
    if (sites.failed()) return failure(sites.error());
  }
  doc += "], \"locations\": [\n" + text + "\n]}";
  auto parsed = parseSeed(doc, kSource);
  if (!parsed.ok()) {
    return Error{"store.invalid-location", asTextProblems(parsed.error().message)};
  }
  Seed seed = std::move(parsed.value());
  seed.sites.clear();  // in the store already
  if (seed.locations.size() != 1) {
    return Error{"store.invalid-location", "give one location"};
  }
  const model::Location& location = seed.locations.front().row;
  if (location.kind != model::LocationKind::Company) {
    return Error{"store.invalid-location",
                 "kind: only company locations are edited through the API; a site's default is "
                 "set in the seed"};
  }
  if (!key.empty() && location.key != key) {
    return Error{"store.invalid-location", "key: \"" + location.key +
                                               "\" is not the location being replaced (\"" + key +
                                               "\"); a key is not changed by an edit"};
  }
  bool exists = false;
  {
    Statement found(db_, "SELECT 1 FROM locations WHERE key = ?");
    exists = found.text(1, location.key).row();
    if (found.failed()) return failure(found.error());
  }
  if (key.empty() && exists) {
    return Error{"store.conflict", "a location keyed \"" + location.key + "\" exists already"};
  }
  if (!key.empty() && !exists) {
    return Error{"store.not-found", "no location is keyed \"" + key + "\""};
  }
  if (exists) {
    // Checked at commit: a default that names this key sees it again once it is written back.
    std::string error;
    if (!deferForeignKeys(db_, &error)) return failure(error);
    // Its ELINs and networks go with it (ON DELETE CASCADE) and come back as the text says.
    Statement remove(db_, "DELETE FROM locations WHERE key = ?");
    if (!remove.text(1, location.key).run()) return failure(remove.error());
  }
  if (auto refused = writeSeed(db_, seed, kSource)) {
    const std::string& m = refused->message;
    if (uniqueViolation(m)) {
      return Error{"store.conflict", asTextProblems(m) + " (another location has it already)"};
    }
    return Error{refused->code, asTextProblems(m)};
  }
  AuditEntry entry = audit;
  entry.site = location.site;
  if (auto logged = insertAudit(db_, entry, path_); !logged.ok()) return logged.error();
  if (auto bumped = bumpDataVersion(db_, path_); !bumped.ok()) return bumped.error();
  if (!tx.commit()) return failure(tx.error());
  return LocationWrite{location.key, location.site, !exists};
}

Result<bool> Store::deleteLocation(const std::string& key, const AuditEntry& audit) {
  auto failure = [&](const std::string& why) { return Error{"store.write", path_ + ": " + why}; };
  Transaction tx(db_, Transaction::Kind::Write);
  if (!tx.begun()) return failure(tx.error());
  {
    Statement uses(db_,
                   "SELECT (SELECT COUNT(*) FROM site_defaults WHERE location_key = ?1) + "
                   "(SELECT COUNT(*) FROM account WHERE default_location_key = ?1)");
    if (!uses.text(1, key).row()) return failure(uses.error());
    if (uses.columnInt(0) > 0) {
      return Error{"store.conflict",
                   "\"" + key + "\" is a site's or the account's default location: it stays"};
    }
  }
  Statement remove(db_, "DELETE FROM locations WHERE key = ?");
  if (!remove.text(1, key).run()) return failure(remove.error());
  if (db_->changes() == 0) return false;
  if (auto logged = insertAudit(db_, audit, path_); !logged.ok()) return logged.error();
  if (auto bumped = bumpDataVersion(db_, path_); !bumped.ok()) return bumped.error();
  if (!tx.commit()) return failure(tx.error());
  return true;
}

}  // namespace sos::store
