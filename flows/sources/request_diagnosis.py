"""Naming what could not be read when a scan over many request files fails.

DuckDB's error for a day's scan may name no file ("Corrupted file?"). Only
then, on the failure path, each Parquet file's row groups are read one by
one (with pyarrow) to name the first unreadable one; otherwise the file the
error mentions is named."""

from __future__ import annotations

from pathlib import Path

from openbooks.flows.sources.files import display_path


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def bad_row_group(path: Path) -> tuple[int | None, str | None]:
    """The first row group of a Parquet file that cannot be read, and why
    (``(None, reason)`` when the file itself does not open, ``(None, None)`` when all read)."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return None, _first_line(exc)
    with parquet:
        for index in range(parquet.num_row_groups):
            try:
                parquet.read_row_group(index)
            except Exception as exc:  # noqa: BLE001
                return index, _first_line(exc)
    return None, None


def unreadable_file(con, paths: list[Path], name: str, exc: BaseException) -> str:
    """One line naming the file (and row group) a failed scan could not read."""
    reason = _first_line(exc)
    for path in paths:
        if path.suffix.lower() not in (".parquet", ".pq"):
            continue
        group, why = bad_row_group(path)
        if group is not None:
            return (f"{display_path(path)} row group {group}: not a readable Parquet row group "
                    f"({why}; DuckDB: {reason})")
        if why is not None:
            return f"{display_path(path)}: not a readable Parquet file ({why}; DuckDB: {reason})"
    named = [p for p in paths if str(p) in str(exc)]
    if named:
        return f"{display_path(named[0])}: cannot be read ({reason})"
    return f"sources.{name}: the day's files cannot be read: {reason}"
