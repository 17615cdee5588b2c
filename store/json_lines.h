#pragma once
// Files of one JSON object a line, {"KIND": VALUE}, written anew as a whole: the spool files
// that keep what the database could not take (proxy/store_spool.h, notify/alert_spool.h).

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace sos::store {

// {"KIND": VALUE} and a line feed; invalid UTF-8 (a header's bytes) written replaced, never
// refused.
std::string jsonLine(const char* kind, const nlohmann::json& value);

// Each line of `path` that holds one {"KIND": VALUE} handed to `take`; returns how many lines
// could not be read (cut short by a crash, not JSON, or `take` threw for them). A missing file
// holds no line.
size_t readJsonLines(
    const std::string& path,
    const std::function<void(const std::string& kind, const nlohmann::json& value)>& take);

// `text` written to `path` anew: a temporary file beside it (PATH.new), synced to the disk
// (fdatasync), then renamed over it. Returns why it failed, or "" once done.
std::string replaceFile(const std::string& path, const std::string& text);

}  // namespace sos::store
