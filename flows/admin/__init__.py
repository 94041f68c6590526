"""The operator's back-ends, one module each: the run history (``status``),
a report rebuilt from the warehouse (``report``), a check of the project that
runs nothing (``check``), the table catalogue (``tables``) and read-only SQL
(``query``, with ``query_guard`` keeping it read-only)."""
