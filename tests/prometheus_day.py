"""A whole business day of vLLM counters, written as OpenMetrics for
``promtool tsdb create-blocks-from openmetrics`` (a real Prometheus then
serves the day from its own storage), and the truth kept beside it: every
increment the engines made, booked to the hour it was scraped in.

Three engines scraped every 5 minutes from an hour before the day to just
after it; deepseek-r1's engine 0 restarts mid-morning (its counters drop to
0 and count again)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

STEP = 300
ENGINES = [("deepseek-r1", "0", 3), ("deepseek-r1", "1", 2), ("deepseek-v3", "0", 1)]
METRICS = ("vllm:prompt_tokens", "vllm:prefix_cache_hits", "vllm:generation_tokens", "vllm:request_success")


def increments(k: int, weight: int) -> tuple[int, int, int, int]:
    """What one engine did between scrape k-1 and scrape k: prompt, hits, output, requests."""
    prompt = weight * (1000 + (k * 37) % 500)
    return prompt, prompt * 2 // 5, weight * (300 + k % 50), weight * (1 + k % 3)


def day_samples(start: datetime, end: datetime, restart_at: datetime):
    """``(model, engine, ts, (prompt, hits, output, requests) counter values, increments or None)``
    per scrape; the first scrape, an hour before the day, only sets the baseline."""
    first = start.timestamp() - 3600
    count = int((end.timestamp() + 600 - first) // STEP)
    for model, engine, weight in ENGINES:
        values = [weight * 10**6, weight * 4 * 10**5, weight * 3 * 10**5, weight * 1000]
        restarted = False
        for k in range(count):
            ts = first + k * STEP
            added = None
            if k:
                added = increments(k, weight)
                if model == "deepseek-r1" and engine == "0" and not restarted and ts >= restart_at.timestamp():
                    values, restarted = [0, 0, 0, 0], True  # a new engine: counting from 0
                values = [v + a for v, a in zip(values, added)]
            yield model, engine, ts, tuple(values), added


def openmetrics(start: datetime, end: datetime, restart_at: datetime) -> str:
    """The day as OpenMetrics text (https://openmetrics.io), one family per metric."""
    lines: dict[str, list[str]] = defaultdict(list)
    for model, engine, ts, values, _ in day_samples(start, end, restart_at):
        for metric, value in zip(METRICS, values):
            labels = f'engine="{engine}",model_name="{model}"'
            if metric == "vllm:request_success":
                labels += ',finished_reason="stop"'
            lines[metric].append(f"{metric}_total{{{labels}}} {value} {ts:.3f}")
    out = []
    for metric in METRICS:
        out += [f"# TYPE {metric} counter", f"# HELP {metric} {metric} (test day)", *lines[metric]]
    return "\n".join(out + ["# EOF"]) + "\n"


def hourly_truth(start: datetime, end: datetime, restart_at: datetime) -> dict[tuple[datetime, str], list[int]]:
    """(hour start, model) → [cache hits, cache misses, output, requests], from the increments themselves."""
    truth: dict[tuple[datetime, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for model, _, ts, _, added in day_samples(start, end, restart_at):
        if added is None or not start.timestamp() <= ts < end.timestamp():
            continue
        hour = start + timedelta(hours=int((ts - start.timestamp()) // 3600))
        prompt, hits, output, requests = added
        row = truth[(hour, model)]
        for i, value in enumerate((hits, prompt - hits, output, requests)):
            row[i] += value
    return dict(truth)
