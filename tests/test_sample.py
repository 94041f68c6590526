"""The sample generator reproduces the published aggregates exactly."""

from __future__ import annotations

import pytest

import polars as pl

from openbooks import sample

pytestmark = pytest.mark.pure  # no flow, no command


def test_allocate_is_exact_and_proportional():
    assert sample.allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(sample.allocate(167_966_666_667, [0.3, 0.5, 0.2])) == 167_966_666_667


def test_reference_day_tokens_match_the_published_totals():
    tokens = sample.token_counts(sample.REFERENCE_DAY)
    totals = tokens.select(pl.col("cache_hit_tokens", "cache_miss_tokens", "output_tokens").sum()).row(0)
    assert totals == (342_000_000_000, 266_000_000_000, 167_966_666_667)
    revenue = (totals[0] * 0.14 + totals[1] * 0.55 + totals[2] * 2.19) / 1e6
    assert round(revenue) == 562_027


def test_reference_day_node_log_follows_the_step_function():
    log = sample.node_log(sample.REFERENCE_DAY)
    serving = log.filter(pl.col("role") != "training")
    assert serving["nodes"].sum() / 4 == 5_442  # 15-minute rows
    by_role = serving.group_by("role").agg(pl.col("nodes").sum() / 4)
    assert dict(by_role.iter_rows()) == {"prefill": 2_292, "decode": 3_150}


def test_bundled_files_are_what_the_generator_writes(tmp_path):
    sample.write_sample(tmp_path)
    for path in (tmp_path / "node_log").glob("*.csv"):
        assert path.read_bytes() == (sample_dir() / "node_log" / path.name).read_bytes()
    for path in (tmp_path / "token_counts").glob("*.csv"):
        assert path.read_bytes() == (sample_dir() / "token_counts" / path.name).read_bytes()


def sample_dir():
    from tests.conftest import SAMPLE

    return SAMPLE
