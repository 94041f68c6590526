"""A page's reads, all in one read-only connection: one consistent state of the warehouse.

The connection is the one ``openbooks query`` uses (``locked_session``):
read-only, no file read or written but the warehouse, its configuration
locked. A day is published in one transaction, so a page read in one
connection shows a day whole or not at all.

DuckDB lets a writing process and reading processes take turns on the file,
not share it. So the UI opens the warehouse only for the reads at hand, one
page's reads at a time, and keeps each page's tables until the warehouse file
(or its write-ahead log) changes: many readers cost the runs no more turns
than one. While a run holds the file past the lock timeout, the last tables
read for that page are served, marked as such.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from openbooks.config import Config
from openbooks.errors import WarehouseBusy
from openbooks.flows.admin.queries import locked_session

Reader = Callable[[duckdb.DuckDBPyConnection], dict[str, pl.DataFrame]]
KEPT_PAGES = 256


@dataclass(frozen=True)
class Tables:
    tables: dict[str, pl.DataFrame]
    read_at: float  # time.time() of the read
    stale: bool = False  # the warehouse was busy: these are the last tables read


def warehouse_state(path: Path) -> tuple:
    """What changes when a run writes: the file's and its WAL's size and modification time."""
    state = []
    for name in (path, path.with_name(path.name + ".wal")):
        try:
            stat = name.stat()
            state.append((stat.st_mtime_ns, stat.st_size))
        except FileNotFoundError:
            state.append(None)
    return tuple(state)


class Snapshots:
    """Each page's tables, read once per state of the warehouse."""

    def __init__(self, config: Config):
        self.config = config
        self.lock = threading.Lock()  # one read of the warehouse at a time
        self.kept: OrderedDict[str, tuple[tuple, Tables]] = OrderedDict()
        self.reads = 0  # how many times the warehouse was opened

    def tables(self, key: str, reader: Reader) -> Tables:
        with self.lock:
            state = warehouse_state(self.config.warehouse_path)
            kept = self.kept.get(key)
            if kept is not None and kept[0] == state:
                self.kept.move_to_end(key)
                return kept[1]
            try:
                with locked_session(self.config) as con:
                    tables = Tables(reader(con), time.time())
                self.reads += 1
            except WarehouseBusy:
                if kept is None:
                    raise
                return Tables(kept[1].tables, kept[1].read_at, stale=True)
            self._keep(key, state, tables)
            return tables

    def _keep(self, key: str, state: tuple, tables: Tables) -> None:
        self.kept[key] = (state, tables)
        self.kept.move_to_end(key)
        while len(self.kept) > KEPT_PAGES:
            self.kept.popitem(last=False)
