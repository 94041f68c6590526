"""Scheduled runs on the real Prefect engine (the session harness): the
deployment `openbooks serve` registers, the day a scheduled run books,
retries, artifacts and the failure webhook."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, time, timedelta
from http.server import HTTPServer

import duckdb
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, FlowRunFilter
from prefect.deployments import run_deployment
from prefect.flow_engine import run_flow
from prefect.states import Failed

from openbooks.flows.daily import daily_books
from openbooks.flows.runtime.schedule import retry_transient
from openbooks.flows.serve import daily_deployment
from openbooks.errors import SourceNotFound, ValidationFailed, WarehouseBusy
from tests.webhook import Webhook
from tests.conftest import SAMPLE
from openbooks.transforms.calendar import booked_day, last_ended_day

DAY = date(2025, 2, 27)
NOON = time(12, 0)


def negative_output_tokens(path) -> None:
    """Line 6 of a token-count file gets output_tokens = -3."""
    lines = path.read_text().splitlines()
    fields = lines[5].split(",")
    fields[5] = "-3"
    lines[5] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")


def rows(config, sql: str, params=None):
    con = duckdb.connect(str(config.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 12:30 Shanghai on the 28th: the day that began at noon on the 27th has just ended.
        (datetime(2025, 2, 28, 4, 30, tzinfo=UTC), date(2025, 2, 27)),
        # 11:59 Shanghai on the 28th: it has not; the last one to end began on the 26th.
        (datetime(2025, 2, 28, 3, 59, tzinfo=UTC), date(2025, 2, 26)),
        # Exactly at the end counts as ended.
        (datetime(2025, 2, 28, 4, 0, tzinfo=UTC), date(2025, 2, 27)),
        # 16:30 UTC on the 28th is 00:30 on 1 March in Shanghai: both calendars
        # have moved on, and the day that ended is still the 27th.
        (datetime(2025, 2, 28, 16, 30, tzinfo=UTC), date(2025, 2, 27)),
        # 23:30 UTC on the 27th is 07:30 on the 28th in Shanghai: before noon there.
        (datetime(2025, 2, 27, 23, 30, tzinfo=UTC), date(2025, 2, 26)),
    ],
)
def test_last_ended_day_reads_the_moment_in_the_business_timezone(moment, expected):
    assert last_ended_day(moment, "Asia/Shanghai", NOON) == expected


def test_last_ended_day_across_dst():
    # New York, day starts 00:00: the day of 2025-03-09 has 23 hours and ends at 04:00 UTC on the 10th.
    assert last_ended_day(datetime(2025, 3, 10, 4, 0, tzinfo=UTC), "America/New_York", time(0)) == date(2025, 3, 9)
    assert last_ended_day(datetime(2025, 3, 10, 3, 59, tzinfo=UTC), "America/New_York", time(0)) == date(2025, 3, 8)


def test_last_ended_day_refuses_a_naive_time():
    with pytest.raises(ValueError, match="timezone-aware"):
        last_ended_day(datetime(2025, 2, 28, 12, 30), "Asia/Shanghai", NOON)


@pytest.mark.parametrize(
    ("moment", "timezone", "start", "offset", "expected"),
    [
        # No offset: the day that just ended.
        (datetime(2025, 2, 28, 4, 30, tzinfo=UTC), "Asia/Shanghai", NOON, 0, date(2025, 2, 27)),
        # 12:30 Shanghai on 1 March: 28 February has just ended; one day back is the 27th.
        (datetime(2025, 3, 1, 4, 30, tzinfo=UTC), "Asia/Shanghai", NOON, 1, date(2025, 2, 27)),
        # 00:30 on 1 March in Shanghai is still 28 February in UTC: the business timezone decides.
        (datetime(2025, 2, 28, 16, 30, tzinfo=UTC), "Asia/Shanghai", NOON, 2, date(2025, 2, 25)),
        # Back across the month and a leap day.
        (datetime(2024, 3, 2, 4, 30, tzinfo=UTC), "Asia/Shanghai", NOON, 2, date(2024, 2, 28)),
        # New York springs forward on 9 March 2025: 9 March is 23 hours long, and a
        # one-day offset from the 10th still lands on the 8th's date, not an hour off.
        (datetime(2025, 3, 11, 4, 0, tzinfo=UTC), "America/New_York", time(0), 1, date(2025, 3, 9)),
        (datetime(2025, 3, 10, 4, 0, tzinfo=UTC), "America/New_York", time(0), 1, date(2025, 3, 8)),
        (datetime(2025, 3, 10, 3, 59, tzinfo=UTC), "America/New_York", time(0), 1, date(2025, 3, 7)),
        # It falls back on 2 November 2025: 2 November is 25 hours long, ending 05:00 UTC on the 3rd.
        (datetime(2025, 11, 3, 5, 0, tzinfo=UTC), "America/New_York", time(0), 1, date(2025, 11, 1)),
        (datetime(2025, 11, 3, 4, 59, tzinfo=UTC), "America/New_York", time(0), 1, date(2025, 10, 31)),
        # A business day that starts at 02:30 in Berlin, across its spring DST gap (02:00 -> 03:00 on 30 March).
        (datetime(2025, 3, 31, 0, 30, tzinfo=UTC), "Europe/Berlin", time(2, 30), 1, date(2025, 3, 29)),
        (datetime(2025, 3, 31, 0, 29, tzinfo=UTC), "Europe/Berlin", time(2, 30), 1, date(2025, 3, 28)),
    ],
)
def test_booked_day_is_whole_business_days_before_the_one_that_ended(moment, timezone, start, offset, expected):
    assert booked_day(moment, timezone, start, offset) == expected
    assert booked_day(moment, timezone, start, offset) == last_ended_day(moment, timezone, start) - timedelta(offset)


def test_booked_day_refuses_a_negative_offset():
    with pytest.raises(ValueError, match="0 or more"):
        booked_day(datetime(2025, 2, 28, 4, 30, tzinfo=UTC), "Asia/Shanghai", NOON, -1)


def test_serving_registers_the_configured_schedule_and_parameters(project):
    config = project.write_config({"schedule": {"cron": "45 12 * * 1-5", "timezone": "Asia/Shanghai"}})
    deployment_id = daily_deployment(config).apply()
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment(deployment_id)
        flow = client.read_flow(deployment.flow_id)
    assert (flow.name, deployment.name) == ("daily-books", "daily")
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "45 12 * * 1-5"
    assert schedule.schedule.timezone == "Asia/Shanghai"
    assert schedule.active
    assert deployment.parameters == {"config_path": str(project.config_path)}
    assert set(deployment.parameter_openapi_schema["properties"]) == {"day", "config_path", "day_offset"}


def test_a_scheduled_run_with_a_day_offset_books_that_many_days_earlier(project):
    # Scheduled at 12:30 on 1 March in Shanghai: 28 February has just ended; one day back is the 27th.
    deployment_id = daily_deployment(project.config, day_offset=1).apply()
    with get_client(sync_client=True) as client:
        assert client.read_deployment(deployment_id).parameters["day_offset"] == 1
    flow_run = run_deployment("daily-books/daily", scheduled_time=datetime(2025, 3, 1, 4, 30, tzinfo=UTC),
                              timeout=0, as_subflow=False)
    state = run_flow(daily_books, flow_run=flow_run, parameters=flow_run.parameters, return_type="state")
    assert state.is_completed(), state.message
    assert state.result()["day"] == DAY
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(flow_run.id).name == "books-2025-02-27"


def _deployment_run(config, scheduled: datetime):
    """A flow run of the daily deployment scheduled at ``scheduled``, executed
    here by the real engine as a worker would."""
    daily_deployment(config).apply()
    flow_run = run_deployment("daily-books/daily", scheduled_time=scheduled, timeout=0, as_subflow=False)
    state = run_flow(daily_books, flow_run=flow_run, parameters=flow_run.parameters, return_type="state")
    return flow_run, state


def _task_runs(flow_run_id) -> dict[str, object]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [flow_run_id]}))
    return {run.name.rsplit("-", 1)[0]: run for run in runs}


def test_a_scheduled_run_books_the_day_that_ended_before_its_scheduled_time(project):
    # Scheduled at 00:30 on 1 March in Shanghai (16:30 UTC on 28 February): it books 27 February.
    flow_run, state = _deployment_run(project.config, datetime(2025, 2, 28, 16, 30, tzinfo=UTC))
    assert state.is_completed(), state.message
    assert state.result()["day"] == DAY
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(flow_run.id).name == "books-2025-02-27"
    assert rows(project.config, "SELECT day, status FROM run_log") == [(DAY, "published")]
    assert rows(project.config, "SELECT run_id FROM daily_economics") == [(str(flow_run.id),)]


def test_a_transient_error_is_retried_and_a_validation_failure_is_not(project):
    project.copy_sample(days=["2025-02-26"])  # the 27th's files have not arrived
    config = project.write_config(
        {
            "sources": {s: {"path": str(project.root / "input" / s / "{date}.csv")} for s in ("node_log", "token_counts")},
            "schedule": {"retries": 2, "retry_delay_seconds": 0},
        }
    )
    flow_run, state = _deployment_run(config, datetime(2025, 2, 28, 4, 30, tzinfo=UTC))
    assert state.is_failed()
    with pytest.raises(SourceNotFound):
        state.result()
    assert _task_runs(flow_run.id)["sources_ready"].run_count == 3  # the first try and two retries
    ((status, reason),) = rows(config, "SELECT status, error FROM run_log WHERE run_id = ?", [str(flow_run.id)])
    assert status == "failed" and reason.startswith("not started: no node_log file for 2025-02-27")

    # The files arrive, one with a negative count: validation fails, once.
    inputs = project.root / "input"
    for source in ("node_log", "token_counts"):
        (inputs / source / "2025-02-27.csv").write_bytes((SAMPLE / source / "2025-02-27.csv").read_bytes())
    negative_output_tokens(inputs / "token_counts" / "2025-02-27.csv")
    flow_run, state = _deployment_run(config, datetime(2025, 2, 28, 4, 30, tzinfo=UTC))
    with pytest.raises(ValidationFailed):
        state.result()
    runs = _task_runs(flow_run.id)
    assert runs["sources_ready"].run_count == 1
    assert runs["check_inputs"].run_count == 1  # the day's inputs checked once: a failure is not retried


def test_a_day_waiting_for_its_inputs_is_one_line_on_the_run_output_each_try(capsys):
    from openbooks.flows.runtime.schedule import sources_ready

    waiting = sources_ready.with_options(retries=3, retry_delay_seconds=600)
    assert retry_transient(waiting, None, Failed(data=SourceNotFound("no node_log file for 2025-02-27\nmore")), DAY)
    assert capsys.readouterr().out == "2025-02-27 waiting (retrying in 600 s): no node_log file for 2025-02-27 more\n"
    assert not retry_transient(waiting, None, Failed(data=ValidationFailed("bad row")), DAY)
    assert capsys.readouterr().out == ""


def test_the_retry_condition_retries_transient_errors_only():
    assert retry_transient(None, None, Failed(data=SourceNotFound("no file yet")))
    assert retry_transient(None, None, Failed(data=WarehouseBusy("busy")))
    assert not retry_transient(None, None, Failed(data=ValidationFailed("bad row")))
    assert not retry_transient(None, None, Failed(data=ZeroDivisionError("bug")))


def test_a_run_publishes_its_books_as_artifacts_and_data_docs(project):
    project.write_config({"reports": {"data_docs": "always"}})
    daily_books(DAY, str(project.config_path))
    with get_client(sync_client=True) as client:
        books = client.read_artifacts(artifact_filter=ArtifactFilter(key={"any_": ["books-2025-02-27"]}))
        hourly = client.read_artifacts(artifact_filter=ArtifactFilter(key={"any_": ["hourly-2025-02-27"]}))
    (run_id,) = rows(project.config, "SELECT run_id FROM daily_economics")[0]
    books = [a for a in books if str(a.flow_run_id) == run_id]
    hourly = [a for a in hourly if str(a.flow_run_id) == run_id]
    assert [a.type for a in books] == ["markdown"] and [a.type for a in hourly] == ["table"]
    assert "$87,072" in books[0].data and "$562,027" in books[0].data and "545%" in books[0].data
    table = json.loads(hourly[0].data) if isinstance(hourly[0].data, str) else hourly[0].data
    assert len(table) == 24 and table[0]["GPU cost"] == "$4,448"

    report = (project.config.report_dir / "2025-02-27.md").read_text()
    docs = project.config.report_dir / "data_docs" / "validations"
    pages = {p.relative_to(docs).parts[0] for p in docs.glob(f"*/{run_id}/*/*.html")}
    assert pages >= {"daily_economics", "hourly_economics", "node_log", "token_counts"}  # one per suite run
    for page in docs.glob(f"*/{run_id}/*/*.html"):
        assert page.relative_to(project.config.report_dir).as_posix() in report




def test_a_failed_run_posts_its_reason_to_the_webhook(project):
    server = HTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        inputs = project.copy_sample(days=["2025-02-27"])
        url = f"http://127.0.0.1:{server.server_port}/hook"
        project.write_config(
            {
                "sources": {s: {"path": str(inputs / s / "{date}.csv")} for s in ("node_log", "token_counts")},
                "notifications": {"webhook_url": url},
            }
        )
        negative_output_tokens(inputs / "token_counts" / "2025-02-27.csv")
        Webhook.received.clear()
        with pytest.raises(ValidationFailed):
            daily_books(DAY, str(project.config_path))
    finally:
        server.shutdown()
        server.server_close()
    (payload,) = Webhook.received
    assert payload["flow"] == "daily-books" and payload["flow_run"] == "books-2025-02-27"
    assert "line 6 column output_tokens: expected a count >= 0, got -3" in payload["reason"]
    assert payload["config_hash"] == project.config.hash


def test_deploy_registers_the_daily_and_backfill_flows_with_a_process_pool(project):
    from prefect.client.schemas.actions import WorkPoolCreate

    from openbooks.flows.serve import PROJECT, run_deploy

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="openbooks-test", type="process"), overwrite=True)
    labels = run_deploy(project.config, pool="openbooks-test", echo=lambda *_: None)
    with get_client(sync_client=True) as client:
        daily = client.read_deployment_by_name("daily-books/daily")
    assert labels[0] == "daily-books/daily (cron '30 12 * * *', Asia/Shanghai)"
    assert daily.work_pool_name == "openbooks-test" and daily.entrypoint == "openbooks.flows.daily:daily_books"
    assert daily.path == str(PROJECT) and daily.parameters == {"config_path": str(project.config_path)}
    assert daily.schedules[0].schedule.cron == "30 12 * * *"
    if (PROJECT / "flows" / "backfill.py").exists():
        assert len(labels) == 2 and "/backfill" in labels[1]
