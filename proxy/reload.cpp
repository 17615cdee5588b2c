#include "proxy/reload.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

namespace sos::proxy {

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  if (out.empty()) out.push_back(text);
  return out;
}

std::string joined(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : separator) + i;
  return out;
}

bool sameSipTls(const std::optional<config::SipTls>& a, const std::optional<config::SipTls>& b) {
  if (!a || !b) return a.has_value() == b.has_value();
  return a->port == b->port && a->certificate == b->certificate && a->key == b->key &&
         a->ca == b->ca && a->verifyServerNames == b->verifyServerNames &&
         a->requireClientCertificates == b->requireClientCertificates;
}

}  // namespace

void ConfigOverrides::applyTo(config::Config& c) const {
  if (logFormat)
    c.logging.format = *logFormat == "json" ? config::LogFormat::Json : config::LogFormat::Text;
  if (routingLog) c.logging.routingLog = *routingLog;
  if (logLevel) c.logging.level = *logLevel;
}

Result<LoadedConfig> loadRunnable(const std::string& path, const ConfigOverrides& overrides) {
  auto loaded = config::loadConfig(path);
  if (!loaded.ok()) return loaded.error();
  auto cfg = std::make_shared<config::Config>(std::move(loaded).value());
  overrides.applyTo(*cfg);
  auto router = routing::Router::create(cfg);
  if (!router.ok()) return router.error();
  return LoadedConfig{std::move(cfg), std::move(router).value()};
}

std::vector<std::string> restartOnlyChanges(const config::Config& running,
                                            const config::Config& next) {
  std::vector<std::string> changed;
  auto check = [&](bool differs, const char* key) {
    if (differs) changed.emplace_back(key);
  };
  check(running.listen.address != next.listen.address, "listen.address");
  check(running.listen.port != next.listen.port, "listen.port");
  check(running.listen.transports != next.listen.transports, "listen.transports");
  check(!sameSipTls(running.listen.tls, next.listen.tls), "listen.tls");
  check(running.store.backend != next.store.backend, "store.backend");
  check(running.store.path != next.store.path, "store.path");
  check(running.store.postgresql != next.store.postgresql, "store.postgresql");
  check(running.store.seed != next.store.seed, "store.seed");
  check(running.store.nodeName != next.store.nodeName, "store.node_name");
  check(running.admin.address != next.admin.address, "admin.address");
  check(running.admin.port != next.admin.port, "admin.port");
  check(running.admin.enabled != next.admin.enabled, "admin.enabled");
  check(running.admin.deviceAddress != next.admin.deviceAddress ||
            running.admin.devicePort != next.admin.devicePort,
        "admin.device_listen");
  check(running.admin.tls.certFile != next.admin.tls.certFile ||
            running.admin.tls.keyFile != next.admin.tls.keyFile,
        "admin.tls");
  check(running.limits.udpInviteGate != next.limits.udpInviteGate, "limits.udp_invite_gate");
  check(running.logging.format != next.logging.format, "logging.format");
  check(running.logging.routingLog != next.logging.routingLog, "logging.routing_log");
  return changed;
}

void keepRestartOnly(const config::Config& running, config::Config& next) {
  next.listen.address = running.listen.address;
  next.listen.port = running.listen.port;
  next.listen.transports = running.listen.transports;
  next.listen.tls = running.listen.tls;  // SIGHUP reads the same files again
  next.store = running.store;
  next.limits.udpInviteGate = running.limits.udpInviteGate;
  // admin.allowed_hosts and admin.metrics_public take effect at once.
  next.admin.address = running.admin.address;
  next.admin.port = running.admin.port;
  next.admin.enabled = running.admin.enabled;
  next.admin.deviceAddress = running.admin.deviceAddress;
  next.admin.devicePort = running.admin.devicePort;
  next.admin.tls = running.admin.tls;  // SIGHUP reads the same files again
  next.logging.format = running.logging.format;
  next.logging.routingLog = running.logging.routingLog;
}

std::string toJson(const ReloadResult& r) {
  nlohmann::ordered_json j;
  j["reloaded"] = r.reloaded;
  if (r.reloaded) {
    j["trunks"] = r.trunks;
    j["sites"] = r.sites;
    j["restart_needed"] = r.restartNeeded;
  } else {
    j["errors"] = r.errors;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

ConfigReloader::ConfigReloader(std::string path, ConfigOverrides overrides,
                               std::shared_ptr<const config::Config> running, Apply apply)
    : path_(std::move(path)),
      overrides_(std::move(overrides)),
      running_(std::move(running)),
      apply_(std::move(apply)) {}

ReloadResult ConfigReloader::reload() {
  ReloadResult out;
  try {
    auto loaded = config::loadConfig(path_);
    if (!loaded.ok()) {
      out.errors = lines(loaded.error().message);
    } else {
      config::Config next = std::move(loaded).value();
      overrides_.applyTo(next);
      out.restartNeeded = restartOnlyChanges(*running_, next);
      keepRestartOnly(*running_, next);
      auto cfg = std::make_shared<const config::Config>(std::move(next));
      auto router = routing::Router::create(cfg);
      if (!router.ok()) {
        out.errors = lines(router.error().message);
      } else {
        if (apply_.router) apply_.router(router.value());
        if (cfg->logging.level != running_->logging.level)
          spdlog::set_level(spdlog::level::from_str(cfg->logging.level));
        // The Router is in: a snapshot that cannot be rebuilt keeps the one in force (the
        // location service logs and counts that) and does not undo the reload.
        try {
          if (apply_.locations) apply_.locations(cfg);
        } catch (const std::exception& e) {
          spdlog::warn("location snapshot not rebuilt on reload ({}); the one in force stays",
                       e.what());
        }
        running_ = cfg;
        out.reloaded = true;
        out.trunks = cfg->trunks.size();
        out.sites = cfg->sites.size();
      }
    }
  } catch (const std::exception& e) {
    out.reloaded = false;
    out.errors = {path_ + ": " + e.what()};
  }

  if (!out.reloaded) {
    out.restartNeeded.clear();
    ++counters_.failures;
    spdlog::error("configuration not reloaded from {}; the running one stays:\n{}", path_,
                  joined(out.errors, "\n"));
    return out;
  }
  for (const auto& key : out.restartNeeded)
    spdlog::warn("{} changed: takes effect after a restart", key);
  ++counters_.reloads;
  spdlog::info("configuration reloaded from {}: {} trunks, {} sites", path_, out.trunks, out.sites);
  return out;
}

}  // namespace sos::proxy
