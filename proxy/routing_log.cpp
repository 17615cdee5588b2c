#include "proxy/routing_log.h"

#include <spdlog/spdlog.h>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>

namespace sos::proxy {

namespace {

std::string isoTimestamp(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  auto secs = floor<seconds>(tp);
  auto ms = duration_cast<milliseconds>(tp - secs).count();
  // The date and time to the second, made again only when the second changes (each thread its
  // own): most lines of a busy second share it.
  thread_local seconds madeFor = seconds::min();
  thread_local std::string made;
  if (secs.time_since_epoch() != madeFor) {
    std::time_t t = system_clock::to_time_t(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    made.assign(buf, n);
    madeFor = secs.time_since_epoch();
  }
  std::string out;
  out.reserve(made.size() + 5);
  out = made;
  char frac[8];
  auto [end, ec] = std::to_chars(frac, frac + sizeof frac, 1000 + ms);  // "1412" -> ".412"
  (void)ec;
  frac[0] = '.';
  out.append(frac, end);
  out += 'Z';
  return out;
}

// Milliseconds to the microsecond: finer is noise, and a fixed precision keeps lines aligned.
std::string formatMs(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 3);
  if (ec != std::errc{}) return "0.000";
  return std::string(buf, end);
}

double roundMs(double v) { return std::round(v * 1000.0) / 1000.0; }

bool needsQuotes(std::string_view v) {
  for (unsigned char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Values come from SIP headers of strangers (Call-ID, From user): a line break or a quote in
// them must not be able to forge a second log line or a second field.
std::string quote(std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

class TextLine {
 public:
  void add(std::string_view key, std::string_view value) {
    if (value.empty()) return;
    if (!line_.empty()) line_ += ' ';
    line_ += key;
    line_ += '=';
    if (needsQuotes(value)) {
      line_ += quote(value);
    } else {
      line_ += value;
    }
  }
  std::string take() { return std::move(line_); }

 private:
  std::string line_;
};

const char* yesNo(bool b) { return b ? "yes" : "no"; }

}  // namespace

std::string formatText(const RoutingLogEntry& e, std::chrono::system_clock::time_point ts) {
  TextLine l;
  l.add("ts", isoTimestamp(ts));
  l.add("event", e.event);
  l.add("call_id", e.callId);
  l.add("caller", e.caller);
  l.add("dialed", e.dialed);
  l.add("emergency", yesNo(e.emergency));
  l.add("test", yesNo(e.test));
  // Only when raised: the rare line an operator must see stands out, the rest stay short.
  if (e.alarm) l.add("alarm", "yes");
  l.add("site", e.site);
  l.add("source", e.source);
  l.add("location", e.location);
  l.add("location_by", e.locationBy);
  if (e.locationAgeMs >= 0) l.add("location_age_s", formatMs(e.locationAgeMs / 1000.0));
  if (e.locationConflict) l.add("location_conflict", "yes");
  l.add("elin", e.elin);
  l.add("pidf", e.pidf);
  l.add("trunk", e.trunk);
  l.add("route", e.route);
  l.add("attempts", e.attempts);
  l.add("outcome", e.outcome);
  if (e.status != 0) l.add("status", std::to_string(e.status));
  if (e.addedMs >= 0) l.add("added_ms", formatMs(e.addedMs));
  if (e.durationMs >= 0) l.add("duration_ms", formatMs(e.durationMs));
  l.add("reason", e.reason);
  return l.take();
}

std::string formatJson(const RoutingLogEntry& e, std::chrono::system_clock::time_point ts) {
  nlohmann::ordered_json j;
  auto addString = [&](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  j["ts"] = isoTimestamp(ts);
  addString("event", e.event);
  addString("call_id", e.callId);
  addString("caller", e.caller);
  addString("dialed", e.dialed);
  j["emergency"] = e.emergency;
  j["test"] = e.test;
  j["alarm"] = e.alarm;
  addString("site", e.site);
  addString("source", e.source);
  addString("location", e.location);
  addString("location_by", e.locationBy);
  if (e.locationAgeMs >= 0) j["location_age_s"] = roundMs(e.locationAgeMs / 1000.0);
  if (!e.location.empty()) j["location_conflict"] = e.locationConflict;
  addString("elin", e.elin);
  addString("pidf", e.pidf);
  addString("trunk", e.trunk);
  addString("route", e.route);
  addString("attempts", e.attempts);
  addString("outcome", e.outcome);
  if (e.status != 0) j["status"] = e.status;
  if (e.addedMs >= 0) j["added_ms"] = roundMs(e.addedMs);
  if (e.durationMs >= 0) j["duration_ms"] = roundMs(e.durationMs);
  addString("reason", e.reason);
  // Header values are not guaranteed UTF-8; the default handler would throw on them, and one
  // odd Call-ID must not cost the log line (or the call).
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string formatText(const RoutingLogEntry& e) {
  return formatText(e, std::chrono::system_clock::now());
}

std::string formatJson(const RoutingLogEntry& e) {
  return formatJson(e, std::chrono::system_clock::now());
}

RoutingLog::RoutingLog(const std::string& path, config::LogFormat format, size_t queueLines,
                       std::chrono::milliseconds flushEvery)
    : path_(path), format_(format) {
  std::FILE* out = stdout;
  if (path != "-") {
    std::filesystem::path p(path);
    if (p.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(p.parent_path(), ec);
      if (ec) {
        throw std::runtime_error("routing log " + path + ": cannot create directory " +
                                 p.parent_path().string() + ": " + ec.message());
      }
    }
    // Append: a restart must not wipe the record of earlier calls.
    out = std::fopen(path.c_str(), "ae");
    if (out == nullptr) {
      throw std::runtime_error("routing log " + path +
                               ": cannot open for writing: " + std::strerror(errno));
    }
  }
  // The SIP thread only queues the line; a thread of the log's own writes it. A slow or full
  // disk then costs log lines (counted), never the SIP thread's time (the rule above all).
  writer_ = std::make_unique<LineWriter>(out, out != stdout, queueLines, flushEvery);
}

void RoutingLog::reopen() {
  if (path_ == "-") return;
  writer_->reopen(path_, [this](const std::string& error) {
    if (!error.empty()) reopenFailures_.fetch_add(1, std::memory_order_relaxed);
    // On the log's thread, possibly while the process stops: the operational log may be gone.
    const auto log = spdlog::default_logger();
    if (!log) return;
    if (error.empty()) {
      log->info("routing log {} reopened", path_);
    } else {
      log->warn("routing log {} not reopened ({}): lines go on to the file open before", path_,
                error);
    }
  });
}

void RoutingLog::write(const RoutingLogEntry& e) {
  auto now = std::chrono::system_clock::now();
  std::string line = format_ == config::LogFormat::Json ? formatJson(e, now) : formatText(e, now);
  line.push_back('\n');
  writer_->push(std::move(line));
}

}  // namespace sos::proxy
