"""Adding a source: one module ``flows/sources/<kind>.py`` defining
``KIND = SourceKind(name=..., feeds=..., read=..., options=..., suite=...)`` (``base.py``).
``read(DayRequest)`` returns a ``SourceResult``: the canonical frame of its feed, files, skipped rows, problems.
Build it from the helpers beside it: ``files``, ``readers``, ``mapping``, ``raw_source``, ``requests``.
Add its GX suite ``expectations/<suite>.json`` and its tests; users pick it with ``sources.<name>.kind``.
"""
