"""The plausibility gate: tokens per serving GPU-second within the believable
throughput, per hour and model, after the model alias map. Tiny days worked
by hand, the bundled sample week measured, and the gate end to end through
the real daily flow (Prefect, DuckDB, GX)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import polars as pl
import pytest

from openbooks.config import load_config
from openbooks.errors import ConfigError, ValidationFailed
from openbooks.flows.daily import daily_books
from openbooks.config.frames import hardware_frame, plausibility_bounds
from openbooks.transforms import calendar, capacity
from openbooks.transforms.plausibility import hourly_throughput, renamed_models
from tests.books import published
from tests.conftest import SAMPLE, base_config_data

DAY = date(2025, 2, 27)
T0 = datetime(2025, 2, 27, 4, tzinfo=UTC)  # 12:00 in Shanghai
T1 = datetime(2025, 2, 27, 5, tzinfo=UTC)
T2 = datetime(2025, 2, 27, 6, tzinfo=UTC)
HOURS = calendar.hour_grid(T0, T2)
HARDWARE = pl.DataFrame({"gpu_type": ["H800", "A10"], "gpus_per_node": [8.0, 1.0]})
BOUNDS = pl.DataFrame(
    [(None, None, 9212.5, 1850.0), ("A10", None, 1000.0, 100.0), (None, "tiny", 50_000.0, 5_000.0)],
    schema={"gpu_type": pl.String, "model": pl.String, "input_tokens_per_gpu_second": pl.Float64,
            "output_tokens_per_gpu_second": pl.Float64}, orient="row",
)


def nodes(*rows) -> pl.DataFrame:
    return pl.DataFrame(
        [(start, end, model, role, gpu, n, "nodes.csv") for start, end, model, role, gpu, n in rows],
        schema={"interval_start": pl.Datetime("us", "UTC"), "interval_end": pl.Datetime("us", "UTC"),
                "model": pl.String, "role": pl.String, "gpu_type": pl.String, "nodes": pl.Float64,
                "source_file": pl.String}, orient="row",
    )


def tokens(*rows) -> pl.DataFrame:
    return pl.DataFrame(
        [(hour, model, hit, miss, out, "tokens.csv") for hour, model, hit, miss, out in rows],
        schema={"hour_start": pl.Datetime("us", "UTC"), "model": pl.String, "cache_hit_tokens": pl.Int64,
                "cache_miss_tokens": pl.Int64, "output_tokens": pl.Int64, "source_file": pl.String}, orient="row",
    )


def gate(node_log, token_counts, outside=()) -> pl.DataFrame:
    return hourly_throughput(node_log, token_counts, HOURS, HARDWARE, BOUNDS, list(outside))


def test_one_hour_worked_by_hand():
    # 2 H800 nodes for the hour: 2 × 8 GPUs × 3,600 s = 57,600 GPU-seconds.
    # 400M input tokens: 6,944.4/GPU-s against 9,212.5; 120M output: 2,083.3 against 1,850 (over).
    frame = gate(nodes((T0, T1, "r1", "prefill", "H800", 1), (T0, T1, "r1", "decode", "H800", 1)),
                 tokens((T0, "r1", 100_000_000, 300_000_000, 120_000_000)))
    row = frame.row(0, named=True)
    assert row["serving_gpu_seconds"] == 57_600
    assert row["input_per_gpu_second"] == pytest.approx(400e6 / 57_600)
    assert row["allowed_input_per_gpu_second"] == 9212.5
    assert row["input_ratio"] == pytest.approx(400e6 / 57_600 / 9212.5)
    assert row["output_ratio"] == pytest.approx(120e6 / 57_600 / 1850) and row["output_ratio"] > 1
    assert row["status"] == "checked"


def test_idle_training_and_part_hours_are_not_serving_gpus():
    # Half an hour of 1 decode node (14,400 GPU-s); idle and training nodes serve nothing.
    frame = gate(nodes((T0, datetime(2025, 2, 27, 4, 30, tzinfo=UTC), "r1", "decode", "H800", 1),
                       (T0, T1, "r1", "idle", "H800", 5), (T0, T1, "r1", "training", "H800", 5)),
                 tokens((T0, "r1", 0, 1_000_000, 1_000_000)))
    assert frame["serving_gpu_seconds"].to_list() == [14_400]


def test_statuses_idle_in_serving_no_serving_nodes_and_outside_the_fleet():
    frame = gate(nodes((T0, T2, "r1", "serving", "H800", 1)),
                 tokens((T0, "r1", 0, 10, 10), (T0, "v3", 0, 10, 10), (T0, "gpt-4o", 0, 99, 99)),
                 outside=["gpt-4o"])
    by = {(r["hour_start"], r["model"]): r for r in frame.iter_rows(named=True)}
    assert by[(T0, "r1")]["status"] == "checked"
    assert by[(T1, "r1")]["status"] == "idle in serving" and by[(T1, "r1")]["input_ratio"] is None
    assert by[(T0, "v3")]["status"] == "no serving nodes" and by[(T0, "v3")]["unserved_tokens"] == 20
    assert by[(T0, "gpt-4o")]["status"] == "outside the fleet" and by[(T0, "gpt-4o")]["unserved_tokens"] == 0


def test_bounds_by_gpu_type_weighted_and_a_models_own_bound():
    # 1 H800 node (28,800 GPU-s at 9,212.5) + 8 A10 nodes of 1 GPU (28,800 GPU-s at 1,000):
    # allowed input = 28,800 × (9,212.5 + 1,000) = 294,120,000 tokens, 5,106.25 per GPU-second.
    frame = gate(nodes((T0, T1, "r1", "decode", "H800", 1), (T0, T1, "r1", "decode", "A10", 8),
                       (T0, T1, "tiny", "serving", "A10", 1)),
                 tokens((T0, "r1", 0, 294_120_000, 0), (T0, "tiny", 0, 3_600 * 40_000, 0)))
    r1, tiny = frame.sort("model").rows(named=True)
    assert r1["allowed_input_tokens"] == pytest.approx(294_120_000)
    assert r1["allowed_input_per_gpu_second"] == pytest.approx(5106.25)
    assert r1["input_ratio"] == pytest.approx(1.0)
    assert tiny["allowed_input_per_gpu_second"] == 50_000 and tiny["input_ratio"] == pytest.approx(0.8)


def test_the_alias_map_renames_models():
    frame = pl.DataFrame({"model": ["Qwen/Qwen2.5-72B-Instruct", "qwen-72b", "other"]})
    renamed = renamed_models(frame, {"Qwen/Qwen2.5-72B-Instruct": "qwen-72b"})
    assert renamed["model"].to_list() == ["qwen-72b", "qwen-72b", "other"]


def sample_gate(day: str, config) -> pl.DataFrame:
    window = calendar.day_window(date.fromisoformat(day), "Asia/Shanghai", time(12))
    parse = [pl.col(c).str.to_datetime(time_zone="UTC", time_unit="us") for c in ("interval_start", "interval_end")]
    node_log = pl.read_csv(SAMPLE / "node_log" / f"{day}.csv").with_columns(*parse, source_file=pl.lit(day))
    token_counts = pl.read_csv(SAMPLE / "token_counts" / f"{day}.csv").with_columns(
        pl.col("hour_start").str.to_datetime(time_zone="UTC", time_unit="us"), source_file=pl.lit(day))
    clipped = capacity.clip_to_day(node_log.with_columns(pl.col("nodes").cast(pl.Float64)), *window)
    return hourly_throughput(clipped, token_counts, calendar.hour_grid(*window), hardware_frame(config),
                             plausibility_bounds(config), [])


def test_the_reference_day_and_the_sample_week_pass_with_room_to_spare(project):
    config = project.config
    days = sorted(p.stem for p in (SAMPLE / "node_log").glob("*.csv"))
    peaks = {}
    for day in days:
        frame = sample_gate(day, config)
        assert set(frame["status"]) <= {"checked", "idle in serving"}
        peaks[day] = (frame["input_per_gpu_second"].max(), frame["output_per_gpu_second"].max(),
                      frame["input_ratio"].max(), frame["output_ratio"].max())
        assert peaks[day][2] < 0.6 and peaks[day][3] < 0.8
    # The reference day's busiest hour and model: 4,269 input and 1,329 output tokens per
    # serving GPU-second, against 9,212.5 and 1,850 (DeepSeek's per-node figures / 8 GPUs).
    assert [round(v) for v in peaks["2025-02-27"][:2]] == [4269, 1329]
    # A counter read ×3 would be 12,807 and 3,988: both over the bound.
    assert 3 * peaks["2025-02-27"][0] > 9212.5 and 3 * min(p[1] for p in peaks.values()) > 1850


def test_a_counter_read_three_times_fails_the_day_naming_the_hour_and_the_throughputs(project):
    target = project.copy_sample([DAY.isoformat()])
    path = target / "token_counts" / f"{DAY}.csv"
    frame = pl.read_csv(path).with_columns(pl.col("cache_hit_tokens", "cache_miss_tokens", "output_tokens") * 3)
    frame.write_csv(path)
    with pytest.raises(ValidationFailed) as info:
        daily_books(DAY, str(project.config_path))
    lines = [line for line in str(info.value).splitlines() if line.startswith("plausibility:")]
    first = lines[0]
    assert first.startswith("plausibility: hour 2025-02-27T12:00+08:00, model deepseek-r1 (tokens from ")
    assert f"{path.name}; nodes from " in first and "input tokens per serving GPU-second measured, 9,212 allowed" in first
    assert any("output tokens per serving GPU-second measured, 1,850 allowed" in line for line in lines)
    assert published(project.config, "SELECT count(*) FROM daily_economics") == [(0,)]


def test_a_node_log_off_by_a_factor_fails_the_day(project):
    target = project.copy_sample([DAY.isoformat()])
    path = target / "node_log" / f"{DAY}.csv"
    pl.read_csv(path).with_columns(pl.col("nodes") / 4).write_csv(path)
    with pytest.raises(ValidationFailed) as info:
        daily_books(DAY, str(project.config_path))
    assert "input tokens per serving GPU-second measured" in str(info.value)


def test_node_side_names_join_token_side_names_through_the_alias_map(project):
    target = project.copy_sample([DAY.isoformat()])
    path = target / "node_log" / f"{DAY}.csv"
    path.write_text(path.read_text().replace(",deepseek-r1,", ",deepseek-ai/DeepSeek-R1,"))
    with pytest.raises(ValidationFailed) as info:  # without the map: r1's tokens have no serving node
        daily_books(DAY, str(project.config_path))
    assert "model deepseek-r1 (tokens from" in str(info.value) and "but no node serving deepseek-r1" in str(info.value)
    project.write_config({**_sources(target), "models": {"deepseek-ai/DeepSeek-R1": "deepseek-r1"}})
    row = daily_books(DAY, str(project.config_path))
    assert (round(row["gpu_cost_usd"]), round(row["theoretical_revenue_usd"])) == (87_072, 562_027)
    models = published(project.config, "SELECT model FROM model_economics ORDER BY model")
    assert [m for (m,) in models] == ["deepseek-r1", "deepseek-v3", "unattributed"]
    assert "plausibility: busiest hour and model at 4,269 input tokens per serving GPU-second (46% of 9,212 " \
           "allowed), 1,329 output tokens per serving GPU-second (72% of 1,850 allowed)" in row["notes"]


def _sources(target) -> dict:
    return {"sources": {s: {"path": str(target / s / "{date}.csv")} for s in ("node_log", "token_counts")}}


def test_tokens_outside_the_fleet_are_shown_not_checked(project):
    target = project.copy_sample([DAY.isoformat()])
    path = target / "token_counts" / f"{DAY}.csv"
    with path.open("a") as handle:
        handle.write("2025-02-27T13:00:00+08:00,gpt-4o,api,0,1000,500,3\n")
    card = {"models": {"gpt-4o": {"input_cache_hit": 2.5, "input_cache_miss": 2.5, "output": 10.0}}}
    project.write_config({**_sources(target), "price_book": {"cards": {"deepseek": card}}})
    with pytest.raises(ValidationFailed) as info:
        daily_books(DAY, str(project.config_path))
    assert "1,500 tokens but no node serving gpt-4o that hour" in str(info.value)
    project.write_config({**_sources(target), "price_book": {"cards": {"deepseek": card}},
                          "plausibility": {"outside_fleet": ["gpt-4o"]}})
    row = daily_books(DAY, str(project.config_path))
    assert "plausibility: 1,500 tokens of gpt-4o outside the fleet (served elsewhere; not checked)" in row["notes"]


def test_the_gate_can_be_switched_off_and_bounds_declared(project, tmp_path):
    target = project.copy_sample([DAY.isoformat()])
    path = target / "token_counts" / f"{DAY}.csv"
    pl.read_csv(path).with_columns(pl.col("output_tokens") * 2).write_csv(path)
    project.write_config({**_sources(target), "plausibility": {"gpu_types": {"H800": {
        "input_tokens_per_gpu_second": 10_000, "output_tokens_per_gpu_second": 3_000}}}})
    assert daily_books(DAY, str(project.config_path))["status"] == "published"


def test_config_refuses_bounds_for_unknown_gpus_and_chained_aliases(tmp_path):
    for override, expected in [
        ({"plausibility": {"gpu_types": {"B200": {}}}}, "plausibility.gpu_types names GPU type(s) ['B200']"),
        ({"models": {"a": "b", "b": "c"}}, "models maps 'b' both from and to a name"),
        ({"plausibility": {"default": {"input_tokens_per_gpu_second": 0}}}, "input_tokens_per_gpu_second"),
    ]:
        data = {**base_config_data(), **override}
        path = tmp_path / "openbooks.yaml"
        import yaml

        path.write_text(yaml.safe_dump(data))
        with pytest.raises(ConfigError) as info:
            load_config(path)
        assert expected in str(info.value)


def test_a_config_without_the_new_keys_keeps_its_hash(project):
    import hashlib
    import json

    config = project.config
    data = json.loads(config.canonical_json())
    assert "plausibility" not in data and "models" not in data
    assert config.hash == hashlib.sha256(config.canonical_json().encode()).hexdigest()[:12]


def test_hosted_api_usage_is_outside_the_gate_beside_the_fleets_own_tokens(project):
    # The sample day's own tokens and nodes, and OpenAI usage pages (gpt-4o, no node of
    # the fleet serves it) as a second token source, priced by the card's "*".
    from tests.test_source_openai_usage import FIXTURES

    data = base_config_data()
    data["sources"]["openai"] = {"kind": "openai_usage", "path": str(FIXTURES / "usage_completions_{date}_page*.json"),
                                 "options": {"channels": {"proj_api": "api", "proj_web": "web"}}}
    data["price_book"]["cards"]["deepseek"]["models"]["*"] = {
        "input_cache_hit": 1.25, "input_cache_miss": 2.50, "output": 10.00}
    project.write_config(replace=data)
    row = daily_books(DAY, str(project.config_path))
    [note] = [n for n in row["notes"] if "outside the fleet" in n]
    assert note == ("plausibility: 581,200 tokens of gpt-4o-2024-08-06, gpt-4o-mini-2024-07-18 outside the fleet "
                    "(served elsewhere; not checked)")


def test_a_project_whose_suites_predate_the_gate_takes_the_shipped_one(project, tmp_path):
    import shutil

    from tests.conftest import REPO

    suites = tmp_path / "suites"
    shutil.copytree(REPO / "expectations", suites)
    (suites / "plausibility.json").unlink()
    project.write_config({"validation": {"expectations_dir": str(suites)}})
    row = daily_books(DAY, str(project.config_path))
    assert any(note.startswith("plausibility: busiest hour") for note in row["notes"])
