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
  live-call   (with its test, through files in --out) sign in, wait for the live calls to
              connect and tell the test "ready"; the test places a 911 from 1001 (it tells
              "placed" with the time); the call appears without a reload within 2 s of
              sosproxy routing it (the row's data-shown-at against the call's started_at_ms),
              with 1001, HQ Floor 2 and il-psap-a, and the new-call alert shows; Acknowledge on
              its row records the acknowledgement (GET /api/v1/calls/CALL-ID says by whom) and
              quiets the alert; when the caller hangs up the call moves to the recent ones
  trunks      (with its test) il-psap-a up, its last probe answered 200: tell "ready"; the test
              stops the SIPp answering its probes ("stopped"); the page shows it down after its
              probe, with that probe's outcome, as GET /api/v1/trunks does
  history     the call history lists the API's records, newest first; the Calls filter
              (Emergency) lists the API's emergency calls; a row's story has its location,
              route and attempts; the CSV download is the API's CSV of the same records

Prints one line per step; exit status 0 when every step passed, 1 with the reason (and a
screenshot, failure.png, in --out) when one did not. With SOS_SCREENSHOT_DIR set, the figures
scenario writes dashboard-tracking.png there (the README's), every list opened, the live-call
scenario dashboard-live-call.png (the new call ringing on the page) and the trunks scenario
dashboard-trunks.png (il-psap-a down).
"""

import json
import sys
import time
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import scenario  # noqa: E402
from scenario import await_told, check, run, step, tell, text_of  # noqa: E402

TRACKING = "/api/v1/dashboard/location-tracking"
HQ_USERS = ["1001", "1002", "1003", "Alice", "Bob", "Carol"]


def api(url, token, path, raw=False):
    request = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read() if raw else json.load(response)


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


def screenshot_of(browser, path, keep):
    """A PNG of the whole page with only the parts of <main> whose ids are in `keep` shown (the
    others hidden meanwhile)."""
    browser.script("for (const el of document.querySelectorAll('main > *')) {"
                   "  if (!arguments[0].includes(el.id)) {"
                   "    el.dataset.shot = el.style.display; el.style.display = 'none'; } }", keep)
    browser.screenshot(path, whole_page=True)
    browser.script("for (const el of document.querySelectorAll('main > [data-shot]')) {"
                   "  el.style.display = el.dataset.shot; delete el.dataset.shot; }")


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
        screenshot_of(browser, Path(screenshots) / "dashboard-tracking.png", ["tracking"])

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


def stable_text(browser, css):
    """The text of `css`, read again if the page drew it anew meanwhile (a live page does)."""
    box = []
    browser.wait(lambda: box.append(text_of(browser, css)) or True, "the text of " + css)
    return box[-1]


def row_css(call_id):
    return 'tr[data-call-id="%s"]' % call_id


def call_rows(browser, where, extension):
    """The ids of the rows of `where` (#calls-active, #calls-recent) whose caller is `extension`
    (read in one step: the page may draw its rows anew at any moment)."""
    return browser.script(
        "return [...document.querySelectorAll(arguments[0] + ' tr[data-call-id]')]"
        ".filter((r) => r.querySelector('td.caller').textContent.startsWith(arguments[1]))"
        ".map((r) => r.dataset.callId);", where, extension)


def live_call(browser, url, token, screenshots):
    sign_in(browser, url, token)
    browser.wait(lambda: text_of(browser, "#live-status") == "live", "the live calls to connect")
    check(browser.find("#calls-active-none").displayed, "a call is in progress already")
    check(not browser.find("#new-call").displayed, "the new-call alert shows before any call")
    name = api(url, token, "/api/v1/whoami")["name"]
    tell("ready")
    ids = browser.wait(lambda: call_rows(browser, "#calls-active", "1001") or
                       call_rows(browser, "#calls-recent", "1001"),
                       "a call from 1001 on the page", timeout=20)
    call_id = ids[0]
    # When the page drew it (its own clock, not this script's polling), against when sosproxy
    # routed it (its INVITE left toward the PSAP: the call's started_at_ms) and when the test
    # started the SIPp caller.
    shown = int(browser.find(row_css(call_id)).attribute("data-shown-at"))
    started = {c["call_id"]: c for c in api(url, token, "/api/v1/dashboard/calls")["calls"]}
    routed = started[call_id]["started_at_ms"]
    placed = int(await_told("placed", timeout=10))
    step("the 911 is on the page %d ms after sosproxy routed it (%d ms after the test started "
         "the SIPp caller)" % (shown - routed, shown - placed))
    check(shown - routed <= 2000, "the call took %d ms to appear (2000 at most)" % (shown - routed))
    row = stable_text(browser, row_css(call_id))
    for want in ["1001", "HQ Floor 2", "il-psap-a", "911", "HQ"]:
        check(want in row, "the call's row lacks %s: %r" % (want, row))
    step("the call: " + row.replace("\n", " "))
    check(browser.find("#new-call").displayed, "no new-call alert")
    alert = stable_text(browser, "#new-call-text")
    check("1001" in alert and "HQ Floor 2" in alert and "il-psap-a" in alert,
          "the alert says %r" % alert)
    check(browser.script("return document.title;").startswith("(!)"), "the title does not say it")
    step("the alert: " + alert)

    # Answered, in progress, its responders alerted: it can be acknowledged.
    ack = row_css(call_id) + " button.ack"
    browser.wait(lambda: browser.find(ack).displayed and
                 "answered" in text_of(browser, row_css(call_id) + " td.state"),
                 "the call answered, with its Acknowledge button", timeout=10)
    browser.wait(lambda: call_id in [r.attribute("data-call-id")
                                     for r in browser.find_all("#calls-active tr[data-call-id]")],
                 "the answered call among those in progress")
    if screenshots:
        screenshot_of(browser, Path(screenshots) / "dashboard-live-call.png",
                      ["sections", "new-call", "calls", "trunks"])
    browser.wait(lambda: browser.find(ack).click() or True, "a click on Acknowledge")
    acknowledged = row_css(call_id) + " td.acknowledged"
    browser.wait(lambda: text_of(browser, acknowledged).startswith("by " + name),
                 "the acknowledgement on the page", timeout=10)
    step("acknowledged on the page: " + stable_text(browser, acknowledged))
    record = api(url, token, "/api/v1/calls/" + urllib.request.quote(call_id, safe=""))
    check(record["alert"] and record["alert"]["acknowledged_by"] == name,
          "the API does not say it was acknowledged: %r" % record.get("alert"))
    browser.wait(lambda: not browser.find("#new-call").displayed, "the alert to quiet down")
    step("the API: acknowledged by %s at %s" % (record["alert"]["acknowledged_by"],
                                                record["alert"]["acknowledged_at_ms"]))

    # The caller hangs up: the call moves to the recent ones, ended.
    browser.wait(lambda: call_id in call_rows(browser, "#calls-recent", "1001") and
                 "ended" in text_of(browser, row_css(call_id) + " td.state"),
                 "the call to end on the page", timeout=20)
    step("ended: " + stable_text(browser, row_css(call_id)).replace("\n", " "))


def trunk_cell(browser, cell):
    return stable_text(browser, 'tr[data-trunk="il-psap-a"] td.' + cell)


def trunks(browser, url, token, screenshots):
    sign_in(browser, url, token)
    browser.wait(lambda: trunk_cell(browser, "state") == "up" and
                 ": 200 " in trunk_cell(browser, "probe"),
                 "il-psap-a up, its probe answered 200", timeout=20)
    step("il-psap-a: " + stable_text(browser, 'tr[data-trunk="il-psap-a"]').replace("\n", " "))
    tell("ready")
    stopped = int(await_told("stopped", timeout=30))
    browser.wait(lambda: trunk_cell(browser, "state") == "down", "il-psap-a down on the page",
                 timeout=20)
    step("il-psap-a down on the page %d ms after its answerer stopped (a probe every 1 s, 2 s "
         "to answer): %s" % (time.time() * 1000 - stopped,
                             stable_text(browser, 'tr[data-trunk="il-psap-a"]').replace("\n", " ")))
    listed = {t["name"]: t for t in api(url, token, "/api/v1/trunks")["trunks"]}
    check(listed["il-psap-a"]["state"] == "down", "the API says %r" % listed["il-psap-a"])
    # Its last probe as the API says it ("no answer", or the 503 nta gives for the ICMP refusal a
    # stopped port on loopback answers with), and not the 200 it had.
    probe = trunk_cell(browser, "probe")
    check(listed["il-psap-a"]["last_probe"] in probe and ": 200 " not in probe,
          "last probe on the page %r, the API's %r" % (probe, listed["il-psap-a"]["last_probe"]))
    for name, t in listed.items():
        shown = stable_text(browser, 'tr[data-trunk="%s"] td.state' % name)
        check(shown == t["state"], "%s: the page says %s, the API %s" % (name, shown, t["state"]))
    if screenshots:
        screenshot_of(browser, Path(screenshots) / "dashboard-trunks.png", ["trunks"])


def history_ids(browser):
    return [r.attribute("data-call-id") for r in browser.find_all("#history-list tr")]


def history(browser, url, token, _):
    sign_in(browser, url, token)
    expected = [c["call_id"] for c in api(url, token, "/api/v1/calls?limit=200")["calls"]]
    check(len(expected) == 2, "the test placed 2 calls, the API has %d" % len(expected))
    browser.wait(lambda: history_ids(browser) == expected, "the history to list the API's calls")
    step("history: " + " | ".join(r.text.replace("\n", " ")
                                  for r in browser.find_all("#history-list tr")))
    browser.script("document.getElementById('history-emergency').value = 'yes';"
                   "document.getElementById('history-emergency')"
                   ".dispatchEvent(new Event('change'));")
    browser.find("#history-filter button[type=submit]").click()
    emergency = [c["call_id"] for c in
                 api(url, token, "/api/v1/calls?emergency=yes&limit=200")["calls"]]
    check(len(emergency) == 1, "the API has %d emergency calls" % len(emergency))
    browser.wait(lambda: history_ids(browser) == emergency, "the emergency calls only")
    step("emergency calls: " + text_of(browser, "#history-list"))

    browser.find("#history-list tr").click()
    browser.wait(lambda: browser.find("#story").displayed, "the call's story")
    story = text_of(browser, "#story")
    for want in ["HQ Floor 2", "il-psap-a:200", "civic rule", "answered 200"]:
        check(want in story, "the story lacks %r:\n%s" % (want, story))
    step("its story: " + story.replace("\n", " | "))

    path = "/api/v1/calls?emergency=yes&limit=200&format=csv"
    href = browser.find("#history-csv").attribute("href")
    check(href.endswith(path), "the CSV link is %r" % href)
    downloads = scenario.OUT / "downloads"
    downloads.mkdir(exist_ok=True)
    browser.download_to(downloads)
    browser.find("#history-csv").click()
    file = downloads / "calls.csv"
    browser.wait(lambda: file.exists() and not list(downloads.glob("*.crdownload")),
                 "calls.csv downloaded", timeout=15)
    got = file.read_bytes()
    want = api(url, token, path, raw=True)
    check(got == want, "the download is not the API's CSV:\n%r\n%r" % (got, want))
    step("CSV downloaded, %d bytes, the API's: %s" % (len(got), got.decode().splitlines()[0]))


SCENARIOS = {"figures": figures, "site-admin": site_admin, "refused": refused,
             "live-call": live_call, "trunks": trunks, "history": history}


if __name__ == "__main__":
    sys.exit(run(__doc__.split("\n\n")[0], SCENARIOS))
