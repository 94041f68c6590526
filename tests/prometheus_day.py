"""A whole business day of vLLM counters, as a real Prometheus would hold
them, and the truth kept beside it: every increment the engines made, booked
to the hour ``(h, h + 1h]`` holding the scrape that first saw it.

Four engines scraped every 5 minutes from an hour before the day to 10
minutes after it (so a scrape falls exactly on every hour, the day's start
and its end). Each counter has its ``_created`` series (prometheus-client's
text output, as vLLM serves it: a gauge ``<name>_created``). The day holds:

- deepseek-r1 engine 0: a restart seen at exactly 10:00 UTC (the scrape at
  10:00 is the new engine's first) and one just after the scrape at exactly
  11:00 (the old engine's last);
- deepseek-r1 engine 1: two restarts in one hour (14:00-15:00 UTC), the
  second one only seen through ``_created``: the new engine had served more
  than the old one's total by its first scrape, so its counter did not drop;
- deepseek-v3 engine 0: no restart;
- deepseek-v3 engine 1: a pod created mid-day (13:17:40 UTC), first scraped
  at 13:20 with tokens already served.

It is written as OpenMetrics for ``promtool tsdb create-blocks-from
openmetrics`` (a real Prometheus then serves the day from its own storage)
and as saved ``/metrics`` scrapes (``prometheus_client.generate_latest``,
the text format vLLM serves).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

STEP = 300
ENGINES = [("deepseek-r1", "0", 3), ("deepseek-r1", "1", 2), ("deepseek-v3", "0", 1), ("deepseek-v3", "1", 2)]
METRICS = ("vllm:prompt_tokens", "vllm:prefix_cache_hits", "vllm:generation_tokens", "vllm:request_success")
# (model, engine) → [(UTC time the new engine was created, whether its first scrape shows a drop)]
RESTARTS = {
    ("deepseek-r1", "0"): [((9, 58, 20), True), ((11, 0, 10), True)],
    ("deepseek-r1", "1"): [((14, 7, 0), True), ((14, 31, 5), False)],
}
BORN = {("deepseek-v3", "1"): (13, 17, 40)}


def increments(k: int, weight: int) -> tuple[int, int, int, int]:
    """What one engine did between scrape k-1 and scrape k: prompt, hits, output, requests."""
    prompt = weight * (1000 + (k * 37) % 500)
    return prompt, prompt * 2 // 5, weight * (300 + k % 50), weight * (1 + k % 3)


def at(start: datetime, hms: tuple[int, int, int]) -> float:
    """A UTC clock time on the day starting at ``start`` (04:00 UTC), as unix seconds."""
    day = start.replace(hour=0, minute=0, second=0)
    return (day + timedelta(hours=hms[0], minutes=hms[1], seconds=hms[2])).timestamp()


def engine_samples(start: datetime, end: datetime, model: str, engine: str, weight: int):
    """``(ts, counter values, created, increments or None)`` per scrape of one engine."""
    first = start.timestamp() - 3600
    count = int((end.timestamp() + 600 - first) // STEP) + 1
    restarts = [(at(start, hms), drop) for hms, drop in RESTARTS.get((model, engine), [])]
    born = at(start, BORN[(model, engine)]) if (model, engine) in BORN else None
    values, created = [weight * 10**6, weight * 4 * 10**5, weight * 3 * 10**5, weight * 1000], first - 86400
    if born is not None:
        values, created = [0, 0, 0, 0], born
    for k in range(count):
        ts = first + k * STEP
        if born is not None and ts < born:
            continue
        added = increments(k, weight) if k else None  # a pod born in the day: what it served before its first scrape
        for restart_at, drop in restarts:
            if ts - STEP < restart_at <= ts:  # the new engine's first scrape
                if not drop:
                    added = tuple(v + a for v, a in zip(values, added))  # more than the old engine's total
                values, created = [0, 0, 0, 0], restart_at
        values = [v + a for v, a in zip(values, added or (0, 0, 0, 0))]
        yield ts, tuple(values), created, added if k else None


def day_samples(start: datetime, end: datetime):
    """``(model, engine, ts, counter values, created, increments or None)`` per scrape of every engine."""
    for model, engine, weight in ENGINES:
        for ts, values, created, added in engine_samples(start, end, model, engine, weight):
            yield model, engine, ts, values, created, added


def openmetrics(start: datetime, end: datetime) -> str:
    """The day as OpenMetrics text (https://openmetrics.io): each counter family, and each
    ``_created`` as the gauge family Prometheus stores from vLLM's text-format scrape."""
    lines: dict[str, list[str]] = defaultdict(list)
    for model, engine, ts, values, created, _ in day_samples(start, end):
        for metric, value in zip(METRICS, values):
            labels = f'engine="{engine}",model_name="{model}"'
            if metric == "vllm:request_success":
                labels += ',finished_reason="stop"'
            lines[metric].append(f"{metric}_total{{{labels}}} {value} {ts:.3f}")
            lines[metric + "_created"].append(f"{metric}_created{{{labels}}} {created:.3f} {ts:.3f}")
    out = []
    for metric in METRICS:
        out += [f"# TYPE {metric} counter", f"# HELP {metric} {metric} (test day)", *lines[metric]]
        out += [f"# TYPE {metric}_created gauge", f"# HELP {metric}_created {metric} (test day)",
                *lines[metric + "_created"]]
    return "\n".join(out + ["# EOF"]) + "\n"


def write_scrapes(root: Path, start: datetime, end: datetime, since: float | None = None) -> int:
    """Saved ``/metrics`` scrapes, one folder per pod (``<model>-<engine>/<UTC time>.prom``), written
    by prometheus_client as vLLM serves them; only those at or after ``since``. Returns how many."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import CounterMetricFamily

    written = 0
    for model, engine, ts, values, created, _ in day_samples(start, end):
        if since is not None and ts < since:
            continue

        class Pod:
            def collect(self, values=values, created=created, model=model, engine=engine):
                for metric, value in zip(METRICS, values):
                    labels = {"model_name": model, "engine": engine}
                    if metric == "vllm:request_success":
                        labels["finished_reason"] = "stop"
                    family = CounterMetricFamily(metric, f"{metric} (test day)", labels=list(labels))
                    family.add_metric(list(labels.values()), value, created=created)
                    yield family

        registry = CollectorRegistry()
        registry.register(Pod())
        name = datetime.fromtimestamp(ts, tz=start.tzinfo).strftime("%Y-%m-%dT%H-%M-%SZ")
        path = root / f"{model}-{engine}" / f"{name}.prom"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(generate_latest(registry))
        written += 1
    return written


def hour_of(ts: float, start: datetime) -> datetime:
    """The hour ``(h, h + 1h]`` holding ``ts``."""
    return start + timedelta(hours=math.ceil((ts - start.timestamp()) / 3600) - 1)


def hourly_truth(start: datetime, end: datetime) -> dict[tuple[datetime, str], list[int]]:
    """(hour start, model) → [cache hits, cache misses, output, requests], from the increments themselves."""
    truth: dict[tuple[datetime, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for model, _, ts, _, _, added in day_samples(start, end):
        if added is None or not start.timestamp() < ts <= end.timestamp():
            continue
        prompt, hits, output, requests = added
        row = truth[(hour_of(ts, start), model)]
        for i, value in enumerate((hits, prompt - hits, output, requests)):
            row[i] += value
    return dict(truth)
