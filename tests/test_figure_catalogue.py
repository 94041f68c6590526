"""The figure catalogue (``transforms/figures.py``): each rate and margin is
one entry, and that entry is the day's formula, the period's recomputation,
the schema's description and the report's label."""

from __future__ import annotations

import polars as pl
import pytest

from openbooks.flows.report.sections.figures import FIGURES as REPORTED
from openbooks.flows.report.sections.in_depth import IN_DEPTH_FIGURES
from openbooks.flows.store.schema.statements import DAILY_ECONOMICS
from openbooks.transforms import period
from openbooks.transforms.figures import FIGURES
from tests.test_reference_day import reference_books

pytestmark = pytest.mark.pure


def test_each_figure_is_a_daily_column_described_by_its_entry():
    described = {c.name: c.description for c in DAILY_ECONOMICS.columns}
    assert {f.name: f.description for f in FIGURES} == {f.name: described[f.name] for f in FIGURES}


def test_each_figure_is_recomputed_in_a_period_from_its_entry():
    recomputed = [e.meta.output_name() for e in period.ratio_columns()]
    assert recomputed == [f.name for f in FIGURES]


def test_each_labelled_figure_is_shown_under_its_entrys_label():
    shown = {name: (label, fmt) for name, label, fmt in (*REPORTED, *IN_DEPTH_FIGURES)}
    assert all(shown[f.name] == (f.label, f.fmt) for f in FIGURES if f.label is not None)


def test_the_reference_days_figures_are_their_entries_formulas_over_its_row(tmp_path):
    daily = reference_books(tmp_path).daily
    again = daily.select(f.expr() for f in FIGURES)
    for figure in FIGURES:
        assert again[figure.name].to_list() == daily[figure.name].to_list(), figure.name
    # a day is a period of one: the period's recomputation gives the day's figure
    one = period.period_totals(daily)
    for figure in FIGURES:
        got, want = one[figure.name][0], daily[figure.name][0]
        assert (got is None and want is None) or got == pytest.approx(want, rel=1e-12), figure.name
