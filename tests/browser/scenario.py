"""What the browser test scripts share (dashboard_test.py, me_page_test.py): their step lines,
their checks, and the command line that runs one scenario in a fresh headless Chromium.

    SCRIPT --url http://127.0.0.1:PORT --token TOKEN SCENARIO [--out DIR]

A scenario is a function (browser, url, token, screenshots_dir_or_None). run() prints "passed:
SCENARIO" and returns 0 when it returned; on any exception it prints "FAILED: SCENARIO: why",
saves what the page looked like as failure.png in --out, and returns 1. With SOS_SCREENSHOT_DIR
set, that directory is made and given to the scenario for the README's screenshots.

A scenario that takes turns with its test (the test places a call once the page is ready) speaks
to it through files in --out: tell(NAME, TEXT) writes one, await_told(NAME) waits for the one the
test writes (tests/integration/browser_fixture.h: awaitFromBrowser, tellBrowser).
"""

import argparse
import os
import signal
import time
from pathlib import Path

from webdriver import Browser


def step(text):
    print("ok:", text, flush=True)


def check(condition, text):
    if not condition:
        raise AssertionError(text)


def text_of(browser, css):
    return browser.find(css).text


OUT = None  # --out, set by run()


def tell(name, text=""):
    """Tells the test `text` under `name` (a file of --out, written whole)."""
    check(OUT is not None, "tell() needs --out")
    part = OUT / (name + ".part")
    part.write_text(text)
    part.rename(OUT / name)
    step("told the test: %s %s" % (name, text))


def await_told(name, timeout=60.0):
    """What the test told under `name`, once it has (TimeoutError after `timeout` s)."""
    check(OUT is not None, "await_told() needs --out")
    deadline = time.monotonic() + timeout
    while not (OUT / name).exists():
        if time.monotonic() >= deadline:
            raise TimeoutError("waited %g s for the test to tell %s" % (timeout, name))
        time.sleep(0.02)
    return (OUT / name).read_text()


def run(description, scenarios):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True, help="sosproxy's admin server, http://HOST:PORT")
    parser.add_argument("--token", required=True)
    parser.add_argument("--out", help="chromedriver's log and, on a failure, failure.png")
    parser.add_argument("scenario", choices=sorted(scenarios))
    args = parser.parse_args()
    # A test's deadline stops the script with SIGTERM: the browser is still closed.
    signal.signal(signal.SIGTERM, lambda *_: exit(143))
    out = Path(args.out) if args.out else None
    global OUT
    OUT = out
    screenshots = os.environ.get("SOS_SCREENSHOT_DIR")
    if screenshots:
        Path(screenshots).mkdir(parents=True, exist_ok=True)
    with Browser(log_dir=out) as browser:
        try:
            scenarios[args.scenario](browser, args.url.rstrip("/"), args.token, screenshots)
        except Exception as e:  # every failure: its reason, and what the page looked like
            print(f"FAILED: {args.scenario}: {type(e).__name__}: {e}", flush=True)
            if out:
                try:
                    browser.screenshot(out / "failure.png", whole_page=True)
                    print("screenshot:", out / "failure.png", flush=True)
                except Exception as shot:  # the page may be what failed
                    print("no screenshot:", shot, flush=True)
            return 1
    print("passed:", args.scenario, flush=True)
    return 0
