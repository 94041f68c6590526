"""kind: litellm - the customer from a fallback chain (end_user, then user,
team_id, the key's alias), as LiteLLM's own spend views name it: from a CSV
export and from a real PostgreSQL 15 holding LiteLLM_SpendLogs as its
schema.prisma declares it (tests/fixtures/litellm/README.md, "Customers")."""

from __future__ import annotations

import csv
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import psycopg
import pytest

from openbooks.config import Source
from openbooks.flows.sources.base import DayRequest
from openbooks.flows.sources.files import display_path
from openbooks.flows.sources.litellm import LiteLLMOptions, requests_of_day
from openbooks.flows.sources.litellm_rows import FieldMapping
from tests.books import published
from tests.conftest import base_config_data
from tests.servers import openbooks_command, postgres

FIXTURES = Path(__file__).parent / "fixtures" / "litellm"
EXPORT = FIXTURES / "spend_logs_customers_2025-02-27.csv"
START = datetime(2025, 2, 27, 4, tzinfo=timezone.utc)
END = datetime(2025, 2, 28, 4, tzinfo=timezone.utc)
PASSWORD_ENV = "OPENBOOKS_TEST_LITELLM_CUSTOMERS_PASSWORD"
CUSTOMERS = {"acme": (7_000, 1_000, 700), "u-ana": (2_000, 0, 200), "team-research": (3_000, 0, 300),
             "batch-key": (4_000, 0, 400), "unknown": (5_000, 0, 500)}


def day_request(options: LiteLLMOptions, path: Path | str = "unused", config=None) -> DayRequest:
    return DayRequest(config=config, name="requests", source=Source(path=str(path)), options=options,
                      day=date(2025, 2, 27), start=START, end=END, run_id="test")


def by_customer(frame: pl.DataFrame) -> dict[str, tuple[int, int, int]]:
    sums = frame.group_by("customer_id").agg(pl.col("input_tokens", "cached_tokens", "output_tokens").sum())
    return {r[0]: tuple(r[1:]) for r in sums.iter_rows()}


def test_default_customer_is_the_first_of_the_chain_a_row_holds(project):
    result = requests_of_day(day_request(LiteLLMOptions(), EXPORT, project.config))
    assert result.problems == []
    assert dict(zip(result.frame["request_id"], result.frame["customer_id"])) == {
        "cust-01": "acme", "cust-02": "u-ana", "cust-03": "team-research", "cust-04": "batch-key",
        "cust-05": "unknown", "cust-06": "acme"}
    assert by_customer(result.frame) == CUSTOMERS


def test_a_declared_chain_and_a_single_mapping(project):
    teams = LiteLLMOptions(customer=[FieldMapping(column="team_id"), FieldMapping(column="api_key")])
    frame = requests_of_day(day_request(teams, EXPORT, project.config)).frame
    assert frame["customer_id"].to_list() == ["team-a", "5e1f00aa0002", "team-research", "5e1f00aa0004",
                                              "5e1f00aa0005", "team-a"]
    single = LiteLLMOptions(customer=FieldMapping(column="end_user", default="anonymous"))
    frame = requests_of_day(day_request(single, EXPORT, project.config)).frame
    assert frame["customer_id"].to_list() == ["acme", "anonymous", "anonymous", "anonymous", "anonymous", "acme"]


def test_a_chain_that_runs_out_names_the_row_and_every_field_tried(project):
    options = LiteLLMOptions(customer=[FieldMapping(column="end_user"), FieldMapping(column="user")])
    problems = requests_of_day(day_request(options, EXPORT, project.config)).problems
    assert [p.message() for p in problems] == [
        f"{display_path(EXPORT)} line {n} column end_user / user: expected a value for customer_id "
        "(map it under options.customer)" for n in (4, 5, 6)]


@pytest.fixture(scope="module")
def spend_db():
    """LiteLLM_SpendLogs on a real PostgreSQL, the rows as LiteLLM writes them:
    ``user`` an empty string when absent (its default), end_user and team_id NULL."""
    with postgres() as server:
        with psycopg.connect(server.dsn(), password=server.password) as conn:
            conn.execute((FIXTURES / "schema.sql").read_text())
            with open(EXPORT, newline="") as handle:
                rows = list(csv.DictReader(handle))
            columns = list(rows[0])
            names, marks = ", ".join(f'"{c}"' for c in columns), ", ".join(["%s"] * len(columns))
            for row in rows:
                values = [row[c] if row[c] != "" or c in ("user", "cache_key") else None for c in columns]
                conn.execute(f'INSERT INTO "LiteLLM_SpendLogs" ({names}) VALUES ({marks})', values)
        yield server


def test_postgres_customers_by_the_chain(spend_db, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, spend_db.password)
    options = LiteLLMOptions(dsn=spend_db.dsn(), password_env=PASSWORD_ENV)
    result = requests_of_day(day_request(options, "unused"))
    assert result.problems == [] and by_customer(result.frame) == CUSTOMERS


def test_openbooks_run_publishes_customers_by_the_chain_with_config_only(project, spend_db, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, spend_db.password)
    data = base_config_data()
    del data["sources"]["token_counts"]
    data["sources"]["requests"] = {"kind": "litellm", "options": {"dsn": spend_db.dsn(),
                                                                  "password_env": PASSWORD_ENV}}
    project.write_config(replace=data)
    done = openbooks_command("run", "--date", "2025-02-27", "--config", str(project.config_path))
    assert done.returncode == 0, done.stderr
    rows = published(project.config, "SELECT customer_id, sum(input_tokens), sum(cache_hit_tokens), "
                                     "sum(output_tokens) FROM customer_economics GROUP BY 1 ORDER BY 1")
    assert {r[0]: tuple(int(v) for v in r[1:]) for r in rows} == CUSTOMERS
    assert published(project.config, "SELECT input_tokens, output_tokens, requests FROM daily_economics") == [
        (21_000, 2_100, 6)]
