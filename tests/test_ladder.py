"""The budget ladder: its stage (specadv.stages.ladder) on a tiny run, and what the report
reads of it (specadv.report.ladder: the matched budget and the ladder's table) on hand-made
results."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from specadv import attacks as atk
from specadv.metrics import BATCH_METRICS
from specadv.report.ladder import ladder_accuracy, ladder_table, matched_budget
from specadv.report.names import PAPER
from specadv.stages.ladder import LEVELS, FoldLadder, ladder_attacks
from specadv.stages.results import Results

BIM, FGSM, NOISE = atk.BIM.name, atk.FGSM.name, atk.control_name()


def _probs(correct: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """One-hot probabilities, right (the label) where ``correct``, else the next class."""
    pred = np.where(correct, labels, (labels + 1) % 10)
    return np.eye(10, dtype=np.float32)[pred]


def _ladder(rep, fold, eps, correct: dict, snr=None, snr_paper=None) -> FoldLadder:
    """A hand-made ladder: ``correct[level][attack]`` ``(n_eps, n)`` 0/1."""
    first = next(iter(next(iter(correct.values())).values()))
    n_eps, n = np.shape(first)
    labels = np.arange(n) % 10
    names = ladder_attacks()
    probs = {lv: {a: np.stack([_probs(np.asarray(r, bool), labels)
                               for r in correct.get(lv, correct["spec"])[a]])
                  for a in names} for lv in LEVELS}
    nan = np.full((n_eps, n), np.nan, np.float32)
    metrics = {a: {m: nan for m in BATCH_METRICS} for a in names}
    for a in names:
        metrics[a] = {**metrics[a], "snr": np.asarray((snr or {}).get(a, nan), np.float32),
                      "snr_paper_clean": np.asarray((snr_paper or {}).get(a, nan), np.float32)}
    return FoldLadder(rep, fold, np.arange(n) + 100 * fold, labels, np.asarray(eps, float),
                      names, probs, metrics, {a: np.zeros((n_eps, n), np.float32) for a in names})


def _rows(accuracies, n=100):
    """0/1 rows (one per budget) with the given accuracies (%) over ``n`` segments."""
    return [[1] * int(round(a * n / 100)) + [0] * (n - int(round(a * n / 100))) for a in accuracies]


def _results(rep, folds_bim_acc, eps=(0.0, 0.1, 0.3, 1.0, 3.0, 10.0)):
    ladders = []
    for k, acc in enumerate(folds_bim_acc):
        rows = _rows(acc)
        ladders.append(_ladder(rep, k, eps, {"spec": {a: rows for a in ladder_attacks()}}))
    return Results(ds=None, conditions=(), ladder={rep: ladders})


# -- the matched budget ------------------------------------------------------------------
def test_the_matched_budget_is_the_first_rung_at_or_below_the_papers_figure():
    # fold means: 80, 60, 40, 12, 5, 1: 3 dB is the first at or below 12.09 (12 <= 12.09)
    res = _results("mel", [[80, 60, 40, 14, 5, 1], [80, 60, 40, 10, 5, 1]])
    assert np.allclose(ladder_accuracy(res, "mel"), [80, 60, 40, 12, 5, 1])
    assert matched_budget(res, "mel", refine=False) == 1.0
    assert PAPER["2d_adv"] == 12.09


def test_the_matched_budget_is_refined_log_linearly_between_rungs():
    res = _results("mel", [[80, 60, 40, 30, 10, 1]])
    # between 1 dB (30%) and 3 dB (10%): 12.09% lies (30 - 12.09) / 20 of the way in log eps
    t = (30 - 12.09) / (30 - 10)
    expect = float(np.exp(np.log(1.0) + t * (np.log(3.0) - np.log(1.0))))
    assert matched_budget(res, "mel") == pytest.approx(expect, rel=1e-9)
    assert 1.0 < matched_budget(res, "mel") < 3.0
    assert matched_budget(res, "mel", refine=False) == 3.0
    # reached exactly at a rung: refining gives that rung
    assert matched_budget(res, "mel", target=10.0) == pytest.approx(3.0)


def test_the_matched_budget_is_none_where_no_rung_reaches_the_papers_figure():
    res = _results("stft", [[90, 85, 80, 60, 40, 20], [90, 85, 80, 60, 40, 13]])
    assert matched_budget(res, "stft") is None
    # but a laxer target is reached; and below the first non-zero rung nothing is refined
    assert matched_budget(res, "stft", target=50.0) == pytest.approx(
        np.exp(np.log(1.0) + (60 - 50) / (60 - 40) * np.log(3.0)))
    easy = _results("stft", [[90, 10, 5, 1, 1, 1]])
    assert matched_budget(easy, "stft") == 0.1


def test_the_matched_budget_refuses_ladders_of_other_budgets_and_missing_ladders():
    a = _results("mel", [[80, 60, 40, 30, 10, 1]]).ladder["mel"][0]
    b = _results("mel", [[80, 60, 40, 30, 10]], eps=(0.0, 0.3, 1.0, 3.0, 10.0)).ladder["mel"][0]
    with pytest.raises(ValueError, match="differ in their budgets"):
        matched_budget(Results(ds=None, conditions=(), ladder={"mel": [a, b]}), "mel")
    with pytest.raises(ValueError, match=r"ladder\['stft'\]"):
        matched_budget(Results(ds=None, conditions=(), ladder={"mel": [a]}), "stft")


# -- the ladder's table ------------------------------------------------------------------
def test_the_ladder_table_holds_hand_computed_values():
    eps = (0.0, 1.0)
    spec = {BIM: [[1, 1, 1, 1], [0, 0, 0, 1]], FGSM: [[1, 1, 1, 1], [0, 1, 0, 1]],
            NOISE: [[1, 1, 1, 1], [1, 1, 1, 1]]}
    wave = {BIM: [[1, 1, 1, 0], [0, 0, 0, 0]], FGSM: [[1, 1, 1, 0], [1, 1, 0, 0]],
            NOISE: [[1, 1, 1, 0], [1, 1, 1, 0]]}
    written = {BIM: [[1, 1, 0, 0], [0, 0, 0, 0]], FGSM: [[1, 1, 0, 0], [1, 0, 0, 0]],
               NOISE: [[1, 1, 0, 0], [1, 1, 0, 0]]}
    inf = np.inf
    snr = {BIM: [[20, 22, inf, 24], [10, 12, 14, 16]], FGSM: [[20, 22, inf, 24], [8, 8, 8, 8]],
           NOISE: [[20, 22, inf, 24], [30, 30, 30, 30]]}
    nan = np.nan
    snr_paper = {a: [[nan] * 4, [15, 15, 17, 17]] for a in ladder_attacks()}
    one = _ladder("mel", 0, eps, {"spec": spec, "wave": wave, "written": written}, snr, snr_paper)
    df = ladder_table(Results(ds=None, conditions=(), ladder={"mel": [one]}), "mel")
    assert list(df.index) == [0.0, 1.0]
    m2d = "2D CNN (Mel) %"
    assert df.loc[1.0, f"{m2d}: BIM"] == 25.0 and df.loc[1.0, f"{m2d}: FGSM"] == 50.0
    assert df.loc[1.0, f"{m2d}: random sign (control)"] == 100.0
    assert df.loc[0.0, f"{m2d}: BIM"] == 100.0
    assert df.loc[1.0, "1D CNN % (level restored): BIM"] == 0.0
    assert df.loc[1.0, "1D CNN % (level restored): random sign (control)"] == 75.0
    assert df.loc[1.0, "1D CNN % (as written): FGSM"] == 25.0
    assert df.loc[0.0, "1D CNN % (as written): BIM"] == 50.0
    # SNR: the mean of the finite values (the exact round trip's inf left out)
    assert df.loc[0.0, "SNR dB: BIM"] == pytest.approx(22.0)
    assert df.loc[1.0, "SNR dB: BIM"] == pytest.approx(13.0)
    assert df.loc[1.0, "SNR (paper) dB: FGSM"] == pytest.approx(16.0)
    assert np.isnan(df.loc[0.0, "SNR (paper) dB: FGSM"])
    # beyond noise and McNemar, restored: control right on 3, BIM on none, 3 right->wrong
    what = "1D CNN (level restored): BIM vs random sign (control)"
    assert df.loc[1.0, f"{what}, beyond noise (points)"] == 75.0
    assert df.loc[1.0, f"{what}, McNemar p"] == pytest.approx(0.25)  # 2 * 0.5 ** 3
    assert df.loc[0.0, f"{what}, McNemar p"] == 1.0  # the same input: no discordant pair
    what = "1D CNN (as written): FGSM vs random sign (control)"
    assert df.loc[1.0, f"{what}, beyond noise (points)"] == 25.0
    assert df.loc[1.0, f"{what}, McNemar p"] == 1.0  # one discordant pair
    assert "1 segments" not in df.columns.name and "4 segments" in df.columns.name


def test_the_ladder_table_means_folds_and_gives_one_fold_alone():
    eps = (0.0, 3.0)
    f0 = _ladder("stft", 0, eps, {"spec": {a: [[1, 1], [0, 0]] for a in ladder_attacks()}})
    f1 = _ladder("stft", 1, eps, {"spec": {a: [[1, 1], [1, 0]] for a in ladder_attacks()}})
    res = Results(ds=None, conditions=(), ladder={"stft": [f0, f1]})
    df = ladder_table(res, "stft")
    assert df.loc[3.0, "2D CNN (STFT) %: BIM"] == 25.0
    assert ladder_table(res, "stft", fold=1).loc[3.0, "2D CNN (STFT) %: BIM"] == 50.0
    assert "fold 2" in ladder_table(res, "stft", fold=1).columns.name
    # the STFT's inverse keeps the level: no "as written" columns
    assert not any("as written" in c for c in df.columns)


# -- the stage on a tiny run -------------------------------------------------------------
TINY = {"name": "ladder-test", "device": "cpu",
        "corpus": {"clips_per_genre": 2, "seconds": 6.0}, "folds": {"n_splits": 2},
        "train2d": {"epochs": 1}, "train1d": {"epochs": 1},
        "attacks": {"names": ["fgsm", "bim"], "bim": {"iters": 3}, "ladder_eps": [3.0, 0.3],
                    "ladder_max_segments": 6},
        "reconstruction": {"n_iter": 2, "nnls_iter": 2, "batch_size": 4}}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from specadv.pipeline import Run
    from specadv.profiles import load_profile

    n = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared 2-core machine: see tests/test_pipeline.py
    try:
        run = Run(load_profile("smoke", **TINY), runs_dir=tmp_path_factory.mktemp("runs"),
                  progress=False)
        yield run, run.results("ladder")
    finally:
        torch.set_num_threads(n)


def test_the_ladder_runs_every_fold_on_a_stratified_subset_of_its_test_segments(tiny):
    run, res = tiny
    ds = run.dataset()
    for rep in res.ladder:
        assert [f.fold for f in res.ladder[rep]] == [0, 1]
        for f in res.ladder[rep]:
            assert isinstance(f, FoldLadder) and f.rep == rep
            test = ds.split(f.fold)[1]
            assert len(f.idx) == 6 and np.isin(f.idx, test).all()
            assert len(set(ds.labels[f.idx].tolist())) == 6  # 6 genres, one segment each
            assert np.array_equal(f.labels, ds.labels[f.idx])
            assert f.eps.tolist() == [0.0, 0.3, 3.0] and f.attacks == ladder_attacks()
            for lv in LEVELS:
                assert f.probs[lv][BIM].shape == (3, 6, 10)


def test_every_rung_keeps_its_budget_and_the_control_spends_all_of_it(tiny):
    _, res = tiny
    for rep, folds in res.ladder.items():
        for f in folds:
            for a in f.attacks:
                linf = f.linf_db[a]
                assert np.all(linf[0] == 0)
                assert np.all(linf <= f.eps[:, None] + 1e-5), (rep, a)
            assert np.allclose(f.linf_db[NOISE], f.eps[:, None], atol=1e-5)
            assert f.linf_db[BIM][2].max() > 0.3 + 1e-3  # 3 dB: beyond the smaller rung


def test_the_zero_budget_rung_is_the_clean_accuracy(tiny):
    run, res = tiny
    for rep, folds in res.ladder.items():
        for f in folds:
            fm = run.models(rep)[f.fold]
            pos = np.searchsorted(fm.test_idx, f.idx)
            np.testing.assert_allclose(f.probs["spec"][BIM][0], fm.test_probs[pos], atol=1e-5)
            for a in f.attacks:  # every attack's rung 0 is the same clean input and audio
                for lv in LEVELS:
                    assert np.array_equal(f.probs[lv][a][0], f.probs[lv][BIM][0])
    # the whole chain at rung 0: the 1D CNN on the clean reconstruction, level restored
    from specadv.roundtrip import WAVE, Inversion, classify_audio, representation

    f = res.ladder["stft"][0]
    r = representation("stft")
    w = torch.from_numpy(run.dataset().waveforms(f.idx))
    clean = r.extract(w)
    y = r.inverse(clean.db, clean, Inversion.from_profile(run.profile["reconstruction"]))
    expect = classify_audio({WAVE: run.models(WAVE)[0].model}, y)[WAVE].numpy()
    np.testing.assert_allclose(f.probs["wave"][BIM][0], expect, atol=1e-5)
    assert np.array_equal(f.probs["written"][BIM], f.probs["wave"][BIM])  # the level is kept


def test_the_ladder_is_cached_and_loads_as_it_was_made(tiny):
    from specadv.pipeline import Run

    run, res = tiny
    again = Run(run.profile, runs_dir=run.root.parent, progress=False).results("ladder")
    for rep in res.ladder:
        for f, g in zip(res.ladder[rep], again.ladder[rep]):
            assert np.array_equal(f.idx, g.idx) and f.attacks == g.attacks
            assert np.array_equal(f.probs["written"][BIM], g.probs["written"][BIM])
            assert np.array_equal(f.metrics[FGSM]["snr"], g.metrics[FGSM]["snr"], equal_nan=True)
            assert g.seconds == f.seconds > 0 and g.device == "cpu"
    assert matched_budget(res, "mel", target=100.0) == 0.0  # anything reaches 100%


def test_the_ladders_settings_name_its_entry_and_no_other_stages():
    from specadv.profiles import load_profile
    from specadv.stages import keys

    p = load_profile("smoke", **TINY)
    q = load_profile("smoke", **{**TINY, "attacks": {**TINY["attacks"], "ladder_eps": [1.0]}})
    models = {"mel": "m", "stft": "s", "stft_paper": "sp", "wave": "w"}
    assert keys.attacks(p, "m") == keys.attacks(q, "m")
    assert keys.ladder(p, models, "mel") != keys.ladder(q, models, "mel")
    assert keys.ladder(p, models, "mel")["models"] == {"mel": "m", "wave": "w"}


@pytest.mark.parametrize("attacks, match", [
    ({"ladder_eps": [0.3, -1.0]}, r"attacks\.ladder_eps must be finite budgets >= 0"),
    ({"ladder_max_segments": 0}, r"attacks\.ladder_max_segments must be a positive integer"),
])
def test_bad_ladder_settings_are_refused_naming_the_key(attacks, match):
    from specadv.profiles import ProfileError, load_profile

    with pytest.raises(ProfileError, match=match):
        load_profile("smoke", attacks=attacks)
