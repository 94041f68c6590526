"""kind: openai_usage - saved Usage API pages to hourly token counts
(truth computed by hand in tests/fixtures/openai_usage/README.md)."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from openbooks.flows.daily import daily_books
from openbooks.flows.sources.base import DayRequest
from openbooks.flows.sources.openai_usage import OUTSIDE, OpenAIUsageOptions, usage_of_day
from openbooks.config import Source
from openbooks.errors import InputError, SourceNotFound
from tests.books import published
from tests.conftest import base_config_data

FIXTURES = Path(__file__).parent / "fixtures" / "openai_usage"
START = datetime(2025, 2, 27, 4, tzinfo=timezone.utc)
END = datetime(2025, 2, 28, 4, tzinfo=timezone.utc)
OPTIONS = OpenAIUsageOptions(channels={"proj_api": "api", "proj_web": "web"})


def read(config, path, options=OPTIONS):
    return usage_of_day(DayRequest(config=config, name="openai", source=Source(path=str(path)), options=options,
                                day=date(2025, 2, 27), start=START, end=END, run_id="test"))


def test_pages_to_hourly_token_counts(project):
    result = read(project.config, FIXTURES / "usage_completions_{date}_page*.json")
    assert result.problems == [] and result.skipped == {OUTSIDE: 1}
    rows = [(r["hour_start"].hour, r["model"], r["channel"], r["cache_hit_tokens"], r["cache_miss_tokens"],
             r["output_tokens"], r["requests"]) for r in result.frame.iter_rows(named=True)]
    assert rows == [
        (4, "gpt-4o-2024-08-06", "api", 32768, 87232, 9100, 41),
        (4, "gpt-4o-2024-08-06", "web", 10000, 40000, 4000, 20),
        (4, "gpt-4o-mini-2024-07-18", "api", 0, 300000, 12000, 150),
        (6, "gpt-4o-2024-08-06", "api", 40000, 40000, 5000, 30),
        (6, "gpt-4o-mini-2024-07-18", "api", 256, 744, 100, 2),
    ]
    assert len(result.files) == 2


def test_model_names_mapped_to_the_price_book(project):
    options = OpenAIUsageOptions(models={"gpt-4o-2024-08-06": "deepseek-r1", "gpt-4o-mini-2024-07-18": "deepseek-v3"})
    frame = read(project.config, FIXTURES / "usage_completions_{date}_page*.json", options).frame
    assert set(frame["model"]) == {"deepseek-r1", "deepseek-v3"}
    assert set(frame["channel"]) == {"api"}


def test_daily_buckets_cached_above_input_and_a_page_saved_twice(project, tmp_path):
    page = json.loads((FIXTURES / "usage_completions_2025-02-27_page2.json").read_text())
    page["data"][0]["results"][1]["input_cached_tokens"] = 5000
    (tmp_path / "a.json").write_text(json.dumps(page))
    (tmp_path / "b.json").write_text(json.dumps(page))
    daily = json.loads(json.dumps(page))
    daily["data"][0]["end_time"] = daily["data"][0]["start_time"] + 86400
    (tmp_path / "c.json").write_text(json.dumps(daily))
    problems = read(project.config, tmp_path / "*.json").problems
    found = {(Path(p.file).name, p.line, p.column) for p in problems}
    assert ("a.json", 2, "input_cached_tokens") in found
    assert ("b.json", 1, "start_time") in found  # the same bucket and group as a.json's
    assert ("c.json", 1, "start_time") in found and "bucket_width=1h" in problems[-1].expected


def test_no_pages_and_not_a_page(project, tmp_path):
    with pytest.raises(SourceNotFound, match="no openai file for 2025-02-27"):
        read(project.config, tmp_path / "*.json")
    (tmp_path / "x.json").write_text('{"object": "list", "data": []}')
    with pytest.raises(InputError, match="expected a usage API page"):
        read(project.config, tmp_path / "*.json")


def test_a_day_reads_usage_pages_with_config_only(project):
    data = base_config_data()
    data["sources"]["token_counts"] = {
        "kind": "openai_usage",
        "path": str(FIXTURES / "usage_completions_{date}_page*.json"),
        "options": {"channels": {"proj_api": "api", "proj_web": "web"},
                    "models": {"gpt-4o-2024-08-06": "deepseek-r1", "gpt-4o-mini-2024-07-18": "deepseek-v3"}},
    }
    project.write_config(replace=data)
    daily_books(date(2025, 2, 27), str(project.config_path))  # what `openbooks run --date 2025-02-27` runs
    day = published(project.config, "SELECT cache_hit_tokens, cache_miss_tokens, output_tokens, requests "
                                    "FROM daily_economics")
    assert day == [(32768 + 10000 + 40000 + 256, 87232 + 40000 + 300000 + 40000 + 744,
                    9100 + 4000 + 12000 + 5000 + 100, 41 + 20 + 150 + 30 + 2)]
    files = published(project.config, "SELECT source, path FROM raw.files WHERE source = 'token_counts' ORDER BY path")
    assert [Path(p).name for _, p in files] == ["usage_completions_2025-02-27_page1.json",
                                                 "usage_completions_2025-02-27_page2.json"]
