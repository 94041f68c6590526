"""How ``openbooks query`` shows results: money and ratios rounded in the
table (raw in csv/json), a row count, DuckDB's whole message, timestamps in
the business timezone, and tables that fit 80 columns without cutting keys."""

from __future__ import annotations

import json

import pytest

from tests.cli_helpers import openbooks, published_project


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    return published_project(tmp_path_factory.mktemp("display"))


@pytest.fixture
def query(books, monkeypatch, capsys):
    def run(*args: str):
        return openbooks(monkeypatch, capsys, "query", *args, "--config", str(books.config_path))
    return run


def test_money_and_ratios_are_rounded_in_the_table_and_raw_in_csv_and_json(query):
    sql = "SELECT 1234.56789::DOUBLE AS revenue_usd, 0.123456789 AS cache_hit_rate, 545.4321 AS margin_pct"
    table = query(sql)
    assert table.code == 0, table
    assert "1,234.57" in table.out and "0.1235" in table.out and "545.4" in table.out
    assert "1234.56789" not in table.out
    assert query(sql, "-F", "csv").out == "revenue_usd,cache_hit_rate,margin_pct\n1234.56789,0.123456789,545.4321\n"
    assert json.loads(query(sql, "-F", "json").out) == [
        {"revenue_usd": 1234.56789, "cache_hit_rate": 0.123456789, "margin_pct": 545.4321}
    ]


def test_a_table_ends_with_its_row_count(query):
    assert query("SELECT * FROM hourly_economics").out.rstrip().endswith("\n24 rows")
    assert query("SELECT day FROM daily_economics").out.rstrip().endswith("\n1 row")
    assert query("SELECT day FROM daily_economics WHERE false").out.rstrip().endswith("0 rows")
    assert "rows" not in query("SELECT day FROM daily_economics", "-F", "csv").out


def test_a_bad_query_shows_duckdbs_whole_message_with_its_caret_and_hints(query):
    column = query("SELECT gpu_cost FROM daily_economics")
    assert column.code == 1 and "Traceback" not in column.err
    lines = column.err_lines
    assert lines[0].startswith("error: query failed: Binder Error: Referenced column \"gpu_cost\" not found")
    assert any(line.startswith('error: Candidate bindings: "gpu_cost_usd"') for line in lines)
    at = lines.index("error: LINE 1: SELECT gpu_cost FROM daily_economics")
    assert lines[at + 1] == "error:                " + "^" * len("gpu_cost")  # under the column
    table = query("SELECT * FROM daily_economic")
    assert 'error: Did you mean "daily_economics"?' in table.err_lines


def test_timestamps_show_in_the_business_timezone_with_the_offset(query):
    out = query("SELECT hour_start FROM hourly_economics ORDER BY hour_start LIMIT 2").out
    assert "2025-02-27 12:00:00+08:00" in out and "2025-02-27 13:00:00+08:00" in out
    assert "04:00:00" not in out  # not UTC
    assert query("SELECT min(hour_start) AS h FROM hourly_economics", "-F", "csv").out == (
        "h\n2025-02-27 04:00:00+00:00\n"
    )


def test_a_wide_table_fits_80_columns_and_keeps_its_key_columns_whole(query):
    out = query("SELECT * FROM hourly_economics ORDER BY hour_start LIMIT 3").out
    assert all(len(line) <= 80 for line in out.splitlines()), max(map(len, out.splitlines()))
    assert "…" not in out
    assert "2025-02-27 12:00:00+08:00" in out and "2025-02-27" in out
