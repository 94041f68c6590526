"""kind: litellm - LiteLLM_SpendLogs to request rows: from CSV/Parquet exports
and from a real PostgreSQL 15 started by the test, with the cached-token
split computed by hand (tests/fixtures/litellm/README.md)."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import psycopg
import pytest

from openbooks.flows.sources.base import DayRequest
from openbooks.flows.sources.litellm import LiteLLMOptions, connect, requests_of_day
from openbooks.flows.sources.litellm_rows import FAILED, OUTSIDE, RESPONSE_CACHE, FieldMapping
from openbooks.config import Source
from openbooks.errors import SourceUnavailable
from tests.books import published
from tests.conftest import base_config_data
from tests.servers import free_port, openbooks_command, postgres

FIXTURES = Path(__file__).parent / "fixtures" / "litellm"
EXPORT = FIXTURES / "spend_logs_2025-02-27.csv"
START = datetime(2025, 2, 27, 4, tzinfo=timezone.utc)
END = datetime(2025, 2, 28, 4, tzinfo=timezone.utc)
PASSWORD_ENV = "OPENBOOKS_TEST_LITELLM_PASSWORD"


def day_request(config, options: LiteLLMOptions, path: Path | str = "unused") -> DayRequest:
    return DayRequest(config=config, name="litellm", source=Source(path=str(path)), options=options,
                      day=date(2025, 2, 27), start=START, end=END, run_id="test")


def totals(frame: pl.DataFrame) -> dict:
    return frame.select("input_tokens", "cached_tokens", "output_tokens").sum().row(0, named=True)


def test_csv_export_cached_split_and_left_out_rows(project):
    result = requests_of_day(day_request(project.config, LiteLLMOptions(), EXPORT))
    assert result.problems == []
    assert totals(result.frame) == {"input_tokens": 720_933, "cached_tokens": 167_552, "output_tokens": 28_487}
    assert result.skipped == {FAILED: 2, RESPONSE_CACHE: 1, OUTSIDE: 1}
    assert result.frame.columns == ["ts", "request_id", "model", "channel", "customer_id", "input_tokens",
                                    "cached_tokens", "output_tokens", "source_file", "line"]
    first = result.frame.row(0, named=True)
    assert first["ts"] == datetime(2025, 2, 27, 4, 5, 11, 120000, tzinfo=timezone.utc)
    assert (first["line"], first["channel"], first["customer_id"]) == (2, "api", "acme")
    # no end_user: the default chain takes the next that the row holds, user
    assert result.frame.filter(pl.col("request_id") == "chatcmpl-05")["customer_id"].item() == "svc"


def test_parquet_export_reads_the_same(project, tmp_path):
    parquet = tmp_path / "spend_logs.parquet"
    pl.read_csv(EXPORT, infer_schema=False).with_columns(
        pl.col("prompt_tokens", "completion_tokens").cast(pl.Int64)).write_parquet(parquet)
    result = requests_of_day(day_request(project.config, LiteLLMOptions(), parquet))
    assert totals(result.frame) == {"input_tokens": 720_933, "cached_tokens": 167_552, "output_tokens": 28_487}
    assert result.frame["line"].to_list()[0] == 1


@pytest.mark.parametrize("mapping, expected", [
    ({"tag_prefix": "channel:", "default": "api"}, {"api": 4, "web": 2}),
    ({"column": "team_id", "values": {"team-api": "api", "team-web": "web"}}, {"api": 4, "web": 2}),
    ({"metadata": "user_api_key_team_id"}, {"team-api": 4, "team-web": 2}),
    ({"constant": "batch"}, {"batch": 6}),
])
def test_channel_from_a_declared_mapping(project, mapping, expected):
    options = LiteLLMOptions(channel=FieldMapping(**mapping), customer=FieldMapping(column="api_key"))
    frame = requests_of_day(day_request(project.config, options, EXPORT)).frame
    assert dict(frame.group_by("channel").len().iter_rows()) == expected
    assert set(frame["customer_id"]) == {"88dc28d0f030", "1f0e9c3b7a21"}


def test_unmapped_value_is_a_problem_naming_the_row(project):
    options = LiteLLMOptions(channel=FieldMapping(column="team_id", values={"team-api": "api"}))
    result = requests_of_day(day_request(project.config, options, EXPORT))
    assert {(p.line, p.column) for p in result.problems} == {(4, "team_id"), (6, "team_id")}
    assert "a value for channel" in result.problems[0].expected


def test_dsn_with_a_password_is_refused():
    with pytest.raises(ValueError, match="password_env"):
        LiteLLMOptions(dsn="host=db dbname=litellm user=reader password=hunter2")


@pytest.fixture(scope="module")
def litellm_db():
    with postgres() as server:
        with psycopg.connect(server.dsn(), password=server.password) as conn:
            conn.execute((FIXTURES / "schema.sql").read_text())
            with open(EXPORT, newline="") as handle:
                rows = list(csv.DictReader(handle))
            columns = list(rows[0])
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join(["%s"] * len(columns))
            for row in rows:
                values = [row[c] if row[c] != "" or c in ("cache_key",) else None for c in columns]
                conn.execute(f'INSERT INTO "LiteLLM_SpendLogs" ({names}) VALUES ({marks})', values)
        yield server


def db_options(server, **overrides) -> LiteLLMOptions:
    fields = {"dsn": server.dsn(), "password_env": PASSWORD_ENV,
              "channel": FieldMapping(tag_prefix="channel:", default="api")} | overrides
    return LiteLLMOptions(**fields)


def test_postgres_day_with_the_cached_split(litellm_db, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, litellm_db.password)
    result = requests_of_day(day_request(None, db_options(litellm_db)))
    assert result.problems == []
    assert totals(result.frame) == {"input_tokens": 720_933, "cached_tokens": 167_552, "output_tokens": 28_487}
    assert result.skipped == {FAILED: 2, RESPONSE_CACHE: 1}  # the query itself leaves out rows outside the day
    assert result.frame["request_id"].to_list() == [f"chatcmpl-0{i}" for i in range(1, 7)]
    assert litellm_db.password not in repr(result.frame.to_dicts())


def test_postgres_connection_is_read_only(litellm_db, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, litellm_db.password)
    with connect(db_options(litellm_db), "litellm") as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute('DELETE FROM "LiteLLM_SpendLogs"')


def test_wrong_password_is_one_line_without_the_secret(litellm_db, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    with pytest.raises(SourceUnavailable) as caught:
        requests_of_day(day_request(None, db_options(litellm_db)))
    message = str(caught.value)
    assert caught.value.transient and "\n" not in message
    assert "password authentication failed" in message and f"check the password in {PASSWORD_ENV}" in message
    assert "not-the-password" not in message and litellm_db.password not in message


def test_missing_table_and_unreachable_server(litellm_db, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, litellm_db.password)
    with pytest.raises(SourceUnavailable, match="table 'LiteLLM_SpendLog' not found at 127.0.0.1:"):
        requests_of_day(day_request(None, db_options(litellm_db, table="LiteLLM_SpendLog")))
    dead = db_options(litellm_db, dsn=litellm_db.dsn(port=free_port()))
    with pytest.raises(SourceUnavailable, match="cannot connect to PostgreSQL at 127.0.0.1:.*check options.dsn"):
        requests_of_day(day_request(None, dead))


def test_unset_password_variable(litellm_db, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(SourceUnavailable, match=f"environment variable {PASSWORD_ENV} is not set"):
        requests_of_day(day_request(None, db_options(litellm_db)))


def test_metadata_that_is_not_json_is_a_problem(project, tmp_path):
    frame = pl.read_csv(EXPORT, infer_schema=False)
    broken = frame.with_columns(pl.when(pl.col("request_id") == "chatcmpl-03").then(pl.lit('{"usage_object": {'))
                                .otherwise(pl.col("metadata")).alias("metadata"))
    broken.write_csv(tmp_path / "export.csv")
    problems = requests_of_day(day_request(project.config, LiteLLMOptions(), tmp_path / "export.csv")).problems
    assert [(p.line, p.column, p.expected) for p in problems] == [(4, "metadata", "a JSON object")]


def write_litellm_config(project, server, **source_keys) -> None:
    data = base_config_data()
    del data["sources"]["token_counts"]  # every token of the day comes from LiteLLM
    data["sources"]["requests"] = {"kind": "litellm", "options": {
        "dsn": server.dsn(), "password_env": PASSWORD_ENV,
        "channel": {"tag_prefix": "channel:", "default": "api"},
        "customer": {"column": "end_user", "default": "unknown"},
    }, **source_keys}
    project.write_config(replace=data)


def everything_written(project) -> bytes:
    """Every byte the run left: warehouse, reports, run log, Data Docs."""
    return b"".join(p.read_bytes() for p in sorted(project.root.rglob("*")) if p.is_file())


def test_openbooks_run_reads_litellm_from_postgres_with_config_only(project, litellm_db, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, litellm_db.password)
    write_litellm_config(project, litellm_db)
    done = openbooks_command("run", "--date", "2025-02-27", "--config", str(project.config_path))
    assert done.returncode == 0, done.stderr
    day = published(project.config, "SELECT input_tokens, cache_hit_tokens, cache_miss_tokens, output_tokens, "
                                    "requests FROM daily_economics")
    assert day == [(720_933, 167_552, 553_381, 28_487, 6)]
    customers = published(project.config, "SELECT customer_id, input_tokens, cache_hit_tokens, output_tokens "
                                          "FROM customer_economics ORDER BY customer_id")
    assert customers == [("acme", 208_888, 70_720, 7_000), ("globex", 295_417, 26_352, 12_210),
                         ("initech", 150_000, 50_000, 7_777), ("unknown", 66_628, 20_480, 1_500)]
    skipped = json.loads(published(project.config, "SELECT skipped_rows FROM run_log")[0][0])
    assert skipped == {"requests": {FAILED: 2, RESPONSE_CACHE: 1}}
    assert litellm_db.password.encode() not in everything_written(project)
    assert litellm_db.password not in done.stdout + done.stderr


def test_openbooks_run_with_a_wrong_password_is_one_line_without_it(project, litellm_db):
    write_litellm_config(project, litellm_db)
    done = openbooks_command("run", "--date", "2025-02-27", "--config", str(project.config_path),
                             env={PASSWORD_ENV: "wrong-" + litellm_db.password})
    assert done.returncode == 1
    assert done.stderr.startswith("error: sources.requests: cannot connect to PostgreSQL at 127.0.0.1:")
    assert "password authentication failed" in done.stderr and done.stderr.count("\n") == 1
    assert f"check the password in {PASSWORD_ENV}" in done.stderr and "Traceback" not in done.stderr
    assert litellm_db.password not in done.stderr + done.stdout
    assert published(project.config, "SELECT count(*) FROM daily_economics") == [(0,)]
    assert litellm_db.password.encode() not in everything_written(project)


def test_a_scheduled_run_waits_while_postgres_refuses(project, litellm_db, monkeypatch):
    from openbooks.flows.runtime.schedule import sources_ready

    write_litellm_config(project, litellm_db)
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    with pytest.raises(SourceUnavailable) as refused:
        sources_ready.fn(project.config, date(2025, 2, 27))
    assert refused.value.transient  # retried by the schedule's retry_transient
    monkeypatch.setenv(PASSWORD_ENV, litellm_db.password)
    assert sources_ready.fn(project.config, date(2025, 2, 27)) == {"node_log": 1}


def test_a_table_locked_by_another_session_meets_the_source_deadline(project, litellm_db):
    """Issue 24 §4: a LiteLLM table locked by another session hung the run
    with no output. Now the read ends at ``sources.<name>.timeout_seconds``:
    one line, nothing published, and the command exits (the lock still held)."""
    import time

    write_litellm_config(project, litellm_db, timeout_seconds=5)
    with psycopg.connect(litellm_db.dsn(), password=litellm_db.password) as holder:
        holder.execute('LOCK TABLE "LiteLLM_SpendLogs" IN ACCESS EXCLUSIVE MODE')  # held until the block ends
        started = time.monotonic()
        done = openbooks_command("run", "--date", "2025-02-27", "--config", str(project.config_path),
                                 env={PASSWORD_ENV: litellm_db.password})
        took = time.monotonic() - started
        holder.rollback()
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "sources.requests: no answer within sources.requests.timeout_seconds = 5" in done.stderr, done.stderr
    assert took < 120, took
    assert published(project.config, "SELECT count(*) FROM daily_economics") == [(0,)]
