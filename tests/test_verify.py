"""The cache knows its contents: ``specadv verify`` and the checks a run makes on load.

One module-scoped run of a tiny smoke-derived profile (20 one-segment clips, 2 folds)
computes the corpus, the dataset and the linear baseline of the Mel representation; the
tests damage its entries as a hand edit or a failing disk would and look for the damage
where it should be found: on load (a result in a manifest), or by ``specadv verify`` (a
byte of a large array, which a load checks by size only).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from specadv import artifacts, cli
from specadv.pipeline import Run
from specadv.profiles import load_profile

NAME = "verify-test"
PROFILE = {"name": NAME, "device": "cpu", "corpus": {"clips_per_genre": 2, "seconds": 6.0},
           "folds": {"n_splits": 2}, "attacks": {"names": ["fgsm", "bim"], "bim": {"iters": 2}}}


def _run(runs_dir) -> Run:
    return Run(load_profile("smoke", **PROFILE), runs_dir=runs_dir, progress=False)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    _run(runs).baselines("mel")
    return runs


@pytest.fixture
def verify(runs_dir, monkeypatch, capsys):
    """``specadv verify --profile verify-test [args]`` on the module's runs folder:
    (exit status, what it printed)."""
    monkeypatch.setenv(artifacts.RUNS_ENV, str(runs_dir))

    def call(*args):
        code = cli.main(["verify", "--profile", NAME, *args])
        captured = capsys.readouterr()
        return code, captured.out + captured.err
    return call


def _only(runs_dir, stage: str):
    folder, = (runs_dir / NAME / stage).glob("*/manifest.json")
    return folder.parent


def test_verify_passes_an_untouched_cache(runs_dir, verify):
    code, out = verify()
    n = len(list((runs_dir / NAME).glob("*/*/manifest.json")))
    assert n >= 3  # corpus, dataset, baseline-mel
    assert code == 0 and f"{n} entries: {n} match their checksums, 0 damaged" in out


def test_an_edited_result_is_reported_and_recomputed_on_load(runs_dir, verify):
    entry = _only(runs_dir, "baseline-mel")
    manifest_path = entry / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    true = list(manifest["accuracy"])
    manifest["accuracy"][0] = 99  # still valid JSON, the settings untouched
    manifest_path.write_text(json.dumps(manifest, indent=1))

    code, out = verify()
    assert code == 1
    assert f"DAMAGED baseline-mel/{entry.name}" in out
    assert f"{manifest_path}: its contents were changed after it was written" in out
    assert f"to recompute it: delete {entry}" in out and f"--profile {NAME}" in out

    # what the book reads: the true figures again, recomputed, with the file named
    with pytest.warns(artifacts.DamagedEntryWarning, match=str(manifest_path)):
        again = _run(runs_dir).baselines("mel")
    assert again == true and 99 not in again
    assert verify()[0] == 0


def test_a_flipped_byte_of_an_array_is_reported_by_verify(runs_dir, verify):
    entry = _only(runs_dir, "dataset")
    features = entry / "stft.npy"
    assert features.stat().st_size > artifacts.HASHED_ON_LOAD_BYTES  # checked by size on load
    with open(features, "r+b") as f:
        f.seek(features.stat().st_size - 1000)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x01]))

    code, out = verify()
    assert code == 1 and f"DAMAGED dataset/{entry.name}" in out
    assert f"{features}: its contents changed after it was written (SHA-256 differs)" in out

    code, out = verify("--remove")
    assert code == 1 and "removed: the next run computes it again" in out
    assert not entry.exists()
    code, out = verify()
    assert code == 0 and "0 damaged" in out


def test_verify_without_a_run_folder_says_where_it_looked(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(artifacts.RUNS_ENV, str(tmp_path / "runs"))
    assert cli.main(["verify", "--profile", "demo"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "runs" / "demo") in err and "SPECADV_RUNS" in err


def test_verify_lists_entries_written_before_checksums_as_unverified(tmp_path, monkeypatch,
                                                                     capsys):
    store = artifacts.Store(tmp_path / "runs" / "old")
    e = store.entry("stage", {"a": 1})
    e.reset()
    artifacts.save_npy(e.path("x.npy"), np.zeros(3))
    artifacts.save_json(e.manifest_path, {"settings": {"a": 1}, "code": artifacts.CODE_VERSION})
    store.entry("stage", {"a": 2}).reset()  # an interrupted entry: no manifest
    monkeypatch.setenv(artifacts.RUNS_ENV, str(tmp_path / "runs"))
    assert cli.main(["verify"]) == 0  # every run folder under the runs folder
    out = capsys.readouterr().out
    assert "2 entries: 0 match their checksums, 0 damaged, 1 unverified, 1 incomplete" in out
    assert f"stage/{e.folder.name}" in out
