"""Write-audit-publish: a failure at any point leaves the published rows and
the report exactly as they were."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import polars as pl
import pytest

from openbooks.flows.stages import compute
from openbooks.flows.store import publish
from openbooks.flows.daily import daily_books
from openbooks.errors import ValidationFailed
from tests.books import edit_line, files_bytes, published, tables

DAY = date(2025, 2, 27)
DAY_REPORT = re.compile(r"\d{4}-\d\d-\d\d\.(md|html)")  # the day's own report files, not the site's


def test_a_failure_between_delete_and_insert_rolls_the_day_back(project):
    daily_books(DAY, str(project.config_path))
    config = project.config
    before = tables(config)

    con = duckdb.connect(str(config.warehouse_path))
    try:
        # A run whose staged daily and hourly rows are fine but one node step has no
        # node count: the day's rows of the first two tables are deleted and
        # re-inserted, those of node_steps deleted, then its insert fails.
        con.execute("ALTER TABLE staging.node_steps ALTER COLUMN nodes DROP NOT NULL")
        for table in ("daily_economics", "hourly_economics", "node_steps"):
            con.execute(
                f"INSERT INTO staging.{table} SELECT * REPLACE ('bad-run' AS run_id) FROM main.{table} WHERE day = ?",
                [DAY],
            )
        con.execute("UPDATE staging.daily_economics SET gpu_cost_usd = gpu_cost_usd + 1 WHERE run_id = 'bad-run'")
        con.execute("UPDATE staging.node_steps SET nodes = NULL WHERE run_id = 'bad-run' AND rows > 0")
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL"):
            publish.publish_day(con, DAY, "bad-run")
        assert con.execute("SELECT count(*) FROM staging.daily_economics WHERE run_id = 'bad-run'").fetchone() == (1,)
    finally:
        con.close()
    assert tables(config) == before


def test_a_failed_expectation_leaves_published_rows_and_report_byte_identical(project):
    inputs = project.copy_sample(days=["2025-02-27"])
    daily_books(DAY, str(project.config_path))
    config = project.config
    rows, report = tables(config), files_bytes(config.report_dir)
    assert {name for name in report if DAY_REPORT.fullmatch(name)} == {"2025-02-27.md", "2025-02-27.html"}

    path = inputs / "token_counts" / "2025-02-27.csv"
    edit_line(path, 6, lambda f: f[:5] + ["-3"] + f[6:])
    with pytest.raises(ValidationFailed, match="line 6 column output_tokens: expected a count >= 0, got -3"):
        daily_books(DAY, str(project.config_path))

    assert tables(config) == rows
    assert files_bytes(config.report_dir) == report
    assert published(config, "SELECT status FROM run_log ORDER BY started_at") == [("published",), ("failed",)]
    # The failed run's staged rows are not there (it failed before staging); nothing half-written is left.
    assert published(config, "SELECT count(*) FROM staging.daily_economics") == [(0,)]


def test_a_computed_column_the_schema_does_not_declare_fails_the_run_and_publishes_nothing(project, monkeypatch):
    daily_books(DAY, str(project.config_path))
    config = project.config
    before = tables(config)
    books_of_day = compute.books_of_day

    def with_a_new_figure(*args):
        books = books_of_day(*args)
        books.daily = books.daily.with_columns(new_figure_usd=pl.col("gpu_cost_usd") * 2)
        return books

    monkeypatch.setattr(compute, "compute_books", with_a_new_figure)
    message = r"computed columns not declared in flows/store/schema.py .*: daily_economics: \['new_figure_usd'\]"
    with pytest.raises(publish.UndeclaredColumns, match=message):
        daily_books(DAY, str(project.config_path))
    assert tables(config) == before
    assert published(config, "SELECT status FROM run_log ORDER BY started_at") == [("published",), ("failed",)]

