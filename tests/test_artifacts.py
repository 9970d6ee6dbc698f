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
