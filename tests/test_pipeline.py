"""Tests of specadv.pipeline: what a changed setting recomputes, on a real (tiny) run.

One module-scoped run (a smoke-derived profile, smaller still: 2 clips per genre, 2 folds,
one epoch, 4 BIM iterations, 2 Griffin-Lim iterations) computes the models, the attacks
and the reconstructions once. Each test then opens a new :class:`Run` with one setting
changed on the same run folder (cache entries of other settings live side by side,
named by their settings' hash) and compares every file's size and mtime before and after.
"""
from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from specadv.pipeline import Run
from specadv.profiles import ProfileError, load_profile
from specadv.roundtrip import REPRESENTATIONS, WAVE
from specadv.stages.attack import FoldAttacks
from specadv.stages.reconstruct import FoldReconstruction
from specadv.stages.results import Results
from specadv.stages.train import FoldModel

NAME = "pipeline-test"
# smoke, smaller: 20 one-segment clips in 2 folds; BIM's 4 steps of 0.1 dB reach its
# 0.3 dB ball, so the float16 bound below is tested where the projection acts
BASE = {"name": NAME, "device": "cpu",
        "corpus": {"clips_per_genre": 2, "seconds": 6.0},
        "folds": {"n_splits": 2},
        "train2d": {"epochs": 1}, "train1d": {"epochs": 1},
        "attacks": {"names": ["fgsm", "bim"], "bim": {"iters": 4}, "sweep_attacks": ["bim"],
                    "sweep_eps": [0.3], "sweep_max_segments": 2},
        "reconstruction": {"n_iter": 2, "nnls_iter": 2}}
N_FOLDS = BASE["folds"]["n_splits"]
LATER = (*(f"attacks-{r}" for r in REPRESENTATIONS), *(f"reconstruction-{r}" for r in REPRESENTATIONS))


