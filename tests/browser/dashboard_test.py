#!/usr/bin/env python3
"""The dashboard (GET /dashboard) in real headless Chromium, against a running sosproxy (issue
18). tests/integration/dashboard_integration_test.cpp starts sosproxy on the demo enterprise,
makes the tokens, posts device reports and runs one scenario of this script per test.

    dashboard_test.py --url http://127.0.0.1:PORT --token TOKEN SCENARIO [--out DIR]

Scenarios:
  figures     sign in with a super-admin's token typed into the form; each of the five
              location-tracking figures on the page is the one GET
              /api/v1/dashboard/location-tracking answers the same token (read here with it as
              a bearer token), for every site and for the site filter's HQ, and so are the
              values each figure's chart (Chart.js, served by sosproxy) draws on its canvas; the token is kept
              nowhere in the page, the session cookie is out of the page's reach (HttpOnly);
              a reload keeps the session, and signing out ends it
  site-admin  sign in with a London site-admin's token: the site filter offers London only,
              the figures are London's, and no list (every drill-in opened) names an HQ user
  refused     a wrong token: the refusal (HTTP 401), no figures, and no session
  password    (TOKEN is USER:PASSWORD, a London site-admin's set by `sosproxy token password`)
              a wrong password is refused (HTTP 401) on the page; the right one signs in as the
              user, London's only: the figures are those the API answers the session, and no
              HQ user is listed; the password is kept nowhere in the page
  actions     (a super-admin; its test has 1002 report from 10.1.9.20 and 2001 from 10.2.9.9,
              both unknown, and 1002 submit "HQ Annex" and "Bob's Shed") each action of the
              lists, checked in the API afterwards: the selected users asked again (the audit
              trail's prompts.retrigger names them); 1002's network attached to HQ Floor 3
              (the location has it, and 1002 is now there); a new London Annex at London
              Office's address, floor 2, made with 2001's network; HQ Annex approved (a company
              location now) and Bob's Shed rejected with its reason
  actions-london  (a London site-admin, the same data) the queue lists no HQ request, "ask every
              user listed" asks London's users only, and the API refuses this session an HQ
              user (403) even from the page
  responder   (an HQ responder, the actions' data) the location tracking, its lists and their
              actions and the approval queue are not shown; the API refuses this session a
              re-trigger and an approval made from the page anyway (403), and nothing changes
  hold        (bench/dashboard-load.sh) sign in, wait for the live calls to connect, tell
              "ready", and keep the page open, updating, until told "stop" (at most 10 min);
              prints how many recent emergency calls the page lists then
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
scenario dashboard-live-call.png (the new call ringing on the page), the trunks scenario
dashboard-trunks.png (il-psap-a down) and the actions scenario dashboard-queue.png (after its
list actions, before its approval and rejection).
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


CHARTS = ["nomadic-chart", "sharing-chart", "address-chart", "personal-chart", "now-chart"]


def chart_values(answer):
    """What each chart must draw, from the API's answer."""
    n, sh = answer["nomadic"], answer["sharing"]
    a, p, now = answer["emergency_address"], answer["personal_locations"], answer["now"]
    return {
        "nomadic-chart": [[n["count"], n["of"] - n["count"]]],
        "sharing-chart": [[sh["count"], sh["of"] - sh["count"]]],
        "address-chart": [[a["personal"], a["default"]]],
        "personal-chart": [[p["detectable"], p["not_detectable"]]],
        "now-chart": [[now["users"]["counts"][w], now["phones"]["counts"][w]]
                      for w in ["company", "personal", "unknown"]],
    }


def same_charts(browser, answer, where):
    """Each figure's chart is Chart.js's (served by sosproxy itself), drawn on its canvas with
    the API's values."""
    want = chart_values(answer)

    def drawn():
        return browser.script(
            "const out = {};"
            "for (const id of arguments[0]) {"
            "  const c = window.Chart && Chart.getChart(id);"
            "  out[id] = c && c.canvas === document.getElementById(id) && c.canvas.width > 0"
            "    ? c.data.datasets.map((d) => d.data) : null; }"
            "return out;", CHARTS)
    browser.wait(lambda: drawn() == want, "the charts to draw the API's figures for %s: %r, "
                 "not %r" % (where, want, drawn()))
    version = browser.script("return Chart.version;")
    scripts = browser.script("return performance.getEntriesByType('resource')"
                             ".map((e) => e.name).filter((n) => n.endsWith('.js'));")
    check(scripts and all(n.startswith(browser.script("return location.origin;"))
                          for n in scripts), "a script from elsewhere: %r" % scripts)
    step("%s: Chart.js %s draws %s" % (where, version, drawn()))


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
    same_charts(browser, api(url, token, TRACKING), "every site")
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
    same_charts(browser, api(url, token, TRACKING + "?site=HQ"), "site HQ")

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
    same_charts(browser, api(url, token, TRACKING), "London's admin")
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


