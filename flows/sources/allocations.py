"""Allocations: GPUs held by a job, a pod or a billed instance over an
interval, and how the fleet kinds (``slurm_sacct``, ``opencost``, ``focus``)
turn them into node-log rows.

Everything here is pure: records in, frames out. An allocation is one row of
``ALLOCATION_SCHEMA``; times are UTC microseconds, so clipping to the day and
cutting at change points is exact. Several jobs of one model, role and GPU
type overlap as a matter of course: ``node_log_rows`` sums them into
non-overlapping intervals (one per change point), nodes being GPUs divided by
the GPU type's ``gpus_per_node``.

An allocation source reports what was allocated: an hour in which it has no
allocation is zero nodes for it, not a gap (``extra["covers_day"]``; see
``zero_rows``). openbooks' own ``node_log`` kind has no such flag and keeps
its strict coverage check.
"""

from __future__ import annotations

import re
import string
from dataclasses import replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from openbooks.flows.sources.files import day_files, display_path
from openbooks.flows.sources.raw_tables import record_file
from openbooks.flows.store.warehouse import session
from openbooks.errors import InputError

UTC_US = pl.Datetime("us", "UTC")
KEY = ("model", "role", "gpu_type")
ALLOCATION_SCHEMA = {
    "start": UTC_US, "end": UTC_US, "model": pl.Utf8, "role": pl.Utf8, "gpu_type": pl.Utf8,
    "gpus": pl.Float64, "source_file": pl.Utf8, "line": pl.Int64,
}
US_PER_HOUR = 3_600_000_000


class Rule(BaseModel):
    """One mapping rule: when every field in ``match`` fully matches its
    regular expression, the record belongs to ``model`` and ``role``. Both may
    name the regexes' groups, e.g. ``model: "{model}"`` with
    ``(?P<model>deepseek-.*)``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: dict[str, str]
    model: str
    role: str

    @field_validator("match")
    @classmethod
    def _regexes(cls, value: dict[str, str]) -> dict[str, str]:
        for field, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{field}: expected a regular expression, got {pattern!r} ({exc})")
        return value

    @model_validator(mode="after")
    def _templates_name_groups(self) -> Rule:
        """``model`` and ``role`` name only groups some ``match`` pattern captures."""
        groups = {g for pattern in self.match.values() for g in re.compile(pattern).groupindex}
        for key in ("model", "role"):
            named = {f for _, f, _, _ in string.Formatter().parse(getattr(self, key)) if f is not None}
            unknown = sorted(named - groups)
            if unknown:
                raise ValueError(f"{key}: {getattr(self, key)!r} names group(s) {unknown} that no match pattern "
                                 f"captures (expected (?P<{unknown[0]}>...) in a pattern; groups: {sorted(groups)})")
        return self


def match_rules(rules: list[Rule], record: dict[str, Any]) -> tuple[str, str] | None:
    """(model, role) of the first rule whose fields all match ``record``
    (a missing field is the empty text), or None."""
    for rule in rules:
        groups: dict[str, str] = {}
        for field, pattern in rule.match.items():
            found = re.fullmatch(pattern, str(record.get(field) or ""))
            if found is None:
                break
            groups.update({k: v for k, v in found.groupdict().items() if v is not None})
        else:
            try:
                return rule.model.format_map(groups), rule.role.format_map(groups)
            except (KeyError, ValueError, IndexError):
                continue
    return None


def zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def parse_time(text: str, default_zone: tzinfo, time_format: str | None = None) -> datetime | None:
    """A timestamp as UTC: ISO 8601 (or ``time_format``, strftime codes),
    read in ``default_zone`` when it has no offset. None if unreadable."""
    text = text.strip()
    try:
        value = datetime.strptime(text, time_format) if time_format else datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=default_zone)
    return value.astimezone(ZoneInfo("UTC"))


def allocation_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=ALLOCATION_SCHEMA)


def clip_to_day(allocations: pl.DataFrame, day_start: datetime, day_end: datetime) -> pl.DataFrame:
    """The part of each allocation inside [day_start, day_end); allocations
    wholly outside the day dropped."""
    return allocations.with_columns(
        start=pl.max_horizontal("start", pl.lit(day_start).cast(UTC_US)),
        end=pl.min_horizontal("end", pl.lit(day_end).cast(UTC_US)),
    ).filter(pl.col("end") > pl.col("start"))


def gpu_hours(allocations: pl.DataFrame) -> float:
    """GPU-hours held: GPUs × length, summed (lengths in whole microseconds)."""
    micros = (pl.col("end") - pl.col("start")).dt.total_microseconds()
    return float(allocations.select((pl.col("gpus") * micros).sum()).item() or 0) / US_PER_HOUR


def _segments(allocations: pl.DataFrame) -> pl.DataFrame:
    """Each key's change points, as consecutive [interval_start, interval_end)."""
    bounds = pl.concat([
        allocations.select(*KEY, t=pl.col("start")), allocations.select(*KEY, t=pl.col("end")),
    ]).unique().sort(*KEY, "t")
    return (
        bounds.with_columns(interval_end=pl.col("t").shift(-1).over(KEY))
        .drop_nulls("interval_end")
        .rename({"t": "interval_start"})
    )


