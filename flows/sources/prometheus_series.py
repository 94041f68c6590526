"""Counter series as Prometheus keeps them, and their exact increase over a day.

A series is one metric with one label set from one target (one pod, one
engine), with its raw samples ``(unix seconds, value)`` in time order. Three
ways in, all pure: the matrix JSON of ``/api/v1/query`` with a range selector
or of ``/api/v1/query_range`` (``{"status": "success", "data": {"resultType":
"matrix", "result": [{"metric": {...}, "values": [[ts, "value"], ...]}]}}``,
https://prometheus.io/docs/prometheus/latest/querying/api/), and saved
``/metrics`` scrapes in the text exposition format
(https://prometheus.io/docs/instrumenting/exposition_formats/), parsed with
``prometheus_client.parser``.

The day's increase is computed from these raw samples by the counter rules
of ``openbooks.transforms.counters``, not by PromQL's ``increase()``, which
extrapolates to the window's edges and gives fractions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

Labels = tuple[tuple[str, str], ...]


@dataclass
class Series:
    """One counter series: its metric, labels, where it was read, its samples."""

    metric: str
    labels: Labels
    origin: str
    samples: list[tuple[float, float]] = field(default_factory=list)
    first_file: str | None = None  # saved scrapes: the file holding the series' first sample

    def label(self, name: str) -> str | None:
        return dict(self.labels).get(name)

    def describe(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in self.labels if k != "__name__")
        return f"{self.metric}{{{inner}}}"


def series_from_matrix(payload: dict, origin: str) -> list[Series]:
    """Series from a Prometheus API answer whose result type is a matrix."""
    if payload.get("status") != "success":
        raise ValueError(f"status {payload.get('status')!r}: {payload.get('error', 'no error given')}")
    data = payload.get("data") or {}
    if data.get("resultType") != "matrix":
        raise ValueError(f"expected resultType 'matrix', got {data.get('resultType')!r}")
    found = []
    for item in data.get("result", []):
        metric = dict(item.get("metric", {}))
        name = metric.pop("__name__", "")
        samples = sorted((float(ts), float(value)) for ts, value in item.get("values", []))
        found.append(Series(name, tuple(sorted(metric.items())), origin, samples))
    return found


def created_name(metric: str) -> str:
    """The ``_created`` series of a counter (OpenMetrics: the family name, i.e. without ``_total``, + ``_created``)."""
    return metric.removesuffix("_total") + "_created"


DEFAULT_SCRAPE_NAME = "{target}/{time}"
# A scrape's time in its name: unix seconds (or milliseconds), or ISO 8601 in
# UTC unless an offset is given, with or without separators; colons may be
# written as "-" in the time part (2025-02-27T04-10-00Z).
TIME_PATTERN = (r"\d{9,}(?:\.\d+)?"
                r"|\d{4}-?\d{2}-?\d{2}[T_ ]\d{2}[-:]?\d{2}(?:[-:]?\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
EXTENSION = r"(?:\.[A-Za-z0-9]+)*"


def scrape_name_regex(pattern: str | None) -> re.Pattern:
    """A declared scrape name (``{target}``, ``{time}``, ``*`` for anything in one path part; the rest
    literal), matched against the file's last path parts; the default also allows any extension."""
    text = pattern or DEFAULT_SCRAPE_NAME
    parts = re.split(r"(\{target\}|\{time\}|\*)", text)
    pieces = {"{target}": r"(?P<target>[^/]+)", "{time}": rf"(?P<time>{TIME_PATTERN})", "*": r"[^/]*"}
    body = "".join(pieces.get(part, re.escape(part)) for part in parts)
    return re.compile(body + (EXTENSION if pattern is None else ""))


def name_parts(path: Path, regex: re.Pattern, depth: int) -> tuple[str, float] | None:
    """``(target, unix seconds)`` of a saved scrape from its last ``depth`` path parts, None when
    they do not match. Without ``{target}`` the target is the file's directory."""
    tail = "/".join(path.parts[-depth:])
    found = regex.fullmatch(tail)
    if found is None:
        return None
    named = found.groupdict()
    try:
        taken = parse_time(named["time"])
    except (KeyError, ValueError):
        return None
    return named.get("target") or path.parent.name, taken


def parse_time(text: str) -> float:
    """Unix seconds (milliseconds above 1e11) or an ISO 8601 time, UTC unless it says otherwise."""
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        value = float(text)
        return value / 1000 if value > 1e11 else value
    day, clock = re.split(r"[T_ ]", text, maxsplit=1)
    zone = re.search(r"(Z|[+-]\d{2}:?\d{2})$", clock)
    offset = zone.group(1) if zone else "Z"
    clock = clock[: zone.start()] if zone else clock
    digits = clock.replace(":", "").replace("-", "")
    whole, _, fraction = digits.partition(".")
    stamp = f"{day.replace('-', '')}T{whole.ljust(6, '0')}{'.' + fraction if fraction else ''}"
    parsed = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f" if fraction else "%Y%m%dT%H%M%S")
    zone_text = "+00:00" if offset == "Z" else offset
    hours, minutes = int(zone_text[1:3]), int(zone_text.replace(":", "")[3:5])
    sign = -1 if zone_text[0] == "-" else 1
    return parsed.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes))).timestamp()


def samples_from_scrape(text: str, taken_at: float, wanted: set[str]) -> Iterable[tuple[str, Labels, float, float]]:
    """``(sample name, labels, time, value)`` for each wanted sample in one
    scrape; a sample's own timestamp wins over the scrape's time."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in wanted:
                ts = float(sample.timestamp) if sample.timestamp is not None else taken_at
                yield sample.name, tuple(sorted(sample.labels.items())), ts, float(sample.value)


def series_from_scrapes(files: Iterable[Path], wanted: set[str], pattern: str | None = None
                        ) -> tuple[list[Series], list[Path]]:
    """Series from saved scrapes, and the files whose name does not match.
    The target (``{target}`` of ``pattern``, by default the file's directory:
    ``scrapes/<pod>/<time>.prom``) becomes the ``instance`` label, so two pods'
    counters stay separate series even in one folder."""
    regex, depth = scrape_name_regex(pattern), (pattern or DEFAULT_SCRAPE_NAME).count("/") + 1
    by_key: dict[tuple[str, Labels], Series] = {}
    first_seen: dict[tuple[str, Labels], float] = {}
    unmatched = []
    for path in files:
        parts = name_parts(path, regex, depth)
        if parts is None:
            unmatched.append(path)
            continue
        instance, taken_at = parts
        for name, labels, ts, value in samples_from_scrape(path.read_text(encoding="utf-8"), taken_at, wanted):
            labels = tuple(sorted(dict(labels, instance=instance).items()))
            series = by_key.setdefault((name, labels), Series(name, labels, str(path.parent)))
            if ts < first_seen.get((name, labels), math.inf):
                first_seen[(name, labels)], series.first_file = ts, str(path)
            series.samples.append((ts, value))
    for series in by_key.values():
        series.samples.sort()
    return list(by_key.values()), unmatched
