"""Tests of specadv.baseline: per-band statistics and the logistic-regression baseline."""
import numpy as np
import pytest

from specadv.baseline import (band_statistics, linear_baseline_accuracy, linear_baseline_folds,
                              linear_baseline_predict)


def _synthetic(n_per_class=30, n_classes=4, n_freq=16, n_time=40, seed=0):
    """Noise spectrograms whose class raises one band's level (a separable task)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    x = rng.normal(-40.0, 3.0, size=(len(labels), n_freq, n_time))
    x[np.arange(len(labels)), 2 * labels] += 12.0
    order = rng.permutation(len(labels))
    return x[order].astype(np.float16), labels[order]


def _halves(n):
    idx = np.arange(n)
    return idx[idx % 2 == 0], idx[idx % 2 == 1]


def test_band_statistics_are_means_then_stds_over_time():
    x = np.zeros((2, 3, 4))
    x[0, 1] = [0.0, 2.0, 0.0, 2.0]  # mean 1, std 1
    x[1] = -5.0
    stats = band_statistics(x)
    assert stats.shape == (2, 6)
    np.testing.assert_allclose(stats[0], [0, 1, 0, 0, 1, 0])
    np.testing.assert_allclose(stats[1], [-5, -5, -5, 0, 0, 0])


def test_band_statistics_reads_a_float16_memmap_in_chunks(tmp_path):
    x, _ = _synthetic(n_per_class=80)  # 320 segments: more than one chunk
    np.save(tmp_path / "x.npy", x)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(band_statistics(mm),
                               np.concatenate([x64.mean(2), x64.std(2)], axis=1), rtol=1e-12)


def test_separable_synthetic_data_is_classified_almost_perfectly():
    x, y = _synthetic()
    train_idx, test_idx = _halves(len(y))
    assert linear_baseline_accuracy(x, y, train_idx, test_idx) >= 0.98


def test_shuffled_labels_score_near_chance():
    x, y = _synthetic(n_per_class=60)
    y = np.random.default_rng(1).permutation(y)
    train_idx, test_idx = _halves(len(y))
    assert linear_baseline_accuracy(x, y, train_idx, test_idx) < 0.4  # chance: 0.25


def test_baseline_is_deterministic_and_folds_match_single_calls():
    x, y = _synthetic()
    a, b = _halves(len(y))
    splits = [(a, b), (b, a)]
    folds = linear_baseline_folds(x, y, splits)
    assert folds.shape == (2,)
    assert folds[0] == linear_baseline_accuracy(x, y, a, b)
    assert folds[1] == linear_baseline_accuracy(x, y, b, a)
    np.testing.assert_array_equal(linear_baseline_folds(x, y, splits), folds)
    pred = linear_baseline_predict(x, y, a, b)
    assert pred.shape == (len(b),) and set(pred) <= set(y)


@pytest.mark.parametrize("shape", [(10, 64), (10, 4, 8, 2), (10, 4, 1), (0, 4, 8)])
def test_features_that_are_not_n_by_freq_by_time_are_refused(shape):
    with pytest.raises(ValueError, match="features_db"):
        linear_baseline_accuracy(np.zeros(shape), np.zeros(shape[0], int), [0], [1])


def test_bad_labels_and_indices_are_refused():
    x, y = _synthetic()
    a, b = _halves(len(y))
    with pytest.raises(ValueError, match="one entry per segment"):
        linear_baseline_accuracy(x, y[:-1], a, b)
    with pytest.raises(ValueError, match="test_idx holds indices outside"):
        linear_baseline_accuracy(x, y, a, [len(y)])
    with pytest.raises(ValueError, match="train_idx is empty"):
        linear_baseline_accuracy(x, y, [], b)
    with pytest.raises(ValueError, match="train_idx must be a one-dimensional"):
        linear_baseline_accuracy(x, y, a.astype(float), b)
    with pytest.raises(ValueError, match="single class"):
        linear_baseline_accuracy(x, np.zeros_like(y), a, b)
    with pytest.raises(ValueError, match="C must be positive"):
        linear_baseline_accuracy(x, y, a, b, C=0.0)
    with pytest.raises(ValueError, match="splits is empty"):
        linear_baseline_folds(x, y, [])


# -- the baseline under the 2D CNN's attacks ----------------------------------------------
_ATTACKS = {"names": ["fgsm", "bim", "random_sign"], "labels": "predicted", "clip": False,
            "fgsm": {"eps": 0.3}, "bim": {"eps": 0.3, "step": 0.1, "iters": 10}}


def _fitted(x, y, train_idx):
    from specadv.baseline import _fit

    return _fit(band_statistics(x), y, train_idx, 0.1)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_the_torch_baseline_predicts_what_the_fitted_pipeline_predicts(n_classes):
    import torch

    from specadv.baseline import BandStatsLogistic

    x, y = _synthetic(n_classes=n_classes, seed=3)
    # a level per segment and band, constant over time: the classes overlap
    x = x.astype(np.float32) + np.random.default_rng(4).normal(
        0, 6, (*x.shape[:2], 1)).astype(np.float32)
    a, b = _halves(len(y))
    pipe = _fitted(x, y, a)
    model = BandStatsLogistic.from_pipeline(pipe)
    xb = torch.from_numpy(x[b])
    with torch.no_grad():
        logits = model(xb)
        assert torch.equal(model(xb[:, None]), logits)  # (batch, 1, F, T) as well
    expected = pipe.predict(band_statistics(x[b]))
    assert 0.5 < np.mean(expected == y[b]) < 1.0  # noisy enough that some are wrong
    np.testing.assert_array_equal(logits.argmax(1).numpy(), expected)


def test_the_baselines_mean_and_variance_have_the_gradient_of_var_mean():
    import torch

    from specadv.baseline import _MeanVar

    x = torch.randn(3, 4, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_MeanVar.apply, (x,))
    mean, var = _MeanVar.apply(x)
    ref_var, ref_mean = torch.var_mean(x, dim=-1, correction=0)
    torch.testing.assert_close((mean, var), (ref_mean, ref_var))


def test_an_attack_far_below_the_class_gap_keeps_the_baseline_one_far_above_breaks_it():
    """A class raises one band by 12 dB over 3-dB noise: a band mean moves by at most eps
    under an L-infinity budget, so 0.1 dB changes no prediction and 8 dB (lower the class'
    band, raise another's: 12 - 2 * 8 < 0) turns almost every one."""
    from specadv.baseline import linear_baseline_attacked

    x, y = _synthetic(n_per_class=40)
    splits = [_halves(len(y))]
    clean = linear_baseline_folds(x, y, splits)[0]
    assert clean >= 0.98
    small = linear_baseline_attacked(x, y, splits, {**_ATTACKS, "fgsm": {"eps": 0.1},
                                                    "bim": {"eps": 0.1, "step": 0.04, "iters": 10}})
    assert set(small) == {"fgsm", "bim"}
    assert small["fgsm"][0] == clean and small["bim"][0] == clean
    large = linear_baseline_attacked(x, y, splits, {**_ATTACKS, "bim": {"eps": 8.0, "step": 1.0,
                                                    "iters": 20}}, names=("bim",))
    assert set(large) == {"bim"} and large["bim"][0] <= 0.1


def test_the_baseline_attacks_refuse_an_unknown_attack_and_no_splits():
    from specadv.baseline import linear_baseline_attacked

    x, y = _synthetic()
    with pytest.raises(ValueError, match="unknown attacks"):
        linear_baseline_attacked(x, y, [_halves(len(y))], _ATTACKS, names=("deepfool",))
    with pytest.raises(ValueError, match="splits is empty"):
        linear_baseline_attacked(x, y, [], _ATTACKS)


class _FakeDataset:
    """What dataset_baselines reads of a Dataset: features, labels and the folds."""

    def __init__(self, x, y, n_folds=2):
        self.x, self.labels, self.n_folds = x, y, n_folds

    def features(self, rep):
        assert rep == "mel"
        return self.x

    def split(self, k):
        idx = np.arange(len(self.labels))
        return idx[idx % self.n_folds != k], idx[idx % self.n_folds == k]


def test_dataset_baselines_gives_percentages_per_fold_and_only_the_profiles_attacks():
    from specadv.baseline import dataset_baselines, linear_baseline_attacked

    x, y = _synthetic(n_per_class=20)
    ds = _FakeDataset(x, y)
    splits = [ds.split(k) for k in range(2)]
    out = dataset_baselines(ds, "mel", {**_ATTACKS, "names": ["bim", "random_sign"]})
    np.testing.assert_allclose(out["accuracy"], 100 * linear_baseline_folds(x, y, splits))
    assert list(out["attacked"]) == ["bim"]  # FGSM is not in the profile; random sign has no model
    np.testing.assert_allclose(out["attacked"]["bim"],
                               100 * linear_baseline_attacked(x, y, splits, _ATTACKS, ("bim",))["bim"])
    assert dataset_baselines(ds, "mel")["attacked"] == {}


def test_attacked_names_keeps_the_baseline_attacks_of_a_profile_in_their_order():
    from specadv.baseline import BASELINE_ATTACKS, attacked_names

    assert attacked_names(["random_sign", "bim", "pgd", "fgsm"]) == BASELINE_ATTACKS == ("fgsm", "bim")
    assert attacked_names(("bim", "random_sign")) == ("bim",)
    assert attacked_names(["random_sign", "pgd"]) == ()
