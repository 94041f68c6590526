"""The operator's commands on the bundled data: status, report, check,
tables and the forms of query. Real DuckDB, real GX, the real CLI."""

from __future__ import annotations

import json
import shutil
from datetime import date

import polars as pl
import pytest
from typer.testing import CliRunner

from openbooks.flows.daily import daily_books
from openbooks.flows.store.schema import ALL_TABLES
from openbooks.cli import app
from openbooks.errors import OpenbooksError
from tests.conftest import REPO

DAY = date(2025, 2, 27)
SAVED = ("margin_by_day", "cost_per_million_tokens_by_model", "cache_hit_rate_trend", "idle_capacity_by_day")


@pytest.fixture
def published(project):
    """A project with the reference day published (with every validation's
    Data Docs page) and the shipped saved queries."""
    project.write_config({"reports": {"data_docs": "always"}})
    daily_books(DAY, str(project.config_path))
    shutil.copytree(REPO / "configs" / "queries", project.config_path.parent / "queries")
    return project


def cli(*args: str, input: str | None = None):
    """Run a command; an error the CLI would print as one red line is raised."""
    result = CliRunner().invoke(app, list(args), input=input)
    if isinstance(result.exception, OpenbooksError):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def test_status_lists_the_last_runs(published):
    output = cli("status", "--config", str(published.config_path), "-n", "5")
    assert "2025-02-27" in output and "published" in output and published.config.hash in output
    assert "last 1 run(s)" in output


def test_status_shows_times_in_the_business_timezone_with_the_offset(published):
    from zoneinfo import ZoneInfo

    from openbooks.flows.admin.run_history import STATUS_COLUMNS, recent_runs
    from openbooks.flows.store.warehouse import session

    config = published.config
    with session(config, read_only=True) as con:
        (started,) = con.execute("SELECT started_at FROM run_log ORDER BY started_at DESC LIMIT 1").fetchone()
    local = started.astimezone(ZoneInfo(config.business_day.timezone))
    assert local.utcoffset().total_seconds() == 8 * 3600  # the sample's Asia/Shanghai
    [row] = recent_runs(config, 1)
    # The offset is said once, in the title (a row shows its own only across a DST change).
    assert dict(zip(STATUS_COLUMNS, row))["started"] == local.strftime("%Y-%m-%d %H:%M:%S")
    output = cli("status", "--config", str(published.config_path), "-n", "1")
    assert "times in Asia/Shanghai (+08:00)" in output and "UTC" not in output
    lines = output.splitlines()
    assert all(len(line.rstrip()) <= 80 for line in lines), output  # 80 columns, no time wrapped
    assert any(local.strftime("%Y-%m-%d %H:%M:%S") in line and "published" in line for line in lines), output


def test_report_rebuilds_the_day_from_the_warehouse(published):
    config = published.config
    md, html = config.report_dir / "2025-02-27.md", config.report_dir / "2025-02-27.html"
    original = md.read_text(), html.read_text()
    md.unlink()
    html.unlink()
    cli("report", "--date", "2025-02-27", "--config", str(published.config_path))
    rebuilt = md.read_text(), html.read_text()
    # Everything but the time it was generated is the same: figures, economics
    # in depth, charts, Data Docs links.
    strip = lambda text: [line for line in text.splitlines() if "generated" not in line]  # noqa: E731
    assert strip(rebuilt[0]) == strip(original[0])
    assert strip(rebuilt[1]) == strip(original[1])
    assert "GX Data Docs" in rebuilt[0] and "$87,072" in rebuilt[0] and rebuilt[1].count('<figure class="chart">') == 4


def test_report_of_a_day_not_published_says_so(published):
    with pytest.raises(OpenbooksError, match="2025-02-26 is not published"):
        cli("report", "--date", "2025-02-26", "--config", str(published.config_path))


def test_check_passes_on_the_shipped_config():
    output = cli("check", "--config", str(REPO / "configs" / "openbooks.yaml"))
    assert "no problems found" in output and "sources.node_log: 8 file(s)" in output


def test_check_catches_a_bad_key(project):
    text = project.config_path.read_text().replace("gpus_per_node:", "gpus_per_nod:")
    project.config_path.write_text(text)
    with pytest.raises(OpenbooksError) as info:
        cli("check", "--config", str(project.config_path))
    assert f"{project.config_path}: hardware.H800.gpus_per_nod: unknown key" in str(info.value)


