"""Slurm accounting (``sacct --parsable2``) as the node log.

One file is the output of, e.g.::

    sacct -a -X --parsable2 -S <day start> -E <day end> \\
      --format=JobID,JobName,Partition,Account,QOS,State,Start,End,AllocTRES,NodeList,Comment

(``-X``: allocations only; without it job steps ``<id>.batch``, ``<id>.0`` …
follow their job and are left out here, so nothing is counted twice). The
first line names the fields, ``|`` separates them. A job's GPUs come from
``AllocTRES`` (``gres/gpu:<type>=N`` when typed, else ``gres/gpu=N``), its GPU
type from the typed count (``options.gres_types``), its ``NodeList``
(``options.node_types``) or its partition (``options.partitions``), its model
and role from ``options.rules``. ``Start``/``End`` are read in
``options.timezone`` unless they carry an offset (``SLURM_TIME_FORMAT=%FT%T%z``);
a running job's ``End=Unknown`` stops at the export's time (``options.export_time``
or a time in the file name, else ``Start + Elapsed``: sacct counts a running
job's ``Elapsed`` up to when it wrote the line; never the clock). Only the day's part of a job
counts. PENDING, never-started and zero-GPU jobs are skipped and counted.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from openbooks.flows.sources import allocations as alloc
from openbooks.flows.sources.limits import MAX_GPUS_PER_ROW
from openbooks.flows.sources.base import DayRequest, Problem, SourceKind, SourceResult
from openbooks.config.common import zone_name

REQUIRED = ("JobID", "State", "Start", "End", "AllocTRES")
NO_TIME = {"", "Unknown", "None", "N/A"}
TIME_EXPECTED = "a time such as 2025-02-27T10:00:00 or 2025-02-27T10:00:00+0800 (set options.time_format otherwise)"
NAME_TIME = re.compile(
    r"(?P<date>\d{4}-?\d{2}-?\d{2})T(?P<hh>\d{2})[:-]?(?P<mm>\d{2})[:-]?(?P<ss>\d{2})(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
ELAPSED = re.compile(r"(?:(?P<d>\d+)-)?(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d+)")
GPU_TRES = re.compile(r"gres/gpu(?::(?P<type>[^=]+))?=(?P<count>[^,]*)")


class SlurmOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "UTC"  # for Start/End without an offset
    time_format: str | None = None  # strftime codes, when SLURM_TIME_FORMAT is not ISO 8601
    export_time: datetime | None = None  # when the file was written (else read from its name)
    gres_types: dict[str, str] = {}  # gres/gpu:<type> → GPU type under hardware
    node_types: dict[str, str] = {}  # NodeList regex → GPU type
    partitions: dict[str, str] = {}  # partition → GPU type
    rules: list[alloc.Rule] = []  # job fields → model and role; the first match wins
    unmatched: Literal["skip", "fail"] = "skip"  # a GPU job no rule matches
    delimiter: str = "|"

    _zone = field_validator("timezone")(lambda cls, v: zone_name(v))


def export_time_in_name(name: str, options: SlurmOptions) -> datetime | None:
    """The export's time written in a file name, e.g. ``sacct_2025-02-28T04-00-00Z.txt``."""
    found = NAME_TIME.search(name)
    if found is None:
        return None
    date = found["date"].replace("-", "")
    iso = f"{date[:4]}-{date[4:6]}-{date[6:]}T{found['hh']}:{found['mm']}:{found['ss']}{found['tz'] or ''}"
    return alloc.parse_time(iso, alloc.zone(options.timezone))


def gpus_by_type(tres: str) -> dict[str | None, int] | None:
    """GPUs in an ``AllocTRES`` value: by gres type when typed (Slurm then
    also reports the untyped total, not added again), else ``{None: total}``.
    None if a count is not a whole number up to ``MAX_GPUS_PER_ROW``."""
    typed, total = {}, 0
    for found in GPU_TRES.finditer(tres):
        if not found["count"].isdigit() or len(found["count"]) > 7 or int(found["count"]) > MAX_GPUS_PER_ROW:
            return None
        if found["type"]:
            typed[found["type"]] = typed.get(found["type"], 0) + int(found["count"])
        else:
            total += int(found["count"])
    return {k: v for k, v in typed.items() if v} if typed else ({None: total} if total else {})


