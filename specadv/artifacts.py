"""The artifact store: atomic files under a run folder, keyed by the settings that made them.

Every artifact is written to a temporary name in its final folder and renamed
into place (``os.replace`` is atomic on POSIX), so a reader never sees a partial
file. A cache entry is a folder ``<run>/<stage>/<key>/`` whose ``manifest.json``
is written last and records the settings and the code version: an entry
without a manifest is incomplete (an interrupted run) and is recomputed; an
entry whose manifest does not match the requested settings is never reused.
The manifest also records every file's size and SHA-256, and a checksum of its own
contents: an entry whose results were edited or whose small files changed is found on
load (:meth:`Entry.is_complete`), warned about by name and recomputed; large arrays and
audio are checked by size on load and in full by :meth:`Entry.check` (``specadv verify``).
Nothing is unpickled: arrays are ``.npy`` (``allow_pickle=False``), metadata
JSON, checkpoints torch state dicts loaded with ``weights_only=True``.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from specadv import __version__

# Bump when a stage's output changes meaning, so old caches are recomputed.
CODE_VERSION = f"{__version__}+cache1"
# A stage is one folder name inside the run folder: never a path, never hidden.
_STAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

# What a load checks by size only, leaving the checksum to ``specadv verify``: arrays
# larger than this (features, perturbations, audio: a GTZAN-sized feature set is GBs, and
# would cost seconds each time a notebook opens it) and audio files (the embedded corpus:
# 100 MB of WAV on the demo, read by every notebook). Every other file is hashed on every
# load: the manifest's results, checkpoints, tables, and the small arrays of
# probabilities, indices and measures (at ~1 GB/s, 1 MiB is a millisecond).
HASHED_ON_LOAD_BYTES = 1 << 20
ARRAY_SUFFIXES = frozenset({".npy"})
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".au", ".ogg", ".mp3"})
_RESERVED = ("settings", "code", "files", "checksum")  # the manifest's own keys

__all__ = ["CODE_VERSION", "ArtifactError", "DamagedEntryWarning", "atomic_path", "save_json",
           "load_json", "save_npy", "load_npy", "open_npy_for_writing", "shrink_npy",
           "settings_key", "file_sha256", "runs_folder", "entries_in", "Entry", "Store"]


class ArtifactError(RuntimeError):
    """An artifact that cannot be written or read; the message names the path."""


class DamagedEntryWarning(UserWarning):
    """A cache entry whose files do not match its manifest: it is recomputed."""


RUNS_ENV = "SPECADV_RUNS"  # the folder of all runs, when not <project>/runs


def runs_folder(root: Path | None = None) -> Path:
    """The folder of all runs in use: ``SPECADV_RUNS``, else ``<project>/runs`` (absolute)."""
    return Path(os.environ.get(RUNS_ENV) or (root or project_root()) / "runs").resolve()


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


def shrink_npy(path, n_rows: int) -> None:
    """Keep the first ``n_rows`` rows of the ``.npy`` at ``path``: its header rewritten in
    place, the file truncated (no copy of the rows kept).

    For an array filled from the start whose final length is known only at the end
    (:func:`open_npy_for_writing` with an upper bound). numpy pads a header so that it
    keeps its length whatever the number of rows; where it would not, the rows are copied.
    """
    fmt = np.lib.format
    path = Path(path)
    with open(path, "r+b") as f:
        version = fmt.read_magic(f)
        read, write = {(1, 0): (fmt.read_array_header_1_0, fmt.write_array_header_1_0),
                       (2, 0): (fmt.read_array_header_2_0, fmt.write_array_header_2_0)
                       }.get(version, (None, None))
        if read is None:  # pragma: no cover - numpy writes 1.0 (2.0 for huge headers)
            raise ArtifactError(f"{path}: .npy format {version} not supported here")
        shape, fortran_order, dtype = read(f)
        offset = f.tell()
        if fortran_order or not shape or not 0 <= n_rows <= shape[0]:
            raise ArtifactError(f"{path}: cannot keep {n_rows} rows of an array of shape {shape}")
        new_shape = (int(n_rows), *shape[1:])
        header = io.BytesIO()
        write(header, {"descr": fmt.dtype_to_descr(dtype), "fortran_order": False,
                       "shape": new_shape})
        nbytes = int(np.prod(new_shape, dtype=np.int64)) * dtype.itemsize
        if len(header.getvalue()) == offset:
            f.seek(0)
            f.write(header.getvalue())
            f.truncate(offset + nbytes)
            return
    old = load_npy(path, mmap=True)  # pragma: no cover - numpy keeps the header's length
    with open_npy_for_writing(path, new_shape, dtype) as out:
        out[:] = old[:n_rows]
    del old


def file_sha256(path) -> str:
    """The SHA-256 of the file at ``path``, hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _by_size_on_load(path: Path, size: int) -> bool:
    """Whether a load checks this file of an entry by its size only (see HASHED_ON_LOAD_BYTES)."""
    suffix = path.suffix.lower()
    return suffix in AUDIO_SUFFIXES or (suffix in ARRAY_SUFFIXES and size > HASHED_ON_LOAD_BYTES)


