"""Typed config for ``configs/openbooks.yaml``.

Precedence: environment (``OPENBOOKS__SECTION__KEY=value``) over the YAML file
over the defaults here. Unknown keys and duplicate keys are refused; every
error names the file and the dotted key. Relative paths are resolved against
the directory of the config file, so a config works from any working
directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from openbooks.errors import ConfigError

DEFAULT_CONFIG = Path("configs/openbooks.yaml")
ENV_PREFIX = "OPENBOOKS__"

NODE_LOG_COLUMNS = ("interval_start", "interval_end", "model", "role", "gpu_type", "nodes")
TOKEN_COLUMNS = (
    "hour_start",
    "model",
    "channel",
    "cache_hit_tokens",
    "cache_miss_tokens",
    "output_tokens",
    "requests",
)
CANONICAL_COLUMNS = {"node_log": NODE_LOG_COLUMNS, "token_counts": TOKEN_COLUMNS}
# Request-level logs are read typed, straight from their files (no raw text copy).
REQUEST_COLUMNS = (
    "ts", "request_id", "model", "channel", "customer_id", "input_tokens", "cached_tokens", "output_tokens",
)
SOURCE_COLUMNS = {**CANONICAL_COLUMNS, "requests": REQUEST_COLUMNS}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"expected an IANA timezone such as 'Asia/Shanghai' or 'UTC', got {name!r}")
    return name


class BusinessDay(Strict):
    """When a business day starts: ``--date D`` covers D start → D+1 start."""

    timezone: str = "UTC"
    start: time = time(0, 0)

    _check_zone = field_validator("timezone")(lambda cls, v: _zone(v))


class Source(Strict):
    """One input: files matched by ``path`` (a glob; ``{date}`` is the day)."""

    path: str
    format: Literal["csv", "parquet"] | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    extra_columns: Literal["fail", "ignore"] = "fail"
    delimiter: str = ","
    encoding: Literal["utf-8"] = "utf-8"

    def file_format(self, path: Path) -> str:
        if self.format:
            return self.format
        return "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"


class Sources(Strict):
    node_log: Source
    token_counts: Source | None = None
    requests: Source | None = None  # request-level logs, aggregated to hourly token counts

    @model_validator(mode="after")
    def _known_columns(self) -> Sources:
        if self.token_counts is None and self.requests is None:
            raise ValueError("expected token_counts or requests (or both): where the day's tokens come from")
        for name, columns in SOURCE_COLUMNS.items():
            if getattr(self, name) is None:
                continue
            unknown = set(getattr(self, name).columns) - set(columns)
            if unknown:
                raise ValueError(
                    f"{name}.columns maps unknown column(s) {sorted(unknown)}; "
                    f"expected keys among {list(columns)}"
                )
        return self


class Gpu(Strict):
    gpus_per_node: PositiveInt
    rental_usd_per_gpu_hour: NonNegativeFloat


class ModelPrice(Strict):
    """List price per million tokens, in force from ``effective_from``."""

    effective_from: date = date(1970, 1, 1)
    effective_to: date | None = None
    input_cache_hit: NonNegativeFloat
    input_cache_miss: NonNegativeFloat
    output: NonNegativeFloat


class PriceCard(Strict):
    """A named set of list prices, e.g. DeepSeek's own or a competitor's."""

    models: dict[str, list[ModelPrice]]

    @field_validator("models", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: v if isinstance(v, list) else [v] for k, v in value.items()}
        return value


class PriceBook(Strict):
    timezone: str = "UTC"
    card: str
    reference_model: str
    billable_channels: list[Literal["web", "app", "api"]] = ["api"]
    cards: dict[str, PriceCard]

    _check_zone = field_validator("timezone")(lambda cls, v: _zone(v))

    @model_validator(mode="after")
    def _references_exist(self) -> PriceBook:
        if self.card not in self.cards:
            raise ValueError(f"card {self.card!r} is not among cards {list(self.cards)}")
        if self.reference_model not in self.cards[self.card].models:
            raise ValueError(
                f"reference_model {self.reference_model!r} has no price in card {self.card!r}"
            )
        return self


class Warehouse(Strict):
    path: str = "../data/warehouse.duckdb"
    lock_timeout_seconds: NonNegativeFloat = 30.0
    memory_limit: str | None = None
    temp_directory: str | None = None


class Reports(Strict):
    dir: str = "../reports"


class Validation(Strict):
    expectations_dir: str = "../expectations"


class Schedule(Strict):
    cron: str = "30 12 * * *"
    timezone: str = "UTC"

    _check_zone = field_validator("timezone")(lambda cls, v: _zone(v))


class Config(Strict):
    business_day: BusinessDay = BusinessDay()
    sources: Sources
    hardware: dict[str, Gpu]
    price_book: PriceBook
    warehouse: Warehouse = Warehouse()
    reports: Reports = Reports()
    validation: Validation = Validation()
    schedule: Schedule = Schedule()

    _file: Path = PrivateAttr(default=Path("openbooks.yaml"))
    _hash: str = PrivateAttr(default="")

    @property
    def file(self) -> Path:
        return self._file

    @property
    def hash(self) -> str:
        """Short content hash of the effective config, recorded with each run."""
        return self._hash

    def resolve(self, path: str) -> Path:
        """A config path made absolute against the config file's directory."""
        p = Path(os.path.expanduser(path))
        return p if p.is_absolute() else (self._file.parent / p).resolve()

    @property
    def warehouse_path(self) -> Path:
        return self.resolve(self.warehouse.path)

    @property
    def report_dir(self) -> Path:
        return self.resolve(self.reports.dir)

    @property
    def expectations_dir(self) -> Path:
        return self.resolve(self.validation.expectations_dir)

    def gpu(self, gpu_type: str) -> Gpu:
        return self.hardware[gpu_type]


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.safe_load`` that refuses a key given twice in one mapping."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file safely; duplicate keys and syntax errors name the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})")
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{where}: invalid YAML: {problem}")


