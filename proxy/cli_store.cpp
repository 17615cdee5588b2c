// The store of a configuration, for the command-line commands (cli_store.h).

#include "proxy/cli_store.h"

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "config/config.h"

namespace sos::proxy {

std::unique_ptr<store::Store> openConfiguredStore(const std::string& configPath,
                                                  const std::string& command, int& exitStatus) {
  exitStatus = 2;
  auto cfg = config::loadConfig(configPath);
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return nullptr;
  }
  if (cfg.value().store.database().empty()) {
    std::cerr << "sosproxy " << command << ": " << configPath
              << ": store.path is not set, so the data lives in memory and cannot be changed "
                 "from the command line; set store.path to a database file\n";
    return nullptr;
  }
  exitStatus = 1;
  auto store = store::Store::open(cfg.value().store.database());
  if (!store.ok()) {
    std::cerr << "sosproxy " << command << ": " << store.error().message << "\n";
    return nullptr;
  }
  if (!cfg.value().store.seed.empty()) {
    if (auto seeded = store.value()->seedIfEmpty(cfg.value().store.seed); !seeded.ok()) {
      std::cerr << "sosproxy " << command << ": " << seeded.error().message << "\n";
      return nullptr;
    }
  }
  exitStatus = 0;
  return std::move(store).value();
}

std::string cliActor() {
  const char* user = std::getenv("USER");
  return std::string("cli:") + (user != nullptr && *user != '\0' ? user : "unknown");
}

int64_t cliNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int cliUsageError(const std::string& command, const std::string& message) {
  std::cerr << "sosproxy " << command << ": " << message << "\nTry 'sosproxy --help'.\n";
  return 2;
}

}  // namespace sos::proxy