def session_get(browser, path):
    """GET `path` as the page's session (its cookie), from inside the page."""
    return json.loads(browser.script(
        "const x = new XMLHttpRequest(); x.open('GET', arguments[0], false); x.send();"
        "return x.responseText;", path))


def password(browser, url, token, _):
    user, secret = token.split(":", 1)
    browser.get(url + "/dashboard")
    browser.wait(lambda: browser.find("#password-form").displayed, "the password form")
    browser.find("#username").type(user)
    browser.find("#password").type(secret + "x")
    browser.find("#password-form button[type=submit]").click()
    browser.wait(lambda: browser.find("#error").displayed, "the refusal of a wrong password")
    message = text_of(browser, "#error")
    check("HTTP 401" in message and "wrong password" in message, "the refusal: " + message)
    check(not browser.find("#tracking").displayed, "figures are shown after a refusal")
    step("a wrong password: " + message)

    browser.find("#username").clear()
    browser.find("#username").type(user)
    browser.find("#password").type(secret)
    browser.find("#password-form button[type=submit]").click()
    browser.wait(lambda: browser.find("#tracking").displayed, "the figures after sign-in")
    browser.wait(lambda: text_of(browser, "#tracking-at") != "", "the figures to load")
    who = text_of(browser, "#who-text")
    check(user in who and "site-admin of London" in who, "signed in as " + who)
    check(browser.find("#password").dom_property("value") == "", "the password stays in the form")
    step("signed in by password: " + who)
    options = [o.text for o in browser.find_all("#site option")]
    check(options == ["All my sites", "London"], "the site filter offers %r" % options)
    same_figures(browser, session_get(browser, TRACKING), "London's admin by password")
    open_lists(browser)
    text = browser.script("return document.getElementById('tracking').innerText;")
    for name in HQ_USERS:
        check(name not in text, "an HQ user (%s) is shown to London's admin:\n%s" % (name, text))
    check("2001" in text and "David" in text, "London's user is not listed:\n" + text)
    html = browser.script("return document.documentElement.outerHTML;")
    check(secret not in html, "the password is in the page")
    step("no HQ user on the page; London's: " +
         " | ".join(r.text.replace("\n", " ") for r in browser.find_all("#now-users-list tr")))


def page_post(browser, path, body):
    """POST `body` to `path` as the page does (its cookie and CSRF token): [status, JSON]."""
    return browser.script(
        "const x = new XMLHttpRequest(); x.open('POST', arguments[0], false);"
        "x.setRequestHeader('Content-Type', 'application/json');"
        "x.setRequestHeader('X-CSRF-Token', csrf); x.send(arguments[1]);"
        "return [x.status, x.responseText];", path, json.dumps(body))


def set_select(browser, css, value):
    browser.script("const s = document.querySelector(arguments[0]); s.value = arguments[1];"
                   "s.dispatchEvent(new Event('change'));", css, value)
    check(browser.find(css).dom_property("value") == value, "%s offers no %s" % (css, value))


def entry_of(url, token, kind, user):
    entries = api(url, token, TRACKING)["now"][kind]["entries"]
    return next(e for e in entries if e["user"] == user)


def latest_retrigger(url, token):
    for e in api(url, token, "/api/v1/audit?limit=50")["entries"]:
        if e["action"] == "prompts.retrigger":
            return sorted(json.loads(e["after"])["users"])
    return None


def open_attach(browser, user, network):
    browser.find('#now-users-list tr[data-user="%s"] button.attach-open' % user).click()
    browser.wait(lambda: browser.find("#attach").displayed and
                 browser.find("#attach-network").dom_property("value") == network,
                 "the attach form for %s's network %s" % (user, network))


