"""The operator's view: recent runs, a report rebuilt from the warehouse, a
check of the config, sources and suites that runs nothing, and the tables.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from flows import report
from flows.sources.raw_tables import file_mapping
from flows.schema import ALL_TABLES, Table
from flows.warehouse import frame, raw_table, session
from openbooks.claims import load_claims
from openbooks.config import CANONICAL_COLUMNS, Config, load_config
from openbooks.errors import OpenbooksError

SUITES = ("node_log", "token_counts", "hourly_economics", "daily_economics", "revenue_waterfall", "cost_breakdown",
          "model_economics")
REQUEST_SUITES = ("requests", "customer_economics")  # used when sources.requests is set


# -- status -------------------------------------------------------------------

STATUS_COLUMNS = ("day", "status", "started", "duration", "config", "reason")


def recent_runs(config: Config, limit: int = 20) -> list[tuple]:
    """The latest runs, newest first: day, status, when, duration, config hash, reason."""
    with session(config, read_only=True) as con:
        rows = con.execute(
            "SELECT day, status, started_at, finished_at - started_at, config_hash, error FROM run_log "
            "ORDER BY started_at DESC LIMIT ?",
            [limit],
        ).fetchall()
    return [
        (day, status, f"{started.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC", _duration(took), config_hash,
         (error or "").strip().splitlines()[0] if error else "")
        for day, status, started, took, config_hash, error in rows
    ]


def _duration(took) -> str:
    return "" if took is None else f"{took.total_seconds():.1f} s"


# -- report ---------------------------------------------------------------------


REPORT_TABLES = {  # report.render argument → published table
    "waterfall": "revenue_waterfall",
    "scenarios": "revenue_scenarios",
    "cost_breakdown": "cost_breakdown",
    "claims": "claims_audit",
}


def rebuild_report(config: Config, day: date) -> tuple[Path, Path]:
    """Render and write ``day``'s report from the published tables (no recomputing)."""
    with session(config, read_only=True) as con:
        daily = frame(con, "SELECT * FROM daily_economics WHERE day = ?", [day])
        if daily.is_empty():
            raise OpenbooksError(f"{day} is not published in {config.warehouse_path}: run it first (openbooks run --date {day})")
        hourly = frame(con, "SELECT * FROM hourly_economics WHERE day = ? ORDER BY hour_start", [day])
        steps = frame(con, "SELECT * FROM node_steps WHERE day = ? ORDER BY segment_start", [day])
        # The economics in depth, rows in the order the run published them.
        in_depth = {
            argument: frame(con, f"SELECT * FROM {table} WHERE day = ? ORDER BY rowid", [day])
            for argument, table in REPORT_TABLES.items()
        }
        run_id = daily["run_id"][0]
        summary = con.execute("SELECT validation_summary FROM run_log WHERE run_id = ?", [run_id]).fetchone()
    rendered = report.render(
        daily=daily, hourly=hourly, steps=steps, timezone=config.business_day.timezone,
        validation=(summary[0] or "").split("; ") if summary and summary[0] else [],
        run_id=run_id, config_hash=daily["config_hash"][0] or "", generated_at=datetime.now(UTC),
        data_docs=data_docs_pages(config, run_id), **in_depth,
    )
    return report.write_report(config.report_dir, rendered)


def data_docs_pages(config: Config, run_id: str) -> dict[str, str]:
    """The run's GX Data Docs pages (suite → path relative to the report directory)."""
    docs = config.report_dir / "data_docs" / "validations"
    pages = [Path(p) for p in glob.glob(str(docs / "*" / glob.escape(run_id) / "*" / "*.html"))]
    pages.sort(key=lambda p: p.parent.name)  # the validation time: in the order the run validated
    return {p.relative_to(docs).parts[0]: p.relative_to(config.report_dir).as_posix() for p in pages}


# -- check ----------------------------------------------------------------------


@dataclass
class CheckResult:
    config: Config | None
    problems: list[str]
    checked: list[str]


def check_project(config_path: Path) -> CheckResult:
    """Load and validate the config, the sources and the expectation suites;
    runs nothing. Every problem is one line naming the file and what is wrong."""
    try:
        config = load_config(config_path)
    except OpenbooksError as exc:
        return CheckResult(None, str(exc).splitlines(), [])
    problems, checked = [], [f"config {config.file} (hash {config.hash})"]
    for source in CANONICAL_COLUMNS:
        if getattr(config.sources, source) is None:
            continue  # token_counts is optional when request-level logs are configured
        source_problems, files = _check_source(config, source)
        problems += source_problems
        if not source_problems:
            checked.append(f"sources.{source}: {files} file(s)")
    suites = SUITES + (REQUEST_SUITES if config.sources.requests is not None else ())
    for suite in suites:
        problem = _check_suite(config.expectations_dir / f"{suite}.json")
        if problem:
            problems.append(problem)
        else:
            checked.append(f"suite {suite}")
    if config.claims_path is not None:
        try:
            checked.append(f"claims {config.claims_path} ({len(load_claims(config.claims_path))} claims)")
        except OpenbooksError as exc:
            problems += str(exc).splitlines()
    problem = _check_schedule(config)
    if problem:
        problems.append(problem)
    else:
        checked.append(f"schedule {config.schedule.cron!r} {config.schedule.timezone}")
    return CheckResult(config, problems, checked)


def _check_source(config: Config, source: str) -> tuple[list[str], int]:
    spec = config.sources.get(source)
    pattern = config.resolve(spec.path.replace("{date}", "*"))
    paths = sorted(Path(p) for p in glob.glob(str(pattern)) if Path(p).is_file())
    if not paths:
        return [f"{config.file}: sources.{source}.path: no file matches {pattern}"], 0
    problems = []
    con = duckdb.connect()
    try:
        for path in paths:
            try:
                file_mapping(con, path, source, spec, source)
            except OpenbooksError as exc:
                problems.append(str(exc))
    finally:
        con.close()
    return problems, len(paths)


def _check_suite(path: Path) -> str | None:
    from flows.validate import build_suite

    try:
        build_suite(path)
    except OpenbooksError as exc:
        return str(exc)
    return None


def _check_schedule(config: Config) -> str | None:
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=config.schedule.cron, timezone=config.schedule.timezone)
    except ValueError as exc:
        reason = str(exc).strip().splitlines()[-1]
        return f"{config.file}: schedule.cron: {reason}, got {config.schedule.cron!r}"
    return None


# -- tables ---------------------------------------------------------------------


def all_tables() -> list[Table]:
    return [*ALL_TABLES, *(raw_table(source) for source in CANONICAL_COLUMNS)]


def table_rows() -> list[tuple[str, str, str, str]]:
    """(table, column, type, description) for every warehouse table."""
    rows = []
    for table in all_tables():
        name = table.name if table.schema == "main" else table.qualified
        rows.append((name, "", "", table.description))
        rows += [("", c.name, c.type + (" NOT NULL" if c.not_null else ""), c.description) for c in table.columns]
    return rows
