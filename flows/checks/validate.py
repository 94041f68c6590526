"""Validate: run the GX Core suites in ``expectations/`` on a frame.

Suites are versioned JSON files (``expectations/<name>.json``); values that
depend on the config (GPU types, priced models, hours in the day) are suite
parameters (``{"$PARAMETER": "name"}``) filled in at run time. Each failed
expectation becomes one line naming the file, line and column of the row at
fault (or the hour of a result), using the expectation's ``meta.expected``.

Great Expectations is imported here only, when a run validates.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from openbooks.errors import ConfigError, cannot_write
from openbooks.expectations.suites import load_suite_file

MAX_LINES_PER_EXPECTATION = 20
# GX keeps its current data context in a module global: validations of days
# running on parallel threads take turns.
_GX_LOCK = threading.Lock()


@dataclass
class Failure:
    """One failed expectation on one row (``row`` is None for table-level)."""

    suite: str
    expectation: str
    column: str | None
    expected: str
    row: int | None
    value: Any


@dataclass
class SuiteOutcome:
    suite: str
    evaluated: int
    failures: list[Failure] = field(default_factory=list)
    result: Any = None  # the GX ExpectationSuiteValidationResult
    docs_page: Path | None = None  # its GX Data Docs page, when built

    @property
    def success(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        failed = len({(f.expectation, f.column) for f in self.failures})
        return f"{self.suite}: {self.evaluated - failed}/{self.evaluated} expectations met"


def _context():
    """A fresh in-memory GX context (a few milliseconds): runs share nothing."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # No default docs site: the only one is the run's own (build_data_docs).
    stores = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(store_backend_defaults=stores))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def build_suite(path: Path, data: dict | None = None):
    """The GX ``ExpectationSuite`` in a suite file. Every expectation is built
    here, so an unknown type or a bad argument names the file and the entry
    (GX itself would only log it and drop the expectation)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    data = load_suite_file(path) if data is None else data
    expectations = []
    for number, entry in enumerate(data["expectations"], start=1):
        kind = entry.get("type", "?") if isinstance(entry, dict) else "?"
        try:
            expectations.append(ExpectationConfiguration(**entry).to_domain_obj())
        except Exception as exc:  # GX raises many kinds for a bad expectation
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"{path}: expectations[{number}] ({kind}): invalid expectation ({reason})")
    return gx.ExpectationSuite(name=data.get("name", path.stem), expectations=expectations, meta=data.get("meta"))


_elsewhere = None  # the worker process suites run in (``elsewhere``), or None: in this process
GX_MODULES = ("openbooks.flows.checks.validate", "great_expectations", "great_expectations.expectations.expectation_configuration")


@contextmanager
def elsewhere() -> Iterator[None]:
    """Within: every suite runs in a worker process of its own
    (``flows.executor.Processes``), started now. Its import of GX (~3 s of
    one core, most of a one-off command's start-up) proceeds on the other
    core while this process starts Prefect and reads the inputs; this
    process never imports GX."""
    global _elsewhere
    from openbooks.flows.runtime.executor import Processes

    with Processes(1, warm=GX_MODULES) as worker:
        _elsewhere = worker
        try:
            yield
        finally:
            _elsewhere = None


def runs_elsewhere() -> bool:
    return _elsewhere is not None


def validate_frame(
    frame: pl.DataFrame,
    suite_path: Path,
    parameters: dict[str, Any],
    *,
    docs_dir: Path | None = None,
    run_name: str | None = None,
    suite_data: dict | None = None,
    docs_on_failure: bool = False,
) -> SuiteOutcome:
    """Run one suite on ``frame`` through GX's pandas route. With
    ``docs_dir``, the result is also rendered as a GX Data Docs page there,
    under ``validations/<suite>/<run_name>/`` (with ``docs_on_failure``, only
    when the suite failed). ``suite_data``, when given, is the suite itself
    (``suite_path`` then only names it in errors). Within ``elsewhere`` it runs
    in that worker process (the outcome then without GX's own result object)."""
    if _elsewhere is not None:
        return _elsewhere.submit(validate_here, frame, suite_path, parameters, docs_dir, run_name, suite_data,
                                 docs_on_failure).result()
    with _GX_LOCK:
        return _validate_frame(frame, suite_path, parameters, docs_dir=docs_dir, run_name=run_name,
                               suite_data=suite_data, docs_on_failure=docs_on_failure)


def validate_here(frame: pl.DataFrame, suite_path: Path, parameters: dict[str, Any], docs_dir: Path | None,
                  run_name: str | None, suite_data: dict | None, docs_on_failure: bool) -> SuiteOutcome:
    """``validate_frame`` in this process, as a worker runs it for ``elsewhere``."""
    with _GX_LOCK:
        outcome = _validate_frame(frame, suite_path, parameters, docs_dir=docs_dir, run_name=run_name,
                                  suite_data=suite_data, docs_on_failure=docs_on_failure)
    outcome.result = None  # GX's own objects stay in the worker
    return outcome


def _validate_frame(
    frame: pl.DataFrame, suite_path: Path, parameters: dict[str, Any], *, docs_dir: Path | None, run_name: str | None,
    suite_data: dict | None = None, docs_on_failure: bool = False,
) -> SuiteOutcome:
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    context = _context()
    suite = context.suites.add(build_suite(suite_path, suite_data))
    name = suite.name
    asset = context.data_sources.add_pandas("openbooks").add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe(name)
    definition = gx.ValidationDefinition(data=batch, suite=suite, name=f"validate_{name}")
    try:
        result = definition.run(
            batch_parameters={"dataframe": frame.to_pandas()},
            expectation_parameters=parameters,
            result_format={"result_format": "COMPLETE"},
            run_id=RunIdentifier(run_name=run_name) if run_name else None,
        )
    except Exception as exc:
        raise ConfigError(f"{suite_path}: expectation suite could not run ({str(exc).splitlines()[0]})")
    wanted = docs_dir is not None and not (docs_on_failure and result.success)
    page = build_data_docs(context, docs_dir) if wanted else None
    return SuiteOutcome(name, len(result.results), _failures(name, result, frame), result, page)


DOCS_SITE = "openbooks"


_SITE_BUILDER_LOG = "great_expectations.render.renderer.site_builder"
_collecting = threading.local()


class _SiteBuilderErrors(logging.Filter):
    """Keeps the site builder's error records of the thread collecting them
    (a page not written) off the log, for ``build_data_docs`` to report."""

    def filter(self, record: logging.LogRecord) -> bool:
        errors = getattr(_collecting, "errors", None)
        if errors is None or record.levelno < logging.ERROR:
            return True
        errors.append(record.getMessage())
        return False


logging.getLogger(_SITE_BUILDER_LOG).addFilter(_SiteBuilderErrors())


@contextmanager
def site_builder_errors() -> Iterator[list[str]]:
    """The site builder's error messages logged in this thread meanwhile."""
    _collecting.errors = []
    try:
        yield _collecting.errors
    finally:
        _collecting.errors = None


def build_data_docs(context, docs_dir: Path) -> Path:
    """Render the context's validation result as a Data Docs page under
    ``docs_dir`` (a local site: static files, no server) and return its path.
    Each context holds one result, so only its page is built, not the index."""
    from urllib.parse import unquote, urlparse

    context.add_data_docs_site(
        DOCS_SITE,
        {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    (key,) = context.validation_results_store.list_keys()
    with site_builder_errors() as errors:
        try:
            context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=[key], build_index=False)
        except OSError as exc:
            raise cannot_write(docs_dir, exc.errno, "reports.dir", exc.strerror or "") from exc
    if errors:  # GX logs a page it could not write (with a traceback) instead of raising
        number = re.search(r"\[Errno (\d+)\]", errors[0])
        raise cannot_write(docs_dir, int(number.group(1)) if number else None, "reports.dir")
    (site,) = context.get_docs_sites_urls(resource_identifier=key, site_name=DOCS_SITE)
    return Path(unquote(urlparse(site["site_url"]).path))


def _failures(suite: str, result, frame: pl.DataFrame) -> list[Failure]:
    failures = []
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        kwargs = config.kwargs
        column = kwargs.get("column") or ", ".join(kwargs.get("column_list", []) or []) or None
        expected = (config.meta or {}).get("expected") or config.type
        info = item.exception_info or {}
        if info.get("raised_exception"):
            failures.append(Failure(suite, config.type, column, expected, None,
                                    f"error: {info.get('exception_message')}"))
            continue
        res = item.result or {}
        indexes = res.get("unexpected_index_list")
        if indexes:
            values = list(res.get("unexpected_list") or [])
            # A check on a derived flag (within_day, no_overlap, …) names the input column it is about.
            if (config.meta or {}).get("column") in frame.columns:
                column = config.meta["column"]
                values = []
            # GX lists every failing row's index but only the first values
            # (200): the rest are read from the frame.
            values += [_value_at(frame, column, int(i)) for i in indexes[len(values):]]
            failures.extend(
                Failure(suite, config.type, column, expected, int(i), v) for i, v in zip(indexes, values, strict=True)
            )
        else:
            failures.append(Failure(suite, config.type, column, expected, None, res.get("observed_value")))
    return failures


def _value_at(frame: pl.DataFrame, column: str | None, row: int) -> Any:
    """The value of ``column`` in ``row``, as GX reports it (None where there is no one column)."""
    if column not in frame.columns:
        return None
    return frame.select(column).slice(row, 1).to_pandas()[column].iloc[0]


def describe_failures(outcome: SuiteOutcome, label: Callable[[int], str], timezone: str | None = None) -> list[str]:
    """One line per failed row: ``<where> column <c>: expected <…>, got <v>``.
    ``label`` turns a row index into where the row came from; timestamps are
    shown in ``timezone`` (the business day's) when given."""
    lines, per_expectation = [], {}
    for f in outcome.failures:
        key = (f.expectation, f.column)
        per_expectation[key] = per_expectation.get(key, 0) + 1
        if per_expectation[key] > MAX_LINES_PER_EXPECTATION:
            continue
        where = label(f.row) if f.row is not None else outcome.suite
        column = f" column {f.column}" if f.column else ""
        got = "" if f.value is None and f.row is None else f", got {_show(f.value, timezone)}"
        lines.append(f"{where}{column}: expected {f.expected}{got}")
    for key, count in per_expectation.items():
        if count > MAX_LINES_PER_EXPECTATION:
            lines.append(f"{outcome.suite}: … and {count - MAX_LINES_PER_EXPECTATION} more rows failing {key[0]}")
    return lines


def _show(value: Any, timezone: str | None = None) -> str:
    """A value as a user would write it (no numpy or pandas reprs)."""
    if value is None:
        return "empty"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_show(v, timezone)}" for k, v in value.items())
    if hasattr(value, "astimezone") and getattr(value, "tzinfo", None) is not None and timezone:
        from zoneinfo import ZoneInfo

        value = value.astimezone(ZoneInfo(timezone))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return "empty"
    if isinstance(value, float) and value.is_integer():
        return repr(int(value))
    return repr(value)
