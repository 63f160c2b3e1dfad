"""`python -m tests.ingest_killed_at STAGE --knowledge DIR --index DIR`: the real `python -m agent ingest`,
which SIGKILLs itself the first time it reaches STAGE, a named step of the ingest's own sequence.

A kill timed in seconds fires wherever the process happens to be (often still importing), and a faster machine
moves it. Here each stage wraps the store function that marks it, so the process dies at that step on any
machine, with the index folder exactly as the real run left it. Exits -9 when the stage was reached."""
from __future__ import annotations

import os
import signal
import sys

from agent.index import build, store
from agent.surfaces.cli import main


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _after(owner, name: str, when=lambda *args: True) -> None:
    real = getattr(owner, name)

    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        if when(*args):
            _die()
        return result

    setattr(owner, name, wrapper)


def _before(owner, name: str, when=lambda *args: True) -> None:
    real = getattr(owner, name)

    def wrapper(*args, **kwargs):
        if when(*args):
            _die()
        return real(*args, **kwargs)

    setattr(owner, name, wrapper)


STAGES = {
    # The knowledge folder is listed; files are being read and no new generation exists yet.
    "scanned": lambda: _after(build, "scan_knowledge"),
    # The new generation's folder exists and is empty.
    "generation-created": lambda: _after(store, "new_generation"),
    # Its passages are on disk; the lexical index and the manifest are not.
    "passages-written": lambda: _after(store, "write_records", lambda path, records: path.name == "passages.jsonl"),
    # Every file of the generation is written, the manifest too; nothing is published.
    "before-publish": lambda: _before(store, "publish"),
    # Everything is synced and CURRENT's replacement is written, but not yet renamed over CURRENT.
    "before-pointer-moves": lambda: _before(store.os, "replace", lambda source, target: str(target).endswith(
        os.sep + store.POINTER)),
    # CURRENT names the new generation; the old generations are still on disk.
    "after-pointer-moves": lambda: _before(store, "remove_stale_generations"),
}

if __name__ == "__main__":
    STAGES[sys.argv[1]]()
    sys.exit(main(["ingest", *sys.argv[2:]]))
