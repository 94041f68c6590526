"""kind: prometheus - vLLM / SGLang counters to hourly token counts: the
counter arithmetic on saved data with hand-computed truth, and a real
Prometheus scraping a real exporter through an engine restart."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from openbooks.flows.sources.base import DayRequest
from openbooks.flows.sources.prometheus import KIND, PrometheusOptions, fetch_json, query_url, saved_series
from openbooks.flows.sources.prometheus_counts import day_counts, missing_counters
from openbooks.flows.sources.prometheus_series import series_from_matrix
from openbooks.errors import InputError, SourceUnavailable
from tests.books import published
from tests.conftest import base_config_data
from tests.prometheus_day import hourly_truth, openmetrics, write_scrapes
from tests.servers import free_port, openbooks_command, prometheus_with_exporter, prometheus_with_history, wait_until

FIXTURES = Path(__file__).parent / "fixtures" / "prometheus"
START = datetime(2025, 2, 27, 4, tzinfo=timezone.utc)
END = datetime(2025, 2, 27, 6, tzinfo=timezone.utc)
FIGURES = ["cache_hit_tokens", "cache_miss_tokens", "output_tokens", "requests"]


def figures(frame: pl.DataFrame) -> list[tuple]:
    return [(row["hour_start"].hour, row["model"], *(row[c] for c in FIGURES)) for row in frame.iter_rows(named=True)]


def test_saved_vllm_scrapes_two_pods_and_a_restart():
    files = sorted((FIXTURES / "scrapes").rglob("*.prom"))
    options = PrometheusOptions(max_gap_seconds=3000)
    frame, problems, resets = day_counts(saved_series(files, options), options, "tokens", START, END, "x")
    assert problems == []
    assert resets == 6  # pod-a's restart (a drop, and _created moved), seen by each of its 6 counter series
    # hour 04: pod-a 12000-10000 + 15000-12000, pod-b 1000 (created 04:19:41, counted from 0) + 1000;
    # hits 1000+1500 + 0+600
    assert figures(frame) == [(4, "qwen3-8b", 3100, 3900, 2200, 35), (5, "qwen3-8b", 1900, 2000, 1150, 19)]
    assert frame["channel"].to_list() == ["api", "api"]
    assert frame.schema["hour_start"] == pl.Datetime("us", "UTC")


def test_missing_scrapes_are_a_coverage_problem():
    files = sorted((FIXTURES / "scrapes").rglob("*.prom"))
    options = PrometheusOptions(max_gap_seconds=2000)
    _, problems, _ = day_counts(saved_series(files, options), options, "tokens", START, END, "x")
    gaps = {(p.file.split("/")[-1], p.expected.split("without one from ")[1].split(";")[0]) for p in problems}
    assert ("pod-a", "2025-02-27T04:10:00+00:00 to 2025-02-27T04:50:00+00:00") in gaps
    assert ("pod-b", "2025-02-27T04:20:00+00:00 to 2025-02-27T04:55:00+00:00") in gaps
    assert all(p.column and p.column.startswith("vllm:") for p in problems)
    assert len(problems) == len({p.column + p.file for p in problems})  # one line per series


def test_saved_sglang_query_answer():
    options = PrometheusOptions(engine="sglang", channel="batch", max_gap_seconds=1830)  # last sample: 05:29:30
    series = saved_series([FIXTURES / "sglang_query_range.json"], options)
    frame, problems, resets = day_counts(series, options, "tokens", START, END, "x")
    assert problems == [] and resets == 0
    assert figures(frame) == [(4, "llama-3.1-8b", 2300, 3200, 2400, 27), (5, "llama-3.1-8b", 200, 800, 500, 5)]
    assert set(frame["channel"]) == {"batch"}


def test_channel_from_a_label_and_hits_above_prompt_is_a_problem():
    answer = json.loads((FIXTURES / "sglang_query_range.json").read_text())
    for item in answer["data"]["result"]:
        item["metric"]["tier"] = "free"
        if item["metric"]["__name__"] == "sglang:cached_tokens_total":
            item["values"][-1][1] = "70000"
    options = PrometheusOptions(engine="sglang", channel_label="tier", max_gap_seconds=1830)  # last sample: 05:29:30
    frame, problems, _ = day_counts(series_from_matrix(answer, "a"), options, "tokens", START, END, "x")
    assert set(frame["channel"]) == {"free"}
    assert [p.column for p in problems] == ["cache_hit_tokens"]


def day_request(options: PrometheusOptions, start: datetime, end: datetime) -> DayRequest:
    return DayRequest(config=None, name="tokens", source=None, options=options, day=start.date(), start=start,
                      end=end, run_id="test")


def scraped(server, exporter, metrics) -> bool:
    """Prometheus holds a sample equal to every series' current value."""
    for metric in metrics:
        want = sorted(float(v) for (m, _), v in exporter.values.items() if m == metric)
        if sorted(server.latest(metric)) != want:
            return False
    return True


