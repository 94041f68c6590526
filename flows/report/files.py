"""Where a day's report files live, and writing them atomically.

Reports are rendered before the day is published and written after it, each
file replaced atomically (temp file + rename), so a failed run never leaves a
half-written report.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path



def report_paths(directory: Path, day: str) -> tuple[Path, Path]:
    return directory / f"{day}.md", directory / f"{day}.html"


# The footer names the run that wrote the report and when: not part of what it says.
_FOOTER = re.compile(r"run [0-9a-f-]{36}, config [0-9a-f]+, generated [0-9: -]+UTC")


def report_current(directory: Path, report) -> bool:
    """Whether the day's report files are there and say what ``report``
    says, but for the footer's run and time (a report left missing or stale
    by a failed write is rewritten by the next run, even one that finds the
    day unchanged; a current one is left byte for byte as it is)."""
    try:
        return all(_FOOTER.sub("", path.read_text(encoding="utf-8")) == _FOOTER.sub("", text)
                   for path, text in zip(report_paths(directory, report.day), (report.markdown, report.html)))
    except (OSError, UnicodeDecodeError):
        return False


def current_umask() -> int:
    """The process's umask, read without changing it where Linux tells it
    (``os.umask`` both sets and returns it: a moment's race between threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file and a rename; the file is
    readable as any other the user creates (0666 less the umask), not the
    temp file's 0600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            os.fchmod(handle.fileno(), 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
