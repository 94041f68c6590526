"""The report site in a real headless Chromium: its charts drawn by the site's
own Vega bundle (one file in the site's folder), nothing fetched off the
machine, a page that works without the bundle, and every page readable at a
phone's width (400 px): no chart text under 10 px, no page wider than the screen."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest

from openbooks.flows.backfill import run_backfill
from tests.browser import SITE_CHARTS_DRAWN
from tests.conftest import Project
from tests.ui_server import UIBrowser, local, overflowing

WEEK = [date(2025, 2, 20) + timedelta(days=n) for n in range(8)]
PAGES = {"index": "index.html", "day": "2025-02-27.html", "month": "periods/2025-02.html"}
FIGURES = {"index": 2, "day": 4, "month": 5}
DRAWN = SITE_CHARTS_DRAWN
CLIPPED_TEXT = """[...document.querySelectorAll('figure.chart .vega svg text')].filter(t => {
    const box = t.getBoundingClientRect(), chart = t.ownerSVGElement.getBoundingClientRect();
    return box.width > 0 && (box.left < chart.left - 1 || box.right > chart.right + 1);
}).map(t => t.textContent)"""
SMALLEST_TEXT = """Math.min(...[...document.querySelectorAll('figure.chart svg text')]
    .filter(t => t.getBBox().width > 0)
    .map(t => { const m = t.getScreenCTM();
                return parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b); }))"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, prefect_harness):
    project = Project(tmp_path_factory.mktemp("site"))
    project.write_config()
    outcomes = run_backfill(WEEK, str(project.config_path), runner="inline")
    assert {o.status for o in outcomes} == {"published"}
    return project.config.report_dir


class SiteBrowser(UIBrowser):
    """Chromium where local files and loopback are local, anything else is off the machine."""

    @staticmethod
    def _note(load, method: str, params: dict) -> None:
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not (url.startswith("file:") or local(url)):
                load.remote.append(url)
            return
        UIBrowser._note(load, method, params)


@pytest.fixture
def browser(tmp_path):
    opened = SiteBrowser(tmp_path / "profile")
    yield opened
    opened.close()


def opened(browser: UIBrowser, page) -> object:
    load = browser.open(page.as_uri())
    browser.wait_for(DRAWN)
    return load


def test_every_chart_is_drawn_by_the_site_s_own_bundle_with_nothing_fetched_off_the_machine(site, browser):
    assert [p.relative_to(site).as_posix() for p in site.rglob("*.js")] == ["assets/vega.js"]
    for name, path in PAGES.items():
        page = site / path
        text = page.read_text()
        prefix = "../" if "/" in path else ""
        assert f'<script src="{prefix}assets/vega.js"></script>' in text and "vegaEmbed(figure" in text
        assert text.count('<figure class="chart">') == FIGURES[name], name
        load = opened(browser, page)
        assert (load.failed, load.remote, load.errors) == ([], [], []), name
        drawn = browser.evaluate("[...document.querySelectorAll('figure.chart')].map(f => f.dataset.drawn)")
        assert drawn == ["1"] * FIGURES[name], name
        assert browser.evaluate("document.querySelectorAll('figure.chart .vega svg').length") == FIGURES[name]
    # every mark is described (its hover tooltip and the screen reader's label)
    browser.open((site / PAGES["day"]).as_uri())
    browser.wait_for(DRAWN)
    assert browser.evaluate("!!document.querySelector('[aria-label=\"12:00 GPU cost: $4,448\"]')")


def test_the_day_s_charts_are_specs_and_text_and_the_statements_keep_their_svg(site):
    day = (site / PAGES["day"]).read_text()
    assert "<svg" not in day  # drawn by the browser; without script, the figures as text
    assert '<details class="figures"><summary>Hourly GPU cost and theoretical income, USD (Asia/Shanghai)' in day
    assert "<li>12:00 GPU cost: $4,448</li>" in day and "<li>00:00 to 01:15: 218 nodes</li>" in day
    month = (site / PAGES["month"]).read_text()
    assert month.count("<noscript><div class=\"static\"><svg") == 5
    assert "<title>2025-02-27 GPU cost: $87,072</title>" in month


def test_a_page_copied_alone_shows_its_charts_without_the_bundle(site, browser, tmp_path):
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(site / "index.html", alone / "index.html")
    load = browser.open((alone / "index.html").as_uri())
    browser.wait_for(DRAWN)
    assert load.remote == [] and len(load.failed) == 1  # the bundle, not there
    assert browser.evaluate("[...document.querySelectorAll('figure.chart')].map(f => f.dataset.drawn)") == [
        "static", "static"]
    assert browser.evaluate("document.querySelectorAll('figure.chart .static svg').length") == 2


