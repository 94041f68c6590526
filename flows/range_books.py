"""The engine: every day is computed here, a day being a range of one.

``run_days`` takes a range of days through a few passes over all of them,
each pass one Prefect task: read (every source's days together, through the
registry) → compute (each day's books and charts on the executor,
``flows.executor``, begun while the inputs are checked) → check inputs (one
GX run per suite over the range, ``flows.range_validate``) → check results
(one GX run per suite) → stage and render → publish (every day's partition
in one transaction, each day whole or not at all, as ``flows.publish``) →
write the reports. The flow ``backfill-range`` runs a range; the daily flow
(``flows.daily``) runs a range of one inside its own run.

Each day keeps its own run: its ``run_log`` row, its quarantined rows, its
validation summary, its report. A day that fails (a bad input, a failed
expectation, a gap) is recorded and leaves the passes, keeping its error
(``DayRun.error``, which a run of one day raises); the others go on and
publish. GX Data Docs pages are built for every suite when asked for
(``data_docs``, ``reports.data_docs: always``), else only for a day's
failing suite; a range of one validates each suite once, its page built as
the suite fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.utilities.annotations import quote

from openbooks.flows.stages import compute as compute_mod
from openbooks.flows.stages import day_books, day_run, inputs, skipped
from openbooks.flows.store import failed_runs, publish
from openbooks.flows.checks import plausibility, validate
from openbooks.flows import report
from openbooks.flows.runtime import warm
from openbooks.flows.stages.day_run import reason_of, status_of
from openbooks.flows.runtime.executor import executor_for
from openbooks.flows.checks import anomalies as anomalies_mod
from openbooks.flows.report.artifacts import post_days_artifacts
from openbooks.flows.report.charts import drawing_on
from openbooks.flows.report.headline import COLUMNS as HEADLINE_COLUMNS
from openbooks.flows.report.headline import headline_window, headlines_of_days
from openbooks.flows.report.sections.headline import HEADLINE
from openbooks.flows.store import published
from openbooks.flows.store.books import Books, DayWindow
from openbooks.flows.checks.range_validate import validate_days
from openbooks.flows.sources.base import SourceResult
from openbooks.flows.store.runlog import RunRecord, finish_runs
from openbooks.flows.store.schema import ANOMALIES
from openbooks.flows.store.warehouse import day_lock, holding, session
from openbooks.config import Config, load_config
from openbooks.errors import InputError, OpenbooksError, ValidationFailed


@dataclass
class DayRun:
    """One day of the range as it goes through the passes."""

    record: RunRecord
    window: DayWindow | None = None
    results: dict[str, SourceResult] = field(default_factory=dict)
    later_error: Exception | None = None  # the non-node sources' problems, raised after the node log's check
    node_log: pl.DataFrame | None = None
    token_counts: pl.DataFrame | None = None
    problems: list[str] = field(default_factory=list)
    computing: Future | None = None  # its books and charts, on the executor
    books: Books | None = None
    charts: tuple[str, ...] | None = None  # the day's charts, drawn with its books
    rendered: Any = None
    found: pl.DataFrame | None = None  # the day's anomalies
    changed: bool = False
    closed: bool = False  # its run_log row closed, published or unchanged
    reason: str | None = None  # why the day failed
    error: BaseException | None = None  # what it failed with

    @property
    def day(self) -> date:
        return self.record.day


def fail(config: Config, run: DayRun, exc: BaseException) -> None:
    """The day failed: recorded in ``run_log`` (``failed_runs``); it leaves the passes."""
    run.reason, run.error = reason_of(exc), exc
    failed_runs.record_failed(config, run.record, run.reason)


def each_day(config: Config, runs: list[DayRun], step: Callable[[DayRun], None]) -> None:
    """``step`` on every day still going, the warehouse opened once for them
    all; a day whose step raises fails alone."""
    try:
        with holding(config):
            for run in live(runs):
                try:
                    step(run)
                except Exception as exc:  # noqa: BLE001 - the day's failure, the range goes on
                    fail(config, run, exc)
    except OpenbooksError as exc:  # the warehouse could not be opened: the days still going fail with it
        for run in live(runs):
            fail(config, run, exc)


def all_else_each(config: Config, runs: list[DayRun], step: Callable[[list[DayRun]], None]) -> None:
    """``step`` on every day still going at once (one transaction for them
    all); should that fail, on each day alone, so that a day that cannot go
    through fails alone and the others go on. ``step`` writes in one
    transaction, so a failed try leaves nothing behind."""
    going = live(runs)
    if not going:
        return
    try:
        with holding(config):
            step(going)
        return
    except Exception:  # noqa: BLE001 - tried again day by day: each day's own error is what it fails with
        pass
    each_day(config, going, lambda run: step([run]))


def live(runs: list[DayRun]) -> list[DayRun]:
    return [run for run in runs if run.reason is None]


def docs_options(config: Config, run_name: str, data_docs: bool) -> dict:
    """Every validation's Data Docs pages when asked for (``--data-docs`` or
    ``reports.data_docs: always``); else none here (a failing day's are built
    by ``failed_day_docs``)."""
    wanted = data_docs or config.reports.data_docs == "always"
    return {"docs_dir": config.report_dir / "data_docs", "run_name": run_name} if wanted else {}


def outcomes_of(config: Config, going: list[DayRun], frames: dict[date, pl.DataFrame], suite: str,
                parameters: dict[date, dict], run_name: str, data_docs: bool) -> dict[date, validate.SuiteOutcome]:
    """Each day's outcome of ``suite`` over its frame: one GX run over the
    range (``validate_days``); for a range of one, one GX run of the day
    whose Data Docs page is built as it fails (or always, when asked for),
    so that no second run builds it."""
    path = day_run.result_suite(config, suite)
    if len(going) == 1:
        (run,) = going
        options = inputs.docs(config, run.record)
        options["docs_on_failure"] = options["docs_on_failure"] and not data_docs
        return {run.day: validate.validate_frame(frames[run.day], path, parameters[run.day], **options)}
    return validate_days(frames, path, parameters, **docs_options(config, run_name, data_docs))


def failed_day_docs(config: Config, run: DayRun, frame: pl.DataFrame, suite: str, parameters: dict) -> None:
    """A failing suite's GX Data Docs page for the day alone, as a run of the day builds it."""
    if suite in run.record.data_docs:
        return
    outcome = validate.validate_frame(frame, day_run.result_suite(config, suite), parameters,
                                      **inputs.docs(config, run.record))
    inputs.record_docs(config, run.record, outcome)