VLLM = ["vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:prefix_cache_hits_total",
        "vllm:request_success_total"]


def step(server, exporter, engine: str, prompt: int, hits: int, output: int, requests: int) -> None:
    labels = {"model_name": "qwen3-8b", "engine": engine}
    for metric, amount in zip(VLLM, (prompt, output, hits)):
        exporter.add(metric, amount, **labels)
    exporter.add("vllm:prefix_cache_queries_total", prompt, **labels)
    exporter.add("vllm:request_success_total", requests, finished_reason="stop", **labels)
    wait_until(lambda: scraped(server, exporter, VLLM), "Prometheus to scrape the new values")


def test_real_prometheus_through_an_engine_restart(tmp_path):
    with prometheus_with_exporter(tmp_path) as (server, exporter):
        step(server, exporter, "0", 5000, 1000, 800, 10)  # tokens before the day: the baseline
        step(server, exporter, "1", 300, 0, 100, 1)
        start = datetime.fromtimestamp(time.time(), tz=timezone.utc)
        step(server, exporter, "0", 720, 160, 90, 3)
        step(server, exporter, "1", 1000, 400, 250, 4)
        exporter.restart()  # both engines restart: every counter back to 0
        wait_until(lambda: scraped(server, exporter, VLLM), "Prometheus to scrape the restart")
        step(server, exporter, "0", 2400, 1100, 600, 7)
        step(server, exporter, "0", 33, 0, 5, 1)
        step(server, exporter, "1", 77, 7, 20, 2)
        time.sleep(1.5)  # a scrape after the last change, so the day's last sample is the final value
        end = datetime.fromtimestamp(time.time(), tz=timezone.utc)
        result = KIND.read(day_request(PrometheusOptions(url=server.url, max_gap_seconds=30), start, end))
        answers = {m: fetch_json(query_url(PrometheusOptions(url=server.url), m, start, end), PrometheusOptions(),
                                 "tokens") for m in VLLM}
    assert result.problems == []
    assert result.extra["counter_resets"] >= 8  # 4 counters x 2 engines
    totals = result.frame.select(FIGURES).sum().row(0, named=True)
    prompt, hits = 720 + 1000 + 2400 + 33 + 77, 160 + 400 + 1100 + 0 + 7
    assert totals == {"cache_hit_tokens": hits, "cache_miss_tokens": prompt - hits,
                      "output_tokens": 90 + 250 + 600 + 5 + 20, "requests": 3 + 4 + 7 + 1 + 2}
    assert set(result.frame["model"]) == {"qwen3-8b"}
    assert all(a["data"]["resultType"] == "matrix" for a in answers.values())


