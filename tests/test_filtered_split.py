"""GTZAN's fault-filtered split (``folds: {kind: filtered}``), on fake GTZAN trees.

The trees hold one short synthetic clip (5 s of noise at 4 kHz, 40 kB) for every file
name of the split's lists, in both layouts (``genres/<g>/<g>.000NN.au`` and
``Data/genres_original/<g>/<g>.000NN.wav``), plus two real GTZAN names that the split
leaves out; a test's own tree is hard links to them, with a file removed or broken.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from specadv import artifacts, data
from specadv.constants import GENRES
from specadv.data import (FILTERED_SPLIT_FILE, FOLD_TRAIN, FOLD_VALIDATION, CorpusError,
                          MissingClipsError, assign_folds, check_filtered_names,
                          filtered_folds, filtered_split, genre_examples, load_corpus)
from specadv.profiles import ProfileError, load_profile

LISTS = filtered_split()
LISTED = sorted(n for names in LISTS.values() for n in names)
UNLISTED = ["classical.00042", "pop.00015"]  # GTZAN files the split leaves out
ROLE_FOLD = {"train": FOLD_TRAIN, "validation": FOLD_VALIDATION, "test": 0}
LAYOUTS = {"au": Path("genres"), "wav": Path("Data") / "genres_original"}
RATE, SECONDS = 4000, 5.0  # read back at 22050 Hz: exactly one 5-s window


def _write_tree(root: Path, ext: str) -> Path:
    import soundfile as sf

    base = root / LAYOUTS[ext]
    rng = np.random.default_rng(0)
    for name in LISTED + UNLISTED:
        genre = name.split(".")[0]
        (base / genre).mkdir(parents=True, exist_ok=True)
        y = 0.1 * rng.standard_normal(int(RATE * SECONDS)).astype(np.float32)
        sf.write(str(base / genre / f"{name}.{ext}"), y, RATE, subtype="PCM_16",
                 format=ext.upper())
    return root


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, Path]:
    """A fake GTZAN tree per layout: every listed file and two unlisted ones."""
    return {ext: _write_tree(tmp_path_factory.mktemp(f"gtzan-{ext}"), ext) for ext in LAYOUTS}


@pytest.fixture(scope="module")
def corpora(trees) -> dict:
    """Each tree, loaded (every file read once)."""
    return {ext: load_corpus(root) for ext, root in trees.items()}


def _variant(tree: Path, dest: Path) -> Path:
    """A copy of ``tree`` made of hard links (a copy where links fail): cheap to alter."""
    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(tree, dest, copy_function=link)
    return dest


def _file(root: Path, name: str, ext: str = "wav") -> Path:
    return root / LAYOUTS[ext] / name.split(".")[0] / f"{name}.{ext}"


def _sizes(corpus, folds) -> dict[str, int]:
    return {role: int(np.sum(folds == f)) for role, f in ROLE_FOLD.items()}


def test_published_lists_have_the_literatures_sizes_and_name_their_source():
    assert {role: len(v) for role, v in LISTS.items()} == {"train": 443, "validation": 197,
                                                           "test": 290}
    assert len(LISTED) == len(set(LISTED)) == 930  # disjoint: no clip in two lists
    for name in LISTED:
        genre, number = name.split(".")
        assert genre in GENRES and len(number) == 5 and number.isdigit()
    assert "jazz.00054" in LISTS["train"]  # the mirrored copy's unreadable file is listed
    doc = json.loads(FILTERED_SPLIT_FILE.read_text())
    assert doc["counts"] == {role: len(v) for role, v in LISTS.items()}
    for cited in ("Kereliuk", "Sturm", "Larsen", "2015", "torchaudio/datasets/gtzan.py",
                  "jordipons/sklearn-audio-transfer-learning"):
        assert cited in doc["source"]
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert '"splits/*.json"' in pyproject  # shipped as package data


@pytest.mark.parametrize("ext", list(LAYOUTS))
def test_both_layouts_split_into_exactly_the_lists_and_report_unlisted_clips(trees, corpora,
                                                                             ext):
    check_filtered_names(trees[ext])  # every listed name is there
    corpus, folds = assign_folds(corpora[ext], "filtered")
    assert _sizes(corpus, folds) == {role: len(v) for role, v in LISTS.items()}
    for role, f in ROLE_FOLD.items():
        assert {c.clip_id for c, k in zip(corpus.clips, folds) if k == f} == set(LISTS[role])
    assert all(c.path.suffix == f".{ext}" for c in corpus.clips)
    left_out = {s.path.stem: s.reason for s in corpus.skipped}
    assert set(left_out) == set(UNLISTED)
    assert all("not in the fault-filtered split (Kereliuk et al. 2015)" in r
               for r in left_out.values())


def test_an_unreadable_listed_file_is_skipped_and_reported_and_the_split_goes_on(trees,
                                                                               tmp_path):
    root = _variant(trees["wav"], tmp_path / "gtzan")
    broken = _file(root, "jazz.00054")
    broken.unlink()  # a hard link: replace it, never write through it
    broken.write_bytes(b"not a wav file at all" * 50)
    check_filtered_names(root)  # present by name: not a missing file
    corpus, folds = filtered_folds(load_corpus(root))
    expected = {role: len(v) for role, v in LISTS.items()}
    expected["train"] -= 1
    assert _sizes(corpus, folds) == expected
    reasons = {s.path.name: s.reason for s in corpus.skipped}
    assert "unreadable" in reasons["jazz.00054.wav"]
    assert sum(expected.values()) == len(LISTED) - sum(s.path.stem in LISTED
                                                       for s in corpus.skipped)


def test_missing_listed_files_give_the_count_the_names_and_the_advice(trees, tmp_path):
    root = _variant(trees["wav"], tmp_path / "partial")
    gone = ["blues.00012", "metal.00000", "rock.00099"]  # one of each list
    for name in gone:
        _file(root, name).unlink()
    for check in (lambda: check_filtered_names(root),
                  lambda: filtered_folds(load_corpus(root))):
        with pytest.raises(MissingClipsError) as err:
            check()
        message = str(err.value)
        assert err.value.missing == gone
        assert "3 of the 930 files of the fault-filtered split" in message
        assert all(name in message for name in gone)
        assert "kind: stratified" in message
    from specadv.runner import check_inputs

    with pytest.raises(MissingClipsError):  # `specadv run` stops before any notebook
        check_inputs(load_profile("paper-filtered"), str(root))


def test_the_embedded_corpus_gives_the_clear_error(tmp_path):
    from specadv.pipeline import Run

    profile = load_profile("smoke", name="filtered-embedded", device="cpu",
                           corpus={"clips_per_genre": 1, "seconds": 5.0},
                           folds={"kind": "filtered"})
    run = Run(profile, runs_dir=tmp_path, progress=False)
    with pytest.raises(MissingClipsError) as err:
        run.dataset()
    # its ten clips (blues.00000, ...) are all listed names: 920 listed files missing
    assert "920 of the 930 files" in str(err.value) and "kind: stratified" in str(err.value)
    assert len(err.value.missing) == 920
    from specadv.runner import check_inputs

    with pytest.raises(ProfileError, match="the embedded corpus is not GTZAN"):
        check_inputs(profile)  # `specadv run` without --data: refused before it starts


def test_paper_filtered_is_the_paper_profile_on_the_filtered_split():
    paper, filtered = load_profile("paper"), load_profile("paper-filtered")
    assert {k for k in paper if paper[k] != filtered[k]} == {"name", "description", "folds"}
    assert paper["folds"]["kind"] == "stratified" and filtered["folds"]["kind"] == "filtered"
    assert filtered["corpus"]["kind"] == "folder"
    with pytest.raises(ProfileError, match="folds.kind must be 'stratified'"):
        load_profile("smoke", folds={"kind": "artist"})


def test_split_is_unchanged_for_stratified_folds_and_validation_is_left_to_training():
    from specadv.stages.dataset import Dataset

    ds = Dataset.__new__(Dataset)  # the arrays alone: no cache entry needed
    ds.folds, ds.split_kind = np.array([0, 1, 2, 1, 0, 2, 2]), "stratified"
    for k in range(3):
        train, test = ds.split(k)
        assert np.array_equal(train, np.flatnonzero(ds.folds != k))
        assert np.array_equal(test, np.flatnonzero(ds.folds == k))
        assert ds.validation(k) is None
    ds.folds = np.array([FOLD_TRAIN, 0, FOLD_VALIDATION, FOLD_TRAIN, 0])
    ds.split_kind = "filtered"
    assert ds.n_folds == 1
    assert [a.tolist() for a in ds.split(0)] == [[0, 3], [1, 4]]
    assert ds.validation(0).tolist() == [2]


def test_examples_are_test_segments_under_the_filtered_split():
    labels = np.repeat(np.arange(10), 3)
    folds = np.tile([FOLD_TRAIN, FOLD_VALIDATION, 0], 10)
    ex = genre_examples(labels, folds, np.arange(30))
    assert len(ex) == 10 and all(folds[i] == 0 for i in ex.values())


def test_stratified_cache_key_is_unchanged_and_the_filtered_one_names_the_lists(trees,
                                                                               tmp_path):
    from specadv.pipeline import Run

    stratified = Run("smoke", data=trees["au"], runs_dir=tmp_path, progress=False)
    assert stratified.key("dataset")["folds"] == {"n_splits": 3, "seed": 7}
    filtered = Run(load_profile("smoke", folds={"kind": "filtered"}), data=trees["au"],
                   runs_dir=tmp_path, progress=False)
    assert filtered.key("dataset")["folds"] == {"n_splits": 3, "seed": 7, "kind": "filtered",
                                                "lists": data.filtered_split_digest()}


def test_a_run_on_the_filtered_split_trains_on_the_train_list_and_validates_on_its_list(
        trees, tmp_path, monkeypatch):
    """The whole path (profile, dataset stage, training stage, tables) on lists cut to 3
    clips per genre and list (jazz.00054 kept, unreadable), in a tree of just those and
    the two unlisted clips: seconds, where the 930 clips take a minute."""
    from specadv import report, training
    from specadv.pipeline import Run

    lists = {role: [] for role in LISTS}
    for role, names in LISTS.items():
        for g in GENRES:
            lists[role] += [n for n in names if n.startswith(f"{g}.")][:3]
    lists["train"].append("jazz.00054")
    monkeypatch.setattr(data, "_filtered_lists",
                        lambda: tuple((role, tuple(lists[role])) for role in ROLE_FOLD))
    root = tmp_path / "gtzan"
    for name in sorted(n for names in lists.values() for n in names) + UNLISTED:
        dest = _file(root, name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(_file(trees["wav"], name), dest)
    _file(root, "jazz.00054").write_bytes(b"\x00garbage" * 100)
    profile = load_profile("smoke", name="filtered-run", device="cpu",
                           folds={"kind": "filtered"}, train2d={"epochs": 1})
    seen = {}
    original = training.train

    def spy(model, x, y, train_idx, val_idx=None, config=None, **kw):
        seen["fit"], seen["val"] = np.asarray(train_idx), np.asarray(val_idx)
        return original(model, x, y, train_idx, val_idx, config, **kw)

    monkeypatch.setattr(training, "train", spy)
    run = Run(profile, data=root, runs_dir=tmp_path / "runs", progress=False)
    ds = run.dataset()
    assert ds.n_folds == 1 and ds.split_kind == "filtered"
    clip_of = np.array([c.clip_id for c in ds.clips])[ds.seg_clip]
    train_idx, test_idx = ds.split(0)
    val_idx = ds.validation(0)
    assert set(clip_of[train_idx]) == set(lists["train"]) - {"jazz.00054"}
    assert set(clip_of[val_idx]) == set(lists["validation"])
    assert set(clip_of[test_idx]) == set(lists["test"])
    assert (len(train_idx), len(val_idx), len(test_idx)) == (30, 30, 30)
    assert len(train_idx) + len(val_idx) + len(test_idx) == len(ds)  # one window per clip
    skipped = {Path(s["path"]).name: s["reason"] for s in ds.skipped}
    assert "unreadable" in skipped["jazz.00054.wav"]
    assert {f"{n}.wav" for n in UNLISTED} <= set(skipped)
    assert set(ds.examples().values()) <= set(test_idx.tolist())

    (fm,) = run.models("mel")
    assert np.array_equal(seen["fit"], train_idx) and np.array_equal(seen["val"], val_idx)
    stored = artifacts.load_npy(run.root / "model-mel" / fm.key / "val_idx.npy")
    assert np.array_equal(stored, val_idx)
    assert np.isfinite(fm.history["val_accuracy"]).all()

    table = report.training_table(ds, [fm])
    assert list(table.index) == ["filtered split", "95% CI low", "95% CI high"]
    summary = report.corpus_summary(ds)
    assert summary.loc["total", "train segments"] == len(train_idx)
    assert summary.loc["total", "validation segments"] == len(val_idx)
    assert summary.loc["total", "test segments"] == len(test_idx)
    acc = report.accuracy_summary(ds, {"mel": [(fm.test_idx, fm.test_probs)]})
    assert "filtered split" in acc.columns and "mean" not in acc.columns
    assert "std" not in acc.columns
    curves = report.plot_learning_curves([fm], "Mel")
    assert [t.get_text() for t in curves.axes[0].get_legend().get_texts()] == [
        "filtered split train", "filtered split validation"]
    confusion = report.plot_confusion(ds, [fm], "Mel")
    assert confusion.axes[0].get_title() == "Mel: segments, the filtered split's test list"
    import matplotlib.pyplot as plt

    plt.close("all")


def test_a_split_with_every_test_file_unreadable_is_refused(corpora):
    corpus = copy.deepcopy(corpora["au"])
    test = set(LISTS["test"])
    corpus.skipped += [data.Skipped(c.path, "unreadable audio") for c in corpus.clips
                       if c.clip_id in test]
    corpus.clips = [c for c in corpus.clips if c.clip_id not in test]
    with pytest.raises(CorpusError, match="no usable clip of the filtered split's test list"):
        filtered_folds(corpus)
