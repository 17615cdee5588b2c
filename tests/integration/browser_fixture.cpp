#include "browser_fixture.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#ifndef SOS_BROWSER_TESTS_DIR
#error "SOS_BROWSER_TESTS_DIR must be defined by the build"
#endif

namespace sos::itest {

std::string browserMissing() {
  std::string missing;
  for (const char* program : {"/usr/bin/chromium", "/usr/bin/chromedriver"}) {
    if (::access(program, X_OK) != 0) missing += std::string(missing.empty() ? "" : ", ") + program;
  }
  if (missing.empty()) return "";
  return "the browser tests need " + missing +
         " (scripts/setup.sh installs them: apt-get install chromium chromium-driver)";
}

bool ciRun() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

std::filesystem::path BrowserTest::browserOut(const std::string& scenario) const {
  return dir_.path() / ("browser-" + scenario);
}

std::future<void> BrowserTest::browseAsync(const std::string& script, const std::string& scenario,
                                           const std::string& token) {
  std::filesystem::create_directories(browserOut(scenario));
  return std::async(std::launch::async,
                    [this, script, scenario, token] { browse(script, scenario, token); });
}

std::optional<std::string> BrowserTest::awaitFromBrowser(const std::string& scenario,
                                                         const std::string& name,
                                                         std::future<void>& script,
                                                         milliseconds timeout) {
  const auto file = browserOut(scenario) / name;
  std::optional<std::string> told;
  waitFor(
      [&] {
        if (std::filesystem::exists(file)) {
          told = readFile(file);
          return true;
        }
        return script.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
      },
      timeout);
  return told;
}

void BrowserTest::tellBrowser(const std::string& scenario, const std::string& name,
                              const std::string& text) {
  const auto file = browserOut(scenario) / name;
  writeFile(file.string() + ".part", text);
  std::filesystem::rename(file.string() + ".part", file);
}

void BrowserTest::browse(const std::string& script, const std::string& scenario,
                         const std::string& token) {
  const auto out = browserOut(scenario);
  std::filesystem::create_directories(out);
  CommandRun run = runCommand({"python3", std::string(SOS_BROWSER_TESTS_DIR) + "/" + script,
                               "--url", "http://127.0.0.1:" + std::to_string(ports_.admin),
                               "--token", token, "--out", out.string(), scenario},
                              dir_.path(), milliseconds(120000));
  std::cout << run.out;
  EXPECT_EQ(run.status, std::optional<int>(0))
      << run.commandLine << "\n"
      << run.out << run.err << "\n--- chromedriver:\n"
      << readFile(out / "chromedriver.log").substr(0, 4000) << "\n--- sosproxy:\n"
      << proxy_->output();
}

}  // namespace sos::itest
