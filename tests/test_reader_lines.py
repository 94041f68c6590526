"""A row's line in its own file, as a problem names it, from a scan that
DuckDB runs on several threads: every row of every file numbered as the
file has it (the header is line 1), never in the order the threads met them."""

from __future__ import annotations

import json
from types import SimpleNamespace

import duckdb
import pytest

from openbooks.flows.sources.readers import CsvReader, JsonReader

pytestmark = pytest.mark.pure

ROWS = 400_000  # enough for DuckDB to split each file among its threads


def misnumbered(con: duckdb.DuckDBPyConnection, sql: str, first_line: int) -> int:
    return con.execute(f"SELECT count(*) FILTER (WHERE __line != CAST(n AS BIGINT) + {first_line}) "
                       f"FROM ({sql})").fetchone()[0]


def test_csv_rows_are_numbered_by_their_line_in_their_file(tmp_path):
    paths = []
    for k in range(3):
        path = tmp_path / f"requests-{k}.csv"
        path.write_text("n,x\n" + "".join(f"{i},x\n" for i in range(ROWS + k)))
        paths.append(path)
    con = duckdb.connect()
    con.execute("SET threads = 4")
    sql = CsvReader().numbered(paths, SimpleNamespace(delimiter=","), ["n", "x"])
    assert con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0] == 3 * ROWS + 3
    assert misnumbered(con, sql, 2) == 0  # the first row is line 2, under the header


def test_json_lines_are_numbered_by_their_line_in_their_file(tmp_path):
    paths = []
    for k in range(2):
        path = tmp_path / f"requests-{k}.jsonl"
        path.write_text("".join(json.dumps({"n": i, "x": "x"}) + "\n" for i in range(ROWS // 2 + k)))
        paths.append(path)
    con = duckdb.connect()
    con.execute("SET threads = 4")
    sql = JsonReader().numbered(paths, SimpleNamespace(), ["n", "x"])
    assert misnumbered(con, sql, 1) == 0
