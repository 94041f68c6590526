"""Published claims to check against a computed day (``configs/claims.yaml``).

Each claim names a figure of the day (a ``daily_economics`` column, or
``scenario.<card>.<column>`` for a ``revenue_scenarios`` row), the value
stated, how far the computed value may be from it and still confirm it, and
where the claim was made. The audit is in ``transforms/claims.py``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import NonNegativeFloat, ValidationError

from openbooks.config import Strict, _describe, read_yaml
from openbooks.errors import ConfigError


class Claim(Strict):
    claim: str  # the claim as stated, in words
    figure: str
    stated: float
    tolerance: NonNegativeFloat  # |computed - stated| <= tolerance confirms it
    source: str


class ClaimsFile(Strict):
    claims: list[Claim]


def load_claims(path: Path) -> list[Claim]:
    """The claims in ``path``; a bad file is a ``ConfigError`` naming file and key."""
    data = read_yaml(path)
    try:
        return ClaimsFile.model_validate(data).claims
    except ValidationError as exc:
        problems = [_describe(e, ClaimsFile) for e in exc.errors()]
        raise ConfigError("\n".join(f"{path}: {p}" for p in problems))
