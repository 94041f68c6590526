"""Period statements from a real warehouse: the bundled week 2025-02-20..27
published by real runs, read back read-only, written as md, html, csv, json."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from openbooks.flows.daily import daily_books
from openbooks.flows.report.period import parse_period, period_statement
from openbooks.flows.report.period_cli import report_period
from openbooks.flows.report.site import write_site
from openbooks.errors import OpenbooksError
from tests.books import published
from tests.browser import Browser
from tests.conftest import Project

WEEK = [date(2025, 2, 20) + timedelta(days=n) for n in range(8)]
MONEY = ("gpu_cost_usd", "theoretical_revenue_usd", "billed_revenue_usd", "loaded_cost_usd", "idle_capacity_usd",
         "cache_discount_usd", "cache_saved_usd")


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("period"))
    project.write_config()
    for day in WEEK:
        daily_books(day, str(project.config_path))
    return project


def test_the_month_statement_adds_up_to_its_daily_statements_to_the_cent(week):
    config = week.config
    path, note = report_period(week.config_path, month="2025-02", fmt="json")
    document = json.loads(path.read_text())
    for figure in MONEY:
        (daily_sum,) = published(config, f"SELECT sum({figure}) FROM daily_economics")[0]
        assert round(document["totals"][figure], 2) == round(daily_sum, 2), figure
    (tokens,) = published(config, "SELECT sum(output_tokens) FROM daily_economics")[0]
    assert document["totals"]["output_tokens"] == tokens and document["totals"]["days"] == 8
    # ratios from the period's sums
    theoretical, gpu = document["totals"]["theoretical_revenue_usd"], document["totals"]["gpu_cost_usd"]
    assert document["totals"]["gross_margin"] == pytest.approx((theoretical - gpu) / theoretical)
    # the waterfall and the cost lines over the month add up to the same cents
    steps = {r["step"]: r["amount_usd"] for r in document["waterfall"] if r["model"] == "all"}
    assert round(steps["billed revenue"], 2) == round(document["totals"]["billed_revenue_usd"], 2)
    assert round(sum(r["usd"] for r in document["cost_breakdown"]), 2) == round(document["totals"]["loaded_cost_usd"], 2)
    # a price change inside the period: the off-peak discount starts on 2025-02-26
    by_day = published(config, "SELECT day, amount_usd FROM revenue_waterfall WHERE model = 'all' "
                               "AND step = 'time-of-day pricing' AND amount_usd != 0 ORDER BY day")
    assert [d for d, _ in by_day] == [date(2025, 2, 26), date(2025, 2, 27)]
    assert round(steps["time-of-day pricing"], 2) == round(sum(a for _, a in by_day), 2)
    # February has 28 days, 8 of them published: the other 20 are named, and the statement says so
    assert document["period"]["complete"] is False
    assert [r["day"] for r in document["not_published"]] == [str(date(2025, 2, d)) for d in [*range(1, 20), 28]]
    assert note == "Incomplete: 20 of 28 days are not published (missing: 2025-02-01 to 2025-02-19, 2025-02-28)."


def test_the_week_statement_in_every_format(week):
    config = week.config
    paths = {fmt: report_period(week.config_path, start="2025-02-20", end="2025-02-27", fmt=fmt)[0]
             for fmt in ("md", "html", "csv", "json")}
    assert {p.name for p in paths.values()} == {f"2025-02-20_2025-02-27.{f}" for f in ("md", "html", "csv", "json")}
    md = paths["md"].read_text()
    assert "Incomplete" not in md and "(8 days, 8 published)" in md
    assert "## Change against the previous period" in md and "previous (2025-02-12 to 2025-02-19)" in md
    html = paths["html"].read_text()
    assert html.count("<svg") == 5 and "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html and "<title>2025-02-27 GPU cost: $87,072</title>" in html
    lines = paths["csv"].read_text().splitlines()
    assert lines[0].startswith("day,status,") and len(lines) == 10 and lines[-1].startswith("total,complete,")
    (gpu,) = published(config, "SELECT sum(gpu_cost_usd) FROM daily_economics")[0]
    header = lines[0].split(",")
    assert float(lines[-1].split(",")[header.index("gpu_cost_usd")]) == pytest.approx(gpu)
    assert "2025-02-27,published," in paths["csv"].read_text()
    focus, _ = report_period(week.config_path, start="2025-02-20", end="2025-02-27", fmt="focus")
    assert focus.name == "2025-02-20_2025-02-27.focus.csv"
    (loaded,) = published(config, "SELECT sum(loaded_cost_usd) FROM daily_economics")[0]
    billed = [float(line.split(",")[5]) for line in focus.read_text().splitlines()[1:]]
    assert round(sum(billed), 2) == round(loaded, 2) and len(billed) == 8 * 5


def test_a_week_and_its_previous_week(week):
    statement = period_statement(week.config, parse_period(week="2025-W09"))  # Monday 2025-02-24 to Sunday 03-02
    assert (statement.period.start, statement.period.end) == (date(2025, 2, 24), date(2025, 3, 2))
    assert statement.days.filter(statement.days["status"] == "missing")["day"].to_list() == [
        date(2025, 2, 28), date(2025, 3, 1), date(2025, 3, 2)]
    change = {r["figure"]: r for r in statement.change.iter_rows(named=True)}
    (before,) = published(week.config, "SELECT sum(gpu_cost_usd) FROM daily_economics "
                                       "WHERE day BETWEEN '2025-02-17' AND '2025-02-23'")[0]
    assert change["gpu_cost_usd"]["previous"] == pytest.approx(before)


@pytest.mark.parametrize(("options", "message"), [
    ({"month": "2025-13"}, "--month '2025-13': expected YYYY-MM"),
    ({"week": "2025-9"}, "--week '2025-9': expected YYYY-Www"),
    ({"start": "2025-02-27"}, "--start and --end go together"),
    ({"start": "2025-02-27", "end": "2025-02-20"}, "--end 2025-02-20 is before --start 2025-02-27"),
    ({"month": "2025-02", "week": "2025-W09"}, "give one period"),
])
def test_a_period_given_wrongly_is_named(options, message):
    with pytest.raises(OpenbooksError, match=re.escape(message)):
        parse_period(**options)


def test_a_period_with_no_published_day_says_so(week):
    with pytest.raises(OpenbooksError, match="no day from 2024-01-01 to 2024-01-31 is published"):
        report_period(week.config_path, month="2024-01")


def test_the_site_opens_offline_in_a_real_browser(week, tmp_path):
    """index.html, a day's page and a month statement: no failed request, no
    request off the machine, no console error, the charts drawn as SVG; screenshots
    of the index and of the month statement are left in the test's temp dir."""
    config = week.config
    index = write_site(config)
    assert index == config.report_dir / "index.html"
    text = index.read_text()
    assert '<a href="periods/2025-02.html">2025-02</a>' in text and '<a href="2025-02-27.html">2025-02-27</a>' in text
    assert "2025-01" not in text  # the month before has no published day: no statement
    browser = Browser(tmp_path / "profile")
    try:
        loads = {
            "index": browser.open(index.as_uri(), tmp_path / "index.png"),
            "day": browser.open((config.report_dir / "2025-02-27.html").as_uri()),
            "month": browser.open((config.report_dir / "periods" / "2025-02.html").as_uri(), tmp_path / "month.png"),
        }
    finally:
        browser.close()
    for name, load in loads.items():
        assert (load.failed, load.remote, load.errors) == ([], [], []), name
    assert {name: load.svgs for name, load in loads.items()} == {"index": 2, "day": 4, "month": 5}
    assert (tmp_path / "index.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "month.png").stat().st_size > 10_000


def test_a_day_being_run_is_compared_with_the_published_days_before_it(week):
    import duckdb
    import polars as pl

    from openbooks.flows.checks.anomalies import anomalies_of_run
    from openbooks.flows.store.warehouse import frame

    con = duckdb.connect(str(week.config.warehouse_path), read_only=True)
    try:
        today = frame(con, "SELECT * FROM daily_economics WHERE day = '2025-02-27'")
    finally:
        con.close()
    assert anomalies_of_run(week.config, today).is_empty()  # the bundled week moves little
    found = anomalies_of_run(week.config, today.with_columns(gross_margin=pl.lit(0.5)))
    assert found["figure"].to_list() == ["gross_margin"] and found["window_days"].to_list() == [7]
