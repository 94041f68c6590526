"""One GX validation per suite over a range of days, its failures attributed
to their days.

The days' frames are concatenated with a ``day`` column and the suite is
run once on them (``validate.validate_frame``), rewritten so that it means
per day what it means on one day's frame:

- row expectations (``expect_column_values_to_*``, column pairs) run as
  they are; a failing row names its day;
- uniqueness becomes uniqueness within a day (``day`` joins the columns);
- table expectations (row counts, column sums) run on a frame of one row
  per day (its row count, its sums, its suite parameters), in one more GX
  run.

Each day gets a ``SuiteOutcome`` as if its frame had been validated alone:
the suite's expectations counted, its failures in suite order with row
indexes into the day's own frame. A suite with an expectation of another
kind is validated day by day (same outcomes, one GX run a day).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from openbooks.flows.checks import validate
from openbooks.flows.checks.validate import Failure, SuiteOutcome

ROWS = "rows"
ROW_TYPES = ("expect_column_pair_values_a_to_be_greater_than_b", "expect_column_pair_values_to_be_equal")
TABLE_TYPES = ("expect_table_row_count_to_equal", "expect_table_row_count_to_be_between",
               "expect_column_sum_to_be_between")
UNIQUE_TYPES = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")


@dataclass(frozen=True)
class Rewritten:
    """The suite split in two: expectations on the rows and on the per-day frame,
    each entry's index in the original suite kept beside it."""

    rows: list[tuple[int, dict]]
    table: list[tuple[int, dict]]
    originals: list[dict]


def rewrite(data: dict) -> Rewritten | None:
    """The suite rewritten for a range, or None when it has an expectation it cannot rewrite."""
    rows, table = [], []
    for index, entry in enumerate(data["expectations"]):
        kind = entry.get("type", "")
        if kind in UNIQUE_TYPES:
            rows.append((index, _unique_within_day(entry)))
        elif kind.startswith("expect_column_values_to_") or kind in ROW_TYPES:
            rows.append((index, entry))
        elif kind in TABLE_TYPES:
            table.append((index, _per_day(entry)))
        else:
            return None
    return Rewritten(rows, table, data["expectations"])


def _unique_within_day(entry: dict) -> dict:
    kwargs = dict(entry.get("kwargs", {}))
    columns = [kwargs.pop("column")] if "column" in kwargs else list(kwargs.pop("column_list"))
    ignore = "any_value_is_missing" if entry["type"] == "expect_column_values_to_be_unique" else "all_values_are_missing"
    kwargs.setdefault("ignore_row_if", ignore)
    return {**entry, "type": "expect_compound_columns_to_be_unique", "kwargs": {**kwargs, "column_list": [*columns, "day"]}}


def _per_day(entry: dict) -> dict:
    """A table expectation as a row expectation on the per-day frame."""
    kwargs = copy.deepcopy(entry.get("kwargs", {}))
    if entry["type"] == "expect_column_sum_to_be_between":
        return {**entry, "type": "expect_column_values_to_be_between",
                "kwargs": {**kwargs, "column": f"sum_{kwargs['column']}"}}
    if entry["type"] == "expect_table_row_count_to_be_between":
        return {**entry, "type": "expect_column_values_to_be_between", "kwargs": {**kwargs, "column": ROWS}}
    value = kwargs.pop("value")
    if isinstance(value, dict) and "$PARAMETER" in value:
        return {**entry, "type": "expect_column_pair_values_to_be_equal",
                "kwargs": {**kwargs, "column_A": ROWS, "column_B": f"param_{value['$PARAMETER']}"}}
    return {**entry, "type": "expect_column_values_to_be_between",
            "kwargs": {**kwargs, "column": ROWS, "min_value": value, "max_value": value}}


def validate_days(frames: dict[date, pl.DataFrame], suite_path: Path, parameters: dict[date, dict[str, Any]],
                  *, docs_dir: Path | None = None, run_name: str | None = None) -> dict[date, SuiteOutcome]:
    """Each day's outcome of the suite at ``suite_path`` over its frame, in (at most) two GX runs."""
    data = validate.load_suite_file(suite_path)
    rewritten = rewrite(data)
    if rewritten is None or not frames:
        return {day: validate.validate_frame(frame, suite_path, parameters[day], docs_dir=docs_dir,
                                             run_name=run_name) for day, frame in frames.items()}
    days = list(frames)
    name = data.get("name", suite_path.stem)
    offsets, start = {}, 0
    for day in days:
        offsets[day], start = start, start + frames[day].height
    failures: dict[date, list[tuple[int, Failure]]] = {day: [] for day in days}
    whole = pl.concat([f.with_columns(day=pl.lit(d)) for d, f in frames.items()], how="vertical_relaxed")
    page = None
    if rewritten.rows:
        outcome = _run(whole, suite_path, data, rewritten.rows, parameters[days[0]], docs_dir, run_name)
        page = outcome.docs_page
        _attribute_rows(outcome, rewritten, whole, offsets, failures)
    if rewritten.table:
        per_day = per_day_frame(frames, rewritten, parameters)
        outcome = _run(per_day, suite_path, data, rewritten.table, {}, None, None)
        _attribute_table(outcome, rewritten, per_day, failures)
    evaluated = len(rewritten.originals)
    return {day: SuiteOutcome(name, evaluated, [f for _, f in sorted(failures[day], key=lambda p: p[0])],
                              None, page) for day in days}


