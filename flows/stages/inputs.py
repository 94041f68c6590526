"""The day's inputs, driven through the source registry.

For each configured source (``sources.<name>``), its kind reads the day
(``kind.read(DayRequest)`` → ``SourceResult``); the problems it returns are
one line each and kept in quarantine (unless the kind kept them already),
the rows it skipped on purpose are counted per reason for ``run_log``.
Frames are then joined per feed: every ``node_log`` frame into the day's
node log, every ``token_counts`` frame and every request source's hourly
totals into the day's token counts, the request sources' customer usage
into one frame. Each feed's frame is checked by openbooks' own suite for it
(``node_log``, ``token_counts``); a kind's own suite, when it has another,
runs on what the kind returned (``SourceResult.checked``, else its frame).
"""

from __future__ import annotations

import polars as pl
from prefect import get_run_logger

from openbooks.flows.checks import validate
from openbooks.flows.store.books import DayWindow
from openbooks.flows.store.runlog import RunRecord
from openbooks.flows.sources import allocations
from openbooks.flows.sources.base import DayRequest, SourceResult
from openbooks.flows.sources.files import display_path
from openbooks.flows.sources.limits import reader_failure, timeout_seconds, with_deadline
from openbooks.flows.sources.registry import kind_for
from openbooks.flows.sources.request_checks import failure_lines
from openbooks.flows.store.warehouse import QuarantineRow, quarantine, session
from openbooks.config import ANY_MODEL, Config
from openbooks.errors import InputError
from openbooks.expectations.suites import JOINED_FEED_SUITES
from openbooks.transforms.capacity import SERVING_ROLES, UNALLOCATED
from openbooks.transforms.plausibility import renamed_models



def sources_feeding(config: Config, feeds: tuple[str, ...]) -> list[str]:
    """The configured sources whose kind feeds one of ``feeds``, in config order."""
    return [name for name, source in config.sources.named().items() if kind_for(source).feeds in feeds]


def day_request(config: Config, name: str, window: DayWindow, run_id: str) -> DayRequest:
    source = config.sources.get(name)
    options = source.validated_options or kind_for(source).options()
    return DayRequest(config, name, source, options, window.day, window.start, window.end, run_id)


def read_source_days(config: Config, name: str, days: list[tuple[DayWindow, str]]) -> dict:
    """``read_source`` for each (day, run) of ``days``, the days read
    together where the kind can (``SourceKind.read_days``): day → its result,
    or the error its read raised."""
    if not days:  # every day of the range held by another run: nothing to read
        return {}
    source = config.sources.get(name)
    kind = kind_for(source)
    seconds = timeout_seconds(source)  # a day's read; a set read of n days has n times as long
    requests = [day_request(config, name, window, run_id) for window, run_id in days]
    if kind.read_days is not None:
        found = with_deadline(name, seconds * len(requests), lambda: kind.read_days(requests))
    else:
        found = {}
        for request in requests:
            try:
                found[request.day] = with_deadline(name, seconds, lambda r=request: kind.read(r))
            except Exception as exc:  # noqa: BLE001 - that day's own error
                found[request.day] = exc
    found = {day: reader_failure(config, name, day, result) if isinstance(result, Exception) else result
             for day, result in found.items()}
    runs = {window.day: run_id for window, run_id in days}
    return {day: result if isinstance(result, Exception) else _finished(config, name, result, runs[day], day)
            for day, result in found.items()}


def _finished(config: Config, name: str, result: SourceResult, run_id: str, day) -> SourceResult:
    """A day's result with its new problems quarantined and counted, and logged."""
    source = config.sources.get(name)
    renamed(config, result)
    fresh = [QuarantineRow.of(p, run_id, day) for p in result.problems if not p.quarantined]
    if fresh:
        with session(config) as con:
            quarantine(con, fresh)
    result.extra.setdefault("quarantined_rows", 0)
    result.extra["quarantined_rows"] += len(result.problems)
    get_run_logger().info("sources.%s (%s): %d file(s)%s", name, source.kind_name, len(result.files),
                          f", {result.extra['summary']}" if "summary" in result.extra else "")
    return result


