"""A day's stages, in the order the engine runs them: read the sources
(``inputs``), build the day's frames (``frames``, ``compute``), check and
stage the results (``day_run``, ``day_books``, ``coverage``, ``skipped``)."""
