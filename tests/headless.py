"""Open a page in headless Chromium as a reader would, and report what went wrong.

A small client of the Chrome DevTools protocol (over a WebSocket, ``websocket-client``): it
loads a file, records every network request, console message, page error and log entry,
checks every image, and returns the DOM and a full-page screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from projection.outputs.cli_brief import chromium_flags, find_chromium

LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:", "chrome:", "devtools:")
"""URLs that a self-contained page may load without the network."""


@dataclass
class Rendered:
    dom: str
    screenshot: bytes
    requests: list[str] = field(default_factory=list)  # URLs that needed the network
    errors: list[str] = field(default_factory=list)  # console errors, page errors, error logs
    images: list[dict[str, Any]] = field(default_factory=list)  # src scheme, alt, size, loaded


def browser_or_none() -> str | None:
    return find_chromium()


class _Session:
    def __init__(self, url: str, timeout: float):
        import websocket  # websocket-client

        self.ws = websocket.create_connection(url, timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float) -> None:
        if any(e.get("method") == event for e in self.events):
            return
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            message = json.loads(self.ws.recv())
            self.events.append(message)
            if message.get("method") == event:
                return
        raise TimeoutError(event)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")


def _port(profile: Path, process: subprocess.Popen, timeout: float) -> int:
    marker = profile / "DevToolsActivePort"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        if process.poll() is not None:
            raise RuntimeError(f"Chromium exited with {process.returncode}")
        time.sleep(0.05)
    raise TimeoutError("Chromium did not open its DevTools port")


def _page_target(port: int, timeout: float) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout) as r:
            pages = [t for t in json.load(r) if t.get("type") == "page"]
        if pages:
            return pages[0]
        time.sleep(0.05)
    raise TimeoutError("Chromium opened no page")


def render(page: Path, browser: str, width: int = 1100, timeout: float = 60.0) -> Rendered:
    """Load ``page`` and return its DOM, a full-page screenshot and everything that failed."""
    # Chromium's helper processes may still write to the profile while it is removed
    with tempfile.TemporaryDirectory(prefix="projection-render-",
                                     ignore_cleanup_errors=True) as work:
        profile = Path(work) / "profile"
        profile.mkdir()
        process = subprocess.Popen(
            [browser, *chromium_flags(str(profile)), "--remote-debugging-port=0",
             f"--window-size={width},900", "--hide-scrollbars", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "LANG": "en_US.UTF-8"},
        )
        try:
            target = _page_target(_port(profile, process, timeout), timeout)
            session = _Session(target["webSocketDebuggerUrl"], timeout)
            for domain in ("Page", "Runtime", "Log", "Network"):
                session.send(f"{domain}.enable")
            session.events.clear()
            session.send("Page.navigate", url=page.resolve().as_uri())
            session.wait_for("Page.loadEventFired", timeout)
            session.evaluate("new Promise(r => setTimeout(r, 200))")
            images = session.evaluate(
                "Array.from(document.images).map(i => ({src: i.src.slice(0, 30), alt: i.alt,"
                " loaded: i.complete && i.naturalWidth > 0, width: i.naturalWidth,"
                " height: i.naturalHeight}))"
            )
            dom = session.evaluate("document.documentElement.outerHTML")
            height = session.evaluate("document.documentElement.scrollHeight")
            session.send("Emulation.setDeviceMetricsOverride", width=width, height=int(height),
                         deviceScaleFactor=1, mobile=False)
            shot = session.send("Page.captureScreenshot", format="png",
                                captureBeyondViewport=True)
            session.ws.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    return Rendered(dom=dom, screenshot=base64.b64decode(shot["data"]),
                    requests=_network(session.events), errors=_errors(session.events),
                    images=images)


def _network(events: list[dict[str, Any]]) -> list[str]:
    urls = [e["params"]["request"]["url"] for e in events
            if e.get("method") == "Network.requestWillBeSent"]
    return [u for u in urls if not u.startswith(LOCAL_SCHEMES)]


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            found.append("exception: " + params["exceptionDetails"].get("text", ""))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            found.append(f"log ({params['entry'].get('source')}): {params['entry'].get('text')}")
        elif method == "Network.loadingFailed":
            found.append(f"failed to load: {params.get('errorText')}")
    return found


class Page:
    """A page open in headless Chromium for a test or a benchmark to drive: ``evaluate``
    JavaScript in it, ``key`` presses, ``navigate`` elsewhere; ``requests`` and ``errors``
    as :func:`render` reports them. Use as a context manager (the browser is closed on
    leaving)."""

    def __init__(self, page: Path | str, browser: str, width: int = 1280, height: int = 900,
                 timeout: float = 60.0, extra_flags: tuple[str, ...] = ()):
        self.url = page if isinstance(page, str) else page.resolve().as_uri()
        self.browser, self.width, self.height, self.timeout = browser, width, height, timeout
        self.extra_flags = extra_flags

    def __enter__(self) -> Page:
        self._work = tempfile.TemporaryDirectory(prefix="projection-page-",
                                                 ignore_cleanup_errors=True)
        profile = Path(self._work.name) / "profile"
        profile.mkdir()
        self.process = subprocess.Popen(
            [self.browser, *chromium_flags(str(profile)), "--remote-debugging-port=0",
             f"--window-size={self.width},{self.height}", "--hide-scrollbars",
             *self.extra_flags, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "LANG": "en_US.UTF-8"},
        )
        try:
            target = _page_target(_port(profile, self.process, self.timeout), self.timeout)
            self.session = _Session(target["webSocketDebuggerUrl"], self.timeout)
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.session.send(f"{domain}.enable")
            self.navigate(self.url)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def navigate(self, url: str) -> float:
        """Open ``url`` and wait for its load event; the seconds it took."""
        self.session.events = [e for e in self.session.events
                               if e.get("method") != "Page.loadEventFired"]
        start = time.monotonic()
        self.session.send("Page.navigate", url=url)
        self.session.wait_for("Page.loadEventFired", self.timeout)
        return time.monotonic() - start

    def evaluate(self, expression: str) -> Any:
        result = self.session.send("Runtime.evaluate", expression=expression,
                                   returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def key(self, key: str, code: str | None = None) -> None:
        """Press and release ``key`` (a DOM key name such as ``ArrowRight``) on the focus."""
        codes = {"ArrowRight": 39, "ArrowLeft": 37, "ArrowUp": 38, "ArrowDown": 40,
                 "Tab": 9, "Home": 36, "End": 35, "PageUp": 33, "PageDown": 34}
        for kind in ("rawKeyDown", "keyUp"):
            self.session.send("Input.dispatchKeyEvent", type=kind, key=key, code=code or key,
                              windowsVirtualKeyCode=codes.get(key, 0))

    def screenshot(self, full: bool = True) -> bytes:
        if full:
            height = self.evaluate("document.documentElement.scrollHeight")
            self.session.send("Emulation.setDeviceMetricsOverride", width=self.width,
                              height=int(height), deviceScaleFactor=1, mobile=False)
        shot = self.session.send("Page.captureScreenshot", format="png",
                                 captureBeyondViewport=full)
        return base64.b64decode(shot["data"])

    @property
    def requests(self) -> list[str]:
        return _network(self.session.events)

    @property
    def all_requests(self) -> list[str]:
        """Every URL the page asked for, local or not."""
        return [e["params"]["request"]["url"] for e in self.session.events
                if e.get("method") == "Network.requestWillBeSent"]

    @property
    def errors(self) -> list[str]:
        return _errors(self.session.events)

    def __exit__(self, *exc) -> None:
        session = getattr(self, "session", None)
        if session is not None:
            try:
                session.ws.close()
            except Exception:  # the browser may be gone already
                pass
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._work.cleanup()


def firefox_or_none() -> str | None:
    import shutil

    return next((found for b in ("firefox-esr", "firefox") if (found := shutil.which(b))), None)


class FirefoxPage:
    """A page open in headless Firefox, driven over WebDriver BiDi (Firefox no longer speaks
    the DevTools protocol): ``evaluate``, ``key`` presses on the focus, ``requests`` (URLs
    that needed the network) and ``errors`` (console errors and uncaught exceptions)."""

    KEYS = {"ArrowRight": "\ue014", "ArrowLeft": "\ue012", "Tab": "\ue004"}

    def __init__(self, page: Path, browser: str, timeout: float = 90.0):
        self.url, self.browser, self.timeout = page.resolve().as_uri(), browser, timeout
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> FirefoxPage:
        import re

        import websocket  # websocket-client

        self._work = tempfile.TemporaryDirectory(prefix="projection-firefox-",
                                                 ignore_cleanup_errors=True)
        log = Path(self._work.name) / "stderr"
        profile = Path(self._work.name) / "profile"
        profile.mkdir()
        with open(log, "wb") as err:
            self.process = subprocess.Popen(
                [self.browser, "--headless", "--remote-debugging-port", "0", "--profile",
                 str(profile), "--no-remote", "about:blank"],
                stdout=subprocess.DEVNULL, stderr=err)
        try:
            end = time.monotonic() + self.timeout
            found = None
            while found is None and time.monotonic() < end:
                found = re.search(r"WebDriver BiDi listening on (ws://\S+)",
                                  log.read_text(errors="replace"))
                if self.process.poll() is not None:
                    raise RuntimeError(f"Firefox exited with {self.process.returncode}")
                time.sleep(0.1)
            if found is None:
                raise TimeoutError("Firefox did not open its WebDriver BiDi port")
            self.ws = websocket.create_connection(found.group(1) + "/session",
                                                  timeout=self.timeout, suppress_origin=True)
            self.next_id = 0
            self.send("session.new", capabilities={})
            self.context = self.send("browsingContext.getTree")["contexts"][0]["context"]
            self.send("session.subscribe", events=["log.entryAdded",
                                                   "network.beforeRequestSent"])
            self.send("browsingContext.navigate", context=self.context, url=self.url,
                      wait="complete")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == ident:
                if message.get("type") == "error":
                    raise RuntimeError(f"{method}: {message.get('message')}")
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` (JSON-serialisable), awaited when it is a promise."""
        result = self.send("script.evaluate", target={"context": self.context},
                           awaitPromise=True,
                           expression=f"Promise.resolve({expression}).then(JSON.stringify)")
        if result.get("type") == "exception":
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        value = result["result"].get("value")
        return None if value is None else json.loads(value)

    def key(self, key: str) -> None:
        value = self.KEYS[key]
        self.send("input.performActions", context=self.context, actions=[{
            "type": "key", "id": "keyboard",
            "actions": [{"type": "keyDown", "value": value}, {"type": "keyUp", "value": value}]}])

    @property
    def all_requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "network.beforeRequestSent"]

    @property
    def requests(self) -> list[str]:
        return [u for u in self.all_requests if not u.startswith(LOCAL_SCHEMES)]

    @property
    def errors(self) -> list[str]:
        return [f"{e['params'].get('type')}: {e['params'].get('text')}" for e in self.events
                if e.get("method") == "log.entryAdded" and e["params"].get("level") == "error"]

    def __exit__(self, *exc) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            try:
                ws.close()
            except Exception:  # the browser may be gone already
                pass
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._work.cleanup()
