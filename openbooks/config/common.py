"""What every config model shares: strict (unknown keys refused, frozen), and timezone names checked."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    # A number that overflows to infinity (``1e400``) or is NaN is refused where it is written.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def zone_name(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"expected an IANA timezone such as 'Asia/Shanghai' or 'UTC', got {name!r}")
    return name


