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
    NonNegativeInt,
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


ANY_MODEL = "*"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _per_model(value: Any) -> Any:
    """A bare number stands for every model: ``2.0`` is ``{"*": 2.0}``."""
    return {ANY_MODEL: value} if isinstance(value, (int, float)) else value


class TimeOfDayRule(Strict):
    """A daily window in which prices change: a ``discount`` (fraction off
    list, per model) or a ``multiplier`` (of list, per model). The window is
    read in ``timezone`` (default: the price book's); ``end`` at or before
    ``start`` crosses midnight. ``days`` are the days a window starts on;
    effective dates are read the same way."""

    name: str
    start: time
    end: time
    timezone: str | None = None
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = list(WEEKDAYS)
    discount: dict[str, float] | None = None
    multiplier: dict[str, PositiveFloat] | None = None
    effective_from: date = date(1970, 1, 1)
    effective_to: date | None = None

    _check_zone = field_validator("timezone")(lambda cls, v: v if v is None else _zone(v))
    _bare_numbers = field_validator("discount", "multiplier", mode="before")(lambda cls, v: _per_model(v))

    @model_validator(mode="after")
    def _one_kind(self) -> TimeOfDayRule:
        if (self.discount is None) == (self.multiplier is None):
            raise ValueError("give exactly one of discount (fraction off list) or multiplier (of list)")
        bad = {m: d for m, d in (self.discount or {}).items() if not 0 <= d <= 1}
        if bad:
            raise ValueError(f"discount is a fraction off list between 0 and 1, got {bad}")
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        return self

    def factors(self) -> dict[str, float]:
        """Price factor in the window, per model: 1 - discount, or the multiplier."""
        if self.discount is not None:
            return {model: 1.0 - off for model, off in self.discount.items()}
        return dict(self.multiplier or {})


class PriceCard(Strict):
    """A named set of list prices, e.g. DeepSeek's own or a competitor's.
    The model ``"*"`` prices every model the card does not name; ``rules``
    change prices by time of day."""

    models: dict[str, list[ModelPrice]]
    rules: list[TimeOfDayRule] = []

    def prices(self, model: str) -> list[ModelPrice]:
        """The model's own price periods, else the card's ``"*"`` ones."""
        return self.models.get(model) or self.models.get(ANY_MODEL, [])

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
    scenarios: list[str] | None = None  # cards compared in revenue_scenarios (default: every card)

    _check_zone = field_validator("timezone")(lambda cls, v: _zone(v))

    @model_validator(mode="after")
    def _references_exist(self) -> PriceBook:
        if self.card not in self.cards:
            raise ValueError(f"card {self.card!r} is not among cards {list(self.cards)}")
        if not self.cards[self.card].prices(self.reference_model):
            raise ValueError(
                f"reference_model {self.reference_model!r} has no price in card {self.card!r}"
            )
        unknown = [c for c in self.scenarios or [] if c not in self.cards]
        if unknown:
            raise ValueError(f"scenarios {unknown} are not among cards {list(self.cards)}")
        return self

    @property
    def scenario_cards(self) -> list[str]:
        return list(self.cards) if self.scenarios is None else list(self.scenarios)


class OwnedHardware(Strict):
    """Owned nodes, amortized straight-line: capex / (years x 365) per node-day."""

    capex_usd_per_node: NonNegativeFloat
    amortization_years: PositiveFloat
    nodes: PositiveFloat | None = None  # default: the day's peak serving nodes


class Power(Strict):
    """Electricity: node-hours by role x kW per node x PUE x price per kWh."""

    usd_per_kwh: NonNegativeFloat
    pue: float = Field(default=1.0, ge=1.0)
    kw_per_node: dict[Literal["prefill", "decode", "idle"], NonNegativeFloat]


class CostLine(Strict):
    """A further cost: a fixed amount per day and/or an amount per serving node-hour."""

    usd_per_day: NonNegativeFloat = 0.0
    usd_per_node_hour: NonNegativeFloat = 0.0


