"""The column mapping: which of a file's columns holds each canonical column.

``sources.<name>.columns`` maps a canonical name to one of:

- a column of the file: ``nodes: node_count``;
- a constant: ``channel: {const: api}`` (every row holds it);
- a field inside a JSON column: ``customer_id: {column: metadata, field: user.id}``;
- a sum of columns: ``input_tokens: {sum: [prompt_tokens, cached_tokens]}``.

A canonical column not mapped is read from the file column of its own name.
A file missing a column the mapping needs is refused with one line naming
the column (and the canonical column it is for); columns the mapping does
not use are refused unless ``extra_columns: ignore``.
"""

from __future__ import annotations

from pathlib import Path

from openbooks.flows.sources.files import display_path
from openbooks.errors import InputError

Spec = object  # a file column name (str) or an ``openbooks.config.ColumnSpec``


def literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rejected(message: str, *, line: int | None = None, column: str | None = None) -> InputError:
    """An error rejecting a whole file; ``line`` and ``column`` go to quarantine with it."""
    error = InputError(message)
    error.line, error.column = line, column
    return error


def used_columns(spec: Spec) -> list[str]:
    """The file columns a spec reads."""
    if spec is None:
        return []
    if isinstance(spec, str):
        return [spec]
    if spec.const is not None:
        return []
    if spec.sum is not None:
        return list(spec.sum)
    return [spec.column]


def wanted(source, name: str, canonical: tuple[str, ...]) -> dict[str, Spec]:
    """canonical name → its spec (its own name when not mapped)."""
    return {column: source.columns.get(column, column) for column in canonical}


def without_absent_alternatives(specs: dict[str, Spec], source, file_columns: list[str],
                                one_of: tuple[tuple[str, ...], ...]) -> dict[str, Spec]:
    """For each group of columns a file needs only one of (``FEEDS``'s
    ``ONE_OF``), the unmapped ones the file lacks become None (null); when
    the file lacks them all, the group's first stays, to be named as missing."""
    specs = dict(specs)
    for group in one_of:
        absent = [c for c in group if c not in source.columns and c not in file_columns]
        if len(absent) == len(group):
            absent = absent[1:]
        specs.update({column: None for column in absent})
    return specs


def checked_mapping(path: Path, file_columns: list[str], name: str, source, canonical: tuple[str, ...],
                    one_of: tuple[tuple[str, ...], ...] = ()) -> dict[str, Spec]:
    """canonical name → spec (None: a null column), checking that no column
    the mapping reads is missing from the file and (unless ``extra_columns:
    ignore``) that the file has no column the mapping does not read. Of each
    ``one_of`` group the file needs one column."""
    where = display_path(path)
    specs = without_absent_alternatives(wanted(source, name, canonical), source, file_columns, one_of)
    needed = [(column, used) for column, spec in specs.items() for used in used_columns(spec)]
    listed = list(dict.fromkeys(used for _, used in needed))
    missing = [f"{used!r}" + (f" (for {column})" if used != column else "")
               for column, used in needed if used not in file_columns]
    extra = [c for c in file_columns if c not in listed]
    if missing:
        instead = f" (the file has {', '.join(map(repr, extra))} instead)" if extra else ""
        raise rejected(
            f"{where} line 1: missing column {', '.join(missing)}{instead}; expected columns "
            f"{listed} (map your own names under sources.{name}.columns)",
            line=1, column=next(used for _, used in needed if used not in file_columns),
        )
    if extra and source.extra_columns == "fail":
        raise rejected(
            f"{where} line 1: unexpected column {', '.join(map(repr, extra))} "
            f"(set sources.{name}.extra_columns: ignore to skip extra columns)",
            line=1, column=extra[0],
        )
    return specs


def text_sql(spec: Spec, prefix: str = "") -> str:
    """The spec's value as text (how raw tables keep every value)."""
    if spec is None:
        return "CAST(NULL AS VARCHAR)"
    if isinstance(spec, str):
        return f"CAST({prefix}{ident(spec)} AS VARCHAR)"
    if spec.const is not None:
        return literal(spec.const)
    if spec.sum is not None:
        terms = " + ".join(f"TRY_CAST(trim(CAST({prefix}{ident(c)} AS VARCHAR)) AS HUGEINT)" for c in spec.sum)
        return f"CAST(({terms}) AS VARCHAR)"
    return f"json_extract_string(CAST({prefix}{ident(spec.column)} AS VARCHAR), {literal('$.' + spec.field)})"


def typed_sql(spec: Spec, target: str, have: dict[str, str], parse_text) -> str:
    """The spec's value as DuckDB type ``target``. ``have`` gives each file
    column's type; ``parse_text(sql)`` parses text strictly into ``target``."""
    if isinstance(spec, str):
        column, kind = ident(spec), have[spec]
        if kind == target:
            return column
        if kind == "VARCHAR":
            return parse_text(f"nullif(trim({column}), '')")
        return f"TRY_CAST({column} AS {target})"
    if spec.const is not None:
        return f"CAST({literal(spec.const)} AS {target})"
    if spec.sum is not None:
        return "(" + " + ".join(typed_sql(c, target, have, parse_text) for c in spec.sum) + ")"
    field = f"json_extract_string(CAST({ident(spec.column)} AS VARCHAR), {literal('$.' + spec.field)})"
    return field if target == "VARCHAR" else parse_text(f"nullif(trim({field}), '')")