def test_check_catches_a_missing_source_and_a_missing_column(project):
    inputs = project.copy_sample(days=["2025-02-27"])
    (inputs / "node_log" / "2025-02-27.csv").unlink()
    tokens = inputs / "token_counts" / "2025-02-27.csv"
    tokens.write_text(tokens.read_text().replace("output_tokens", "out_tokens", 1))
    with pytest.raises(OpenbooksError) as info:
        cli("check", "--config", str(project.config_path))
    message = str(info.value)
    assert message.startswith("2 problem(s):")
    assert f"sources.node_log.path: no file matches {inputs / 'node_log' / '*.csv'}" in message
    assert f"{tokens} line 1: missing column 'output_tokens'" in message


def test_check_catches_a_broken_expectation_suite(project, tmp_path):
    suites = tmp_path / "expectations"
    shutil.copytree(REPO / "expectations", suites)
    suite = json.loads((suites / "token_counts.json").read_text())
    suite["expectations"][0]["type"] = "expect_column_to_be_purple"
    (suites / "token_counts.json").write_text(json.dumps(suite))
    project.write_config({"validation": {"expectations_dir": str(suites)}})
    with pytest.raises(OpenbooksError) as info:
        cli("check", "--config", str(project.config_path))
    assert f"{suites / 'token_counts.json'}: expectations[1] (expect_column_to_be_purple): invalid expectation" in str(
        info.value
    )


def test_check_catches_a_broken_claims_file(project, tmp_path):
    claims = tmp_path / "claims.yaml"
    claims.write_text((REPO / "configs" / "claims.yaml").read_text().replace("tolerance:", "tolerence:", 1))
    project.write_config({"claims": {"path": str(claims)}})
    with pytest.raises(OpenbooksError) as info:
        cli("check", "--config", str(project.config_path))
    assert f"{claims}: claims.0.tolerence: unknown key" in str(info.value)


def test_tables_lists_every_table_and_column():
    output = cli("tables")
    for table in ALL_TABLES:
        assert table.name in output
    assert "cost_profit_margin" in output and "raw.node_log" in output


def test_query_from_an_argument_a_file_stdin_and_a_saved_query(published, tmp_path):
    config = str(published.config_path)
    sql = "SELECT day, gpu_cost_usd FROM daily_economics"
    expected = [{"day": "2025-02-27", "gpu_cost_usd": 87072.0}]
    assert json.loads(cli("query", sql, "-c", config, "--format", "json")) == expected
    (tmp_path / "q.sql").write_text(sql)
    assert json.loads(cli("query", "-f", str(tmp_path / "q.sql"), "-c", config, "-F", "json")) == expected
    assert json.loads(cli("query", "-c", config, "-F", "json", input=sql)) == expected
    assert cli("query", "-c", config, "-F", "csv", input=sql) == "day,gpu_cost_usd\n2025-02-27,87072.0\n"
    margins = json.loads(cli("query", "--saved", "margin_by_day", "-c", config, "-F", "json"))
    assert margins == [{"day": "2025-02-27", "gpu_cost_usd": 87072.0, "theoretical_revenue_usd": 562027.0,
                        "cost_profit_margin_pct": 545.0, "gross_margin_pct": 84.5}]


@pytest.mark.parametrize("name", SAVED)
def test_every_saved_query_runs(published, name):
    rows = json.loads(cli("query", "--saved", name, "-c", str(published.config_path), "-F", "json"))
    assert rows and {row["day"] for row in rows} == {"2025-02-27"}  # by_model: one row per model


def test_query_writes_csv_json_and_parquet_files(published, tmp_path):
    config = str(published.config_path)
    sql = "SELECT hour_start, gpu_cost_usd FROM hourly_economics ORDER BY hour_start"
    cli("query", sql, "-c", config, "-F", "parquet", "-o", str(tmp_path / "h.parquet"))
    frame = pl.read_parquet(tmp_path / "h.parquet")
    assert frame.height == 24 and frame["gpu_cost_usd"].sum() == 87_072
    cli("query", sql, "-c", config, "-F", "csv", "-o", str(tmp_path / "h.csv"))
    assert pl.read_csv(tmp_path / "h.csv")["gpu_cost_usd"].sum() == 87_072
    cli("query", sql, "-c", config, "-F", "json", "-o", str(tmp_path / "h.json"))
    assert len(json.loads((tmp_path / "h.json").read_text())) == 24


def test_query_problems_are_one_clear_line(published):
    config = str(published.config_path)
    with pytest.raises(OpenbooksError, match="--saved 'nope'.*saved queries: cache_hit_rate_trend"):
        cli("query", "--saved", "nope", "-c", config)
    with pytest.raises(OpenbooksError, match="--format parquet needs --output"):
        cli("query", "SELECT 1", "-c", config, "-F", "parquet")
    with pytest.raises(OpenbooksError, match="not SQL and --saved"):
        cli("query", "SELECT 1", "--saved", "margin_by_day", "-c", config)
