"""``openbooks ui`` started as a real process on loopback, and a headless
Chromium that drives it (tests.browser's, launched with background
networking off and counting as local only the loopback addresses)."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.browser import Browser, PageLoad



class UIServer:
    def __init__(self, config_path: Path, *args: str, env: dict | None = None):
        self.log = config_path.parent / f"ui-{time.monotonic_ns()}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "openbooks.cli", "ui", "--config", str(config_path), "--port", "0", *args],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )
        self.url = self._address()

    def _address(self) -> str:
        for _ in range(600):
            found = re.search(r"http://\S+/", self.log.read_text())
            if found:
                return found.group(0).rstrip("/")
            if self.process.poll() is not None:
                raise AssertionError(f"openbooks ui exited: {self.log.read_text()}")
            time.sleep(0.1)
        raise AssertionError("openbooks ui did not start")

    def get(self, path: str, **options) -> httpx.Response:
        return httpx.get(self.url + path, timeout=60, **options)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def local(url: str) -> bool:
    return url.startswith(("data:", "blob:", "about:")) or urlsplit(url).hostname in ("127.0.0.1", "localhost")


class UIBrowser(Browser):
    """The test browser, counting as local the pages on loopback (the UI's), with helpers for its pages."""

    @staticmethod
    def _note(load: PageLoad, method: str, params: dict) -> None:
        if method == "Network.requestWillBeSent":
            if not local(params["request"]["url"]):
                load.remote.append(params["request"]["url"])
            return
        Browser._note(load, method, params)

    def evaluate(self, expression: str, wait: bool = False):
        result = self.call("Runtime.evaluate", None, expression=expression, awaitPromise=wait, returnByValue=True)
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            time.sleep(0.1)

    def width(self, pixels: int) -> None:
        self.call("Emulation.setDeviceMetricsOverride", None, width=pixels, height=900, deviceScaleFactor=1,
                  mobile=pixels < 600)

    def screenshot(self, path: Path) -> None:
        shot = self.call("Page.captureScreenshot", None, format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))


def overflowing(browser: UIBrowser) -> list[str]:
    """Elements wider than the page (a horizontal scrollbar), the scroll boxes' insides excepted."""
    return json.loads(browser.evaluate("""JSON.stringify((() => {
        const width = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth <= width) return [];
        return [...document.querySelectorAll('body *')].filter(e => !e.closest('.scroll')
            && e.getBoundingClientRect().right > width + 1).map(e => e.tagName + '.' + e.className).slice(0, 10);
    })())"""))
