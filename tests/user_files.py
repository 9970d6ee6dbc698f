"""The reader's own outputs, which the test suite must leave byte-identical.

The suite builds its book, runs and pages in temporary folders (``SPECADV_RUNS`` set by
conftest.py, the runner and the book test in a project copy); ``snapshot`` and
``changes`` let conftest.py check at the end of every session that nothing wrote here.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
GUARDED = ("_build/html", "book/generated", "book/_static/audio", "runs/demo")


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def snapshot(root: Path = PROJECT, paths=GUARDED) -> dict[str, str]:
    """``relative path -> sha256`` of every file under ``paths`` (missing folders: none);
    a symbolic link is recorded by its target, not followed."""
    found = {}
    for rel in paths:
        top = Path(root) / rel
        if top.is_symlink() or top.is_file():
            found[rel] = "link:" + str(top.readlink()) if top.is_symlink() else _digest(top)
            continue
        if not top.is_dir():
            continue
        for p in sorted(top.rglob("*")):
            key = p.relative_to(root).as_posix()
            if p.is_symlink():
                found[key] = "link:" + str(p.readlink())
            elif p.is_file():
                found[key] = _digest(p)
    return found


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What differs between two snapshots: 'added X', 'removed X', 'changed X'."""
    out = [f"added {k}" for k in sorted(after.keys() - before.keys())]
    out += [f"removed {k}" for k in sorted(before.keys() - after.keys())]
    out += [f"changed {k}" for k in sorted(before.keys() & after.keys()) if before[k] != after[k]]
    return out
