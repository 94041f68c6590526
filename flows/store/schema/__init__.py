"""The warehouse tables: names, grain, columns, types and what each column means.

This is the interface users query, and the one place a table is defined: the
DDL, the staging copies and ``openbooks tables`` all come from here. New
columns are added to existing warehouses with ``ADD COLUMN IF NOT EXISTS``.
"""

from __future__ import annotations

from openbooks.flows.store.schema.bookkeeping import CONFIGS, QUARANTINE, RAW_FILES, RUN_LOG
from openbooks.flows.store.schema.in_depth import (
    ANOMALIES, API_SPEND, CAPACITY_BY_ROLE, CLAIMS_AUDIT, COST_BREAKDOWN, GPU_COST_CHECK, REVENUE_SCENARIOS,
    REVENUE_WATERFALL,
)
from openbooks.flows.store.schema.statements import (
    CUSTOMER_ECONOMICS, DAILY_ECONOMICS, HOURLY_ECONOMICS, MODEL_ECONOMICS, NODE_STEPS,
)
from openbooks.flows.store.schema.table import Column, Table
from openbooks.flows.store.schema.whatif import SCENARIO_ECONOMICS

PUBLISHED = (DAILY_ECONOMICS, HOURLY_ECONOMICS, NODE_STEPS,
             REVENUE_WATERFALL, REVENUE_SCENARIOS, COST_BREAKDOWN, CLAIMS_AUDIT,
             CUSTOMER_ECONOMICS, MODEL_ECONOMICS, GPU_COST_CHECK, CAPACITY_BY_ROLE, ANOMALIES, API_SPEND,
             SCENARIO_ECONOMICS)
ALL_TABLES = (*PUBLISHED, RUN_LOG, QUARANTINE, RAW_FILES, CONFIGS)

