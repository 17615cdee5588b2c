#pragma once
// What the browser tests share (the self-service page's and the dashboard's): whether headless
// Chromium can run here, and one scenario of a script of tests/browser/ run against the
// fixture's sosproxy, its steps in the test's output.
//
// Chromium and chromedriver are test packages (scripts/setup.sh). Without them a browser test
// fails when CI=true and is skipped elsewhere, saying why (SOS_NEED_BROWSER()).

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
