"""The warehouse: its connection and writer's turn (``warehouse``), its
tables (``schema``), the run log (``runlog``, ``failed_runs``) and the
one-transaction swap of a day's partition (``publish``)."""
