"""A day of counter series turned into token counts, and what is wrong with them.

The series (``prometheus_series.Series``, as read from a server or saved
files) become two frames: ``meta`` (one row per counter series: its id,
name, origin, role, model and channel) and ``samples`` (its raw samples with
the ``_created`` of their time), on which the counter rules of
``openbooks.transforms.counters`` run. Problems are said once per series
(a gap, a value that is no counter value) or once per cause (series with no
baseline, hits above prompt tokens), never once per hour.
"""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl

from openbooks.flows.sources.base import Problem
from openbooks.flows.sources.files import display_path
from openbooks.flows.sources.prometheus_series import Series, created_name
from openbooks.transforms import counters

ROLES = ("prompt", "output", "cache_hit", "requests")
WHAT = {"prompt": "prompt tokens", "output": "output tokens", "cache_hit": "cache hits", "requests": "requests"}
META = {"series": pl.Int64, "metric": pl.Utf8, "describe": pl.Utf8, "origin": pl.Utf8, "first_file": pl.Utf8,
        "role": pl.Utf8, "model": pl.Utf8, "channel": pl.Utf8}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


def framed(series: list[Series], options) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``meta`` and ``samples`` of the counter series (each with the ``_created`` series of its labels)."""
    role_of = {metric: role for role, metric in options.metric_names().items()}
    created = {(s.metric, s.labels): s for s in series if s.metric not in role_of}
    meta = []
    columns: dict[str, list] = {"series": [], "ts": [], "value": []}
    born: dict[str, list] = {"series": [], "ts": [], "created": []}
    for number, one in enumerate(s for s in series if s.metric in role_of):
        channel = (one.label(options.channel_label) if options.channel_label else None) or options.channel
        meta.append((number, one.metric, one.describe(), one.origin, one.first_file or one.origin, role_of[one.metric],
                     one.label(options.model_label), channel))
        add_samples(columns, number, one.samples, "value")
        add_samples(born, number, created.get((created_name(one.metric), one.labels), Series("", (), "")).samples,
                    "created")
    samples = pl.DataFrame(columns, schema={"series": pl.Int64, "ts": pl.Float64, "value": pl.Float64})
    born_frame = pl.DataFrame(born, schema={"series": pl.Int64, "ts": pl.Float64, "created": pl.Float64})
    return pl.DataFrame(meta, schema=META, orient="row"), counters.with_created(samples, born_frame)


def add_samples(columns: dict[str, list], number: int, samples: list[tuple[float, float]], name: str) -> None:
    if samples:
        times, values = zip(*samples)
        columns["series"] += [number] * len(samples)
        columns["ts"] += times
        columns[name] += values


def where(row: dict, options) -> str | None:
    """The file a series was read from; None when it came from the server."""
    return None if options.url else row["origin"]


def unlabelled(meta: pl.DataFrame, options, source: str) -> list[Problem]:
    """Series without the label naming the model: one line each."""
    return [Problem(source, f"a {options.model_label!r} label naming the model", column=row["describe"],
                    file=where(row, options)) for row in meta.filter(pl.col("model").is_null()).iter_rows(named=True)]


def refused(found: pl.DataFrame, meta: pl.DataFrame, options, source: str, start: datetime) -> list[Problem]:
    """One line for every series with no baseline and no known start: the first of them, how many
    more, and what to do. Their first values may be lifetime totals: the day is not published."""
    if found.is_empty():
        return []
    first = found.sort("ts", "series").row(0, named=True)
    row = meta.filter(pl.col("series") == first["series"]).row(0, named=True)
    more = f" (and {found.height - 1} more series)" if found.height > 1 else ""
    said = (f"{row['describe']} has no sample at or before the day's start ({start.isoformat()}) and no _created "
            f"in the day{more}: its first value, {first['value']:,.0f} at {iso(first['ts'])}, may be the counter's "
            "lifetime total, not the day's tokens")
    lookback = options.lookback()
    if options.url:
        text = (f"sources.{source}: {said} (Prometheus at {options.url}); widen options.lookback_seconds (now "
                f"{lookback:g}s) to reach the series' last sample before the day")
    else:
        text = (f"{display_path(row['first_file'])}: {said}; export from before the day's start (a query_range from "
                f"{iso(start.timestamp() - lookback)} or earlier, or the last scrape before the day)")
    return [Problem(source, "a sample at or before the day's start (the counter's baseline)",
                    file=None if options.url else row["first_file"],
                    column=row["describe"], value=f"{first['value']:g} at {iso(first['ts'])}", text=text)]


def gap_problems(found: pl.DataFrame, meta: pl.DataFrame, options, source: str) -> list[Problem]:
    """One line per series with stretches longer than ``max_gap_seconds`` without a sample."""
    rows = found.join(meta, on="series").sort("series")
    problems = []
    for row in rows.iter_rows(named=True):
        count = row["count"]
        stretches = "a stretch" if count == 1 else f"{count} stretches, the longest"
        problems.append(Problem(source, f"a sample at least every {options.max_gap_seconds:g}s ({stretches} without "
                                        f"one from {iso(row['before'])} to {iso(row['after'])}; check the scrape "
                                        "target)", file=where(row, options), column=row["describe"]))
    return problems


def value_problems(found: pl.DataFrame, meta: pl.DataFrame, options, source: str) -> list[Problem]:
    """One line per series holding values that are no counter values."""
    rows = found.join(meta, on="series").sort("series")
    return [Problem(source, "a whole, non-negative counter value", file=where(row, options), column=row["describe"],
                    value=f"{row['value']} at {iso(row['ts'])}" + (f" (and {row['count'] - 1} more)"
                                                                    if row["count"] > 1 else ""))
            for row in rows.iter_rows(named=True)]


def hourly(booked: pl.DataFrame, meta: pl.DataFrame, origin: str) -> pl.DataFrame:
    """The canonical token counts: per hour × model × channel, every series' booked differences summed."""
    keys = ["hour_start", "model", "channel"]
    long = booked.join(meta.select("series", "role", "model", "channel"), on="series")
    sums = [pl.col("tokens").filter(pl.col("role") == role).sum().alias(role) for role in ROLES]
    wide = long.group_by(keys).agg(sums).sort(keys)
    return wide.select(
        *keys,
        pl.col("cache_hit").alias("cache_hit_tokens"),
        (pl.col("prompt") - pl.col("cache_hit")).alias("cache_miss_tokens"),
        pl.col("output").alias("output_tokens"),
        pl.col("requests"),
        pl.lit(origin).alias("source_file"),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("line"),
    )


