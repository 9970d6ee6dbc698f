"""Many clips at once: worker processes that render clips and never import the caller's script.

:func:`render_clips` renders a list of clips, in worker processes when asked to, and
yields the same float32 arrays as :func:`specadv.synth.render_clip` would, in the
order of the list.

Why the workers are plain subprocesses, not a :mod:`multiprocessing` pool
--------------------------------------------------------------------------
A ``spawn`` or ``forkserver`` child of :mod:`multiprocessing` first runs
``multiprocessing.spawn.prepare``, which re-imports the parent's ``__main__``:
from its file (``init_main_from_path``, as ``__mp_main__``) or its module name
(``init_main_from_name``). A user's script without an ``if __name__ ==
"__main__":`` guard then runs again in every child, and starts a pool of its own
there (``RuntimeError: ... bootstrapping phase``); a script piped to ``python -``
has ``__file__ == "<stdin>"``, a path that does not exist; either way the pool
breaks (``BrokenProcessPool``). ``forkserver`` imports ``__main__`` in the server
too. The standard library has no switch for that preparation, and a library
cannot change the caller's ``__main__`` (the module is shared by all its
threads). A ``fork`` context skips it, but forks a process that may run other
threads (torch's and BLAS's pools, tqdm's monitor): a lock held by one of them at
the fork stays locked in the child for ever, and CUDA cannot be used in a forked
child at all; Python 3.12 warns about it, 3.14 no longer forks by default.

So each worker is ``python -c <bootstrap>`` started with :mod:`subprocess`: its
``__main__`` is the ``-c`` code, so nothing of the caller is imported; the
interpreter is exec'd afresh (``subprocess`` forks and execs without running
Python code in between, which is safe whatever threads the caller runs); the
child gets the caller's ``sys.path``, so it imports the same :mod:`specadv`
(checked when it starts). That works the same from a script with or without a
guard, ``python -``, ``python -c``, a notebook or pytest. The child reads one job
a line (JSON) on stdin and answers with the raw float32 samples on its stdout:
nothing is pickled. Each job is rendered by :func:`render_clip` from ``(genre,
index, seconds, seed)`` alone, so the arrays are the bytes of a serial render.
Where no worker can be started (a frozen application, no ``sys.executable``, a
child that cannot import this package) the clips are rendered here, one after the
other, with a :class:`RuntimeWarning`.
"""
from __future__ import annotations

import builtins
import collections
import json
import operator
import os
import queue
import select
import struct
import subprocess
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Iterator

import numpy as np

from specadv.synth.mixing import render_clip

__all__ = ["render_clips"]

# A job: (genre, index, seconds, seed), the arguments of render_clip.
Job = tuple[str, int, float, int]
# A message of a worker: a kind byte and the length of the body that follows.
_HEADER = struct.Struct("<cQ")
_READY, _AUDIO, _ERROR = b"R", b"A", b"E"
_BOOTSTRAP = ("import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
              "from specadv.synth.workers import _serve; _serve()")
# One thread each for the workers' BLAS and OpenMP pools: rendering is numpy code
# that uses none, and a pool per worker would only oversubscribe the cores.
_ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# A worker that has not imported this package by then is given up (starting takes ~1 s).
_START_TIMEOUT_S = 120.0


