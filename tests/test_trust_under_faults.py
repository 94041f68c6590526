"""Trust under faults (issue 24): every source error one line, files refused
before they are read, no secret printed or stored, Ctrl-C and SIGTERM,
the query sandbox parsed by DuckDB, paths that may not lead out, and the
rest (a stale report, overlapping backfills, config values).

Real parts throughout: real DuckDB files, the real Prefect engine, the real
``openbooks`` command line in its own process where a signal is sent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from openbooks.config import load_config
from openbooks.errors import ConfigError, InputError, OpenbooksError
from tests.books import published
from tests.cli_helpers import openbooks
from tests.conftest import Project, base_config_data

DAY = date(2025, 2, 27)
GIB = 1 << 30


def _relative_project(root: Path) -> Project:
    """A project reading copies of the sample through the shipped config's
    relative ``{date}`` form (``../input/<source>/{date}.csv``)."""
    project = Project(root)
    project.copy_sample(days=[DAY.isoformat()])
    project.write_config({"sources": {s: {"path": f"../input/{s}/{{date}}.csv"} for s in ("node_log", "token_counts")}})
    return project


def _fails_one_line(project: Project, *fragments: str) -> str:
    from openbooks.flows.daily import daily_books

    with pytest.raises(OpenbooksError) as info:
        daily_books(DAY, str(project.config_path))
    message = str(info.value)
    assert message.count("\n") == 0, message
    for fragment in fragments:
        assert fragment in message, message
    assert published(project.config, "SELECT count(*) FROM daily_economics") == [(0,)]
    assert published(project.config, "SELECT status FROM run_log") == [("failed",)]
    return message


# 1-2. Bounded readers: refused before they are read, one line naming the file.

def test_a_2gb_sparse_file_of_zeros_is_refused_before_it_is_read(tmp_path):
    """Issue 24 §2: a 2 GB file of zeros in place of a CSV grew the process
    until it was killed; now refused from its first block, in a line."""
    project = _relative_project(tmp_path)
    token_file = tmp_path / "input" / "token_counts" / "2025-02-27.csv"
    with open(token_file, "r+b") as handle:
        handle.truncate(0)
        handle.truncate(2 * GIB)  # sparse: no disk used
    started = time.monotonic()
    message = _fails_one_line(project, "input/token_counts/2025-02-27.csv byte 1: a NUL byte",
                              "expected a text file, got binary data")
    assert time.monotonic() - started < 120, message


def _sparse(path: Path) -> Path:
    with open(path, "r+b") as handle:
        handle.truncate(0)
        handle.truncate(2 * GIB)  # sparse: no disk used
    return path


@pytest.mark.parametrize("kind", ["slurm_sacct", "focus", "litellm export", "prometheus file"])
def test_a_2gb_sparse_file_of_each_kind_that_grew_until_killed_is_refused(tmp_path, kind):
    """Issue 24 §2: the four kinds the probe saw grow until the process was
    killed for memory (Slurm, FOCUS, a LiteLLM export, a Prometheus file):
    each refused from the file's first block, through the real flow."""
    from tests.fleet_project import fleet_project

    if kind == "slurm_sacct":
        from tests.test_source_slurm_sacct import SOURCE, WITH_STEPS

        project, copy = fleet_project(tmp_path, WITH_STEPS, SOURCE)
    elif kind == "focus":
        from tests.test_source_focus import FIXTURE, OPTIONS

        project, copy = fleet_project(tmp_path, FIXTURE, {"kind": "focus", "path": FIXTURE.name, "options": OPTIONS})
    else:
        copy = tmp_path / "input" / ("spend_logs_2025-02-27.csv" if kind == "litellm export" else "pod-a.prom")
        copy.parent.mkdir(parents=True)
        copy.write_text("x\n")
        data = base_config_data()
        if kind == "litellm export":
            del data["sources"]["token_counts"]  # every token of the day comes from LiteLLM
            data["sources"]["requests"] = {"kind": "litellm", "path": str(copy.parent / "spend_logs_{date}.csv")}
        else:
            data["sources"]["token_counts"] = {"kind": "prometheus", "path": str(copy.parent / "*.prom")}
        project = Project(tmp_path)
        project.write_config(replace=data)
    _sparse(copy)
    started = time.monotonic()
    message = _fails_one_line(project, f"{copy.name} byte 1: a NUL byte (expected a text file, got binary data)")
    assert time.monotonic() - started < 120, message


def test_a_file_larger_than_max_file_bytes_is_refused_naming_the_limit(tmp_path):
    """Issue 24 §2: ``sources.<name>.max_file_bytes`` (default 4 GiB) bounds every file."""
    from openbooks.flows.sources.files import DEFAULT_MAX_FILE_BYTES, day_files

    project = _relative_project(tmp_path)
    config = project.write_config({"sources": {"token_counts": {"path": "../input/token_counts/{date}.csv",
                                                                "max_file_bytes": 1000}}})
    with pytest.raises(InputError) as info:
        day_files(config, "token_counts", DAY)
    assert "input/token_counts/2025-02-27.csv: file is" in str(info.value)
    assert "larger than sources.token_counts.max_file_bytes = 1,000" in str(info.value)
    assert DEFAULT_MAX_FILE_BYTES == 4 * GIB
    # Unset, the key stays out of the config's hash: an existing config hashes as before.
    assert "max_file_bytes" not in project.write_config().canonical_json()


def test_a_file_not_in_the_format_it_claims_is_refused(tmp_path):
    """Issue 24 §2: a ``.parquet`` that is not Parquet is refused by its magic bytes."""
    from openbooks.flows.sources.files import day_files

    project = _relative_project(tmp_path)
    fake = tmp_path / "input" / "token_counts" / "2025-02-27.parquet"
    fake.write_text("hour_start,model\n")
    config = project.write_config({"sources": {"token_counts": {"path": "../input/token_counts/{date}.parquet",
                                                                "format": "parquet"}}})
    with pytest.raises(InputError, match=r"2025-02-27.parquet: not a readable Parquet file \(expected PAR1"):
        day_files(config, "token_counts", DAY)


