// Text shared by the API handlers (request_text.h).

#include "admin/request_text.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "admin/auth.h"
#include "base/text.h"

namespace sos::admin {

std::string percentDecoded(std::string_view s, bool plusIsSpace) {
  if (!plusIsSpace) return sos::percentDecoded(s);
  // A literal '+' is a space; an escaped one (%2B) is decoded after, so it stays a '+'.
  std::string spaced(s);
  std::replace(spaced.begin(), spaced.end(), '+', ' ');
  return sos::percentDecoded(spaced);
}

std::vector<std::pair<std::string, std::string>> queryParameters(std::string_view target) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    out.emplace_back(percentDecoded(pair.substr(0, eq), true),
                     eq == std::string_view::npos ? "" : percentDecoded(pair.substr(eq + 1), true));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

std::optional<Page> pageOf(std::string_view target) {
  constexpr size_t kMaxPage = 1000;
  Page page;
  for (const auto& [k, v] : queryParameters(target)) {
    if (k == "after") page.after = v;
    if (k != "limit") continue;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), page.limit);
    if (ec != std::errc() || end != v.data() + v.size() || page.limit == 0) return std::nullopt;
  }
  page.limit = std::min(page.limit, kMaxPage);
  return page;
}

HttpResponse refusedWrite(const Error& e, std::string_view what) {
  if (e.code == "import.invalid" || e.code == "csv.invalid") {
    nlohmann::json problems = nlohmann::json::array();
    size_t start = 0;
    while (start < e.message.size()) {
      const size_t end = std::min(e.message.find('\n', start), e.message.size());
      problems.push_back(e.message.substr(start, end - start));
      start = end + 1;
    }
    nlohmann::json j{{"error", "nothing written: " + std::to_string(problems.size()) + " problem" +
                                   (problems.size() == 1 ? "" : "s")},
                     {"problems", problems}};
    return HttpResponse{400, "application/json", jsonText(j), {}};
  }
  if (e.code == "import.forbidden") return jsonError(403, e.message);
  if (e.code == "store.not-found") return jsonError(404, e.message);
  if (e.code == "store.conflict") return jsonError(409, e.message);
  spdlog::error("admin API: {} not written: {}", what, e.message);
  return jsonError(500, e.message);
}

std::string jsonText(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::json msOrNull(int64_t ms) {
  return ms == 0 ? nlohmann::json(nullptr) : nlohmann::json(ms);
}

std::string etagOf(const nlohmann::json& resource) {
  return "\"" + tokenHash(jsonText(resource)).substr(0, 20) + "\"";
}

}  // namespace sos::admin
