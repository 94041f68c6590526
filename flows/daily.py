"""The daily flow: read inputs → validate inputs → compute → validate
results → publish → report, each step a Prefect task. Every configured
source is read by its kind (``flows.sources``, driven by ``flows.inputs``);
sources other than the node log are read in tasks of their own, submitted
first, so that the heavy request scan runs while the node log is read,
staged and validated.

A run holds its day's lock throughout and the warehouse only for the
statement at hand. Nothing is published unless every expectation holds; a
failed run is recorded in ``run_log`` with its reason and leaves the
published tables and the report as they were.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.logging import get_logger

from openbooks.flows import compute as compute_mod
from openbooks.flows import (
    coverage, day_books, failed_runs, inputs, plausibility, publish, report, schedule, skipped, validate, warm,
)
from openbooks.flows.compute import Books, DayWindow, checked_frames
from openbooks.flows.report import anomalies as anomalies_mod
from openbooks.flows.report.artifacts import publish_artifacts
from openbooks.flows.report.site import write_site
from openbooks.flows.runlog import RunRecord, finish_run, record_config, start_runs
from openbooks.flows.schema import ANOMALIES
from openbooks.flows.sources.base import SourceResult
from openbooks.flows.warehouse import day_lock, ensure_schema, registered, session
from openbooks.config import DEFAULT_CONFIG, Config, load_config
from openbooks.errors import InputError, OpenbooksError, ValidationFailed
from openbooks.transforms import cost, customers, whatif
from openbooks.transforms.capacity import SERVING_ROLES


def _run_id() -> str:
    from prefect.runtime import flow_run

    return str(flow_run.id or uuid.uuid4())


@task(cache_policy=NONE)
def validate_node_log(config: Config, window: DayWindow, node_log: pl.DataFrame, record: RunRecord) -> list[str]:
    """The node log's suite (while other sources are still being read); its
    problems are reported with the token counts' by ``validate_inputs``."""
    problems = inputs.validate_feed(config, window, "node_log", node_log, record)
    return problems or inputs.zero_node_problems(config, window, node_log, record)


@task(cache_policy=NONE)
def validate_inputs(config: Config, window: DayWindow, token_counts: pl.DataFrame, record: RunRecord,
                    results: dict[str, SourceResult], earlier: list[str] | None = None) -> None:
    """The kinds' own suites (the request logs' checks) and the token counts'
    suite; fails with every input problem, ``earlier`` ones (the node log's)
    first. Rows that fail go to quarantine with the reason."""
    problems = list(earlier or [])
    problems += inputs.validate_kinds(config, results, record)
    problems += inputs.validate_feed(config, window, "token_counts", token_counts, record)
    if problems:
        record.validation_success = False
        raise ValidationFailed("\n".join(problems))


def read_inputs(config: Config, window: DayWindow, record: RunRecord) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """Every source read through its kind: the node log's in the foreground
    (then staged and checked) while the others, the heavy request scan among
    them, are read in the background. Returns the flagged node log, the
    flagged token counts and every source's result."""
    node_sources = inputs.sources_feeding(config, ("node_log",))
    others = [name for name in config.sources.named() if name not in node_sources]
    background = {name: inputs.read_source.submit(config, name, window, record.run_id) for name in others}
    try:
        results = {name: inputs.read_source(config, name, window, record.run_id) for name in node_sources}
        inputs.note_results(record, results)
        inputs.raise_problems(results)
        node_log = node_log_of(config, window, results)
        node_problems = validate_node_log(config, window, node_log, record)
    finally:
        for future in background.values():
            future.wait()  # none left running, whatever failed
    later = {name: future.result() for name, future in background.items()}
    inputs.note_results(record, later)
    inputs.raise_problems(later)
    results.update(later)
    record.notes += skipped.skipped_lines(results)
    left_out = skipped.share_problems(config, results)
    if left_out:
        raise InputError("\n".join(left_out))
    token_counts = token_counts_of(config, window, results)
    record.node_rows, record.token_rows = node_log.height, token_counts.height
    validate_inputs(config, window, token_counts, record, results, node_problems)
    return node_log, token_counts, results


def node_log_of(config: Config, window: DayWindow, node_results: dict[str, SourceResult]) -> pl.DataFrame:
    """The day's node log, flagged, from the results of the sources feeding it
    (GPUs made nodes; replicas summed where the sources say so; an
    allocation source's stretch without allocations is zero nodes)."""
    return compute_mod.flag_node_log(window, inputs.node_log_frame(config, window, node_results), config=config,
                                     replicas_summed=inputs.replicas_summed(node_results))


def token_counts_of(config: Config, window: DayWindow, results: dict[str, SourceResult]) -> pl.DataFrame:
    """The day's token counts, flagged: the token-count sources' rows and the request logs' hourly totals."""
    token_results = [results[n] for n in inputs.sources_feeding(config, ("token_counts",))]
    return compute_mod.token_counts(window, inputs.joined(token_results), inputs.request_hourly(results))


