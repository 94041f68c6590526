"""A long range's days are computed, drawn and rendered on worker processes
(``flows.executor``): each day's books, charts and page are byte for byte
what computing and rendering it inline gives, and a day that cannot render
fails with its own error, as it would inline."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pytest

from openbooks.flows.daily import daily_books
from openbooks.flows.report import Context, render_day
from openbooks.flows.runtime.executor import POOL_FROM_DAYS, executor_for
from openbooks.flows.admin.report_rebuild import published_day
from openbooks.flows.store.published import context_of

DAY = date(2025, 2, 27)
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def day_inputs(tmp_path_factory):
    from tests.conftest import Project

    project = Project(tmp_path_factory.mktemp("pool"))
    project.write_config()
    daily_books(DAY, str(project.config_path))
    config = project.config
    con = duckdb.connect(str(config.warehouse_path), read_only=True)
    try:
        tables = published_day(con, DAY)
        run_id, config_hash, validation = context_of(con, tables["daily_economics"])
    finally:
        con.close()
    return tables, Context(config.business_day.timezone, run_id, config_hash, WHEN, validation)


def test_pages_rendered_by_the_workers_are_the_inline_pages(day_inputs):
    tables, context = day_inputs
    inline = render_day(tables, context)
    with executor_for(POOL_FROM_DAYS) as renderer:
        assert renderer.in_processes, "a range this long renders in worker processes"
        futures = [renderer.submit(render_day, tables, context) for _ in range(3)]
        pages = [future.result(timeout=600) for future in futures]
    assert all(page == inline for page in pages)
    assert inline.html.count('<figure class="chart">') == 4


def test_a_day_that_cannot_render_fails_with_its_own_error_and_the_others_render(day_inputs):
    tables, context = day_inputs
    broken = {name: frame for name, frame in tables.items() if name != "hourly_economics"}
    with pytest.raises(Exception) as inline_error:
        render_day(broken, context)
    with executor_for(POOL_FROM_DAYS) as renderer:
        bad, good = renderer.submit(render_day, broken, context), renderer.submit(render_day, tables, context)
        assert type(bad.exception(timeout=600)) is type(inline_error.value)
        assert str(bad.exception()) == str(inline_error.value)
        assert good.result(timeout=600) == render_day(tables, context)


def test_a_short_range_renders_inline(day_inputs):
    tables, context = day_inputs
    with executor_for(POOL_FROM_DAYS - 1) as renderer:
        assert not renderer.in_processes
        assert renderer.submit(render_day, tables, context).result() == render_day(tables, context)


def test_books_and_charts_from_the_workers_are_the_inline_ones(day_inputs, tmp_path):
    from dataclasses import replace

    from openbooks.flows.stages.compute import day_window
    from openbooks.flows.stages.day_books import books_and_charts
    from openbooks.flows.stages.inputs import day_request
    from openbooks.flows.sources.registry import kind_for
    from openbooks.flows.stages.day_run import node_log_of, token_counts_of
    from tests.conftest import Project

    from openbooks.flows.store.warehouse import ensure_schema, session

    project = Project(tmp_path)
    config = project.write_config()
    with session(config) as con:
        ensure_schema(con)
    window = day_window(config, DAY)
    results = {name: kind_for(config.sources.get(name)).read(day_request(config, name, window, "run"))
               for name in config.sources.named()}
    node_log, token_counts = node_log_of(config, window, {"node_log": results["node_log"]}), token_counts_of(
        config, window, results)
    books, charts = books_and_charts(config, window, node_log, token_counts)
    with executor_for(POOL_FROM_DAYS) as workers:
        assert workers.in_processes
        their_books, their_charts = workers.submit(books_and_charts, config, window, node_log, token_counts).result()
    assert their_charts == charts and len(charts) == 4
    for name in ("hourly", "daily", "steps", "waterfall", "scenarios", "cost_breakdown", "claims_audit", "models"):
        assert getattr(their_books, name).equals(getattr(books, name)), name
    tables, context = day_inputs
    assert render_day(tables, replace(context, charts=charts)) == render_day(tables, context)


def test_a_worker_starts_whatever_folders_this_process_put_on_its_path(day_inputs, monkeypatch):
    """Loading a flow from its file puts that file's folder on ``sys.path``
    (``flows/``): a worker process that inherits it still imports Python's
    modules and ours under their one name."""
    import sys
    from pathlib import Path

    import openbooks.flows.runtime.executor

    monkeypatch.setattr(sys, "path", [str(Path(openbooks.flows.runtime.executor.__file__).parent), *sys.path])
    tables, context = day_inputs
    with executor_for(POOL_FROM_DAYS) as workers:
        assert workers.submit(render_day, tables, context).result(timeout=600) == render_day(tables, context)


def test_the_site_drawn_on_the_workers_is_the_site_drawn_here(day_inputs, tmp_path):
    """A range writes its site with the charts built and drawn on its
    executor (``charts.drawing_on``): the same files, byte for byte."""
    import shutil

    from openbooks.flows.report.charts import drawing_on
    from openbooks.flows.report.site import write_site
    from tests.conftest import Project

    project = Project(tmp_path / "site")
    project.write_config()
    daily_books(DAY, str(project.config_path))
    config = project.config
    write_site(config)
    here = {p.relative_to(config.report_dir): p.read_bytes() for p in config.report_dir.rglob("*.html")}
    shutil.rmtree(config.report_dir / "periods")
    (config.report_dir / "index.html").unlink()
    with executor_for(POOL_FROM_DAYS) as workers, drawing_on(workers):
        assert workers.in_processes
        write_site(config)
    there = {p.relative_to(config.report_dir): p.read_bytes() for p in config.report_dir.rglob("*.html")}
    assert there == here
    statements = [path for path in here if path.parts[0] == "periods"]
    assert statements and all(here[path].count(b"<svg") == 5 for path in statements)
    assert b"<svg" in next(content for path, content in here.items() if path.name == "index.html")
