"""Token counts from OpenAI's organization Usage API, saved as JSON pages.

``kind: openai_usage`` feeds ``token_counts`` from the pages of
``GET /v1/organization/usage/completions`` (``bucket_width=1h``,
``group_by=model,project_id``), each saved as one JSON file:
``{"object": "page", "data": [{"object": "bucket", "start_time", "end_time",
"results": [{"object": "organization.usage.completions.result",
"input_tokens", "input_cached_tokens", "output_tokens", "num_model_requests",
"model", "project_id", ...}]}], "has_more", "next_page"}``
(https://platform.openai.com/docs/api-reference/usage/completions).
``input_cached_tokens`` is part of ``input_tokens``: cache hits are the
cached tokens and misses the rest. The channel comes from ``project_id``
through ``options.channels``; ``options.models`` renames API models to the
price book's names, so a team can compare what it paid the API with what the
same traffic costs on its own GPUs. A ``.csv`` file (or ``format: csv``) is
the usage dashboard's export instead (``openai_usage_export``): the same
fields as columns, one row per bucket and group, counts written as ``19.0``.
"""

from __future__ import annotations

import glob
import json
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict

from openbooks.flows.sources import openai_costs as costs
from openbooks.flows.sources import openai_usage_export as usage_export
from openbooks.flows.sources.base import FEEDS, DayRequest, Problem, SourceKind, SourceResult
from openbooks.flows.sources.files import display_path, inside_declared_directory
from openbooks.flows.sources.limits import MAX_COUNT
from openbooks.flows.sources.recorded_files import listed_files, record_files
from openbooks.errors import InputError, SourceNotFound

SCHEMA = {"hour_start": pl.Datetime("us", "UTC"), "model": pl.Utf8, "channel": pl.Utf8, "cache_hit_tokens": pl.Int64,
          "cache_miss_tokens": pl.Int64, "output_tokens": pl.Int64, "requests": pl.Int64, "source_file": pl.Utf8,
          "line": pl.Int64}
OUTSIDE = "usage bucket outside the business day"
GROUP_KEYS = ("model", "project_id", "user_id", "api_key_id", "batch", "service_tier")


class OpenAIUsageOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: dict[str, str] = {}  # project_id -> channel
    channel: str = "api"  # for projects not listed (and results not grouped by project)
    models: dict[str, str] = {}  # API model -> the model name in openbooks' price book
    # Costs API pages (JSON) or the dashboard's cost export (CSV): a glob relative to the config, {date} the day
    costs: str | None = None


def whole(value, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}|a whole, non-negative number of tokens")
    if value > MAX_COUNT:
        raise ValueError(f"{name}|a number of tokens below 2^63")
    return value


def result_row(bucket: dict, result: dict, options: OpenAIUsageOptions, hour: datetime) -> dict:
    """One token-count row from one usage result; raises ValueError 'field|expected'."""
    if not result.get("model"):
        raise ValueError("model|a model (save the pages with group_by=model)")
    given, cached = whole(result.get("input_tokens"), "input_tokens"), whole(result.get("input_cached_tokens"),
                                                                               "input_cached_tokens")
    if cached > given:
        raise ValueError("input_cached_tokens|no more than input_tokens")
    project = result.get("project_id")
    return {"hour_start": hour, "model": options.models.get(result["model"], result["model"]),
            "channel": options.channels.get(project, options.channel) if project else options.channel,
            "cache_hit_tokens": cached, "cache_miss_tokens": given - cached,
            "output_tokens": whole(result.get("output_tokens"), "output_tokens"),
            "requests": whole(result.get("num_model_requests"), "num_model_requests")}


def bucket_hour(bucket: dict) -> datetime:
    """The hour a bucket of at most an hour lies in; raises for wider ones."""
    start, end = bucket.get("start_time"), bucket.get("end_time")
    for name, value in (("start_time", start), ("end_time", end)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}|a Unix time in seconds")
    if not 0 < end - start <= 3600:
        raise ValueError("start_time|buckets of at most an hour (save the pages with bucket_width=1h; "
                         "export with 1-hour or 1-minute buckets)")
    hour = datetime.fromtimestamp(start - start % 3600, tz=timezone.utc)
    if end > hour.timestamp() + 3600:
        raise ValueError("end_time|a bucket inside one clock hour")
    return hour


def page_rows(page: dict, options: OpenAIUsageOptions, *, source: str, origin: str, start: datetime, end: datetime,
              seen: dict) -> tuple[list[dict], int, list[Problem]]:
    """One saved page's rows in the day, the results outside it, its problems."""
    numbered = enumerate(((bucket, result) for bucket in page.get("data") or []
                          for result in bucket.get("results") or []), 1)
    return result_rows(numbered, options, source=source, origin=origin, start=start, end=end, seen=seen)