def queue_row(browser, name):
    for row in browser.find_all("#queue-list tr"):
        if name in row.text:
            return row.attribute("data-request-id")
    return None


def actions(browser, url, token, screenshots):
    sign_in(browser, url, token)
    open_lists(browser)
    # Re-trigger the selected users.
    for user in ["1002", "1003"]:
        browser.find('#now-users-list tr[data-user="%s"] input.ask' % user).click()
    browser.find("#retrigger-selected").click()
    browser.wait(lambda: "Asked again: 1002, 1003" in text_of(browser, "#retrigger-result"),
                 "the re-trigger's answer")
    check(latest_retrigger(url, token) == ["1002", "1003"],
          "the audit trail's re-trigger: %r" % latest_retrigger(url, token))
    step("re-trigger: %s; the audit trail: %r" % (text_of(browser, "#retrigger-result"),
                                                 latest_retrigger(url, token)))

    # Attach 1002's network to an existing location.
    check(entry_of(url, token, "users", "1002")["where"] == "unknown", "1002 is placed already")
    open_attach(browser, "1002", "10.1.9.20/32")
    set_select(browser, "#attach-location", "hq-floor-3")
    browser.find("#attach-submit").click()
    browser.wait(lambda: "attached to hq-floor-3" in text_of(browser, "#attach-result"),
                 "the attach's answer")
    location = api(url, token, "/api/v1/locations/hq-floor-3")
    check("10.1.9.20/32" in location.get("subnets", []), "HQ Floor 3 has %r" % location)
    placed = entry_of(url, token, "users", "1002")
    check(placed["where"] == "company" and placed["location"]["key"] == "hq-floor-3",
          "1002 is now %r" % placed)
    browser.wait(lambda: "company" in text_of(browser, '#now-users-list tr[data-user="1002"]'),
                 "1002 at a company location on the page")
    step("attached: HQ Floor 3's subnets %r; 1002: %s" % (location["subnets"],
                                                          placed["location"]["name"]))

    # A new location at another's address, with 2001's network.
    open_attach(browser, "2001", "10.2.9.9/32")
    browser.find("#create-name").type("London Annex")
    set_select(browser, "#create-like", "london-office")
    browser.find("#create-floor").type("2")
    browser.find("#create-submit").click()
    browser.wait(lambda: "london-annex created" in text_of(browser, "#attach-result"),
                 "the new location's answer")
    made = api(url, token, "/api/v1/locations/london-annex")
    office = api(url, token, "/api/v1/locations/london-office")
    check(made["site"] == "London" and made["kind"] == "company" and
          made["subnets"] == ["10.2.9.9/32"] and made["civic"]["FLR"] == "2" and
          made["civic"]["RD"] == office["civic"]["RD"], "the new location: %r" % made)
    placed = entry_of(url, token, "users", "2001")
    check(placed["where"] == "company" and placed["location"]["key"] == "london-annex",
          "2001 is now %r" % placed)
    step("created: %r; 2001 is there" % made)

    # The approval queue.
    pending = {r["name"]: r for r in
               api(url, token, "/api/v1/location-requests?state=pending")["requests"]}
    check(sorted(pending) == ["Bob's Shed", "HQ Annex"], "pending: %r" % sorted(pending))
    browser.wait(lambda: queue_row(browser, "HQ Annex") and queue_row(browser, "Bob's Shed"),
                 "both requests in the queue")
    if screenshots:
        screenshot_of(browser, Path(screenshots) / "dashboard-queue.png", ["tracking"])
    annex = queue_row(browser, "HQ Annex")
    browser.find('#queue-list tr[data-request-id="%s"] button.approve' % annex).click()
    browser.wait(lambda: "approved as location hq-annex" in text_of(browser, "#queue-result"),
                 "the approval's answer")
    approved = api(url, token, "/api/v1/locations/hq-annex")
    check(approved["kind"] == "company" and approved["site"] == "HQ", "hq-annex: %r" % approved)
    shed = queue_row(browser, "Bob's Shed")
    row = '#queue-list tr[data-request-id="%s"]' % shed
    browser.find(row + " input.reason").type("Not a company place")
    browser.find(row + " button.reject").click()
    browser.wait(lambda: "rejected" in text_of(browser, "#queue-result"), "the rejection")
    decided = {r["name"]: r for r in api(url, token, "/api/v1/location-requests")["requests"]}
    check(decided["HQ Annex"]["state"] == "approved" and
          decided["HQ Annex"]["location"] == "hq-annex", "HQ Annex: %r" % decided["HQ Annex"])
    check(decided["Bob's Shed"]["state"] == "rejected" and
          decided["Bob's Shed"]["reason"] == "Not a company place",
          "Bob's Shed: %r" % decided["Bob's Shed"])
    browser.wait(lambda: browser.find("#queue-none").displayed, "the queue empty on the page")
    step("approved: hq-annex %r; rejected: %r" % (approved["civic"], decided["Bob's Shed"]["reason"]))


