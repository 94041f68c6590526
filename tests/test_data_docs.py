"""GX Data Docs pages: by default (``reports.data_docs: on_failure``) a run
builds a page only for a suite that failed, where a reader needs its
details; ``always`` builds one per validation, linked from the day's report."""

from __future__ import annotations

from datetime import date

import pytest

from openbooks.flows.daily import daily_books
from openbooks.errors import ValidationFailed
from tests.books import edit_line

DAY = date(2025, 2, 27)


def _pages(config) -> set[str]:
    docs = config.report_dir / "data_docs" / "validations"
    return {p.relative_to(docs).parts[0] for p in docs.glob("*/*/*/*.html")}


def test_a_run_that_passes_builds_no_data_docs_by_default(project):
    daily_books(DAY, str(project.config_path))
    assert _pages(project.config) == set()
    assert "GX Data Docs" not in (project.config.report_dir / f"{DAY}.md").read_text()


def test_a_failing_suite_gets_its_page_and_the_others_none(project):
    inputs = project.copy_sample(days=[str(DAY)])
    edit_line(inputs / "node_log" / f"{DAY}.csv", 3, lambda f: f[:4] + ["A100"] + f[5:])  # a GPU type not in hardware
    with pytest.raises(ValidationFailed):
        daily_books(DAY, str(project.config_path))
    assert _pages(project.config) == {"node_log"}


def test_always_builds_a_page_per_validation(project):
    project.write_config({"reports": {"data_docs": "always"}})
    daily_books(DAY, str(project.config_path))
    assert _pages(project.config) >= {"daily_economics", "hourly_economics", "node_log", "token_counts"}
