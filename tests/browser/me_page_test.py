#!/usr/bin/env python3
"""The self-service page "My emergency location" (GET /me) in real headless Chromium, against a
running sosproxy (issue 17). tests/integration/me_page_integration_test.cpp starts sosproxy on
the demo enterprise, makes 1002's device token, posts its report and runs one scenario of this
script per step; it then places the 911 and checks what the PSAP received.

    me_page_test.py --url http://127.0.0.1:PORT --token TOKEN SCENARIO [--out DIR]

Scenarios:
  save-address    sign in with the token typed into the form; the location sharing question
                  shows at first use and "Allow" answers it (the control then says on); the
                  undetectable prompt shows with its choices; an address without a name is
                  refused with the API's reason next to the name field; "Home", 12 Oak Ave,
                  Springfield IL 62704 US is saved for this network, and the page shows it as
                  the next 911's location and in the list of personal addresses, and asks
                  nothing more
  delete-address  sign in (no question: it was answered); "Home" is renamed through the API
                  behind the page's back, so its Delete (the ETag it read) is refused with 412
                  and the list shows the address as it is now; deleting that succeeds; the next
                  911 is the site's default location again, and the undetectable prompt is back
  sharing-off     sign in; the location sharing question shows at first use; "Do not allow":
                  the control is off, the page says the device's network is not used, asks
                  nothing about it, and gives the site's default location
  emergency-only  sign in (no question); turn location sharing on with the control: the
                  undetectable prompt is back; "Use an address for this emergency only" with
                  Lakeside Inn, 20 Lake St, Springfield IL 62701 US: the page shows it as the
                  next 911's location, and in the list as held for this emergency only
  nomadic-off     sign in where nomadic emergency services are off for the user's site: the
                  page says so with the API's note, asks nothing, and its form only submits a
                  company location
  refused         the token comes in the link's #token= fragment (it fills in the form and
                  leaves the address bar); signing in shows the refusal (HTTP 401) and nothing
                  of any user

Prints one line per step; exit status 0 when every step passed, 1 with the reason (and a
screenshot, failure.png, in --out) when one did not. With SOS_SCREENSHOT_DIR set, the
save-address scenario writes me-page-prompt.png (the prompt, and the address refused without a
name) and me-page-saved.png there, sharing-off me-page-sharing.png (the question at first use)
and emergency-only me-page-held.png (the address held for this emergency): the README's.
"""

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

# The source tree stays as it is (no __pycache__ next to webdriver.py).
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenario import check, run, step, text_of  # noqa: E402

# The demo's user 1002 at the address of issue 17's example, as the page's form takes it, and
# as sosproxy writes it on one line.
HOME = {"HNO": "12", "RD": "Oak Ave", "A3": "Springfield", "A1": "IL", "PC": "62704",
        "country": "US"}
HOME_LINE = "12 Oak Ave, Springfield, IL 62704, US"
NETWORK = "198.51.100.20"
INN = {"name": "Lakeside Inn", "HNO": "20", "RD": "Lake St", "A3": "Springfield", "A1": "IL",
       "PC": "62701", "country": "US"}
INN_LINE = "20 Lake St, Springfield, IL 62701, US"
DATA_SECTIONS = ["#sharing-ask", "#nomadic-off", "#location", "#sharing", "#prompt", "#address",
                 "#personal", "#submitted"]
DEFAULT_FOUND_BY = "your site's default location: sosproxy does not know where you are"