@task(cache_policy=NONE)
def compute_books(config: Config, window: DayWindow, node_log: pl.DataFrame, token_counts: pl.DataFrame,
                  customers: pl.DataFrame | None = None, invoices: pl.DataFrame | None = None,
                  api_spend: pl.DataFrame | None = None) -> Books:
    return day_books.books_of(config, window, node_log, token_counts, customers, invoices, api_spend)


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
    for name, frame in result_frames(books):
        outcome = validate.validate_frame(
            frame, result_suite(config, name), result_parameters(books), **inputs.docs(config, record),
        )
        problems += result_problems(config, books, record, name, frame, outcome)
    record.validation_success = not problems
    if problems:
        raise ValidationFailed("\n".join(problems))


def result_frames(books: Books) -> list[tuple[str, pl.DataFrame]]:
    """(suite, frame) of every result suite the day's books are checked by, in order."""
    checked = [("hourly_economics", books.hourly), ("daily_economics", books.daily),
               *checked_frames(books.waterfall, books.cost_breakdown, books.models, books.daily)]
    if books.capacity is not None:
        checked.append(("capacity_by_role", cost.reconcile_roles(books.capacity, books.daily, SERVING_ROLES)))
    if books.customers is not None:
        checked.append(("customer_economics", customers.reconcile(books.customers, books.daily)))
    if books.plausibility is not None:
        checked.append(("plausibility", plausibility.checked_frame(books.plausibility)))
    if books.scenario_economics is not None:
        checked.append(("scenario_economics", whatif.reconcile(books.scenario_economics)))
    return checked


result_suite = plausibility.suite_file  # a result suite's file (the shipped gate's when a project's copy lacks it)


def result_parameters(books: Books) -> dict:
    return {"hours_in_day": books.window.hours}


def result_problems(config: Config, books: Books, record: RunRecord, name: str, frame: pl.DataFrame,
                    outcome: validate.SuiteOutcome) -> list[str]:
    """A result suite's outcome into the run's record; its failures, one line each."""
    zone = config.business_day.timezone
    record.validation_summary.append(outcome.summary())
    inputs.record_docs(config, record, outcome)
    if name == "plausibility":
        return plausibility.gate_lines(books.plausibility, outcome, zone)

    def label(i: int) -> str:
        if "hour_start" in frame.columns:
            return f"{name} hour {frame['hour_start'][i].astimezone(ZoneInfo(zone)).isoformat()}"
        return f"{name} {books.window.day}"

    return validate.describe_failures(outcome, label)


@task(cache_policy=NONE)
def stage_results(config: Config, books: Books, record: RunRecord) -> pl.DataFrame:
    """Stage the day's tables and its anomalies (against the published days
    before it); returns the anomalies."""
    frames = publish.staged_frames(books, record.run_id, config.hash)
    found = anomalies_mod.anomalies_of_run(config, books.daily, books.models)
    frames[ANOMALIES] = found.with_columns(run_id=pl.lit(record.run_id))
    with session(config) as con:
        publish.write_staging(con, frames, record.run_id)
    return found


@task(cache_policy=NONE)
def render_report(config: Config, books: Books, record: RunRecord, found: pl.DataFrame) -> report.Report:
    return report.render_day(*report_inputs(config, books, record, found))


def report_inputs(config: Config, books: Books, record: RunRecord, found: pl.DataFrame,
                  staged: dict | None = None) -> tuple[dict[str, pl.DataFrame], report.Context]:
    """What the day's report is rendered from: its tables as they will be
    published (``staged``, when the caller has them: ``publish.staged_frames``),
    and the run's context."""
    staged = staged if staged is not None else publish.staged_frames(books, record.run_id, config.hash)
    tables = {table.name: frame for table, frame in staged.items()}
    tables["anomalies"] = found
    context = report.Context(config.business_day.timezone, record.run_id, config.hash, datetime.now(UTC),
                             record.validation_summary, record.data_docs, record.skipped)
    return tables, context


def after_publish(config: Config, found: pl.DataFrame, changed: bool, run_id: str | None = None) -> None:
    """The report site rewritten and, when the day changed, its anomalies
    posted: neither ever fails the published day (a failure is a warning; the
    site is rewritten next time)."""
    rewrite_site(config)
    notify_anomalies(config, found, changed, run_id)


def rewrite_site(config: Config) -> None:
    """The report site (index and statements) rewritten; a failure is a warning."""
    try:
        write_site(config)
    except (OpenbooksError, OSError) as exc:
        get_logger("openbooks.daily").warning("report site not rewritten: %s", exc)


def notify_anomalies(config: Config, found: pl.DataFrame, changed: bool, run_id: str | None = None) -> None:
    """A day's anomalies posted to the webhook when the day changed; a
    failure is a warning on the run's output and a note in its ``run_log``
    row (the day stays published)."""
    problem = anomalies_mod.notify(config, found) if changed else None
    if problem:
        get_logger("openbooks.daily").warning(problem)
        print(f"warning: {problem}", file=sys.stderr, flush=True)
        if run_id is not None:
            note_run(config, run_id, problem)