def result_rows(numbered, options: OpenAIUsageOptions, *, source: str, origin: str, start: datetime, end: datetime,
                seen: dict) -> tuple[list[dict], int, list[Problem]]:
    """Rows in the day from (number, (bucket, result)) pairs, the results outside it, the problems
    (each naming ``origin`` and the result's number: its place in a page, or its line in a CSV)."""
    rows, outside, problems = [], 0, []
    for number, (bucket, result) in numbered:
        try:
            hour = bucket_hour(bucket)
            if not start <= hour < end:
                outside += 1
                continue
            row = result_row(bucket, result, options, hour)
        except ValueError as exc:
            field, _, expected = str(exc).partition("|")
            value = (bucket | result).get(field)
            problems.append(Problem(source, expected, file=origin, line=number, column=field,
                                    value=None if value is None else str(value), record=json.dumps(result)))
            continue
        key = (bucket["start_time"], *(str(result.get(k)) for k in GROUP_KEYS))
        if key in seen:
            problems.append(Problem(source, f"each bucket and group once (also in {seen[key]})", file=origin,
                                    line=number, column="start_time", record=json.dumps(result)))
            continue
        seen[key] = f"{origin} result {number}"
        rows.append(row | {"source_file": origin, "line": number})
    return rows, outside, problems


def token_counts(rows: list[dict]) -> pl.DataFrame:
    """Rows summed per hour x model x channel (results grouped by user or key add up)."""
    frame = pl.DataFrame(rows, schema=SCHEMA)
    figures = ["cache_hit_tokens", "cache_miss_tokens", "output_tokens", "requests"]
    keys = ["hour_start", "model", "channel"]
    return (frame.group_by(keys).agg(*(pl.col(f).sum() for f in figures), pl.col("source_file").first(),
                                     pl.col("line").min())
            .sort(keys).select(*FEEDS["token_counts"], "source_file", "line"))


def load_page(path: Path) -> dict:
    try:
        page = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: not a saved usage page ({exc})") from None
    if not isinstance(page, dict) or page.get("object") != "page":
        raise InputError(f'{path}: expected a usage API page ({{"object": "page", "data": [...]}})')
    return page


def usage_of_day(request: DayRequest) -> SourceResult:
    """The day's token counts from its saved pages, without recording anything."""
    options: OpenAIUsageOptions = request.options
    files = listed_files(request)
    rows, outside, problems, seen = [], 0, [], {}
    skipped: dict[str, int] = {}
    for path in files:
        bounds = dict(source=request.name, origin=str(path), start=request.start, end=request.end, seen=seen)
        if is_csv(request.source, path):
            numbered, empty = usage_export.results(path, request.source.delimiter)
            more, out, found = result_rows(numbered, options, **bounds)
            if empty:
                skipped[usage_export.EMPTY] = skipped.get(usage_export.EMPTY, 0) + empty
        else:
            more, out, found = page_rows(load_page(path), options, **bounds)
        rows, outside, problems = rows + more, outside + out, problems + found
    if outside:
        skipped[OUTSIDE] = outside
    result = SourceResult(token_counts(rows), files=files, skipped=skipped, problems=problems)
    if options.costs:
        add_spend(request, result)
    return result


def cost_files(request: DayRequest) -> list[Path]:
    """The files ``options.costs`` names for the day; none is ``SourceNotFound``."""
    pattern = request.config.resolve(request.options.costs.replace("{date}", request.day.isoformat()))
    paths = sorted(Path(p) for p in glob.glob(str(pattern)) if Path(p).is_file())
    if not paths:
        raise SourceNotFound(f"no {request.name} cost file for {request.day}: nothing matches "
                             f"sources.{request.name}.options.costs = {display_path(pattern)}")
    return [inside_declared_directory(p, pattern, request.name) for p in paths]


def add_spend(request: DayRequest, result: SourceResult) -> None:
    """The day's API spend (``extra["api_spend"]``) from the cost files, their problems and left-out rows."""
    rows, seen = [], {}
    for path in cost_files(request):
        if is_csv(None, path):
            numbered, empty = costs.export_results(path, request.source.delimiter)
            if empty:
                result.skipped[costs.EMPTY] = result.skipped.get(costs.EMPTY, 0) + empty
        else:
            numbered = costs.page_results(path)
        more, outside, found = costs.spend_rows(numbered, source=request.name, origin=str(path), start=request.start,
                                                end=request.end, seen=seen)
        rows, result.problems = rows + more, result.problems + found
        if outside:
            result.skipped[costs.OUTSIDE] = result.skipped.get(costs.OUTSIDE, 0) + outside
        result.files.append(path)
    result.extra["api_spend"] = costs.spend_frame(rows)


def is_csv(source, path: Path) -> bool:
    """A dashboard export (CSV) rather than a saved API page (JSON): by ``format:``, else by suffix."""
    return (getattr(source, "format", None) or path.suffix.lower().lstrip(".")) == "csv"


def read(request: DayRequest) -> SourceResult:
    result = usage_of_day(request)
    record_files(request, result.files)
    return result


KIND = SourceKind(
    name="openai_usage",
    feeds="token_counts",
    read=read,
    options=OpenAIUsageOptions,
    suite="token_counts",
    description="OpenAI organization Usage API pages (usage/completions, hourly buckets) saved as JSON, "
                "or the usage dashboard's CSV export",
)
