"""The daily flow: ingest → stage → validate inputs → compute → validate
results → publish → report, each step a Prefect task. Request-level logs,
when configured, are read and aggregated in a task of their own, submitted
first, so that the heavy scan runs while the node log is ingested, staged and
validated.

A run holds its day's lock throughout and the warehouse only for the
statement at hand. Nothing is published unless every expectation holds; a
failed run is recorded in ``run_log`` with its reason and leaves the
published tables and the report as they were.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows import compute as compute_mod
from flows import coverage
from flows import ingest, publish, report, request_logs, schedule, stage, validate
from flows.artifacts import publish_artifacts
from flows.compute import Books, DayWindow
from flows.economics import checked_frames
from flows.ingest import SourceFile
from flows.runlog import RunRecord, finish_run, record_config, start_run
from flows.warehouse import day_lock, ensure_schema, session
from openbooks.config import DEFAULT_CONFIG, Config, load_config
from openbooks.errors import InputError, OpenbooksError, ValidationFailed
from transforms import customers

SOURCES = ("node_log", "token_counts")


def _run_id() -> str:
    from prefect.runtime import flow_run

    return str(flow_run.id or uuid.uuid4())


@task(cache_policy=NONE)
def ingest_sources(config: Config, day: date, run_id: str) -> dict[str, list[SourceFile]]:
    """Load new or changed source files into the raw tables."""
    listed = {source: ingest.list_source_files(config, source, day) for source in configured_sources(config)}
    problems, read = [], 0
    with session(config) as con:
        for files in listed.values():
            for file in files:
                was_read, file_problems = ingest.ingest_file(con, config, file, run_id)
                read += was_read
                problems += file_problems
    get_run_logger().info("ingest: %d file(s) listed, %d read", sum(map(len, listed.values())), read)
    if problems:
        raise InputError("\n".join(problems))
    return listed


def configured_sources(config: Config) -> list[str]:
    return [source for source in SOURCES if getattr(config.sources, source) is not None]


@task(cache_policy=NONE)
def stage_requests(config: Config, window: DayWindow, run_id: str) -> request_logs.RequestUsage:
    """The day's request-level logs, aggregated by hour and by customer in
    DuckDB; files recorded in raw.files, sampled bad rows in quarantine. Runs
    beside the node log's staging and validation (it reads only its own files)."""
    paths = request_logs.list_request_files(config, window.day)
    prices_change = compute_mod.price_change_hours(config, window)
    usage = request_logs.aggregate_requests(
        config, paths, day_start=window.start, day_end=window.end, hours=window.hours,
        priced_models=_input_parameters(config)["priced_models"], price_change_hours=prices_change,
        scoped_to_day=stage.is_scoped_to_day(config, request_logs.SOURCE),
    )
    quarantined = request_logs.quarantine_rows(usage, _requests_expected(config), run_id, window.day)
    with session(config) as con:
        request_logs.record_files(con, usage, config.sources.requests.file_format(paths[0]))
        if quarantined:
            con.executemany("INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())", quarantined)
    get_run_logger().info("requests: %d file(s), %d rows, %s", len(paths), usage.rows,
                          "each price period scanned on its own" if usage.by_period else "in one pass")
    return usage


def _requests_expected(config: Config) -> dict[str, str]:
    suite = validate.load_suite_file(config.expectations_dir / "requests.json")
    return {e["kwargs"]["column"]: (e.get("meta") or {}).get("expected", e["type"]) for e in suite["expectations"]}


@task(cache_policy=NONE)
def stage_inputs(
    config: Config, window: DayWindow, files: dict[str, list[SourceFile]], record: RunRecord
) -> dict[str, pl.DataFrame]:
    """The day's typed node log (and token counts, when that source is configured)."""
    frames, problems = {}, []
    with session(config) as con:
        for source in configured_sources(config):
            frames[source], source_problems = stage.stage_source(
                con, source, files[source], day=window.day, day_start=window.start, day_end=window.end,
                run_id=record.run_id, scoped_to_day=stage.is_scoped_to_day(config, source),
            )
            problems += source_problems
    record.quarantined_rows += len(problems)
    if problems:
        raise InputError("\n".join(problems))
    return frames


def _input_parameters(config: Config) -> dict:
    card = config.price_book.cards[config.price_book.card]
    return {"gpu_types": sorted(config.hardware), "priced_models": sorted(card.models)}


@task(cache_policy=NONE)
def validate_node_log(config: Config, window: DayWindow, node_log: pl.DataFrame, record: RunRecord) -> list[str]:
    """The node log's suite (while request logs are still being read); its
    problems are reported with the token counts' by ``validate_inputs``."""
    return _validate_input(config, window, "node_log", node_log, record)