class _File:
    """One file being read: where problems and skips go."""

    def __init__(self, source: str, path: str, options: SlurmOptions, hardware: dict, export_time, seen: set):
        self.source, self.path, self.options, self.hardware, self.seen = source, path, options, hardware, seen
        self.export_time = options.export_time or export_time
        if self.export_time is not None and self.export_time.tzinfo is None:
            self.export_time = self.export_time.replace(tzinfo=alloc.zone(options.timezone))
        self.parsed = alloc.Parsed()

    def problem(self, line: int, column: str | None, expected: str, value: str | None, record: str) -> None:
        self.parsed.problems.append(Problem(
            source=self.source, expected=expected, file=self.path, line=line, column=column, value=value,
            record=record,
        ))


def _header_problem(file: _File, header: list[str]) -> bool:
    wanted = list(REQUIRED) + [f for rule in file.options.rules for f in rule.match]
    if file.options.partitions:
        wanted.append("Partition")
    missing = [name for name in dict.fromkeys(wanted) if name not in header]
    if missing:
        file.problem(1, missing[0], f"a sacct --parsable2 header naming {', '.join(missing)} "
                     f"(fields separated by {file.options.delimiter!r})", None, "|".join(header))
    return bool(missing)


def _times(file: _File, record: dict, line: int, raw: str) -> tuple[datetime, datetime] | None:
    zone = alloc.zone(file.options.timezone)
    start = alloc.parse_time(record["Start"], zone, file.options.time_format)
    if start is None:
        return file.problem(line, "Start", TIME_EXPECTED, record["Start"], raw)
    if record["End"].strip() in NO_TIME:
        return _running_end(file, record, start, line, raw)
    end = alloc.parse_time(record["End"], zone, file.options.time_format)
    if end is None:
        return file.problem(line, "End", TIME_EXPECTED, record["End"], raw)
    if end < start:
        return file.problem(line, "End", "an End at or after Start", record["End"], raw)
    return start, end


def elapsed(text: str) -> timedelta | None:
    """sacct's ``Elapsed``, ``[DD-[HH:]]MM:SS`` (``1-02:03:04``, ``02:03:04``, ``03:04``); None if unreadable."""
    found = ELAPSED.fullmatch(text.strip())
    if found is None:
        return None
    return timedelta(days=int(found["d"] or 0), hours=int(found["h"] or 0), minutes=int(found["m"]),
                     seconds=int(found["s"]))


def _running_end(file: _File, record: dict, start: datetime, line: int, raw: str):
    """A running job (``End=Unknown``) runs until the export was written: the
    declared or named export time, else ``Start + Elapsed`` (sacct counts a
    running job's Elapsed up to the moment it writes the line)."""
    if file.export_time is not None:
        return start, file.export_time.astimezone(start.tzinfo)
    ran = elapsed(record.get("Elapsed") or "")
    if ran is None:
        column, value = ("Elapsed", record["Elapsed"]) if record.get("Elapsed") else ("End", record["End"])
        return file.problem(line, column, "the export's time for a running job (options.export_time, a time in "
                            "the file name, or an Elapsed field such as 1-02:03:04 to add to Start)", value, raw)
    return start, start + ran


def _gpu_type(file: _File, record: dict, gres_type: str | None) -> str | None:
    options = file.options
    if gres_type is not None:
        known = {name.lower(): name for name in file.hardware}
        return options.gres_types.get(gres_type) or known.get(gres_type.lower())
    for pattern, gpu_type in options.node_types.items():
        if re.fullmatch(pattern, record.get("NodeList", "")):
            return gpu_type
    return options.partitions.get(record.get("Partition", ""))