@task(cache_policy=NONE)
def read_days(config: Config, runs: list[DayRun]) -> list[DayRun]:
    """Every day's sources, each source's days read together by its kind; the node log staged and flagged."""
    node_sources = inputs.sources_feeding(config, ("node_log",))
    for run in live(runs):
        run.window = compute_mod.day_window(config, run.day)
    found: dict[str, dict] = {}
    with holding(config):
        for name in config.sources.named():
            found[name] = inputs.read_source_days(config, name, [(run.window, run.record.run_id) for run in live(runs)])

    def read(run: DayRun) -> None:
        results = {}
        for name in config.sources.named():  # in the order a run of the day reads them: its first error fails it
            result = found[name][run.day]
            if isinstance(result, Exception):
                raise result
            results[name] = result
        node = {name: results[name] for name in node_sources}
        inputs.note_results(run.record, node)
        inputs.raise_problems(node)
        later = {name: result for name, result in results.items() if name not in node}
        try:
            inputs.note_results(run.record, later)
            inputs.raise_problems(later)
            run.record.notes += skipped.skipped_lines(results)
            left_out = skipped.share_problems(config, results)
            if left_out:
                raise InputError("\n".join(left_out))
        except OpenbooksError as exc:
            run.later_error = exc
        run.results = results
        run.node_log = day_run.node_log_of(config, run.window, node)
        if run.later_error is None:
            run.token_counts = day_run.token_counts_of(config, run.window, results)

    each_day(config, runs, read)
    return runs


