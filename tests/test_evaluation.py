"""Tests of specadv.evaluation on hand-made predictions."""
import math

import numpy as np
import pytest

from specadv import evaluation as ev
from specadv.evaluation import (confusion_matrix, fold_summary, segment_accuracy,
                                track_accuracy, track_labels, track_predictions)


def test_segment_accuracy_from_labels_and_from_probabilities():
    assert segment_accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    probs = np.array([[.9, .1], [.2, .8], [.6, .4]])
    assert segment_accuracy([0, 1, 1], probs) == pytest.approx(2 / 3)
    assert math.isnan(segment_accuracy([], []))


def test_vote_picks_the_majority_label():
    probs = np.array([[.9, .1, 0], [.4, .6, 0], [.45, .55, 0],   # clip 7: votes 0, 1, 1
                      [0, .2, .8]])                                # clip 3: vote 2
    clips, labels = track_predictions(probs, [7, 7, 7, 3], rule="vote")
    assert clips.tolist() == [3, 7]
    assert labels.tolist() == [2, 1]


def test_sum_rule_can_disagree_with_the_vote():
    probs = np.array([[.9, .1], [.4, .6], [.45, .55]])
    assert track_predictions(probs, [0, 0, 0], rule="vote")[1].tolist() == [1]
    assert track_predictions(probs, [0, 0, 0], rule="sum")[1].tolist() == [0]  # 1.75 vs 1.25


def test_vote_tie_goes_to_larger_summed_probability():
    # one vote each for classes 0 and 2
    probs = np.array([[.6, .1, .3], [.4, .1, .5]])
    # tied classes 0 and 2; sums 1.0 vs 0.8 -> 0
    assert track_predictions(probs, ["a", "a"], rule="vote")[1].tolist() == [0]
    probs = np.array([[.5, .1, .4], [.1, .1, .8]])
    # tied classes 0 and 2; sums 0.6 vs 1.2 -> 2
    assert track_predictions(probs, ["a", "a"], rule="vote")[1].tolist() == [2]


def test_vote_tie_with_equal_sums_goes_to_lowest_label():
    probs = np.array([[.25, .75], [.75, .25]])
    assert track_predictions(probs, [1, 1], rule="vote")[1].tolist() == [0]
    assert track_predictions(probs, [1, 1], rule="sum")[1].tolist() == [0]


def test_vote_on_labels_alone_breaks_ties_by_lowest_label():
    clips, labels = track_predictions(np.array([3, 1, 1, 3, 2]), [0, 0, 0, 0, 1])
    assert labels.tolist() == [1, 2]
    with pytest.raises(ValueError, match="needs probabilities"):
        track_predictions(np.array([3, 1]), [0, 0], rule="sum")


def test_first_n_uses_the_earliest_segments_by_segment_index():
    # one clip, rows out of order; segments 0 and 1 say class 1, later ones class 0
    probs = np.array([[.9, .1], [.2, .8], [.8, .2], [.3, .7], [.7, .3]])
    seg = np.array([4, 1, 2, 0, 3])
    clip = np.zeros(5, dtype=int)
    assert track_predictions(probs, clip, seg, rule="vote", first_n=1)[1].tolist() == [1]
    assert track_predictions(probs, clip, seg, rule="vote", first_n=2)[1].tolist() == [1]
    assert track_predictions(probs, clip, seg, rule="vote", first_n=5)[1].tolist() == [0]
    assert track_predictions(probs, clip, seg, rule="vote", first_n=21)[1].tolist() == [0]
    assert track_predictions(probs, clip, seg, rule="sum", first_n=2)[1].tolist() == [1]


def test_first_n_ranks_within_each_clip_with_gaps_in_segment_index():
    # clip 0 lost segment 0 (silence): its first segment is index 1
    probs = np.array([[.1, .9], [.9, .1], [.8, .2], [.2, .8]])
    clip = np.array([0, 0, 5, 5])
    seg = np.array([1, 2, 0, 1])
    clips, labels = track_predictions(probs, clip, seg, rule="vote", first_n=1)
    assert clips.tolist() == [0, 5] and labels.tolist() == [1, 0]


def test_track_accuracy_counts_clips_not_segments():
    probs = np.array([[.9, .1], [.8, .2], [.7, .3],  # clip 0 (true 0): right
                      [.6, .4]])                      # clip 1 (true 1): wrong
    y = np.array([0, 0, 0, 1])
    assert track_accuracy(probs, y, [0, 0, 0, 1]) == 0.5
    assert segment_accuracy(y, probs) == 0.75


def test_track_labels_refuses_a_clip_with_two_labels():
    with pytest.raises(ValueError, match="different true labels"):
        track_labels([0, 1], [4, 4])


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="rule"):
        track_predictions(np.eye(2), [0, 1], rule="max")


