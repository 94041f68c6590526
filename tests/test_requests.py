"""Request-level logs end to end on small generated days: real Prefect, DuckDB and GX."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from openbooks.config.frames import price_change_hours
from openbooks.flows.stages import compute
from openbooks.flows.daily import daily_books
from openbooks.flows.sources.requests import aggregate_requests
from openbooks.flows.store.warehouse import scratch
from openbooks.config import load_config
from openbooks.errors import ConfigError, ValidationFailed
from openbooks.generate import write_day
from tests.conftest import base_config_data
from tests.test_daily_flow import published

DAY = date(2025, 2, 27)
DAY_START = "2025-02-27 04:00:00+00"  # 12:00 in Shanghai
PRICES = {"deepseek-r1": (0.14, 0.55, 2.19), "deepseek-v3": (0.07, 0.27, 1.10)}


def request_config(project, n: int, *, files: int = 2, fmt: str = "parquet", warehouse: dict | None = None,
                   row_group_size: int | None = None):
    """A project whose tokens come from ``n`` generated requests (no token_counts source)."""
    inputs = project.root / "input"
    write_day(DAY, n, inputs, files=files, fmt=fmt, row_group_size=row_group_size)
    data = base_config_data()
    data["sources"] = {
        "node_log": {"path": str(inputs / "node_log" / "{date}.csv")},
        "requests": {"path": str(inputs / "requests" / "{date}" / f"*.{fmt}")},
    }
    if warehouse:
        data["warehouse"] = warehouse
    project.write_config(replace=data)
    return inputs / "requests" / DAY.isoformat()


def from_files(folder, sql: str):
    """``sql`` over the generated Parquet files as table ``r``, computed independently of openbooks."""
    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW r AS SELECT * FROM read_parquet('{folder}/*.parquet')")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_request_logs_aggregate_exactly_to_the_hourly_totals(project):
    folder = request_config(project, 5_000)
    row = daily_books(DAY, str(project.config_path))
    expected = from_files(
        folder,
        "SELECT date_trunc('hour', ts) AS h, sum(cached_tokens), sum(input_tokens - cached_tokens), "
        "sum(output_tokens), count(*) FROM r GROUP BY h ORDER BY h",
    )
    hourly = published(
        project.config,
        "SELECT hour_start, cache_hit_tokens, cache_miss_tokens, output_tokens, requests "
        "FROM hourly_economics ORDER BY hour_start",
    )
    assert len(hourly) == 24
    assert [tuple(r[1:]) for r in hourly] == [tuple(r[1:]) for r in expected]
    assert [r[0] for r in hourly] == [r[0] for r in expected]
    assert row["requests"] == 5_000
    assert row["gpu_cost_usd"] == 87_072  # the sample fleet's node log
    files = published(project.config, "SELECT count(*), sum(rows) FROM raw.files WHERE source = 'requests'")
    assert files == [(2, 5_000)]


def test_customer_costs_add_up_to_the_day_and_revenue_to_billed_revenue(project):
    folder = request_config(project, 3_000)
    row = daily_books(DAY, str(project.config_path))
    (cost, revenue, requests, customers), = published(
        project.config,
        "SELECT sum(allocated_cost_usd), sum(billed_revenue_usd), sum(requests), count(*) FROM customer_economics",
    )
    assert cost == pytest.approx(row["gpu_cost_usd"], rel=1e-12)
    price = " ".join(
        f"WHEN '{m}' THEN (cached_tokens * {hit} + (input_tokens - cached_tokens) * {miss} + output_tokens * {out})"
        for m, (hit, miss, out) in PRICES.items()
    )
    (at_list,), = from_files(folder, f"SELECT sum(CASE model {price} END) / 1e6 FROM r WHERE channel = 'api'")
    # The off-peak discount (16:30-00:30 UTC, from 2025-02-26) applies to this day: customers
    # pay the billed price of each price period, and add up to the day's billed revenue.
    assert revenue == pytest.approx(row["billed_revenue_usd"], rel=1e-12)
    assert revenue < at_list
    (distinct,), = from_files(folder, "SELECT count(DISTINCT customer_id) FROM r")
    assert (requests, customers) == (3_000, distinct)
    # Prefill and decode shares: 2,292 and 3,150 node-hours of the day's $87,072.
    (prefill, decode), = published(project.config, "SELECT sum(prefill_cost_usd), sum(decode_cost_usd) FROM customer_economics")
    assert prefill == pytest.approx(87_072 * 2_292 / 5_442) and decode == pytest.approx(87_072 * 3_150 / 5_442)
    md = (project.config.report_dir / "2025-02-27.md").read_text()
    assert "## Top 10 customers by billed revenue" in md and "## Top 10 customers by loss" in md


def test_a_day_bigger_than_the_memory_limit_completes(project):
    # A million requests (~75 MB as DuckDB vectors) through a DuckDB limited to 32 MB.
    folder = request_config(project, 1_000_000, files=1,
                            warehouse={"memory_limit": "32MB", "temp_directory": "../spill"})
    config = project.config
    with scratch(config) as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "30.5 MiB"
    (uncompressed,), = from_files(
        folder, f"SELECT sum(total_uncompressed_size) FROM parquet_metadata('{folder}/*.parquet')"
    )
    assert uncompressed > 32_000_000
    row = daily_books(DAY, str(project.config_path))
    (requests, output), = from_files(folder, "SELECT count(*), sum(output_tokens) FROM r")
    assert (row["requests"], row["output_tokens"]) == (requests, output)
    (customers,), = published(config, "SELECT count(*) FROM customer_economics")
    assert customers == from_files(folder, "SELECT count(DISTINCT customer_id) FROM r")[0][0]


def test_rows_in_time_order_are_scanned_by_price_period_to_the_same_sums(project):
    # 60,000 requests in row groups of 2,048 rows, in time order: each price period
    # (the off-peak window cuts the day at hours 12, 13, 20 and 21) is scanned on its own.
    folder = request_config(project, 60_000, files=1, row_group_size=2_048)
    config = project.config
    window = compute.day_window(config, DAY)
    options = dict(day_start=window.start, day_end=window.end, hours=window.hours, priced_models=sorted(PRICES),
                   price_change_hours=price_change_hours(config, window.day, window.start, window.end), scoped_to_day=True)
    ordered_path = folder / "part-0000.parquet"
    shuffled_path = project.root / "shuffled.parquet"

    def rewrite(source, target, order: str, change: str = "") -> None:
        con = duckdb.connect()
        try:
            con.execute(f"COPY (SELECT * {change} FROM read_parquet('{source}') ORDER BY {order}) "
                        f"TO '{target}' (FORMAT parquet, ROW_GROUP_SIZE 2048)")
        finally:
            con.close()

    def both() -> tuple:
        rewrite(ordered_path, shuffled_path, "hash(request_id)")
        return (aggregate_requests(config, [ordered_path], **options),
                aggregate_requests(config, [shuffled_path], **options))

    ordered, shuffled = both()
    assert ordered.by_period and not shuffled.by_period
    key = ["customer_id", "model", "channel", "hour_start"]
    assert ordered.customers.sort(key).equals(shuffled.customers.sort(key))
    assert ordered.hourly.equals(shuffled.hourly)
    assert ordered.summary.equals(shuffled.summary) and ordered.rows == 60_000
    assert ordered.customers["hour_start"].n_unique() == 5
    # Bad rows are counted alike: a negative output, a time before the day, a time unreadable.
    broken = project.root / "broken.parquet"
    rewrite(ordered_path, broken, "ts NULLS LAST", "REPLACE (CASE WHEN request_id = (SELECT min(request_id) FROM "
            f"read_parquet('{ordered_path}')) THEN -5 ELSE output_tokens END AS output_tokens, CASE row_number() OVER () "
            "WHEN 7 THEN ts - INTERVAL 2 HOUR WHEN 9 THEN NULL ELSE ts END AS ts)")
    broken.replace(ordered_path)
    ordered, shuffled = both()
    assert ordered.by_period and not shuffled.by_period
    assert ordered.summary.equals(shuffled.summary)
    counts = ordered.summary.row(0, named=True)
    assert (counts["bad_output_tokens"], counts["outside_day"], counts["unreadable_ts"]) == (1, 1, 1)
    assert counts["rows"] == 60_000


def test_csv_request_logs_give_the_same_books_as_parquet(project, tmp_path):
    request_config(project, 2_000, fmt="csv")
    row = daily_books(DAY, str(project.config_path))
    csv_hourly = published(project.config, "SELECT * EXCLUDE (run_id) FROM hourly_economics ORDER BY hour_start")
    request_config(project, 2_000, fmt="parquet")
    (project.config.warehouse_path).unlink()
    daily_books(DAY, str(project.config_path))
    assert published(project.config, "SELECT * EXCLUDE (run_id) FROM hourly_economics ORDER BY hour_start") == csv_hourly
    assert row["requests"] == 2_000


def test_bad_request_rows_fail_naming_file_row_and_column(project):
    folder = request_config(project, 1_000, files=1)
    path = folder / "part-0000.parquet"
    frame = pl.read_parquet(path)
    frame = frame.with_columns(
        output_tokens=pl.when(pl.int_range(pl.len()) == 2).then(-5).otherwise(pl.col("output_tokens")),
        channel=pl.when(pl.int_range(pl.len()).is_in([6, 7])).then(pl.lit("fax")).otherwise(pl.col("channel")),
    )
    frame.write_parquet(path)
    before = path.read_bytes()
    with pytest.raises(ValidationFailed) as info:
        daily_books(DAY, str(project.config_path))
    message = str(info.value)
    assert f"{path} row 3 column output_tokens: expected a whole number of output tokens >= 0, got '-5'" in message
    assert f"{path} row 7 column channel: expected a channel among web, app, api, got 'fax'" in message
    assert f"{path} row 8 column channel" in message
    config = project.config
    assert published(config, "SELECT count(*) FROM daily_economics") == [(0,)]
    assert published(config, "SELECT line, column_name, value FROM quarantine ORDER BY line") == [
        (3, "output_tokens", "-5"), (7, "channel", "fax"), (8, "channel", "fax"),
    ]
    assert path.read_bytes() == before


def test_node_log_and_request_problems_are_reported_together(project):
    # The request scan runs beside the node log's checks; a run with both broken
    # fails once, naming both, and publishes nothing.
    folder = request_config(project, 1_000, files=1)
    path = folder / "part-0000.parquet"
    pl.read_parquet(path).with_columns(
        channel=pl.when(pl.int_range(pl.len()) == 4).then(pl.lit("fax")).otherwise(pl.col("channel"))
    ).write_parquet(path)
    node_log = project.root / "input" / "node_log" / "2025-02-27.csv"
    lines = node_log.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",-4"
    node_log.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValidationFailed) as info:
        daily_books(DAY, str(project.config_path))
    message = str(info.value).splitlines()
    assert message[0] == f"{node_log} line 6 column nodes: expected a node count >= 0, got -4"
    assert f"{path} row 5 column channel: expected a channel among web, app, api, got 'fax'" in message
    config = project.config
    assert published(config, "SELECT count(*) FROM daily_economics") == [(0,)]
    assert published(config, "SELECT status FROM run_log") == [("failed",)]
    assert published(config, "SELECT source, line FROM quarantine ORDER BY source") == [("node_log", 6), ("requests", 5)]


def test_config_needs_token_counts_or_requests(project):
    data = base_config_data()
    del data["sources"]["token_counts"]
    with pytest.raises(ConfigError, match="sources: expected token_counts or requests"):
        project.write_config(replace=data)
    data["sources"]["requests"] = {"path": "r/*.parquet", "columns": {"ts": "time", "tokens_in": "x"}}
    with pytest.raises(ConfigError, match=r"requests.columns maps unknown column\(s\) \['tokens_in'\]"):
        project.write_config(replace=data)
    data["sources"]["requests"]["columns"] = {"ts": "time"}
    project.write_config(replace=data)
    assert load_config(project.config_path).sources.requests.columns == {"ts": "time"}
