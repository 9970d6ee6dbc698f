"""The pipeline runner: execute the notebooks with papermill, then build the book.

The notebooks run in dependency order (those per representation once for each)
into ``book/generated/``; the expensive work inside them is cached by
:mod:`specadv.pipeline`, so a re-run with nothing changed only re-renders. A
notebook that fails stops the run with the notebook, the cell and the error
named; its executed copy is kept for inspection and never reaches the book.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from specadv.artifacts import RUNS_ENV, project_root, runs_folder
from specadv.roundtrip import REPRESENTATIONS

__all__ = ["NOTEBOOKS", "RunError", "execute_notebooks", "default_jobs", "check_inputs",
           "build_book", "run", "failed_copies", "JOBS_ENV", "MALLOC_ENV"]


@dataclass(frozen=True)
class NotebookStep:
    notebook: str  # file in notebooks/
    params: dict = field(default_factory=dict)
    # the notebooks (stems) whose stages this one reads: it starts only after them when
    # notebooks run side by side. "x" is x of the same representation where both have one
    # (else every x), "x*" every x. The cache's locks keep any order correct; this only
    # keeps a worker from waiting on a lock
    after: tuple[str, ...] = ()

    @property
    def output_name(self) -> str:
        stem = Path(self.notebook).stem
        rep = self.params.get("representation")
        return f"{stem}_{rep}.ipynb" if rep else f"{stem}.ipynb"


# Execution order (dependencies first; side by side, the first ready step starts first);
# the book's order is _toc.yml's.
def _per_representation(notebook: str, after=()) -> list[NotebookStep]:
    return [NotebookStep(notebook, {"representation": r}, tuple(after)) for r in REPRESENTATIONS]


_MODELS = ("02_train2d*", "03_train1d")
NOTEBOOKS: list[NotebookStep] = [
    NotebookStep("01_data.ipynb"),
    *_per_representation("02_train2d.ipynb", ["01_data"]),
    NotebookStep("03_train1d.ipynb", after=("01_data",)),
    *_per_representation("04_attacks.ipynb", ["02_train2d"]),
    *_per_representation("05_reconstruction.ipynb", ["04_attacks", *_MODELS]),
    NotebookStep("08_explorer.ipynb", after=_MODELS),
    NotebookStep("06_paper_page.ipynb", after=("05_reconstruction*",)),
    NotebookStep("07_transfer.ipynb", after=("05_reconstruction*",)),
    NotebookStep("09_beyond.ipynb", after=("05_reconstruction*", "ahead-validation",
                                           "ahead-inversion")),
    NotebookStep("10_aware.ipynb", after=("05_reconstruction*", "09_beyond", "ahead-aware")),
]


@dataclass(frozen=True)
class AheadStep:
    """Stages a later notebook reads, computed ahead in a plain process (no kernel) as soon
    as what they need exists, when notebooks run side by side: the last chapters read
    every reconstruction, but their own heavy stages do not, and would otherwise run last,
    alone on one core. ``code`` uses ``run`` (the notebooks' :class:`~specadv.pipeline.Run`)."""

    name: str
    code: str
    after: tuple[str, ...] = ()
    at: str = ""  # its place in the side-by-side order: after this notebook's output

    notebook = property(lambda self: self.name)
    output_name = property(lambda self: f"[{self.name}]")
    params = property(lambda self: {})  # no representation: as a notebook step without one


AHEAD: list[AheadStep] = [
    AheadStep("ahead-validation", 'run.models("mel", validation="segment")', ("01_data",),
              at="03_train1d.ipynb"),
    AheadStep("ahead-aware", "[run.aware(r) for r in REPRESENTATIONS]", _MODELS,
              at="04_attacks_stft_paper.ipynb"),
    AheadStep("ahead-inversion", "run.inversion_sweep()", ("04_attacks", "03_train1d"),
              at="04_attacks_stft_paper.ipynb"),
]

JOBS_ENV = "SPECADV_JOBS"

# glibc's malloc for the kernels: allocations under 32 MiB from the heap and the heap never
# handed back on each free. Its defaults return a batch's buffers to the system and fault
# them in again at the next batch: 9x the page faults of a training epoch, and 17% of its
# time (23% of Griffin-Lim's), measured on this project's demo. A value the user set wins.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(4 << 30),
              "MALLOC_TOP_PAD_": str(256 << 20)}


