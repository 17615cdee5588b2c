"""Headless Chromium driven through chromedriver's WebDriver protocol (W3C), on Python's
standard library only (urllib and json: the test hosts have no PyPI).

    with Browser(log_dir=DIR) as browser:
        browser.get("http://127.0.0.1:8080/me")
        browser.find("#token").type("sos_...")
        browser.find("button[type=submit]").click()
        browser.wait(lambda: browser.find("#location-name").text == "Home", "the location")
        browser.screenshot(DIR / "page.png", whole_page=True)

chromedriver is started on a free port and is ready once its /status says so; Chromium runs
headless with a user-data directory of its own, removed at the end. Every wait has a deadline
and polls; nothing sleeps a fixed time. close() (the end of the `with`) deletes the session,
then stops chromedriver and every process it started, each by its PID.
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# The W3C name of an element reference in a JSON answer.
ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"
POLL_SECONDS = 0.05


class WebDriverError(Exception):
    """A command the driver refused, with its W3C error code ("no such element", ...)."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code


def missing_programs(chromium=CHROMIUM, chromedriver=CHROMEDRIVER):
    """The programs a browser test needs that are not installed (empty when all are)."""
    return [p for p in (chromium, chromedriver) if not os.access(p, os.X_OK)]


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid):
    """(parent PID, start time) of a process from /proc, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: the fields follow the last ')'.
    fields = text[text.rfind(")") + 2:].split()
    return int(fields[1]), int(fields[19])


def _descendants(root):
    """Every process below `root`, as {pid: start time} (the start time tells a PID reused)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st:
                parents[int(entry)] = st
    found = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, started) in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                frontier.append(pid)
    return found


class Element:
    def __init__(self, browser, element_id, css):
        self._browser = browser
        self._id = element_id
        self.css = css

    def _path(self, suffix=""):
        return f"/element/{self._id}{suffix}"

    def find_in(self, css):
        """The first element under this one that `css` selects."""
        value = self._browser._session_call("POST", self._path("/element"),
                                            {"using": "css selector", "value": css})
        return Element(self._browser, value[ELEMENT_KEY], css)

    def click(self):
        self._browser._session_call("POST", self._path("/click"), {})

    def clear(self):
        self._browser._session_call("POST", self._path("/clear"), {})

    def type(self, text):
        self._browser._session_call("POST", self._path("/value"), {"text": text})

    @property
    def text(self):
        return self._browser._session_call("GET", self._path("/text"))

    def dom_property(self, name):
        return self._browser._session_call("GET", self._path(f"/property/{name}"))

    def attribute(self, name):
        return self._browser._session_call("GET", self._path(f"/attribute/{name}"))

    @property
    def displayed(self):
        return self._browser._session_call("GET", self._path("/displayed"))