def _manifest_checksum(manifest: dict) -> str:
    """The SHA-256 of a manifest's contents (all but its ``checksum``), as JSON would write
    them: a figure edited by hand changes it, however valid the JSON stays."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    blob = json.dumps(body, sort_keys=True, default=_json_default)
    return hashlib.sha256(blob.encode()).hexdigest()


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
        self._warned = False

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    def path(self, name: str) -> Path:
        return self.folder / name

    def is_complete(self) -> bool:
        """Whether the entry holds a usable result for its settings: a manifest of these
        settings and code version, whose files match it (:meth:`check`, on load: sizes, and
        checksums of small files). A damaged entry is named in a
        :class:`DamagedEntryWarning` and counts as missing, so that it is recomputed; an
        entry written before checksums were recorded is used as it is (unverified)."""
        try:
            manifest = json.loads(self.manifest_path.read_text())
        except OSError:  # none yet: an entry being computed, or an interrupted one
            return False
        except ValueError as exc:
            self._warn([f"{self.manifest_path}: corrupt JSON ({exc})"])
            return False
        if not isinstance(manifest, dict):
            self._warn([f"{self.manifest_path}: not a manifest (a JSON object was expected)"])
            return False
        problems = self._problems(manifest, full=False)
        if problems:
            self._warn(problems)
            return False
        same = json.loads(json.dumps(self.settings, sort_keys=True, default=_json_default))
        return manifest.get("settings") == same and manifest.get("code") == CODE_VERSION

    def _warn(self, problems: list[str]) -> None:
        if not self._warned:  # Run.stage asks twice, before and under the entry's lock
            self._warned = True
            warnings.warn(f"damaged cache entry: {'; '.join(problems)}; the entry is treated "
                          "as missing and computed again", DamagedEntryWarning, stacklevel=3)

    def check(self, full: bool = True) -> list[str] | None:
        """What does not match the manifest: a list of problems (empty: all match), each
        naming the file, or None for an entry whose manifest records no checksums (written
        by specadv before they were kept: unverified).

        ``full`` hashes every file; otherwise arrays above :data:`HASHED_ON_LOAD_BYTES`
        and audio files are checked by size only (what a load does).

        Raises :class:`ArtifactError` for a missing or unreadable manifest."""
        manifest = load_json(self.manifest_path)
        if not isinstance(manifest, dict):
            return [f"{self.manifest_path}: not a manifest (a JSON object was expected)"]
        if "checksum" not in manifest:
            return None
        return self._problems(manifest, full)

    def _problems(self, manifest: dict, full: bool) -> list[str]:
        if "checksum" not in manifest:
            return []  # written before checksums were kept: see check()
        if manifest["checksum"] != _manifest_checksum(manifest):  # its list of files too
            return [f"{self.manifest_path}: its contents were changed after it was written "
                    "(the checksum of its results does not match)"]
        problems = []
        for name, want in manifest["files"].items():
            path = self.folder / name
            try:
                size = path.stat().st_size
            except OSError:
                problems.append(f"{path}: missing")
                continue
            if size != want.get("bytes"):
                problems.append(f"{path}: {size} bytes, {want.get('bytes')} when written")
            elif ((full or not _by_size_on_load(path, size))
                  and file_sha256(path) != want.get("sha256")):
                problems.append(f"{path}: its contents changed after it was written "
                                "(SHA-256 differs)")
        return problems

    def _files(self) -> dict[str, dict]:
        """Every file of the entry but its manifest: relative path -> size and SHA-256."""
        files = {}
        for dirpath, dirnames, filenames in os.walk(self.folder):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if name.startswith(".") or path == self.manifest_path:
                    continue  # another writer's temporary file is no part of the entry
                files[path.relative_to(self.folder).as_posix()] = {
                    "bytes": path.stat().st_size, "sha256": file_sha256(path)}
        return files

    def commit(self, **info) -> None:
        """Mark the entry complete (call after every file of it is written): the manifest
        records the settings, ``info`` and every file's size and SHA-256."""
        clash = sorted(set(info) & set(_RESERVED))
        if clash:
            raise ValueError(f"commit(): {clash} are the manifest's own keys; name the "
                             "result otherwise")
        manifest = json.loads(json.dumps({"settings": self.settings, "code": CODE_VERSION,
                                          **info, "files": self._files()},
                                         default=_json_default))
        manifest["checksum"] = _manifest_checksum(manifest)
        save_json(self.manifest_path, manifest)

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

    def entries(self) -> list[Entry]:
        """Every entry of the run folder (:func:`entries_in`)."""
        return entries_in(self.root)


def entries_in(root: os.PathLike | str) -> list[Entry]:
    """Every entry folder of the run folder ``root`` (``<stage>/<key>/``), complete or not,
    with the settings its manifest records (``{}`` where it has none); only reads."""
    found = []
    for stage in sorted(Path(root).iterdir()):
        if not stage.is_dir() or not _STAGE_NAME.fullmatch(stage.name):
            continue
        for folder in sorted(stage.iterdir()):
            if folder.is_dir() and not folder.name.startswith("."):
                try:
                    settings = load_json(folder / "manifest.json").get("settings", {})
                except (ArtifactError, AttributeError):
                    settings = {}
                found.append(Entry(folder, settings))
    return found
