"""Every kind of bad input: one clear line naming file, line, column and what
was expected; the raw file untouched; the rejected rows in ``quarantine``;
the day not published. Real Prefect, real DuckDB, real GX."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from openbooks.flows.daily import daily_books
from openbooks.errors import InputError, OpenbooksError
from tests.books import edit_line, files_bytes, published

DAY = date(2025, 2, 27)
NODE, TOKENS = "node_log", "token_counts"


def _set(index: int, value: str):
    def edit(fields: list[str]) -> list[str]:
        fields[index] = value
        return fields
    return edit


def _rewrite(transform):
    def edit(path: Path) -> None:
        path.write_bytes(transform(path.read_bytes()))
    return edit


def _line(number: int, edit):
    return lambda path: edit_line(path, number, edit)


def _drop_column(index: int):
    def transform(data: bytes) -> bytes:
        rows = [line.split(b",") for line in data.splitlines()]
        return b"\n".join(b",".join(r[:index] + r[index + 1:]) for r in rows) + b"\n"
    return _rewrite(transform)


def _add_column(name: bytes, value: bytes):
    def transform(data: bytes) -> bytes:
        lines = data.splitlines()
        return b"\n".join([lines[0] + b"," + name] + [line + b"," + value for line in lines[1:]]) + b"\n"
    return _rewrite(transform)


def _drop_lines(numbers: set[int]):
    def transform(data: bytes) -> bytes:
        lines = data.splitlines()
        return b"\n".join(line for n, line in enumerate(lines, start=1) if n not in numbers) + b"\n"
    return _rewrite(transform)


def _copy_line(source: int, target: int):
    def transform(data: bytes) -> bytes:
        lines = data.splitlines()
        lines[target - 1] = lines[source - 1]
        return b"\n".join(lines) + b"\n"
    return _rewrite(transform)


def _replace_in_line(number: int, old: bytes, new: bytes):
    def transform(data: bytes) -> bytes:
        lines = data.splitlines()
        lines[number - 1] = lines[number - 1].replace(old, new, 1)
        return b"\n".join(lines) + b"\n"
    return _rewrite(transform)


# id: (source, edit, message after "<file>", quarantined (line, column) rows)
CASES = {
    "ragged_row": (
        TOKENS, _line(6, lambda f: f + ["99"]),
        " line 6: too many columns (expected 7 columns, found 8)", [(6, None)],
    ),
    "bad_quoting": (
        TOKENS, _replace_in_line(6, b"deepseek-v3", b'"deepseek-v3'),
        " line 6 column model: unterminated quote (expected a closing \" for every opening one", [(6, "model")],
    ),
    "wrong_encoding": (
        TOKENS, _replace_in_line(6, b"deepseek-v3", b"deepseek-v3\xff"),
        " line 6 column model: not UTF-8 text (expected a UTF-8 CSV file)", [(6, "model")],
    ),
    "wrong_type_number": (
        NODE, _line(6, _set(5, "sixty")),
        " line 6 column nodes: expected a number, got 'sixty'", [(6, "nodes")],
    ),
    "wrong_type_timestamp": (
        TOKENS, _line(6, _set(0, "2025-02-27 12:00")),
        " line 6 column hour_start: expected an ISO 8601 timestamp with a UTC offset, "
        "e.g. 2025-02-27T12:00:00+08:00, got '2025-02-27 12:00'", [(6, "hour_start")],
    ),
    "negative_count": (
        NODE, _line(6, _set(5, "-4")),
        " line 6 column nodes: expected a node count >= 0, got -4", [(6, "nodes")],
    ),
    "null_key": (
        TOKENS, _line(6, _set(1, "")),
        " line 6 column model: expected a value (the column may not be empty), got empty", [(6, "model")],
    ),
    "duplicate_key": (
        TOKENS, _copy_line(2, 8),
        " line 8 column hour_start, model, channel: expected one row per hour_start, model and channel "
        "(duplicate key), got hour_start=2025-02-27T12:00:00+08:00, model='deepseek-r1', channel='web'",
        [(2, "hour_start, model, channel"), (8, "hour_start, model, channel")],
    ),
    "missing_column": (
        TOKENS, _drop_column(5),
        " line 1: missing column 'output_tokens'", [(1, "output_tokens")],
    ),
    "renamed_column": (
        NODE, _replace_in_line(1, b",nodes", b",node_count"),
        " line 1: missing column 'nodes' (the file has 'node_count' instead); expected columns", [(1, "nodes")],
    ),
    "extra_column": (
        TOKENS, _add_column(b"region", b"cn"),
        " line 1: unexpected column 'region' (set sources.token_counts.extra_columns: ignore", [(1, "region")],
    ),
    "empty_file": (
        NODE, _rewrite(lambda data: b""),
        ": file is empty (expected a header line and rows)", [(None, None)],
    ),
    "header_only_file": (
        NODE, _rewrite(lambda data: data.splitlines(keepends=True)[0]),
        ": has a header but no rows (expected at least one row)", [(None, None)],
    ),
    "node_log_gap": (
        # 14:15-14:30 has no row at all (lines 38-41 are that interval's four rows).
        NODE, _drop_lines({38, 39, 40, 41}),
        ": no row covers 2025-02-27T14:15:00+08:00 to 2025-02-27T14:30:00+08:00 (column interval_start: "
        "expected the node log to cover the whole business day)", [(None, "interval_start")],
    ),
    "node_log_overlap": (
        # line 2 is R1 prefill 12:00-12:15; ending at 12:20 overlaps line 6 (R1 prefill from 12:15).
        NODE, _line(2, _set(1, "2025-02-27T12:20:00+08:00")),
        " line 6 column interval_start: expected no overlap with an earlier interval of the same model, "
        "role and GPU type, got 2025-02-27T12:15:00+08:00", [(6, "interval_start")],
    ),
    "unpriced_model": (
        TOKENS, _line(6, _set(1, "deepseek-x1")),
        " line 6 column model: expected a model with a price in the price book's card, got 'deepseek-x1'",
        [(6, "model")],
    ),
    "token_hour_outside_day": (
        TOKENS, _line(6, _set(0, "2025-02-28T13:00:00+08:00")),
        " line 6 column hour_start: expected an hour_start within the business day, got 2025-02-28T13:00:00+08:00",
        [(6, "hour_start")],
    ),
    "node_interval_outside_day": (
        NODE, _line(6, lambda f: ["2025-02-26T10:00:00+08:00", "2025-02-26T10:15:00+08:00", *f[2:]]),
        " line 6 column interval_start: expected an interval within the business day, got 2025-02-26T10:00:00+08:00",
        [(6, "interval_start")],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_clear_line_and_nothing_is_lost(project, case):
    source, edit, message, quarantined = CASES[case]
    inputs = project.copy_sample(days=["2025-02-27"])
    path = inputs / source / "2025-02-27.csv"
    edit(path)
    before = path.read_bytes()

    with pytest.raises(OpenbooksError) as info:
        daily_books(DAY, str(project.config_path))

    assert isinstance(info.value, InputError) or type(info.value).__name__ == "ValidationFailed"
    lines = str(info.value).splitlines()
    assert any(line.startswith(f"{path}{message}") for line in lines), lines
    config = project.config
    assert published(config, "SELECT count(*) FROM daily_economics") == [(0,)]
    assert published(config, "SELECT status FROM run_log") == [("failed",)]
    assert files_bytes(config.report_dir) == {}
    assert path.read_bytes() == before
    rows = published(config, "SELECT line, column_name, reason, source_file FROM quarantine ORDER BY line")
    assert [(line, column) for line, column, _, _ in rows] == quarantined
    assert all(reason and source_file == str(path) for _, _, reason, source_file in rows)


def test_an_extra_column_can_be_ignored(project):
    inputs = project.copy_sample(days=["2025-02-27"])
    _add_column(b"region", b"cn")(inputs / TOKENS / "2025-02-27.csv")
    project.write_config({
        "sources": {
            NODE: {"path": str(inputs / NODE / "{date}.csv")},
            TOKENS: {"path": str(inputs / TOKENS / "{date}.csv"), "extra_columns": "ignore"},
        }
    })
    row = daily_books(DAY, str(project.config_path))
    assert row["theoretical_revenue_usd"] == pytest.approx(562_027, abs=1)
    assert published(project.config, "SELECT count(*) FROM quarantine") == [(0,)]
