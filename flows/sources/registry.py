"""Every source kind: each module of ``flows/sources/`` that defines ``KIND``.

``kinds()`` imports the package's modules once and keys their ``KIND`` by
name; ``kind_for(source)`` is the kind a configured source names (its
``kind:``, else openbooks' own schema for its slot: ``node_log``,
``token_counts`` or ``requests``). A kind module is found by being there:
nothing else to register.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from openbooks.flows.sources.base import FEEDS, SourceKind

DEFAULT_KINDS = {"node_log": "node_log", "token_counts": "token_counts", "requests": "requests"}


@cache
def kinds() -> dict[str, SourceKind]:
    """name → kind, for every module of this package defining ``KIND``."""
    import openbooks.flows.sources as package

    found: dict[str, SourceKind] = {}
    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        try:
            loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        except ImportError as exc:
            raise RuntimeError(f"source kind module flows/sources/{module.name}.py cannot be imported: {exc}") from exc
        kind = getattr(loaded, "KIND", None)
        if not isinstance(kind, SourceKind):
            continue
        if kind.name in found:
            raise RuntimeError(f"source kind {kind.name!r} is defined twice ({module.name})")
        if kind.feeds not in FEEDS:
            raise RuntimeError(f"source kind {kind.name!r} feeds {kind.feeds!r}; expected one of {list(FEEDS)}")
        found[kind.name] = kind
    return found


def kind_named(name: str) -> SourceKind:
    """The kind called ``name``; ``KeyError`` naming the known ones otherwise."""
    known = kinds()
    if name not in known:
        raise KeyError(f"unknown source kind {name!r}; expected one of {sorted(known)}")
    return known[name]


def kind_for(source) -> SourceKind:
    """The kind of a configured source (an ``openbooks.config.Source``)."""
    return kind_named(source.kind_name)
