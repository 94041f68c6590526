"""Nothing changes silently: a source read again when its config changes,
a card's "*" price for request logs, rule templates checked when the config
loads, skipped rows said per source and reason and weighed against
``max_skipped_share``. Real Prefect, DuckDB and GX."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
import yaml

from openbooks.config import load_config
from openbooks.errors import ConfigError, InputError, OpenbooksError, ValidationFailed
from openbooks.flows.stages import skipped
from openbooks.flows.daily import daily_books
from openbooks.flows.sources import slurm_sacct as slurm
from openbooks.flows.sources.allocations import Rule
from openbooks.flows.sources.base import DayRequest, SourceResult
from openbooks.flows.sources.files import day_files
from openbooks.flows.sources.request_checks import checks
from openbooks.flows.sources.requests import priced_names
from tests.books import published
from tests.conftest import base_config_data

DAY = date(2025, 2, 27)
FIXTURES = Path(__file__).parent / "fixtures" / "slurm_sacct"
WITH_STEPS = FIXTURES / "sacct_2025-02-27_exported_2025-02-28T10-30-00.txt"
RULES = [{"match": {"JobName": "(vllm|sglang)-(?P<short>r1|v3)-(?P<role>prefill|decode)"},
          "model": "deepseek-{short}", "role": "{role}"}]
OPTIONS = {"timezone": "Asia/Shanghai", "partitions": {"h800": "H800"}, "rules": RULES}


# A source's file is read again when its reading settings change.

def test_a_fixed_column_mapping_is_read_again_for_a_file_read_before(project):
    target = project.copy_sample([DAY.isoformat()])
    path = target / "token_counts" / f"{DAY}.csv"
    path.write_text(path.read_text().replace(",requests\n", ",n_requests\n", 1))
    with pytest.raises(OpenbooksError) as first:
        daily_books(DAY, str(project.config_path))
    assert "n_requests" in str(first.value)
    sources = {s: {"path": str(target / s / "{date}.csv")} for s in ("node_log", "token_counts")}
    sources["token_counts"]["columns"] = {"requests": "n_requests"}
    project.write_config({"sources": sources})
    row = daily_books(DAY, str(project.config_path))
    assert (round(row["gpu_cost_usd"]), round(row["theoretical_revenue_usd"])) == (87_072, 562_027)
    assert published(project.config, "SELECT count(*) FROM raw.files WHERE source = 'token_counts' AND error IS NULL"
                     ) == [(1,)]


def test_the_reuse_key_is_content_and_reading_settings(project):
    config = project.config
    [before] = day_files(config, "node_log", DAY)
    assert day_files(config, "node_log", DAY) == [before]  # the same file and settings: the same key
    project.write_config({"sources": {"node_log": {"extra_columns": "ignore"}}})
    [after] = day_files(project.config, "node_log", DAY)
    assert after.path == before.path and after.content_hash != before.content_hash


# A card's "*" prices every model it does not name, for request logs too.

def test_a_star_price_prices_request_models_the_card_does_not_name(project):
    assert [c.row for c in checks(["*", "deepseek-r1"]) if c.name == "unpriced_model"] == ["model IS NULL"]
    assert "deepseek-v3" in [c.row for c in checks(["deepseek-v3"]) if c.name == "unpriced_model"][0]
    star = {"input_cache_hit": 0.07, "input_cache_miss": 0.27, "output": 1.10}
    project.write_config({"price_book": {"cards": {"deepseek": {"models": {"*": star}}}},
                          "models": {"DeepSeek-R1": "deepseek-r1"}})
    assert priced_names(project.config) == ["*", "DeepSeek-R1", "deepseek-r1", "deepseek-v3"]


def test_request_logs_of_a_model_priced_by_star_publish(project):
    from tests.test_requests import request_config

    folder = request_config(project, 2_000, files=1)
    path = folder / "part-0000.parquet"
    frame = pl.read_parquet(path)
    frame.with_columns(model=pl.when(pl.int_range(pl.len()) < 10).then(pl.lit("deepseek-r1-distill"))
                       .otherwise(pl.col("model"))).write_parquet(path)
    with pytest.raises(ValidationFailed) as info:
        daily_books(DAY, str(project.config_path))
    assert "deepseek-r1-distill" in str(info.value)
    data = yaml.safe_load(project.config_path.read_text())
    data["price_book"]["cards"]["deepseek"]["models"]["*"] = {
        "input_cache_hit": 0.07, "input_cache_miss": 0.27, "output": 1.10}
    data["plausibility"] = {"outside_fleet": ["deepseek-r1-distill"]}
    project.write_config(replace=data)
    row = daily_books(DAY, str(project.config_path))
    assert row["requests"] == 2_000
    models = [m for (m,) in published(project.config, "SELECT model FROM model_economics ORDER BY model")]
    assert "deepseek-r1-distill" in models


# A rule template naming a group its pattern lacks is refused when the config loads.

def test_a_rule_template_naming_a_missing_group_is_refused():
    Rule(match={"JobName": "(?P<model>.*)-decode"}, model="{model}", role="decode")
    with pytest.raises(ValueError, match=r"model: '\{short\}' names group\(s\) \['short'\] that no match pattern"):
        Rule(match={"JobName": "(?P<model>.*)-decode"}, model="{short}", role="decode")
    with pytest.raises(ValueError, match=r"role: '\{role\}' names group"):
        Rule(match={"JobName": ".*"}, model="x", role="{role}")


def test_the_config_load_names_the_rule(tmp_path):
    data = base_config_data()
    rules = [{"match": {"JobName": "vllm-(?P<m>.*)"}, "model": "{model}", "role": "decode"}]
    data["sources"]["node_log"] = {"kind": "slurm_sacct", "path": "x_{date}.txt",
                                   "options": {"partitions": {"h800": "H800"}, "rules": rules}}
    path = tmp_path / "openbooks.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "sources.node_log.options.rules" in str(info.value) and "['model']" in str(info.value)


# Skipped rows: one line per source and reason, weighed against max_skipped_share.

RESEARCH = [{"match": {"Account": "research"}, "model": "research", "role": "training"}, *RULES]


def _slurm_day(config, text: str, rules: list = RESEARCH) -> SourceResult:
    request = DayRequest(config=config, name="node_log", source=config.sources.node_log,
                         options=slurm.SlurmOptions(**{**OPTIONS, "rules": rules}), day=DAY,
                         start=datetime(2025, 2, 27, 4, tzinfo=UTC), end=datetime(2025, 2, 28, 4, tzinfo=UTC),
                         run_id="t")
    return slurm.day_result(request, [WITH_STEPS], [text])


def test_skipped_rows_are_said_with_the_hours_they_held(project):
    result = _slurm_day(project.config, WITH_STEPS.read_text())
    # Job 1008 (interactive, 1 GPU 16:00-17:00 Shanghai) matches no rule: 1 GPU-hour, 1/8 node-hour.
    assert result.extra["skipped_hours"] == {"GPU job matching no rule": (1.0, 0.125)}
    lines = skipped.skipped_lines({"node_log": result})
    assert "sources.node_log: 1 row(s) skipped: GPU job matching no rule (0.12 node-hours, 1.00 GPU-hours)" in lines
    assert "sources.node_log: 7 row(s) skipped: job step line (its job's allocation line counts)" in lines
    assert skipped.share_problems(project.config, {"node_log": result}) == []  # 1 of 909 + 1 GPU-hours


def test_a_day_leaving_out_more_than_the_share_fails_naming_the_source(project):
    # Job 1005 (4 nodes of training, 13:00-21:00) no longer matches a rule: 256 GPU-hours left out.
    result = _slurm_day(project.config, WITH_STEPS.read_text(), RULES)
    assert result.extra["skipped_hours"]["GPU job matching no rule"][0] == 257.0  # 1005 and 1008
    [line] = skipped.share_problems(project.config, {"node_log": result})
    assert line.startswith("sources.node_log: 257.00 GPU-hours left out on purpose (")
    assert "expected at most 5.0%, sources.node_log.max_skipped_share" in line
    project.write_config({"sources": {"node_log": {"max_skipped_share": 0.5}}})
    assert skipped.share_problems(project.config, {"node_log": result}) == []


def test_repeats_and_rows_outside_the_day_hold_no_hours():
    result = SourceResult(None, skipped={"job step line (its job's allocation line counts)": 3,
                                         "job outside the day": 2}, extra={"gpu_hours": 10.0})
    assert skipped.skipped_share(result) is None
    assert skipped.skipped_lines({"s": result}) == [
        "sources.s: 2 row(s) skipped: job outside the day",
        "sources.s: 3 row(s) skipped: job step line (its job's allocation line counts)",
    ]


def test_openbooks_run_prints_skipped_rows_and_fails_a_day_leaving_out_too_much(tmp_path):
    from tests.fleet_project import fleet_project, run_cli

    source = {"kind": "slurm_sacct", "path": "sacct_{date}_*.txt", "options": {**OPTIONS, "rules": RESEARCH}}
    project, _ = fleet_project(tmp_path / "a", WITH_STEPS, source)
    result = run_cli(project)
    assert result.returncode == 0, result.stderr
    assert "sources.node_log: 1 row(s) skipped: GPU job matching no rule (0.12 node-hours, 1.00 GPU-hours)" \
        in result.stdout
    project, _ = fleet_project(tmp_path / "b", WITH_STEPS, {**source, "options": OPTIONS})
    result = run_cli(project)
    assert result.returncode == 1
    assert "sources.node_log: 257.00 GPU-hours left out on purpose (" in result.stderr
