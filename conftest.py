"""pytest configuration for the whole project (tests/ and the nbval run of notebooks/)."""
import atexit
import os
import shutil
import tempfile

# The launch buttons' per-representation copies of notebooks (book/_ext/launch_paths.py):
# nbval runs the notebooks they are copied from; tests/test_launch_paths.py keeps them equal
collect_ignore = ["notebooks/by_representation"]

# Each xdist worker (and the kernels it starts) computes on one thread: two workers share
# the two cores without oversubscribing them. Set before torch is imported.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
# The notebooks (nbval) and the runner's tests run on the smallest profile; the kernel
# nbval starts inherits this environment.
os.environ.setdefault("SPECADV_PROFILE", "smoke")
# ... with the heap settings the runner gives the book's kernels (specadv.runner.MALLOC_ENV)
from specadv.runner import MALLOC_ENV  # noqa: E402

for _k, _v in MALLOC_ENV.items():
    os.environ.setdefault(_k, _v)
# ... and cache their stages in a folder of their own: the suite never reads or writes the
# user's runs/ (SPECADV_RUNS given to pytest is honoured, e.g. to keep a warm cache).
# pytest-xdist's workers (`make test` runs two) start after this and inherit the folder.
if "SPECADV_TEST_RUNS" in os.environ:
    os.environ["SPECADV_RUNS"] = os.environ["SPECADV_TEST_RUNS"]
else:
    _runs = tempfile.mkdtemp(prefix="specadv-test-runs-")
    os.environ["SPECADV_RUNS"] = os.environ["SPECADV_TEST_RUNS"] = _runs
    atexit.register(shutil.rmtree, _runs, ignore_errors=True)


# The reader's own book, pages, players and demo run stay byte-identical through a session
# (tests/user_files.py): snapshotted at the start, compared at the end; any difference
# fails the session and names the files. SPECADV_GUARD=0 skips it (e.g. while a
# `make book` runs in the same tree at the same time).
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))
import user_files  # noqa: E402

_GUARD = os.environ.get("SPECADV_GUARD", "1") != "0"
_before: dict = {}


def pytest_sessionstart(session):
    if _GUARD and not hasattr(session.config, "workerinput"):  # once, in the controller
        _before.update(user_files.snapshot())
        _before["<taken>"] = "yes"


def pytest_sessionfinish(session, exitstatus):
    if not _before:
        return
    before = {k: v for k, v in _before.items() if k != "<taken>"}
    changed = user_files.changes(before, user_files.snapshot())
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"the test session wrote into the reader's tree ({', '.join(user_files.GUARDED)}):",
                 *[f"  {c}" for c in changed[:20]],
                 *([f"  ... and {len(changed) - 20} more"] if len(changed) > 20 else [])]
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True, bold=True)
        else:
            print("\n".join(lines), file=sys.stderr)
        session.exitstatus = 1  # ExitCode.TESTS_FAILED
