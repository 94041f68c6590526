"""Adding a source: write one module ``flows/sources/<kind>.py`` that defines
``KIND = SourceKind(name, feeds, read, options=..., suite=...)`` (see ``base.py``);
``read(DayRequest) -> SourceResult`` returns the canonical frame of its feed
(``FEEDS``), the files read, rows skipped per reason and problems, using the
helpers here (``files.day_files``, ``readers.reader_for``, ``mapping``,
``raw_source.read_raw_source``, ``requests.aggregate_request_frame``). Add its GX suite
``expectations/<suite>.json`` and its tests; users select it with ``sources.<name>.kind:``.
"""
