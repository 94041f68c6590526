"""The report package: a page assembled from sections listed in one place,
rendered from the day's tables by name, the same from a run or from the
warehouse; files that respect the umask, data that stays text, and charts
that read well. Real run of the reference day, real DuckDB, real vl-convert."""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest

from openbooks.flows import report
from openbooks.flows.daily import daily_books
from openbooks.flows.admin.report_rebuild import data_docs_pages
from openbooks.flows.report import Context, charts, render_day, sections
from openbooks.flows.report.format import Part
from openbooks.flows.admin.report_rebuild import published_day
from openbooks.flows.store.published import context_of
from tests.conftest import Project

DAY = date(2025, 2, 27)
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("layout"))
    project.write_config({"reports": {"data_docs": "always"}})  # the page links every suite's Data Docs
    daily_books(DAY, str(project.config_path))
    return project


def day_tables(config):
    con = duckdb.connect(str(config.warehouse_path), read_only=True)
    try:
        tables = published_day(con, DAY)
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
    assert "$87,072" in rendered.markdown and rendered.html.count('<figure class="chart">') == 4


def test_the_keyword_form_renders_the_same_report(published):
    config = published.config
    tables, (run_id, config_hash, validation) = day_tables(config)
    by_name = render_day(tables, Context(config.business_day.timezone, run_id, config_hash, WHEN, validation))
    by_keyword = report.render(
        daily=tables["daily_economics"], hourly=tables["hourly_economics"], steps=tables["node_steps"],
        waterfall=tables["revenue_waterfall"], scenarios=tables["revenue_scenarios"],
        cost_breakdown=tables["cost_breakdown"], claims=tables["claims_audit"], customers=None,
            whatif=tables.get("scenario_economics"), models=tables["model_economics"], headline=tables["headline"],
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
    monkeypatch.setattr(sections, "SECTIONS", (*sections.SECTIONS, NoteSection))
    monkeypatch.setattr("openbooks.flows.report.page.SECTIONS", sections.SECTIONS)
    after = render_day(tables, context)
    assert "## Note\n\n278 nodes at the peak\n\nCharts:" in after.markdown
    assert "<h2>Note</h2><p>278 nodes at the peak</p>\n<p class=\"muted\">" in after.html
    assert after.markdown.replace("## Note\n\n278 nodes at the peak\n\n", "") == before.markdown


def test_every_section_declares_the_tables_it_reads():
    for section in sections.SECTIONS:
        assert callable(section.render) and isinstance(section.TABLES, tuple)
    assert set(sections.TABLES) >= {"daily_economics", "hourly_economics", "node_steps", "revenue_waterfall",
                                    "revenue_scenarios", "cost_breakdown", "claims_audit", "customer_economics"}


# -- trust: files, escaping, charts (issue 15) ----------------------------------


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_report_files_respect_the_umask(tmp_path, umask, mode):
    rendered = report.Report("2025-02-27", "# md\n", "<html></html>\n")
    previous = os.umask(umask)
    try:
        paths = report.write_report(tmp_path / "reports", rendered)
    finally:
        os.umask(previous)
    assert [stat.S_IMODE(p.stat().st_mode) for p in paths] == [mode, mode]
    assert [p.read_text() for p in paths] == ["# md\n", "<html></html>\n"]


HOSTILE = "<script>alert(1)</script>|x"


def test_a_hostile_model_name_stays_text_in_markdown_and_html(published):
    config = published.config
    tables, (run_id, config_hash, validation) = day_tables(config)
    tables = dict(tables)
    tables["daily_economics"] = tables["daily_economics"].with_columns(reference_model=pl.lit(HOSTILE))
    waterfall = tables["revenue_waterfall"]
    first_model = waterfall.filter(pl.col("model") != "all")["model"][0]
    tables["revenue_waterfall"] = waterfall.with_columns(pl.col("model").replace({first_model: HOSTILE}))
    rendered = render_day(tables, Context(config.business_day.timezone, run_id, config_hash, WHEN, validation))
    assert "<script" not in rendered.markdown and "<script>alert" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.markdown
    assert "| step | all | &lt;script&gt;alert(1)&lt;/script&gt;\\|x |" in rendered.markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|x" in rendered.html


def test_charts_name_the_timezone_share_the_day_axis_and_carry_hover_titles(published):
    """The day's charts as the page gives them to the browser (its specs; drawn
    in tests/test_site_browser.py) and, for a browser without script, their figures as text."""
    html = (published.config.report_dir / "2025-02-27.html").read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    specs = [json.loads(text) for text in re.findall(r'<script type="application/json" class="spec">(.*?)</script>',
                                                      html, re.S)]
    node, cost, waterfall, capacity = specs

    def labels(spec: dict) -> list[str]:
        return [row["label"] for rows in spec["datasets"].values() for row in rows if row.get("label")]

    for chart in (node, cost, capacity):  # the time charts
        x = (chart.get("layer") or [chart])[0]["encoding"]["x"]["axis"]["labelExpr"]
        assert "(Asia/Shanghai)" in json.dumps(chart["title"]) and "'Feb 28'" in x and "'12:00'" in x  # overnight
    assert "12:00 GPU cost: $4,448" in labels(cost) and len(labels(cost)) == 48
    assert "00:00 to 01:15: 218 nodes" in labels(node) and "23:00 decode: 162.0 node-hours" in labels(capacity)
    amounts = [row["amount"] for rows in waterfall["datasets"].values() for row in rows]
    for amount in ("$562,027", "-$113,861", "-$298,075", "-$17,572", "$132,520"):  # values on the waterfall
        assert amount in amounts
    assert "model mix: -$113,861" in labels(waterfall)
    domain = capacity["encoding"]["color"]["scale"]["domain"]
    assert "idle" not in domain and "training" in domain  # no idle node-hours that day: no legend entry
    assert all(spec["width"] == "container" for spec in specs)  # as wide as the page, on a phone too
    assert "<li>12:00 GPU cost: $4,448</li>" in html and "<svg" not in html


def test_the_time_charts_share_one_x_scale(published):
    tables, _ = day_tables(published.config)
    axis = charts.time_axis(tables["daily_economics"].row(0, named=True), "Asia/Shanghai")
    drawn = [charts.node_chart(tables["node_steps"], axis), charts.cost_income_chart(tables["hourly_economics"], axis),
             charts.capacity_chart(tables["hourly_economics"], axis)]

    def x_scales(spec: dict) -> list:
        layers = spec.get("layer", [spec])
        return [(layer["encoding"]["x"]["scale"], layer["encoding"]["x"]["axis"]) for layer in layers]

    scales = [scale for chart in drawn for scale in x_scales(chart.to_dict())]
    assert len(scales) == 4 and all(scale == scales[0] for scale in scales)
    assert scales[0][0]["domain"] == ["2025-02-27T12:00:00", "2025-02-28T12:00:00"]
    assert {chart.to_dict()["width"] for chart in drawn} == {charts.WIDTH}


def test_a_dst_day_keeps_every_hour_apart_and_labels_the_wall_clock():
    zone = ZoneInfo("America/New_York")
    start = datetime(2025, 11, 2, tzinfo=zone).astimezone(UTC)
    end = datetime(2025, 11, 3, tzinfo=zone).astimezone(UTC)
    axis = charts.TimeAxis(start, end, "America/New_York")
    assert (end - start).total_seconds() == 25 * 3600
    assert [axis.label(t) for t in axis.ticks()][:3] == ["00:00", "01:00", "03:00"]  # 01:00 EDT, then EST
    assert axis.position(end) - axis.position(start) == timedelta(hours=25)
    hours = [start + timedelta(hours=h) for h in range(25)]
    positions = [axis.position(h) for h in hours]
    assert len(set(positions)) == 25  # the repeated 01:00 drawn twice, one after the other
    assert not charts.TimeAxis(start, end, "America/New_York").label(end).startswith("Nov")  # midnight ends it


def test_the_day_s_anomalies_are_shown_at_the_top(published):
    from openbooks.transforms.anomalies import SCHEMA

    config = published.config
    tables, (run_id, config_hash, validation) = day_tables(config)
    found = pl.DataFrame([{"day": DAY, "figure": "gross_margin", "value": 0.70, "median": 0.845, "window_days": 7,
                           "move": -0.145, "kind": "points", "threshold": 0.05}], schema=SCHEMA)
    rendered = render_day({**tables, "anomalies": found},
                          Context(config.business_day.timezone, run_id, config_hash, WHEN, validation))
    line = "2025-02-27 Gross margin 70.0% against a median of 84.5% over 7 days (-14.5 pts, threshold 5.0 pts)"
    assert f"`deepseek-r1`.\n\n## Anomalies\n\n- {line}\n\n## Figures" in rendered.markdown
    assert re.search(f"<h2>Anomalies</h2><ul><li>{re.escape(line)}</li></ul>\n"  # then the headline strip
                     r'<section class="headline"[^>]*>.*?</section>\n<h2>Figures</h2>', rendered.html)
