"""Typed config for ``configs/openbooks.yaml``.

Precedence: environment (``OPENBOOKS__SECTION__KEY=value``) over the YAML file
over the defaults here. Unknown keys and duplicate keys are refused; every
error names the file and the dotted key. Relative paths are resolved against
the directory of the config file, so a config works from any working
directory.

The models are split by concern: ``sources`` (inputs and their kinds),
``economics`` (hardware, prices, costs), ``operations`` (business day,
warehouse, reports, suites, schedule, notifications), ``model`` (the whole
``Config``); ``loader`` reads, overrides and validates, and words the errors.
"""

from openbooks.config.common import Strict, zone_name
from openbooks.config.economics import (
    ANY_MODEL, BUILT_IN_COST_LINES, WEEKDAYS, Cache, Claims, CostLine, Costs, Gpu, ModelPrice, OwnedHardware, Power,
    PriceBook, PriceCard, TimeOfDayRule,
)
from openbooks.config.loader import DEFAULT_CONFIG, ENV_PREFIX, describe_error, load_config, read_yaml
from openbooks.config.model import Config
from openbooks.config.operations import (
    PACKAGED_EXPECTATIONS, Anomalies, BusinessDay, Notifications, Reports, Schedule, Validation, Warehouse,
)
from openbooks.config.whatif import Budget, Horizon, Profile, ScenarioSpec, WhatIf
from openbooks.config.sources import (
    FEEDS, ColumnSpec, Source, Sources,
)

_describe = describe_error  # the name openbooks.claims imports

__all__ = [
    "ANY_MODEL", "BUILT_IN_COST_LINES", "DEFAULT_CONFIG", "ENV_PREFIX", "FEEDS",
    "PACKAGED_EXPECTATIONS", "WEEKDAYS", "BusinessDay", "Cache",
    "Anomalies", "Claims", "ColumnSpec", "Config", "CostLine", "Costs", "Gpu", "ModelPrice", "Notifications", "OwnedHardware",
    "Power", "PriceBook", "PriceCard", "Reports", "Schedule", "Source", "Sources", "Strict", "TimeOfDayRule",
    "Validation", "Warehouse", "describe_error", "Budget", "Horizon", "Profile", "ScenarioSpec", "WhatIf", "load_config", "read_yaml", "zone_name",
]
