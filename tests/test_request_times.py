"""kind: requests - ``ts`` written without a UTC offset (``options.timezone``)
or as epoch seconds or milliseconds (``options.epoch``), as docs/sources/requests.md
describes: the same day's requests rewritten each way give the same hourly
totals as the original (timestamps with an offset), in the real DuckDB scan
and through ``openbooks run`` with config only."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb
import pytest

from openbooks.config.frames import price_change_hours
from openbooks.flows.stages import compute
from openbooks.flows.sources.request_times import RequestOptions, local_sql
from openbooks.flows.sources.requests import aggregate_requests
from openbooks.generate import write_day
from tests.books import published
from tests.conftest import base_config_data
from tests.servers import openbooks_command

DAY = date(2025, 2, 27)
PRICED = ["deepseek-r1", "deepseek-v3"]


def rewrite(source, target, ts_sql: str, fmt: str) -> None:
    """The generated requests again, ``ts`` replaced by ``ts_sql`` (over the original ``ts``)."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"COPY (SELECT * REPLACE ({ts_sql} AS ts) FROM read_parquet('{source}') ORDER BY request_id) "
                    f"TO '{target}' (FORMAT {fmt})")
    finally:
        con.close()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("requests")
    write_day(DAY, 3_000, root, files=1, fmt="parquet")
    return root / "requests" / DAY.isoformat() / "part-0000.parquet"


def write_project(project, requests_path: str, options: dict | None = None):
    data = base_config_data()
    data["sources"].pop("token_counts")
    data["sources"]["requests"] = {"path": requests_path, **({"options": options} if options else {})}
    return project.write_config(replace=data)


def scan(config, path):
    window = compute.day_window(config, DAY)
    return aggregate_requests(config, [path], day_start=window.start, day_end=window.end, hours=window.hours,
                              priced_models=PRICED, price_change_hours=price_change_hours(config, window.day, window.start, window.end),
                              scoped_to_day=True)


SHANGHAI_TEXT = "strftime(ts AT TIME ZONE 'Asia/Shanghai', '%Y-%m-%d %H:%M:%S.%f')"
SHAPES = {  # name: (ts as written, file format, options)
    "naive text in Asia/Shanghai": (SHANGHAI_TEXT, "csv", {"timezone": "Asia/Shanghai"}),
    "naive Parquet TIMESTAMP in Asia/Shanghai": ("ts AT TIME ZONE 'Asia/Shanghai'", "parquet",
                                                 {"timezone": "Asia/Shanghai"}),
    "epoch milliseconds (BIGINT)": ("epoch_ms(ts)", "parquet", {"epoch": "milliseconds"}),
    "epoch seconds with decimals (text)": ("printf('%.6f', epoch_us(ts) / 1e6)", "csv", {"epoch": "seconds"}),
    "epoch seconds (whole, DOUBLE)": ("CAST(epoch(date_trunc('second', ts)) AS DOUBLE)", "parquet",
                                      {"epoch": "seconds"}),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_way_of_writing_ts_gives_the_original_hours(project, generated, shape):
    ts_sql, fmt, options = SHAPES[shape]
    target = project.root / f"requests.{fmt}"
    rewrite(generated, target, ts_sql, fmt)
    config = write_project(project, str(target), options)
    original = scan(config, generated)
    if "whole" in shape:  # whole seconds: compare with the original cut to its second
        cut = project.root / "cut.parquet"
        rewrite(generated, cut, "date_trunc('second', ts)", "parquet")
        original = scan(config, cut)
    read = scan(config, target)
    assert read.summary.row(0, named=True) == original.summary.row(0, named=True)
    assert read.rows == 3_000 and read.summary["unreadable_ts"][0] == 0
    assert read.hourly.drop("source_file").equals(original.hourly.drop("source_file"))


def test_without_the_option_naive_text_is_refused_and_named(project, generated):
    target = project.root / "requests.csv"
    rewrite(generated, target, SHANGHAI_TEXT, "csv")
    config = write_project(project, str(target))
    assert scan(config, target).summary["unreadable_ts"][0] == 3_000


@pytest.mark.parametrize("zone, local, utc", [
    # New York, 2025-11-02: 01:30 happens twice (EDT, then EST); read as the first
    ("America/New_York", "2025-11-02 01:30:00", "2025-11-02 05:30:00"),
    ("America/New_York", "2025-11-02 00:59:59", "2025-11-02 04:59:59"),
    ("America/New_York", "2025-11-02 02:00:00", "2025-11-02 07:00:00"),
    # 2025-03-09: 02:30 never happens; read with the offset before (EST)
    ("America/New_York", "2025-03-09 02:30:00", "2025-03-09 07:30:00"),
    ("America/New_York", "2025-03-09 03:00:00", "2025-03-09 07:00:00"),
    ("Asia/Shanghai", "2025-02-27 12:00:00", "2025-02-27 04:00:00"),
    ("Australia/Lord_Howe", "2025-04-06 01:45:00", "2025-04-05 14:45:00"),  # a half-hour change, repeated
    ("Australia/Lord_Howe", "2025-04-06 02:15:00", "2025-04-05 15:45:00"),
])
def test_wall_clock_times_across_clock_changes(zone, local, utc):
    day = datetime.fromisoformat(local).replace(tzinfo=timezone.utc)
    sql = local_sql(f"TIMESTAMP '{local}'", zone, day - timedelta(days=1), day)
    got = duckdb.connect().execute(f"SELECT epoch_us({sql})").fetchone()[0]
    want = datetime.fromisoformat(utc).replace(tzinfo=timezone.utc)
    assert got == int(want.timestamp() * 1_000_000)
    python = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)  # fold=0
    assert python == want