def start_computing(config: Config, runs: list[DayRun], executor) -> None:
    """Each day read whole: its books and charts begun on the executor while
    its inputs are checked (a day whose inputs fail is dropped with them)."""
    for run in live(runs):
        if run.token_counts is not None:
            run.computing = executor.submit(day_books.books_and_charts, config, run.window, run.node_log,
                                           run.token_counts, inputs.request_customers(run.results),
                                           compute_mod.invoices_of(run.results),
                                           compute_mod.api_spend_of(run.results))


@task(cache_policy=NONE)
def check_inputs(config: Config, runs: list[DayRun], run_name: str, data_docs: bool) -> list[DayRun]:
    """The node log's and the token counts' suites over the range, the kinds' own suites day by day."""
    parameters = inputs.input_parameters(config)
    _check_feed(config, runs, "node_log", parameters, run_name, data_docs)
    for run in live(runs):
        if not run.problems:
            run.problems = inputs.zero_node_problems(config, run.window, run.node_log, run.record)
        if run.later_error is not None:
            fail(config, run, run.later_error)

    def tokens(run: DayRun) -> None:
        run.record.node_rows, run.record.token_rows = run.node_log.height, run.token_counts.height
        run.problems += inputs.validate_kinds(config, run.results, run.record)

    each_day(config, runs, tokens)
    _check_feed(config, runs, "token_counts", parameters, run_name, data_docs)
    for run in live(runs):
        if run.problems:
            run.record.validation_success = False
            fail(config, run, ValidationFailed("\n".join(run.problems)))
    return runs


def _check_feed(config: Config, runs: list[DayRun], feed: str, parameters: dict, run_name: str,
                data_docs: bool) -> None:
    going = live(runs)
    frames = {run.day: run.node_log if feed == "node_log" else run.token_counts for run in going}
    suite = feed  # a joined feed is checked by its namesake suite
    if frames:  # a card's "*" prices the models of every day
        parameters = inputs.input_parameters(config, pl.concat([f.select("model") for f in frames.values()]))
    outcomes = outcomes_of(config, going, frames, suite, {day: parameters for day in frames}, run_name, data_docs)
    for run in going:
        found = inputs.feed_problems(config, run.window, feed, frames[run.day], run.record, outcomes[run.day])
        if found:
            failed_day_docs(config, run, frames[run.day], suite, parameters)
        run.problems += found


@task(cache_policy=NONE)
def compute_days(config: Config, runs: list[DayRun]) -> list[DayRun]:
    """Each day's books from the pure transforms, and its charts, as the
    executor computed them (``start_computing``); every moment of each day covered."""

    def computed(run: DayRun) -> None:
        run.books, run.charts = run.computing.result()
        day_run.check_coverage(config, run.books, run.record)

    each_day(config, runs, computed)
    return runs


@task(cache_policy=NONE)
def check_results(config: Config, runs: list[DayRun], run_name: str, data_docs: bool) -> list[DayRun]:
    """Each result suite once over the range's frames."""
    going = live(runs)
    checked = {run.day: day_run.result_frames(run.books) for run in going}
    problems: dict[date, list[str]] = {run.day: [] for run in going}
    parameters = {run.day: day_run.result_parameters(run.books) for run in going}
    for position, (name, _) in enumerate(checked[going[0].day] if going else []):
        frames = {day: found[position][1] for day, found in checked.items()}
        outcomes = outcomes_of(config, going, frames, name, parameters, run_name, data_docs)
        for run in going:
            found = day_run.result_problems(config, run.books, run.record, name, frames[run.day], outcomes[run.day])
            if found:
                failed_day_docs(config, run, frames[run.day], name, parameters[run.day])
            problems[run.day] += found
    for run in going:
        run.record.validation_success = not problems[run.day]
        if problems[run.day]:
            fail(config, run, ValidationFailed("\n".join(problems[run.day])))
        else:
            run.record.notes += plausibility.notes(run.books.plausibility)
    return runs