def test_confusion_matrix_rows_are_true_labels():
    cm = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], n_classes=3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert cm.sum() == 6
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix([0, 3], [0, 0], n_classes=3)


def test_fold_summary_uses_sample_std_by_default():
    s = fold_summary([0.80, 0.82, 0.84])
    assert s.mean == pytest.approx(0.82)
    assert s.std == pytest.approx(0.02)  # sqrt(((.02)^2 * 2) / 2)
    assert fold_summary([0.80, 0.82, 0.84], ddof=0).std == pytest.approx(np.sqrt(0.0008 / 3))
    assert (s.min, s.max, s.n) == (0.80, 0.84, 3)
    assert math.isnan(fold_summary([0.5]).std)


# -- statistics and transfer ---------------------------------------------------------------
def test_bootstrap_interval_covers_a_known_mean_near_its_nominal_rate():
    # clustered data: 80 clips of 12 segments, each clip with its own accuracy drawn around
    # 0.6; the population accuracy is 0.6. A naive per-segment interval would under-cover.
    rng = np.random.default_rng(1)
    covered, n_sim = 0, 300
    for _ in range(n_sim):
        p = rng.beta(3, 2, size=80)  # mean 0.6
        values = (rng.random((80, 12)) < p[:, None]).astype(float).ravel()
        clusters = np.repeat(np.arange(80), 12)
        est, lo, hi = ev.bootstrap_ci(values, clusters, n_boot=600, seed=int(rng.integers(1e9)))
        assert lo <= est <= hi
        covered += lo <= 0.6 <= hi
    assert 0.90 <= covered / n_sim <= 0.99


def test_bootstrap_averages_folds_and_is_seeded():
    values = np.array([1, 1, 1, 0, 0, 0, 1, 0], float)
    clusters = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    folds = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    est, lo, hi = ev.bootstrap_ci(values, clusters, folds, n_boot=500, seed=3)
    assert est == pytest.approx((3 / 4 + 1 / 4) / 2)
    assert (est, lo, hi) == ev.bootstrap_ci(values, clusters, folds, n_boot=500, seed=3)
    # the interval resamples clips: a fold of identical clips has no spread
    assert ev.bootstrap_ci([1, 0, 1, 0], [0, 0, 1, 1], n_boot=200)[1:] == (0.5, 0.5)
    with pytest.raises(ValueError, match="differ in length"):
        ev.bootstrap_ci([1, 0], [0])


def test_mcnemar_agrees_with_the_hand_computed_exact_test():
    from math import comb

    # 2x2 table: both right 20, A only 9 (b), B only 2 (c), both wrong 5
    a = np.array([1] * 20 + [1] * 9 + [0] * 2 + [0] * 5, bool)
    b = np.array([1] * 20 + [0] * 9 + [1] * 2 + [0] * 5, bool)
    out = ev.mcnemar(a, b)
    assert (out["b"], out["c"], out["n"]) == (9, 2, 36)
    hand = min(1.0, 2 * sum(comb(11, k) for k in range(0, 3)) / 2 ** 11)  # 2 P(X <= 2)
    assert out["p"] == pytest.approx(hand)  # 0.0654...
    assert out["accuracy_a"] == pytest.approx(29 / 36) and out["accuracy_b"] == pytest.approx(22 / 36)
    assert ev.mcnemar(a, a)["p"] == 1.0


def test_transfer_stats_on_hand_made_predictions():
    y = np.array([0, 0, 0, 0, 0, 0, 0, 0])
    src_clean = np.array([0, 0, 0, 0, 0, 0, 1, 0])   # unit 6: source wrong already
    src_adv = np.array([1, 1, 1, 1, 0, 0, 1, 1])     # fooled: 0, 1, 2, 3, 7; held: 4, 5
    tgt_clean = np.array([0, 0, 0, 2, 0, 0, 0, 0])   # unit 3: target wrong when clean
    tgt_adv = np.array([3, 3, 0, 3, 0, 3, 0, 0])
    s = ev.transfer_stats(y, src_clean, src_adv, tgt_clean, tgt_adv)
    assert (s["fooled"], s["not_fooled"], s["eligible"], s["transferred"]) == (5, 2, 4, 2)
    assert s["transfer_rate"] == pytest.approx(2 / 4)
    assert s["target_clean_fooled"] == pytest.approx(4 / 5)
    assert s["target_adv_fooled"] == pytest.approx(2 / 5)   # 2 and 7
    assert s["target_adv_not_fooled"] == pytest.approx(1 / 2)
    # scores are argmax-ed like labels
    eye = np.eye(4)
    assert ev.transfer_stats(y, eye[src_clean], eye[src_adv], eye[tgt_clean], eye[tgt_adv]) == s
    none = ev.transfer_stats(y, y, y, y, y)
    assert none["fooled"] == 0 and np.isnan(none["transfer_rate"])