def api(url, token, method, path, body=None, headers=None):
    """The admin API as the phone would call it, behind the page's back: (status, JSON, ETag)."""
    request = urllib.request.Request(url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    request.add_header("Authorization", "Bearer " + token)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null"), \
                response.headers.get("ETag")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), e.headers.get("ETag")


def answer_sharing_question(browser, allow, screenshot=None):
    """The location sharing question at first use, answered; the control says the answer."""
    browser.wait(lambda: browser.find("#sharing-ask").displayed,
                 "the location sharing question at first use")
    check(browser.script("return document.activeElement.id;") == "sharing-ask-title",
          "the question did not take the focus")
    step("asked at first use: " + text_of(browser, "#sharing-ask-title"))
    if screenshot:
        browser.screenshot(screenshot, whole_page=False)
    browser.find("#sharing-allow" if allow else "#sharing-deny").click()
    browser.wait(lambda: not browser.find("#sharing-ask").displayed,
                 "the question to be answered")
    check(browser.find("#sharing").displayed, "the location sharing control is not shown")
    check(browser.find("#sharing-toggle").dom_property("checked") is allow,
          "the control does not say " + ("on" if allow else "off"))
    state = text_of(browser, "#sharing-state")
    check(state.startswith("On:" if allow else "Off:") and "You chose this on" in state,
          "the control's state: " + state)
    check(text_of(browser, "#status").startswith(
        "Location sharing is on" if allow else "Location sharing is off"),
          "the status line: " + text_of(browser, "#status"))
    step(("allowed" if allow else "not allowed") + ": " + state)


def sign_in(browser, url, token):
    browser.get(url + "/me")
    browser.wait(lambda: browser.find("#sign-in-form").displayed, "the sign-in form")
    field = browser.find("#token")
    field.type(token)
    browser.find("#sign-in-form button[type=submit]").click()
    browser.wait(lambda: browser.find("#location").displayed, "the user's location after sign-in")
    check(browser.find("#sign-in").displayed is False, "the sign-in form is still shown")
    check(browser.script("return window.location.href;") == url + "/me",
          "the address bar is not the page's own address")
    check(browser.script("return sessionStorage.getItem('sosproxy-token');") == token,
          "the token is not kept in the tab's sessionStorage")
    step("signed in: " + text_of(browser, "#who-text"))


def choose(browser, choice, fields):
    """Clicks the prompt's choice CHOICE, checks that it selected that kind and moved the focus
    to the form, and fills the form with FIELDS (field name -> text)."""
    browser.find("#choice-" + choice).click()
    check(browser.find("#kind-" + choice).dom_property("checked") is True,
          "the choice " + choice + " did not select its kind of address")
    check(browser.script("return document.activeElement.id;") == "field-name",
          "the choice did not move the focus to the form")
    for field, value in fields.items():
        element = browser.find("#field-" + field)
        element.clear()
        element.type(value)


def save_address(browser, url, token, screenshots):
    sign_in(browser, url, token)
    answer_sharing_question(browser, allow=True)
    # The report from the unknown network was posted before the page was opened.
    check(NETWORK in text_of(browser, "#location-report"),
          "the latest report does not name " + NETWORK + ": " + text_of(browser, "#location-report"))
    check("does not know where you are" in text_of(browser, "#location-found-by"),
          "how the location was found: " + text_of(browser, "#location-found-by"))
    browser.wait(lambda: browser.find("#prompt").displayed, "the prompt")
    check(text_of(browser, "#prompt-title") == "sosproxy does not know where you are",
          "the prompt's title: " + text_of(browser, "#prompt-title"))
    check("does not know this network" in text_of(browser, "#prompt-text"),
          "the prompt's text: " + text_of(browser, "#prompt-text"))
    check(browser.find("#choice-save-personal").displayed and
          browser.find("#choice-submit-company").displayed and
          not browser.find("#choice-confirm").displayed,
          "the undetectable prompt's choices are save-personal and submit-company only")
    step("undetectable prompt: " + text_of(browser, "#prompt-text"))

    choose(browser, "save-personal", HOME)
    # Without a name: the API's reason, next to the name field.
    browser.find("#save").click()
    browser.wait(lambda: browser.find("#error-name").displayed, "the API's reason for the name")
    check(text_of(browser, "#error-name") == "required",
          "the reason next to the name: " + text_of(browser, "#error-name"))
    check(browser.find("#field-name").attribute("aria-invalid") == "true",
          "the name field is not marked invalid")
    check("HTTP 400" in text_of(browser, "#form-error-text"),
          "the form's error: " + text_of(browser, "#form-error-text"))
    step("refused without a name: " + text_of(browser, "#form-error-text") + " / name: " +
         text_of(browser, "#error-name"))
    if screenshots:
        browser.screenshot(Path(screenshots) / "me-page-prompt.png", whole_page=True)

    browser.find("#field-name").type("Home")
    browser.find("#save").click()
    browser.wait(lambda: text_of(browser, "#location-address") == HOME_LINE,
                 "the next 911's address to be " + HOME_LINE)
    check(text_of(browser, "#location-name") == "Home",
          "the next 911's location: " + text_of(browser, "#location-name"))
    check(text_of(browser, "#location-found-by") ==
          "your personal address for the network you are on",
          "how it was found: " + text_of(browser, "#location-found-by"))
    check(not browser.find("#prompt").displayed,
          "the prompt is still shown after the address was saved (and so confirmed)")
    check(not browser.find("#form-error").displayed, "the form's error is still shown")
    check(not browser.find("#error-name").displayed, "the name's error is still shown")
    check(text_of(browser, "#status").startswith('Saved "Home"'),
          "the status line: " + text_of(browser, "#status"))
    items = [e.text for e in browser.find_all("#personal-list li")]
    check(len(items) == 1 and "Home" in items[0] and HOME_LINE in items[0] and
          "for network " + NETWORK in items[0],
          "the personal addresses: " + repr(items))
    step("saved: the next 911 gives " + text_of(browser, "#location-name") + ", " +
         text_of(browser, "#location-address"))
    step("personal addresses: " + items[0].replace("\n", " / "))
    if screenshots:
        browser.screenshot(Path(screenshots) / "me-page-saved.png", whole_page=True)


def delete_address(browser, url, token, _):
    sign_in(browser, url, token)
    check(not browser.find("#sharing-ask").displayed, "the answered question is asked again")
    items = browser.find_all("#personal-list li")
    check(len(items) == 1 and "Home" in items[0].text, "the personal addresses: " +
          repr([e.text for e in items]))
    # Renamed behind the page's back: the Delete sends the ETag of what the page shows, and is
    # refused.
    status, mine, _ = api(url, token, "GET", "/api/v1/personal-locations")
    check(status == 200 and len(mine["personal-locations"]) == 1, "the API's list: " + repr(mine))
    path = "/api/v1/personal-locations/" + mine["personal-locations"][0]["key"]
    status, _, etag = api(url, token, "GET", path)
    status, renamed, _ = api(url, token, "PUT", path, {"name": "Home, renamed"},
                             {"If-Match": etag})
    check(status == 200, "the rename: HTTP " + str(status) + " " + repr(renamed))
    browser.find("#personal-list li button").click()
    # The refusal is shown at once, then again with what the list holds now: wait for that.
    browser.wait(lambda: browser.find("#error").displayed and
                 "was not deleted" in text_of(browser, "#error"),
                 "the refusal of the stale Delete")
    message = text_of(browser, "#error")
    check("HTTP 412" in message and "was not deleted" in message, "the refusal: " + message)
    browser.wait(lambda: "Home, renamed" in text_of(browser, "#personal-list"),
                 "the list to show the address as it is now")
    step("a stale Delete refused: " + message)
    browser.find("#personal-list li button").click()
    browser.wait(lambda: browser.find("#personal-none").displayed,
                 "the list of personal addresses to be empty")
    browser.wait(lambda: "does not know where you are" in text_of(browser, "#location-found-by"),
                 "the next 911 to be the site's default location again")
    check(text_of(browser, "#prompt-title") == "sosproxy does not know where you are",
          "the prompt's title: " + text_of(browser, "#prompt-title"))
    check(text_of(browser, "#status") == 'Deleted "Home, renamed".',
          "the status line: " + text_of(browser, "#status"))
    check(not browser.find("#error").displayed, "the refusal is still shown")
    step("deleted: the next 911 gives " + text_of(browser, "#location-name") + ", " +
         text_of(browser, "#location-address"))


def sharing_off(browser, url, token, screenshots):
    sign_in(browser, url, token)
    answer_sharing_question(browser, allow=False, screenshot=Path(screenshots) /
                            "me-page-sharing.png" if screenshots else None)
    browser.wait(lambda: browser.find("#sharing-off-note").displayed,
                 "the note that the device's network is not used")
    check(not browser.find("#prompt").displayed,
          "the prompt about the network is shown although its network is not used")
    check(text_of(browser, "#location-found-by") == DEFAULT_FOUND_BY,
          "how the location was found: " + text_of(browser, "#location-found-by"))
    step("sharing off: " + text_of(browser, "#sharing-off-note"))
    step("the next 911 gives " + text_of(browser, "#location-name") + ", " +
         text_of(browser, "#location-address"))


def emergency_only(browser, url, token, screenshots):
    sign_in(browser, url, token)
    check(not browser.find("#sharing-ask").displayed, "the answered question is asked again")
    check(browser.find("#sharing-toggle").dom_property("checked") is False,
          "the control does not say off")
    browser.find("#sharing-toggle").click()
    browser.wait(lambda: browser.find("#sharing-toggle").dom_property("checked") is True and
                 text_of(browser, "#sharing-state").startswith("On:"),
                 "the control to say on")
    browser.wait(lambda: browser.find("#prompt").displayed, "the prompt, with sharing on")
    check(not browser.find("#sharing-off-note").displayed, "the sharing-off note is still shown")
    check(text_of(browser, "#prompt-title") == "sosproxy does not know where you are",
          "the prompt's title: " + text_of(browser, "#prompt-title"))
    step("sharing on again: " + text_of(browser, "#sharing-state"))

    check(browser.find("#choice-this-emergency-only").displayed,
          "the undetectable prompt has no \"this emergency only\" choice")
    choose(browser, "this-emergency-only", INN)
    browser.find("#save").click()
    browser.wait(lambda: text_of(browser, "#location-address") == INN_LINE,
                 "the next 911's address to be " + INN_LINE)
    check(text_of(browser, "#location-name") == "Lakeside Inn",
          "the next 911's location: " + text_of(browser, "#location-name"))
    check(text_of(browser, "#location-found-by") ==
          "your personal address for the network you are on",
          "how it was found: " + text_of(browser, "#location-found-by"))
    check(text_of(browser, "#status").startswith('Held "Lakeside Inn" for this emergency'),
          "the status line: " + text_of(browser, "#status"))
    check(not browser.find("#prompt").displayed, "the prompt is still shown")
    items = [e.text for e in browser.find_all("#personal-list li")]
    check(len(items) == 1 and "Lakeside Inn" in items[0] and INN_LINE in items[0] and
          "for this emergency only, until" in items[0] and "for network " + NETWORK in items[0],
          "the personal addresses: " + repr(items))
    step("held: the next 911 gives " + text_of(browser, "#location-name") + ", " +
         text_of(browser, "#location-address"))
    step("personal addresses: " + items[0].replace("\n", " / "))
    if screenshots:
        browser.screenshot(Path(screenshots) / "me-page-held.png", whole_page=True)


def nomadic_off(browser, url, token, _):
    sign_in(browser, url, token)
    browser.wait(lambda: browser.find("#nomadic-off").displayed, "the nomadic-off note")
    note = text_of(browser, "#nomadic-off-text")
    check("nomadic emergency services are off for site HQ" in note, "the note: " + note)
    check(not browser.find("#prompt").displayed, "a prompt is shown")
    for choice in ["save-personal", "this-emergency-only"]:
        check(not browser.find("#option-" + choice).displayed,
              "the form offers " + choice + " where nomadic services are off")
    check(browser.find("#kind-submit-company").dom_property("checked") is True,
          "the form does not submit a company location")
    check(text_of(browser, "#address-title") == "Submit a company location",
          "the form's title: " + text_of(browser, "#address-title"))
    step("nomadic services off: " + note)


def refused(browser, url, token, _):
    browser.get(url + "/me#token=" + token)
    browser.wait(lambda: browser.find("#sign-in-form").displayed, "the sign-in form")
    check(browser.find("#token").dom_property("value") == token,
          "the #token= fragment did not fill in the form")
    check(browser.script("return window.location.hash;") == "",
          "the token stayed in the address bar")
    step("the link's token filled in the form and left the address bar")
    browser.find("#sign-in-form button[type=submit]").click()
    browser.wait(lambda: browser.find("#error").displayed, "the refusal")
    message = text_of(browser, "#error")
    check("refused" in message and "HTTP 401" in message, "the refusal: " + message)
    check(browser.find("#sign-in").displayed, "the sign-in form is gone")
    for css in DATA_SECTIONS + ["#who"]:
        check(not browser.find(css).displayed, css + " is shown after a refusal")
    for css in ["#location-name", "#location-address", "#who-text"]:
        check(browser.find(css).dom_property("textContent") == "", css + " holds data")
    check(browser.script("return sessionStorage.getItem('sosproxy-token');") is None,
          "the refused token is still kept")
    step("refused: " + message)


SCENARIOS = {"save-address": save_address, "delete-address": delete_address,
             "sharing-off": sharing_off, "emergency-only": emergency_only,
             "nomadic-off": nomadic_off, "refused": refused}


if __name__ == "__main__":
    sys.exit(run(__doc__.split("\n\n")[0], SCENARIOS))
