"""The files the pages load, all served by openbooks: nothing is fetched off the machine.

The Vega bundle (Vega, Vega-Lite and vega-embed, BSD-3-Clause) is the one
vl-convert ships (``vl_convert.javascript_bundle``); it is built once per
process, when the UI starts.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files

from openbooks.flows.report.assets import vega_bundle  # noqa: F401 - served as /static/vega.js
from openbooks.flows.ui.palette import css_variables

def static_text(name: str) -> str:
    return files("openbooks.flows.ui").joinpath("static", name).read_text(encoding="utf-8")


@cache
def stylesheet() -> str:
    return css_variables() + static_text("ui.css")


@cache
def script() -> str:
    return static_text("ui.js")


def etag(text: str) -> str:
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:16] + '"'