def range_models(going: list[DayRun]) -> pl.DataFrame | None:
    """The range's ``model_economics`` rows, each with its day (for budgets of a model)."""
    parts = [run.books.models.with_columns(day=pl.lit(run.day)) for run in going if run.books.models is not None]
    return pl.concat(parts, how="diagonal_relaxed") if parts else None


def range_history(config: Config, dailies: pl.DataFrame) -> pl.DataFrame:
    """The published rows the headline strips of the days of ``dailies`` read."""
    days = sorted(dailies["day"].to_list())
    with session(config) as con:  # a writing session: it takes turns with a backfill's other days
        return published.daily_between(con, *headline_window(days[0], days[-1]), HEADLINE_COLUMNS)


@task(cache_policy=NONE)
def stage_and_render(config: Config, runs: list[DayRun], executor) -> list[DayRun]:
    """Every day's anomalies and headline strip (against the days before it,
    the range's own standing in for their published rows), every day's frames to staging in
    one transaction, and each day's report rendered with the charts drawn
    with its books (on the executor, while the days are staged)."""
    going = sorted(live(runs), key=lambda run: run.day)
    if not going:
        return runs
    try:
        dailies = pl.concat([run.books.daily for run in going], how="diagonal_relaxed")
        found = anomalies_mod.anomalies_of_days(config, dailies, range_models(going))
        strips = headlines_of_days(range_history(config, dailies), dailies)
    except Exception as exc:  # noqa: BLE001 - the warehouse could not be read: every day fails with it
        for run in going:
            fail(config, run, exc)
        return runs
    rendering: dict[date, Any] = {}
    frames = {}
    for run in going:
        run.found = found[run.day]
        frames[run.day] = publish.staged_frames(run.books, run.record.run_id, config.hash)
        tables, context = day_run.report_inputs(config, run.books, run.record, run.found, frames[run.day])
        tables[HEADLINE] = strips[run.day]
        rendering[run.day] = executor.submit(report.render_day, tables, replace(context, charts=run.charts))
        frames[run.day][ANOMALIES] = run.found.with_columns(run_id=pl.lit(run.record.run_id))

    def stage(together: list[DayRun]) -> None:
        with session(config) as con:
            publish.write_staging_runs(con, publish.stacked([frames[run.day] for run in together]),
                                       [run.record.run_id for run in together])

    all_else_each(config, going, stage)

    def rendered(run: DayRun) -> None:
        run.rendered = rendering[run.day].result()

    each_day(config, going, rendered)
    return runs


@task(cache_policy=NONE)
def publish_days(config: Config, runs: list[DayRun], executor) -> list[DayRun]:
    """Every day's partition swapped in (``flows.publish.publish_days``:
    each day whole or not at all); reports written where they changed, the
    site's charts drawn on the executor."""

    def swap(together: list[DayRun]) -> None:
        with session(config) as con:
            changed = publish.publish_days(con, {run.day: run.record.run_id for run in together})
            for run in together:
                run.changed = run.day in changed
            finish_runs(con, [(run.record, status_of(run.changed)) for run in together])
        for run in together:
            run.closed = True

    all_else_each(config, runs, swap)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="openbooks-artifacts") as background:
        # The artifacts are the API's work: posted while the reports and the site are written here.
        posting = background.submit(copy_context().run, post_days_artifacts,
                                    [(run.rendered, run.books.hourly) for run in live(runs)],
                                    config.business_day.timezone)
        for run in live(runs):
            if run.changed or not report.report_current(config.report_dir, run.rendered):
                day_run.write_report(config, run.rendered)
        if live(runs):
            with drawing_on(executor):
                day_run.rewrite_site(config)  # once for the range
            for run in live(runs):
                day_run.notify_anomalies(config, run.found, run.changed, run.record.run_id)
        posting.result()
    return runs


