import numpy as np
import pytest

from specadv import artifacts


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "a.npy"
    with pytest.raises(RuntimeError):
        with artifacts.atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_npy_round_trip_and_no_pickle(tmp_path):
    a = np.arange(12, dtype=np.float16).reshape(3, 4)
    artifacts.save_npy(tmp_path / "a.npy", a)
    assert np.array_equal(artifacts.load_npy(tmp_path / "a.npy"), a)
    np.save(tmp_path / "obj.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(artifacts.ArtifactError, match="obj.npy"):
        artifacts.load_npy(tmp_path / "obj.npy")


def test_memmap_writer_only_appears_when_complete(tmp_path):
    target = tmp_path / "big.npy"
    with artifacts.open_npy_for_writing(target, (4, 3), np.float16) as arr:
        arr[:] = 1.5
        assert not target.exists()
    assert artifacts.load_npy(target, mmap=True).sum() == 18


def test_entry_is_incomplete_until_committed_and_refuses_other_settings(tmp_path):
    store = artifacts.Store(tmp_path)
    e = store.entry("stage", {"eps": 0.3})
    assert not e.is_complete()
    e.reset()
    artifacts.save_npy(e.path("x.npy"), np.zeros(2))
    assert not e.is_complete()
    e.commit(note="done")
    assert e.is_complete() and e.info()["note"] == "done"
    other = store.entry("stage", {"eps": 0.5})
    assert other.folder != e.folder and not other.is_complete()
    # a manifest whose settings differ (e.g. edited by hand) is not trusted
    artifacts.save_json(e.manifest_path, {"settings": {"eps": 9}, "code": artifacts.CODE_VERSION})
    assert not e.is_complete()
    e.manifest_path.write_text("{not json")
    assert not e.is_complete()


def test_unwritable_run_folder_is_named(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the run folder should go")  # fails even for root
    with pytest.raises(artifacts.ArtifactError, match="cannot be written"):
        artifacts.Store(blocker / "runs")
    with pytest.raises(artifacts.ArtifactError, match="cannot write here"):
        artifacts.save_json(blocker / "x.json", {})


_TWO_PROCESSES = """
import sys, time
from pathlib import Path
from specadv.pipeline import Run

root, log = Path(sys.argv[1]), Path(sys.argv[2])
run = Run("smoke", runs_dir=root, progress=False)

def compute(entry):
    with open(log, "a") as f:
        f.write("computed\\n")
    time.sleep(1.5)  # long enough for the other process to find the entry incomplete
    entry.path("value.txt").write_text("42")
    entry.commit()

print(run.stage("probe", {"x": 1}, compute, lambda e: e.path("value.txt").read_text()))
"""


def test_two_processes_needing_one_entry_compute_it_once(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "probe.py"
    script.write_text(_TWO_PROCESSES)
    log = tmp_path / "computed.log"
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path / "runs"), str(log)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert out.strip() == "42"  # both read the one complete entry
    assert log.read_text().splitlines() == ["computed"]
    # the lock file lives beside the entry's folder: resetting the entry keeps it
    stage = tmp_path / "runs" / "smoke" / "probe"
    assert [p.name for p in stage.iterdir() if p.name.endswith(".lock")]


def test_an_entry_lock_is_released_when_its_holder_dies(tmp_path):
    import subprocess
    import sys

    e = artifacts.Entry(tmp_path / "stage" / "k", {"a": 1})
    code = ("import sys, time; from specadv.artifacts import Entry; from pathlib import Path\n"
            f"e = Entry(Path({str(e.folder)!r}), {{'a': 1}})\n"
            "with e.lock():\n    print('held', flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        holder.kill()
        holder.wait(timeout=30)
        with e.lock():  # a killed run's lock never blocks the resumed run
            pass
    finally:
        if holder.poll() is None:
            holder.kill()


def test_many_processes_may_open_one_run_folder_at_once(tmp_path):
    # each Store probes that its folder can be written; with one shared probe name, one
    # opener removed the file another was about to remove, and that one's run failed
    from concurrent.futures import ThreadPoolExecutor

    root = tmp_path / "runs" / "demo"

    def open_many(_):
        for _ in range(200):
            artifacts.Store(root)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(open_many, range(8)))  # raises the ArtifactError, if any
    assert not [p for p in root.iterdir() if p.name.startswith(".write-test")]
