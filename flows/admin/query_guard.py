"""What keeps ``openbooks query`` read-only, and off the rest of the machine.

A query's connection is read-only, and before the query runs its DuckDB
configuration is narrowed and then locked for the rest of the session:

- ``enable_external_access = false``: no file is read or written (``COPY ...
  TO``, ``EXPORT DATABASE``, ``read_text``, ``glob``, ``ATTACH``), no
  extension installed or loaded;
- extension autoloading, autoinstalling, community and unsigned extensions off;
- ``lock_configuration = true``: no ``SET``, ``RESET`` or ``PRAGMA`` changes
  any of that (nor ``profiling_output`` or ``log_query_path``).

``--allow-file-reads DIR`` is the one way to let a query read files: DIR goes
into DuckDB's ``allowed_directories`` before external access is turned off
(symlinks that lead out of DIR stay refused by DuckDB). Because an allowed
directory could be written by ``COPY``, only reading statements run at all
(see ``READING_STATEMENTS``).

The settings belong to the DuckDB database instance, which the query's
process opens alone (read-only) and closes after the query.

``-o/--output`` refuses every path the project itself reads or writes (see
``protected_paths``), compared after resolving symlinks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from openbooks.config import Config
from openbooks.errors import OpenbooksError

EXTENSIONS_OFF = (
    "autoload_known_extensions", "autoinstall_known_extensions", "allow_community_extensions",
    "allow_unsigned_extensions",
)
READING_STATEMENTS = frozenset({
    duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN, duckdb.StatementType.PRAGMA,
    duckdb.StatementType.CALL,
})


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def lock_down(con: duckdb.DuckDBPyConnection, readable: list[Path] = ()) -> None:
    """Turn external access off (but for ``readable`` directories) and lock the configuration."""
    for setting in EXTENSIONS_OFF:
        con.execute(f"SET {setting} = false")
    if readable:
        listed = ", ".join(sql_text(str(d.resolve()).rstrip("/") + "/") for d in readable)
        con.execute(f"SET allowed_directories = [{listed}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def reading_statements(sql: str) -> list[duckdb.Statement]:
    """The statements of ``sql``; refuses any that is not a reading one."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise OpenbooksError(query_failure(exc))
    for statement in statements:
        if statement.type not in READING_STATEMENTS:
            kind = "INSTALL/LOAD" if statement.type == duckdb.StatementType.LOAD else statement.type.name
            raise OpenbooksError(
                f"query refused: {kind} statements are not allowed; openbooks query only reads the warehouse "
                f"(SELECT, EXPLAIN, PRAGMA, CALL), got: {statement.query.strip()[:80]}"
            )
    if not statements:
        raise OpenbooksError("no SQL: the query is empty")
    return statements


def query_failure(exc: duckdb.Error) -> str:
    """DuckDB's whole message (its ``LINE 1:`` caret and hints), blank lines dropped."""
    lines = [line for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    if isinstance(exc, duckdb.PermissionException):
        lines[0] += " (openbooks query reads only the warehouse; --allow-file-reads DIR lets it read files under DIR)"
    return "query failed: " + "\n".join(lines)


@dataclass(frozen=True)
class Protected:
    path: Path
    what: str
    tree: bool = False  # a directory: nothing inside it either
    prefix: bool = False  # the file and its siblings named ``<file>.*`` (the WAL, locks)

    def covers(self, target: Path) -> bool:
        if self.tree:
            return target == self.path or target.is_relative_to(self.path)
        if self.prefix:
            return target.parent == self.path.parent and (
                target.name == self.path.name or target.name.startswith(self.path.name + ".")
            )
        return target == self.path


def input_directory(pattern: Path) -> Path:
    """The directory a source's path pattern lists files in: its part before
    the first ``{date}`` or glob character."""
    parts = []
    for part in pattern.parts:
        if re.search(r"[*?\[{]", part):
            break
        parts.append(part)
    base = Path(*parts) if parts else Path("/")
    return base if len(parts) < len(pattern.parts) else base.parent


def protected_paths(config: Config) -> list[Protected]:
    """The paths openbooks reads or writes for this project: never a query's output."""
    protected = [
        Protected(config.warehouse_path.resolve(), "the warehouse (or its WAL or locks)", prefix=True),
        Protected(config.file.resolve(), "the config file"),
        Protected(config.report_dir.resolve(), "the reports directory", tree=True),
        Protected(config.expectations_dir.resolve(), "the expectation suites", tree=True),
        Protected((config.file.parent / "queries").resolve(), "the saved queries", tree=True),
    ]
    if config.claims_path is not None:
        protected.append(Protected(config.claims_path.resolve(), "the claims file"))
    for name, source in config.sources:
        if getattr(source, "path", None):
            directory = input_directory(config.resolve(source.path)).resolve()
            protected.append(Protected(directory, f"the inputs of sources.{name}", tree=True))
    return protected


def refuse_protected_output(config: Config, output: Path) -> Path:
    """``output`` resolved (symlinks followed); refuses a path the project uses."""
    target = output.expanduser().resolve()
    for protected in protected_paths(config):
        if protected.covers(target):
            shown = "" if target == output.absolute() else f" (resolves to {target})"
            raise OpenbooksError(
                f"--output {output}{shown}: refused, it is {protected.what} ({protected.path}); "
                "write query results somewhere else"
            )
    return target
