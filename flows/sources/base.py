"""What a source kind is: one kind of input turned into canonical frames.

A source in the config (``sources.<name>``) names its kind (``kind:``; the
default is openbooks' own schema for that slot) and gives the kind's own
settings under ``options:``. Each kind is one module in ``flows/sources/``
that defines ``KIND = SourceKind(...)``; ``flows.sources.registry`` finds it.
A kind declares what it feeds (one canonical frame, see ``FEEDS``), the
pydantic model of its options, its GX suite, and ``read``: the day's inputs
in, a ``SourceResult`` out. Everything a kind needs in common (listing a
day's files by glob and ``{date}``, content hashes, ``raw.files``, column
mapping, one reader per file format, quarantine) lives beside it in this
package; a kind module holds only what is particular to its format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from openbooks.config.sources import FEEDS, ONE_OF  # noqa: F401 - the feeds, declared once with the config


class NoOptions(BaseModel):
    """A kind with no settings of its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class DayRequest:
    """What a kind is asked for: one business day of one configured source."""

    config: Any  # openbooks.config.Config
    name: str  # the config key, e.g. "node_log"
    source: Any  # that key's settings (openbooks.config.Source)
    options: BaseModel  # the kind's own settings, validated by ``SourceKind.options``
    day: date
    start: datetime  # the business day's bounds, UTC
    end: datetime
    run_id: str


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: printed as one line, kept in quarantine."""

    source: str
    expected: str
    file: str | None = None
    line: int | None = None
    column: str | None = None
    value: str | None = None
    record: str | None = None  # the offending record as read, for quarantine
    # Extensions: ``reason`` is said instead of "expected <expected>" when the
    # problem is not a value (e.g. "too many columns (expected 7, found 8)");
    # ``content_hash`` is the file's, for quarantine; ``quarantined`` is True
    # when the kind has written its quarantine row itself (the flow then does
    # not); ``text`` is the whole line when the kind composed it.
    reason: str | None = None
    content_hash: str | None = None
    quarantined: bool = False
    text: str | None = None

    @property
    def why(self) -> str:
        return self.reason or f"expected {self.expected}"

    def message(self) -> str:
        from openbooks.flows.sources.files import display_path

        if self.text is not None:
            return self.text
        where = display_path(self.file) if self.file else f"sources.{self.source}"
        if self.line is not None:
            where += f" line {self.line}"
        if self.column:
            where += f" column {self.column}"
        got = "" if self.value is None else f", got {self.value!r}"
        return f"{where}: {self.why}{got}"


@dataclass
class SourceResult:
    """A day of one source: its canonical frame, the files it read, the rows
    it left out on purpose (reason → count, e.g. ``{"PENDING job": 3}``), and
    its problems (any problem fails the day; nothing is published)."""

    frame: pl.DataFrame | None
    files: list[Path] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # kind-specific results (e.g. request usage, invoices)
    # Extension: what the kind's suite runs on when not ``frame`` (the request
    # scan's one-row count of failing rows per check, ``frame`` being None).
    checked: pl.DataFrame | None = None


@dataclass(frozen=True)
class SourceKind:
    name: str  # the value of ``kind:`` in the config
    feeds: str  # a key of FEEDS
    read: Callable[[DayRequest], SourceResult]
    options: type[BaseModel] = NoOptions
    suite: str | None = None  # GX suite (file stem under expectations/) run on the canonical frame
    description: str = ""
    # Extension: whether the kind reads files matched by ``sources.<name>.path``
    # (then ``path`` is required in the config); False for a server or an API.
    files: bool = True
    # Extension: a quick check that the kind's server answers (raises a
    # transient error when not); a scheduled run retries it before starting.
    ready: Callable[[DayRequest], None] | None = None
    # Extension: many days of the source at once (a backfill's range), each
    # day's answer what ``read`` gives for it (its result, or the error it
    # raises); without it a range reads its days one by one.
    read_days: Callable[[list[DayRequest]], dict[date, SourceResult | Exception]] | None = None