def _merge_equal_neighbours(segments: pl.DataFrame) -> pl.DataFrame:
    """Neighbouring segments of one key holding the same GPUs become one."""
    changed = (
        (pl.col("gpus") != pl.col("gpus").shift(1)) | (pl.col("interval_start") != pl.col("interval_end").shift(1))
    ).fill_null(True)
    return (
        segments.sort(*KEY, "interval_start")
        .with_columns(step=changed.cum_sum().over(KEY))
        .group_by(*KEY, "step", maintain_order=True)
        .agg(
            pl.col("interval_start").first(), pl.col("interval_end").last(), pl.col("gpus").first(),
            pl.col("source_file").first(), pl.col("line").first(),
        )
        .drop("step")
    )


def node_log_rows(allocations: pl.DataFrame, gpus_per_node: dict[str, int]) -> pl.DataFrame:
    """Canonical node-log rows: per model, role and GPU type, one row per
    stretch between change points, holding the sum of the GPUs allocated
    then (as nodes: GPUs / ``gpus_per_node``). ``source_file`` and ``line``
    name the first allocation (by file and line) that the row covers."""
    if allocations.is_empty():
        return pl.DataFrame(schema={
            "interval_start": UTC_US, "interval_end": UTC_US, "model": pl.Utf8, "role": pl.Utf8,
            "gpu_type": pl.Utf8, "nodes": pl.Float64, "source_file": pl.Utf8, "line": pl.Int64,
        })
    active = (
        _segments(allocations)
        .join(allocations, on=list(KEY))
        .filter((pl.col("start") <= pl.col("interval_start")) & (pl.col("end") >= pl.col("interval_end")))
        .sort("source_file", "line")
        .group_by(*KEY, "interval_start", "interval_end")
        .agg(pl.col("gpus").sum(), pl.col("source_file").first(), pl.col("line").first())
    )
    per_node = pl.col("gpu_type").replace_strict(gpus_per_node, return_dtype=pl.Float64)
    return (
        _merge_equal_neighbours(active)
        .with_columns(nodes=pl.col("gpus") / per_node)
        .select("interval_start", "interval_end", *KEY, "nodes", "source_file", "line")
        .sort("interval_start", *KEY)
    )


def listed_files(request: Any) -> list[Any]:
    """The day's files of the request's source (``flows.sources.files.SourceFile``, hashed)."""
    return day_files(request.config, request.name, request.day)


def file_content(path: Path) -> str | pl.DataFrame:
    """A file's text (UTF-8), or its frame when it is Parquet (by suffix); an
    unreadable file is an ``InputError`` naming it."""
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pl.read_parquet(path)
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise InputError(f"{display_path(path)} line {line}: expected UTF-8 text (byte {exc.start} is not)")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{display_path(path)}: expected a readable Parquet file ({str(exc).splitlines()[0]})")


def read_day(request: Any, day_result: Any) -> Any:
    """A kind's ``read``: the day's files listed, their contents passed to the
    kind's pure ``day_result(request, paths, contents)``, the files recorded."""
    files = listed_files(request)
    result = day_result(request, [file.path for file in files], [file_content(file.path) for file in files])
    return record_files(request, files, result)


def record_files(request: Any, files: list[Any], result: Any) -> Any:
    """Each file read into ``raw.files`` (rows read, problems found) and each
    problem tagged with its file's content hash, for quarantine."""
    hashes = {str(file.path): file.content_hash for file in files}
    result.problems = [replace(p, content_hash=hashes[p.file]) if p.file in hashes else p for p in result.problems]
    records = result.extra.get("records", {})
    with session(request.config) as con:
        for file in files:
            rejected = sum(1 for p in result.problems if p.file == str(file.path))
            record_file(con, file, rows=records.get(str(file.path)), rejected_rows=rejected, error=None)
    return result


