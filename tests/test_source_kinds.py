"""Sources as plug-ins: every kind module is found, ``kind:`` and ``options:``
are checked when the config loads (errors name the file and the dotted key),
the column mapping reads constants, fields inside a JSON column and sums of
columns, the JSON reader reads newline-delimited JSON, and the suites ship
with the package (a config outside the repository checks without setting
``validation.expectations_dir``)."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
import yaml

from openbooks.config.frames import price_change_hours
from openbooks.flows.daily import daily_books
from openbooks.flows.admin.project_check import check_project
from openbooks.flows.sources.registry import kind_for, kinds
from openbooks.config import PACKAGED_EXPECTATIONS, load_config
from openbooks.errors import ConfigError
from tests.conftest import base_config_data

DAY = date(2025, 2, 27)


def _write(tmp_path, data) -> str:
    path = tmp_path / "configs" / "openbooks.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_three_own_kinds_are_registered_and_are_each_slot_s_default():
    assert {"node_log", "token_counts", "requests"} <= set(kinds())
    config = load_config("configs/openbooks.yaml")
    assert kind_for(config.sources.node_log).name == "node_log"
    assert kind_for(config.sources.token_counts).feeds == "token_counts"


def test_kind_and_options_errors_name_the_file_and_the_dotted_key(tmp_path):
    data = base_config_data()
    data["sources"]["node_log"]["kind"] = "no_such_kind"
    data["sources"]["token_counts"]["options"] = {"colour": "blue"}
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"{path}: sources.node_log.kind: unknown source kind 'no_such_kind'; expected one of")
    assert lines[1] == f"{path}: sources.token_counts.options.colour: unknown key"


def test_unset_kind_and_options_leave_the_config_hash_as_it_was(tmp_path):
    data = base_config_data()
    plain = load_config(_write(tmp_path / "a", data))
    data["sources"]["node_log"]["kind"] = "node_log"
    named = load_config(_write(tmp_path / "b", data))
    assert "kind" not in json.loads(plain.canonical_json())["sources"]["node_log"]
    assert plain.hash != named.hash


def test_constants_json_fields_and_sums_map_onto_canonical_columns(project):
    inputs = project.copy_sample(days=["2025-02-27"])
    nodes = pl.read_csv(inputs / "node_log" / "2025-02-27.csv", infer_schema=False)
    (inputs / "node_log" / "2025-02-27.csv").unlink()
    nodes.drop("gpu_type").write_ndjson(inputs / "node_log" / "2025-02-27.ndjson")
    tokens_path = inputs / "token_counts" / "2025-02-27.csv"
    tokens = pl.read_csv(tokens_path, infer_schema=False)
    out = tokens["output_tokens"].cast(pl.Int64)
    tokens.with_columns(
        meta=pl.struct(name=pl.col("model")).struct.json_encode(),
        out_a=(out // 3).cast(pl.String), out_b=(out - out // 3).cast(pl.String),
    ).drop("model", "output_tokens").write_csv(tokens_path)
    project.write_config({"sources": {
        "node_log": {"path": str(inputs / "node_log" / "{date}.ndjson"), "format": "json",
                     "columns": {"gpu_type": {"const": "H800"}}},
        "token_counts": {"path": str(inputs / "token_counts" / "{date}.csv"), "columns": {"model": {"column": "meta", "field": "name"},
                                     "output_tokens": {"sum": ["out_a", "out_b"]}}},
    }})
    row = daily_books(DAY, str(project.config_path))
    assert row["theoretical_revenue_usd"] == pytest.approx(562_027, abs=1)
    assert row["gpu_cost_usd"] == pytest.approx(87_072, abs=1)


def test_a_config_outside_the_repository_finds_the_shipped_suites(tmp_path):
    data = base_config_data()
    del data["validation"]
    data.pop("claims", None)
    path = _write(tmp_path, data)
    config = load_config(path)
    assert config.expectations_dir == PACKAGED_EXPECTATIONS
    result = check_project(path)
    assert not [p for p in result.problems if "expectation suite not found" in p], result.problems
    assert "suite node_log" in result.checked


def test_request_rows_from_a_frame_aggregate_as_the_files_do(project):
    from openbooks.flows.stages import compute
    from openbooks.flows.sources.request_scan import DayScope
    from openbooks.flows.sources.requests import aggregate_request_frame, aggregate_requests
    from tests.test_requests import request_config

    folder = request_config(project, 3_000, files=1)
    config = project.config
    window = compute.day_window(config, DAY)
    card = config.price_book.cards[config.price_book.card]
    scope = DayScope(window.start, window.end, window.hours, sorted(card.models),
                     price_change_hours(config, window.day, window.start, window.end), True)
    paths = sorted(folder.glob("*.parquet"))
    from_files = aggregate_requests(config, paths, day_start=scope.start, day_end=scope.end, hours=scope.hours,
                                    priced_models=scope.priced_models, price_change_hours=scope.price_change_hours,
                                    scoped_to_day=True)
    rows = pl.read_parquet(paths).with_columns(source_file=pl.lit("postgres:requests"),
                                               line=pl.int_range(1, pl.len() + 1))
    from_frame = aggregate_request_frame(config, rows, scope, "postgres")
    assert from_frame.hourly.drop("source_file").equals(from_files.hourly.drop("source_file"))
    assert from_frame.summary.equals(from_files.summary)
    key = ["customer_id", "model", "channel", "hour_start"]
    assert from_frame.customers.sort(key).equals(from_files.customers.sort(key))


def test_rows_skipped_on_purpose_are_counted_per_reason_in_run_log(tmp_path):
    import duckdb

    from openbooks.flows.stages.inputs import note_results
    from openbooks.flows.store.runlog import RunRecord, finish_run, start_run
    from openbooks.flows.sources.base import SourceResult
    from openbooks.flows.store.warehouse import ensure_schema

    record = RunRecord("r1", DAY, "openbooks.yaml", "abc")
    note_results(record, {"node_log": SourceResult(None, skipped={"PENDING job": 3, "cancelled": 1})})
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    start_run(con, record)
    finish_run(con, record, "failed", "x")
    (skipped,) = con.execute("SELECT skipped_rows FROM run_log").fetchone()
    assert json.loads(skipped) == {"node_log": {"PENDING job": 3, "cancelled": 1}}
