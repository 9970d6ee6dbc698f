"""pytest configuration for the whole project (tests/ and the nbval run of notebooks/)."""
import atexit
import os
import shutil
import tempfile

# The notebooks (nbval) and the runner's tests run on the smallest profile; the kernel
# nbval starts inherits this environment.
os.environ.setdefault("SPECADV_PROFILE", "smoke")
# ... and cache their stages in a folder of their own: the suite never reads or writes the
# user's runs/ (SPECADV_RUNS given to pytest is honoured, e.g. to keep a warm cache).
if "SPECADV_TEST_RUNS" in os.environ:
    os.environ["SPECADV_RUNS"] = os.environ["SPECADV_TEST_RUNS"]
else:
    _runs = tempfile.mkdtemp(prefix="specadv-test-runs-")
    os.environ["SPECADV_RUNS"] = _runs
    atexit.register(shutil.rmtree, _runs, ignore_errors=True)