class Parsed:
    """What a kind's pure parser found in one file: allocations, the rows it
    left out on purpose (reason → count) and its problems."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.skipped: dict[str, int] = {}
        self.problems: list[Any] = []  # flows.sources.base.Problem
        self.dropped: list[dict[str, Any]] = []  # allocations left out (GPUs held, no model): rows + "reason"

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count

    def drop(self, reason: str, start: datetime | None, end: datetime | None, gpus: float, gpu_type: str | None,
             source_file: str, line: int) -> None:
        """A GPU allocation left out on purpose (e.g. matching no rule): skipped,
        and its GPU-hours kept to weigh what the day leaves out."""
        self.skip(reason)
        if start is not None and end is not None:
            self.dropped.append({"start": start, "end": end, "model": None, "role": reason, "gpu_type": gpu_type,
                                 "gpus": float(gpus), "source_file": source_file, "line": line})

    @property
    def allocations(self) -> pl.DataFrame:
        return allocation_frame(self.rows)


def merge(result: Any, parsed: Parsed) -> pl.DataFrame:
    """Add one file's problems and skips to a kind's ``SourceResult``; its allocations."""
    result.problems += parsed.problems
    for reason, count in parsed.skipped.items():
        result.skipped[reason] = result.skipped.get(reason, 0) + count
    result.extra.setdefault("dropped", []).extend(parsed.dropped)
    return parsed.allocations


def dropped_hours(dropped: list[dict[str, Any]], day_start: datetime, day_end: datetime,
                  gpus_per_node: dict[str, int]) -> dict[str, tuple[float, float | None]]:
    """reason → (GPU-hours, node-hours) of the day the allocations left out on
    purpose held (node-hours None when a GPU type is not declared)."""
    day = clip_to_day(allocation_frame(dropped), day_start, day_end)
    found = {}
    for reason in day["role"].unique().sort():
        held = day.filter(pl.col("role") == reason)
        per_node = [gpus_per_node.get(t) for t in held["gpu_type"]]
        nodes = None if None in per_node else gpu_hours(held.with_columns(gpus=held["gpus"] / pl.Series(per_node)))
        found[reason] = (gpu_hours(held), nodes)
    return found


def finish(result: Any, frames: list[pl.DataFrame], request: Any, *, outside: str) -> Any:
    """Fill a kind's ``SourceResult``: the day's part of every allocation
    (``extra["allocations"]``, GPU-hours in ``extra["gpu_hours"]``) and the
    node-log rows summed from it; allocations wholly outside the day are
    counted under ``outside``. No files at all is a problem."""
    from openbooks.flows.sources.base import Problem

    if not result.files:
        result.problems.append(Problem(
            source=request.name, expected=f"a file matching sources.{request.name}.path ({request.source.path})",
        ))
    everything = pl.concat(frames) if frames else allocation_frame([])
    day = clip_to_day(everything, request.start, request.end)
    dropped = everything.height - day.height
    if dropped:
        result.skipped[outside] = result.skipped.get(outside, 0) + dropped
    per_node = {name: gpu.gpus_per_node for name, gpu in request.config.hardware.items()}
    result.extra["allocations"] = day
    result.extra["gpu_hours"] = gpu_hours(day)
    result.extra["skipped_hours"] = dropped_hours(result.extra.pop("dropped", []), request.start, request.end, per_node)
    result.extra["covers_day"] = True  # an hour without an allocation is zero nodes, not a gap
    result.frame = node_log_rows(day, per_node)
    result.extra["summary"] = (f"{day.height} allocation(s), {result.extra['gpu_hours']:g} GPU-hours, "
                               f"{result.frame.height} node-log row(s), {sum(result.skipped.values())} skipped")
    return result


def zero_rows(node_log: pl.DataFrame, roles: tuple[str, ...], day_start: datetime, day_end: datetime,
              gpu_type: str, model: str, source_file: str) -> pl.DataFrame:
    """Rows of 0 idle nodes (``model``, role ``idle``, ``gpu_type``) over
    each stretch of the day that no row of ``roles`` covers: the sources
    reported nothing allocated then, so the fleet held zero nodes
    (``source_file`` names where that was read, ``line`` is empty)."""
    dtype = node_log.schema["interval_start"] if "interval_start" in node_log.columns else UTC_US
    covered = (node_log.filter(pl.col("role").is_in(roles)).select("interval_start", "interval_end")
               .cast({"interval_start": dtype, "interval_end": dtype}).sort("interval_start"))
    edges = pl.DataFrame({"interval_start": pl.Series([day_start, day_end], dtype=dtype),
                          "interval_end": pl.Series([day_start, day_end], dtype=dtype)})
    bounds = pl.concat([edges.head(1), covered, edges.tail(1)])
    return (
        bounds.select(interval_start=pl.col("interval_end").cum_max().shift(1), interval_end=pl.col("interval_start"))
        .filter(pl.col("interval_end") > pl.col("interval_start"))
        .with_columns(model=pl.lit(model), role=pl.lit("idle"), gpu_type=pl.lit(gpu_type),
                      nodes=pl.lit(0.0), source_file=pl.lit(source_file), line=pl.lit(None, pl.Int64))
    )
