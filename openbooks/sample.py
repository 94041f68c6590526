"""Sample data: DeepSeek's published day (2025-02-27) and a plausible week around it.

Everything here follows ``shared/reference/deepseek-2025-02-27.md``:

- Node log: the published node-count step function at 15-minute intervals.
  At N nodes the fleet is ``k = (N - 68) / 30`` steps above the floor, with
  ``8 + 3k`` prefill units of 4 nodes and ``2 + k`` decode units of 18 nodes.
- Assumption (not published): R1 gets half the units of each role, rounded up,
  V3 the rest; nodes released by the service at night are lent to training
  (model ``research``, role ``training``) so the fleet stays at 278 nodes.
- Token counts: the published totals (342B cache-hit and 266B cache-miss input
  tokens, 167,966,666,667 output tokens, which prices to exactly $562,027 at R1
  list prices) spread over the hours in the shape of the published hourly
  income chart, then over models and channels by the shares below (assumed),
  by largest remainder so every total is exact.
- Other days of the week: the same shape scaled by a day factor (weekends
  lighter), with a little hour-to-hour jitter from a generator seeded by the
  date, so they are plausible and reproducible. A day outside the week (for
  longer ranges, ``write_sample(directory, days)``) takes the factor of its
  weekday in the week.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

REFERENCE_DAY = date(2025, 2, 27)
TIMEZONE = "Asia/Shanghai"
DAY_START = time(12, 0)
FLEET_NODES = 278
GPU_TYPE = "H800"

# Node-count step function (local time on the day, then the next morning).
NODE_STEPS = [
    (0, "12:00", 278), (1, "00:00", 218), (1, "01:15", 188), (1, "02:00", 158), (1, "02:45", 128),
    (1, "03:00", 98), (1, "03:30", 68), (1, "06:30", 98), (1, "07:00", 128), (1, "07:30", 188),
    (1, "08:00", 218), (1, "08:30", 278),
]
# Hourly theoretical income from 12:00, in $k: the shape tokens follow.
INCOME_SHAPE = [
    27.0, 28.5, 30.5, 31.0, 30.5, 27.8, 26.8, 29.6, 30.7, 30.8, 31.0, 29.8,
    21.7, 18.0, 13.1, 8.0, 6.3, 6.3, 8.0, 13.7, 23.1, 29.5, 30.5, 29.9,
]
CACHE_HIT_TOKENS = 342_000_000_000
CACHE_MISS_TOKENS = 266_000_000_000
OUTPUT_TOKENS = 167_966_666_667

MODELS = ("deepseek-r1", "deepseek-v3")
CHANNELS = ("web", "app", "api")
MODEL_SHARE = {  # of each token kind
    "input": {"deepseek-r1": 0.55, "deepseek-v3": 0.45},
    "output": {"deepseek-r1": 0.62, "deepseek-v3": 0.38},
}
CHANNEL_SHARE = {
    "cache_hit_tokens": {"web": 0.27, "app": 0.33, "api": 0.40},
    "cache_miss_tokens": {"web": 0.33, "app": 0.37, "api": 0.30},
    "output_tokens": {"web": 0.30, "app": 0.36, "api": 0.34},
}
OUTPUT_TOKENS_PER_REQUEST = {"deepseek-r1": 900, "deepseek-v3": 350}
# Traffic of each day of the sample week against the reference day.
DAY_FACTOR = {
    date(2025, 2, 20): 0.94, date(2025, 2, 21): 0.97, date(2025, 2, 22): 0.86,
    date(2025, 2, 23): 0.83, date(2025, 2, 24): 0.95, date(2025, 2, 25): 0.98,
    date(2025, 2, 26): 1.01, REFERENCE_DAY: 1.0,
}


def allocate(total: int, weights: list[float]) -> list[int]:
    """Split an integer total in proportion to weights, exactly (largest remainder)."""
    scale = sum(weights)
    exact = [total * w / scale for w in weights]
    parts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (exact[i] - parts[i], -i), reverse=True)
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def day_factor(day: date) -> float:
    """Traffic of ``day`` against the reference day: the sample week's factor,
    or outside the week that of the same weekday in it."""
    if day in DAY_FACTOR:
        return DAY_FACTOR[day]
    return next(f for d, f in DAY_FACTOR.items() if d != REFERENCE_DAY and d.weekday() == day.weekday())


def _local(day: date, offset_days: int, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime.combine(day + timedelta(days=offset_days), time(hour, minute), tzinfo=ZoneInfo(TIMEZONE))


def serving_nodes(day: date, at: datetime) -> int:
    """Serving nodes at a moment of business day ``day`` (the step function,
    scaled down by the day's traffic on days other than the reference day)."""
    nodes = FLEET_NODES
    for offset, hhmm, count in NODE_STEPS:
        if at >= _local(day, offset, hhmm):
            nodes = count
    factor = day_factor(day)
    if factor != 1.0:
        steps = round((nodes - 68) / 30 * factor)
        nodes = 68 + 30 * max(0, min(7, steps))
    return nodes


def role_split(nodes: int) -> dict[tuple[str, str], int]:
    """(model, role) → nodes for ``nodes`` serving nodes (see the module doc)."""
    k = (nodes - 68) // 30
    prefill_units, decode_units = 8 + 3 * k, 2 + k
    r1_prefill, r1_decode = math.ceil(prefill_units / 2), math.ceil(decode_units / 2)
    return {
        ("deepseek-r1", "prefill"): 4 * r1_prefill,
        ("deepseek-v3", "prefill"): 4 * (prefill_units - r1_prefill),
        ("deepseek-r1", "decode"): 18 * r1_decode,
        ("deepseek-v3", "decode"): 18 * (decode_units - r1_decode),
    }


def node_log(day: date) -> pl.DataFrame:
    """A 15-minute node log for business day ``day``."""
    rows = []
    start = _local(day, 0, "12:00")
    for i in range(96):
        begin, end = start + timedelta(minutes=15 * i), start + timedelta(minutes=15 * (i + 1))
        nodes = serving_nodes(day, begin)
        for (model, role), count in role_split(nodes).items():
            rows.append((begin, end, model, role, GPU_TYPE, count))
        if nodes < FLEET_NODES:
            rows.append((begin, end, "research", "training", GPU_TYPE, FLEET_NODES - nodes))
    return pl.DataFrame(
        [(b.isoformat(), e.isoformat(), m, r, g, n) for b, e, m, r, g, n in rows],
        schema=["interval_start", "interval_end", "model", "role", "gpu_type", "nodes"],
        orient="row",
    )


def token_counts(day: date) -> pl.DataFrame:
    """Hourly token counts by model and channel for business day ``day``."""
    factor = day_factor(day)
    shape = list(INCOME_SHAPE)
    if day != REFERENCE_DAY:
        rng = random.Random(day.toordinal())
        shape = [w * rng.uniform(0.95, 1.05) for w in shape]
    totals = {
        "cache_hit_tokens": round(CACHE_HIT_TOKENS * factor),
        "cache_miss_tokens": round(CACHE_MISS_TOKENS * factor),
        "output_tokens": round(OUTPUT_TOKENS * factor),
    }
    cells = [(h, m, c) for h in range(24) for m in MODELS for c in CHANNELS]
    columns = {}
    for kind, total in totals.items():
        model_share = MODEL_SHARE["output" if kind == "output_tokens" else "input"]
        weights = [shape[h] * model_share[m] * CHANNEL_SHARE[kind][c] for h, m, c in cells]
        columns[kind] = allocate(total, weights)
    start = _local(day, 0, "12:00")
    frame = pl.DataFrame(
        {
            "hour_start": [(start + timedelta(hours=h)).isoformat() for h, _, _ in cells],
            "model": [m for _, m, _ in cells],
            "channel": [c for _, _, c in cells],
            **columns,
        }
    )
    return frame.with_columns(
        requests=(
            pl.col("output_tokens") / pl.col("model").replace_strict(OUTPUT_TOKENS_PER_REQUEST)
        ).ceil().cast(pl.Int64)
    )


def sample_days() -> list[date]:
    return sorted(DAY_FACTOR)


def consecutive_days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=n) for n in range(count)]


def write_sample(directory: Path, days: list[date] | None = None) -> list[Path]:
    """Write ``node_log/{day}.csv`` and ``token_counts/{day}.csv`` for each of
    ``days`` (the sample week unless given)."""
    written = []
    for day in sample_days() if days is None else days:
        for name, frame in (("node_log", node_log(day)), ("token_counts", token_counts(day))):
            path = directory / name / f"{day.isoformat()}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.write_csv(path)
            written.append(path)
    return written
