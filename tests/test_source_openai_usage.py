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


# -- the dashboard's usage export (CSV) and the Costs API (README.md in the fixtures) -------------------------------

EXPORT = FIXTURES / "usage_export_2025-02-27.csv"
PROJECTS = {"proj_api": "api", "proj_web": "web", "proj_batch": "api"}


def hourly(result) -> list[tuple]:
    return [(r["hour_start"].hour, r["model"], r["channel"], r["cache_hit_tokens"], r["cache_miss_tokens"],
             r["output_tokens"], r["requests"]) for r in result.frame.iter_rows(named=True)]


def test_the_dashboard_export_rows_of_each_project_are_summed(project):
    from openbooks.flows.sources.openai_usage_export import EMPTY

    result = read(project.config, EXPORT, OpenAIUsageOptions())
    assert result.problems == [] and result.skipped == {EMPTY: 1, OUTSIDE: 1}
    assert hourly(result) == [(4, "gpt-4o-2024-08-06", "api", 42_768, 157_232, 15_100, 44),
                              (6, "gpt-4o-mini-2024-07-18", "api", 256, 300_744, 12_100, 152)]


def test_the_dashboard_export_projects_mapped_to_channels(project):
    result = read(project.config, EXPORT, OpenAIUsageOptions(channels=PROJECTS))
    assert hourly(result) == [(4, "gpt-4o-2024-08-06", "api", 32_768, 117_232, 11_100, 24),
                              (4, "gpt-4o-2024-08-06", "web", 10_000, 40_000, 4_000, 20),
                              (6, "gpt-4o-mini-2024-07-18", "api", 0, 300_000, 12_000, 150),
                              (6, "gpt-4o-mini-2024-07-18", "web", 256, 744, 100, 2)]


def test_a_bad_count_or_a_daily_export_is_one_line_naming_file_line_and_column(project, tmp_path):
    text = EXPORT.read_text().splitlines()
    text[3] = text[3].replace(",20.0,", ",20.5,")  # line 4: requests not whole
    (tmp_path / "bad.csv").write_text("\n".join(text) + "\n")
    (problem,) = read(project.config, tmp_path / "bad.csv").problems
    assert problem.message() == (f"{tmp_path / 'bad.csv'} line 4 column num_model_requests: expected a whole, "
                                 "non-negative number of tokens, got '20.5'")
    daily = [text[0], "1740614400,1740700800,2025-02-27T00:00:00+00:00,2025-02-28T00:00:00+00:00,proj_api,10.0,,,"
                      "gpt-4o-2024-08-06,FALSE,default,59200.0,10646.0,5760.0,53440.0,53440.0,10646.0,5760.0,"
                      "0.0,0.0,0.0,0.0,0.0,0.0"]
    (tmp_path / "bad.csv").write_text("\n".join(daily) + "\n")
    (problem,) = read(project.config, tmp_path / "bad.csv").problems
    assert (problem.line, problem.column) == (2, "start_time") and "1-hour or 1-minute buckets" in problem.expected
    (tmp_path / "bad.csv").write_text("start_time,end_time,model\n1,2,x\n")
    with pytest.raises(InputError, match=r"bad.csv line 1 column input_tokens: missing column"):
        read(project.config, tmp_path / "bad.csv")


def costs_of(config, costs: str):
    options = OpenAIUsageOptions(channels=PROJECTS, costs=costs)
    return read(config, EXPORT, options)


def test_costs_api_pages_book_the_day_whose_middle_lies_in_the_business_day(project):
    from openbooks.flows.sources.openai_costs import OUTSIDE as OTHER_DAY

    result = costs_of(project.config, str(FIXTURES / "costs_{date}.json"))
    spend = result.extra["api_spend"]
    assert result.problems == [] and result.skipped[OTHER_DAY] == 1
    assert spend["line_item"].to_list() == ["gpt-4o-2024-08-06, cached input", "gpt-4o-2024-08-06, input",
                                            "gpt-4o-2024-08-06, output", "gpt-4o-mini-2024-07-18, input",
                                            "gpt-4o-mini-2024-07-18, output"]
    assert round(spend["amount_usd"].sum(), 6) == 0.77845
    assert {r.isoformat() for r in spend["bucket_start"]} == {"2025-02-27T00:00:00+00:00"}
    assert [Path(p).name for p in result.files][-1] == "costs_2025-02-27.json"


def test_the_dashboard_cost_export(project):
    from openbooks.flows.sources.openai_costs import EMPTY as NO_COST

    result = costs_of(project.config, str(FIXTURES / "costs_export_{date}.csv"))
    assert result.extra["api_spend"]["amount_usd"].to_list() == [0.895874]
    assert result.skipped[NO_COST] == 1


def test_bad_cost_values_name_file_result_and_field(project, tmp_path):
    page = json.loads((FIXTURES / "costs_2025-02-27.json").read_text())
    page["data"][1]["results"][1]["amount"]["value"] = "n/a"
    page["data"][1]["results"][2]["amount"]["currency"] = "eur"
    (tmp_path / "costs.json").write_text(json.dumps(page))
    problems = costs_of(project.config, str(tmp_path / "costs.json")).problems
    assert [p.message() for p in problems] == [
        f"{tmp_path / 'costs.json'} line 3 column amount.value: expected an amount in dollars",
        f"{tmp_path / 'costs.json'} line 4 column amount.currency: expected usd (openbooks' figures are in US dollars)"]
    with pytest.raises(SourceNotFound, match="options.costs"):
        costs_of(project.config, str(tmp_path / "none*.json"))


def test_openbooks_run_publishes_export_tokens_and_api_spend_beside_gpu_cost(project):
    from tests.servers import openbooks_command

    data = base_config_data()
    data["sources"]["token_counts"] = {
        "kind": "openai_usage", "path": str(FIXTURES / "usage_export_{date}.csv"),
        "options": {"models": {"gpt-4o-2024-08-06": "deepseek-r1", "gpt-4o-mini-2024-07-18": "deepseek-v3"},
                    "costs": str(FIXTURES / "costs_{date}.json")},
    }
    project.write_config(replace=data)
    done = openbooks_command("run", "--date", "2025-02-27", "--config", str(project.config_path))
    assert done.returncode == 0, done.stderr
    day = published(project.config, "SELECT cache_hit_tokens, cache_miss_tokens, output_tokens, requests, "
                                    "gpu_cost_usd FROM daily_economics")
    assert day == [(43_024, 457_976, 27_200, 196, 87_072.0)]
    spend = published(project.config, "SELECT count(*), sum(amount_usd), min(day_api_spend_usd), min(gpu_cost_usd), "
                                      "min(api_spend_to_gpu_cost) FROM api_spend")
    (rows, total, day_total, gpu, ratio), = spend
    assert (rows, round(total, 6), round(day_total, 6), gpu) == (5, 0.77845, 0.77845, 87_072.0)
    assert ratio == pytest.approx(0.77845 / 87_072)
