"""The rules of a counter's day, on raw samples: baseline, restarts, hour booking.

Counters as the Prometheus docs and the OpenMetrics spec define them: a
counter only goes up while its process lives; a restart starts it again
from 0; ``<name>_created`` (OpenMetrics, and prometheus-client's text
output) is the time the current count began.

``samples`` has one row per raw sample: ``series`` (an id), ``ts`` (unix
seconds), ``value`` and ``created`` (the series' ``_created`` as of that
sample, null when it is not exported). Times ``start`` and ``end`` are the
day's bounds in unix seconds; the day is ``(start, end]``:

- the **baseline** of a series is its last sample at or before ``start``;
  each later sample up to and including ``end`` adds ``value - previous``;
- a **restart** (a value below the previous one, or a ``_created`` that
  moved) counts the new value from 0: the difference is the value itself;
- an increase between two samples is booked to the hour ``(h, h + 1h]``
  holding the later sample: samples at 01:00 and 02:00 book to 01:00-02:00;
- a series with no baseline counts from 0 only when it is known to have
  begun there: its ``_created`` is inside the day, or at most ``max_gap``
  before its first sample (a pod born just before the day), or its first
  value is 0. Any other has no known start: its first value may be a
  lifetime total, and the day is refused (``unbaselined``).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

SAMPLES = {"series": pl.Int64, "ts": pl.Float64, "value": pl.Float64, "created": pl.Float64}
MOVED = 1e-3  # seconds: a ``_created`` that changed by more has restarted


def samples_frame(rows: list[tuple[int, float, float]] | None = None) -> pl.DataFrame:
    """Samples ``(series, ts, value)`` with no ``_created`` known."""
    frame = pl.DataFrame(rows or [], schema=["series", "ts", "value"], orient="row")
    return frame.cast({"series": pl.Int64, "ts": pl.Float64, "value": pl.Float64}).with_columns(
        created=pl.lit(None, pl.Float64))


def with_created(samples: pl.DataFrame, created: pl.DataFrame) -> pl.DataFrame:
    """Each sample with its series' ``_created`` as of that time (``created``:
    ``series``, ``ts``, ``created``; the last one at or before the sample)."""
    base = samples.drop("created", strict=False).sort("series", "ts")
    known = created.select("series", "ts", "created").cast({"series": pl.Int64, "ts": pl.Float64}).sort("series", "ts")
    # sorted by time within each series, as an as-of join by series needs
    return base.join_asof(known, on="ts", by="series", strategy="backward", check_sortedness=False)


def is_counter_value() -> pl.Expr:
    """A whole, finite, non-negative number: what a token or request counter holds."""
    value = pl.col("value")
    return value.is_finite() & (value >= 0) & (value == value.floor())


def not_counter_values(samples: pl.DataFrame, end: float) -> pl.DataFrame:
    """Per series, the samples up to ``end`` that are no counter value:
    ``series``, ``count``, the first one's ``ts`` and ``value``."""
    bad = samples.filter((pl.col("ts") <= end) & ~is_counter_value().fill_null(False)).sort("series", "ts")
    return bad.group_by("series", maintain_order=True).agg(pl.len().alias("count"), pl.col("ts").first(),
                                                           pl.col("value").first())


def with_previous(samples: pl.DataFrame) -> pl.DataFrame:
    """Counter samples in series and time order, each with the previous sample's time, value and
    ``_created`` (a frame that has them already is returned as it is: the functions below take either)."""
    if "prev_ts" in samples.columns:
        return samples
    ordered = samples.filter(is_counter_value().fill_null(False)).sort("series", "ts")
    return ordered.with_columns(
        prev_ts=pl.col("ts").shift(1).over("series"),
        prev_value=pl.col("value").shift(1).over("series"),
        prev_created=pl.col("created").shift(1).over("series"),
    )