@pytest.mark.parametrize("exc, expected", [
    (RecursionError("maximum recursion depth exceeded"), "expected JSON nested at most 512 levels deep"),
    (OverflowError("date value out of range"), "expected values within range"),
    (json.JSONDecodeError("Expecting value", "{", 1), "expected JSON, got expecting value at line 1 column 2"),
    (pl.exceptions.InvalidOperationError("conversion from `f64` to `i64` failed"), "expected values of the column types"),
    (ValueError("Unterminated string"), "expected input its kind can read, got ValueError: Unterminated string"),
])
def test_any_raw_reader_exception_becomes_one_line_naming_the_source_and_file(tmp_path, exc, expected):
    """Issue 24 §1: RecursionError, OverflowError, Polars' cast errors,
    JSONDecodeError, ValueError: one line ``sources.<name> (<file>): expected …, got …``."""
    from openbooks.flows.sources.limits import reader_failure

    config = _relative_project(tmp_path).config
    said = reader_failure(config, "token_counts", DAY, exc)
    assert isinstance(said, InputError)
    assert str(said).startswith("sources.token_counts (input/token_counts/2025-02-27.csv): ") or \
        str(said).startswith(f"sources.token_counts ({tmp_path}/input/token_counts/2025-02-27.csv): "), str(said)
    assert expected in str(said) and "\n" not in str(said)


def test_deeply_nested_json_in_a_source_is_one_line_through_the_real_flow(tmp_path):
    """Issue 24 §1: an OpenCost answer nested 100,000 levels deep was a RecursionError."""
    from tests.fleet_project import fleet_project
    from tests.test_source_opencost import FIXTURE, OPTIONS

    project, copy = fleet_project(tmp_path, FIXTURE, {"kind": "opencost", "path": FIXTURE.name, "options": OPTIONS})
    copy.write_text("[" * 100_000 + "]" * 100_000)
    message = _fails_one_line(project, "allocation_2025-02-27.json")
    assert "RecursionError" not in message or "expected" in message


@pytest.mark.parametrize("count", [str(2 ** 70), "1e300"])
@pytest.mark.parametrize("kind", ["openai usage page", "openai usage export", "litellm export"])
def test_a_count_of_2_70_or_1e300_is_a_problem_of_its_row_naming_file_line_and_column(project, tmp_path, kind,
                                                                                      count):
    """Issue 24 §1: counts of 2^70 or 1e300 in the new kinds were Polars
    overflow and cast errors naming no row; now the row's problem:
    ``<file> line N column <field>: expected … below 2^63`` (a float
    in a JSON page: ``expected a whole, non-negative number``)."""
    import csv

    from openbooks.flows.sources.litellm import LiteLLMOptions, requests_of_day
    from openbooks.flows.sources.openai_usage import OpenAIUsageOptions
    from tests.test_source_litellm import EXPORT as LITELLM_EXPORT
    from tests.test_source_litellm import day_request
    from tests.test_source_openai_usage import EXPORT as USAGE_EXPORT
    from tests.test_source_openai_usage import FIXTURES, read

    target = tmp_path / "input.json"
    if kind == "openai usage page":
        page = json.loads((FIXTURES / "usage_completions_2025-02-27_page1.json").read_text())
        for bucket in page["data"]:
            for result in bucket["results"]:
                result["input_tokens"] = json.loads(count)
        target.write_text(json.dumps(page))
    else:
        target = tmp_path / "input.csv"
        source, field = (USAGE_EXPORT, "input_tokens") if kind == "openai usage export" else \
            (LITELLM_EXPORT, "prompt_tokens")
        rows = list(csv.DictReader(open(source, newline="")))
        rows[1][field] = count
        with open(target, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    if kind == "litellm export":
        result = requests_of_day(day_request(project.config, LiteLLMOptions(), target))
    else:
        result = read(project.config, target, OpenAIUsageOptions())
    said = [problem.message() for problem in result.problems]
    assert said and all(" line " in line and " column " in line and
                        ("below 2^63" in line or "expected a whole, non-negative number" in line) for line in said), said
    assert all(line.count("\n") == 0 for line in said)


@pytest.mark.parametrize("count", [str(2 ** 70), "1e300"])
def test_a_focus_consumed_quantity_of_2_70_or_1e300_is_a_problem_of_its_row(project, count):
    """Issue 24 §1: a FOCUS usage row of 2^70 or 1e300 instance-hours passed
    the reader (more GPUs than any cluster holds); now its row's problem."""
    from tests.test_source_focus import FIXTURE, _edit, _result

    [problem] = _result(project.config, FIXTURE, _edit(FIXTURE.read_text(), 10, "ConsumedQuantity", count)).problems
    assert (problem.line, problem.column, problem.value) == (10, "ConsumedQuantity", count)
    assert problem.expected == "instance-hours of at most 1,000,000 GPUs over the charge period"


def test_a_problem_of_a_series_read_by_url_is_quarantined_under_its_source():
    """Issue 24 §1: a NaN or unlabelled series read by URL has no file:
    ``quarantine.source_file`` is NOT NULL, so the source stands in."""
    from openbooks.flows.sources.base import Problem
    from openbooks.flows.store.warehouse import QuarantineRow

    row = QuarantineRow.of(Problem("token_counts", "a finite number", column="vllm:prompt_tokens_total"), "r", DAY)
    assert row.source_file == "sources.token_counts"


class _PrometheusAnswering:
    """A loopback HTTP server answering every instant query as Prometheus
    does (``/api/v1/query``, a range selector: a matrix), one series of the
    queried metric sampled each minute over the business day, one sample
    ``value`` (Prometheus writes samples as strings: ``"NaN"``, ``"+Inf"``;
    https://prometheus.io/docs/prometheus/latest/querying/api/#expression-query-result-formats)."""

    def __init__(self, value: str, labels: dict[str, str] | None = None, body: bytes | None = None) -> None:
        import http.server
        import threading
        import urllib.parse

        def answer(path: str) -> bytes:
            metric = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)["query"][0].split("{")[0]
            series = {"metric": {"__name__": metric, **({"model_name": "deepseek-r1", "pod": "a"}
                                                        if labels is None else labels)},
                      "values": [[1740628800 - 600 + 60 * i, value if i == 700 else str(i)] for i in range(1452)]}
            return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [series]}}).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
                sent = body if body is not None else answer(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(sent)))
                self.end_headers()
                self.wfile.write(sent)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("value, labels, body, said, quarantined", [
    ("1e300", None, None, "expected values of the column types (counts below 2^63, finite numbers)", False),
    (str(2 ** 70), None, None, "expected values of the column types (counts below 2^63, finite numbers)", False),
    ("NaN", None, None, "expected a whole, non-negative counter value, got 'nan at 2025-02-27T15:30:00+00:00'", True),
    ("+Inf", None, None, "expected a whole, non-negative counter value, got 'inf at 2025-02-27T15:30:00+00:00'", True),
    ("1", {}, None, "vllm:prompt_tokens_total{}: expected a 'model_name' label naming the model", True),
    ("1", None, b'{"status": "success", "data": {"resultType": "matr', "cannot read Prometheus at", False),
    ("1", None, b"[" * 100_000 + b"]" * 100_000, "expected JSON nested at most 512 levels deep", False),
], ids=["1e300", "2^70", "NaN", "Inf", "unlabelled", "truncated", "nested"])
def test_a_bad_prometheus_answer_read_by_url_is_a_line_naming_the_source(project, value, labels, body, said,
                                                                          quarantined):
    """Issue 24 §1, through the real flow: counts of 2^70 or 1e300, NaN, Inf,
    an unlabelled series, a truncated or deeply nested answer read from a
    Prometheus by URL were Polars cast errors, ``JSONDecodeError``,
    ``RecursionError`` or ``ConstraintException: NOT NULL … quarantine.source_file``."""
    from openbooks.flows.daily import daily_books

    server = _PrometheusAnswering(value, labels, body)
    try:
        data = base_config_data()
        data["sources"]["token_counts"] = {"kind": "prometheus", "options": {"url": server.url, "timeout_seconds": 5}}
        project.write_config(replace=data)
        with pytest.raises(OpenbooksError) as info:
            daily_books(DAY, str(project.config_path))
    finally:
        server.close()
    lines = str(info.value).splitlines()
    assert all(line.startswith("sources.token_counts") for line in lines), lines  # one line a series at most
    assert said in lines[0], lines
    assert published(project.config, "SELECT count(*) FROM daily_economics") == [(0,)]
    kept = published(project.config, "SELECT DISTINCT source_file FROM quarantine")
    assert kept == ([("sources.token_counts",)] if quarantined else []), kept


