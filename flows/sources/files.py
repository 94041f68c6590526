"""A day's files of one source: listed by glob and ``{date}``, hashed, shown.

``sources.<name>.path`` is a glob relative to the config file; ``{date}`` in
it stands for the business day (YYYY-MM-DD). The directory part before the
first glob character is the source's declared directory: a matched file that
resolves (through symlinks) outside it is refused, so a link cannot make a
run read, quarantine or log another file of the machine. Files are only
ever read.

Before a file is read it is admitted (``admitted``): no larger than
``sources.<name>.max_file_bytes`` (default ``DEFAULT_MAX_FILE_BYTES``), and
the format it claims by its first bytes: a Parquet file starts with
``PAR1``, every other format is text, with no NUL byte in its
first block. A 2 GB sparse file of zeros in place of a CSV is refused in a
line, never loaded. The pattern is made absolute against the config's
directory without resolving symlinks, so a link named by a ``{date}`` path
is judged by where it leads, like a globbed one.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import xxhash

from openbooks.errors import InputError, SourceNotFound

_GLOB_CHARS = "*?["
DEFAULT_MAX_FILE_BYTES = 4 << 30  # 4 GiB: a day's file larger than this is refused unless the source says more
_SNIFF_BYTES = 1 << 16
_PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class SourceFile:
    source: str
    path: Path
    content_hash: str


def display_path(path: str | Path) -> str:
    """A path as users typed it: relative to the working directory when inside it."""
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def source_config(config, name: str):
    """``sources.<name>`` of the config (an ``openbooks.config.Source``)."""
    return config.sources.get(name)


def day_pattern(config, name: str, day: date | None) -> Path:
    """The source's glob made absolute, ``{date}`` filled in (``*`` without a day)."""
    source = source_config(config, name)
    if source.path is None:
        raise InputError(f"{config.file}: sources.{name}.path: missing required key (kind {source.kind_name!r} reads files)")
    return absolute_pattern(config, source.path.replace("{date}", day.isoformat() if day else "*"))


def absolute_pattern(config, path: str) -> Path:
    """A source path made absolute against the config's directory, its links
    left as written (``Config.resolve`` would follow a link before the
    directory check could see where it leads); ``..`` is taken lexically,
    the config refusing one after a glob character."""
    p = Path(os.path.expanduser(path))
    return Path(os.path.normpath(p if p.is_absolute() else config.file.parent / p))


def declared_directory(pattern: Path) -> Path:
    """The directory a glob lists files in: its part before the first glob character."""
    parts = []
    for part in pattern.parts:
        if any(c in part for c in _GLOB_CHARS):
            break
        parts.append(part)
    if len(parts) == len(pattern.parts):  # no glob: the file's own directory
        parts = parts[:-1]
    return Path(*parts) if parts else Path(pattern.anchor or ".")


def inside_declared_directory(path: Path, pattern: Path, name: str) -> Path:
    """``path`` unless it resolves outside the declared directory (then ``InputError``)."""
    directory = declared_directory(pattern).resolve()
    target = path.resolve()
    if not target.is_relative_to(directory):
        raise InputError(
            f"{display_path(path)}: resolves to {target}, outside sources.{name}'s directory {directory} "
            "(expected a file inside it; a symlink may not lead out of the declared directory)"
        )
    return path


def max_file_bytes(source) -> int:
    """``sources.<name>.max_file_bytes``, else ``DEFAULT_MAX_FILE_BYTES``."""
    return getattr(source, "max_file_bytes", None) or DEFAULT_MAX_FILE_BYTES


def claimed_format(source, path: Path) -> str:
    """``parquet`` when the source or the file's suffix says so, else ``text``."""
    fmt = getattr(source, "format", None)
    return "parquet" if fmt == "parquet" or (fmt is None and path.suffix.lower() in _PARQUET_SUFFIXES) else "text"


def admitted(path: Path, pattern: Path, name: str, source) -> Path:
    """``path`` if inside the declared directory, no larger than the
    source's ``max_file_bytes`` and of the format it claims; else ``InputError``."""
    inside_declared_directory(path, pattern, name)
    where, size, limit = display_path(path), path.stat().st_size, max_file_bytes(source)
    if size > limit:
        raise InputError(f"{where}: file is {size:,} bytes, larger than sources.{name}.max_file_bytes = {limit:,} "
                         "(expected a smaller file; raise the limit if the file is right)")
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if claimed_format(source, path) == "parquet":
        # A file that does not start as Parquet is refused here; one cut short (no footer) is its reader's to name.
        if size and not head.startswith(b"PAR1"):
            raise InputError(f"{where}: not a readable Parquet file (expected PAR1 at its start, got {head[:4]!r})")
    elif b"\0" in head:
        raise InputError(f"{where} byte {head.index(bytes(1)) + 1}: a NUL byte (expected a text file, got binary data)")
    return path


def matching_paths(config, name: str, day: date | None) -> list[Path]:
    """The files of ``day`` (every day's without one), sorted; none is an empty list."""
    pattern = day_pattern(config, name, day)
    paths = sorted(Path(p) for p in glob.glob(str(pattern)) if Path(p).is_file())
    return [admitted(p, pattern, name, source_config(config, name)) for p in paths]


def day_paths(config, name: str, day: date) -> list[Path]:
    """The files a run of ``day`` reads for source ``name``; none is ``SourceNotFound``."""
    paths = matching_paths(config, name, day)
    if not paths:
        raise SourceNotFound(
            f"no {name} file for {day}: nothing matches sources.{name}.path = "
            f"{display_path(day_pattern(config, name, day))}"
        )
    return paths


def content_hash(path: Path) -> str:
    """The file's content fingerprint: XXH3-128 (for change detection, not
    security; ~8 GB/s against sha256's ~1 GB/s, which matters for days of
    hundreds of millions of request rows)."""
    digest = xxhash.xxh3_128()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


READ_SETTINGS = ("kind", "format", "columns", "extra_columns", "delimiter", "encoding", "options")


def reading_key(digest: str, source) -> str:
    """A file's key for reuse (``raw.files.content_hash``): the hash of its
    content and of the source's reading settings (``READ_SETTINGS``), so a
    file read before is read again when its mapping, options or kind change."""
    settings = {k: v for k, v in source.model_dump(mode="json").items() if k in READ_SETTINGS}
    text = json.dumps(settings, sort_keys=True)
    return xxhash.xxh3_128(f"{digest}\n{text}".encode()).hexdigest()


def day_files(config, name: str, day: date) -> list[SourceFile]:
    """The day's files with their reuse keys (``reading_key``: content and
    the source's reading settings), one per content: a file delivered twice
    under two names counts once (the first name)."""
    seen: dict[str, SourceFile] = {}
    source = source_config(config, name)
    for path in day_paths(config, name, day):
        digest = content_hash(path)
        if digest not in seen:
            seen[digest] = SourceFile(name, path, reading_key(digest, source))
    return list(seen.values())


def is_scoped_to_day(config, name: str) -> bool:
    """Whether the source path names the day's files with ``{date}``."""
    return "{date}" in (source_config(config, name).path or "")
