"""A day's files of one source: listed by glob and ``{date}``, hashed, shown.

``sources.<name>.path`` is a glob relative to the config file; ``{date}`` in
it stands for the business day (YYYY-MM-DD). The directory part before the
first glob character is the source's declared directory: a matched file that
resolves (through symlinks) outside it is refused, so a link cannot make a
run read, quarantine or log another file of the machine. Files are only
ever read.
"""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import xxhash

from openbooks.errors import InputError, SourceNotFound

_GLOB_CHARS = "*?["


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
    return config.resolve(source.path.replace("{date}", day.isoformat() if day else "*"))


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


def matching_paths(config, name: str, day: date | None) -> list[Path]:
    """The files of ``day`` (every day's without one), sorted; none is an empty list."""
    pattern = day_pattern(config, name, day)
    paths = sorted(Path(p) for p in glob.glob(str(pattern)) if Path(p).is_file())
    return [inside_declared_directory(p, pattern, name) for p in paths]


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
