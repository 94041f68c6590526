"""The reference day on the pure computation: the bundled 2025-02-27 read by
its sources' kinds and computed by the transforms (``flows.day_books``), no
Prefect run and no GX, gives the published figures exactly: $87,072 GPU
cost, $562,027 theoretical revenue, 545% cost profit margin, and every other
figure of its ``daily_economics`` row as ``tests/fixtures/reference_day.json``
holds it (written from a run of ``openbooks run --date 2025-02-27``)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from openbooks.flows.stages.compute import day_window
from openbooks.flows.stages.day_books import books_of
from openbooks.flows.stages.day_run import node_log_of, token_counts_of
from openbooks.flows.stages.inputs import day_request
from openbooks.flows.sources.registry import kind_for
from openbooks.flows.store.warehouse import ensure_schema, session
from tests.conftest import REPO, Project

pytestmark = pytest.mark.pure
DAY = date(2025, 2, 27)
GOLDEN = REPO / "tests" / "fixtures" / "reference_day.json"


def reference_books(tmp_path):
    config = Project(tmp_path).write_config()
    with session(config) as con:
        ensure_schema(con)
    window = day_window(config, DAY)
    results = {name: kind_for(config.sources.get(name)).read(day_request(config, name, window, "golden"))
               for name in config.sources.named()}
    return books_of(config, window, node_log_of(config, window, {"node_log": results["node_log"]}),
                    token_counts_of(config, window, results))


def as_json(row: dict) -> dict:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}


def test_the_reference_day_computes_to_its_published_figures(tmp_path):
    books = reference_books(tmp_path)
    row = as_json(books.daily.row(0, named=True))
    assert f"${row['gpu_cost_usd']:,.0f}" == "$87,072"
    assert f"${row['theoretical_revenue_usd']:,.0f}" == "$562,027"
    assert f"{row['cost_profit_margin']:.0%}" == "545%"
    assert row == json.loads(GOLDEN.read_text())["daily_economics"]
    assert books.hourly.height == 24
