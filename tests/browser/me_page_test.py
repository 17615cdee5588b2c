#!/usr/bin/env python3
"""The self-service page "My emergency location" (GET /me) in real headless Chromium, against a
running sosproxy (issue 17). tests/integration/me_page_integration_test.cpp starts sosproxy on
the demo enterprise, makes 1002's device token, posts its report and runs one scenario of this
script per step; it then places the 911 and checks what the PSAP received.

    me_page_test.py --url http://127.0.0.1:PORT --token TOKEN SCENARIO [--out DIR]

Scenarios:
  save-address    sign in with the token typed into the form; the undetectable prompt shows
                  with its two choices; an address without a name is refused with the API's
                  reason next to the name field; "Home", 12 Oak Ave, Springfield IL 62704 US
                  is saved for this network, and the page shows it as the next 911's location
                  and in the list of personal addresses, and asks nothing more
  delete-address  sign in; delete "Home" from the list; the next 911 is the site's default
                  location again, and the undetectable prompt is back
  refused         the token comes in the link's #token= fragment (it fills in the form and
                  leaves the address bar); signing in shows the refusal (HTTP 401) and nothing
                  of any user

Prints one line per step; exit status 0 when every step passed, 1 with the reason (and a
screenshot, failure.png, in --out) when one did not. With SOS_SCREENSHOT_DIR set, the
save-address scenario writes me-page-prompt.png (the prompt, and the address refused without a
name) and me-page-saved.png there (the README's).
"""

import sys
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
DATA_SECTIONS = ["#location", "#prompt", "#address", "#personal", "#submitted"]


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


def save_address(browser, url, token, screenshots):
    sign_in(browser, url, token)
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

    browser.find("#choice-save-personal").click()
    check(browser.find("#kind-save-personal").dom_property("checked") is True,
          "the save-personal choice did not select the personal address")
    check(browser.script("return document.activeElement.id;") == "field-name",
          "the choice did not move the focus to the form")
    for field, value in HOME.items():
        element = browser.find("#field-" + field)
        element.clear()
        element.type(value)
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
    items = browser.find_all("#personal-list li")
    check(len(items) == 1 and "Home" in items[0].text, "the personal addresses: " +
          repr([e.text for e in items]))
    browser.find("#personal-list li button").click()
    browser.wait(lambda: browser.find("#personal-none").displayed,
                 "the list of personal addresses to be empty")
    browser.wait(lambda: "does not know where you are" in text_of(browser, "#location-found-by"),
                 "the next 911 to be the site's default location again")
    check(text_of(browser, "#prompt-title") == "sosproxy does not know where you are",
          "the prompt's title: " + text_of(browser, "#prompt-title"))
    check(text_of(browser, "#status") == 'Deleted "Home".',
          "the status line: " + text_of(browser, "#status"))
    step("deleted: the next 911 gives " + text_of(browser, "#location-name") + ", " +
         text_of(browser, "#location-address"))


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


SCENARIOS = {"save-address": save_address, "delete-address": delete_address, "refused": refused}


if __name__ == "__main__":
    sys.exit(run(__doc__.split("\n\n")[0], SCENARIOS))
