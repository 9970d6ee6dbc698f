"""Samples that represent the test set: :func:`specadv.data.stratified_subset`, and the eps
sweep and the beyond-the-paper subset that draw with it."""
import numpy as np
import pytest
import torch

from specadv.data import stratified_subset


def _fold(counts, start=0):
    """A fold's test segments sorted by clip, as the dataset gives them: genre by genre
    (``counts[g]`` segments of genre ``g``), rows from ``start`` on."""
    labels = np.repeat(np.arange(len(counts)), counts)
    return start + np.arange(len(labels)), labels


@pytest.mark.parametrize("n", [10, 17, 40, 123])
def test_the_subset_spans_every_genre_of_its_fold_in_proportion(n):
    counts = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]  # a fold's genres: near, not quite equal
    idx, labels = _fold(counts, start=1000)
    rows = stratified_subset(idx, labels, n, seed=3)
    assert len(rows) == n and len(np.unique(rows)) == n
    assert np.all(np.diff(rows) > 0) and np.isin(rows, idx).all()  # sorted rows of the fold
    got = np.bincount(labels[rows - 1000], minlength=len(counts))
    quota = n * np.asarray(counts) / sum(counts)
    assert np.all(got >= 1)  # every genre, as n >= 10 genres allows
    assert np.all(np.abs(got - quota) < 1), (got, quota)


def test_every_genre_gets_one_where_n_allows_even_when_its_quota_is_below_one():
    idx, labels = _fold([90, 4, 3, 3])  # quotas at n = 10: 9, 0.4, 0.3, 0.3
    rows = stratified_subset(idx, labels, 10, seed=0)
    assert np.bincount(labels[rows], minlength=4).tolist() == [7, 1, 1, 1]


def test_the_subset_is_seeded_and_independent_of_the_order_given():
    idx, labels = _fold([30] * 10)
    a = stratified_subset(idx, labels, 25, seed=1)
    assert np.array_equal(a, stratified_subset(idx, labels, 25, seed=1))
    assert not np.array_equal(a, stratified_subset(idx, labels, 25, seed=2))
    perm = np.random.default_rng(0).permutation(len(idx))
    assert np.array_equal(a, stratified_subset(idx[perm], labels[perm], 25, seed=1))


def test_n_at_least_the_fold_gives_every_segment_sorted():
    idx, labels = _fold([3, 2, 4])
    shuffled = idx[::-1]
    for n in (len(idx), len(idx) + 5):
        assert np.array_equal(stratified_subset(shuffled, labels[::-1], n, seed=0), idx)


def test_n_below_the_number_of_genres_draws_n_genres_once_each():
    idx, labels = _fold([5] * 10)
    for seed in range(5):
        rows = stratified_subset(idx, labels, 3, seed=seed)
        assert len(rows) == 3 and len(set(labels[rows].tolist())) == 3
    # which genres: drawn with the seed, not always the first ones
    firsts = {tuple(labels[stratified_subset(idx, labels, 3, seed=s)]) for s in range(5)}
    assert len(firsts) > 1


def test_empty_input_and_n_zero_give_no_segments():
    empty = stratified_subset(np.zeros(0, np.int64), np.zeros(0, np.int64), 5, seed=0)
    assert empty.shape == (0,) and empty.dtype == np.int64
    idx, labels = _fold([4, 4])
    assert stratified_subset(idx, labels, 0, seed=0).shape == (0,)


@pytest.mark.parametrize("args, match", [
    (([0, 1, 2], [0, 1], 2), "same length"),
    (([0, 1, 2], [0, 1, 1], -1), "n must be an integer >= 0"),
    (([0, 1, 2], [0, 1, 1], 1.5), "n must be an integer >= 0"),
])
def test_bad_input_is_refused_naming_what_is_wrong(args, match):
    with pytest.raises(ValueError, match=match):
        stratified_subset(*args)


def test_the_eps_sweep_draws_its_segments_across_the_fold():
    """Its rows were the head of the sorted test index: one genre in the demo."""
    from specadv.profiles import load_profile
    from specadv.stages.attack import eps_sweep

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 5, 10))
    idx, y = _fold([6] * 10)
    x_all = np.random.default_rng(0).normal(size=(len(idx), 4, 5)).astype(np.float32)
    a = load_profile("smoke", attacks={"sweep_max_segments": 20, "sweep_eps": [0.3]})["attacks"]
    sweep = eps_sweep(model, x_all, idx, y, a, "predicted", torch.device("cpu"))
    for row in sweep:
        rows = np.asarray(row["idx"])
        assert row["n"] == 20 and np.array_equal(rows, stratified_subset(idx, y[idx], 20, a["seed"]))
        assert np.bincount(y[rows], minlength=10).tolist() == [2] * 10


def test_the_beyond_subset_is_stratified_and_keeps_the_examples():
    from specadv.stages.beyond import subset_positions

    idx, labels = _fold([8] * 10, start=500)
    every_label = np.zeros(600, np.int64)
    every_label[idx] = labels
    examples = [503, 577, 42]  # two in this fold, one not
    pos = subset_positions(idx, every_label, 10, examples, seed=0)
    assert np.all(np.diff(pos) > 0)
    rows = idx[pos]
    assert {503, 577} <= set(rows.tolist()) and 42 not in rows
    drawn = stratified_subset(idx, labels, 10, seed=0)
    assert set(rows.tolist()) == set(drawn.tolist()) | {503, 577}
    assert set(labels[pos].tolist()) == set(range(10))
