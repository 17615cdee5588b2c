#include "proxy/store_spool.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "store/call_record_json.h"

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

// Invalid UTF-8 (a header's bytes in a call record) is written replaced, never refused.
std::string line(const char* kind, json value) {
  return json{{kind, std::move(value)}}.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

StoreSpool::StoreSpool(std::string path) : path_(std::move(path)) {}

StoreSpool::~StoreSpool() {
  if (file_) std::fclose(file_);
}

StoreSpool::Kept StoreSpool::load() const {
  Kept kept;
  if (path_.empty()) return kept;
  std::ifstream in(path_);
  std::string text;
  while (std::getline(in, text)) {
    if (text.empty()) continue;
    try {
      const json j = json::parse(text);
      if (j.contains("report")) {
        kept.reports.push_back(reportFrom(j.at("report")));
      } else if (j.contains("record")) {
        kept.records.push_back(store::callRecordFromJson(j.at("record")));
      } else if (j.contains("elins")) {
        kept.elins = elinsFrom(j.at("elins"));
      } else {
        ++kept.unreadable;
      }
    } catch (const std::exception&) {
      ++kept.unreadable;  // a line cut short by a crash, or not ours
    }
  }
  return kept;
}

void StoreSpool::appendLine(const std::string& text) {
  if (path_.empty()) return;
  if (file_ == nullptr) file_ = std::fopen(path_.c_str(), "ae");
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
  appendLine(line("report", toJson(report)));
}

void StoreSpool::append(const store::CallRecord& record) {
  appendLine(line("record", store::toJson(record)));
}

void StoreSpool::append(const std::vector<model::CallbackTarget>& elins) {
  appendLine(line("elins", toJson(elins)));
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
  const std::string next = path_ + ".new";
  std::FILE* out = std::fopen(next.c_str(), "we");
  bool ok = out != nullptr;
  auto put = [&](const std::string& text) {
    ok = ok && std::fwrite(text.data(), 1, text.size(), out) == text.size();
  };
  if (elins) put(line("elins", toJson(*elins)));
  for (const auto& r : reports) put(line("report", toJson(r)));
  for (const auto& c : records) put(line("record", store::toJson(c)));
  ok = ok && std::fflush(out) == 0 && fdatasync(fileno(out)) == 0;
  if (out) std::fclose(out);
  if (ok) std::filesystem::rename(next, path_, ec);
  if (!ok || ec) {
    spdlog::error(
        "store: the spool file {} could not be written anew ({}): it may hold writes "
        "already made, which a restart would make again",
        path_, ec ? ec.message() : std::strerror(errno));
    std::filesystem::remove(next, ec);
  }
}

void StoreSpool::sync() {
  if (!unsynced_ || file_ == nullptr) return;
  (void)fdatasync(fileno(file_));
  unsynced_ = false;
}

}  // namespace sos::proxy
