"""Anomalies: a day's key figures against their trailing median.

Each key figure of a day is compared with the median of the same figure over
the published days of a trailing window before it. Shares (margins, rates)
move by points (0.05 = 5 points), other figures by their share of the median
(0.25 = 25%). A move past the figure's threshold is an anomaly. Frames in,
frames out; an anomaly is a finding, never a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

POINTS, RELATIVE = "points", "relative"


@dataclass(frozen=True)
class Watch:
    figure: str
    kind: str  # POINTS or RELATIVE
    threshold: float


WINDOW_DAYS = 28  # the trailing calendar days a figure is set against (``anomalies.window_days``)

WATCHED = (
    Watch("gross_margin", POINTS, 0.05),
    Watch("billed_gross_margin", POINTS, 0.05),
    Watch("loaded_gross_margin", POINTS, 0.05),
    Watch("cache_hit_rate", POINTS, 0.05),
    Watch("idle_capacity_share", POINTS, 0.05),
    Watch("cost_per_million_input_usd", RELATIVE, 0.25),
    Watch("cost_per_million_output_usd", RELATIVE, 0.25),
    Watch("prefill_input_tokens_per_node_second", RELATIVE, 0.25),
    Watch("decode_output_tokens_per_node_second", RELATIVE, 0.25),
)
SCHEMA = {"day": pl.Date, "figure": pl.String, "value": pl.Float64, "median": pl.Float64, "window_days": pl.Int64,
          "move": pl.Float64, "kind": pl.String, "threshold": pl.Float64}


def move(value: float, median: float, kind: str) -> float | None:
    """How far ``value`` is from ``median``: a difference in points, or a share of the median."""
    if kind == POINTS:
        return value - median
    return None if median == 0 else (value - median) / abs(median)


def trailing(daily: pl.DataFrame, day: date, window_days: int) -> pl.DataFrame:
    """The published days of the ``window_days`` calendar days before ``day``."""
    return daily.filter(pl.col("day").is_between(day - timedelta(days=window_days), day - timedelta(days=1)))


def day_anomalies(daily: pl.DataFrame, day: date, *, window_days: int = WINDOW_DAYS, min_days: int = 3,
                  watched: tuple[Watch, ...] = WATCHED) -> pl.DataFrame:
    """The key figures of ``day`` that moved past their threshold against the
    trailing median (none when fewer than ``min_days`` days precede it)."""
    today = daily.filter(pl.col("day") == day)
    window = trailing(daily, day, window_days)
    rows = []
    for watch in watched:
        if today.is_empty() or watch.figure not in daily.columns:
            continue
        value, history = today[watch.figure][0], window[watch.figure].drop_nulls()
        if value is None or history.len() < min_days:
            continue
        median = history.median()
        moved = move(value, median, watch.kind)
        if moved is not None and abs(moved) > watch.threshold:
            rows.append({"day": day, "figure": watch.figure, "value": value, "median": median,
                         "window_days": history.len(), "move": moved, "kind": watch.kind,
                         "threshold": watch.threshold})
    return pl.DataFrame(rows, schema=SCHEMA)


def anomalies_between(daily: pl.DataFrame, start: date, end: date, window_days: int = WINDOW_DAYS) -> pl.DataFrame:
    """The anomalies of each day of ``daily`` from ``start`` to ``end``
    (``daily`` holds the ``window_days`` before ``start`` too)."""
    days = daily.filter(pl.col("day") >= start)["day"].to_list()
    found = [day_anomalies(daily, day, window_days=window_days) for day in days if day <= end]
    return pl.concat(found) if found else pl.DataFrame(schema=SCHEMA)