def _apply_env(data: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    """Override nested keys from ``OPENBOOKS__SECTION__KEY`` variables."""
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [k for k in name[len(ENV_PREFIX):].split("__") if k]
        node = data
        for key in keys[:-1]:
            node = node.setdefault(_existing_key(node, key), {})
            if not isinstance(node, dict):
                raise ConfigError(f"environment {name}: {key!r} is not a section")
        node[_existing_key(node, keys[-1])] = yaml.safe_load(raw) if raw else raw
    return data


def _existing_key(mapping: dict[str, Any], key: str) -> str:
    """The key as the YAML spells it (env names are upper case), else lower case."""
    for existing in mapping:
        if str(existing).lower() == key.lower():
            return existing
    return key.lower()


def _describe(error: dict[str, Any], model: type[BaseModel]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key{_allowed_keys(model, error['loc'])}"
    if kind == "missing":
        return f"{key}: missing required key"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    got = error.get("input")
    if kind not in ("model_type",) and not isinstance(got, (dict, list)):
        message += f", got {got!r}"
    return f"{key}: {message}"


def _allowed_keys(model: type[BaseModel], loc: tuple) -> str:
    """The keys that would have been accepted where an unknown one stood."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return ""
            current = field.annotation
        else:
            args = getattr(current, "__args__", ())
            current = args[-1] if args else None
            if getattr(current, "__origin__", None) is list:
                current = current.__args__[0]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return f" (expected one of: {', '.join(current.model_fields)})"
    return ""


def load_config(path: str | Path = DEFAULT_CONFIG, environ: dict[str, str] | None = None) -> Config:
    """Load, override from the environment, validate. Raises ``ConfigError``."""
    path = Path(path).resolve()
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    data = _apply_env(data, dict(os.environ if environ is None else environ))
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(e, Config) for e in exc.errors()]
        raise ConfigError("\n".join(f"{path}: {p}" for p in problems))
    config._file = path
    canonical = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    config._hash = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    return config
