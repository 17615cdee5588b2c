#include "store/json_lines.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace sos::store {

using nlohmann::json;

std::string jsonLine(const char* kind, const json& value) {
  return json{{kind, value}}.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

size_t readJsonLines(const std::string& path,
                     const std::function<void(const std::string&, const json&)>& take) {
  size_t unreadable = 0;
  std::ifstream in(path);
  std::string text;
  while (std::getline(in, text)) {
    if (text.empty()) continue;
    try {
      const json line = json::parse(text);
      if (!line.is_object() || line.size() != 1) {
        ++unreadable;
        continue;
      }
      take(line.begin().key(), line.begin().value());
    } catch (const std::exception&) {
      ++unreadable;
    }
  }
  return unreadable;
}

std::string replaceFile(const std::string& path, const std::string& text) {
  const std::string next = path + ".new";
  std::FILE* out = std::fopen(next.c_str(), "we");
  bool ok = out != nullptr && std::fwrite(text.data(), 1, text.size(), out) == text.size() &&
            std::fflush(out) == 0 && fdatasync(fileno(out)) == 0;
  std::string error = ok ? "" : std::strerror(errno);
  if (out != nullptr && std::fclose(out) != 0 && ok) {
    ok = false;
    error = std::strerror(errno);
  }
  std::error_code ec;
  if (ok) std::filesystem::rename(next, path, ec);
  if (ok && !ec) return "";
  if (ec) error = ec.message();
  std::filesystem::remove(next, ec);
  return error;
}

}  // namespace sos::store