def actions_london(browser, url, token, _):
    sign_in(browser, url, token)
    open_lists(browser)
    check(api(url, token, "/api/v1/location-requests?state=pending")["requests"] == [],
          "the API lists HQ's requests to London's admin")
    check(browser.find("#queue-none").displayed and not browser.find_all("#queue-list tr"),
          "the queue lists a request to London's admin")
    browser.find("#retrigger-all").click()
    browser.wait(lambda: "Asked again:" in text_of(browser, "#retrigger-result"),
                 "the re-trigger's answer")
    check(text_of(browser, "#retrigger-result") == "Asked again: 2001",
          "London's admin asked " + text_of(browser, "#retrigger-result"))
    status, body = page_post(browser, "/api/v1/prompts/retrigger", {"users": ["1001"]})
    check(status == 403, "an HQ user asked again by London's admin: %s %s" % (status, body))
    status, body = page_post(browser, "/api/v1/locations/hq-floor-3/networks",
                             {"subnet": "10.1.7.0/24"})
    check(status == 403, "London's admin attached a network to HQ: %s %s" % (status, body))
    step("London's admin: %s; HQ refused: 403 %s" % (text_of(browser, "#retrigger-result"), body))


def responder(browser, url, token, _):
    browser.get(url + "/dashboard")
    browser.wait(lambda: browser.find("#sign-in-form").displayed, "the sign-in form")
    browser.find("#token").type(token)
    browser.find("#sign-in-form button[type=submit]").click()
    browser.wait(lambda: browser.find("#calls").displayed, "the live calls after sign-in")
    step("signed in: " + text_of(browser, "#who-text"))
    for css in ["#tracking", "#nav-tracking", "#queue", "#retrigger-selected", "#retrigger-all",
                "#attach", "#attach-submit", "#create-submit"]:
        check(not browser.find(css).displayed, css + " is shown to a responder")
    shown = browser.script("return [...document.querySelectorAll('button')]"
                           ".filter((b) => b.offsetParent !== null).map((b) => b.textContent);")
    check(all(b in ["Sign out", "Search"] for b in shown), "a responder is offered %r" % shown)
    step("no list action is offered; the buttons shown: %r" % shown)
    status, body = page_post(browser, "/api/v1/prompts/retrigger", {"users": ["1002"]})
    check(status == 403, "a responder re-triggered: %s %s" % (status, body))
    status, body = page_post(browser, "/api/v1/location-requests/1/approve", {})
    check(status == 403, "a responder approved: %s %s" % (status, body))
    status, body = page_post(browser, "/api/v1/locations/hq-floor-3/networks",
                             {"subnet": "10.1.7.0/24"})
    check(status == 403, "a responder attached a network: %s %s" % (status, body))
    step("the API refuses the responder's session: 403 %s" % body.strip())


def hold(browser, url, token, _):
    sign_in(browser, url, token)
    browser.wait(lambda: text_of(browser, "#live-status") == "live", "the live calls to connect")
    tell("ready")
    await_told("stop", timeout=600)
    check(text_of(browser, "#live-status") == "live", "the live calls are no longer connected")
    step("the page stayed live; it lists %d recent emergency calls" %
         len(browser.find_all("#calls-recent tr[data-call-id]")))


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
    # Read again if the page drew the row anew meanwhile (the call's record comes after it).
    shown = int(browser.wait(lambda: browser.find(row_css(call_id)).attribute("data-shown-at"),
                             "when the page drew the call"))
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
             "password": password, "actions": actions, "actions-london": actions_london,
             "responder": responder, "hold": hold,
             "live-call": live_call, "trunks": trunks, "history": history}


if __name__ == "__main__":
    sys.exit(run(__doc__.split("\n\n")[0], SCENARIOS))