def renamed(config: Config, result: SourceResult) -> None:
    """A source's rows under the books' model names (``models:``, the alias map), request usage too."""
    if not config.models:
        return
    if result.frame is not None:
        result.frame = renamed_models(result.frame, config.models)
    usage = result.extra.get("usage")
    if usage is not None:
        usage.hourly = renamed_models(usage.hourly, config.models)
        usage.customers = renamed_models(usage.customers, config.models)


def note_results(record: RunRecord, results: dict[str, SourceResult]) -> None:
    """Skipped rows (reason → count) and quarantined rows of ``results`` into the run's record."""
    for name, result in results.items():
        record.quarantined_rows += result.extra.get("quarantined_rows", 0)
        if result.skipped:
            record.skipped[name] = dict(result.skipped)


def raise_problems(results: dict[str, SourceResult]) -> None:
    """``InputError`` with every problem of ``results``, one line each."""
    lines = [p.message() for result in results.values() for p in result.problems]
    if lines:
        raise InputError("\n".join(lines))


def joined(results: list[SourceResult]) -> pl.DataFrame | None:
    frames = [r.frame for r in results if r.frame is not None]
    if not frames:
        return None
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")


def covers_day(results: dict[str, SourceResult]) -> bool:
    """Whether every node-log source reports allocations (``extra["covers_day"]``:
    Slurm, OpenCost, FOCUS), so a stretch none of them allocates is zero
    nodes; with any other (openbooks' own ``node_log``) the log must cover the day."""
    return bool(results) and all(r.extra.get("covers_day", False) for r in results.values())


def node_log_frame(config: Config, window: DayWindow, results: dict[str, SourceResult]) -> pl.DataFrame | None:
    """The node-log sources' frames joined; when they all report allocations,
    with 0 idle nodes over each stretch no serving row covers (``allocations.zero_rows``)."""
    frame = joined(list(results.values()))
    if frame is None or not covers_day(results):
        return frame
    types = frame["gpu_type"].drop_nulls().to_list() if "gpu_type" in frame.columns else []
    files = [str(f) for r in results.values() for f in r.files] or [f"sources.{next(iter(results))}"]
    zeros = allocations.zero_rows(frame, SERVING_ROLES, window.start, window.end,
                                  gpu_type=(types or sorted(config.hardware))[0], model=UNALLOCATED,
                                  source_file=files[0])
    return pl.concat([frame, zeros], how="diagonal_relaxed") if zeros.height else frame


def replicas_summed(results: dict[str, SourceResult]) -> bool:
    """Whether a node-log source says its overlapping rows are replicas (``replicas: sum``)."""
    return any(r.extra.get("replicas_summed", False) for r in results.values())


def usages(results: dict[str, SourceResult]) -> list:
    return [r.extra["usage"] for r in results.values() if "usage" in r.extra]


def request_hourly(results: dict[str, SourceResult]) -> pl.DataFrame | None:
    hourly = [u.hourly for u in usages(results)]
    return None if not hourly else pl.concat(hourly, how="vertical_relaxed") if len(hourly) > 1 else hourly[0]


def request_customers(results: dict[str, SourceResult]) -> pl.DataFrame | None:
    customers = [u.customers for u in usages(results)]
    return None if not customers else pl.concat(customers) if len(customers) > 1 else customers[0]


def input_parameters(config: Config, frame: pl.DataFrame | None = None) -> dict:
    """The feed suites' parameters; a card's ``"*"`` prices every model of ``frame`` too."""
    card = config.price_book.cards[config.price_book.card]
    priced = set(card.models)
    if ANY_MODEL in priced and frame is not None and "model" in frame.columns:
        priced |= set(frame["model"].drop_nulls().unique().to_list())
    return {"gpu_types": sorted(config.hardware), "priced_models": sorted(priced)}