def note_run(config: Config, run_id: str, note: str) -> None:
    """``note`` kept in the run's ``run_log`` error column (the run's status unchanged)."""
    from openbooks.redact import redact

    try:
        with session(config) as con:
            con.execute("UPDATE run_log SET error = coalesce(error || '; ', '') || ? WHERE run_id = ?",
                        [redact(note), run_id])
    except (OpenbooksError, duckdb.Error):
        pass  # the note is a courtesy: the warning was printed


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
    warm.warm_up()  # GX's import and the chart renderer's start, while the inputs are read
    with day_lock(config, day):
        try:
            begin_run(config, record)
            window = compute_mod.day_window(config, day)
            node_log, token_counts, results = read_inputs(config, window, record)
            books = compute_books(config, window, node_log, token_counts, inputs.request_customers(results),
                                  compute_mod.invoices_of(results), compute_mod.api_spend_of(results))
            check_coverage(config, books, record)
            validate_results(config, books, record)
            record.notes += plausibility.notes(books.plausibility)
            found = stage_results(config, books, record)
            rendered = render_report(config, books, record, found)
            changed = publish_day(config, day, record)
        except BaseException as exc:
            _record_failure(config, record, exc)
            raise
        if changed or not report.report_current(config.report_dir, rendered):
            write_report(config, rendered)
        publish_artifacts(rendered, books.hourly, config.business_day.timezone)
        after_publish(config, found, changed, run_id)
    status = "published" if changed else "unchanged"
    row = books.daily.with_columns(run_id=pl.lit(run_id), status=pl.lit(status)).row(0, named=True)
    return {**row, "notes": list(record.notes)}


def begin_run(config: Config, record: RunRecord) -> None:
    """The warehouse made ready (``prepare_warehouse``) and the day's run started (``start_day``)."""
    with session(config) as con:
        prepare_warehouse(con, config)
        start_day(con, record)


def prepare_warehouse(con, config: Config) -> None:
    """Every table there (new columns added), failed runs kept beside the
    warehouse folded into ``run_log``, the config recorded: once per run or
    range. The failed-runs file is made here, while the warehouse opens and
    there is room for it."""
    ensure_schema(con)
    failed_runs.reserve(config)
    failed_runs.fold(con, config)
    record_config(con, config)


def start_day(con, record: RunRecord) -> None:
    start_days(con, [record])


def start_days(con, records: list[RunRecord]) -> None:
    """Each day's run in ``run_log`` (an earlier run left 'running' marked
    interrupted), earlier runs' staged rows of those days dropped."""
    days = [record.day for record in records]
    with registered(con, "__days", pl.DataFrame({"day": days}, schema={"day": pl.Date})):
        con.execute(
            "UPDATE run_log SET status = 'failed', finished_at = now(), "
            "error = 'interrupted: the process ended before the run finished' "
            "WHERE day IN (SELECT day FROM __days) AND status = 'running'"
        )
    publish.discard_staging_days(con, days)
    start_runs(con, records)


INTERRUPTED = "interrupted: stopped by Ctrl-C or SIGTERM before the run finished"


def _record_failure(config: Config, record: RunRecord, exc: BaseException) -> None:
    from prefect.exceptions import TerminationSignal  # Prefect's own SIGTERM handler raises it in a flow

    if isinstance(exc, (KeyboardInterrupt, TerminationSignal)):
        reason = INTERRUPTED
    else:
        reason = str(exc) if isinstance(exc, OpenbooksError) else f"{type(exc).__name__}: {exc}"
    failed_runs.record_failed(config, record, reason)


def _flow_run_name() -> str:
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    if parameters.get("day"):
        return f"books-{parameters['day']}"
    try:  # a scheduled run: named after the day it books
        config = load_config(parameters.get("config_path", DEFAULT_CONFIG))
        return f"books-{schedule.scheduled_day(config, offset_days=parameters.get('day_offset') or 0)}"
    except OpenbooksError:
        return f"books-scheduled-{schedule.scheduled_time():%Y%m%dT%H%M}"


@flow(name="daily-books", flow_run_name=_flow_run_name, log_prints=True, on_failure=[schedule.report_failure])
def daily_books(day: date | None = None, config_path: str = str(DEFAULT_CONFIG), day_offset: int = 0) -> dict:
    """Compute, validate and publish the books of one business day; without
    a day, the one that ended most recently before the run's scheduled time
    (or ``day_offset`` days before that one). A deployment run first waits
    for its inputs (retrying transient errors)."""
    config = load_config(config_path)
    day = day or schedule.scheduled_day(config, offset_days=day_offset)
    if schedule.is_deployment_run():
        try:
            schedule.wait_for_sources(config, day)
        except OpenbooksError as exc:
            schedule.record_not_started(config, day, _run_id(), f"not started: {exc}")
            raise
    return run_day(config, day)
