"""The plausibility gate's lines: each failing hour and model of the
``plausibility`` suite (``expectations/plausibility.json``, run on
``Books.plausibility``, see ``transforms/plausibility.py``) as one line
naming where the tokens and the nodes come from, the hour, and the measured
against the allowed throughput; and what the console says of a day that
passes (models outside the fleet, idle-in-serving hours)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from openbooks.config import PACKAGED_EXPECTATIONS
from openbooks.flows.checks import validate
from openbooks.flows.sources.files import display_path
from openbooks.transforms.plausibility import IDLE, OUTSIDE

LIST_COLUMNS = ("node_sources", "token_sources")
NEWER_SUITES = ("plausibility",)  # taken from the shipped suites when a project's copy lacks them
MAX_LINES = 20
MEASURES = {"input_ratio": "input", "output_ratio": "output"}


def suite_file(config, name: str) -> Path:
    """A suite's file under ``validation.expectations_dir``; a suite added
    since a project copied its suites (``NEWER_SUITES``) is taken from the
    suites shipped with openbooks when the copy lacks it."""
    path = config.expectations_dir / f"{name}.json"
    if name in NEWER_SUITES and not path.exists():
        return PACKAGED_EXPECTATIONS / f"{name}.json"
    return path


def checked_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame the suite runs on (the lists of files left out)."""
    return frame.drop(*LIST_COLUMNS)


def _files(paths: list[str]) -> str:
    shown = [display_path(p) for p in paths[:2]]
    more = f" and {len(paths) - 2} more" if len(paths) > 2 else ""
    return ", ".join(shown) + more if shown else "no file"


def failure_line(row: dict, column: str, zone: str) -> str:
    """One failing hour and model, in words."""
    hour = row["hour_start"].astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")
    where = f"plausibility: hour {hour}, model {row['model']} (tokens from {_files(row['token_sources'])}"
    if column == "unserved_tokens":
        return (f"{where}): {row['input_tokens'] + row['output_tokens']:,.0f} tokens but no node serving "
                f"{row['model']} that hour (expected serving nodes in the node log, or the model under "
                f"plausibility.outside_fleet)")
    kind = MEASURES[column]
    return (f"{where}; nodes from {_files(row['node_sources'])}): {row[f'{kind}_per_gpu_second']:,.0f} {kind} "
            f"tokens per serving GPU-second measured, {row[f'allowed_{kind}_per_gpu_second']:,.0f} allowed "
            f"({row[f'{kind}_tokens']:,.0f} tokens over {row['serving_gpu_seconds'] / 3600:,.2f} GPU-hours)")


def gate_lines(frame: pl.DataFrame, outcome: validate.SuiteOutcome, zone: str) -> list[str]:
    """The suite's failures, one line per hour, model and measure (at most ``MAX_LINES``, then a count)."""
    lines, found = [], []
    order = [*MEASURES, "unserved_tokens"]
    for failure in outcome.failures:
        if failure.row is None or failure.column not in order:
            lines.append(f"plausibility column {failure.column}: expected {failure.expected}, got {failure.value}")
        else:
            found.append((failure.row, order.index(failure.column), failure.column))
    for row, _, column in sorted(found):  # by hour and model (the frame's order), input before output
        lines.append(failure_line(frame.row(row, named=True), column, zone))
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f"plausibility: … and {len(lines) - MAX_LINES} more hours failing"]
    return lines


def notes(frame: pl.DataFrame | None) -> list[str]:
    """What a passing gate says: tokens outside the fleet, hours idle in serving, the highest share of the bound."""
    if frame is None or frame.is_empty():
        return []
    lines = []
    outside = frame.filter(pl.col("status") == OUTSIDE)
    if not outside.is_empty():
        tokens = float(outside["input_tokens"].sum() + outside["output_tokens"].sum())
        lines.append(f"plausibility: {tokens:,.0f} tokens of {', '.join(sorted(set(outside['model'])))} "
                     f"outside the fleet (served elsewhere; not checked)")
    idle = frame.filter(pl.col("status") == IDLE)
    if not idle.is_empty():
        lines.append(f"plausibility: {idle.height} hour(s) of a model idle in serving (serving nodes, no tokens)")
    checked = frame.filter(pl.col("input_ratio").is_not_null())
    if not checked.is_empty():
        top = {kind: checked.sort(f"{kind}_ratio").row(-1, named=True) for kind in ("input", "output")}
        lines.append("plausibility: busiest hour and model at " + ", ".join(
            f"{top[k][f'{k}_per_gpu_second']:,.0f} {k} tokens per serving GPU-second "
            f"({top[k][f'{k}_ratio']:.0%} of {top[k][f'allowed_{k}_per_gpu_second']:,.0f} allowed)"
            for k in ("input", "output")))
    return lines
