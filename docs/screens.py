"""Refresh the screenshots in docs/images/: ``openbooks ui`` and the report site
of the bundled sample week, at desktop (1100 px) and phone (400 px) width,
taken in headless Chromium (the UI's pages whole; the site's first screen,
its charts drawn by the site's own Vega bundle).

    python docs/screens.py

Books the week 2025-02-20..27 in a temporary copy of the project (its own
warehouse and reports), serves it with ``openbooks ui`` on loopback, and
writes ui-*.png and site-*.png here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
sys.path.insert(0, str(ROOT))

from tests.browser import SITE_CHARTS_DRAWN  # noqa: E402
from tests.ui_server import UIBrowser, UIServer  # noqa: E402

UI_PAGES = {"ui-overview": "/", "ui-day": "/day/2025-02-27", "ui-model": "/model/deepseek-r1"}
SITE_PAGES = {"site-index": "index.html", "site-day": "2025-02-27.html", "site-month": "periods/2025-02.html",
              "site-model": "models/deepseek-r1.html"}
SITE_CHARTS = SITE_CHARTS_DRAWN
UI_CHARTS = "[...document.querySelectorAll('.vega')].every(e => e.dataset.drawn)"
WIDTHS = {"": 1100, "-phone": 400}


def book_the_week(root: Path) -> Path:
    for part in ("configs", "data/sample", "expectations"):
        shutil.copytree(ROOT / part, root / part)
    config = root / "configs" / "openbooks.yaml"
    subprocess.run([sys.executable, "-m", "openbooks.cli", "backfill", "--start", "2025-02-20", "--end",
                    "2025-02-27", "--config", str(config)], check=True, cwd=root, stdout=subprocess.DEVNULL)
    return config


def capture(browser: UIBrowser, url: str, name: str, charts: str, whole: bool = True) -> None:
    """The page at each width, once its ``charts`` are drawn: whole, or its first screen (900 px high)."""
    import base64

    for suffix, width in WIDTHS.items():
        browser.width(width)
        browser.open(url)
        browser.wait_for(charts)
        if whole:
            browser.screenshot(IMAGES / f"{name}{suffix}.png")
        else:
            shot = browser.call("Page.captureScreenshot", None, format="png")
            (IMAGES / f"{name}{suffix}.png").write_bytes(base64.b64decode(shot["data"]))
        print(f"wrote docs/images/{name}{suffix}.png")


def main() -> None:
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        config = book_the_week(root)
        ui = UIServer(config)
        browser = UIBrowser(root / "profile")
        try:
            for name, path in UI_PAGES.items():
                capture(browser, ui.url + path, name, UI_CHARTS)
            for name, path in SITE_PAGES.items():
                page = root / "reports" / path
                if page.exists():
                    capture(browser, page.as_uri(), name, SITE_CHARTS, whole=False)
        finally:
            browser.close()
            ui.stop()
            # the project's local Prefect API, started by the backfill, goes with the project
            subprocess.run([sys.executable, "-m", "openbooks.cli", "server", "stop", "--config", str(config)],
                           cwd=root, stdout=subprocess.DEVNULL, check=False)


if __name__ == "__main__":
    main()
