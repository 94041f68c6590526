"""``openbooks check``: the config, the sources it points at, the expectation
suites, the claims and the schedule, each checked without running anything.
Every problem is one line naming the file and what is wrong."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flows.sources.raw_tables import file_mapping
from openbooks.claims import load_claims
from openbooks.config import CANONICAL_COLUMNS, Config, load_config
from openbooks.errors import OpenbooksError

SUITES = ("node_log", "token_counts", "hourly_economics", "daily_economics", "revenue_waterfall", "cost_breakdown",
          "model_economics")
REQUEST_SUITES = ("requests", "customer_economics")  # used when sources.requests is set


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


