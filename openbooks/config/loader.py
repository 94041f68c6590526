"""Reading ``configs/openbooks.yaml``: YAML (duplicate keys refused), the
environment's overrides, validation, and every error as one line naming the
file and the dotted key."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from openbooks.config.model import Config
from openbooks.errors import ConfigError
from openbooks.redact import redact

DEFAULT_CONFIG = Path("configs/openbooks.yaml")
ENV_PREFIX = "OPENBOOKS__"
MAX_CONFIG_BYTES = 1 << 20  # a config file is a few kilobytes: more is not a config (``-c /dev/zero``)


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
        if not path.is_file():
            raise ConfigError(f"{path}: not a regular file (expected a YAML config file)") if path.exists() else \
                FileNotFoundError(path)
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES:,} bytes (expected a YAML config file)")
        text = data.decode("utf-8")
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
        node[_existing_key(node, keys[-1])] = _env_value(name, keys, raw)
    return data


def _env_value(name: str, keys: list[str], raw: str) -> Any:
    """An override's value, parsed as YAML; bad YAML names the variable and the key."""
    if not raw:
        return raw
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        dotted = ".".join(k.lower() for k in keys)
        raise ConfigError(f"environment {name} (overrides {dotted}): invalid YAML: {problem} "
                          "(expected a YAML value, e.g. a number, a word or [a, b])") from None


def _existing_key(mapping: dict[str, Any], key: str) -> str:
    """The key as the YAML spells it (env names are upper case), else lower case."""
    for existing in mapping:
        if str(existing).lower() == key.lower():
            return existing
    return key.lower()


def describe_error(error: dict[str, Any], model: type[BaseModel], prefix: str = "") -> str:
    """One validation error as ``<dotted key>: <message>``."""
    key = prefix + ".".join(str(part) for part in error["loc"]) or "(top level)"
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
    return redact(f"{key}: {message}")


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
    if isinstance(current, type) and issubclass(current, BaseModel) and current.model_fields:
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
        problems = [describe_error(e, Config) for e in exc.errors()]
        raise ConfigError("\n".join(f"{path}: {p}" for p in problems))
    _check_kinds(config, path)
    config._file = path
    config._hash = hashlib.sha256(config.canonical_json().encode()).hexdigest()[:12]
    return config


def _check_kinds(config: Config, path: Path) -> None:
    """Each source's kind exists, its ``options`` validate against the kind's
    model, its columns are the kind's feed's, and a kind reading files has a ``path``."""
    from openbooks.flows.sources.base import FEEDS
    from openbooks.flows.sources.registry import kind_named
    from openbooks.config.sources import check_columns

    problems = []
    for name, source in config.sources.named().items():
        try:
            kind = kind_named(source.kind_name)
        except KeyError as exc:
            problems.append(f"sources.{name}.kind: {exc.args[0]}")
            continue
        try:
            source._options = kind.options.model_validate(source.options)
        except ValidationError as exc:
            problems += [describe_error(e, kind.options, f"sources.{name}.options.") for e in exc.errors()]
        if kind.files and source.path is None:
            problems.append(f"sources.{name}.path: missing required key (kind {kind.name!r} reads files)")
        if source.kind is not None:
            try:
                check_columns(name, source, FEEDS[kind.feeds])
            except ValueError as exc:
                problems.append(f"sources: {exc}")
    if problems:
        raise ConfigError("\n".join(f"{path}: {p}" for p in problems))