def test_real_prometheus_sees_a_restart_only_its_created_shows(tmp_path):
    """The new engine served more than the old one's total before its first scrape: the counter did
    not drop, only the scraped ``_created`` moved; its whole value counts from 0."""
    with prometheus_with_exporter(tmp_path) as (server, exporter):
        step(server, exporter, "0", 100, 10, 20, 1)  # before the day: the baseline
        start = datetime.fromtimestamp(time.time(), tz=timezone.utc)
        step(server, exporter, "0", 50, 5, 10, 1)
        exporter.restart({"vllm:prompt_tokens_total": 400, "vllm:prefix_cache_hits_total": 40,
                          "vllm:generation_tokens_total": 80, "vllm:request_success_total": 3,
                          "vllm:prefix_cache_queries_total": 400})
        wait_until(lambda: scraped(server, exporter, VLLM), "Prometheus to scrape the new engine")
        time.sleep(1.5)
        end = datetime.fromtimestamp(time.time(), tz=timezone.utc)
        result = KIND.read(day_request(PrometheusOptions(url=server.url, max_gap_seconds=30), start, end))
    assert result.problems == []
    assert result.extra["counter_resets"] == 4
    assert result.frame.select(FIGURES).sum().row(0, named=True) == {
        "cache_hit_tokens": 5 + 40, "cache_miss_tokens": 45 + 360, "output_tokens": 10 + 80, "requests": 1 + 3}


def test_unreachable_server_is_one_retryable_line():
    options = PrometheusOptions(url=f"http://127.0.0.1:{free_port()}", timeout_seconds=5)
    with pytest.raises(SourceUnavailable) as caught:
        KIND.read(day_request(options, START, END))
    message = str(caught.value)
    assert caught.value.transient and "\n" not in message
    assert message.startswith("sources.tokens: cannot read Prometheus at http://127.0.0.1:")
    assert "check options.url" in message


def test_missing_metric_names_what_to_check(tmp_path):
    with prometheus_with_exporter(tmp_path) as (server, exporter):
        exporter.add("vllm:prompt_tokens_total", 1, model_name="m", engine="0")
        wait_until(lambda: server.latest("vllm:prompt_tokens_total"), "a first scrape")
        now = datetime.fromtimestamp(time.time(), tz=timezone.utc)
        with pytest.raises(SourceUnavailable) as caught:
            KIND.read(day_request(PrometheusOptions(url=server.url, engine="sglang"), now, now))
    assert "no series of sglang:prompt_tokens_total" in str(caught.value)
    assert "check options.engine (sglang)" in str(caught.value)


def test_days_do_not_share_a_difference():
    answer = json.loads((FIXTURES / "sglang_query_range.json").read_text())
    options = PrometheusOptions(engine="sglang")
    series = series_from_matrix(answer, "a")
    middle = datetime(2025, 2, 27, 4, 45, tzinfo=timezone.utc)
    whole = day_counts(series, options, "t", START, END, "x")[0].select(FIGURES).sum()
    first = day_counts(series, options, "t", START, middle, "x")[0].select(FIGURES).sum()
    second = day_counts(series, options, "t", middle, END, "x")[0].select(FIGURES).sum()
    assert (first + second).rows() == whole.rows()
    assert date(2025, 2, 27) == START.date()


SECRET = "bearer-s3cret-7f9c"  # sent as the Prometheus bearer token; must appear nowhere
SHANGHAI_DAY = (datetime(2025, 2, 27, 4, tzinfo=timezone.utc), datetime(2025, 2, 28, 4, tzinfo=timezone.utc))


def test_real_prometheus_serves_a_whole_business_day(tmp_path):
    start, end = SHANGHAI_DAY
    with prometheus_with_history(tmp_path, openmetrics(start, end)) as server:
        result = KIND.read(day_request(PrometheusOptions(url=server.url, max_gap_seconds=600), start, end))
    assert result.problems == []
    got = {(r["hour_start"], r["model"]): [r[c] for c in FIGURES] for r in result.frame.iter_rows(named=True)}
    assert got == hourly_truth(start, end)
    assert len(got) == 48  # 24 hours x 2 models
    assert result.extra["counter_resets"] == 16  # 2 engines restarted twice, 4 counters each


def write_token_source(project, source: dict) -> None:
    data = base_config_data()
    data["sources"]["token_counts"] = source
    project.write_config(replace=data)


