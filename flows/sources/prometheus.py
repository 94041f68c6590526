"""Token counts from vLLM or SGLang counters, read from Prometheus.

``kind: prometheus`` feeds ``token_counts``: per hour × model (× channel) the
prompt tokens, the prefix-cache hits among them, the generated tokens and the
finished requests. With ``options.url`` it asks a Prometheus server for the
raw samples of each counter over the day (``/api/v1/query`` with a range
selector); without it, it reads the source's ``path``: saved API answers
(``*.json``, the matrix of ``query_range`` or of a range query) or saved
``/metrics`` scrapes (one directory per target, one file per scrape).

How the figures are made (see ``prometheus_series``): each series' whole-token
differences between consecutive samples, a drop read as an engine restart
(the new value counts from 0), each booked to the hour of the later sample;
all pods and engines of a model summed. ``cache_miss_tokens`` = prompt − hits.
A stretch longer than ``max_gap_seconds`` without a sample is a coverage
problem: the tokens are not lost, but they could land in the wrong hour.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from openbooks.flows.sources.base import DayRequest, Problem, SourceKind, SourceResult
from openbooks.flows.sources.recorded_files import listed_files, record_files
from openbooks.flows.sources.prometheus_series import Series, counter_increase, gaps, series_from_matrix, series_from_scrapes
from openbooks.errors import ConfigError, SourceUnavailable
from openbooks.redact import redact

# The counters of each engine, by what they count (vllm/v1/metrics/loggers.py;
# SGLang's python/sglang/srt/metrics/collector.py).
ENGINE_METRICS: dict[str, dict[str, str]] = {
    "vllm": {
        "prompt": "vllm:prompt_tokens_total",
        "output": "vllm:generation_tokens_total",
        "cache_hit": "vllm:prefix_cache_hits_total",
        "requests": "vllm:request_success_total",
    },
    "sglang": {
        "prompt": "sglang:prompt_tokens_total",
        "output": "sglang:generation_tokens_total",
        "cache_hit": "sglang:cached_tokens_total",
        "requests": "sglang:num_requests_total",
    },
}
ROLES = ("prompt", "output", "cache_hit", "requests")
COLUMNS = {"prompt": None, "output": "output_tokens", "cache_hit": "cache_hit_tokens", "requests": "requests"}


class PrometheusOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: Literal["vllm", "sglang"] = "vllm"
    url: str | None = None  # a Prometheus server; without it the source's path is read
    selector: str = ""  # extra label matchers, e.g. 'namespace="serving"'
    metrics: dict[Literal["prompt", "output", "cache_hit", "requests"], str] = Field(default_factory=dict)
    model_label: str = "model_name"
    channel_label: str | None = None
    channel: str = "api"  # the channel when no label gives it
    max_gap_seconds: float = Field(120.0, gt=0)
    lookback_seconds: float = Field(3600.0, ge=0)  # how far before the day to look for each series' last sample
    token_env: str | None = None  # environment variable holding a bearer token for the server
    timeout_seconds: float = Field(30.0, gt=0)

    def metric_names(self) -> dict[str, str]:
        return {**ENGINE_METRICS[self.engine], **self.metrics}


def hour_of(ts: float, start: datetime) -> datetime:
    """The start of the day's hour that ``ts`` falls in (hours count from the day's start)."""
    return start + timedelta(hours=int((ts - start.timestamp()) // 3600))


def series_problems(series: Series, options: PrometheusOptions, source: str, start: float, end: float,
                    not_whole: list[tuple[float, float]]) -> list[Problem]:
    """Values that are not counter values, and missing scrapes, of one series."""
    where = None if options.url else series.origin
    problems = [Problem(source, "a whole, non-negative counter value", file=where, column=series.describe(),
                        value=f"{value} at {_iso(ts)}")
                for ts, value in not_whole]
    for before, after in gaps(series.samples, start, end, options.max_gap_seconds):
        span = f"{_iso(before)} to {_iso(after)}"
        problems.append(Problem(source, f"a sample at least every {options.max_gap_seconds:g}s (no scrape from {span}; "
                                        f"check the scrape target)", file=where, column=series.describe()))
    return problems


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


def increase_rows(series: list[Series], options: PrometheusOptions, source: str, start: datetime, end: datetime
                  ) -> tuple[list[dict], list[Problem], int]:
    """One row per booked difference: hour, model, channel, role, tokens."""
    role_of = {metric: role for role, metric in options.metric_names().items()}
    rows, problems, resets = [], [], 0
    lo, hi = start.timestamp(), end.timestamp()
    for one in series:
        role = role_of.get(one.metric)
        if role is None:
            continue
        model = one.label(options.model_label)
        if not model:
            problems.append(Problem(source, f"a {options.model_label!r} label naming the model",
                                    column=one.describe(), file=None if options.url else one.origin))
            continue
        channel = one.label(options.channel_label) if options.channel_label else options.channel
        increase = counter_increase(one.samples, lo, hi)
        resets += increase.resets
        problems += series_problems(one, options, source, lo, hi, increase.not_whole)
        rows += [{"hour_start": hour_of(ts, start), "model": model, "channel": channel or options.channel,
                  "role": role, "tokens": delta} for ts, delta in increase.deltas]
    return rows, problems, resets


def hourly_token_counts(series: list[Series], options: PrometheusOptions, source: str, start: datetime,
                        end: datetime, origin: str) -> tuple[pl.DataFrame, list[Problem], int]:
    """The day's canonical token counts from counter series, its problems and the restarts seen."""
    rows, problems, resets = increase_rows(series, options, source, start, end)
    keys = ["hour_start", "model", "channel"]
    long = pl.DataFrame(rows, schema={"hour_start": pl.Datetime("us", "UTC"), "model": pl.Utf8, "channel": pl.Utf8,
                                      "role": pl.Utf8, "tokens": pl.Int64})
    sums = [pl.col("tokens").filter(pl.col("role") == role).sum().alias(role) for role in ROLES]
    wide = long.group_by(keys).agg(sums).sort(keys)
    frame = wide.select(
        *keys,
        pl.col("cache_hit").alias("cache_hit_tokens"),
        (pl.col("prompt") - pl.col("cache_hit")).alias("cache_miss_tokens"),
        pl.col("output").alias("output_tokens"),
        pl.col("requests"),
        pl.lit(origin).alias("source_file"),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("line"),
    )
    for row in frame.filter(pl.col("cache_miss_tokens") < 0).iter_rows(named=True):
        problems.append(Problem(source, "prefix-cache hits no more than prompt tokens in an hour", column="cache_hit_tokens",
                                value=f"{row['cache_hit_tokens']} hits for {row['model']} at {row['hour_start'].isoformat()}",
                                line=row["line"]))
    return frame, problems, resets


