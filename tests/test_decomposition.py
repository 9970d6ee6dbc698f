"""Tests of specadv.report.decomposition on hand-made results: what the 1D CNN's drop is made of.

The fake dataset of test_report (6 clips of 2 segments, 2 folds of 6 test segments); every
prediction is a 0/1 mask of which test segments it gets right, so every figure is a count.
"""
from __future__ import annotations

import numpy as np
import pytest

from specadv import evaluation as ev
from specadv import report
from specadv.stages.reconstruct import FoldReconstruction
from specadv.stages.results import Results
from specadv.stages.train import FoldModel
from test_report import FakeDataset, _mean_acc, _probs

CONDITIONS = ("clean", "random_sign", "bim")
ALL = [1] * 6
# (fold 1, fold 2) masks of the 1D CNN
WAVE = (ALL, [1, 1, 1, 1, 1, 0])                                      # 100, 83.3
RESTORED = {"clean": ([1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]),         # 83.3, 66.7
            "random_sign": ([1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 0, 0]),
            "bim": ([1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0])}
WRITTEN = {"clean": ([1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]),          # the level lost
           "random_sign": (ALL, ALL),
           "bim": ([0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1])}            # 6 flips vs the control


@pytest.fixture(scope="module")
def res():
    ds = FakeDataset()
    models = {"wave": [], "mel": [], "stft": []}
    recs = {"mel": [], "stft": []}
    for k in range(2):
        test = ds.split(k)[1]
        y = ds.labels[test]
        for kind in models:
            models[kind].append(FoldModel(kind, k, None, {"loss": [1.0]}, 1, 0.5, test,
                                          _probs(y, WAVE[k]), 1.0, f"{kind}-{k}"))
        for rep in recs:
            probs = {c: {"wave": _probs(y, RESTORED[c][k])} for c in CONDITIONS}
            written = {c: _probs(y, WRITTEN[c][k]) for c in CONDITIONS} if rep == "mel" else {}
            recs[rep].append(FoldReconstruction(rep, k, test, 1.0, {c: {} for c in CONDITIONS},
                                                probs, [], {}, written))
    return Results(ds, CONDITIONS, "cpu", {"name": "hand"}, models=models, reconstructions=recs)


def test_the_table_has_every_row_restored_and_as_written_with_hand_counted_accuracies(res):
    df = report.decomposition_table(res, "mel")
    assert list(df.index) == [
        "original audio", "clean reconstruction, level restored",
        "random sign (control), level restored", "BIM, level restored",
        "clean reconstruction, as written", "random sign (control), as written", "BIM, as written"]
    assert df.loc["original audio", "mean"] == pytest.approx(_mean_acc(WAVE))
    assert df.loc["BIM, level restored", "fold 1"] == pytest.approx(50.0)
    assert df.loc["BIM, as written", "mean"] == pytest.approx(50.0)
    assert df.loc["BIM, as written", "drop from original (points)"] == pytest.approx(
        _mean_acc(WAVE) - 50.0)
    # McNemar against the control of the same level: 6 segments right -> wrong, none back
    assert df.loc["BIM, as written", "vs random sign: right->wrong / wrong->right"] == "6 / 0"
    assert df.loc["BIM, as written", "vs random sign: McNemar p"] == pytest.approx(2 * 0.5 ** 6)
    restored = ev.mcnemar(np.concatenate(RESTORED["random_sign"]).astype(bool),
                          np.concatenate(RESTORED["bim"]).astype(bool))
    assert df.loc["BIM, level restored", "vs random sign: McNemar p"] == pytest.approx(restored["p"])
    assert np.isnan(df.loc["original audio", "vs random sign: McNemar p"])
    for row in df.index:
        assert df.loc[row, "95% CI low"] <= df.loc[row, "mean"] <= df.loc[row, "95% CI high"]


def test_a_representation_that_keeps_the_level_has_no_written_rows(res):
    df = report.decomposition_table(res, "stft")
    assert not any("as written" in i for i in df.index)
    assert "as written = restored" in df.index.name
    d = report.drop(res, "stft", "bim")
    assert d.parts["level"] == 0.0 and not d.level_applies
    assert d.final == pytest.approx(_mean_acc(RESTORED["bim"]))


def test_the_parts_of_the_drop_add_up_to_the_whole_and_are_each_a_difference(res):
    d = report.drop(res, "mel", "bim")
    orig = _mean_acc(WAVE)
    restored, written = _mean_acc(RESTORED["clean"]), _mean_acc(WRITTEN["clean"])
    noise, final = _mean_acc(WRITTEN["random_sign"]), _mean_acc(WRITTEN["bim"])
    assert d.parts == pytest.approx({"reconstruction": orig - restored,
                                     "level": restored - written, "noise": written - noise,
                                     "attack beyond noise": noise - final})
    assert sum(d.parts.values()) == pytest.approx(d.total) == pytest.approx(orig - final)
    lo, hi = d.beyond_ci
    assert lo <= d.parts["attack beyond noise"] <= hi
    assert d.p == pytest.approx(2 * 0.5 ** 6)


def test_the_sentence_chooses_its_words_from_the_numbers(res):
    d = report.drop(res, "mel", "bim")
    text = report.drop_sentence(d)
    assert "does more to the 1D CNN than random noise" in text and "a drop of" in text
    assert f"share is {100 * d.parts['attack beyond noise'] / d.total:.0f}% of the drop" in text
    assert f"{d.parts['attack beyond noise']:+.1f}" in text and "lost level" in text
    same = report.Drop("stft", "bim", 80.0, 60.0, {"reconstruction": 10.0, "level": 0.0,
                                                   "noise": 10.0, "attack beyond noise": 0.0},
                       (-3.0, 3.0), 1.0, False)
    text = report.drop_sentence(same)
    assert "no more to the 1D CNN than random noise" in text and "no transfer" in text
    assert "lost level" not in text and "share" not in text  # no share claimed without the test
    less = report.Drop("stft", "bim", 80.0, 85.0, {"reconstruction": 0.0, "level": 0.0,
                                                   "noise": 0.0, "attack beyond noise": -5.0},
                       (-8.0, -2.0), 0.01, False)
    text = report.drop_sentence(less)
    assert "a rise of 5.0" in text and "less than random noise" in text
    flat = report.Drop("mel", "bim", 70.0, 70.0, dict.fromkeys(report.PARTS, 0.0), (0, 0), 1.0,
                       True)
    assert "no drop to split" in report.drop_sentence(flat)


def test_the_figure_has_a_bar_per_representation_and_attack(res):
    import matplotlib

    matplotlib.use("Agg")
    fig = report.plot_decomposition(res, attacks=("bim",))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Mel", "STFT"]
    # four signed parts per representation, stacked
    assert len(ax.patches) == 4 * 2
    heights = sorted(round(p.get_height(), 6) for p in ax.patches[:4])
    d = report.drop(res, "mel", "bim")
    assert heights == sorted(round(v, 6) for v in d.parts.values())
