"""What the browser test scripts share (dashboard_test.py, me_page_test.py): their step lines,
their checks, and the command line that runs one scenario in a fresh headless Chromium.

    SCRIPT --url http://127.0.0.1:PORT --token TOKEN SCENARIO [--out DIR]

A scenario is a function (browser, url, token, screenshots_dir_or_None). run() prints "passed:
SCENARIO" and returns 0 when it returned; on any exception it prints "FAILED: SCENARIO: why",
saves what the page looked like as failure.png in --out, and returns 1. With SOS_SCREENSHOT_DIR
set, that directory is made and given to the scenario for the README's screenshots.
"""

import argparse
import os
import signal
from pathlib import Path

from webdriver import Browser


def step(text):
    print("ok:", text, flush=True)


def check(condition, text):
    if not condition:
        raise AssertionError(text)


def text_of(browser, css):
    return browser.find(css).text


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
