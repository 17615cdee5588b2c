#pragma once
// Internal to admin/: the text handling every API handler shares — percent-decoding a path part
// or a query, reading the query's parameters and its page, and writing a JSON answer.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admin/http_server.h"
#include "base/result.h"

namespace sos::admin {

// "%40" -> "@". In a query (`plusIsSpace`), '+' is a space too; in a path it is itself (a
// Call-ID may hold one).
std::string percentDecoded(std::string_view s, bool plusIsSpace = false);

// The parameters of the target's query, decoded, in the order given.
std::vector<std::pair<std::string, std::string>> queryParameters(std::string_view target);

// A list's page as the query asks for it: `limit` (1 to 1000, default 100) records after the key
// `after` ("" for the first page). nullopt when limit is not a whole number from 1.
struct Page {
  size_t limit = 100;
  std::string after;
};
std::optional<Page> pageOf(std::string_view target);

// The answer to a store write that was refused (Store::applyRecords and what builds on it): the
// problems of a refused input as 400 {"error", "problems": ["request:LINE:COLUMN: FIELD: what",
// ...]}, outside the caller's sites 403, not found 404, a conflict 409, anything else 500
// (logged with `what`).
HttpResponse refusedWrite(const Error& e, std::string_view what);

// The JSON text of an answer, with a line feed; invalid UTF-8 (quoted from a client) replaced.
std::string jsonText(const nlohmann::json& j);

// A time in Unix ms as an answer gives it: null for 0 (never).
nlohmann::json msOrNull(int64_t ms);

// The version of a resource a client read, for If-Match: a strong ETag of its JSON as GET shows
// it.
std::string etagOf(const nlohmann::json& resource);

}  // namespace sos::admin
