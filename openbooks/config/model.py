"""The whole config: every section, cross-checked, and the paths it names resolved."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import Field, PrivateAttr, model_validator

from openbooks.config.common import Strict
from openbooks.config.economics import Cache, Claims, Costs, Gpu, PriceBook
from openbooks.config.operations import (
    PACKAGED_EXPECTATIONS, Anomalies, BusinessDay, Compute, Notifications, Reports, Schedule, Validation,
    Warehouse,
)
from openbooks.config.plausibility import Plausibility
from openbooks.config.sources import Sources
from openbooks.config.whatif import Budget, WhatIf

# Sections added after days were published: left out of the hash while at
# their defaults, so a config that does not use them keeps its hash.
SECTIONS_HASHED_WHEN_SET = ("anomalies", "models", "plausibility", "whatif", "budgets")


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
    anomalies: Anomalies = Anomalies()
    # Model names as the sources write them → the one name the books use, e.g.
    # {"Qwen/Qwen2.5-72B-Instruct": qwen-72b}: applied to every source's rows.
    models: dict[str, str] = {}
    plausibility: Plausibility = Plausibility()
    whatif: WhatIf = WhatIf()
    budgets: list[Budget] = []
    compute: Compute = Field(Compute(), exclude=True)  # where, not what: out of the hash

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
        data = self.model_dump(mode="json")
        for section in SECTIONS_HASHED_WHEN_SET:
            if getattr(self, section) == type(getattr(self, section))():
                data.pop(section)
        return json.dumps(data, sort_keys=True)

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
        """``validation.expectations_dir``, else the suites shipped with openbooks."""
        if self.validation.expectations_dir is None:
            return PACKAGED_EXPECTATIONS
        return self.resolve(self.validation.expectations_dir)

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
        unknown = sorted(set(self.plausibility.gpu_types) - set(self.hardware))
        if unknown:
            raise ValueError(f"plausibility.gpu_types names GPU type(s) {unknown} not under hardware {list(self.hardware)}")
        chained = sorted(set(self.models) & set(self.models.values()))
        if chained:
            raise ValueError(f"models maps {chained[0]!r} both from and to a name (expected raw name → the books' name)")
        unknown_cards = {n: s.card for n, s in self.whatif.scenarios.items()
                         if s.card is not None and s.card not in self.price_book.cards}
        if unknown_cards:
            raise ValueError(f"whatif.scenarios name card(s) {unknown_cards} not among price_book.cards "
                             f"{list(self.price_book.cards)}")
        return self

    def model_name(self, name: str) -> str:
        """A model's name in the books (``models:`` alias map, else as written)."""
        return self.models.get(name, name)

    @property
    def claims_path(self) -> Path | None:
        return None if self.claims.path is None else self.resolve(self.claims.path)


