#include "proxy/store_spool.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "store/call_record_json.h"
#include "store/json_lines.h"

namespace sos::proxy {

namespace {

using nlohmann::json;

json toJson(const model::DeviceReport& r) {
  return {{"extension", r.extension},
          {"mac", r.mac},
          {"ip", r.ip},
          {"bssid", r.bssid},
          {"chassis", r.chassis},
          {"port", r.port},
          {"reported_at_ms", r.reportedAtMs},
          {"network_provided", r.networkProvided}};
}

model::DeviceReport reportFrom(const json& j) {
  model::DeviceReport r;
  r.extension = j.at("extension").get<std::string>();
  r.mac = j.at("mac").get<std::string>();
  r.ip = j.at("ip").get<std::string>();
  r.bssid = j.at("bssid").get<std::string>();
  r.chassis = j.at("chassis").get<std::string>();
  r.port = j.at("port").get<std::string>();
  r.reportedAtMs = j.at("reported_at_ms").get<int64_t>();
  r.networkProvided = j.at("network_provided").get<bool>();
  return r;
}

json toJson(const std::vector<model::CallbackTarget>& set) {
  json out = json::array();
  for (const auto& t : set) {
    out.push_back({{"extension", t.caller.extension},
                   {"did", t.caller.did},
                   {"contact", t.caller.contact},
                   {"call_id", t.caller.callId},
                   {"elin", t.elin},
                   {"assigned_at_ms", t.assignedAtMs},
                   {"expires_at_ms", t.expiresAtMs}});
  }
  return out;
}

std::vector<model::CallbackTarget> elinsFrom(const json& j) {
  std::vector<model::CallbackTarget> out;
  for (const auto& e : j) {
    model::CallbackTarget t;
    t.caller.extension = e.at("extension").get<std::string>();
    t.caller.did = e.at("did").get<std::string>();
    t.caller.contact = e.at("contact").get<std::string>();
    t.caller.callId = e.at("call_id").get<std::string>();
    t.elin = e.at("elin").get<std::string>();
    t.assignedAtMs = e.at("assigned_at_ms").get<int64_t>();
    t.expiresAtMs = e.at("expires_at_ms").get<int64_t>();
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

StoreSpool::StoreSpool(std::string path) : path_(std::move(path)) {}

StoreSpool::~StoreSpool() {
  if (file_) std::fclose(file_);
}

StoreSpool::Kept StoreSpool::load() const {
  Kept kept;
  if (path_.empty()) return kept;
  kept.unreadable = store::readJsonLines(path_, [&](const std::string& kind, const json& value) {
    if (kind == "report") {
      kept.reports.push_back(reportFrom(value));
    } else if (kind == "record") {
      kept.records.push_back(store::callRecordFromJson(value));
    } else if (kind == "elins") {
      kept.elins = elinsFrom(value);
    } else {
      throw std::invalid_argument("not a kept write: " + kind);
    }
  });
  return kept;
}

void StoreSpool::appendLine(const std::string& text) {
  if (path_.empty()) return;
  if (file_ == nullptr) {
    file_ = std::fopen(path_.c_str(), "a+e");
    // A previous run's last line cut short by a crash is ended first: the next line must not
    // join it (the cut line is skipped when read, this one is not).
    if (file_ != nullptr && std::fseek(file_, -1, SEEK_END) == 0) {
      const int last = std::fgetc(file_);
      if (last != EOF && last != '\n') std::fputc('\n', file_);
    }
  }
  if (file_ == nullptr || std::fwrite(text.data(), 1, text.size(), file_) != text.size() ||
      std::fflush(file_) != 0) {
    if (!warned_) {
      spdlog::error(
          "store: the spool file {} cannot be written ({}): what the database did not "
          "take is kept in memory only",
          path_, std::strerror(errno));
      warned_ = true;
    }
    return;
  }
  unsynced_ = true;
}

void StoreSpool::append(const model::DeviceReport& report) {
  appendLine(store::jsonLine("report", toJson(report)));
}

void StoreSpool::append(const store::CallRecord& record) {
  appendLine(store::jsonLine("record", store::toJson(record)));
}

void StoreSpool::append(const std::vector<store::CallRecord>& records) {
  std::string lines;
  for (const auto& r : records) lines += store::jsonLine("record", store::toJson(r));
  if (!lines.empty()) appendLine(lines);
}

void StoreSpool::append(const std::vector<model::CallbackTarget>& elins) {
  appendLine(store::jsonLine("elins", toJson(elins)));
}

void StoreSpool::rewrite(const std::deque<model::DeviceReport>& reports,
                         const std::deque<store::CallRecord>& records,
                         const std::optional<std::vector<model::CallbackTarget>>& elins) {
  if (path_.empty()) return;
  if (file_) {
    std::fclose(file_);
    file_ = nullptr;
  }
  unsynced_ = false;
  std::error_code ec;
  if (reports.empty() && records.empty() && !elins) {
    std::filesystem::remove(path_, ec);
    return;
  }
  std::string text;
  if (elins) text += store::jsonLine("elins", toJson(*elins));
  for (const auto& r : reports) text += store::jsonLine("report", toJson(r));
  for (const auto& c : records) text += store::jsonLine("record", store::toJson(c));
  if (const std::string error = store::replaceFile(path_, text); !error.empty()) {
    spdlog::error(
        "store: the spool file {} could not be written anew ({}): it may hold writes "
        "already made, which a restart would make again",
        path_, error);
  }
}

void StoreSpool::sync() {
  if (!unsynced_ || file_ == nullptr) return;
  (void)fdatasync(fileno(file_));
  unsynced_ = false;
}

}  // namespace sos::proxy
