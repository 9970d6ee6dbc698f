"""The artifact store: atomic files under a run folder, keyed by the settings that made them.

Every artifact is written to a temporary name in its final folder and renamed
into place (``os.replace`` is atomic on POSIX), so a reader never sees a partial
file. A cache entry is a folder ``<run>/<stage>/<key>/`` whose ``manifest.json``
is written last and records the settings and the code version: an entry
without a manifest is incomplete (an interrupted run) and is recomputed; an
entry whose manifest does not match the requested settings is never reused.
Nothing is unpickled: arrays are ``.npy`` (``allow_pickle=False``), metadata
JSON, checkpoints torch state dicts loaded with ``weights_only=True``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from specadv import __version__

# Bump when a stage's output changes meaning, so old caches are recomputed.
CODE_VERSION = f"{__version__}+cache1"
# A stage is one folder name inside the run folder: never a path, never hidden.
_STAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

__all__ = ["CODE_VERSION", "ArtifactError", "atomic_path", "save_json", "load_json",
           "save_npy", "load_npy", "open_npy_for_writing", "settings_key", "Entry", "Store"]


class ArtifactError(RuntimeError):
    """An artifact that cannot be written or read; the message names the path."""


RUNS_ENV = "SPECADV_RUNS"  # the folder of all runs, when not <project>/runs


def project_root(start: Path | None = None) -> Path:
    """The project folder (the one holding ``_toc.yml``) above ``start``, else ``start``."""
    start = (start or Path.cwd()).resolve()
    for p in (start, *start.parents):
        if (p / "_toc.yml").is_file() and (p / "specadv").is_dir():
            return p
    return start


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: os.PathLike | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ArtifactError(f"{path.parent}: cannot write here ({exc.strerror}); choose a "
                            "writable run folder") from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the mode an open() would have
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_json(path, obj: Any) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=_json_default))
    return Path(path)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def load_json(path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing; delete the folder {path.parent} and run again to "
                            "recompute it") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path}: corrupt JSON ({exc}); delete the folder {path.parent} and "
                            "run again to recompute it") from None


def save_npy(path, array: np.ndarray) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.asarray(array), allow_pickle=False)
    return Path(path)


def load_npy(path, mmap: bool = False) -> np.ndarray:
    path = Path(path)
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing; delete the folder {path.parent} and run again to "
                            "recompute it") from None
    except ValueError as exc:
        raise ArtifactError(f"{path}: unreadable array ({exc}); delete the folder {path.parent} "
                            "and run again to recompute it") from None


@contextlib.contextmanager
def open_npy_for_writing(path, shape: tuple[int, ...], dtype) -> Iterator[np.memmap]:
    """A writable memory-mapped ``.npy`` filled in place, renamed into ``path`` when complete.

    For arrays larger than memory (a GTZAN-sized STFT feature set is ~4.6 GB in float16).
    """
    with atomic_path(path) as tmp:
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=tuple(shape))
        yield arr
        arr.flush()
        del arr


def settings_key(settings: dict) -> str:
    """A short, stable hash of JSON-able settings (and the code version)."""
    blob = json.dumps({"settings": settings, "code": CODE_VERSION}, sort_keys=True,
                      default=_json_default)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class Entry:
    """One cache entry: a folder of files plus a manifest written last."""

    def __init__(self, folder: Path, settings: dict):
        self.folder = folder
        self.settings = settings

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    def path(self, name: str) -> Path:
        return self.folder / name

    def is_complete(self) -> bool:
        if not self.manifest_path.is_file():
            return False
        try:
            manifest = load_json(self.manifest_path)
        except ArtifactError:
            return False
        same = json.loads(json.dumps(self.settings, sort_keys=True, default=_json_default))
        return manifest.get("settings") == same and manifest.get("code") == CODE_VERSION

    def commit(self, **info) -> None:
        """Mark the entry complete (call after every file of it is written)."""
        save_json(self.manifest_path, {"settings": self.settings, "code": CODE_VERSION, **info})

    def info(self) -> dict:
        return load_json(self.manifest_path)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold this entry's lock for the block: one process computes an entry at a time
        (two notebooks run side by side, or a notebook beside ``make book``, never reset each
        other's half-written entry; the second waits, then finds it complete). An exclusive
        ``flock`` on ``.<key>.lock`` beside the entry's folder, released when the block ends
        or the process dies; where ``fcntl`` is missing (Windows) the block runs unlocked."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        path = self.folder.parent / f".{self.folder.name}.lock"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        except OSError as exc:
            raise ArtifactError(f"{path}: cannot create the entry's lock ({exc.strerror}); "
                                "choose a writable run folder") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def reset(self) -> None:
        """Remove an incomplete or stale entry before recomputing it."""
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)


class Store:
    """Cache entries of one run folder: ``<root>/<stage>/<key>/``."""

    def __init__(self, root: os.PathLike | str):
        self.root = Path(root).resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            # a probe of its own: two processes opening one run folder at once (notebooks
            # side by side) must not remove each other's
            fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=self.root)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise ArtifactError(f"{self.root}: the run folder cannot be written "
                                f"({exc.strerror}); set SPECADV_RUNS to a writable folder (or "
                                "run from a writable copy of the project)") from None

    def entry(self, stage: str, settings: dict) -> Entry:
        """The entry of ``stage`` for ``settings``: ``<root>/<stage>/<settings key>/``."""
        if not isinstance(stage, str) or not _STAGE_NAME.fullmatch(stage):
            # a name with a separator, '..' or a leading '.' could reach outside the run folder
            raise ArtifactError(f"invalid stage name {stage!r}: a stage is one folder name of "
                                "letters, digits, '_', '-' and '.', not starting with '.'; "
                                "rename the stage")
        folder = self.root / stage / settings_key(settings)
        return Entry(folder, settings)
