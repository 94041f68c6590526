"""The suites openbooks ships are declared once (``expectations/suites.py``):
every suite file is declared there, every declared suite has its file, and
``openbooks check`` checks what a run of the config will run."""

from __future__ import annotations

from pathlib import Path

import pytest

from openbooks.expectations.suites import ALL_SUITES, suites_of

pytestmark = pytest.mark.pure

SHIPPED = Path(__file__).resolve().parents[1] / "expectations"


def test_every_shipped_suite_file_is_declared_and_every_declared_suite_shipped():
    assert sorted(p.stem for p in SHIPPED.glob("*.json")) == sorted(ALL_SUITES)


def test_a_run_of_the_sample_config_checks_the_feeds_and_every_days_results():
    suites = suites_of(["node_log", "token_counts"], usage=False, plausibility=True, scenarios=False)
    assert suites == ("node_log", "token_counts", "hourly_economics", "daily_economics", "revenue_waterfall",
                      "cost_breakdown", "model_economics", "capacity_by_role", "plausibility")
    with_requests = suites_of(["node_log", "requests"], usage=True, plausibility=False, scenarios=True)
    assert with_requests[:3] == ("node_log", "token_counts", "requests")
    assert with_requests[-2:] == ("customer_economics", "scenario_economics")