def _job(file: _File, record: dict, line: int, raw: str) -> None:
    """One allocation line: its rows added to ``file.parsed``, or a skip, or a problem."""
    parsed, state = file.parsed, record["State"].split(" ")[0].strip()
    if "." in record["JobID"]:
        return parsed.skip("job step line (its job's allocation line counts)")
    if record["JobID"] in file.seen:
        return parsed.skip("job also in a later export (that one counts)")
    file.seen.add(record["JobID"])
    if state == "PENDING":
        return parsed.skip("PENDING job")
    if record["Start"].strip() in NO_TIME:
        return parsed.skip("job that never started")
    gpus = gpus_by_type(record["AllocTRES"])
    if gpus is None:
        return file.problem(line, "AllocTRES", "whole GPU counts (gres/gpu=N or gres/gpu:<type>=N)",
                            record["AllocTRES"], raw)
    if not gpus:
        return parsed.skip("job without GPUs")
    mapped = alloc.match_rules(file.options.rules, record)
    if mapped is None:
        if file.options.unmatched == "skip":
            return _drop(file, record, line, raw, gpus, "GPU job matching no rule")
        return file.problem(line, "JobName", "a job matching one of options.rules", record.get("JobName"), raw)
    times = _times(file, record, line, raw)
    if times is None:
        return None
    for gres_type, count in gpus.items():
        gpu_type = _gpu_type(file, record, gres_type)
        if gpu_type not in file.hardware:
            column, value = ("AllocTRES", gres_type) if gres_type else ("Partition", record.get("Partition"))
            return file.problem(line, column, "a GPU type declared under hardware (map it under options."
                                f"{'gres_types' if gres_type else 'partitions or options.node_types'})", value, raw)
        parsed.rows.append({"start": times[0], "end": times[1], "model": mapped[0], "role": mapped[1],
                            "gpu_type": gpu_type, "gpus": float(count), "source_file": file.path, "line": line})
    return None


def _drop(file: _File, record: dict, line: int, raw: str, gpus: dict, reason: str) -> None:
    """A GPU job left out: skipped once, its GPU-hours per GPU type kept when its
    times read (a time that does not read is no problem for a job left out)."""
    kept = len(file.parsed.problems)
    times = _times(file, record, line, raw)
    del file.parsed.problems[kept:]
    file.parsed.skip(reason)
    for gres_type, count in gpus.items() if times is not None else ():
        file.parsed.dropped.append({"start": times[0], "end": times[1], "model": None, "role": reason,
                                    "gpu_type": _gpu_type(file, record, gres_type), "gpus": float(count),
                                    "source_file": file.path, "line": line})
    return None


def parse_sacct(
    text: str, path: str, options: SlurmOptions, *, source: str, hardware: dict, export_time: datetime | None = None,
    seen: set[str] | None = None,
) -> alloc.Parsed:
    """The allocations in one ``sacct --parsable2`` file's text (pure). Jobs
    in ``seen`` (read from a later export already) are skipped; the file's are added."""
    file = _File(source, path, options, hardware, export_time, set() if seen is None else seen)
    lines = text.lstrip("\ufeff").splitlines()
    header = lines[0].split(options.delimiter) if lines else []
    if _header_problem(file, header):
        return file.parsed
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        fields = raw.split(options.delimiter)
        if len(fields) != len(header):
            file.problem(number, None, f"{len(header)} fields separated by {options.delimiter!r}",
                         f"{len(fields)} fields", raw)
            continue
        _job(file, dict(zip(header, fields)), number, raw)
    return file.parsed


def _latest_first(files: list[Path], texts: list[str], options: SlurmOptions) -> list[tuple[Path, str]]:
    """The exports, the latest (by the time in its name, then by name) first:
    a job in several exports counts once, as the latest one has it."""
    earliest = datetime.min.replace(tzinfo=alloc.zone("UTC"))
    order = sorted(range(len(files)), reverse=True,
                   key=lambda i: (export_time_in_name(files[i].name, options) or earliest, str(files[i])))
    return [(files[i], texts[i]) for i in order]


def day_result(request: DayRequest, files: list[Path], texts: list[str]) -> SourceResult:
    """The day's node log from the sacct files' texts (pure but for the config)."""
    options, hardware = request.options, request.config.hardware
    result = SourceResult(frame=None, files=list(files))
    frames, seen = [], set()
    for path, text in _latest_first(files, texts, options):
        parsed = parse_sacct(text, str(path), options, source=request.name, hardware=hardware,
                             export_time=export_time_in_name(path.name, options), seen=seen)
        result.extra.setdefault("records", {})[str(path)] = sum(1 for line in text.splitlines()[1:] if line.strip())
        frames.append(alloc.merge(result, parsed))
    return alloc.finish(result, frames, request, outside="job outside the day")


def read(request: DayRequest) -> SourceResult:
    return alloc.read_day(request, day_result)


KIND = SourceKind(
    name="slurm_sacct", feeds="node_log", read=read, options=SlurmOptions, suite="node_log",
    description="Slurm accounting (sacct --parsable2): GPU jobs as node-hours by model and role",
)