# 3. Secrets never printed or stored.

def test_redact_takes_out_user_info_query_keys_dsn_passwords_and_tokens():
    from openbooks.redact import redact, redact_data

    assert redact("http://reader:hunter2@prom:9090/api?query=up&api_key=K3Y&time=1") == \
        "http://***@prom:9090/api?query=up&api_key=***&time=1"
    assert redact("host=db dbname=x password=hunter2 user=u") == "host=db dbname=x password=*** user=u"
    assert redact("Authorization: Bearer sk-abc") == "Authorization: Bearer ***"
    assert redact("sources.token_counts.options.password_env: expected a string") == \
        "sources.token_counts.options.password_env: expected a string"
    assert redact(redact("https://a:b@h/?token=t")) == "https://***@h/?token=***"
    data = {"notifications": {"webhook_url": "https://hooks/T/B/SECRET"},
            "sources": {"t": {"columns": {"output_tokens": "out"}, "options": {"password_env": "PG"}}}}
    assert redact_data(data) == {"notifications": {"webhook_url": "***"},
                                 "sources": {"t": {"columns": {"output_tokens": "out"},
                                                   "options": {"password_env": "PG"}}}}


def test_a_dsn_with_a_password_is_refused_without_printing_it(tmp_path):
    """Issue 24 §3: the refusal printed the password."""
    data = base_config_data()
    data["sources"]["requests"] = {"kind": "litellm", "path": "x/{date}.csv",
                                   "options": {"dsn": "host=db dbname=litellm user=reader password=hunter2pw"}}
    project = Project(tmp_path)
    with pytest.raises(ConfigError) as info:
        project.write_config(replace=data)
    assert "must not hold a password" in str(info.value)
    assert "hunter2pw" not in str(info.value)


def test_a_malformed_dsn_is_one_line(tmp_path):
    """Issue 24 §7: a malformed DSN gave a raw psycopg error."""
    data = base_config_data()
    data["sources"]["requests"] = {"kind": "litellm", "path": "x/{date}.csv",
                                   "options": {"dsn": "host=db dbname='unterminated"}}
    with pytest.raises(ConfigError) as info:
        Project(tmp_path).write_config(replace=data)
    message = str(info.value)
    assert "sources.requests.options.dsn: expected a libpq connection string" in message
    assert message.count("\n") == 0


