"""``openbooks check``: the config, the sources it points at, the expectation
suites, the claims and the schedule, each checked without running anything.
Every problem is one line naming the file and what is wrong."""

from __future__ import annotations

import glob
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from openbooks.flows.checks.plausibility import suite_file
from openbooks.flows.runtime.prefect_api import state_dir
from openbooks.flows.sources.raw_tables import file_mapping
from openbooks.flows.sources.registry import kind_for
from openbooks.claims import load_claims
from openbooks.config import Config, load_config
from openbooks.errors import OpenbooksError
from openbooks.expectations.suites import suites_of

OWN_SCHEMAS = ("node_log", "token_counts", "requests")  # kinds whose files map column by column


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
    kind_suites, usage = [], False
    for source, spec in config.sources.named().items():
        kind = kind_for(spec)
        kind_suites += [kind.suite] if kind.suite else []
        usage = usage or kind.feeds == "requests"
        source_problems, what = _check_source(config, source, spec, kind)
        problems += source_problems
        if not source_problems:
            checked.append(f"sources.{source}: {what}" + ("" if kind.name in OWN_SCHEMAS else f" (kind {kind.name})"))
    suites = suites_of(kind_suites, usage=usage, plausibility=config.plausibility.enabled,
                       scenarios=bool(config.whatif.scenarios))
    known = _checked_suites(config)
    for suite in suites:
        problem = _check_suite(suite_file(config, suite), known)
        if problem:
            problems.append(problem)
        else:
            checked.append(f"suite {suite}")
    _remember_suites(config, known)
    if config.claims_path is not None:
        try:
            checked.append(f"claims {config.claims_path} ({len(load_claims(config.claims_path))} claims)")
        except OpenbooksError as exc:
            problems += str(exc).splitlines()
    problems += _check_scenarios(config, checked)
    problem = _check_schedule(config)
    if problem:
        problems.append(problem)
    else:
        checked.append(f"schedule {config.schedule.cron!r} {config.schedule.timezone}")
    return CheckResult(config, problems, checked)


def _check_scenarios(config: Config, checked: list[str]) -> list[str]:
    """Each declared what-if scenario resolves (its profile known, a rental for it)."""
    from openbooks.catalogue import scenario

    problems = []
    for name, spec in config.whatif.scenarios.items():
        try:
            scenario(config, name, spec)
            checked.append(f"whatif scenario {name}")
        except OpenbooksError as exc:
            problems.append(f"{config.file}: whatif.scenarios.{name}: {exc}")
    return problems


def _check_source(config: Config, source: str, spec, kind) -> tuple[list[str], str]:
    """A source's files exist; openbooks' own schemas also have the columns
    their mapping needs. A server kind (no path) is checked when a run reads it."""
    if not spec.path:
        return [], "read from its server when a day runs"
    pattern = config.resolve(spec.path.replace("{date}", "*"))
    paths = sorted(Path(p) for p in glob.glob(str(pattern)) if Path(p).is_file())
    if not paths:
        return [f"{config.file}: sources.{source}.path: no file matches {pattern}"], "no file"
    if kind.name not in OWN_SCHEMAS:
        return [], f"{len(paths)} file(s)"  # the kind reads its own format when a day runs
    problems = []
    con = duckdb.connect()
    try:
        for path in paths:
            try:
                file_mapping(con, path, source, spec, kind.feeds)
            except OpenbooksError as exc:
                problems.append(str(exc))
    finally:
        con.close()
    return problems, f"{len(paths)} file(s)"


def _check_suite(path: Path, known: set[str]) -> str | None:
    """Every expectation of the suite built by GX, unless this very file
    (its content, under this GX version) was built before: importing GX takes
    seconds, and the bundled suites seldom change."""
    try:
        fingerprint = _fingerprint(path.read_bytes())
    except OSError:
        fingerprint = None  # build_suite names the problem
    if fingerprint in known:
        return None
    from openbooks.flows.checks.validate import build_suite

    try:
        build_suite(path)
    except OpenbooksError as exc:
        return str(exc)
    known.add(fingerprint)
    return None


def _fingerprint(content: bytes) -> str:
    from importlib.metadata import version

    return hashlib.sha256(version("great_expectations").encode() + b"\0" + content).hexdigest()


def _checked_suites_file(config: Config) -> Path:
    return state_dir(config) / "checked-suites.json"


def _checked_suites(config: Config) -> set[str]:
    """Fingerprints of suite files GX built without a problem (git-ignored project state)."""
    try:
        return set(json.loads(_checked_suites_file(config).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return set()


def _remember_suites(config: Config, known: set[str]) -> None:
    path = _checked_suites_file(config)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(sorted(known)) + "\n", encoding="utf-8")
    except OSError:
        pass  # a read-only project: the next check builds the suites again


def _check_schedule(config: Config) -> str | None:
    """The cron expression, read as the scheduler reads it (``cronsim``, as
    ``flows.next_run``; Prefect's own random and hashed forms refused as Prefect does)."""
    from cronsim import CronSim, CronSimError

    cron = config.schedule.cron
    reason = None
    if any(part.casefold() in ("r", "h") for part in cron.split()):
        reason = "random and hashed expressions are unsupported"
    else:
        try:
            CronSim(cron, datetime(2025, 1, 1))
        except CronSimError as exc:
            reason = f"invalid cron string ({exc})"
    return f"{config.file}: schedule.cron: {reason}, got {cron!r}" if reason else None


