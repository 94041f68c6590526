"""One day's part of the engine's passes (``flows.range_books``): its inputs
made feeds, its coverage, its result suites' frames and failures, what its
report is rendered from, its run started in ``run_log``, and what follows a
publish. Each function is about one day; the passes call them day by day."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
from prefect.logging import get_logger

from openbooks.flows.stages import compute as compute_mod
from openbooks.flows.stages import coverage, inputs
from openbooks.flows.store import failed_runs, publish
from openbooks.flows.checks import plausibility, validate
from openbooks.flows import report
from openbooks.flows.stages.compute import checked_frames
from openbooks.flows.store.books import Books, DayWindow
from openbooks.flows.runtime.notify import notify
from openbooks.flows.report.site import write_site
from openbooks.flows.store.runlog import RunRecord, record_config, start_runs
from openbooks.flows.sources.base import SourceResult
from openbooks.flows.store.warehouse import ensure_schema, registered, session
from openbooks.config import Config
from openbooks.errors import OpenbooksError, ValidationFailed
from openbooks.transforms import cost, customers, whatif
from openbooks.transforms.capacity import SERVING_ROLES

INTERRUPTED = "interrupted: stopped by Ctrl-C or SIGTERM before the run finished"


def reason_of(exc: BaseException) -> str:
    """Why a day failed, as ``run_log.error`` and the console say it."""
    from prefect.exceptions import TerminationSignal  # Prefect's own SIGTERM handler raises it in a flow

    if isinstance(exc, (KeyboardInterrupt, TerminationSignal)):
        return INTERRUPTED
    return str(exc) if isinstance(exc, OpenbooksError) else f"{type(exc).__name__}: {exc}"


def status_of(changed: bool) -> str:
    """A published day's ``run_log`` status: its partition changed, or not."""
    return "published" if changed else "unchanged"


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


def check_coverage(config: Config, books: Books, record: RunRecord) -> None:
    """Every moment of the day covered by the node log (a gap fails the day)."""
    w = books.window
    problems = coverage.gap_problems(config, books.node_log, books.steps, day=w.day, day_start=w.start,
                                     day_end=w.end, run_id=record.run_id)
    record.quarantined_rows += len(problems)
    if problems:
        record.validation_success = False
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
    """A result suite's outcome into the day's record; its failures, one line each."""
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


def report_inputs(config: Config, books: Books, record: RunRecord, found: pl.DataFrame,
                  staged: dict | None = None) -> tuple[dict[str, pl.DataFrame], report.Context]:
    """What the day's report is rendered from: its tables as they will be
    published (``staged``, when the caller has them: ``publish.staged_frames``),
    and the day's context."""
    staged = staged if staged is not None else publish.staged_frames(books, record.run_id, config.hash)
    tables = {table.name: frame for table, frame in staged.items()}
    tables["anomalies"] = found
    context = report.Context(config.business_day.timezone, record.run_id, config.hash, datetime.now(UTC),
                             record.validation_summary, record.data_docs, record.skipped)
    return tables, context


def write_report(config: Config, rendered: report.Report) -> list[str]:
    return [str(p) for p in report.write_report(config.report_dir, rendered)]


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
    problem = notify(config, found) if changed else None
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


def begin_run(config: Config, record: RunRecord) -> None:
    """The warehouse made ready (``prepare_warehouse``) and one day's run started (``start_days``)."""
    with session(config) as con:
        prepare_warehouse(con, config)
        start_days(con, [record])


def prepare_warehouse(con, config: Config) -> None:
    """Every table there (new columns added), failed runs kept beside the
    warehouse folded into ``run_log``, the config recorded: once per range.
    The failed-runs file is made here, while the warehouse opens and there
    is room for it."""
    ensure_schema(con)
    failed_runs.reserve(config)
    failed_runs.fold(con, config)
    record_config(con, config)


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