def test_openbooks_run_reads_a_day_from_prometheus_with_config_only(project, tmp_path):
    start, end = SHANGHAI_DAY
    with prometheus_with_history(tmp_path / "prometheus", openmetrics(start, end)) as server:
        write_token_source(project, {"kind": "prometheus", "options": {
            "url": server.url, "max_gap_seconds": 600, "token_env": "OPENBOOKS_TEST_PROMETHEUS_TOKEN"}})
        done = openbooks_command("run", "--date", "2025-02-27", "--config", str(project.config_path),
                                 env={"OPENBOOKS_TEST_PROMETHEUS_TOKEN": SECRET})
    assert done.returncode == 0, done.stderr
    written = b"".join(p.read_bytes() for p in project.root.rglob("*") if p.is_file())
    assert SECRET.encode() not in written and SECRET not in done.stdout + done.stderr
    assert_published_truth(project)


def truth_by_hour() -> dict[datetime, list[int]]:
    by_hour: dict[datetime, list[int]] = {}
    for (hour, _), figures_ in hourly_truth(*SHANGHAI_DAY).items():
        by_hour[hour] = [a + b for a, b in zip(by_hour.get(hour, [0, 0, 0, 0]), figures_)]
    return by_hour


def assert_published_truth(project) -> None:
    """Every published hour, and the day, equal the engines' own increments."""
    by_hour = truth_by_hour()
    hours = published(project.config, "SELECT hour_start, cache_hit_tokens, cache_miss_tokens, output_tokens, requests "
                                      "FROM hourly_economics ORDER BY hour_start")
    assert {h.astimezone(timezone.utc): list(rest) for h, *rest in hours} == by_hour
    day = published(project.config, "SELECT cache_hit_tokens, cache_miss_tokens, output_tokens, requests "
                                    "FROM daily_economics")
    assert list(day[0]) == [sum(v[i] for v in by_hour.values()) for i in range(4)]


