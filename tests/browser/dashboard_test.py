#!/usr/bin/env python3
"""The dashboard (GET /dashboard) in real headless Chromium, against a running sosproxy (issue
18). tests/integration/dashboard_integration_test.cpp starts sosproxy on the demo enterprise,
makes the tokens, posts device reports and runs one scenario of this script per test.

    dashboard_test.py --url http://127.0.0.1:PORT --token TOKEN SCENARIO [--out DIR]

Scenarios:
  figures     sign in with a super-admin's token typed into the form; each of the five
              location-tracking figures on the page is the one GET
              /api/v1/dashboard/location-tracking answers the same token (read here with it as
              a bearer token), for every site and for the site filter's HQ; the token is kept
              nowhere in the page, the session cookie is out of the page's reach (HttpOnly);
              a reload keeps the session, and signing out ends it
  site-admin  sign in with a London site-admin's token: the site filter offers London only,
              the figures are London's, and no list (every drill-in opened) names an HQ user
  refused     a wrong token: the refusal (HTTP 401), no figures, and no session

Prints one line per step; exit status 0 when every step passed, 1 with the reason (and a
screenshot, failure.png, in --out) when one did not. With SOS_SCREENSHOT_DIR set, the figures
scenario writes dashboard-tracking.png there (the README's), every list opened.
"""

import json
import sys
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenario import check, run, step, text_of  # noqa: E402

TRACKING = "/api/v1/dashboard/location-tracking"
HQ_USERS = ["1001", "1002", "1003", "Alice", "Bob", "Carol"]


def api(url, token, path):
    request = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


# Each figure on the page, by its element, and where the API's answer has it.
FIGURES = [
    ("#nomadic-count", ["nomadic", "count"]),
    ("#nomadic-of", ["nomadic", "of"]),
    ("#sharing-count", ["sharing", "count"]),
    ("#sharing-of", ["sharing", "of"]),
    ("#address-personal", ["emergency_address", "personal"]),
    ("#address-default", ["emergency_address", "default"]),
    ("#personal-detectable", ["personal_locations", "detectable"]),
    ("#personal-not-detectable", ["personal_locations", "not_detectable"]),
] + [("#now-%s-%s" % (kind, where), ["now", kind, "counts", where])
     for kind in ["users", "phones"] for where in ["company", "personal", "unknown"]]


def figure(answer, keys):
    for key in keys:
        answer = answer[key]
    return answer


def sign_in(browser, url, token):
    browser.get(url + "/dashboard")
    browser.wait(lambda: browser.find("#sign-in-form").displayed, "the sign-in form")
    browser.find("#token").type(token)
    browser.find("#sign-in-form button[type=submit]").click()
    browser.wait(lambda: browser.find("#tracking").displayed, "the figures after sign-in")
    browser.wait(lambda: text_of(browser, "#tracking-at") != "", "the figures to load")
    check(not browser.find("#sign-in").displayed, "the sign-in form is still shown")
    check(browser.find("#token").dom_property("value") == "", "the token stays in the form")
    step("signed in: " + text_of(browser, "#who-text"))


def same_figures(browser, answer, where):
    shown = []
    for css, keys in FIGURES:
        expected = str(figure(answer, keys))
        browser.wait(lambda: text_of(browser, css) == expected,
                     "%s to show %s (the API's %s) for %s, not %r" %
                     (css, expected, ".".join(keys), where, text_of(browser, css)))
        shown.append("%s=%s" % (css[1:], expected))
    step(where + ": " + ", ".join(shown))


def open_lists(browser):
    browser.script("document.querySelectorAll('details').forEach((d) => { d.open = true; });")


