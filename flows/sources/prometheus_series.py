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

The increase is computed here, not by PromQL's ``increase()``: that one
extrapolates to the window's edges and gives fractions. Counters count whole
tokens, so each sample-to-sample difference is a whole number; each one is
booked to the hour of the later sample. The day's total is then exactly the
counter's growth between the last sample before the day and the last sample
in it, and consecutive days never share or drop a difference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

Labels = tuple[tuple[str, str], ...]


@dataclass
class Series:
    """One counter series: its metric, labels, where it was read, its samples."""

    metric: str
    labels: Labels
    origin: str
    samples: list[tuple[float, float]] = field(default_factory=list)

    def label(self, name: str) -> str | None:
        return dict(self.labels).get(name)

    def describe(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in self.labels if k != "__name__")
        return f"{self.metric}{{{inner}}}"


@dataclass
class Increase:
    """A series' day: whole-token differences booked at the later sample's
    time, the resets seen, and values that were not whole numbers."""

    deltas: list[tuple[float, int]] = field(default_factory=list)
    resets: int = 0
    not_whole: list[tuple[float, float]] = field(default_factory=list)


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


def scrape_time(path: Path) -> float:
    """When a saved scrape was taken, from its file name: unix seconds
    (``1740628800.prom``) or an ISO 8601 UTC time (``2025-02-27T04:00:00Z.prom``,
    colons may be written as ``-`` in the time part)."""
    stem = path.name.split(".prom")[0].removesuffix(".txt")
    try:
        return float(stem)
    except ValueError:
        pass
    if "T" in stem:
        day, clock = stem.split("T", 1)
        stem = day + "T" + clock.replace("-", ":", 2)
    parsed = datetime.fromisoformat(stem.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def samples_from_scrape(text: str, taken_at: float, wanted: set[str]) -> Iterable[tuple[str, Labels, float, float]]:
    """``(sample name, labels, time, value)`` for each wanted sample in one
    scrape; a sample's own timestamp wins over the scrape's time."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in wanted:
                ts = float(sample.timestamp) if sample.timestamp is not None else taken_at
                yield sample.name, tuple(sorted(sample.labels.items())), ts, float(sample.value)


def series_from_scrapes(files: Iterable[Path], wanted: set[str]) -> list[Series]:
    """Series from saved scrapes. Each file's parent directory names the
    target it was scraped from (``scrapes/<pod>/<time>.prom``): it becomes
    the ``instance`` label, so two pods' counters stay separate series."""
    by_key: dict[tuple[str, Labels], Series] = {}
    for path in files:
        taken_at = scrape_time(path)
        instance = path.parent.name
        for name, labels, ts, value in samples_from_scrape(path.read_text(encoding="utf-8"), taken_at, wanted):
            labels = tuple(sorted(dict(labels, instance=instance).items()))
            series = by_key.setdefault((name, labels), Series(name, labels, str(path.parent)))
            series.samples.append((ts, value))
    for series in by_key.values():
        series.samples.sort()
    return list(by_key.values())


def counter_increase(samples: list[tuple[float, float]], start: float, end: float) -> Increase:
    """The whole-token differences of one counter series booked in [start, end).

    The baseline is the last sample before ``start``. A value lower than the
    one before means the engine restarted: the counter began again at 0, so
    the new value itself is the difference. A series with no sample before
    ``start`` is an engine that started during the day and counts from 0.
    """
    result = Increase()
    previous: float | None = None
    for ts, value in samples:
        if ts >= end:
            break
        if not (math.isfinite(value) and value == int(value) and value >= 0):
            result.not_whole.append((ts, value))
            continue
        if ts >= start:
            if previous is None or value < previous:
                result.resets += previous is not None
                result.deltas.append((ts, int(value)))
            else:
                result.deltas.append((ts, int(value - previous)))
        previous = value
    return result


def gaps(samples: list[tuple[float, float]], start: float, end: float, max_gap: float) -> list[tuple[float, float]]:
    """Stretches longer than ``max_gap`` seconds without a sample, ending in the day."""
    found = []
    for (before, _), (after, _) in zip(samples, samples[1:]):
        if start <= after < end and after - before > max_gap:
            found.append((before, after))
    return found