def test_openbooks_run_with_prometheus_down_is_one_line_and_publishes_nothing(project):
    url = f"http://127.0.0.1:{free_port()}"
    write_token_source(project, {"kind": "prometheus", "options": {"url": url, "timeout_seconds": 5}})
    done = openbooks_command("run", "--date", "2025-02-27", "--config", str(project.config_path))
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: sources.token_counts: cannot read Prometheus at {url} (")
    assert done.stderr.endswith("check options.url and that the server is up\n")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert published(project.config, "SELECT count(*) FROM daily_economics") == [(0,)]
    assert published(project.config, "SELECT status FROM run_log") == [("failed",)]
    with pytest.raises(SourceUnavailable) as caught:
        from openbooks.flows.daily import daily_books

        daily_books(date(2025, 2, 27), str(project.config_path))
    assert caught.value.transient  # a scheduled run retries it


def test_a_scheduled_run_waits_while_prometheus_is_down_or_lacks_the_metric(project, tmp_path):
    from openbooks.flows.runtime.schedule import sources_ready

    day = date(2025, 2, 27)
    write_token_source(project, {"kind": "prometheus", "options": {"url": f"http://127.0.0.1:{free_port()}"}})
    with pytest.raises(SourceUnavailable) as down:
        sources_ready.fn(project.config, day)
    assert down.value.transient  # retried by the schedule's retry_transient
    start, end = SHANGHAI_DAY
    with prometheus_with_history(tmp_path / "prometheus", openmetrics(start, end)) as server:
        write_token_source(project, {"kind": "prometheus", "options": {"url": server.url}})
        assert sources_ready.fn(project.config, day) == {"node_log": 1}
        write_token_source(project, {"kind": "prometheus", "options": {"url": server.url, "engine": "sglang"}})
        with pytest.raises(SourceUnavailable, match="no series of sglang:prompt_tokens_total"):
            sources_ready.fn(project.config, day)


QUERY = '{__name__=~"vllm:(prompt_tokens|prefix_cache_hits|generation_tokens|request_success)_(total|created)"}'


def save_query_range(server, path: Path, start: float, end: float) -> None:
    """A query_range answer saved as a user saves it (every counter and its _created, a 5-minute step)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(server.query_range(QUERY, start, end, 300)))


def run_day(project):
    return openbooks_command("run", "--date", "2025-02-27", "--config", str(project.config_path))


def test_openbooks_run_on_a_query_range_saved_from_exactly_the_day_start(project, tmp_path):
    """The natural export (start = the day's start) holds the baseline at the start itself; one saved
    from five minutes later has none and the day is refused in one line, never booked as lifetime totals."""
    start, end = SHANGHAI_DAY
    with prometheus_with_history(tmp_path / "prometheus", openmetrics(start, end)) as server:
        save_query_range(server, tmp_path / "exact" / "day.json", start.timestamp(), end.timestamp())
        save_query_range(server, tmp_path / "late" / "day.json", start.timestamp() + 300, end.timestamp())
    options = {"max_gap_seconds": 600}
    write_token_source(project, {"kind": "prometheus", "path": str(tmp_path / "exact" / "*.json"), "options": options})
    done = run_day(project)
    assert done.returncode == 0, done.stderr
    assert_published_truth(project)
    write_token_source(project, {"kind": "prometheus", "path": str(tmp_path / "late" / "*.json"), "options": options})
    done = run_day(project)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"error: {tmp_path / 'late' / 'day.json'}: vllm:")
    assert "has no sample at or before the day's start (2025-02-27T04:00:00+00:00)" in lines[0]
    assert "(and 11 more series)" in lines[0]  # 3 engines x 4 counters; the pod born in the day is fine
    assert "export from before the day's start (a query_range from 2025-02-27T03:00:00+00:00 or earlier" in lines[0]
    assert_published_truth(project)  # the published day is untouched


def test_openbooks_run_on_saved_scrapes_and_scrapes_without_a_baseline(project, tmp_path):
    start, end = SHANGHAI_DAY
    assert write_scrapes(tmp_path / "scrapes", start, end) == 1088
    write_token_source(project, {"kind": "prometheus", "path": str(tmp_path / "scrapes" / "*" / "*.prom"),
                                 "options": {"max_gap_seconds": 600}})
    done = run_day(project)
    assert done.returncode == 0, done.stderr
    assert_published_truth(project)
    # the same day's scrapes from 04:05 UTC on: no baseline for the pods that were running
    write_scrapes(tmp_path / "late", start, end, since=start.timestamp() + 300)
    options = PrometheusOptions(max_gap_seconds=600)
    series = saved_series(sorted((tmp_path / "late").rglob("*.prom")), options)
    frame, problems, _ = day_counts(series, options, "tokens", start, end, "x")
    assert [p.column for p in problems] == ['vllm:prompt_tokens_total{engine="0",instance="deepseek-r1-0",'
                                            'model_name="deepseek-r1"}']
    assert "(and 11 more series)" in problems[0].message() and "the last scrape before the day" in problems[0].message()
    assert set(frame["model"]) == {"deepseek-v3"}  # only the pod born in the day books anything
    assert frame["output_tokens"].sum() == sum(v[2] for (_, model), v in hourly_truth(start, end).items()
                                               if model == "deepseek-v3") - truth_of_pod_v3_0(start, end)


def truth_of_pod_v3_0(start: datetime, end: datetime) -> int:
    """Output tokens of deepseek-v3 engine 0 over the day (refused above: it has no baseline)."""
    from tests.prometheus_day import day_samples

    return sum(added[2] for model, engine, ts, _, _, added in day_samples(start, end)
               if (model, engine) == ("deepseek-v3", "0") and added and start.timestamp() < ts <= end.timestamp())


def test_several_targets_in_one_folder_by_a_declared_scrape_name(tmp_path):
    start, end = SHANGHAI_DAY
    write_scrapes(tmp_path / "pods", start, end)
    flat = tmp_path / "flat"
    flat.mkdir()
    for path in (tmp_path / "pods").rglob("*.prom"):
        path.rename(flat / f"{path.parent.name}_{path.stem}.prom")  # deepseek-r1-0_2025-02-27T04-05-00Z.prom
    files = sorted(flat.iterdir())
    options = PrometheusOptions(max_gap_seconds=600, scrape_name="{target}_{time}.prom")
    frame, problems, resets = day_counts(saved_series(files, options), options, "tokens", start, end, "x")
    assert problems == [] and resets == 16
    got = {(r["hour_start"], r["model"]): [r[c] for c in FIGURES] for r in frame.iter_rows(named=True)}
    assert got == hourly_truth(start, end)
    (flat / "latest.prom").write_text("")
    with pytest.raises(InputError) as caught:
        saved_series(sorted(flat.iterdir()), options)
    assert str(caught.value) == (f"{flat / 'latest.prom'}: a saved scrape's name should match options.scrape_name "
                                 "'{target}_{time}.prom', {time} being unix seconds or an ISO 8601 time such as "
                                 "2025-02-27T04-10-00Z")
    with pytest.raises(InputError, match=r"should match options.scrape_name '\{target\}/\{time\}'.*\(and 1088 more"):
        saved_series(sorted(flat.iterdir()), PrometheusOptions())  # the default wants one folder per target


SGLANG_DOCS = FIXTURES / "sglang_docs"
SGLANG_PROMPT, SGLANG_OUTPUT = 1_236_000, 858_000  # hour h adds 40,000 + 1,000h prompt and 30,000 + 500h output


def test_openbooks_run_on_sglang_docs_scrapes_with_optional_counters(project):
    """SGLang's documented /metrics has no cached-token or request counter: declared optional, they are
    booked as 0 and the run's summary says so."""
    write_token_source(project, {"kind": "prometheus", "path": str(SGLANG_DOCS / "*" / "*.prom"), "options": {
        "engine": "sglang", "optional": ["cache_hit", "requests"], "max_gap_seconds": 3600}})
    done = run_day(project)
    assert done.returncode == 0, done.stderr
    rows = published(project.config, "SELECT cache_hit_tokens, cache_miss_tokens, output_tokens, requests "
                                     "FROM daily_economics")
    assert rows == [(0, SGLANG_PROMPT, SGLANG_OUTPUT, 0)]
    skipped = json.loads(published(project.config, "SELECT skipped_rows FROM run_log")[0][0])
    assert skipped == {"token_counts": {
        "sglang:cached_tokens_total not exported (options.optional): cache hits booked as 0": 24,
        "sglang:num_requests_total not exported (options.optional): requests booked as 0": 24}}


def test_a_required_counter_missing_is_still_refused():
    options = PrometheusOptions(engine="sglang", optional=["requests"])
    series = saved_series(sorted(SGLANG_DOCS.rglob("*.prom")), options)
    from openbooks.flows.sources.prometheus import missing_metrics

    assert missing_metrics(series, options) == ["sglang:cached_tokens_total"]


def test_a_model_lacking_a_counter_its_neighbours_have():
    """One engine version per model: SGLang's documented scrape (deepseek-v3) beside a newer one (llama)."""
    files = [FIXTURES / "sglang_query_range.json", *sorted(SGLANG_DOCS.rglob("*.prom"))]
    options = PrometheusOptions(engine="sglang", optional=["cache_hit", "requests"], max_gap_seconds=3600)
    series = saved_series(files, options)
    frame, _, _ = day_counts(series, options, "tokens", START, END, "x")
    assert missing_counters(series, frame, options, "tokens") == ([], {
        "sglang:cached_tokens_total not exported for deepseek-v3 (options.optional): cache hits booked as 0": 2,
        "sglang:num_requests_total not exported for deepseek-v3 (options.optional): requests booked as 0": 2})
    problems, _ = missing_counters(series, frame, PrometheusOptions(engine="sglang", optional=["requests"]), "tokens")
    assert [p.message() for p in problems] == [
        "sources.tokens column sglang:cached_tokens_total: expected a series of sglang:cached_tokens_total for "
        "every model with counters (none for deepseek-v3: its cache hits would be booked as 0; check the engine's "
        "version and options.metrics, or list cache_hit in options.optional)"]