def test_at_a_phone_s_width_chart_text_stays_readable_and_no_page_is_wider_than_the_screen(site, browser):
    browser.width(400)
    for name, path in PAGES.items():
        opened(browser, site / path)
        assert overflowing(browser) == [], name
        assert browser.evaluate("document.documentElement.scrollWidth") <= 400, name
        assert browser.evaluate(SMALLEST_TEXT) >= 10, name
        assert browser.evaluate(CLIPPED_TEXT) == [], name  # titles wrap rather than run off the chart


def hrefs(page) -> list[str]:
    """The page's links to other files of the site (not CSV downloads, nor the day's neighbours by date)."""
    import re
    from html import unescape

    text = re.sub(r'<a href="[^"]*" rel="(prev|next)">', "", page.read_text())
    return [unescape(h) for h in re.findall(r'href="([^"]+)"', text) if not h.startswith(("data:", "#"))]


def test_every_link_of_the_site_leads_to_a_page_it_has(site):
    from urllib.parse import unquote

    pages = [p for p in site.rglob("*.html") if "data_docs" not in p.parts]
    broken = [(p.relative_to(site).as_posix(), h) for p in pages for h in hrefs(p)
              if not (p.parent / unquote(h)).resolve().is_file() and "data_docs/" not in h]
    assert broken == []
    index, day = hrefs(site / "index.html"), hrefs(site / PAGES["day"])
    assert "2025-02-27.html" in index and "periods/2025-02.html" in index
    assert any(h.startswith("models/") for h in index) and any(h.startswith("models/") for h in day)
    assert {"index.html", "periods/2025-02.html"} <= set(day)
    model = next((site / "models").glob("*.html"))
    assert {"../index.html", "../2025-02-27.html", "../2025-02-20.html", "../periods/2025-02.html"} <= set(hrefs(model))
    day_text = (site / PAGES["day"]).read_text()
    assert '<a href="2025-02-26.html" rel="prev">' in day_text and '<a href="2025-02-28.html" rel="next">' in day_text


@pytest.fixture(scope="module")
def customers_site(tmp_path_factory, prefect_harness):
    """A day whose tokens come from 2,000 generated requests: its customers."""
    from openbooks.flows.daily import daily_books
    from tests.test_requests import DAY, request_config

    project = Project(tmp_path_factory.mktemp("customers"))
    request_config(project, 2_000, files=1)
    daily_books(DAY, str(project.config_path))
    return project.config.report_dir


def test_a_customer_s_page_lists_its_days_and_the_day_links_to_it(customers_site, browser):
    import re
    from urllib.parse import unquote

    day = (customers_site / "2025-02-27.html").read_text()
    linked = set(re.findall(r'href="(customers/[^"]+)"', day))
    pages = {p.relative_to(customers_site).as_posix() for p in (customers_site / "customers").glob("*.html")}
    assert linked and {unquote(h) for h in linked} == pages  # a page for each customer the day names
    page = customers_site / unquote(sorted(linked)[0])
    text = page.read_text()
    assert "<h1>openbooks: customer " in text and '<a href="../2025-02-27.html">2025-02-27</a>' in text
    assert 'href="' + sorted(linked)[0] + '"' in (customers_site / "index.html").read_text()
    load = opened(browser, page)
    assert (load.failed, load.remote, load.errors) == ([], [], [])
    assert browser.evaluate("document.querySelectorAll('figure.chart .vega svg').length") == 1


def test_the_day_s_page_and_the_index_show_the_headline_strip(site):
    import re

    day = (site / PAGES["day"]).read_text()
    index = (site / "index.html").read_text()
    strip = re.search(r'<section class="headline".*?</section>', day).group(0)
    assert "vs median of 7 day(s)" in strip and strip.count('class="figure"') == 7
    assert strip in index  # the latest day's strip, the same on its page and on the index
    first = (site / "2025-02-20.html").read_text()
    assert "no earlier days" in re.search(r'<section class="headline".*?</section>', first).group(0)


def test_a_model_s_page_draws_its_chart(site, browser):
    load = opened(browser, next((site / "models").glob("*.html")))
    assert (load.failed, load.remote, load.errors) == ([], [], [])
    assert browser.evaluate("document.querySelectorAll('figure.chart .vega svg').length") == 1