def docs(config: Config, record: RunRecord) -> dict:
    """Where validation results are rendered as GX Data Docs, under which
    run, and whether only a failing suite's (``reports.data_docs``)."""
    return {"docs_dir": config.report_dir / "data_docs", "run_name": record.run_id,
            "docs_on_failure": config.reports.data_docs == "on_failure"}


def record_docs(config: Config, record: RunRecord, outcome: validate.SuiteOutcome) -> None:
    if outcome.docs_page is not None:
        record.data_docs[outcome.suite] = outcome.docs_page.relative_to(config.report_dir).as_posix()


def validate_feed(config: Config, window: DayWindow, feed: str, frame: pl.DataFrame, record: RunRecord) -> list[str]:
    """The feed's suite over its frame: its problems, one line each; failing rows quarantined."""
    outcome = validate.validate_frame(
        frame, config.expectations_dir / f"{feed}.json"  # a joined feed is checked by its namesake suite, input_parameters(config, frame),
        **docs(config, record),
    )
    return feed_problems(config, window, feed, frame, record, outcome)


def feed_problems(config: Config, window: DayWindow, feed: str, frame: pl.DataFrame, record: RunRecord,
                  outcome: validate.SuiteOutcome) -> list[str]:
    """A feed suite's outcome into the run's record: its problems, one line each; failing rows quarantined."""
    record.validation_summary.append(outcome.summary())
    record_docs(config, record, outcome)
    if outcome.success:
        return []

    def label(i: int) -> str:
        return f"{display_path(frame['source_file'][i])} line {frame['line'][i]}"

    rows = [QuarantineRow(record.run_id, window.day, feed, f"expected {f.expected}", frame["source_file"][f.row],
                          None, int(frame["line"][f.row]), f.column, None if f.value is None else str(f.value))
            for f in outcome.failures if f.row is not None]
    if rows:
        with session(config) as con:
            record.quarantined_rows += quarantine(con, rows)
    return validate.describe_failures(outcome, label, config.business_day.timezone)


def validate_kinds(config: Config, results: dict[str, SourceResult], record: RunRecord) -> list[str]:
    """Each kind's own suite (beside its feed's) on what the kind returned."""
    problems = []
    for name, result in results.items():
        kind = kind_for(config.sources.get(name))
        checked = result.checked if result.checked is not None else result.frame
        if kind.suite is None or kind.suite in JOINED_FEED_SUITES or checked is None:
            continue
        outcome = validate.validate_frame(checked, config.expectations_dir / f"{kind.suite}.json", {},
                                          **docs(config, record))
        record_docs(config, record, outcome)
        record.validation_summary.append(outcome.summary())
        for failure in outcome.failures:
            problems += _kind_failure_lines(config, name, kind.suite, result, failure)
    return problems


def _kind_failure_lines(config: Config, name: str, suite: str, result: SourceResult, failure) -> list[str]:
    if "usage" in result.extra:
        lines = failure_lines(result.extra["usage"], name, failure.column, failure.expected)
        if lines:
            return lines
    return [f"{name} column {failure.column}: expected {failure.expected}, got {failure.value}"]


def zero_node_problems(config: Config, window: DayWindow, node_log: pl.DataFrame, record: RunRecord) -> list[str]:
    """A day on which no node serves (every serving row has 0 nodes, or there
    is none): one line naming the node-log file(s), kept in quarantine."""
    serving = node_log.filter(pl.col("role").is_in(SERVING_ROLES))
    if not node_log.is_empty() and serving["nodes"].fill_null(0).sum() > 0:
        return []
    files = sorted(set(node_log["source_file"].to_list()))
    where = ", ".join(display_path(f) for f in files) or "sources.node_log"
    expected = f"at least one node serving ({', '.join(SERVING_ROLES)}) during the business day"
    got = f"0 nodes in all {serving.height} serving rows" if serving.height else "no serving row"
    with session(config) as con:
        row = QuarantineRow(record.run_id, window.day, "node_log", f"expected {expected}, got {got}",
                            files[0] if len(files) == 1 else where, column_name="nodes")
        record.quarantined_rows += quarantine(con, [row])
    return [f"{where} column nodes: expected {expected}, got {got}"]
