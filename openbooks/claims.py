"""Published claims to check against a computed day (``configs/claims.yaml``).

Each claim names a figure of the day (a ``daily_economics`` column, or
``scenario.<card>.<column>`` for a ``revenue_scenarios`` row), the value
stated, how far the computed value may be from it and still confirm it, and
where the claim was made. A claim is about a day (``day``) or a range
(``day`` to ``through``); other days report it as not applicable. Without
``day`` it is checked against every day. ``unit`` says how its values read
(``usd``, ``percent`` for fractions, ``gpu_hours``, ``number``); left out, it
follows the figure's name. The audit is in ``transforms/claims.py``.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import NonNegativeFloat, ValidationError, model_validator

from openbooks.config import Strict, _describe, read_yaml
from openbooks.errors import ConfigError


class Claim(Strict):
    claim: str  # the claim as stated, in words
    figure: str
    stated: float
    tolerance: NonNegativeFloat  # |computed - stated| <= tolerance confirms it
    source: str
    day: date | None = None  # the day the claim is about (first day of a range)
    through: date | None = None  # the last day of the range, when it is one
    unit: Literal["usd", "percent", "gpu_hours", "number"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _unit_from_figure(cls, data):
        if isinstance(data, dict) and data.get("unit") is None and isinstance(data.get("figure"), str):
            return {**data, "unit": unit_of(data["figure"])}
        return data

    @model_validator(mode="after")
    def _range(self) -> "Claim":
        if self.through is not None and (self.day is None or self.through < self.day):
            raise ValueError("through needs a day on or before it")
        return self


def unit_of(figure: str) -> str:
    """The unit a figure's name implies: ``*_usd`` dollars, ``*gpu_hours``
    GPU-hours, margins, shares and rates percent, otherwise a plain number."""
    name = figure.rsplit(".", 1)[-1]
    if name.endswith("_usd"):
        return "usd"
    if name.endswith("gpu_hours"):
        return "gpu_hours"
    if any(word in name for word in ("margin", "share", "rate", "ratio")):
        return "percent"
    return "number"


class ClaimsFile(Strict):
    claims: list[Claim]


def load_claims(path: Path) -> list[Claim]:
    """The claims in ``path``; a bad file is a ``ConfigError`` naming file and key.
    Parsed once while the file is unchanged (a range checks them every day)."""
    try:
        stat = path.stat()
    except OSError:
        return _parse_claims(path)  # read_yaml says what is wrong
    return list(_parsed_claims(path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _parsed_claims(path: Path, mtime_ns: int, size: int) -> tuple[Claim, ...]:
    return tuple(_parse_claims(path))


def _parse_claims(path: Path) -> list[Claim]:
    data = read_yaml(path)
    try:
        return ClaimsFile.model_validate(data).claims
    except ValidationError as exc:
        problems = [_describe(e, ClaimsFile) for e in exc.errors()]
        raise ConfigError("\n".join(f"{path}: {p}" for p in problems))