def render_clips(jobs: Iterable[Job], workers: int | None = None) -> Iterator[np.ndarray]:
    """Render clips of the embedded corpus, in parallel worker processes if asked to.

    Parameters
    ----------
    jobs : iterable of ``(genre, index, seconds, seed)``
        The arguments of :func:`specadv.synth.render_clip` for each clip
        (``seconds`` is taken as a Python float).
    workers : int, optional
        Worker processes. Each clip depends only on its job, so the arrays do not
        depend on it. Default: one per CPU core, up to 16, for 40 clips or more;
        else 1 (rendered in this process).

    Yields
    ------
    np.ndarray
        ``render_clip(*job)`` for each job, in the order of ``jobs``: the same
        float32 samples, whatever ``workers``.

    Raises
    ------
    ValueError
        A job that :func:`specadv.synth.render_clip` refuses (the same message).
    RuntimeError
        A worker process that died while rendering (the message says which clip).

    Notes
    -----
    The workers are started with :mod:`subprocess` and never import the caller's
    ``__main__``, so this works from any caller, with or without an ``if __name__
    == "__main__":`` guard, and whatever threads the caller runs (see the module's
    notes). Where no worker can be started, the clips are rendered in this
    process, with a :class:`RuntimeWarning`.

    Examples
    --------
    >>> jobs = [("jazz", i, 2.0, 0) for i in range(2)]
    >>> [y.shape for y in render_clips(jobs, workers=2)]
    [(44100,), (44100,)]
    """
    jobs = [(str(g), operator.index(i), float(s), operator.index(seed)) for g, i, s, seed in jobs]
    if workers is None:
        workers = min(_cpu_count(), 16) if len(jobs) >= 40 else 1
    workers = min(int(workers), len(jobs))
    pool = _start_workers(workers) if workers > 1 else []
    if not pool:
        for job in jobs:
            yield render_clip(*job)
        return
    yield from _render_in(pool, jobs)


def _cpu_count() -> int:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _render_in(pool: list[_Worker], jobs: list[Job]) -> Iterator[np.ndarray]:
    """The jobs' clips, rendered by the workers of ``pool``, in order; stops the workers."""
    idle: queue.SimpleQueue = queue.SimpleQueue()
    for w in pool:
        idle.put(w)

    def run(job: Job) -> np.ndarray:
        w = idle.get()
        try:
            return w.render(job)
        finally:
            idle.put(w)

    threads = ThreadPoolExecutor(len(pool), thread_name_prefix="specadv-render")
    pending: collections.deque = collections.deque()
    try:
        # at most two clips per worker rendered ahead of the one the caller waits for
        ahead = iter(jobs)
        for job in ahead:
            pending.append(threads.submit(run, job))
            if len(pending) >= 2 * len(pool):
                break
        while pending:
            y = pending.popleft().result()
            job = next(ahead, None)
            if job is not None:
                pending.append(threads.submit(run, job))
            yield y
    finally:
        threads.shutdown(wait=False, cancel_futures=True)  # no job starts from now on
        for w in pool:
            # clips still being rendered (an error, or the caller stopped early): kill the
            # workers, and the threads reading them see their output end
            w.stop(kill=bool(pending))
        threads.shutdown(wait=True)


def _start_workers(n: int) -> list[_Worker]:
    """``n`` started workers, or none (with a warning) where they cannot be started."""
    if getattr(sys, "frozen", False) or not sys.executable:
        why = "a frozen application" if getattr(sys, "frozen", False) else "no sys.executable"
        warnings.warn(f"specadv.synth: cannot start render workers ({why}); rendering the "
                      "clips in this process", RuntimeWarning, stacklevel=3)
        return []
    pool: list[_Worker] = []
    try:
        for _ in range(n):
            pool.append(_Worker())
        for w in pool:  # they start together; each says when it is ready
            w.wait_ready()
    except (OSError, _WorkerError) as exc:
        for w in pool:
            w.stop(kill=True)
        warnings.warn(f"specadv.synth: cannot start render workers ({exc}); rendering the "
                      "clips in this process", RuntimeWarning, stacklevel=3)
        return []
    return pool


class _WorkerError(RuntimeError):
    """A worker that did not start, or died."""