def _merge(a: dict, b: dict) -> dict:
    out = copy.deepcopy(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _profile(**changes):
    return load_profile("smoke", **_merge(BASE, changes))


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of the run folder: relative path -> (size, mtime_ns)."""
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


def _entries(root: Path) -> set[str]:
    """The complete cache entries of the run folder, as ``<stage>/<key>``."""
    return {m.parent.relative_to(root).as_posix() for m in root.glob("*/*/manifest.json")}


def _stages(entries) -> dict[str, int]:
    """How many entries of each stage."""
    out: dict[str, int] = {}
    for e in entries:
        out[e.split("/")[0]] = out.get(e.split("/")[0], 0) + 1
    return out


def _rerun(base, **changes):
    """A fresh Run with ``changes`` on the base's folder, its default results built:
    (run, results, entries added, files of the folder before)."""
    before_files, before_entries = _files(base.root), _entries(base.root)
    run = Run(_profile(**changes), runs_dir=base.runs_dir, progress=False)
    res = run.results()
    assert run.root == base.root
    # nothing that existed is rewritten, deleted or touched
    after = _files(base.root)
    changed = {f for f, stat in before_files.items() if after.get(f) != stat}
    assert not changed, f"files of existing entries changed: {sorted(changed)[:5]}"
    return run, res, _entries(base.root) - before_entries


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: on a shared 2-core machine torch's two threads stall whenever
    another process holds a core (the attacks and reconstructions run 5-10x slower)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def base(tmp_path_factory, one_thread):
    runs_dir = tmp_path_factory.mktemp("runs")
    run = Run(_profile(), runs_dir=runs_dir, progress=False)
    res = run.results()
    return SimpleNamespace(run=run, res=res, runs_dir=runs_dir, root=run.root,
                           entries=_entries(run.root))


# -- what a changed setting recomputes ----------------------------------------------------
def test_the_base_run_holds_one_entry_per_stage_kind_and_fold(base):
    assert base.root == (base.runs_dir / NAME).resolve()
    assert _stages(base.entries) == {
        "corpus": 1, "dataset": 1, **{f"model-{k}": N_FOLDS for k in (*REPRESENTATIONS, WAVE)},
        **{f"baseline-{r}": 1 for r in REPRESENTATIONS},  # one entry holds every fold
        **{s: N_FOLDS for s in LATER}}


@pytest.mark.parametrize("changes", [{}, {"device": "auto"}], ids=["same", "device"])
def test_an_unchanged_rerun_in_a_fresh_run_recomputes_nothing(base, changes):
    """(Where a run executes names no cache entry: "auto" is this machine's device.)"""
    before = _files(base.root)
    run, res, added = _rerun(base, **changes)
    assert added == set() and _files(base.root) == before
    for k in range(N_FOLDS):
        assert np.array_equal(res.models["mel"][k].test_probs, base.res.models["mel"][k].test_probs)
        assert np.array_equal(res.attacks["stft"][k].probs["bim"],
                              base.res.attacks["stft"][k].probs["bim"])
        assert np.array_equal(res.reconstructions["mel"][k].metrics["clean"]["snr"],
                              base.res.reconstructions["mel"][k].metrics["clean"]["snr"])


def test_a_moved_run_folder_keeps_its_cache(base, tmp_path):
    """The embedded corpus lives inside the run folder: its path must not name the dataset."""
    import shutil

    moved = tmp_path / "elsewhere"
    shutil.copytree(base.runs_dir, moved)
    run = Run(_profile(), runs_dir=moved, progress=False)
    before = _files(run.root)
    res = run.results()
    assert _files(run.root) == before  # nothing recomputed, nothing added
    assert np.array_equal(res.attacks["mel"][0].probs["bim"], base.res.attacks["mel"][0].probs["bim"])


def test_an_attack_setting_recomputes_the_attacks_reconstructions_and_attacked_baselines_only(base):
    run, res, added = _rerun(base, attacks={"fgsm": {"eps": 0.2}})
    # the baselines are put under the same FGSM: one entry per representation, all folds
    assert _stages(added) == {**{s: N_FOLDS for s in LATER},
                              **{f"baseline-{r}": 1 for r in REPRESENTATIONS}}
    assert run.dataset().key == base.run.dataset().key
    for kind in (*REPRESENTATIONS, WAVE):
        assert [m.key for m in res.models[kind]] == [m.key for m in base.res.models[kind]]
    for fa in res.attacks["mel"]:
        assert f"attacks-mel/{fa.entry.folder.name}" in added
        assert fa.entry.info()["settings"]["attacks"]["fgsm"]["eps"] == 0.2
        d = np.abs(np.asarray(fa.delta("fgsm"), np.float32))
        # FGSM moves each element by 0 (no gradient) or eps: the new eps, not the old 0.3
        assert np.all((d < 1e-6) | (np.abs(d - 0.2) < 1e-3)) and d.max() > 0.19


def test_a_reconstruction_setting_recomputes_the_reconstructions_only(base):
    run, res, added = _rerun(base, reconstruction={"n_iter": 3})
    assert _stages(added) == {f"reconstruction-{r}": N_FOLDS for r in REPRESENTATIONS}
    for rep in REPRESENTATIONS:
        assert ([fa.entry.folder for fa in res.attacks[rep]]
                == [fa.entry.folder for fa in base.res.attacks[rep]])
    new, old = res.reconstructions["mel"][0], base.res.reconstructions["mel"][0]
    assert not np.array_equal(new.metrics["clean"]["snr"], old.metrics["clean"]["snr"])


def test_a_training_setting_recomputes_that_model_kind_and_what_follows(base):
    run, res, added = _rerun(base, train2d={"epochs": 2})
    assert _stages(added) == {**{f"model-{r}": N_FOLDS for r in REPRESENTATIONS},
                              **{s: N_FOLDS for s in LATER}}
    assert [m.key for m in res.models[WAVE]] == [m.key for m in base.res.models[WAVE]]
    assert run.dataset().key == base.run.dataset().key
    for rep in REPRESENTATIONS:
        assert all(len(m.history["loss"]) == 2 for m in res.models[rep])


def test_an_interrupted_entry_is_recomputed_alone(base):
    run = Run(_profile(), runs_dir=base.runs_dir, progress=False)
    victim = base.res.reconstructions["stft"][1]
    entry = run.store.entry("reconstruction-stft", run.key("reconstruction", "stft", 1))
    assert entry.is_complete()
    entry.manifest_path.unlink()  # killed before the manifest, written last
    before = _files(base.root)
    again = run.reconstructions("stft")[1]
    after = _files(base.root)
    changed = {f for f in set(before) | set(after) if before.get(f) != after.get(f)}
    assert changed and all(f.startswith(f"reconstruction-stft/{entry.folder.name}/")
                           for f in changed)
    assert entry.is_complete()
    assert np.array_equal(again.probs["clean"]["stft"], victim.probs["clean"]["stft"])


@pytest.mark.parametrize("key", ["stft_gl_iter", "examples_per_genre"])
def test_removed_reconstruction_keys_are_refused_by_the_profile_loader(tmp_path, key):
    with pytest.raises(ProfileError, match=f"reconstruction.{key}"):
        load_profile("smoke", reconstruction={key: 4})
    f = tmp_path / "old.yaml"
    f.write_text(f"name: old\nreconstruction:\n  {key}: 4\n")
    with pytest.raises(ProfileError, match=f"reconstruction.{key}.*n_iter"):
        Run(f, runs_dir=tmp_path / "runs", progress=False)
    assert not (tmp_path / "runs").exists()  # refused before anything is written


# -- the results bundle ---------------------------------------------------------------------
def test_results_parts_are_typed_stage_results(base):
    res, ds = base.res, base.res.ds
    assert isinstance(res, Results) and res.conditions == ("clean", "fgsm", "bim")
    assert res.attacked == ("fgsm", "bim") and res.profile["name"] == NAME
    for kind in (*REPRESENTATIONS, WAVE):
        assert [type(m) for m in res.models[kind]] == [FoldModel] * N_FOLDS
        assert [m.fold for m in res.models[kind]] == list(range(N_FOLDS))
    for rep, r in REPRESENTATIONS.items():
        for k, fa in enumerate(res.attacks[rep]):
            assert isinstance(fa, FoldAttacks) and (fa.rep, fa.fold) == (rep, k)
            assert np.array_equal(fa.test_idx, ds.split(k)[1])
            delta = fa.delta("bim")
            assert delta.shape == (len(fa.test_idx), *r.feature_shape)
            assert delta.dtype == np.float16
            assert set(fa.probs) == {"fgsm", "bim"}
            assert fa.probs["bim"].shape == (len(fa.test_idx), 10)
        for fr in res.reconstructions[rep]:
            assert isinstance(fr, FoldReconstruction) and fr.conditions == res.conditions
            assert set(fr.probs["bim"]) == {WAVE, *REPRESENTATIONS}
    with pytest.raises(ValueError, match="pgd"):
        res.attacks["mel"][0].delta("pgd")  # not run, and never kept


def test_results_need_names_the_missing_part(base):
    res = base.res
    assert res.aware == {} and res.inversion == []
    with pytest.raises(ValueError, match="'aware'"):
        res.need("aware", "mel")
    with pytest.raises(ValueError, match="'inversion'"):
        res.need("inversion")
    with pytest.raises(ValueError, match="'cqt'"):
        res.need("attacks", "cqt")
    assert res.need("attacks", "mel") is res.attacks["mel"]
    with pytest.raises(ValueError, match="bogus"):
        base.run.results("models", "bogus")


# -- the notebooks' invariants on a real run ----------------------------------------------
def test_dataset_features_have_the_registry_shapes_and_every_fold_is_present(base):
    ds = base.run.dataset()
    assert ds.features("mel").shape == (len(ds), 64, 431)
    assert ds.features("stft").shape == (len(ds), 257, 431)
    for name, r in REPRESENTATIONS.items():
        assert ds.features(name).shape[1:] == r.feature_shape
        assert ds.features(name).dtype == np.float16
    assert set(ds.folds.tolist()) == set(range(ds.n_folds)) and ds.n_folds == N_FOLDS
    assert len(ds) == 20  # 2 clips x 10 genres, one 5-s window in each 6-s clip


def test_trained_2d_cnns_have_the_papers_feature_maps_before_the_flatten(base):
    for rep, maps in (("mel", (12, 103)), ("stft", (60, 103)), ("stft_paper", (60, 103))):
        for fm in base.res.models[rep]:
            assert tuple(fm.model.feature_shape[1:]) == maps


def test_stored_bim_perturbations_stay_within_eps_at_float16_precision(base):
    eps = base.run.profile["attacks"]["bim"]["eps"]
    for rep in REPRESENTATIONS:
        for fa in base.res.attacks[rep]:
            d = np.abs(np.asarray(fa.delta("bim"), np.float32))
            assert d.max() <= eps + 1e-3  # float16 storage: 0.3 is stored as 0.30005
            assert d.max() >= eps - 1e-3  # 4 steps of 0.1: the projection onto the ball acts


@pytest.mark.parametrize("rep", ["stft", "stft_paper"])
def test_the_clean_stft_round_trip_keeps_the_2d_cnns_predictions(base, rep):
    models, recs = base.res.models[rep], base.res.reconstructions[rep]
    same = np.concatenate([m.test_probs.argmax(1) == r.probs["clean"][rep].argmax(1)
                           for m, r in zip(models, recs)])
    assert same.mean() >= 0.95
    for r in recs:  # the original phase makes it exact
        assert np.all(r.metrics["clean"]["snr"] > 60)


def test_the_1d_cnn_hears_the_mel_audio_as_the_authors_wrote_it(base):
    """The written audio's probabilities are the 1D CNN on ``Representation.written`` of the
    reconstruction; the STFT forms keep the level and store none."""
    from specadv.roundtrip import Inversion, probs, representation

    run, r = base.run, representation("mel")
    fr = base.res.reconstructions["mel"][0]
    w = torch.from_numpy(run.dataset().waveforms(fr.test_idx))
    assert len(w) <= run.profile["reconstruction"]["batch_size"]  # one batch: the same phases
    clean = r.extract(w)
    y = r.inverse(clean.db, clean, Inversion.from_profile(run.profile["reconstruction"]))
    expect = probs(run.models(WAVE)[0].model, r.written(y, clean)).numpy()
    np.testing.assert_allclose(fr.written["clean"], expect, atol=1e-5)
    assert set(fr.written) == set(fr.conditions)
    for rep in ("stft", "stft_paper"):
        assert all(rec.written == {} for rec in base.res.reconstructions[rep])
