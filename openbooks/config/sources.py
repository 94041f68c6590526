"""Where the day's inputs come from: ``sources.<name>``.

Each source names its kind (``kind:``, default: openbooks' own schema for
its slot, ``node_log``, ``token_counts`` or ``requests``) and gives the
kind's own settings under ``options:``, validated by the kind's pydantic
model when the config is loaded (``openbooks.config.loader``); a kind that
reads files takes them from ``path`` (a glob; ``{date}`` is the day).
Beside the three slots, further keys are allowed (e.g. a second cluster's
node log): each names its ``kind:``, and its frame joins those of the feed
its kind feeds. ``kind`` and ``options`` are left out of the config's
canonical JSON while unset, so the hash of a config that does not use them
is what it was before they existed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_serializer, model_validator

from openbooks.config.common import Strict

# The canonical frames a source can feed, and their columns: declared here
# once, for the config's column mappings and for the source kinds
# (``flows/sources/base.py``). Every row a kind returns also carries
# ``source_file`` (str) and ``line`` (int): where it came from. Timestamps
# are UTC-aware ``Datetime("us", "UTC")``. Request-level logs are read typed,
# straight from their files (no raw text copy).
FEEDS: dict[str, tuple[str, ...]] = {
    "node_log": ("interval_start", "interval_end", "model", "role", "gpu_type", "nodes", "gpus"),
    "token_counts": (
        "hour_start", "model", "channel", "cache_hit_tokens", "cache_miss_tokens", "output_tokens", "requests",
    ),
    "requests": (
        "ts", "request_id", "model", "channel", "customer_id", "input_tokens", "cached_tokens", "output_tokens",
    ),
}

# Columns a file needs only one of (the others, absent and not mapped, are null):
# a node log gives ``nodes``, ``gpus`` (GPUs held, e.g. 2 of 8) or both.
ONE_OF: dict[str, tuple[tuple[str, ...], ...]] = {"node_log": (("nodes", "gpus"),)}



SLOTS = ("node_log", "token_counts", "requests")
DEFAULT_MAX_SKIPPED_SHARE = 0.05  # of a source's GPU-hours of the day


class ColumnSpec(Strict):
    """A canonical column that is not one file column: a constant
    (``{const: api}``), a field inside a JSON column (``{column: metadata,
    field: user.id}``) or a sum of columns (``{sum: [a, b]}``)."""

    const: str | int | float | None = None
    column: str | None = None
    field: str | None = None
    sum: list[str] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> ColumnSpec:
        forms = [self.const is not None, self.field is not None, self.sum is not None]
        if sum(forms) != 1:
            raise ValueError("expected one of {const: value}, {column: c, field: a.b} or {sum: [c1, c2]}")
        if (self.field is None) != (self.column is None):
            raise ValueError("a field inside a JSON column needs both column and field")
        if self.sum is not None and len(self.sum) < 2:
            raise ValueError("a sum needs at least two columns")
        return self


class Source(Strict):
    """One input: its kind, its files (``path``: a glob; ``{date}`` is the
    day), how its columns map onto the canonical ones, and the kind's options."""

    kind: str | None = None
    path: str | None = None
    format: Literal["csv", "parquet", "json"] | None = None
    columns: dict[str, str | ColumnSpec] = Field(default_factory=dict)
    extra_columns: Literal["fail", "ignore"] = "fail"
    delimiter: str = ","
    encoding: Literal["utf-8"] = "utf-8"
    options: dict[str, Any] = Field(default_factory=dict)
    # The most of the day's GPU-hours the source may leave out on purpose
    # (e.g. jobs matching no rule) before the day fails; None: 0.05.
    max_skipped_share: float | None = Field(default=None, ge=0, le=1)
    # The largest file accepted (bytes); unset: flows.sources.files.DEFAULT_MAX_FILE_BYTES.
    max_file_bytes: int | None = Field(None, gt=0)
    # The deadline of a day's read (seconds); unset: flows.sources.limits.DEFAULT_TIMEOUT_SECONDS.
    timeout_seconds: float | None = Field(None, gt=0)

    _slot: str | None = PrivateAttr(default=None)
    _options: BaseModel | None = PrivateAttr(default=None)

    @field_validator("path")
    @classmethod
    def _no_parent_after_glob(cls, path: str | None) -> str | None:
        """``..`` after a glob character would lead out of the declared directory."""
        if path is None:
            return path
        parts = path.replace("\\", "/").split("/")
        globbed = next((i for i, part in enumerate(parts) if any(c in part for c in "*?[")), len(parts))
        if ".." in parts[globbed:]:
            raise ValueError(f"expected no '..' after the first glob character (it leaves the source's directory), got {path!r}")
        return path

    @property
    def kind_name(self) -> str | None:
        """``kind:``, else openbooks' own schema for the slot the source is in."""
        return self.kind or self._slot

    @property
    def validated_options(self) -> BaseModel | None:
        """``options:`` as the kind's model (set when the config is loaded)."""
        return self._options

    @model_serializer(mode="wrap")
    def _unset_left_out(self, handler):
        data = handler(self)
        for key in ("kind", "options", "max_file_bytes", "timeout_seconds"):
            if not data.get(key):
                data.pop(key, None)
        if data.get("max_skipped_share", 0) is None:
            data.pop("max_skipped_share")
        return data

    @property
    def skipped_share_limit(self) -> float:
        return DEFAULT_MAX_SKIPPED_SHARE if self.max_skipped_share is None else self.max_skipped_share


class Sources(Strict):
    model_config = {**Strict.model_config, "extra": "allow"}

    node_log: Source
    token_counts: Source | None = None
    requests: Source | None = None  # request-level logs, aggregated to hourly token counts
    __pydantic_extra__: dict[str, Source] = Field(init=False)

    def named(self) -> dict[str, Source]:
        """Every configured source by its key, the three slots first."""
        slots = {name: getattr(self, name) for name in SLOTS if getattr(self, name) is not None}
        return {**slots, **(self.__pydantic_extra__ or {})}

    def get(self, name: str) -> Source | None:
        return self.named().get(name)

    @model_validator(mode="after")
    def _known_columns(self) -> Sources:
        extra = self.__pydantic_extra__ or {}
        if self.token_counts is None and self.requests is None and not extra:
            raise ValueError("expected token_counts or requests (or both): where the day's tokens come from")
        for name in SLOTS:
            source = getattr(self, name)
            if source is None:
                continue
            source._slot = name
            if source.kind is None:
                _check_columns(name, source, FEEDS[name])
        missing = [name for name, source in extra.items() if source.kind is None]
        if missing:
            raise ValueError(f"{missing[0]}.kind: missing required key (a source beside {list(SLOTS)} names its kind)")
        return self


def _check_columns(name: str, source: Source, columns: tuple[str, ...]) -> None:
    unknown = set(source.columns) - set(columns)
    if unknown:
        raise ValueError(f"{name}.columns maps unknown column(s) {sorted(unknown)}; expected keys among {list(columns)}")


def check_columns(name: str, source: Source, columns: tuple[str, ...]) -> None:
    """``sources.<name>.columns`` maps only ``columns`` (``ValueError`` otherwise)."""
    _check_columns(name, source, columns)
