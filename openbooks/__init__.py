"""openbooks: daily unit economics for AI model serving."""

import os

# Telemetry off before Prefect or GX is imported anywhere.
for _name, _value in {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
}.items():
    os.environ.setdefault(_name, _value)

__version__ = "0.1.0"