def test_no_secret_in_any_file_a_run_writes_nor_in_its_output(tmp_path):
    """Issue 24 §3: a Prometheus URL's ``user:pass@`` and a webhook's token
    were printed and stored (configs, run_log, Prefect's database). Grep
    every file the run writes, the Prefect database and all output."""
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    from tests.servers import free_port

    password, token = "hunter2pw9", "T0KENSECRETXYZ"
    data = base_config_data()
    data["sources"]["token_counts"] = {"kind": "prometheus", "options": {
        "url": f"http://reader:{password}@127.0.0.1:{free_port()}", "timeout_seconds": 5}}
    data["notifications"] = {"webhook_url": f"http://127.0.0.1:{free_port()}/hooks/{token}", "timeout_seconds": 2}
    project = Project(tmp_path)
    project.write_config(replace=data)
    env = {**os.environ, "COLUMNS": "250"}
    done = subprocess.run([sys.executable, "-m", "openbooks.cli", "run", "--date", "2025-02-27",
                           "--config", str(project.config_path)], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 1
    assert "error: sources.token_counts: cannot read Prometheus at http://***@127.0.0.1:" in done.stderr
    for secret in (password, token):
        assert secret not in done.stdout + done.stderr
        for path in tmp_path.rglob("*"):
            if path.is_file() and path != project.config_path:  # the config the user wrote is the one place
                assert secret.encode() not in path.read_bytes(), path
        stored = published(project.config, "SELECT config_json FROM configs") + \
            published(project.config, "SELECT coalesce(error, '') FROM run_log")
        assert not any(secret in str(row) for row in stored), stored
        database = PREFECT_API_DATABASE_CONNECTION_URL.value() or ""
        if database.startswith("sqlite"):
            prefect_db = Path(database.split("///", 1)[1])
            if prefect_db.exists():
                assert secret.encode() not in prefect_db.read_bytes()


# 4. Deadlines and signals.

def _wait_for_running(config, proc, timeout=300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            con = duckdb.connect(str(config.warehouse_path), read_only=True)
        except duckdb.Error:
            time.sleep(0.05)
            continue
        try:
            if con.execute("SELECT count(*) FROM run_log WHERE status = 'running'").fetchone()[0]:
                return
        except duckdb.Error:
            pass
        finally:
            con.close()
        time.sleep(0.05)
    pytest.fail("the run never started")


def test_sigterm_stops_a_run_promptly_recorded_as_interrupted(project):
    """Issue 24 §4: SIGTERM ends a run as Ctrl-C does: one line, exit 130,
    run_log says interrupted, nothing published."""
    proc = subprocess.Popen([sys.executable, "-m", "openbooks.cli", "run", "--date", "2025-02-27",
                             "--config", str(project.config_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    _wait_for_running(project.config, proc)
    proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    out, err = proc.communicate(timeout=120)
    assert time.monotonic() - sent < 60
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "error: interrupted (Ctrl-C or SIGTERM)" in err
    runs = published(project.config, "SELECT status, error FROM run_log")
    assert runs in ([("failed", "interrupted: stopped by Ctrl-C or SIGTERM before the run finished")],
                    [("published", None)]), runs  # a day a signal met after publishing stays published


def test_ctrl_c_interrupts_a_long_query_every_time(project):
    """Issue 24 §4: Ctrl-C did not stop ``openbooks query`` in 2 of 8 tries: the query is interrupted."""
    from openbooks.flows.store.warehouse import ensure_schema, session

    with session(project.config) as con:
        ensure_schema(con)
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "openbooks.cli", "query", "--config", str(project.config_path),
                                 "SELECT count(*) FROM range(1000000000000) a WHERE a % 7 = 3"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(8)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, err = proc.communicate(timeout=45)
        assert time.monotonic() - sent < 15
        assert proc.returncode == 130 and "Traceback" not in err, err
        assert "error: interrupted (Ctrl-C or SIGTERM)" in err


def test_a_forgotten_long_query_makes_a_run_say_so_not_another_writer(project):
    """Issue 24 §5: a long ``openbooks query`` left running made a run fail
    with a misleading "another process is writing": the line names the query
    and how to end it; nothing is published, the query is not disturbed."""
    from openbooks.flows.store.warehouse import ensure_schema, session

    with session(project.config) as con:
        ensure_schema(con)
    query = subprocess.Popen([sys.executable, "-m", "openbooks.cli", "query", "--config", str(project.config_path),
                              "SELECT count(*) FROM range(1000000000000) a WHERE a % 7 = 3"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(8)
        assert query.poll() is None, query.communicate()
        env = {**os.environ, "OPENBOOKS__WAREHOUSE__LOCK_TIMEOUT_SECONDS": "2", "COLUMNS": "250"}
        done = subprocess.run([sys.executable, "-m", "openbooks.cli", "run", "--date", "2025-02-27",
                               "--config", str(project.config_path)], env=env, capture_output=True, text=True,
                              timeout=600)
        assert query.poll() is None  # the query goes on
    finally:
        query.send_signal(signal.SIGINT)
        query.communicate(timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "an `openbooks query` is still reading it; try again shortly, or stop that query" in done.stderr
    assert published(project.config, "SELECT count(*) FROM daily_economics") == [(0,)]


# 5. The query sandbox.

SAMPLES = {  # one statement of each type DuckDB's parser gives, and whether openbooks query runs it
    "SELECT": [("SELECT 1", True), ("SHOW TABLES", True), ("FROM range(3)", True), ("SUMMARIZE SELECT 1", True)],
    "INSERT": [("INSERT INTO t VALUES (1)", False)],
    "UPDATE": [("UPDATE t SET a = 1", False)],
    "CREATE": [("CREATE TABLE t (a INT)", False), ("CREATE SECRET (TYPE s3)", False)],
    "DELETE": [("DELETE FROM t", False), ("TRUNCATE t", False)],
    "PREPARE": [("PREPARE p AS SELECT 1", False)],
    "EXECUTE": [("EXECUTE p", False)],
    "ALTER": [("ALTER TABLE t ADD COLUMN b INT", False), ("COMMENT ON TABLE t IS 'x'", False)],
    "TRANSACTION": [("BEGIN", False)],
    "COPY": [("COPY t TO 'x.csv'", False), ("COPY t FROM 'x.csv'", False)],
    "ANALYZE": [],
    "VARIABLE_SET": [("SET VARIABLE x = 1", False)],
    "CREATE_FUNC": [("CREATE MACRO m(a) AS a", False)],
    "EXPLAIN": [("EXPLAIN SELECT 1", True), ("EXPLAIN ANALYZE SELECT 1", True),
                ("EXPLAIN ANALYZE COPY (SELECT 1) TO 'x.csv'", False), ("EXPLAIN (FORMAT json) SELECT 1", True),
                ("EXPLAIN ANALYZE INSERT INTO t VALUES (1)", False)],
    "DROP": [("DROP TABLE t", False), ("DEALLOCATE p", False)],
    "EXPORT": [("EXPORT DATABASE 'd'", False)],
    "PRAGMA": [("PRAGMA table_info('daily_economics')", True), ("PRAGMA version", True),
               ("IMPORT DATABASE 'd'", False), ("PRAGMA import_database('d')", False),
               ("PRAGMA enable_checkpoint_on_shutdown", False)],
    "VACUUM": [("VACUUM", False), ("ANALYZE", False)],
    "CALL": [("CALL pragma_version()", True), ("CALL duckdb_tables()", True), ("CALL checkpoint()", False),
             ("CHECKPOINT", False)],
    "SET": [("SET threads = 1", False), ("RESET threads", False), ("USE memory", False)],
    "LOAD": [("LOAD httpfs", False), ("INSTALL httpfs", False)],
    "ATTACH": [("ATTACH 'x.duckdb'", False)],
    "DETACH": [("DETACH x", False)],
    "MULTI": [("PIVOT t ON a", False)],
    "COPY_DATABASE": [("COPY FROM DATABASE a TO b", False)],
    "MERGE_INTO": [("MERGE INTO t USING s ON (t.a = s.a) WHEN MATCHED THEN DELETE", False)],
}
NOT_FROM_TEXT = {"INVALID", "RELATION", "EXTENSION", "LOGICAL_PLAN"}  # no SQL text parses to these


def test_every_statement_type_duckdb_has_is_allowed_only_when_it_reads():
    from openbooks.flows.admin.query_guard import reading_statements

    assert set(duckdb.StatementType.__members__) == set(SAMPLES) | NOT_FROM_TEXT
    for type_name, cases in SAMPLES.items():
        for sql, allowed in cases:
            if allowed:
                reading_statements(sql)
            else:
                with pytest.raises(OpenbooksError, match="query refused: .* is not allowed"):
                    reading_statements(sql)


def test_import_database_and_explain_analyze_copy_write_nothing_in_an_allowed_directory(project, tmp_path,
                                                                                          monkeypatch, capsys):
    from openbooks.flows.store.warehouse import ensure_schema, session

    with session(project.config) as con:
        ensure_schema(con)
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "load.sql").write_text("CREATE TABLE pwned AS SELECT 1;")
    (allowed / "schema.sql").write_text("")
    target = allowed / "report.html"
    target.write_text("the day's report")
    for sql in (f"EXPLAIN ANALYZE COPY (SELECT 42) TO '{target}'", f"IMPORT DATABASE '{allowed}'"):
        done = openbooks(monkeypatch, capsys, "query", "--config", str(project.config_path),
                         "--allow-file-reads", str(allowed), sql)
        assert done.code == 1 and done.err.startswith("error: query refused:"), done.err
    assert target.read_text() == "the day's report"


def test_output_into_the_prefect_state_is_refused(project):
    from openbooks.flows.admin.query_guard import refuse_protected_output

    with pytest.raises(OpenbooksError, match="the project's Prefect state"):
        refuse_protected_output(project.config, project.config.warehouse_path.parent / ".prefect" / "prefect.db")


def test_glob_cannot_list_names_through_a_symlink_leading_out(project, tmp_path, monkeypatch, capsys):
    from openbooks.flows.store.warehouse import ensure_schema, session

    with session(project.config) as con:
        ensure_schema(con)
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "etc").symlink_to("/etc")
    done = openbooks(monkeypatch, capsys, "query", "--config", str(project.config_path),
                     "--allow-file-reads", str(allowed), f"SELECT * FROM glob('{allowed}/etc/*')")
    assert done.code == 1 and "passwd" not in done.out
    assert f"{allowed / 'etc'} is a symlink to /etc, outside it" in done.err


def test_terminal_escape_codes_in_data_are_printed_escaped(project, monkeypatch, capsys):
    from openbooks.flows.store.warehouse import ensure_schema, session

    with session(project.config) as con:
        ensure_schema(con)
    done = openbooks(monkeypatch, capsys, "query", "--config", str(project.config_path),
                     "SELECT chr(27) || ']0;pwned' || chr(7) || chr(27) || '[2J' AS model")
    assert done.code == 0, done.err
    assert "\x1b" not in done.out and "\x07" not in done.out
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in done.out


# 6. Paths.

def test_a_symlink_named_by_a_relative_date_path_may_not_lead_out(tmp_path):
    """Issue 24 §6: ``Config.resolve`` followed the link before the
    directory check, so /etc/passwd's first line landed in quarantine."""
    project = _relative_project(tmp_path)
    token_file = tmp_path / "input" / "token_counts" / "2025-02-27.csv"
    token_file.unlink()
    token_file.symlink_to("/etc/passwd")
    message = _fails_one_line(project, "resolves to /etc/passwd, outside sources.token_counts's directory")
    quarantined = published(project.config, "SELECT coalesce(record, '') || coalesce(value, '') FROM quarantine")
    assert not any("root:" in row[0] for row in quarantined), quarantined
    assert "root:" not in message


def test_dot_dot_after_a_glob_character_is_refused_in_the_config(tmp_path):
    """Issue 24 §6: ``*/..`` in a source path escaped the source directory."""
    with pytest.raises(ConfigError, match=r"sources.token_counts.path: expected no '..' after the first glob"):
        Project(tmp_path).write_config({"sources": {"token_counts": {"path": "../input/*/../../../etc/{date}.csv"}}})


def test_a_config_that_is_not_a_regular_file_is_refused(monkeypatch, capsys):
    """Issue 24 §6: ``-c /dev/zero`` read without limit."""
    done = openbooks(monkeypatch, capsys, "status", "--config", "/dev/zero")
    assert done.code == 1
    assert done.err_lines == ["error: /dev/zero: not a regular file (expected a YAML config file)"]


def test_a_config_file_too_large_is_refused(tmp_path):
    big = tmp_path / "openbooks.yaml"
    big.write_text("# " + "x" * (2 << 20))
    with pytest.raises(ConfigError, match="larger than 1,048,576 bytes"):
        load_config(big)


# 7. The rest.

def test_a_price_of_1e400_is_refused_where_it_is_written(tmp_path):
    """Issue 24 §7: 1e400 (infinity) was accepted and the run died drawing charts."""
    data = base_config_data()
    data["price_book"]["cards"]["deepseek"]["models"]["deepseek-r1"][0]["output"] = "1e400"
    with pytest.raises(ConfigError) as info:
        Project(tmp_path).write_config(replace=data)
    assert "price_book.cards.deepseek.models.deepseek-r1.0.output: Input should be a finite number" in str(info.value)


def test_an_environment_override_with_bad_yaml_names_the_variable_and_key(project):
    """Issue 24 §7: a ParserError named neither the variable nor the key."""
    with pytest.raises(ConfigError) as info:
        load_config(project.config_path, environ={"OPENBOOKS__WAREHOUSE__PATH": "[unclosed"})
    message = str(info.value)
    assert message.startswith("environment OPENBOOKS__WAREHOUSE__PATH (overrides warehouse.path): invalid YAML")
    assert message.count("\n") == 0


def test_a_backfill_whose_days_are_all_busy_says_which_and_crashes_nothing(project):
    """Issue 24 §7: a second backfill whose days were all held crashed with IndexError."""
    from openbooks.flows.range_books import backfill_range
    from openbooks.flows.store.warehouse import day_lock

    with day_lock(project.config, DAY):
        outcome = backfill_range([DAY], str(project.config_path))
    [(day, status, _, reason)] = outcome
    assert (day, status) == (DAY, "failed")
    assert "day 2025-02-27 is already being run" in reason


def test_a_missing_or_stale_report_of_a_published_day_is_rewritten_by_the_next_run(project):
    """Issue 24 §7: reports disk full: the day published, the rerun said
    "unchanged" and never wrote the missing (or left the stale) report."""
    from openbooks.flows.daily import daily_books
    from openbooks.flows.report import report_paths

    daily_books(DAY, str(project.config_path))
    markdown, html = report_paths(project.config.report_dir, DAY.isoformat())
    good = markdown.read_text()
    markdown.write_text(good.replace("545%", "999%"))  # stale: another publication's figures
    html.unlink()  # missing
    row = daily_books(DAY, str(project.config_path))
    assert row["status"] == "unchanged"
    assert html.exists() and "999%" not in markdown.read_text()
    before = markdown.read_bytes()
    daily_books(DAY, str(project.config_path))
    assert markdown.read_bytes() == before  # a current report is left as it is


def test_a_report_not_written_for_a_full_disk_is_written_by_the_next_run(project, tmp_path):
    """Issue 24 §7, on a real full disk (a tmpfs): the day publishes (its
    books are in the warehouse), the report cannot be written and the command
    says so (exit 1); once there is room, the next run, finding the books
    unchanged, writes the missing report."""
    from openbooks.flows.report import report_paths
    from tests.cli_helpers import openbooks_process
    from tests.test_write_errors import fill, point

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], capture_output=True,
                             text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs to make a full disk: {mounted.stderr.strip()}")
    try:
        reports = disk / "reports"
        reports.mkdir()
        point(project, reports=str(reports))
        filler = fill(disk)
        first = openbooks_process("run", "--date", DAY.isoformat(), "-c", str(project.config_path))
        assert first.code == 1 and "Traceback" not in first.err, first.err
        assert "disk is full" in first.err, first.err
        assert published(project.config, "SELECT count(*) FROM daily_economics") == [(1,)]
        markdown, html = report_paths(project.config.report_dir, DAY.isoformat())
        filler.unlink()
        second = openbooks_process("run", "--date", DAY.isoformat(), "-c", str(project.config_path))
        assert second.code == 0, second.err
        assert "(unchanged)" in second.out
        assert markdown.exists() and html.exists() and "545%" in markdown.read_text()
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_a_failing_webhook_is_said_in_the_output_and_run_log(project, capsys):
    """Issue 24 §7: a webhook that could not be posted was silent."""
    from openbooks.flows.stages.day_run import notify_anomalies
    from openbooks.flows.store.runlog import RunRecord, start_run
    from openbooks.flows.store.warehouse import ensure_schema, session
    from tests.servers import free_port

    token = "T0KENABC"
    config = project.write_config({"notifications": {"webhook_url": f"http://127.0.0.1:{free_port()}/h/{token}",
                                                     "timeout_seconds": 2}})
    record = RunRecord("run-1", DAY, str(config.file), config.hash)
    with session(config) as con:
        ensure_schema(con)
        start_run(con, record)
    found = pl.DataFrame({"day": [DAY], "figure": ["gross_margin"], "value": [0.70], "median": [0.84],
                          "window_days": [7], "move": [-0.14], "kind": ["points"], "threshold": [0.05]})
    notify_anomalies(config, found, True, "run-1")
    err = capsys.readouterr().err
    assert "warning: anomalies not posted to the webhook at http://127.0.0.1:" in err and token not in err
    [(error,)] = published(config, "SELECT error FROM run_log WHERE run_id = 'run-1'")
    assert error.startswith("anomalies not posted to the webhook") and token not in error


def _dribbling_server():
    """A server that answers one byte every 3 s, forever (issue 24 §4)."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            def dribble(conn=conn) -> None:
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
                    while True:
                        conn.sendall(b" ")
                        time.sleep(3)
                except OSError:
                    conn.close()
            threading.Thread(target=dribble, daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener


def test_a_source_that_answers_a_byte_every_3s_meets_its_deadline(project):
    """Issue 24 §4: a Prometheus sending one byte every 3 s hung the run with no output."""
    listener = _dribbling_server()
    try:
        data = base_config_data()
        data["sources"]["token_counts"] = {"kind": "prometheus", "timeout_seconds": 6, "options": {
            "url": f"http://127.0.0.1:{listener.getsockname()[1]}", "timeout_seconds": 30}}
        project.write_config(replace=data)
        started = time.monotonic()
        message = _fails_one_line(project, "sources.token_counts: no answer within "
                                           "sources.token_counts.timeout_seconds = 6")
        assert time.monotonic() - started < 90, message
    finally:
        listener.close()


def test_a_read_still_going_is_reported_and_ctrl_c_is_taken_at_once(capsys):
    from openbooks.flows.sources.limits import with_deadline

    assert with_deadline("t", 10, lambda: time.sleep(1.2) or 7, every=0.5) == 7
    assert "waiting for sources.t: " in capsys.readouterr().err
    import _thread
    import threading

    threading.Timer(0.5, _thread.interrupt_main).start()  # Ctrl-C, as the terminal sends it
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with_deadline("t", 60, lambda: time.sleep(30))
    assert time.monotonic() - started < 5


def test_a_focus_row_with_extra_cells_is_refused_naming_its_line(tmp_path):
    """Issue 24 §7: a FOCUS row with more cells than the header was accepted silently."""
    from tests.fleet_project import fleet_project
    from tests.test_source_focus import FIXTURE, OPTIONS

    project, copy = fleet_project(tmp_path, FIXTURE, {"kind": "focus", "path": FIXTURE.name, "options": OPTIONS})
    lines = copy.read_text().splitlines(keepends=True)
    lines[4] = lines[4].rstrip("\r\n") + ",surplus\n"
    copy.write_text("".join(lines))
    _fails_one_line(project, "focus_2025-02-27.csv line 5: ", "cells (expected at most")


def test_a_huge_focus_cell_is_one_line_naming_its_line(tmp_path):
    """Issue 24 §1: a huge FOCUS cell raised the CSV reader's field-size error."""
    from openbooks.flows.sources.focus import csv_rows

    with pytest.raises(InputError, match=r"^focus.csv line 2: field larger than field limit .* \(expected CSV cells"):
        csv_rows('BilledCost,Tags\n"' + "x" * 300_000 + '",1\n', "focus.csv")


def test_only_failed_says_which_later_days_anomaly_history_is_stale(project):
    """Issue 24 §7: after a bad day is fixed with --only-failed, later days'
    anomaly history was not recomputed, silently: now the command says so."""
    from openbooks.flows.backfill import DayOutcome, stale_anomaly_days
    from openbooks.flows.range_books import backfill_range

    days = [date(2025, 2, 26), DAY]
    assert [status for _, status, _, _ in backfill_range(days, str(project.config_path))] == ["published"] * 2
    fixed = [DayOutcome(date(2025, 2, 26), "published")]
    assert stale_anomaly_days(project.config, fixed) == [DAY]
    assert stale_anomaly_days(project.config, [DayOutcome(date(2025, 2, 26), "unchanged")]) == []
    assert stale_anomaly_days(project.config, [DayOutcome(d, "published") for d in days]) == []


def test_only_failed_names_the_stale_later_days_and_its_command_recomputes_them(tmp_path):
    """Issue 24 §7, through the command line: a day fixed with ``--only-failed``
    enters the trailing window of the later published days, whose anomalies
    (staged, validated and published with each day, in its report and its
    webhook post) were found without it. They are not rewritten behind the
    user's back (each day's partition changes only by a run of that day); the
    command names them and the command that re-runs them, and that command
    gives them the anomalies a run without the failure would have given."""
    sensitive = {"anomalies": {"threshold_points": 1e-9, "threshold_relative": 1e-9, "min_days": 1}}
    days = ["2025-02-24", "2025-02-25", "2025-02-26", "2025-02-27"]
    clean = Project(tmp_path / "clean")
    clean.copy_sample(days=days)
    clean.write_config({**sensitive, "sources": {s: {"path": str(tmp_path / "clean" / "input" / s / "{date}.csv")}
                                                 for s in ("node_log", "token_counts")}})
    project = Project(tmp_path / "faulty")
    project.copy_sample(days=days)
    config = project.write_config({**sensitive, "sources": {
        s: {"path": str(tmp_path / "faulty" / "input" / s / "{date}.csv")} for s in ("node_log", "token_counts")}})
    token_file = tmp_path / "faulty" / "input" / "token_counts" / "2025-02-26.csv"
    good = token_file.read_bytes()
    token_file.write_text("not,a,token,file\n")
    span = ["--start", days[0], "--end", days[-1]]

    def backfill(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "openbooks.cli", "backfill", *args], capture_output=True,
                              text=True, env={**os.environ, "COLUMNS": "250"}, timeout=600)

    assert backfill(*span, "--config", str(clean.config_path)).returncode == 0
    assert backfill(*span, "--config", str(project.config_path)).returncode == 1
    anomalies = "SELECT figure, value, median, window_days FROM anomalies WHERE day = '2025-02-27' ORDER BY figure"
    assert published(config, anomalies) != published(clean.config, anomalies)  # found without 2025-02-26

    token_file.write_bytes(good)
    done = backfill(*span, "--only-failed", "--config", str(project.config_path))
    assert done.returncode == 0, done.stderr
    note = [line for line in done.stdout.splitlines() if line.startswith("note: ")]
    assert note == ["note: 1 later published day(s), 2025-02-27 to 2025-02-27, had their anomalies found without "
                    "the day(s) just fixed; recompute them with: openbooks backfill --start 2025-02-27 "
                    "--end 2025-02-27"], done.stdout
    assert published(config, anomalies) != published(clean.config, anomalies)  # said, not rewritten unasked

    done = backfill("--start", "2025-02-27", "--end", "2025-02-27", "--config", str(project.config_path))
    assert done.returncode == 0, done.stderr
    assert published(config, anomalies) == published(clean.config, anomalies)
    from openbooks.flows.checks.anomalies import published_anomalies
    from openbooks.flows.report.anomaly_lines import descriptions

    report = (tmp_path / "faulty" / "reports" / "2025-02-27.md").read_text()
    lines = descriptions(published_anomalies(clean.config, DAY))
    assert lines and all(line.removeprefix("2025-02-27 ") in report for line in lines), report


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_stops_on_ctrl_c_without_a_traceback(project, tmp_path, sig):
    """Issue 24 §4: ``serve`` printed a KeyboardInterrupt traceback on
    Ctrl-C. The terminal's Ctrl-C goes to the whole foreground group; a
    service manager's SIGTERM too (systemd's default KillMode)."""
    from openbooks.flows.runtime.prefect_server import stop_group

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "openbooks.cli", "serve", "--config", str(project.config_path),
             "--interval", "3600", "--day", "2025-02-27"],
            cwd=project.root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while "serving daily-books" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.5)
        time.sleep(3)
        os.killpg(process.pid, sig)
        sent = time.monotonic()
        process.wait(timeout=90)
        assert time.monotonic() - sent < 30, log.read_text()
        assert "Traceback" not in log.read_text() and "KeyboardInterrupt" not in log.read_text(), log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        import re

        started = re.search(r"\(pid (\d+)", log.read_text().replace("\n", " "))
        if started:
            try:
                stop_group(int(started.group(1)))
            except OSError:
                pass


def test_the_prefect_api_going_away_after_publishing_is_one_line_not_a_failure(project, capsys):
    """Issue 24 §4: the local Prefect server killed mid-run gave a raw
    ConnectError and exit 1 although the day was published. The API's
    going away is a real refused connection here (a port nothing listens on)."""
    import httpx

    from openbooks.cli.days import run_through_api_loss
    from openbooks.flows.daily import daily_books
    from tests.servers import free_port

    def api_gone():
        httpx.post(f"http://127.0.0.1:{free_port()}/api/flow_runs/", json={})

    with pytest.raises(OpenbooksError) as info:  # nothing published yet: the run failed, said in one line
        run_through_api_loss(project.config, DAY, api_gone)
    assert str(info.value).startswith("the Prefect API went away during the run (ConnectError: ")
    assert str(info.value).endswith("2025-02-27 is not started in run_log: nothing of this run was published")
    daily_books(DAY, str(project.config_path))
    capsys.readouterr()
    assert run_through_api_loss(project.config, DAY, api_gone) is None  # published: not a failure
    out = capsys.readouterr().out
    assert out.startswith("warning: the Prefect API went away during the run (ConnectError: ")
    assert "2025-02-27 was published (run " in out and out.count("\n") == 1


def test_the_local_prefect_api_killed_mid_run_is_one_line_and_the_published_day_exit_0(project, tmp_path):
    """Issue 24 §4, for real: the project's own local Prefect server (``openbooks
    server start``) is SIGKILLed as the run starts. The run goes on and
    publishes; the command says so in one line, exit 0, with no Prefect ERROR
    line and no two minutes of Prefect's retries."""
    from openbooks.flows.runtime.prefect_api import read_state, state_dir
    from openbooks.flows.runtime.prefect_server import alive, stop_group

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false",
               COLUMNS="250")
    command = [sys.executable, "-m", "openbooks.cli"]
    config = ["--config", str(project.config_path)]
    try:
        started = subprocess.run([*command, "server", "start", *config], env=env, capture_output=True, text=True,
                                 timeout=600)
        assert started.returncode == 0, started.stderr
        server = read_state(state_dir(project.config))
        proc = subprocess.Popen([*command, "run", "--date", "2025-02-27", *config], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _wait_for_running(project.config, proc)
        os.killpg(server.pid, signal.SIGKILL)
        killed = time.monotonic()
        out, err = proc.communicate(timeout=300)
        assert time.monotonic() - killed < 60, (out, err)  # Prefect's retries alone took over two minutes
    finally:
        server = read_state(state_dir(project.config))
        if server is not None and alive(server.pid):
            stop_group(server.pid)
    assert proc.returncode == 0, (out, err)
    assert "ERROR" not in err and "Traceback" not in err and "ConnectError" not in err, err
    [line] = out.splitlines()
    assert line.startswith("warning: the Prefect API went away during the run ("), line
    assert "2025-02-27 was published (run " in line and line.endswith("its Prefect run record is incomplete")
    assert published(project.config, "SELECT status FROM run_log") == [("published",)]
    [(gpu_cost,)] = published(project.config, "SELECT gpu_cost_usd FROM daily_economics")
    assert round(gpu_cost) == 87072
    assert (project.root / "reports" / "2025-02-27.html").exists()


def test_a_huge_slurm_gpu_count_is_a_problem_of_its_row_not_of_the_results():
    """Issue 24 §1: gres/gpu=2^70 was caught only by the results suite."""
    from openbooks.flows.sources.limits import MAX_GPUS_PER_ROW
    from openbooks.flows.sources.slurm_sacct import gpus_by_type

    assert gpus_by_type(f"cpu=64,gres/gpu={2 ** 70}") is None  # the row's problem: expected whole GPU counts
    assert gpus_by_type(f"gres/gpu:h800={MAX_GPUS_PER_ROW + 1}") is None
    assert gpus_by_type("cpu=64,gres/gpu=8") == {None: 8}