def _run(frame: pl.DataFrame, path: Path, data: dict, entries: list[tuple[int, dict]], parameters: dict,
         docs_dir: Path | None, run_name: str | None) -> SuiteOutcome:
    """GX over ``frame`` with the rewritten ``entries`` of the suite; each
    failure's ``expected`` is its entry's index in the original suite."""
    tagged = [{**e, "meta": {**(e.get("meta") or {}), "expected": str(i)}} for i, e in entries]
    return validate.validate_frame(frame, path, parameters, docs_dir=docs_dir, run_name=run_name,
                                   suite_data={**data, "expectations": tagged})


def _column(entry: dict) -> str | None:
    kwargs = entry.get("kwargs", {})
    return kwargs.get("column") or ", ".join(kwargs.get("column_list", []) or []) or None


def _as_gx_reports(whole: pl.DataFrame, row: int, columns: list[str]) -> dict:
    """A row's values as GX reports a failing row (through pandas)."""
    return whole.select(columns).slice(row, 1).to_pandas().to_dict("records")[0]


def _original(rewritten: Rewritten, index: int) -> tuple[str, str | None, str]:
    entry = rewritten.originals[index]
    return entry["type"], _column(entry), (entry.get("meta") or {}).get("expected") or entry["type"]


def _attribute_rows(outcome: SuiteOutcome, rewritten: Rewritten, whole: pl.DataFrame, offsets: dict[date, int],
                    failures: dict[date, list[tuple[int, Failure]]]) -> None:
    for failure in outcome.failures:
        index = int(failure.expected)
        kind, column, expected = _original(rewritten, index)
        if failure.row is None:  # the expectation could not run: every day's problem
            for day in failures:
                failures[day].append((index, Failure(failure.suite, kind, column, expected, None, failure.value)))
            continue
        day = whole["day"][failure.row]
        value = failure.value
        if kind == "expect_column_values_to_be_unique":
            value = _as_gx_reports(whole, failure.row, [column])[column]
        elif kind == "expect_compound_columns_to_be_unique":
            value = _as_gx_reports(whole, failure.row, rewritten.originals[index]["kwargs"]["column_list"])
        else:
            column = failure.column
        failures[day].append((index, Failure(failure.suite, kind, column, expected, failure.row - offsets[day], value)))


def _attribute_table(outcome: SuiteOutcome, rewritten: Rewritten, per_day: pl.DataFrame,
                     failures: dict[date, list[tuple[int, Failure]]]) -> None:
    for failure in outcome.failures:
        index = int(failure.expected)
        kind, column, expected = _original(rewritten, index)
        entry = dict(rewritten.table)[index]
        observed = _column(entry) if entry["type"] != "expect_column_pair_values_to_be_equal" else ROWS
        days = list(failures) if failure.row is None else [per_day["day"][failure.row]]
        for day in days:
            value = failure.value if failure.row is None else per_day[observed][failure.row]
            failures[day].append((index, Failure(failure.suite, kind, column, expected, None, value)))


def pandas_sum(column: pl.Series) -> float | int:
    """The sum GX's pandas engine checks, to the last bit, without importing
    pandas here: ``Series.sum`` fills nulls with 0 and sums the values with
    numpy (``pandas.core.nanops.nansum``; bottleneck is
    not used for sums); NaN counts as null, and an integer column with nulls
    is float64 in pandas."""
    if column.dtype.is_float():
        column = column.fill_nan(0)
    values = column.fill_null(0).to_numpy()
    if column.null_count() and values.dtype.kind in "iub":
        values = values.astype("float64")
    return values.sum()


def per_day_frame(frames: dict[date, pl.DataFrame], rewritten: Rewritten, parameters: dict[date, dict]) -> pl.DataFrame:
    """One row per day: its row count, the sums the suite checks and its suite parameters."""
    originals = [rewritten.originals[i] for i, _ in rewritten.table]
    sums = [e["kwargs"]["column"] for e in originals if e["type"] == "expect_column_sum_to_be_between"]
    rows = []
    for day, frame in frames.items():
        row = {"day": day, ROWS: frame.height}
        row.update({f"sum_{c}": pandas_sum(frame[c]) if c in frame.columns else None for c in sums})
        row.update({f"param_{k}": v for k, v in parameters[day].items() if not isinstance(v, list | dict)})
        rows.append(row)
    return pl.DataFrame(rows)
