"""Token counts from vLLM or SGLang counters, read from Prometheus.

``kind: prometheus`` feeds ``token_counts``: per hour × model (× channel) the
prompt tokens, the prefix-cache hits among them, the generated tokens and the
finished requests. With ``options.url`` it asks a Prometheus server for the
raw samples of each counter (and its ``_created``) over the day and a
lookback before it (``/api/v1/query`` with a range selector); without it, it
reads the source's ``path``: saved API answers (``*.json``, the matrix of
``query_range`` or of a range query) or saved ``/metrics`` scrapes (target
and time from each file's name, ``options.scrape_name``).

The day of each series is its growth over ``(start, end]`` by the counter
rules of ``openbooks.transforms.counters`` (baseline, restarts, hour
booking); all pods and engines of a model are summed per hour.
``cache_miss_tokens`` = prompt − hits. A series without a baseline and no
known start refuses the day (its first value may be a lifetime total). A
stretch longer than ``max_gap_seconds`` without a sample is a coverage
problem: the tokens are not lost, but they could land in the wrong hour.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from openbooks.flows.sources.base import DayRequest, SourceKind, SourceResult
from openbooks.flows.sources.recorded_files import listed_files, record_files
from openbooks.flows.sources.files import display_path
from openbooks.flows.sources.prometheus_counts import day_counts, missing_counters
from openbooks.flows.sources.prometheus_series import (DEFAULT_SCRAPE_NAME, Series, created_name, series_from_matrix,
                                                       series_from_scrapes)
from openbooks.errors import ConfigError, InputError, SourceUnavailable
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
OPTIONAL_ROLES = Literal["cache_hit", "requests"]


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
    optional: list[OPTIONAL_ROLES] = Field(default_factory=list)  # counters an engine version may lack: booked as 0
    scrape_name: str | None = None  # saved scrapes' names, e.g. "{target}_{time}.prom"; default "{target}/{time}"
    token_env: str | None = None  # environment variable holding a bearer token for the server
    timeout_seconds: float = Field(30.0, gt=0)

    @field_validator("scrape_name")
    @classmethod
    def _names_a_time(cls, value: str | None) -> str | None:
        if value is not None and value.count("{time}") != 1:
            raise ValueError("must hold {time} once (and may hold {target} and *), e.g. '{target}_{time}.prom'")
        return value

    def metric_names(self) -> dict[str, str]:
        return {**ENGINE_METRICS[self.engine], **self.metrics}

    def wanted(self) -> list[str]:
        """Every counter read, and the ``_created`` series beside each."""
        names = list(dict.fromkeys(self.metric_names().values()))
        return names + [created_name(name) for name in names]

    def lookback(self) -> float:
        """How far before the day's start a series' baseline is looked for: at least ``max_gap_seconds``."""
        return max(self.lookback_seconds, self.max_gap_seconds)


def required_metrics(options: PrometheusOptions) -> list[str]:
    """The counters every day needs: all but those declared ``optional``."""
    names = options.metric_names()
    return list(dict.fromkeys(names[role] for role in names if role not in options.optional))


def missing_metrics(series: list[Series], options: PrometheusOptions) -> list[str]:
    present = {s.metric for s in series}
    return [metric for metric in required_metrics(options) if metric not in present]


def window_seconds(options: PrometheusOptions, start: datetime, end: datetime) -> int:
    """The range selector's length: the day and the lookback before it."""
    return int((end - start).total_seconds() + options.lookback()) + 1


def query_url(options: PrometheusOptions, metric: str, start: datetime, end: datetime) -> str:
    """The range query returning a series' raw samples over the day and the lookback before it
    (Prometheus 2's range selectors hold both ends: the sample at the day's end is in)."""
    query = f"{metric}{{{options.selector}}}[{window_seconds(options, start, end)}s]"
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
    """Every wanted counter's series, and its ``_created``, over [start − lookback, end] from the server."""
    found = []
    for metric in options.wanted():
        found += series_from_matrix(fetch_json(query_url(options, metric, start, end), options, source),
                                    redact(options.url))
    return found


def saved_series(files: list[Path], options: PrometheusOptions) -> list[Series]:
    """Series from saved API answers (``*.json``) and saved scrapes (any other file); a scrape
    whose name does not match ``options.scrape_name`` stops the day with one line naming it."""
    wanted = set(options.wanted())
    answers = [f for f in files if f.suffix.lower() == ".json"]
    found = [s for f in answers for s in series_from_matrix(json.loads(f.read_text()), str(f)) if s.metric in wanted]
    scraped, unmatched = series_from_scrapes([f for f in files if f not in answers], wanted, options.scrape_name)
    if unmatched:
        more = f" (and {len(unmatched) - 1} more files)" if len(unmatched) > 1 else ""
        raise InputError(f"{display_path(unmatched[0])}: a saved scrape's name should match options.scrape_name "
                         f"{options.scrape_name or DEFAULT_SCRAPE_NAME!r}, {{time}} being unix seconds or an ISO "
                         f"8601 time such as 2025-02-27T04-10-00Z{more}")
    return found + scraped


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
    frame, problems, resets = day_counts(series, options, request.name, request.start, request.end, origin)
    lacking, notes = missing_counters(series, frame, options, request.name)
    problems += lacking
    summary = "; ".join([f"{resets} counter restart(s)", *notes])
    return SourceResult(frame, files=files, problems=problems, skipped=notes,
                        extra={"counter_resets": resets, "summary": summary})


def ready(request: DayRequest) -> None:
    """The server answers and has a series of every wanted counter in the day
    (or the saved files are there); a transient error otherwise."""
    options: PrometheusOptions = request.options
    if not options.url:
        listed_files(request)
        return
    window = window_seconds(options, request.start, request.end)
    for metric in required_metrics(options):
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
