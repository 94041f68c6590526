"""A long range's reports are rendered in worker processes
(``flows.report.render_pool``): each page is byte for byte the inline
render of the same tables, and a day that cannot render fails with its own
error, as it would inline."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pytest

from flows.daily import daily_books
from flows.report import Context, render_day
from flows.report.render_pool import POOL_FROM_DAYS, Renderer
from flows.report.tables import context_of, read_day

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
        tables = read_day(con, DAY)
        run_id, config_hash, validation = context_of(con, tables["daily_economics"])
    finally:
        con.close()
    return tables, Context(config.business_day.timezone, run_id, config_hash, WHEN, validation)


def test_pages_rendered_by_the_workers_are_the_inline_pages(day_inputs):
    tables, context = day_inputs
    inline = render_day(tables, context)
    with Renderer(POOL_FROM_DAYS) as renderer:
        assert renderer._workers, "a range this long renders in worker processes"
        futures = [renderer.submit(tables, context) for _ in range(3)]
        pages = [future.result(timeout=600) for future in futures]
    assert all(page == inline for page in pages)
    assert inline.html.count("<svg") == 4


def test_a_day_that_cannot_render_fails_with_its_own_error_and_the_others_render(day_inputs):
    tables, context = day_inputs
    broken = {name: frame for name, frame in tables.items() if name != "hourly_economics"}
    with pytest.raises(Exception) as inline_error:
        render_day(broken, context)
    with Renderer(POOL_FROM_DAYS) as renderer:
        bad, good = renderer.submit(broken, context), renderer.submit(tables, context)
        assert type(bad.exception(timeout=600)) is type(inline_error.value)
        assert str(bad.exception()) == str(inline_error.value)
        assert good.result(timeout=600) == render_day(tables, context)


def test_a_short_range_renders_inline(day_inputs):
    tables, context = day_inputs
    with Renderer(POOL_FROM_DAYS - 1) as renderer:
        assert not renderer._workers
        assert renderer.submit(tables, context).result() == render_day(tables, context)
