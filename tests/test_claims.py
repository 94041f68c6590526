"""Claims are checked against the day they are about and shown in their units."""

import pytest
from datetime import date, datetime, timezone

import polars as pl

from openbooks.flows.report.day import CLAIMS, Context, Day
from openbooks.flows.report.sections import claims as claims_section
from openbooks.claims import load_claims
from tests.conftest import REPO
from openbooks.transforms import claims

pytestmark = pytest.mark.pure  # no flow, no command

DAILY = pl.DataFrame({"gpu_cost_usd": [87_072.0], "cost_profit_margin": [5.4548], "cache_saved_gpu_hours": [11_500.0]})
SCENARIOS = pl.DataFrame({"card": ["v3"], "gross_margin": [0.6896]})


def claims_frame(rows: list[dict]) -> pl.DataFrame:
    schema = {"claim": pl.String, "figure": pl.String, "stated": pl.Float64, "tolerance": pl.Float64,
              "source": pl.String, "day": pl.Date, "through": pl.Date, "unit": pl.String}
    return pl.DataFrame(rows, schema=schema)


def audit_on(day: date, rows: list[dict]) -> pl.DataFrame:
    return claims.claims_audit(claims_frame(rows), claims.day_figures(DAILY, SCENARIOS), day)


def test_the_shipped_claims_name_their_day_and_unit():
    shipped = load_claims(REPO / "configs" / "claims.yaml")
    assert {c.day for c in shipped} == {date(2025, 2, 27)}
    units = {c.figure: c.unit for c in shipped}
    assert units["gpu_cost_usd"] == "usd" and units["cost_profit_margin"] == "percent"
    assert units["cache_saved_gpu_hours"] == "gpu_hours"
    rows = [c.model_dump() for c in shipped]
    assert set(audit_on(date(2025, 2, 28), rows)["verdict"]) == {"not applicable"}
    on_the_day = audit_on(date(2025, 2, 27), rows)
    assert "not applicable" not in set(on_the_day["verdict"])


def test_a_claim_about_a_range_applies_within_it_and_one_without_a_day_always():
    base = {"figure": "gpu_cost_usd", "stated": 87_072.0, "tolerance": 1.0, "source": "s", "unit": "usd"}
    rows = [
        {**base, "claim": "range", "day": date(2025, 2, 1), "through": date(2025, 2, 27)},
        {**base, "claim": "one day", "day": date(2025, 2, 26), "through": None},
        {**base, "claim": "always", "day": None, "through": None},
    ]
    assert audit_on(date(2025, 2, 27), rows)["verdict"].to_list() == ["confirmed", "not applicable", "confirmed"]
    assert audit_on(date(2025, 2, 28), rows)["verdict"].to_list() == ["not applicable", "not applicable", "confirmed"]
    audit = audit_on(date(2025, 2, 27), rows)
    assert audit["first_day"][0] == date(2025, 2, 1) and audit["last_day"][0] == date(2025, 2, 27)


def test_the_claims_table_shows_dollars_percent_and_gpu_hours():
    rows = [c.model_dump() for c in load_claims(REPO / "configs" / "claims.yaml")]
    audit = audit_on(date(2025, 2, 27), rows)
    context = Context("UTC", "run", "hash", datetime(2025, 2, 28, tzinfo=timezone.utc))
    part = claims_section.render(Day({CLAIMS: audit}, context))
    markdown = part.markdown
    assert "$87,072.00" in markdown
    assert "545.0%" in markdown and "545.5%" in markdown
    assert "12,000 GPU-hours" in markdown and "11,500 GPU-hours" in markdown


def test_a_rejected_claim_says_by_how_much_it_misses():
    base = {"source": "s", "day": None, "through": None}
    rows = [{**base, "claim": "cost", "figure": "gpu_cost_usd", "stated": 90_000.0, "tolerance": 1.0, "unit": "usd"},
            {**base, "claim": "margin", "figure": "cost_profit_margin", "stated": 5.45, "tolerance": 0.005,
             "unit": "percent"}]
    audit = audit_on(date(2025, 2, 27), rows)
    context = Context("UTC", "run", "hash", datetime(2025, 2, 28, tzinfo=timezone.utc))
    markdown = claims_section.render(Day({CLAIMS: audit}, context)).markdown
    assert "rejected: off by $2,928.00, allowed $1.00" in markdown
    assert "| confirmed |" in markdown