@task(cache_policy=NONE)
def validate_inputs(config: Config, window: DayWindow, token_counts: pl.DataFrame, record: RunRecord,
                    usage: request_logs.RequestUsage | None = None, earlier: list[str] | None = None) -> None:
    """The token counts' suite and the request logs' checks; fails with every
    input problem, ``earlier`` ones (the node log's) first. Rows that fail go
    to quarantine with the reason."""
    problems = list(earlier or [])
    if usage is not None:  # the request logs' per-check counts, computed in SQL over every row
        outcome = validate.validate_frame(usage.summary, config.expectations_dir / "requests.json", {})
        record.validation_summary.append(outcome.summary())
        for failure in outcome.failures:
            problems += request_logs.failure_lines(usage, failure.column, failure.expected) or [
                f"{request_logs.SOURCE} column {failure.column}: expected {failure.expected}, got {failure.value}"
            ]
    problems += _validate_input(config, window, "token_counts", token_counts, record)
    if problems:
        record.validation_success = False
        raise ValidationFailed("\n".join(problems))


def _validate_input(config: Config, window: DayWindow, source: str, frame: pl.DataFrame, record: RunRecord) -> list[str]:
    """One input suite over ``frame``: its problems, one line each; failing rows quarantined."""
    outcome = validate.validate_frame(
        frame, config.expectations_dir / f"{source}.json", _input_parameters(config), **_docs(config, record)
    )
    record.validation_summary.append(outcome.summary())
    _record_docs(config, record, outcome)
    if outcome.success:
        return []

    def label(i: int) -> str:
        return f"{ingest.display_path(frame['source_file'][i])} line {frame['line'][i]}"

    record.quarantined_rows += _quarantine_failures(config, source, frame, outcome, window.day, record.run_id)
    return validate.describe_failures(outcome, label, config.business_day.timezone)


def _docs(config: Config, record: RunRecord) -> dict:
    """Where validation results are rendered as GX Data Docs, and under which run."""
    return {"docs_dir": config.report_dir / "data_docs", "run_name": record.run_id}


def _record_docs(config: Config, record: RunRecord, outcome: validate.SuiteOutcome) -> None:
    if outcome.docs_page is not None:
        record.data_docs[outcome.suite] = outcome.docs_page.relative_to(config.report_dir).as_posix()


def _quarantine_failures(config: Config, source: str, frame: pl.DataFrame, outcome: validate.SuiteOutcome,
                         day: date, run_id: str) -> int:
    rows = [
        [run_id, day, source, frame["source_file"][f.row], None, int(frame["line"][f.row]), f.column,
         None if f.value is None else str(f.value), f"expected {f.expected}"]
        for f in outcome.failures if f.row is not None
    ]
    if rows:
        with session(config) as con:
            con.executemany(
                "INSERT INTO quarantine (run_id, day, source, source_file, content_hash, line, column_name, "
                "value, reason, quarantined_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                rows,
            )
    return len(rows)


@task(cache_policy=NONE)
def compute_books(config: Config, window: DayWindow, node_log: pl.DataFrame, token_counts: pl.DataFrame,
                  usage: request_logs.RequestUsage | None = None) -> Books:
    books = compute_mod.compute_books(config, window, node_log, token_counts)
    if usage is not None:
        books.customers = compute_mod.customer_books(config, books, usage.customers)
    return books


@task(cache_policy=NONE)
def check_coverage(config: Config, books: Books, record: RunRecord) -> None:
    """Every moment of the day covered by the node log (a gap fails the run)."""
    w = books.window
    problems = coverage.gap_problems(config, books.node_log, books.steps, day=w.day, day_start=w.start,
                                     day_end=w.end, run_id=record.run_id)
    record.quarantined_rows += len(problems)
    if problems:
        record.validation_success = False
        raise ValidationFailed("\n".join(problems))


@task(cache_policy=NONE)
def validate_results(config: Config, books: Books, record: RunRecord) -> None:
    """The result suites on the hourly and daily statements."""
    problems = []
    zone = config.business_day.timezone
    checked = [("hourly_economics", books.hourly), ("daily_economics", books.daily),
               *checked_frames(books.waterfall, books.cost_breakdown, books.models, books.daily)]
    if books.customers is not None:
        checked.append(("customer_economics", customers.reconcile(books.customers, books.daily)))
    for name, frame in checked:
        outcome = validate.validate_frame(
            frame, config.expectations_dir / f"{name}.json", {"hours_in_day": books.window.hours},
            **_docs(config, record),
        )
        record.validation_summary.append(outcome.summary())
        _record_docs(config, record, outcome)

        def label(i: int, frame: pl.DataFrame = frame, name: str = name) -> str:
            if "hour_start" in frame.columns:
                return f"{name} hour {frame['hour_start'][i].astimezone(ZoneInfo(zone)).isoformat()}"
            return f"{name} {books.window.day}"

        problems += validate.describe_failures(outcome, label)
    record.validation_success = not problems
    if problems:
        raise ValidationFailed("\n".join(problems))