def test_a_bad_epoch_value_is_one_line_naming_file_row_and_column(project, generated):
    target = project.root / "requests.csv"
    rewrite(generated, target, "CASE WHEN request_id = (SELECT min(request_id) FROM read_parquet("
                               f"'{generated}')) THEN '2025-02-27T12:00:00+08:00' ELSE CAST(epoch_ms(ts) AS VARCHAR) END",
            "csv")
    write_project(project, str(target), {"epoch": "milliseconds"})
    done = openbooks_command("run", "--date", "2025-02-27", "--config", str(project.config_path))
    assert done.returncode == 1
    line = next(n for n, text in enumerate(target.read_text().splitlines(), 1) if "+08:00" in text)
    assert (f"{target} row {line} column ts: expected a number of milliseconds since 1970-01-01T00:00Z, "
            "got '2025-02-27T12:00:00+08:00'") in done.stderr
    assert "Traceback" not in done.stderr
    assert published(project.config, "SELECT count(*) FROM daily_economics") == [(0,)]


def test_openbooks_run_reads_naive_local_times_with_config_only(project, generated):
    target = project.root / "requests.csv"
    rewrite(generated, target, SHANGHAI_TEXT, "csv")
    write_project(project, str(target), {"timezone": "Asia/Shanghai"})
    done = openbooks_command("run", "--date", "2025-02-27", "--config", str(project.config_path))
    assert done.returncode == 0, done.stderr
    con = duckdb.connect()
    truth = con.execute("SELECT count(*), sum(input_tokens), sum(cached_tokens), sum(output_tokens) "
                        f"FROM read_parquet('{generated}')").fetchone()
    day = published(project.config, "SELECT requests, input_tokens, cache_hit_tokens, output_tokens, gpu_cost_usd "
                                    "FROM daily_economics")
    assert day == [(*truth, 87_072.0)]


def test_an_unknown_zone_is_refused_when_the_config_loads(project):
    from openbooks.errors import ConfigError

    with pytest.raises(ConfigError, match="sources.requests.options.timezone: expected an IANA timezone"):
        write_project(project, "requests/*.csv", {"timezone": "Mars/Olympus"})
    with pytest.raises(ConfigError, match="sources.requests.options.epoch"):
        write_project(project, "requests/*.csv", {"epoch": "minutes"})
