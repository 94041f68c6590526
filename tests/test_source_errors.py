"""Source errors always name the file (issue 15): a truncated Parquet token
file, a corrupt row group in a request file, a symlink leading out of the
declared directory, a day on which no node serves. Each is one line naming
the file, the day is not published, and what was refused is in quarantine.
Real Prefect, real DuckDB, real GX.

Parquet layout (row groups, column chunks, the footer at the end of the
file): https://parquet.apache.org/docs/file-format/
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pyarrow.parquet as pq
import pytest

from openbooks.flows.daily import daily_books
from openbooks.errors import OpenbooksError
from tests.books import published
from tests.test_requests import request_config

DAY = date(2025, 2, 27)


def _fails(project) -> list[str]:
    with pytest.raises(OpenbooksError) as info:
        daily_books(DAY, str(project.config_path))
    assert published(project.config, "SELECT count(*) FROM daily_economics") == [(0,)]
    assert published(project.config, "SELECT status FROM run_log") == [("failed",)]
    return str(info.value).splitlines()


def test_a_truncated_parquet_token_file_names_the_file_and_is_quarantined(project):
    inputs = project.copy_sample(days=["2025-02-27"])
    csv_path = inputs / "token_counts" / "2025-02-27.csv"
    path = csv_path.with_suffix(".parquet")
    pl.read_csv(csv_path, infer_schema=False).write_parquet(path)
    csv_path.unlink()
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # the footer is gone
    project.write_config({"sources": {"token_counts": {"path": str(inputs / "token_counts" / "{date}.parquet"),
                                                       "format": "parquet"}}})

    lines = _fails(project)

    assert len(lines) == 1 and lines[0].startswith(f"{path}: not a readable Parquet file"), lines
    rows = published(project.config, "SELECT source_file, reason FROM quarantine")
    assert [source_file for source_file, _ in rows] == [str(path)]
    assert "not a readable Parquet file" in rows[0][1]


def test_a_corrupt_row_group_in_a_request_file_names_the_file_and_row_group(project):
    folder = request_config(project, 4_000, files=1, row_group_size=1_000)
    path = folder / "part-0000.parquet"
    chunk = pq.ParquetFile(path).metadata.row_group(1).column(5)  # input_tokens of the second row group
    data = bytearray(path.read_bytes())
    start = chunk.data_page_offset + 20
    data[start:start + 60] = b"\xff" * 60
    path.write_bytes(bytes(data))

    lines = _fails(project)

    assert any(line.startswith(f"{path} row group 1: not a readable Parquet row group") for line in lines), lines


def test_a_symlink_leading_out_of_the_source_directory_is_refused(project, tmp_path):
    inputs = project.copy_sample(days=["2025-02-27"])
    link = inputs / "token_counts" / "2025-02-27.csv"
    outside = tmp_path / "elsewhere.csv"
    outside.write_bytes(link.read_bytes())
    link.unlink()
    link.symlink_to(outside)

    lines = _fails(project)

    assert lines[0].startswith(f"{link}: resolves to {outside}, outside sources.token_counts's directory"), lines
    assert published(project.config, "SELECT count(*) FROM raw.token_counts") == [(0,)]


def test_a_day_with_no_serving_node_names_the_node_log(project):
    inputs = project.copy_sample(days=["2025-02-27"])
    path = inputs / "node_log" / "2025-02-27.csv"
    pl.read_csv(path, infer_schema=False).with_columns(nodes=pl.lit("0")).write_csv(path)

    lines = _fails(project)

    assert lines[0].startswith(f"{path} column nodes: expected at least one node serving"), lines
    assert published(project.config, "SELECT source_file, column_name FROM quarantine") == [(str(path), "nodes")]
