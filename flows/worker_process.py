"""A worker process of a range (started by ``flows.workers``).

It reads jobs from stdin and writes results to stdout, each one pickled
frame preceded by its length (8 bytes, big-endian): a job is ``(function,
args)`` (a module-level function, pickled by name), a result ``(True,
value)`` or ``(False, error)``. Anything the
rendering code prints goes to stderr, never into the results. It ends when
stdin closes. Modules named on its command line are imported first.
"""

from __future__ import annotations

import importlib
import os
import pickle
import struct
import sys
from typing import Any, BinaryIO

_LENGTH = struct.Struct(">Q")


def send(stream: BinaryIO, item: Any) -> None:
    data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def receive(stream: BinaryIO) -> Any:
    """The next item, or ``EOFError`` when the other side closed the stream."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    if len(data) < length:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - our own parent process, over our own pipe


def main() -> None:
    results = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # prints go to stderr
    for module in sys.argv[1:]:  # imported before the first job comes (the parent is reading its inputs)
        importlib.import_module(module)
    jobs = sys.stdin.buffer
    while True:
        try:
            function, args = receive(jobs)
        except EOFError:
            return
        try:
            outcome = (True, function(*args))
        except Exception as exc:  # noqa: BLE001 - sent back, raised in the parent for that day
            outcome = (False, exc)
        send(results, outcome)


if __name__ == "__main__":
    main()
