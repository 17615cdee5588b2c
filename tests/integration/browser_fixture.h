#pragma once
// What the browser tests share (the self-service page's and the dashboard's): whether headless
// Chromium can run here, and one scenario of a script of tests/browser/ run against the
// fixture's sosproxy, its steps in the test's output.
//
// Chromium and chromedriver are test packages (scripts/setup.sh). Without them a browser test
// fails when CI=true and is skipped elsewhere, saying why (SOS_NEED_BROWSER()).

#include <chrono>
#include <filesystem>
#include <future>
#include <optional>
#include <string>

#include "b2bua_fixture.h"

namespace sos::itest {

// Why the browser tests cannot run here ("" when /usr/bin/chromium and /usr/bin/chromedriver
// are there).
std::string browserMissing();
// Is this a CI run (CI=true)?
bool ciRun();

class BrowserTest : public B2buaTest {
 protected:
  // Runs `scenario` of tests/browser/SCRIPT with `token` against this sosproxy's admin server;
  // a failure is the script's exit status, with its output, chromedriver's log and sosproxy's.
  void browse(const std::string& script, const std::string& scenario, const std::string& token);

  // A scenario that takes turns with the test (the page waits for a call the test places, the
  // test waits for the page to be ready): browse() on a thread of its own. The two speak through
  // files in the scenario's --out directory: tests/browser/scenario.py's tell() and await_told().
  std::future<void> browseAsync(const std::string& script, const std::string& scenario,
                                const std::string& token);
  std::filesystem::path browserOut(const std::string& scenario) const;
  // What the scenario told under `name`, once it has; nullopt after `timeout` or when the
  // script ended first (`script` is browseAsync's future).
  std::optional<std::string> awaitFromBrowser(const std::string& scenario, const std::string& name,
                                              std::future<void>& script,
                                              milliseconds timeout = milliseconds(60000));
  // Tells the scenario `text` under `name` (written whole: the script never reads half of it).
  void tellBrowser(const std::string& scenario, const std::string& name, const std::string& text);
};

}  // namespace sos::itest

// In a test body (or SetUp): fails the test under CI, else skips it, when the browser is missing.
#define SOS_NEED_BROWSER()                                              \
  do {                                                                  \
    const std::string sosWhyNoBrowser = ::sos::itest::browserMissing(); \
    if (!sosWhyNoBrowser.empty()) {                                     \
      if (::sos::itest::ciRun()) FAIL() << sosWhyNoBrowser;             \
      GTEST_SKIP() << sosWhyNoBrowser;                                  \
    }                                                                   \
  } while (0)
