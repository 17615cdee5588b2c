#pragma once
// Reloading the configuration while calls go on (SIGHUP, POST /api/v1/admin/reload).
//
// A reload reads the configuration file again (with the command-line overrides given at
// start-up), builds a new Router and, only when both succeed, hands the Router to the SIP
// thread and rebuilds the location snapshot with the new location settings. A file with errors
// changes nothing: the running configuration stays, every problem is logged and counted.
//
// Settings bound to sockets and files opened at start-up (listen address, port and transports;
// the admin server; the store; the routing log's path and format) keep their running values;
// each one the file changes is named in a warning. Calls in progress finish with the Router
// they started with.
//
// Runs on the I/O thread only: SIGHUP is posted there and the admin handler runs there, so two
// reloads never overlap.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "routing/router.h"

namespace sos::proxy {

// The command-line options that override the file, applied at start-up and on every reload.
struct ConfigOverrides {
  std::optional<std::string> logFormat;  // "text" or "json"
  std::optional<std::string> routingLog;
  std::optional<std::string> logLevel;

  void applyTo(config::Config& config) const;
};

// A configuration ready to run: the file as read (overrides applied) and its Router.
struct LoadedConfig {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const routing::Router> router;
};

// Reads `path`, applies `overrides` and builds the Router. The Error's message has one line per
// problem ("FILE:LINE:COLUMN: KEY: message" for the file's own problems).
Result<LoadedConfig> loadRunnable(const std::string& path, const ConfigOverrides& overrides);

// The settings `next` changes that only a restart applies, by key ("listen.port"), in the
// order of the configuration reference.
std::vector<std::string> restartOnlyChanges(const config::Config& running,
                                            const config::Config& next);
// Puts the running values of those settings into `next`.
void keepRestartOnly(const config::Config& running, config::Config& next);

struct ReloadCounters {
  std::atomic<uint64_t> reloads{0};   // reloads that took effect
  std::atomic<uint64_t> failures{0};  // reloads refused (the running configuration stayed)
};

struct ReloadResult {
  bool reloaded = false;
  std::vector<std::string> errors;         // why it was refused, one problem each
  std::vector<std::string> restartNeeded;  // changed keys kept at their running values
  size_t trunks = 0;
  size_t sites = 0;
};

// The admin endpoint's answer: {"reloaded":true,"trunks":N,"sites":M,"restart_needed":[...]}
// or {"reloaded":false,"errors":[...]}.
std::string toJson(const ReloadResult& result);

class ConfigReloader {
 public:
  struct Apply {
    // Hands the new Router to the SIP thread.
    std::function<void(std::shared_ptr<const routing::Router>)> router;
    // Rebuilds the location snapshot with the new configuration's location settings.
    std::function<void(std::shared_ptr<const config::Config>)> locations;
  };

  ConfigReloader(std::string path, ConfigOverrides overrides,
                 std::shared_ptr<const config::Config> running, Apply apply);

  // Reads the file again and applies it, or keeps everything as it is. Logs the outcome.
  ReloadResult reload();

  const ReloadCounters& counters() const { return counters_; }
  std::shared_ptr<const config::Config> running() const { return running_; }

 private:
  std::string path_;
  ConfigOverrides overrides_;
  std::shared_ptr<const config::Config> running_;
  Apply apply_;
  ReloadCounters counters_;
};

}  // namespace sos::proxy
