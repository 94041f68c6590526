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

import os
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
# Of those, the ones that wrap or name something else are read further: an
# EXPLAIN runs (with ANALYZE) the statement it explains, which must read; a
# PRAGMA (``IMPORT DATABASE`` parses as one) and a CALL must name a pragma
# or function that only reads.
READING_PRAGMAS = frozenset({
    "table_info", "show", "show_tables", "show_tables_expanded", "show_databases", "database_list",
    "database_size", "storage_info", "metadata_info", "version", "platform", "user_agent", "functions",
    "collations", "enable_profiling", "disable_profiling",
})
_LEADING = r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/)*"
_EXPLAIN = re.compile(_LEADING + r"EXPLAIN\s+(?:ANALY[SZ]E\s+|\([^)]*\)\s*)?", re.IGNORECASE | re.DOTALL)
_NAMED = re.compile(_LEADING + r"(PRAGMA|CALL)\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE | re.DOTALL)


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def lock_down(con: duckdb.DuckDBPyConnection, readable: list[Path] = ()) -> None:
    """Turn external access off (but for ``readable`` directories) and lock the configuration."""
    for setting in EXTENSIONS_OFF:
        con.execute(f"SET {setting} = false")
    for directory in readable:
        link = links_leading_out(directory)
        if link is not None:
            raise OpenbooksError(f"--allow-file-reads {directory}: {link} is a symlink to {link.resolve()}, outside it "
                                 "(expected a directory whose links stay inside it)")
    if readable:
        listed = ", ".join(sql_text(str(d.resolve()).rstrip("/") + "/") for d in readable)
        con.execute(f"SET allowed_directories = [{listed}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def links_leading_out(directory: Path, limit: int = 100_000) -> Path | None:
    """The first symlinked directory under ``directory`` that leads out of it
    (DuckDB refuses to read through one, but ``glob`` would list the names
    inside it; a symlinked file shows only its own name)."""
    root = directory.resolve()
    seen = 0
    for parent, dirs, files in os.walk(root):
        seen += len(files)
        for name in dirs:
            seen += 1
            path = Path(parent) / name
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                return path
        if seen > limit:
            raise OpenbooksError(f"--allow-file-reads {directory}: more than {limit:,} entries; "
                                 "allow a smaller directory")
    return None


def reading_statements(sql: str) -> list[duckdb.Statement]:
    """The statements of ``sql``; refuses any that is not a reading one."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise OpenbooksError(query_failure(exc))
    for statement in statements:
        refuse_unless_reading(statement)
    if not statements:
        raise OpenbooksError("no SQL: the query is empty")
    return statements


def refuse_unless_reading(statement: duckdb.Statement, within: str = "") -> None:
    """Nothing unless ``statement`` only reads (by its type, as DuckDB's own
    parser gives it, and what it wraps or names); else ``OpenbooksError``."""
    kind = statement.type
    refused = kind not in READING_STATEMENTS
    if kind == duckdb.StatementType.EXPLAIN:
        inner = _EXPLAIN.sub("", statement.query, count=1)
        try:
            wrapped = duckdb.extract_statements(inner)
        except duckdb.Error:
            wrapped = []
        if len(wrapped) != 1:
            refused = True
        else:
            return refuse_unless_reading(wrapped[0], within=statement.query)
    elif kind in (duckdb.StatementType.PRAGMA, duckdb.StatementType.CALL):
        named = _NAMED.match(statement.query)
        name = named[2].lower() if named else ""
        refused = not named or (name not in READING_PRAGMAS if named[1].upper() == "PRAGMA"
                                else not (name.startswith(("pragma_", "duckdb_")) or name in READING_PRAGMAS))
    if refused:
        named = _NAMED.match(statement.query) if kind in (duckdb.StatementType.PRAGMA, duckdb.StatementType.CALL) else None
        what = "INSTALL/LOAD" if kind == duckdb.StatementType.LOAD else (
            f"{named[1].upper()} {named[2]}" if named else kind.name)
        shown = " ".join((within or statement.query).split())[:80]
        raise OpenbooksError(
            f"query refused: {what} is not allowed; openbooks query only reads the warehouse "
            f"(SELECT, EXPLAIN of a SELECT, reading PRAGMAs and CALLs), got: {shown}"
        )


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
        Protected((config.warehouse_path.parent / ".prefect").resolve(), "the project's Prefect state", tree=True),
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