@task(cache_policy=NONE)
def stage_results(config: Config, books: Books, record: RunRecord) -> None:
    frames = publish.staged_frames(books, record.run_id, config.hash)
    with session(config) as con:
        publish.write_staging(con, frames, record.run_id)


@task(cache_policy=NONE)
def render_report(config: Config, books: Books, record: RunRecord) -> report.Report:
    return report.render(
        daily=books.daily, hourly=books.hourly, steps=books.steps, timezone=config.business_day.timezone,
        validation=record.validation_summary, run_id=record.run_id, config_hash=config.hash,
        generated_at=datetime.now(UTC), customers=books.customers,
        waterfall=books.waterfall, scenarios=books.scenarios, cost_breakdown=books.cost_breakdown,
        claims=books.claims_audit, data_docs=record.data_docs,
    )


@task(cache_policy=NONE)
def publish_day(config: Config, day: date, record: RunRecord) -> bool:
    """Publish the staged day; False when it equals what is published already."""
    with session(config) as con:
        changed = publish.publish_day(con, day, record.run_id)
        finish_run(con, record, "published" if changed else "unchanged")
    return changed


@task(cache_policy=NONE)
def write_report(config: Config, rendered: report.Report) -> list[str]:
    return [str(p) for p in report.write_report(config.report_dir, rendered)]


def run_day(config: Config, day: date, run_id: str | None = None) -> dict:
    """Run one business day end to end; returns its ``daily_economics`` row."""
    run_id = run_id or _run_id()
    record = RunRecord(run_id, day, str(config.file), config.hash)
    with day_lock(config, day):
        with session(config) as con:
            ensure_schema(con)
            con.execute(
                "UPDATE run_log SET status = 'failed', finished_at = now(), "
                "error = 'interrupted: the process ended before the run finished' "
                "WHERE day = ? AND status = 'running'",
                [day],
            )
            publish.discard_staging(con, day)
            start_run(con, record)
            record_config(con, config)
        try:
            window = compute_mod.day_window(config, day)
            # Request logs are read in the background while the node log is loaded and checked.
            reading = stage_requests.submit(config, window, run_id) if config.sources.requests is not None else None
            try:
                files = ingest_sources(config, day, run_id)
                staged = stage_inputs(config, window, files, record)
                node_log = compute_mod.flag_node_log(window, staged["node_log"])
                node_problems = validate_node_log(config, window, node_log, record)
            except BaseException:
                if reading is not None:
                    reading.wait()
                raise
            usage = reading.result() if reading is not None else None
            token_counts = compute_mod.token_counts(window, staged.get("token_counts"), None if usage is None else usage.hourly)
            record.node_rows, record.token_rows = node_log.height, token_counts.height
            if usage is not None:
                record.quarantined_rows += usage.sampled_rows
            validate_inputs(config, window, token_counts, record, usage, node_problems)
            books = compute_books(config, window, node_log, token_counts, usage)
            check_coverage(config, books, record)
            validate_results(config, books, record)
            stage_results(config, books, record)
            rendered = render_report(config, books, record)
            changed = publish_day(config, day, record)
        except BaseException as exc:
            _record_failure(config, record, exc)
            raise
        if changed or not all(p.exists() for p in report.report_paths(config.report_dir, day.isoformat())):
            write_report(config, rendered)
        publish_artifacts(rendered, books.hourly, config.business_day.timezone)
    status = "published" if changed else "unchanged"
    return books.daily.with_columns(run_id=pl.lit(run_id), status=pl.lit(status)).row(0, named=True)


def _record_failure(config: Config, record: RunRecord, exc: BaseException) -> None:
    reason = str(exc) if isinstance(exc, OpenbooksError) else f"{type(exc).__name__}: {exc}"
    try:
        with session(config) as con:
            finish_run(con, record, "failed", reason)
    except OpenbooksError:
        pass  # the warehouse itself is the problem; the original error says more


def _flow_run_name() -> str:
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    if parameters.get("day"):
        return f"books-{parameters['day']}"
    try:  # a scheduled run: named after the day it books
        return f"books-{schedule.scheduled_day(load_config(parameters.get('config_path', DEFAULT_CONFIG)))}"
    except OpenbooksError:
        return f"books-scheduled-{schedule.scheduled_time():%Y%m%dT%H%M}"


@flow(name="daily-books", flow_run_name=_flow_run_name, log_prints=True, on_failure=[schedule.report_failure])
def daily_books(day: date | None = None, config_path: str = str(DEFAULT_CONFIG)) -> dict:
    """Compute, validate and publish the books of one business day; without
    a day, the one that ended most recently before the run's scheduled time.
    A deployment run first waits for its inputs (retrying transient errors)."""
    config = load_config(config_path)
    day = day or schedule.scheduled_day(config)
    if schedule.is_deployment_run():
        try:
            schedule.wait_for_sources(config, day)
        except OpenbooksError as exc:
            schedule.record_not_started(config, day, _run_id(), f"not started: {exc}")
            raise
    return run_day(config, day)
