"""The ``openbooks`` command line: one module per command group, one error boundary.

- ``program``: the Typer app, global options (--debug, --verbose), shared options;
- ``days``: ``run`` and ``backfill`` (``backfill_view``: its progress and summary);
- ``query``: ``query`` (``query_display``: how results are shown);
- ``operations``: ``status``, ``report``, ``check``, ``tables``;
- ``service``: ``serve`` and ``deploy``;
- ``sample_data``: ``sample`` and ``gen``;
- ``starter``: ``init``, a starter config for a source kind;
- ``ui``: ``ui``, the web dashboard;
- ``whatif``: ``whatif`` and ``forecast``;
- ``boundary``: ``main``, where every error becomes one line and exit 1;
- ``terminal``: the consoles, printing text and never markup.

Short flags mean one thing everywhere: -c --config, -d --date, -f --file
(SQL to read), -F --format, -o --output/--out (where to write), -n --limit,
-s --saved, -r --requests, -k --files, -v --verbose.
"""

from openbooks.cli import days, operations, query, sample_data, service, starter, ui, whatif  # noqa: F401 - registers the commands
from openbooks.cli.boundary import main
from openbooks.cli.days import backfill, run
from openbooks.cli.program import app
from openbooks.cli.sample_data import gen, sample

__all__ = ["app", "backfill", "gen", "main", "run", "sample"]
