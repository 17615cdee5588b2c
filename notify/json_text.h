#pragma once
// The one-line JSON text of what the notifier stores and sends (an event, a webhook's body):
// compact, and invalid UTF-8 (a caller's display name) replaced rather than thrown on.

#include <nlohmann/json.hpp>
#include <string>

namespace sos::notify {

inline std::string compactJson(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace sos::notify