def coverage_end_problem(series: list[Series], options: PrometheusOptions, source: str, end: datetime) -> list[Problem]:
    """A day whose samples stop well before its end has not been fully scraped (yet)."""
    last = max((s.samples[-1][0] for s in series if s.samples), default=None)
    if last is None or last >= end.timestamp() - options.max_gap_seconds:
        return []
    return [Problem(source, f"samples up to the day's end ({end.isoformat()}); the last is at {_iso(last)} "
                            "(is the day over and Prometheus scraping?)", column="timestamp")]


def missing_metrics(series: list[Series], options: PrometheusOptions) -> list[str]:
    present = {s.metric for s in series}
    return [metric for metric in options.metric_names().values() if metric not in present]


def query_url(options: PrometheusOptions, metric: str, start: datetime, end: datetime) -> str:
    """The range query returning a counter's raw samples over the day and the lookback before it."""
    window = int((end - start).total_seconds() + options.lookback_seconds) + 1
    query = f"{metric}{{{options.selector}}}[{window}s]"
    params = urllib.parse.urlencode({"query": query, "time": f"{end.timestamp():.3f}"})
    return f"{options.url.rstrip('/')}/api/v1/query?{params}"


def fetch_json(url: str, options: PrometheusOptions, source: str) -> dict:
    """One Prometheus API answer; an unreachable or refusing server is a one-line, retryable error."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if options.token_env:
        token = os.environ.get(options.token_env)
        if not token:
            raise SourceUnavailable(f"sources.{source}: environment variable {options.token_env} is not set "
                                    "(options.token_env names where the Prometheus bearer token is)")
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=options.timeout_seconds) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        detail = _error_detail(exc)
        raise SourceUnavailable(f"sources.{source}: Prometheus at {redact(options.url)} answered HTTP {exc.code} ({detail}); "
                                "check options.url, options.selector and the server's access rules") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceUnavailable(f"sources.{source}: cannot read Prometheus at {redact(options.url)} ({reason}); "
                                "check options.url and that the server is up") from None


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        return json.loads(exc.read()).get("error", exc.reason)
    except (ValueError, OSError):
        return str(exc.reason)


def fetch_series(options: PrometheusOptions, source: str, start: datetime, end: datetime) -> list[Series]:
    """Every wanted counter's series over [start − lookback, end] from the server."""
    found = []
    for metric in dict.fromkeys(options.metric_names().values()):
        found += series_from_matrix(fetch_json(query_url(options, metric, start, end), options, source), redact(options.url))
    return found


