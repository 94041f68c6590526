"""The month ahead: the forecast worked out by hand, backtested on the
sample's year of days, and budgets broken by a real run (the anomalies
table, the report, the webhook on loopback, the commands)."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from http.server import HTTPServer

import polars as pl
import pytest

from openbooks import sample
from openbooks.flows.stages import compute
from openbooks.transforms.forecast import BUDGET_FORECAST, BUDGET_SO_FAR, budget_breaks, forecast, month_of
from tests.books import published
from tests.cli_helpers import openbooks
from tests.conftest import Project
from tests.webhook import Webhook

UTC_US = pl.Datetime("us", "UTC")
# The weekday shape of the sample: weekends lighter (Mon..Sun).
SHAPE = [1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.8]


def synthetic(first: date, days: int) -> pl.DataFrame:
    dates = [first + timedelta(days=i) for i in range(days)]
    scale = [SHAPE[d.weekday()] for d in dates]
    return pl.DataFrame({"day": dates, "gpu_cost_usd": [100.0 * s for s in scale],
                         "theoretical_revenue_usd": [500.0 * s for s in scale],
                         "billed_revenue_usd": [150.0 * s for s in scale]})


def test_a_run_rate_with_its_weekday_shape_projects_a_regular_month_exactly():
    days = synthetic(date(2025, 1, 1), 59 + 14)  # through 2025-03-14
    rows = {r["figure"]: r for r in forecast(days, date(2025, 3, 1), date(2025, 3, 31), date(2025, 3, 14)).iter_rows(
        named=True)}
    march = synthetic(date(2025, 3, 1), 31)
    cost = rows["gpu_cost_usd"]
    assert cost["projected"] == pytest.approx(march["gpu_cost_usd"].sum())
    assert (cost["days_published"], cost["days_projected"], cost["basis_days"]) == (14, 17, 14)
    assert (cost["basis_first_day"], cost["basis_last_day"]) == (date(2025, 3, 1), date(2025, 3, 14))
    assert cost["low"] == pytest.approx(cost["projected"]) == pytest.approx(cost["high"])  # no spread: no width
    assert rows["gross_margin"]["projected"] == pytest.approx(0.8)


def test_one_day_projects_without_an_interval():
    rows = forecast(synthetic(date(2025, 3, 3), 1), date(2025, 3, 1), date(2025, 3, 31), date(2025, 3, 3))
    cost = rows.row(0, named=True)
    assert cost["projected"] == pytest.approx(100.0 * 31) and cost["low"] is None and cost["basis_days"] == 1


def test_budgets_broken_so_far_or_by_the_forecast():
    days = synthetic(date(2025, 1, 1), 59 + 10)
    budgets = [
        {"name": "small", "model": "all", "gpu_cost_usd_per_month": 900.0, "gross_margin_floor": None,
         "margin": "gross_margin"},  # 10 days have cost 920: broken already
        {"name": "month", "model": "all", "gpu_cost_usd_per_month": 2_890.0, "gross_margin_floor": None,
         "margin": "gross_margin"},  # the month will cost 2,900 (21 weekdays at 100, 10 weekend days at 80)
        {"name": "floor", "model": "all", "gpu_cost_usd_per_month": None, "gross_margin_floor": 0.75,
         "margin": "billed_gross_margin"},  # billed margin 1/3
        {"name": "fine", "model": "all", "gpu_cost_usd_per_month": 10_000.0, "gross_margin_floor": 0.5,
         "margin": "gross_margin"},
        {"name": "other model", "model": "x", "gpu_cost_usd_per_month": 1.0, "gross_margin_floor": None,
         "margin": "gross_margin"},  # no rows of model x: nothing to say
    ]
    found = {r["budget"]: r for r in budget_breaks({"all": days}, budgets, date(2025, 3, 10)).iter_rows(named=True)}
    assert set(found) == {"small", "month", "floor"}
    assert (found["small"]["kind"], found["small"]["value"], found["small"]["threshold"]) == (BUDGET_SO_FAR, 920.0,
                                                                                              900.0)
    assert found["month"]["kind"] == BUDGET_FORECAST and found["month"]["value"] == pytest.approx(2_900.0)
    assert found["floor"]["figure"] == "billed_gross_margin" and found["floor"]["value"] == pytest.approx(1 / 3)


def sample_daily(config, first: date, last: date) -> pl.DataFrame:
    """``daily_economics`` of the sample's days, computed by the books' pure pass."""
    rows = []
    day = first
    while day <= last:
        w = compute.day_window(config, day)
        log = sample.node_log(day).with_columns(
            pl.col("interval_start", "interval_end").str.to_datetime(time_zone="UTC").cast(UTC_US),
            pl.col("nodes").cast(pl.Float64))
        tokens = sample.token_counts(day).with_columns(
            pl.col("hour_start").str.to_datetime(time_zone="UTC").cast(UTC_US))
        books = compute.books_of_day(config, w, compute.flag_node_log(w, log), compute.token_counts(w, tokens, None))
        rows.append(books.daily.select("day", "gpu_cost_usd", "theoretical_revenue_usd", "billed_revenue_usd"))
        day += timedelta(days=1)
    return pl.concat(rows)


def test_the_backtest_on_the_sample_year(tmp_path):
    """The twelve months after the reference day (2025-03 to 2026-02, the
    sample's year: traffic by weekday, hourly jitter), projected at days 7,
    14 and 21 of each month from the days before, against what they came to.
    Measured: GPU cost exact (the sample's fleet repeats by weekday); revenue
    off by 0.010% on average at day 7 (0.11% at most), 0.007% at day 14
    (0.08%), 0.002% at day 21 (0.01%); gross margin within 0.02 points."""
    project = Project(tmp_path)
    config = project.write_config({"whatif": {"scenarios": {}}, "budgets": []})
    daily = sample_daily(config, date(2025, 1, 4), date(2026, 2, 28))
    errors = {7: [], 14: [], 21: []}
    for month in range(12):
        first, last = month_of(date(2025 + (2 + month) // 12, (2 + month) % 12 + 1, 1))
        actual = daily.filter(pl.col("day").is_between(first, last)).select(pl.all().exclude("day").sum()).row(
            0, named=True)
        for at in errors:
            rows = {r["figure"]: r for r in forecast(daily, first, last, first.replace(day=at)).iter_rows(named=True)}
            margin = 1 - actual["gpu_cost_usd"] / actual["theoretical_revenue_usd"]
            errors[at].append((
                rows["gpu_cost_usd"]["projected"] / actual["gpu_cost_usd"] - 1,
                rows["theoretical_revenue_usd"]["projected"] / actual["theoretical_revenue_usd"] - 1,
                rows["billed_revenue_usd"]["projected"] / actual["billed_revenue_usd"] - 1,
                rows["gross_margin"]["projected"] - margin,
            ))
    for at, found in errors.items():
        worst = [max(abs(e[i]) for e in found) for i in range(4)]
        assert worst[0] < 1e-9, (at, worst)  # cost
        assert worst[1] < 0.002 and worst[2] < 0.002, (at, worst)  # revenue within 0.2%
        assert worst[3] < 0.0005, (at, worst)  # margin within 0.05 points


def test_a_broken_budget_is_recorded_reported_posted_and_the_commands_answer(project, monkeypatch, capsys):
    server = HTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    days = ["2025-02-26", "2025-02-27"]
    try:
        inputs = project.copy_sample(days=days)
        project.write_config({
            "sources": {s: {"path": str(inputs / s / "{date}.csv")} for s in ("node_log", "token_counts")},
            "notifications": {"webhook_url": f"http://127.0.0.1:{server.server_port}/hook"},
            "budgets": [{"name": "tight", "gpu_cost_usd_per_month": 150_000},
                        {"name": "r1 floor", "model": "deepseek-r1", "gross_margin_floor": 0.9}],
        })
        Webhook.received.clear()
        from openbooks.flows.daily import daily_books

        daily_books(date.fromisoformat(days[0]), str(project.config_path))
        outcome = openbooks(monkeypatch, capsys, "run", "--date", days[1], "--config", str(project.config_path))
    finally:
        server.shutdown()
        server.server_close()
    assert outcome.code == 0, outcome
    rows = published(project.config, "SELECT day, budget, figure, kind, threshold FROM anomalies "
                                     "WHERE budget IS NOT NULL ORDER BY day, budget")
    # 2025-02-26: one day at $87,072 (the sample's fleet), projected over February: the ceiling breaks by forecast;
    # 2025-02-27: two days, $174,144 so far.
    assert (date(2025, 2, 26), "tight", "gpu_cost_usd", BUDGET_FORECAST, 150_000.0) in rows
    assert (date(2025, 2, 27), "tight", "gpu_cost_usd", BUDGET_SO_FAR, 150_000.0) in rows
    assert (date(2025, 2, 27), "r1 floor", "gross_margin of deepseek-r1", BUDGET_SO_FAR, 0.9) in rows
    assert any(line.startswith("2025-02-27 budget 'tight' broken by the month so far") for line in outcome.out.splitlines())
    report = (project.config.report_dir / "2025-02-27.md").read_text()
    assert report.index("## Anomalies") < report.index("budget 'tight'") < report.index("## What if")
    assert "tight" in [a.get("budget") for payload in Webhook.received for a in payload["anomalies"]]

    config = str(project.config_path)
    outcome = openbooks(monkeypatch, capsys, "forecast", "--month", "2025-02", "-F", "csv", "--config", config)
    assert outcome.code == 0, outcome
    lines = outcome.out.splitlines()
    assert lines[0].startswith("figure,so_far,projected,low,high,days_published,days_projected")
    assert lines[1].startswith("gpu_cost_usd,174144.0,2438016.0,")  # 28 days at $87,072 (the cost repeats)
    outcome = openbooks(monkeypatch, capsys, "whatif", "--month", "2025-02", "--gpu", "h100-sglang-ep", "-F", "json",
                        "--config", config)
    assert outcome.code == 0, outcome
    assert '"scenario": "ad hoc"' in outcome.out and '"days": 2' in outcome.out
    outcome = openbooks(monkeypatch, capsys, "whatif", "-d", "2025-02-27", "--horizon", "4q", "--config", config)
    assert outcome.code == 0 and "by quarter" in outcome.out
    outcome = openbooks(monkeypatch, capsys, "whatif", "-d", "2025-02-27", "--gpu", "gb200-sglang-nvfp4",
                        "--config", config)
    assert outcome.code == 1 and "has no published rental price" in outcome.err