def begin_days(config: Config, days: list[date], run_ids: list[str], locks: ExitStack) -> list[DayRun]:
    """The warehouse made ready once; a run for each day, its lock held and
    its ``run_log`` row started; a day already running fails (not recorded:
    the run of it that is going records itself)."""
    runs = [DayRun(RunRecord(run_id, day, str(config.file), config.hash)) for day, run_id in zip(days, run_ids)]
    for run in runs:
        try:
            locks.enter_context(day_lock(config, run.day))
        except OpenbooksError as exc:
            run.reason, run.error = reason_of(exc), exc
    if not live(runs):
        return runs  # every day refused: the warehouse is not touched
    try:
        with session(config) as con:
            day_run.prepare_warehouse(con, config)
            day_run.start_days(con, [run.record for run in live(runs)])
    except Exception as exc:  # noqa: BLE001 - the warehouse itself: every day fails with it
        for run in live(runs):
            fail(config, run, exc)
    return runs


def figures(run: DayRun) -> dict:
    """The day's ``daily_economics`` row, with its run id, status and notes (as a run of the day returns it)."""
    row = run.books.daily.with_columns(run_id=pl.lit(run.record.run_id),
                                       status=pl.lit(status_of(run.changed))).row(0, named=True)
    return {**row, "notes": list(run.record.notes)}


def run_days(config: Config, days: list[date], *, run_ids: list[str] | None = None, data_docs: bool = False,
             runner: str | None = None) -> list[DayRun]:
    """``days`` through the passes, in day order, each day with its run id
    (``run_ids``, else new ones); ``runner`` names the executor
    (``flows.executor``; else ``compute.runner``). A day's failure is in its
    run; anything that stops the passes themselves fails the days still going
    and is raised."""
    days = sorted(days)
    run_ids = run_ids or [str(uuid.uuid4()) for _ in days]
    run_name = str(uuid.uuid4())
    with ExitStack() as held:
        executor = executor_for(len(days), runner or config.compute.runner)  # started now: ready once days are read
        held.callback(executor.close)
        warm.warm_up(charts=not executor.in_processes)  # the processes draw every chart, if there are any
        runs = begin_days(config, days, run_ids, held)
        try:
            if live(runs):
                passes(config, runs, executor, run_name, data_docs)
        except BaseException as exc:
            for run in live(runs):
                if not run.closed:
                    fail(config, run, exc)
            raise
    return runs


def passes(config: Config, runs: list[DayRun], executor, run_name: str, data_docs: bool) -> None:
    # Each pass is handed the days as they are (``quote``): Prefect would
    # otherwise walk every day's frames and records before each task.
    read_days(config, quote(runs))
    start_computing(config, runs, executor)
    check_inputs(config, quote(runs), run_name, data_docs)
    compute_days(config, quote(runs))
    check_results(config, quote(runs), run_name, data_docs)
    stage_and_render(config, quote(runs), executor)
    publish_days(config, quote(runs), executor)


def _run_name() -> str:
    from prefect.runtime import flow_run

    days = flow_run.parameters["days"]
    return f"backfill-range-{days[0]}-{days[-1]}"


@flow(name="backfill-range", flow_run_name=_run_name, log_prints=True)
def backfill_range(days: list[date], config_path: str, data_docs: bool = False,
                   runner: str | None = None) -> list[tuple]:
    """Run ``days`` (``run_days``); returns (day, status, figures, reason) for each, in day order."""
    runs = run_days(load_config(config_path), days, data_docs=data_docs, runner=runner)
    return [(r.day, "failed", None, r.reason) if r.reason is not None
            else (r.day, status_of(r.changed), figures(r), None) for r in runs]