def default_jobs() -> int:
    """Notebooks run side by side: ``SPECADV_JOBS``, else 2 where there are 2 cores or more.

    Two kernels of one thread each keep 2 cores busier than one kernel of two threads:
    a notebook's plotting, audio writing and small-batch work are one thread anyway."""
    env = os.environ.get(JOBS_ENV)
    if env:
        try:
            jobs = int(env)
        except ValueError:
            raise RunError(f"{JOBS_ENV}={env!r}: give a positive number of notebooks to run "
                           "side by side") from None
        if jobs < 1:
            raise RunError(f"{JOBS_ENV}={env!r}: give a positive number (1: one at a time)")
        return jobs
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def _waits_for(step: NotebookStep, other: NotebookStep) -> bool:
    """Whether ``step`` starts only after ``other`` (``step.after``, see NotebookStep)."""
    stem, rep = Path(other.notebook).stem, other.params.get("representation")
    mine = step.params.get("representation")
    for dep in step.after:
        if dep.rstrip("*") != stem:
            continue
        if dep.endswith("*") or rep is None or mine is None or rep == mine:
            return True
    return False


class RunError(RuntimeError):
    """A notebook failed: names the notebook, the cell, the error and the kept copy."""


def _error_outputs(nb_path: Path) -> list[tuple[int, str]]:
    nb = json.loads(nb_path.read_text())
    found = []
    for i, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append((i, f"{out.get('ename')}: {out.get('evalue')}"))
    return found


REPRESENTATION_NAMES = {name: r.title for name, r in REPRESENTATIONS.items()}