def saved_series(files: list[Path], options: PrometheusOptions) -> list[Series]:
    """Series from saved API answers (``*.json``) and saved scrapes (any other file)."""
    wanted = set(options.metric_names().values())
    answers = [f for f in files if f.suffix.lower() == ".json"]
    found = [s for f in answers for s in series_from_matrix(json.loads(f.read_text()), str(f)) if s.metric in wanted]
    return found + series_from_scrapes([f for f in files if f not in answers], wanted)


def day_series(request: DayRequest) -> tuple[list[Series], list[Path], str]:
    """The wanted counters' series for the day, the files read (none from a server), where they came from."""
    options: PrometheusOptions = request.options
    if options.url:
        # The server as rows and messages name it: its credentials (user:pass@, ?api_key=) redacted.
        return fetch_series(options, request.name, request.start, request.end), [], redact(options.url)
    if not getattr(request.source, "path", None):
        raise ConfigError(f"sources.{request.name}: give options.url (a Prometheus server) or path "
                          "(saved query answers or /metrics scrapes)")
    files = listed_files(request)
    return saved_series(files, options), files, request.source.path


def token_counts_of_day(request: DayRequest) -> SourceResult:
    """The day's canonical token counts, without recording anything."""
    options: PrometheusOptions = request.options
    series, files, origin = day_series(request)
    missing = missing_metrics(series, options)
    if missing:
        raise SourceUnavailable(f"sources.{request.name}: no series of {', '.join(missing)} at {origin}; check "
                                f"options.engine ({options.engine}), options.metrics and options.selector")
    frame, problems, resets = hourly_token_counts(series, options, request.name, request.start, request.end, origin)
    problems += coverage_end_problem(series, options, request.name, request.end)
    return SourceResult(frame, files=files, problems=problems, extra={"counter_resets": resets})


def ready(request: DayRequest) -> None:
    """The server answers and has a series of every wanted counter in the day
    (or the saved files are there); a transient error otherwise."""
    options: PrometheusOptions = request.options
    if not options.url:
        listed_files(request)
        return
    window = int((request.end - request.start).total_seconds() + options.lookback_seconds) + 1
    for metric in dict.fromkeys(options.metric_names().values()):
        query = f"count(last_over_time({metric}{{{options.selector}}}[{window}s]))"
        params = urllib.parse.urlencode({"query": query, "time": f"{request.end.timestamp():.3f}"})
        answer = fetch_json(f"{options.url.rstrip('/')}/api/v1/query?{params}", options, request.name)
        if not (answer.get("data") or {}).get("result"):
            raise SourceUnavailable(f"sources.{request.name}: no series of {metric} at {redact(options.url)} for the day; "
                                    f"check options.engine ({options.engine}), options.metrics and options.selector")


def read(request: DayRequest) -> SourceResult:
    result = token_counts_of_day(request)
    record_files(request, result.files)
    return result


KIND = SourceKind(
    name="prometheus",
    feeds="token_counts",
    read=read,
    options=PrometheusOptions,
    suite="token_counts",
    description="vLLM / SGLang token counters from a Prometheus server, saved query answers or saved scrapes",
    files=False,  # with options.url nothing is read from files; path is then not needed
    ready=ready,
)