BUILT_IN_COST_LINES = ("GPU rental", "hardware amortization", "training transfer", "power")


class Costs(Strict):
    """The fully loaded cost of serving, beside the GPU rental."""

    compute: Literal["rental", "owned"] = "rental"
    owned: dict[str, OwnedHardware] = Field(default_factory=dict)  # by GPU type
    power: Power | None = None
    lines: dict[str, CostLine] = Field(default_factory=dict)  # e.g. network, colocation, staff

    @model_validator(mode="after")
    def _owned_declared(self) -> Costs:
        if self.compute == "owned" and not self.owned:
            raise ValueError("compute is 'owned' but no owned hardware is declared under costs.owned")
        reserved = sorted(set(self.lines) & set(BUILT_IN_COST_LINES))
        if reserved:
            raise ValueError(f"lines {reserved} clash with the built-in lines {list(BUILT_IN_COST_LINES)}")
        return self


class Cache(Strict):
    """What a cache hit saves: a prefill node computes this many cache-miss
    input tokens per second."""

    prefill_tokens_per_node_second: PositiveFloat = 73_700.0
    gpu_type: str | None = None  # default: the only GPU type under hardware


class Claims(Strict):
    path: str | None = None  # a claims file (see configs/claims.yaml); none: no audit


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
    """When ``openbooks serve`` runs the day that just ended; a scheduled run
    retries transient errors (a file not yet arrived, a busy warehouse)."""

    cron: str = "30 12 * * *"
    timezone: str = "UTC"
    retries: NonNegativeInt = 3
    retry_delay_seconds: NonNegativeFloat = 600.0

    _check_zone = field_validator("timezone")(lambda cls, v: _zone(v))


class Notifications(Strict):
    """Where a failed run is reported besides its log: a webhook gets a JSON POST."""

    webhook_url: str | None = None
    timeout_seconds: PositiveFloat = 10.0


class Config(Strict):
    business_day: BusinessDay = BusinessDay()
    sources: Sources
    hardware: dict[str, Gpu]
    price_book: PriceBook
    warehouse: Warehouse = Warehouse()
    reports: Reports = Reports()
    validation: Validation = Validation()
    schedule: Schedule = Schedule()
    costs: Costs = Costs()
    cache: Cache = Cache()
    claims: Claims = Claims()
    notifications: Notifications = Notifications()

    _file: Path = PrivateAttr(default=Path("openbooks.yaml"))
    _hash: str = PrivateAttr(default="")

    @property
    def file(self) -> Path:
        return self._file

    @property
    def hash(self) -> str:
        """Short content hash of the effective config, recorded with each run."""
        return self._hash

    def canonical_json(self) -> str:
        """The effective config as canonical JSON: what ``hash`` is the hash of."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)

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

    @model_validator(mode="after")
    def _economics_refer_to_hardware(self) -> Config:
        unknown = sorted(set(self.costs.owned) - set(self.hardware))
        if unknown:
            raise ValueError(f"costs.owned names GPU type(s) {unknown} not under hardware {list(self.hardware)}")
        if self.costs.compute == "owned" and set(self.costs.owned) != set(self.hardware):
            raise ValueError(f"costs.owned must declare every GPU type under hardware {list(self.hardware)}")
        if self.cache.gpu_type is not None and self.cache.gpu_type not in self.hardware:
            raise ValueError(f"cache.gpu_type {self.cache.gpu_type!r} is not under hardware {list(self.hardware)}")
        if self.cache.gpu_type is None and len(self.hardware) != 1:
            raise ValueError("cache.gpu_type is required when hardware declares more than one GPU type")
        return self

    @property
    def cache_gpu(self) -> Gpu:
        return self.hardware[self.cache.gpu_type or next(iter(self.hardware))]

    @property
    def claims_path(self) -> Path | None:
        return None if self.claims.path is None else self.resolve(self.claims.path)


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
    config._hash = hashlib.sha256(config.canonical_json().encode()).hexdigest()[:12]
    return config