def hits_problems(frame: pl.DataFrame, source: str) -> list[Problem]:
    """One line per model with hours of more prefix-cache hits than prompt tokens."""
    over = frame.filter(pl.col("cache_miss_tokens") < 0).sort("model", "hour_start")
    problems = []
    for model, rows in over.group_by("model", maintain_order=True):
        row = rows.row(0, named=True)
        more = f" (and {rows.height - 1} more hours)" if rows.height > 1 else ""
        problems.append(Problem(source, "prefix-cache hits no more than prompt tokens in an hour",
                                column="cache_hit_tokens", line=row["line"],
                                value=f"{row['cache_hit_tokens']} hits for {model[0]} at "
                                      f"{row['hour_start'].isoformat()}{more}"))
    return problems


def day_counts(series: list[Series], options, source: str, start: datetime, end: datetime, origin: str
               ) -> tuple[pl.DataFrame, list[Problem], int]:
    """The day's token counts, its problems, and the restarts seen."""
    meta, samples = framed(series, options)
    problems = unlabelled(meta, options, source)
    meta = meta.filter(pl.col("model").is_not_null())
    samples = samples.filter(pl.col("series").is_in(meta["series"].implode()))
    max_gap = options.max_gap_seconds
    problems_of_values = value_problems(counters.not_counter_values(samples, end.timestamp()), meta, options, source)
    samples = counters.with_previous(samples)  # once, for each rule below
    booked = counters.increases(samples, start, end, max_gap)
    frame = hourly(booked, meta, origin)
    problems += refused(counters.unbaselined(samples, start, end, max_gap), meta, options, source, start)
    problems += problems_of_values
    problems += gap_problems(counters.gaps(samples, start, end, max_gap), meta, options, source)
    problems += hits_problems(frame, source)
    problems += coverage_end(counters.last_sample(samples, end), options, source, end)
    return frame, problems, int(booked["restart"].sum())


def coverage_end(last: float | None, options, source: str, end: datetime) -> list[Problem]:
    """A day whose samples stop well before its end has not been fully scraped (yet)."""
    if last is None or last >= end.timestamp() - options.max_gap_seconds:
        return []
    return [Problem(source, f"samples up to the day's end ({end.isoformat()}); the last is at {iso(last)} "
                            "(is the day over and Prometheus scraping?)", column="timestamp")]


def roles_by_model(series: list[Series], options) -> dict[str, set[str]]:
    """Each model's counters present: model → roles."""
    role_of = {metric: role for role, metric in options.metric_names().items()}
    found: dict[str, set[str]] = {}
    for one in series:
        model = one.label(options.model_label)
        if one.metric in role_of and model:
            found.setdefault(model, set()).add(role_of[one.metric])
    return found


def missing_counters(series: list[Series], frame: pl.DataFrame, options, source: str
                     ) -> tuple[list[Problem], dict[str, int]]:
    """Counters a model lacks while it has others: a problem for a required one (its figure would be
    0), a note for an optional one (reason → the hour rows booked without it)."""
    present, names = roles_by_model(series, options), options.metric_names()
    problems, notes = [], {}
    for role in ROLES:
        lacking = sorted(model for model, roles in present.items() if role not in roles)
        if not lacking:
            continue
        if role in options.optional:
            whom = "" if len(lacking) == len(present) else f" for {', '.join(lacking)}"
            rows = frame.filter(pl.col("model").is_in(lacking)).height
            notes[f"{names[role]} not exported{whom} (options.optional): {WHAT[role]} booked as 0"] = rows
            continue
        hint = f", or list {role} in options.optional" if role in ("cache_hit", "requests") else ""
        problems.append(Problem(source, f"a series of {names[role]} for every model with counters (none for "
                                        f"{', '.join(lacking)}: its {WHAT[role]} would be booked as 0; check the "
                                        f"engine's version and options.metrics{hint})", column=names[role]))
    return problems, notes
