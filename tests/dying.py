"""Imported by a worker process that is to die as it starts, as a killed one would."""

import os

os._exit(1)
