"""The site's one script file, ``assets/vega.js``: the Vega bundle (Vega,
Vega-Lite and vega-embed, BSD-3-Clause) that vl-convert ships and
``openbooks ui`` serves, written once into the report directory for every
page to load. Nothing is fetched off the machine.

Building the bundle costs ~1.5 s of CPU, so it is built once per vl-convert
version: the site's copy is kept while its first line names that version,
and a copy is kept in the user's cache directory for new report directories.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from importlib.metadata import version
from pathlib import Path

from openbooks.flows.report.files import write_text_atomically

BUNDLE = "assets/vega.js"

# Draws each figure's spec with vega-embed; without the bundle (a page copied
# alone), shows what the page shows without script.
DRAW = """<script>"use strict";(() => {
  const dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
  const fallback = (figure) => {
    const kept = figure.querySelector("noscript");
    figure.querySelector(".vega").innerHTML = kept ? kept.textContent : "";
    figure.dataset.drawn = "static";
  };
  for (const figure of document.querySelectorAll("figure.chart")) {
    if (!window.vegaEmbed) { fallback(figure); continue; }
    const spec = JSON.parse(figure.querySelector("script.spec").textContent);
    window.vegaEmbed(figure.querySelector(".vega"), spec, {mode: "vega-lite", renderer: "svg", actions: false,
      theme: dark ? "dark" : undefined}).then(() => { figure.dataset.drawn = "1"; },
      (error) => { console.error(error); fallback(figure); });
  }
})();</script>"""


_bundle_lock = threading.Lock()


def vega_bundle() -> str:
    """vl-convert's Vega bundle, built once per process (it takes ~1.5 s of CPU)."""
    with _bundle_lock:
        return _vega_bundle()


@cache
def _vega_bundle() -> str:
    import vl_convert

    return vl_convert.javascript_bundle()


def stamp() -> str:
    return f"/* openbooks site: the Vega bundle of vl-convert {version('vl-convert-python')} */\n"


def scripts(prefix: str = "") -> str:
    """The end of a page with charts: the bundle (``prefix``: the way up to the
    site's folder) and the drawing."""
    return f'<script src="{prefix}{BUNDLE}"></script>{DRAW}'


def cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "openbooks" / f"vega-{version('vl-convert-python')}.js"


@cache
def bundle_text() -> str:
    """The bundle with its stamp: from the user's cache, else built (and cached, where that can be written)."""
    cached = cache_path()
    try:
        text = cached.read_text(encoding="utf-8")
        if text.startswith(stamp()):
            return text
    except OSError:
        pass
    text = stamp() + vega_bundle()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(cached, text)
    except OSError:
        pass  # no cache: the next new report directory builds it again
    return text


def write_bundle(directory: Path) -> Path:
    """``<directory>/assets/vega.js``, written unless it is there for this vl-convert version."""
    path = directory / BUNDLE
    try:
        with path.open(encoding="utf-8") as handle:
            if handle.readline() == stamp():
                return path
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, bundle_text())
    return path
