"""A real headless Chromium driven over the DevTools protocol (CDP) on
loopback: open a page, collect failed requests, requests that leave the
machine and console errors, count its SVG charts, save a screenshot.
Protocol: https://chromedevtools.github.io/devtools-protocol/"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.servers import require


# Every chart of the report site drawn (its figures carry their spec; the UI's draw theirs by other means).
SITE_CHARTS_DRAWN = ("[...document.querySelectorAll('figure.chart')].filter(f => f.querySelector('script.spec'))"
                     ".every(f => f.dataset.drawn)")


@dataclass
class PageLoad:
    url: str
    failed: list[str] = field(default_factory=list)  # requests that failed or answered >= 400
    remote: list[str] = field(default_factory=list)  # requests for anything but a local file
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    svgs: int = 0


# Headless, and nothing of its own on the network (no background requests,
# component updates or sync): any request a page makes is the page's.
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")


class Browser:
    def __init__(self, profile: Path):
        binary = shutil.which("chromium") or shutil.which("chromium-browser") or require("chromium", "chromium")
        profile.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", "--window-size=1100,1400", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        target = next(t for t in httpx.get(f"http://127.0.0.1:{port}/json/list").json() if t["type"] == "page")
        self.socket = connect(target["webSocketDebuggerUrl"], max_size=None)
        self.ids = itertools.count(1)
        for method in ("Network.enable", "Runtime.enable", "Log.enable", "Page.enable"):
            self.call(method)
        self.call("Browser.setDownloadBehavior", None, behavior="allow", downloadPath=str(profile / "downloads"),
                  eventsEnabled=True)

    def call(self, method: str, events: list | None = None, **params) -> dict:
        """Send one command; events that arrive before its answer go to ``events``."""
        call_id = next(self.ids)
        self.socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == call_id:
                return message.get("result", {})
            if events is not None and "method" in message:
                events.append(message)

    def open(self, url: str, screenshot: Path | None = None) -> PageLoad:
        events: list[dict] = []
        self.call("Page.navigate", events, url=url)
        while not any(e["method"] == "Page.loadEventFired" for e in events):
            message = json.loads(self.socket.recv(timeout=60))
            if "method" in message:
                events.append(message)
        load = PageLoad(url)
        for event in events:
            self._note(load, event["method"], event["params"])
        self._charts_drawn(load)
        result = self.call("Runtime.evaluate", None, expression="document.querySelectorAll('svg').length")
        load.svgs = result["result"]["value"]
        if screenshot is not None:
            shot = self.call("Page.captureScreenshot", None, format="png", captureBeyondViewport=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        return load

    def _charts_drawn(self, load: PageLoad, timeout: float = 60) -> None:
        """Wait for the page's charts that the browser draws (the report site's
        ``figure.chart``), noting what the page does meanwhile."""
        deadline = time.monotonic() + timeout
        expression = SITE_CHARTS_DRAWN
        while True:
            events: list[dict] = []
            drawn = self.call("Runtime.evaluate", events, expression=expression)["result"].get("value")
            for event in events:
                self._note(load, event["method"], event["params"])
            if drawn:
                return
            assert time.monotonic() < deadline, "the page's charts were not drawn"
            time.sleep(0.1)

    @staticmethod
    def _note(load: PageLoad, method: str, params: dict) -> None:
        if method == "Network.requestWillBeSent" and not params["request"]["url"].startswith(("file:", "data:")):
            load.remote.append(params["request"]["url"])
        elif method == "Network.loadingFailed":
            load.failed.append(f"{params.get('errorText')} ({params['requestId']})")
        elif method == "Network.responseReceived" and params["response"].get("status", 200) >= 400:
            load.failed.append(f"{params['response']['status']} {params['response']['url']}")
        elif method == "Runtime.exceptionThrown":
            load.errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params["type"] == "error":
            load.errors.append(" ".join(str(a.get("value", "")) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            load.errors.append(params["entry"]["text"])

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=30)
