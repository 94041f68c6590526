"""The filters a page takes from its URL, so a filtered view can be shared as a link."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from urllib.parse import urlencode

from openbooks.errors import OpenbooksError

TEXT_FILTERS = ("model", "channel", "customer", "gpu", "role")
ROLES = ("prefill", "decode", "idle", "training", "serving")


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None
    model: str | None = None
    channel: str | None = None
    customer: str | None = None
    gpu: str | None = None
    role: str | None = None

    def query(self, **changes) -> str:
        """The filters (with ``changes``) as a query string, ``?...`` or empty."""
        given = {f.name: getattr(replace(self, **changes), f.name) for f in fields(self)}
        pairs = {name: str(value) for name, value in given.items() if value not in (None, "")}
        return "?" + urlencode(pairs) if pairs else ""

    def described(self) -> str:
        shown = [f"{f.name} {getattr(self, f.name)}" for f in fields(self) if getattr(self, f.name) not in (None, "")]
        return ", ".join(shown) or "none"


def parse_filters(params) -> Filters:
    """Filters from a request's query parameters; a bad date or role is an error naming it."""
    values = {name: (params.get(name) or "").strip() or None for name in TEXT_FILTERS}
    if values["role"] is not None and values["role"] not in ROLES:
        raise OpenbooksError(f"role {values['role']!r}: expected one of {', '.join(ROLES)}")
    start, end = (_day(params.get(name), name) for name in ("start", "end"))
    if start and end and start > end:
        raise OpenbooksError(f"start {start} is after end {end}")
    return Filters(start=start, end=end, **values)


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise OpenbooksError(f"{name} {value!r}: expected a date as YYYY-MM-DD")