def _title_with_representation(nb_path: Path, rep: str | None) -> None:
    """Name the representation in the page title of a per-representation notebook."""
    if not rep:
        return
    nb = json.loads(nb_path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            head, _, rest = src.partition("\n")
            if head.startswith("# "):
                cell["source"] = f"{head} ({REPRESENTATION_NAMES.get(rep, rep)})\n{rest}"
            break
    nb_path.write_text(json.dumps(nb, indent=1))


def execute_notebooks(params: dict, steps: list[NotebookStep] | None = None,
                      root: Path | None = None, log=print,
                      jobs: int | None = None) -> list[tuple[str, float]]:
    """Run each notebook with papermill into ``book/generated/``; return (name, seconds).

    ``jobs`` notebooks run side by side (default :func:`default_jobs` for the whole book,
    1 for a list of ``steps``), each as soon as the ones it reads (``NotebookStep.after``)
    are done, each kernel with ``cores // jobs`` threads. A notebook that fails starts no
    further one; those running finish, then the first failure is raised."""
    root = Path(root or project_root()).resolve()
    jobs = jobs or (default_jobs() if steps is None else 1)
    out_dir = root / "book" / "generated"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{out_dir}: cannot write the executed notebooks here ({exc.strerror}); "
                       "run from a writable copy of the project") from None
    failed_dir = _failed_dir(root)
    for stale in out_dir.glob(".running-*"):  # left by a killed run; never shown, never read
        stale.unlink()
    if steps is None:  # a whole run rewrites every player: drop another profile's audio
        shutil.rmtree(root / "book" / "_static" / "audio", ignore_errors=True)
    # the book's audio sink: the players of every page write their WAVs here, linked by URL
    # relative to book/generated/, where the kernels run: no machine's path in the pages
    params = {**params, "audio_dir": os.path.relpath(root / "book" / "_static" / "audio", out_dir)}
    env = {k: v for k, v in MALLOC_ENV.items() if k not in os.environ}
    if os.environ.get(RUNS_ENV):  # the kernels run in book/generated/: a relative path would move
        env[RUNS_ENV] = str(Path(os.environ[RUNS_ENV]).resolve())
    shared = {}
    if jobs > 1:  # the kernels share the cores: torch, OpenMP and BLAS threads each
        threads = str(max(1, (os.cpu_count() or 1) // jobs))
        shared = dict(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
                      OPENBLAS_NUM_THREADS=threads)

    def one(step: NotebookStep) -> tuple[str, float]:
        t0 = time.perf_counter()
        log(f"[specadv] executing {step.notebook} {step.params or ''}".rstrip())
        _execute_one(root, out_dir, failed_dir, step, params)
        return step.output_name, time.perf_counter() - t0

    # papermill's own cwd= changes the process's folder for the call, which two threads
    # would undo under each other: the folder is set once here, for every kernel started
    with _environ(env), contextlib.chdir(out_dir):
        if jobs == 1:
            return [one(step) for step in steps or NOTEBOOKS]
        order = list(steps or _with_ahead(NOTEBOOKS))
        timings = []
        if _is_gate(order):  # every other step waits for it: it runs alone, on every core
            timings.append(one(order.pop(0)))

        def one_or_ahead(step):
            if isinstance(step, AheadStep):
                t0 = time.perf_counter()
                log(f"[specadv] computing ahead: {step.code}")
                _run_ahead(step, params)
                return step.output_name, time.perf_counter() - t0
            return one(step)

        with _environ(shared):
            return timings + _run_side_by_side(order, one_or_ahead, jobs)


def _is_gate(order: list) -> bool:
    """Whether every step after the first waits for the first, directly or through others."""
    if not order:
        return False
    behind = {order[0].output_name}
    for step in order[1:]:
        if not any(_waits_for(step, o) for o in order if o.output_name in behind):
            return False
        behind.add(step.output_name)
    return True


def _with_ahead(steps: list[NotebookStep]) -> list:
    """``steps`` with each :data:`AHEAD` step after the step its ``at`` names."""
    out = []
    for step in steps:
        out.append(step)
        out += [a for a in AHEAD if a.at == step.output_name]
    return out


_AHEAD_CODE = """
import ctypes, json, signal, sys
try:  # die with the runner (Linux): a killed run leaves no process writing into its cache
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if __import__("os").getppid() != int(sys.argv[2]):
    sys.exit("the runner is gone")
from specadv.pipeline import Run
from specadv.roundtrip import REPRESENTATIONS
p = json.loads(sys.argv[1])
run = Run(p.get("profile") or None, p.get("data") or None, p.get("device") or None,
          progress=False)
"""


def _run_ahead(step: AheadStep, params: dict) -> None:
    """Run ``step.code`` in a fresh Python process; a failure raises :class:`RunError` with
    the end of its error output (the notebook that reads the stage would fail the same)."""
    proc = subprocess.run([sys.executable, "-c", _AHEAD_CODE + step.code,
                           json.dumps(params), str(os.getpid())],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RunError(f"{step.name} (stages computed ahead: {step.code}) failed:\n"
                       f"{proc.stderr[-3000:]}")


def _run_side_by_side(steps: list[NotebookStep], one, jobs: int) -> list[tuple[str, float]]:
    """Run ``one(step)`` on up to ``jobs`` threads, each step once the steps it waits for
    (:func:`_waits_for`, among ``steps``) are done; the first failure is raised at the end."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    pending, running, done, timings, failure = list(steps), {}, set(), [], None
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending or running:
            while failure is None and len(running) < jobs:
                ready = next((s for s in pending if not any(
                    _waits_for(s, o) for o in steps if o.output_name not in done)), None)
                if ready is None:
                    break
                pending.remove(ready)
                running[pool.submit(one, ready)] = ready
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                step = running.pop(future)
                try:
                    timings.append(future.result())
                    done.add(step.output_name)
                except RunError as exc:
                    failure = failure or exc
    if failure is not None:
        raise failure
    return timings


def _execute_one(root: Path, out_dir: Path, failed_dir: Path, step: NotebookStep,
                 params: dict) -> None:
    """Execute one notebook into ``.running-<name>``, then rename it onto ``<name>``; on a
    failure keep the executed copy in ``failed_dir`` and raise :class:`RunError`."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    src = root / "notebooks" / step.notebook
    dst = out_dir / step.output_name
    tmp = out_dir / f".running-{step.output_name}"
    try:
        pm.execute_notebook(str(src), str(tmp), parameters={**params, **step.params},
                            kernel_name="python3", progress_bar=False, log_output=False,
                            kernel_manager_class=_kernel_manager_class())
        errors = _error_outputs(tmp)
        if errors:
            cell, msg = errors[0]
            raise RunError(f"{step.notebook}: cell {cell} failed: {msg}")
    except (PapermillExecutionError, RunError) as exc:
        if dst.exists():
            dst.unlink()  # never let a stale copy of a failed notebook reach the book
        if isinstance(exc, PapermillExecutionError):
            msg = (f"{step.notebook}: cell {exc.exec_count or exc.cell_index} failed: "
                   f"{exc.ename}: {exc.evalue}")
        else:
            msg = str(exc)
        kept = _keep_failed(tmp, failed_dir / step.output_name)
        raise RunError(f"{msg}\n  {kept}") from None
    _title_with_representation(tmp, step.params.get("representation"))
    os.replace(tmp, dst)
    # an earlier run's failed copy of this notebook is out of date now that it has run
    with contextlib.suppress(OSError):
        (failed_dir / step.output_name).unlink(missing_ok=True)


def _kernel_manager_class():
    """jupyter_client's kernel manager, with the two messages every kernel printed on the
    terminal taken away at their cause (no log level is changed: a kernel's real errors
    still print).

    - "Kernel is running over TCP without encryption": the manager provisions CurveZMQ keys
      (``transport_encryption``), which ipykernel's kernelspec declares it supports;
    - "KeyboardInterrupt caught in kernel.": jupyter_client interrupts (SIGINT) a kernel
      before asking it to shut down, to stop a running cell; papermill shuts a kernel down
      only once its cells are done, so the signal only reached an idle kernel. A kernel that
      does not answer the shutdown request is still killed (``shutdown_wait_time``).
    """
    import zmq
    from jupyter_client import AsyncKernelManager
    from traitlets import default

    class KernelManager(AsyncKernelManager):
        @default("transport_encryption")
        def _transport_encryption_default(self):
            # "auto": keys where the kernelspec declares Curve support and libzmq has it
            return "auto" if zmq.has("curve") else "disabled"

        async def _async_interrupt_kernel(self):
            if not self.shutting_down:
                await super()._async_interrupt_kernel()

    return KernelManager


@contextlib.contextmanager
def _environ(values: dict[str, str]):
    """Set environment variables (inherited by the kernels) for the block, then restore them."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _failed_dir(root: Path | None = None) -> Path:
    """Where a failed notebook's executed copy is kept: with the cache, in the runs folder
    in use (``SPECADV_RUNS`` too), so that a run writes nowhere else."""
    return runs_folder(root) / "failed-notebooks"


def failed_copies(root: Path | None = None) -> list[Path]:
    """The executed copies of failed notebooks still kept (each is removed once its notebook
    runs to the end)."""
    folder = _failed_dir(root)
    return sorted(folder.glob("*.ipynb")) if folder.is_dir() else []


def _keep_failed(tmp: Path, kept: Path) -> str:
    """Move a failed notebook's executed copy to ``kept``; say where it is (or why it is not)."""
    if not tmp.exists():
        return "no executed copy was written"
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(tmp), kept)
    except OSError as exc:  # the error being reported matters more than the copy
        tmp.unlink(missing_ok=True)
        return f"the executed copy could not be kept in {kept.parent} ({exc.strerror})"
    return f"executed copy kept for inspection: {kept}"


def check_inputs(prof, data: str | None = None, root: Path | None = None) -> None:
    """Fail before any notebook starts on a corpus folder or a run folder that cannot be used.

    Raises :class:`~specadv.data.CorpusError` for a ``data`` folder without GTZAN's
    genre folders (or, for ``folds.kind`` "filtered", without every file of the filtered
    split: :class:`~specadv.data.MissingClipsError`), a
    :class:`~specadv.profiles.ProfileError` for the filtered split on the embedded corpus,
    and :class:`~specadv.artifacts.ArtifactError` for a run folder (``SPECADV_RUNS`` or
    ``<project>/runs``) that cannot be written.
    """
    from specadv.artifacts import Store
    from specadv.data import check_filtered_names, find_genre_root

    folder = data or (prof["corpus"]["path"] if prof["corpus"]["kind"] == "folder" else None)
    if folder:  # given by --data or by the profile's corpus.path
        find_genre_root(folder)
    if prof["folds"]["kind"] == "filtered":
        if not folder and prof["corpus"]["kind"] == "embedded":
            from specadv.profiles import ProfileError

            raise ProfileError(f"profile '{prof.name}': folds.kind 'filtered' is GTZAN's "
                               "fault-filtered split, and the embedded corpus is not GTZAN: "
                               "give a GTZAN copy with --data DIR, or choose "
                               "`folds: {kind: stratified}` (the paper's folds)")
        if folder:
            check_filtered_names(folder)
    runs = Path(os.environ.get(RUNS_ENV) or (root or project_root()) / "runs")
    Store(runs / prof.name)  # probes that the folder can be written


def build_book(root: Path | None = None, strict: bool = True, log=print) -> Path:
    """Build the Jupyter Book (all pages, warnings as errors) into ``_build/html``."""
    root = root or project_root()
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(root), "--all",
           "--path-output", str(root)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    log(f"[specadv] building the book: {' '.join(cmd)}")
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RunError(f"the book build failed (exit {proc.returncode}):\n"
                       f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    index = root / "_build" / "html" / "index.html"
    if not index.is_file():
        raise RunError(f"the book build did not write {index}")
    return index


def run(profile: str | None = None, data: str | None = None, device: str | None = None,
        book: bool = True, log=print) -> dict:
    """Execute every notebook on a profile, then build the book; returns stage timings."""
    from specadv.profiles import load_profile

    prof = load_profile(profile)  # fail early, before any notebook starts, on a bad profile
    check_inputs(prof, data)
    params = {"profile": str(profile or prof.name), "data": str(data) if data else "",
              "device": device or ""}
    t0 = time.perf_counter()
    timings = execute_notebooks(params, log=log)
    left = failed_copies()
    if left:  # of notebooks that failed in an earlier run and have not run since
        log(f"[specadv] executed copies of notebooks that failed in an earlier run are kept in "
            f"{left[0].parent}: {', '.join(p.name for p in left)}; delete them when done")
    result = {"profile": prof.name, "notebooks": timings}
    if book:
        t1 = time.perf_counter()
        result["index"] = str(build_book(log=log))
        result["book_seconds"] = time.perf_counter() - t1
    result["total_seconds"] = time.perf_counter() - t0
    return result