class Browser:
    def __init__(self, log_dir=None, chromium=CHROMIUM, chromedriver=CHROMEDRIVER,
                 window=(1000, 1400), start_timeout=30.0):
        self._chromium = chromium
        self._chromedriver = chromedriver
        self._window = window
        self._start_timeout = start_timeout
        self._log_dir = Path(log_dir) if log_dir else None
        self._driver = None
        self._log = None
        self._base = None
        self._session = None
        self._profile = None

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        missing = missing_programs(self._chromium, self._chromedriver)
        if missing:
            raise RuntimeError("not installed: " + ", ".join(missing) +
                               " (Debian: apt-get install chromium chromium-driver)")
        port = _free_port()
        self._base = f"http://127.0.0.1:{port}"
        self._profile = tempfile.mkdtemp(prefix="sos-chromium-")
        log = self._log_dir / "chromedriver.log" if self._log_dir else os.devnull
        self._log = open(log, "wb")
        # A session of its own: chromedriver and the Chromium it starts are one process group,
        # apart from the test's.
        self._driver = subprocess.Popen(
            [self._chromedriver, f"--port={port}"], stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait(self._driver_ready, f"chromedriver ready on port {port}",
                  timeout=self._start_timeout)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--user-data-dir={self._profile}",
                f"--window-size={self._window[0]},{self._window[1]}",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--password-store=basic"]
        value = self._call("POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": self._chromium, "args": args},
        }}}, timeout=self._start_timeout)
        self._session = value["sessionId"]

    def _driver_ready(self):
        if self._driver.poll() is not None:
            raise RuntimeError(f"chromedriver exited with status {self._driver.returncode}")
        try:
            return bool(self._call("GET", "/status", timeout=2)["ready"])
        except (OSError, WebDriverError):
            return False

    def _call(self, method, path, body=None, timeout=30.0):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self._base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = json.load(response)
        except urllib.error.HTTPError as e:
            try:
                value = json.load(e).get("value", {})
            except ValueError:
                value = {}
            raise WebDriverError(value.get("error", f"HTTP {e.code}"),
                                 value.get("message", "")) from None
        return payload.get("value")

    def _session_call(self, method, path, body=None, timeout=30.0):
        return self._call(method, f"/session/{self._session}{path}", body, timeout)

    def get(self, url):
        self._session_call("POST", "/url", {"url": url})

    def find(self, css):
        value = self._session_call("POST", "/element", {"using": "css selector", "value": css})
        return Element(self, value[ELEMENT_KEY], css)

    def find_all(self, css):
        values = self._session_call("POST", "/elements", {"using": "css selector", "value": css})
        return [Element(self, v[ELEMENT_KEY], css) for v in values]

    def script(self, source, *args):
        """Runs `source` (a function body) in the page and returns what it returns."""
        return self._session_call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def cdp(self, command, params=None):
        """A Chrome DevTools Protocol command through chromedriver (goog/cdp/execute)."""
        return self._session_call("POST", "/goog/cdp/execute",
                                  {"cmd": command, "params": params or {}})

    def download_to(self, directory):
        """Files the page downloads go to `directory` (headless Chromium keeps none otherwise)."""
        try:
            self.cdp("Browser.setDownloadBehavior",
                     {"behavior": "allow", "downloadPath": str(directory)})
        except WebDriverError:
            self.cdp("Page.setDownloadBehavior",
                     {"behavior": "allow", "downloadPath": str(directory)})

    def screenshot(self, path, whole_page=False):
        """A PNG of the window; with `whole_page`, of the whole page from its top (the window
        grows to the page's height for it, then is set back)."""
        rect = None
        if whole_page:
            rect = self._session_call("GET", "/window/rect")
            height = self.script("return document.documentElement.scrollHeight;")
            inner = self.script("return window.innerHeight;")
            self._session_call("POST", "/window/rect",
                               {"width": rect["width"], "height": rect["height"] - inner + height})
            self.script("window.scrollTo(0, 0);")
        png = base64.b64decode(self._session_call("GET", "/screenshot"))
        Path(path).write_bytes(png)
        if rect:
            self._session_call("POST", "/window/rect",
                               {"width": rect["width"], "height": rect["height"]})

    def wait(self, condition, what, timeout=10.0):
        """Polls `condition` until it returns something true and returns that. An element not
        there yet (WebDriverError) counts as false. Raises TimeoutError naming `what`."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                result = condition()
                if result:
                    return result
            except WebDriverError as e:
                last = e
            if time.monotonic() >= deadline:
                raise TimeoutError(f"waited {timeout:g} s for {what}" +
                                   (f" (last error: {last})" if last else ""))
            time.sleep(POLL_SECONDS)

    def close(self):
        """Ends the session and stops chromedriver and everything it started, by PID."""
        if self._driver is None:
            self._remove_profile()
            return
        below = _descendants(self._driver.pid)
        if self._session:
            try:
                self._session_call("DELETE", "", timeout=10)
            except (OSError, WebDriverError):
                pass
            self._session = None
        if self._driver.poll() is None:
            self._driver.send_signal(signal.SIGTERM)
            try:
                self._driver.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._driver.kill()
                self._driver.wait()
        # Chromium's processes outlive chromedriver when it is killed: each still running (the
        # same PID with the same start time) is killed too.
        for pid, started in below.items():
            st = _stat(pid)
            if st and st[1] == started:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._driver = None
        if self._log:
            self._log.close()
            self._log = None
        self._remove_profile()

    def _remove_profile(self):
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None
