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
    with pytest.warns(artifacts.DamagedEntryWarning, match="manifest.json: corrupt JSON"):
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


# -- the cache knows its contents -------------------------------------------------------------

def _committed(tmp_path, **arrays):
    """A complete entry holding ``arrays`` as .npy, a small table and the result
    ``accuracy`` in its manifest."""
    e = artifacts.Store(tmp_path / "runs").entry("baseline-mel", {"C": 0.1})
    e.reset()
    for name, a in arrays.items():
        artifacts.save_npy(e.path(f"{name}.npy"), a)
    (e.path("table.csv")).write_text("fold,accuracy\n1,61.5\n")
    e.commit(accuracy=[61.5, 58.25])
    return e


def _fresh(e):
    """The entry as a later run opens it (a new object: its own warning)."""
    return artifacts.Entry(e.folder, e.settings)


def test_a_manifest_records_every_files_size_and_checksum(tmp_path):
    import hashlib

    e = _committed(tmp_path, probs=np.arange(6.0))
    files = e.info()["files"]
    assert sorted(files) == ["probs.npy", "table.csv"]  # not the manifest itself
    for name, rec in files.items():
        data = e.path(name).read_bytes()
        assert rec == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert e.is_complete() and e.check() == []


def test_an_edited_result_in_a_manifest_is_found_on_load_and_recomputed(tmp_path):
    import json

    e = _committed(tmp_path)
    manifest = json.loads(e.manifest_path.read_text())
    manifest["accuracy"][0] = 99  # still valid JSON, the same settings
    e.manifest_path.write_text(json.dumps(manifest))
    with pytest.warns(artifacts.DamagedEntryWarning, match="manifest.json: its contents were "
                      "changed.*treated as missing and computed again"):
        assert not _fresh(e).is_complete()  # Run.stage then resets and recomputes it
    problems = _fresh(e).check()
    assert len(problems) == 1 and str(e.manifest_path) in problems[0]


def test_a_changed_small_file_is_found_on_load(tmp_path):
    e = _committed(tmp_path, probs=np.arange(6.0))
    e.path("table.csv").write_text("fold,accuracy\n1,99.0\n")  # same size, other figure
    with pytest.warns(artifacts.DamagedEntryWarning, match="table.csv: its contents changed"):
        assert not _fresh(e).is_complete()
    raw = bytearray(e.path("probs.npy").read_bytes())
    raw[-1] ^= 0x01
    e.path("probs.npy").write_bytes(bytes(raw))
    assert [p.split(":")[0] for p in _fresh(e).check()] == [str(e.path("probs.npy")),
                                                             str(e.path("table.csv"))]


@pytest.mark.parametrize("name", ["audio.npy", "clip.wav"])
def test_a_flipped_byte_of_a_large_array_or_audio_is_found_by_a_full_check(tmp_path, name):
    big = np.linspace(-1, 1, artifacts.HASHED_ON_LOAD_BYTES // 4 + 1000, dtype=np.float32)
    e = _committed(tmp_path, audio=big)
    if name == "clip.wav":  # audio, however short: a corpus's clips
        e = artifacts.Store(tmp_path / "runs").entry("corpus", {"seed": 0})
        e.reset()
        e.path(name).write_bytes(b"RIFF" + bytes(range(256)) * 4)
        e.commit()
    path = e.path(name)
    with open(path, "r+b") as f:  # one bit of one sample, in the middle of the data
        f.seek(path.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x10]))
    # on load, large arrays and audio are checked by size only (hashing GBs on every load
    # would cost seconds): the full check finds it
    assert _fresh(e).is_complete()
    problems = _fresh(e).check(full=True)
    assert problems == [f"{path}: its contents changed after it was written (SHA-256 differs)"]


def test_a_truncated_or_missing_array_is_found_on_load(tmp_path):
    big = np.zeros(artifacts.HASHED_ON_LOAD_BYTES // 4 + 1000, dtype=np.float32)
    e = _committed(tmp_path, audio=big, probs=np.arange(3.0))
    size = e.path("audio.npy").stat().st_size
    with open(e.path("audio.npy"), "r+b") as f:
        f.truncate(size - 4)
    e.path("probs.npy").unlink()
    with pytest.warns(artifacts.DamagedEntryWarning) as caught:
        assert not _fresh(e).is_complete()
    msg = str(caught[0].message)
    assert f"{e.path('audio.npy')}: {size - 4} bytes, {size} when written" in msg
    assert f"{e.path('probs.npy')}: missing" in msg


def test_an_entry_written_before_checksums_loads_unverified(tmp_path):
    # what specadv wrote before manifests recorded their files: loaded as it is (recomputing
    # every entry of a GPU run for no sign of damage would cost hours), reported unverified
    e = artifacts.Store(tmp_path).entry("stage", {"eps": 0.3})
    e.reset()
    artifacts.save_npy(e.path("x.npy"), np.zeros(2))
    artifacts.save_json(e.manifest_path, {"settings": {"eps": 0.3},
                                          "code": artifacts.CODE_VERSION, "note": "old"})
    assert _fresh(e).is_complete() and e.info()["note"] == "old"
    assert _fresh(e).check() is None


def test_commit_refuses_a_result_named_like_the_manifests_own_keys(tmp_path):
    e = artifacts.Store(tmp_path).entry("stage", {"a": 1})
    e.reset()
    with pytest.raises(ValueError, match="'files'"):
        e.commit(files=["x"])
    assert not e.manifest_path.exists()


def test_shrink_npy_keeps_the_first_rows_without_a_copy(tmp_path):
    path = tmp_path / "audio.npy"
    with artifacts.open_npy_for_writing(path, (10_000_000, 2), np.float32) as a:
        a[:3] = [[1, 2], [3, 4], [5, 6]]
    inode = path.stat().st_ino
    artifacts.shrink_npy(path, 3)
    assert path.stat().st_ino == inode  # rewritten in place
    assert np.array_equal(np.load(path), [[1, 2], [3, 4], [5, 6]])
    header = artifacts.load_npy(path, mmap=True).offset
    assert path.stat().st_size == header + 3 * 2 * 4  # the header and three rows
    with pytest.raises(artifacts.ArtifactError, match="cannot keep 4 rows"):
        artifacts.shrink_npy(path, 4)
