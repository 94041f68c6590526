"""Reading a suite file: the JSON every suite of this directory (or of
``validation.expectations_dir``) is written in. Great Expectations reads
them in ``flows/checks/validate.py``; a source kind that words its
problems from a suite's ``meta.expected`` reads them here, without GX."""

from __future__ import annotations

import json
from pathlib import Path

from openbooks.errors import ConfigError


def load_suite_file(path: Path) -> dict:
    """A suite file as a dict; a missing or broken file is a ``ConfigError``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: expectation suite not found")
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} line {exc.lineno}: invalid JSON in expectation suite ({exc.msg})")
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise ConfigError(f"{path}: expected a suite object with a list under 'expectations'")
    return data


# Every suite openbooks ships (one ``<name>.json`` each), declared once here.
FEED_SUITES = ("node_log", "token_counts", "requests")  # a source's rows, as its kind read them
JOINED_FEED_SUITES = ("node_log", "token_counts")  # every day's joined node log and token counts
RESULT_SUITES = (  # every day's books
    "hourly_economics", "daily_economics", "revenue_waterfall", "cost_breakdown", "model_economics", "capacity_by_role",
)
CUSTOMER_SUITE = "customer_economics"  # a day with request-level usage (a source feeding ``requests``)
PLAUSIBILITY_SUITE = "plausibility"  # the physical-bounds gate, unless ``plausibility.enabled`` is off
SCENARIO_SUITE = "scenario_economics"  # a day of a config declaring ``whatif.scenarios``
ALL_SUITES = (*FEED_SUITES, *RESULT_SUITES, CUSTOMER_SUITE, PLAUSIBILITY_SUITE, SCENARIO_SUITE)


def suites_of(kind_suites: list[str], *, usage: bool, plausibility: bool, scenarios: bool) -> tuple[str, ...]:
    """The suites a run of a config checks, in order: the joined feeds', its
    source kinds', the results', then those its config or sources call for."""
    optional = ((CUSTOMER_SUITE,) if usage else ()) + ((PLAUSIBILITY_SUITE,) if plausibility else ()) \
        + ((SCENARIO_SUITE,) if scenarios else ())
    return (*dict.fromkeys([*JOINED_FEED_SUITES, *kind_suites]), *RESULT_SUITES, *optional)