def restarted() -> pl.Expr:
    """The counter began again since the previous sample: it dropped, or its ``_created`` moved."""
    dropped = pl.col("value") < pl.col("prev_value")
    moved = ((pl.col("created") - pl.col("prev_created")).abs() > MOVED).fill_null(False)
    return dropped | moved


def known_start(start: float, max_gap: float) -> pl.Expr:
    """A series first seen after ``start`` began from 0 where we can tell (see the module doc)."""
    created = pl.col("created")
    began = created.is_not_null() & ((created > start) | (pl.col("ts") - created <= max_gap))
    return began | (pl.col("value") == 0)


def booked_hour(start: datetime, start_ts: float) -> pl.Expr:
    """The hour ``(h, h + 1h]`` of the day holding the sample at ``ts``, as its start time."""
    index = ((pl.col("ts") - start_ts) / 3600).ceil().cast(pl.Int64) - 1
    return (pl.lit(start).dt.cast_time_unit("us") + pl.duration(hours=index)).alias("hour_start")


def in_day(samples: pl.DataFrame, start: float, end: float) -> pl.DataFrame:
    """The counter samples in ``(start, end]``, each with its previous sample (none for a series' first)."""
    return with_previous(samples).filter((pl.col("ts") > start) & (pl.col("ts") <= end))


def increases(samples: pl.DataFrame, start: datetime, end: datetime, max_gap: float) -> pl.DataFrame:
    """Every difference booked in the day: ``series``, ``hour_start``, ``ts``, ``tokens``, ``restart``.
    A series without a known start (``unbaselined``) books nothing."""
    lo, hi = start.timestamp(), end.timestamp()
    first = pl.col("prev_ts").is_null()
    tokens = (pl.when(first).then(pl.col("value"))
              .when(restarted()).then(pl.col("value"))
              .otherwise(pl.col("value") - pl.col("prev_value")))
    day = in_day(samples, lo, hi)
    refused = day.filter(first & ~known_start(lo, max_gap))["series"].implode()
    booked = day.filter(~pl.col("series").is_in(refused)).with_columns(
        tokens=tokens.cast(pl.Int64), restart=~first & restarted(), hour_start=booked_hour(start, lo))
    return booked.select("series", "hour_start", "ts", "tokens", "restart")


def unbaselined(samples: pl.DataFrame, start: datetime, end: datetime, max_gap: float) -> pl.DataFrame:
    """The series with samples in the day but no baseline and no known start: ``series``, first ``ts``, ``value``."""
    lo, hi = start.timestamp(), end.timestamp()
    first = in_day(samples, lo, hi).filter(pl.col("prev_ts").is_null())
    return first.filter(~known_start(lo, max_gap)).select("series", "ts", "value")


def gaps(samples: pl.DataFrame, start: datetime, end: datetime, max_gap: float) -> pl.DataFrame:
    """Per series, the stretches longer than ``max_gap`` seconds without a sample that touch the day
    (an increase in one could land in a later hour): ``series``, ``count``, the longest's ``before``
    and ``after``. A series born in the day counts its ``_created`` as its first sample."""
    lo, hi = start.timestamp(), end.timestamp()
    pairs = with_previous(samples).with_columns(
        before=pl.when(pl.col("prev_ts").is_null() & (pl.col("created") > lo))
        .then(pl.col("created")).otherwise(pl.col("prev_ts")))
    found = pairs.filter((pl.col("ts") > lo) & (pl.col("before") < hi) & (pl.col("ts") - pl.col("before") > max_gap))
    longest = (pl.col("ts") - pl.col("before")).arg_max()
    return found.group_by("series", maintain_order=True).agg(
        pl.len().alias("count"), pl.col("before").get(longest), pl.col("ts").get(longest).alias("after"))


def last_sample(samples: pl.DataFrame, end: datetime) -> float | None:
    """The time of the last sample at or before ``end`` of any series (None without one)."""
    return samples.filter(pl.col("ts") <= end.timestamp())["ts"].max()
