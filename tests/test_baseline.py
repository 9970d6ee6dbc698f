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
