"""The report package: a page assembled from sections listed in one place,
rendered from the day's tables by name, the same from a run or from the
warehouse. Real run of the reference day, real DuckDB."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pytest

from flows import report
from flows.daily import daily_books
from flows.operator import data_docs_pages
from flows.report import Context, render_day, sections
from flows.report.format import Part
from flows.report.tables import context_of, read_day
from tests.conftest import Project

DAY = date(2025, 2, 27)
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("layout"))
    project.write_config()
    daily_books(DAY, str(project.config_path))
    return project


def day_tables(config):
    con = duckdb.connect(str(config.warehouse_path), read_only=True)
    try:
        tables = read_day(con, DAY)
        return tables, context_of(con, tables["daily_economics"])
    finally:
        con.close()


def without_generated(text: str) -> list[str]:
    return [line for line in text.splitlines() if "generated" not in line]


def test_the_warehouse_tables_render_the_page_the_run_wrote(published):
    config = published.config
    tables, (run_id, config_hash, validation) = day_tables(config)
    docs = data_docs_pages(config, run_id)
    rendered = render_day(tables, Context(config.business_day.timezone, run_id, config_hash, WHEN, validation, docs))
    for text, name in ((rendered.markdown, "2025-02-27.md"), (rendered.html, "2025-02-27.html")):
        assert without_generated(text) == without_generated((config.report_dir / name).read_text())
    assert "$87,072" in rendered.markdown and rendered.html.count("<svg") == 4


def test_the_keyword_form_renders_the_same_report(published):
    config = published.config
    tables, (run_id, config_hash, validation) = day_tables(config)
    by_name = render_day(tables, Context(config.business_day.timezone, run_id, config_hash, WHEN, validation))
    by_keyword = report.render(
        daily=tables["daily_economics"], hourly=tables["hourly_economics"], steps=tables["node_steps"],
        waterfall=tables["revenue_waterfall"], scenarios=tables["revenue_scenarios"],
        cost_breakdown=tables["cost_breakdown"], claims=tables["claims_audit"], customers=None,
        timezone=config.business_day.timezone, validation=validation, run_id=run_id, config_hash=config_hash,
        generated_at=WHEN,
    )
    assert by_keyword == by_name
    with pytest.raises(TypeError, match="anomalies"):
        report.render(anomalies=None, timezone="UTC", validation=[], run_id="", config_hash="", generated_at=WHEN)


class NoteSection:
    """A section added as a new report section would be: its tables and its render."""

    TABLES = ("daily_economics",)

    @staticmethod
    def render(day):
        return Part(f"## Note\n\n{day.daily['peak_nodes']:.0f} nodes at the peak",
                    f"<h2>Note</h2><p>{day.daily['peak_nodes']:.0f} nodes at the peak</p>")


def test_a_new_section_is_one_entry_in_sections(published, monkeypatch):
    config = published.config
    tables, (run_id, config_hash, validation) = day_tables(config)
    context = Context(config.business_day.timezone, run_id, config_hash, WHEN, validation)
    before = render_day(tables, context)
    monkeypatch.setattr(sections, "SECTIONS", (*sections.SECTIONS, (NoteSection,)))
    monkeypatch.setattr("flows.report.page.SECTIONS", sections.SECTIONS)
    after = render_day(tables, context)
    assert "## Note\n\n278 nodes at the peak\n\nCharts:" in after.markdown
    assert "<h2>Note</h2><p>278 nodes at the peak</p>" in after.html
    assert after.markdown.replace("## Note\n\n278 nodes at the peak\n\n", "") == before.markdown


def test_every_section_declares_the_tables_it_reads():
    for block in sections.SECTIONS:
        for section in block:
            assert callable(section.render) and isinstance(section.TABLES, tuple)
    assert set(sections.TABLES) >= {"daily_economics", "hourly_economics", "node_steps", "revenue_waterfall",
                                    "revenue_scenarios", "cost_breakdown", "claims_audit", "customer_economics"}
