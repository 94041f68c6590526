"""The daily flow end to end: real Prefect, a real DuckDB file, real GX."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from openbooks.flows.daily import daily_books
from openbooks.errors import ValidationFailed

DAY = date(2025, 2, 27)
# The reference file's hourly cost bars, by local hour (every other hour is $4,448 at 278 nodes).
COST_BARS = {0: 3488, 1: 3128, 2: 2408, 3: 1328, 4: 1088, 5: 1088, 6: 1328, 7: 2528, 8: 3968}


def published(config, sql: str):
    con = duckdb.connect(str(config.warehouse_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_reference_day_reproduces_the_published_figures(project):
    config = project.config
    row = daily_books(DAY, str(project.config_path))
    assert row["gpu_cost_usd"] == 87_072
    assert row["theoretical_revenue_usd"] == pytest.approx(562_027, abs=1)
    assert round(row["cost_profit_margin"], 2) == 5.45
    assert round(row["gross_margin"], 3) == 0.845
    assert row["cache_hit_rate"] == 0.5625
    assert row["peak_nodes"] == 278 and row["avg_nodes"] == 226.75 and row["node_hours"] == 5_442
    assert row["prefill_node_hours"] == 2_292 and row["decode_node_hours"] == 3_150

    daily = published(config, "SELECT gpu_cost_usd, round(theoretical_revenue_usd), peak_nodes FROM daily_economics")
    assert daily == [(87_072.0, 562_027.0, 278.0)]
    hourly = published(
        config,
        "SELECT extract(hour FROM hour_start + INTERVAL 8 HOUR), gpu_cost_usd, theoretical_revenue_usd "
        "FROM hourly_economics ORDER BY hour_start",
    )
    assert len(hourly) == 24
    for local_hour, cost, _ in hourly:
        assert cost == COST_BARS.get(local_hour, 4_448), local_hour
    assert sum(r[2] for r in hourly) == pytest.approx(row["theoretical_revenue_usd"], abs=1e-6)
    (status, success), = published(config, "SELECT status, validation_success FROM run_log")
    assert (status, success) == ("published", True)
    md = (config.report_dir / "2025-02-27.md").read_text()
    html = (config.report_dir / "2025-02-27.html").read_text()
    assert "$87,072" in md and "$562,027" in md and "545%" in md
    assert html.count('<figure class="chart">') == 4 and "http://" not in html and "https://" not in html


def test_a_negative_token_count_fails_validation_and_publishes_nothing(project):
    inputs = project.copy_sample(days=["2025-02-27"])
    path = inputs / "token_counts" / "2025-02-27.csv"
    lines = path.read_text().splitlines()
    fields = lines[5].split(",")
    fields[5] = "-3"  # output_tokens on line 6
    lines[5] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    before = path.read_bytes()

    with pytest.raises(ValidationFailed) as info:
        daily_books(DAY, str(project.config_path))
    message = str(info.value)
    assert f"{path} line 6 column output_tokens: expected a count >= 0, got -3" in message
    config = project.config
    assert published(config, "SELECT count(*) FROM daily_economics") == [(0,)]
    assert published(config, "SELECT status, validation_success FROM run_log") == [("failed", False)]
    assert published(config, "SELECT line, column_name, value FROM quarantine") == [(6, "output_tokens", "-3")]
    assert not (config.report_dir / "2025-02-27.md").exists()
    assert path.read_bytes() == before


def test_running_a_day_twice_gives_identical_tables(project):
    daily_books(DAY, str(project.config_path))
    query = "SELECT * EXCLUDE (run_id) FROM {} ORDER BY ALL"
    first = {t: published(project.config, query.format(t)) for t in ("daily_economics", "hourly_economics", "node_steps")}
    daily_books(DAY, str(project.config_path))
    second = {t: published(project.config, query.format(t)) for t in first}
    assert first == second
    # The second run finds the same figures: it keeps the published rows (and their run_id) and says so.
    assert published(project.config, "SELECT status FROM run_log ORDER BY started_at") == [("published",), ("unchanged",)]


def test_other_prices_rental_and_timezone(project):
    # R1 output at $1.00, rental $3/GPU-hour, and the day starting at 12:00 UTC:
    # 2025-02-26 12:00 UTC → 02-27 12:00 UTC is 20:00 → 20:00 in Shanghai, so the
    # day takes its rows from two sample files (a plain glob, not {date}).
    project.copy_sample()
    config = project.write_config(
        {
            "sources": {s: {"path": str(project.root / "input" / s / "*.csv")} for s in ("node_log", "token_counts")},
            "business_day": {"timezone": "UTC", "start": "12:00"},
            "hardware": {"H800": {"rental_usd_per_gpu_hour": 3.0}},
            "price_book": {"cards": {"deepseek": {"models": {"deepseek-r1": [
                {"effective_from": "2025-01-01", "input_cache_hit": 0.14, "input_cache_miss": 0.55, "output": 1.0}
            ]}}}},
        }
    )
    row = daily_books(date(2025, 2, 26), str(project.config_path))
    hourly = published(
        config,
        "SELECT sum(node_hours), sum(gpu_cost_usd), sum(theoretical_revenue_usd), sum(output_tokens), "
        "sum(cache_hit_tokens), sum(cache_miss_tokens) FROM hourly_economics",
    )[0]
    node_hours, cost, revenue, out, hit, miss = hourly
    assert cost == pytest.approx(node_hours * 8 * 3.0)
    assert revenue == pytest.approx((hit * 0.14 + miss * 0.55 + out * 1.0) / 1e6)
    assert row["day_start"].hour == 12 and row["hours"] == 24
    # Shanghai 20:00 on the 26th to 04:00 on the 27th sits in the 26th's file; the reference
    # day's 12:00-20:00 (8 h at 278 nodes) in the 27th's.
    (from_reference_day,) = published(
        config,
        "SELECT sum(node_hours) FROM hourly_economics WHERE hour_start >= '2025-02-27 04:00:00+00'",
    )[0]
    assert from_reference_day == 8 * 278