def figures(browser, url, token, screenshots):
    sign_in(browser, url, token)
    same_figures(browser, api(url, token, TRACKING), "every site")
    # The drill-in list of where users are: one row per user the API lists, as it places them.
    open_lists(browser)
    answer = api(url, token, TRACKING)
    rows = browser.find_all("#now-users-list tr")
    check(len(rows) == len(answer["now"]["users"]["entries"]),
          "the users' list has %d rows, the API %d" % (len(rows),
                                                      len(answer["now"]["users"]["entries"])))
    for row, entry in zip(rows, answer["now"]["users"]["entries"]):
        text = row.text
        check(entry["user"] in text and entry["where"] in text,
              "the row %r is not the API's %s (%s)" % (text, entry["user"], entry["where"]))
    step("users' list: " + " | ".join(r.text.replace("\n", " ") for r in rows))
    if screenshots:
        browser.screenshot(Path(screenshots) / "dashboard-tracking.png", whole_page=True)

    options = [o.text for o in browser.find_all("#site option")]
    check(options == ["All my sites", "HQ", "London"], "the site filter offers %r" % options)
    browser.script("document.getElementById('site').value = 'HQ';")
    browser.find("#filter button[type=submit]").click()
    same_figures(browser, api(url, token, TRACKING + "?site=HQ"), "site HQ")

    check("sos_session" not in browser.script("return document.cookie;"),
          "the session cookie is readable by the page")
    html = browser.script("return document.documentElement.outerHTML;")
    check(token not in html, "the token is in the page")
    check(browser.script("return JSON.stringify(sessionStorage) + JSON.stringify(localStorage);")
          == "{}{}", "the page keeps something in the browser's storage")
    # A reload: the cookie's session is still open.
    browser.get(url + "/dashboard")
    browser.wait(lambda: browser.find("#tracking").displayed, "the figures after a reload")
    step("a reload keeps the session: " + text_of(browser, "#who-text"))

    browser.find("#sign-out").click()
    browser.wait(lambda: browser.find("#sign-in").displayed, "the sign-in form after sign-out")
    check(not browser.find("#tracking").displayed, "the figures are shown after sign-out")
    browser.get(url + "/dashboard")
    browser.wait(lambda: browser.find("#sign-in").displayed, "the sign-in form after a reload")
    check(not browser.find("#tracking").displayed, "a reload after sign-out shows figures")
    step("signed out: the session is gone")


def site_admin(browser, url, token, _):
    sign_in(browser, url, token)
    options = [o.text for o in browser.find_all("#site option")]
    check(options == ["All my sites", "London"], "the site filter offers %r" % options)
    same_figures(browser, api(url, token, TRACKING), "London's admin")
    open_lists(browser)
    text = browser.script("return document.getElementById('tracking').innerText;")
    for name in HQ_USERS:
        check(name not in text, "an HQ user (%s) is shown to London's admin:\n%s" % (name, text))
    check("2001" in text and "David" in text, "London's user is not listed:\n" + text)
    step("no HQ user on the page; London's: " +
         " | ".join(r.text.replace("\n", " ") for r in browser.find_all("#now-users-list tr")))


def refused(browser, url, token, _):
    browser.get(url + "/dashboard")
    browser.wait(lambda: browser.find("#sign-in-form").displayed, "the sign-in form")
    browser.find("#token").type(token)
    browser.find("#sign-in-form button[type=submit]").click()
    browser.wait(lambda: browser.find("#error").displayed, "the refusal")
    message = text_of(browser, "#error")
    check("HTTP 401" in message, "the refusal: " + message)
    check(browser.find("#sign-in").displayed, "the sign-in form is gone")
    check(not browser.find("#tracking").displayed, "figures are shown after a refusal")
    check(browser.find("#nomadic-count").dom_property("textContent") == "", "a figure is filled")
    browser.get(url + "/dashboard")
    browser.wait(lambda: browser.find("#sign-in").displayed, "the sign-in form after a reload")
    check(not browser.find("#tracking").displayed, "a refused sign-in left a session")
    step("refused: " + message)


SCENARIOS = {"figures": figures, "site-admin": site_admin, "refused": refused}


if __name__ == "__main__":
    sys.exit(run(__doc__.split("\n\n")[0], SCENARIOS))