class _Worker:
    """One worker process: ``python -c`` running :func:`_serve`, fed one job at a time."""

    def __init__(self):
        path = []
        for p in sys.path:
            if p == "":  # the current folder, as it is now
                try:
                    p = os.getcwd()
                except OSError:
                    continue
            path.append(p)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        if root not in path:
            path.append(root)
        env = dict(os.environ)
        for name in _ONE_THREAD:
            env.setdefault(name, "1")
        self.proc = subprocess.Popen([sys.executable, "-c", _BOOTSTRAP, json.dumps(path)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, close_fds=True)
        # the worker's messages (warnings, tracebacks) go on to this process's stderr
        self.stderr_tail: collections.deque = collections.deque(maxlen=20)
        self._relay = threading.Thread(target=self._relay_stderr, daemon=True,
                                       name=f"specadv-render-{self.proc.pid}-stderr")
        self._relay.start()

    def _relay_stderr(self) -> None:
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace")
            self.stderr_tail.append(line)
            try:
                sys.stderr.write(line)
            except (OSError, ValueError, AttributeError):  # no stderr, or closed
                pass

    def wait_ready(self, timeout_s: float = _START_TIMEOUT_S) -> None:
        """Wait for the worker's first message: it imported this package, the same files."""
        if os.name == "posix":  # select() waits on pipes on POSIX only
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
            if not ready:
                raise _WorkerError(f"worker {self.proc.pid} did not start in {timeout_s:g} s")
        kind, body = self._receive("starting")
        if kind != _READY:
            raise _WorkerError(f"worker {self.proc.pid} sent {kind!r} instead of ready")
        theirs = body.decode()
        ours = os.path.abspath(__file__)
        if os.path.realpath(theirs) != os.path.realpath(ours):
            raise _WorkerError(f"the worker imports {theirs}, not {ours}")

    def render(self, job: Job) -> np.ndarray:
        """The clip of ``job``, rendered by this worker; a refused job raises its error here."""
        try:
            self.proc.stdin.write(json.dumps(job).encode() + b"\n")
            self.proc.stdin.flush()
        except (OSError, ValueError):  # a closed pipe: the worker is gone
            pass  # _receive reports how it ended
        kind, body = self._receive(f"rendering {job}")
        if kind == _AUDIO:
            return np.frombuffer(body, dtype=np.float32)
        if kind == _ERROR:
            name, message = json.loads(body)
            exc_type = getattr(builtins, name, None)
            if isinstance(exc_type, type) and issubclass(exc_type, Exception):
                raise exc_type(message)
            raise RuntimeError(f"{name}: {message}")
        raise _WorkerError(f"worker {self.proc.pid} sent {kind!r} while {job}")

    def _receive(self, doing: str) -> tuple[bytes, bytearray]:
        """The worker's next message (kind, body); the worker's end is a :class:`_WorkerError`."""
        header = self._read(_HEADER.size)
        if header is not None:
            kind, n = _HEADER.unpack(header)
            body = self._read(n)
            if body is not None:
                return kind, body
        code = self.proc.wait()
        self._relay.join(timeout=5)
        tail = "".join(self.stderr_tail).strip()
        raise _WorkerError(f"render worker {self.proc.pid} exited with code {code} while "
                           f"{doing}" + (f"; its last messages: {tail[-2000:]}" if tail else ""))

    def _read(self, n: int) -> bytearray | None:
        """Exactly ``n`` bytes from the worker, or None at the end of its output."""
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            k = self.proc.stdout.readinto(view[got:])
            if not k:
                return None
            got += k
        return buf

    def stop(self, kill: bool = False) -> None:
        """End the worker: close its input (it exits when idle), or kill it."""
        if kill and self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._relay.join(timeout=5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            pipe.close()


def _send(out, kind: bytes, body: bytes) -> None:
    """One message of a worker: its kind, the length of its body, the body."""
    out.write(_HEADER.pack(kind, len(body)))
    out.write(body)
    out.flush()


def _serve() -> None:
    """A worker's loop: a JSON job a line on stdin, a clip's float32 samples back on stdout.

    Run by the worker's ``-c`` bootstrap; ends at the end of its input.
    """
    import signal

    # Ctrl-C reaches the whole process group: the caller stops the workers
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into the clips
    _send(out, _READY, os.path.abspath(__file__).encode())
    for line in sys.stdin.buffer:
        genre, index, seconds, seed = json.loads(line)
        try:
            y = render_clip(genre, index, seconds, seed)
        except Exception as exc:  # the caller raises it again
            _send(out, _ERROR, json.dumps([type(exc).__name__, str(exc)]).encode())
        else:
            _send(out, _AUDIO, np.ascontiguousarray(y, dtype=np.float32).tobytes())
