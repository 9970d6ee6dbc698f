"""Accuracy at segment and track level, confusion matrices and summaries over folds.

Pure functions over prediction arrays (no model, no files):

- :func:`segment_accuracy` scores each 5-s segment on its own;
- :func:`track_predictions` / :func:`track_accuracy` combine the segments of a clip
  by majority vote or by the sum of their class probabilities, over all segments or
  only the first N (the paper's N = 1, 6, 12, 18, 21);
- :func:`confusion_matrix` counts true (rows) against predicted (columns) labels;
- :func:`fold_summary` gives the mean and the sample standard deviation over folds;
- :func:`bootstrap_ci` a confidence interval that resamples clips, :func:`mcnemar`
  a paired test between two sets of predictions, :func:`transfer_stats` whether
  adversarial examples of one model fool another (the transfer rate).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["segment_accuracy", "track_predictions", "track_labels", "track_accuracy",
           "confusion_matrix", "fold_summary", "FoldSummary", "TRACK_RULES", "PAPER_FIRST_N",
           "bootstrap_ci", "mcnemar", "transfer_stats"]

TRACK_RULES = ("vote", "sum")
PAPER_FIRST_N = (1, 6, 12, 18, 21)


def _labels(pred) -> np.ndarray:
    """Predicted labels from labels ``(n,)`` or scores ``(n, n_classes)`` (argmax)."""
    pred = np.asarray(pred)
    return pred.argmax(axis=1) if pred.ndim == 2 else pred


def segment_accuracy(y_true, y_pred) -> float:
    """Share of segments whose predicted label is the true one.

    ``y_pred`` is labels ``(n,)`` or probabilities/logits ``(n, n_classes)``.
    NaN for no segments.
    """
    y_true = np.asarray(y_true)
    y_pred = _labels(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and predictions {y_pred.shape} differ in shape")
    return float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")


def _first_n_mask(inverse: np.ndarray, segment_index, first_n: int | None) -> np.ndarray:
    """Keep the first ``first_n`` segments of each clip, in segment-index order."""
    n = len(inverse)
    if first_n is None:
        return np.ones(n, dtype=bool)
    if first_n < 1:
        raise ValueError(f"first_n must be at least 1, not {first_n}")
    position = np.arange(n) if segment_index is None else np.asarray(segment_index)
    if len(position) != n:
        raise ValueError("segment_index and clip_index differ in length")
    order = np.lexsort((np.arange(n), position, inverse))
    sorted_clip = inverse[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_clip)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - group_start
    return rank < first_n


def track_predictions(probs, clip_index, segment_index=None, rule: str = "vote",
                      first_n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One predicted label per clip, from the predictions of its segments.

    Parameters
    ----------
    probs : array (n, n_classes) or (n,)
        Class probabilities of each segment, or predicted labels (then only
        ``rule="vote"``, ties going to the lowest label).
    clip_index : array (n,)
        The clip of each segment (ids or indices).
    segment_index : array (n,) or None
        Position of each segment in its clip; orders the segments for ``first_n``
        (None: the order of the rows).
    rule : {"vote", "sum"}
        "vote": the label predicted for most segments. A tie goes to the tied label
        with the larger summed probability, then to the lowest label.
        "sum": the label with the largest sum of probabilities (a tie: lowest label).
    first_n : int or None
        Use only the first ``first_n`` segments of each clip (by segment index;
        a clip with fewer segments uses all of them). The paper's N: 1, 6, 12, 18, 21.

    Returns
    -------
    clip_ids : array (n_clips,)
        Sorted unique values of ``clip_index``.
    labels : int64 array (n_clips,)

    Examples
    --------
    >>> probs = np.array([[.9, .1], [.4, .6], [.45, .55]])
    >>> track_predictions(probs, [0, 0, 0], rule="vote")[1]
    array([1])
    >>> track_predictions(probs, [0, 0, 0], rule="sum")[1]
    array([0])
    """
    if rule not in TRACK_RULES:
        raise ValueError(f"rule must be one of {TRACK_RULES}, not {rule!r}")
    probs = np.asarray(probs)
    clip_index = np.asarray(clip_index)
    if len(probs) != len(clip_index):
        raise ValueError(f"probs ({len(probs)}) and clip_index ({len(clip_index)}) "
                         f"differ in length")
    clips, inverse = np.unique(clip_index, return_inverse=True)
    keep = _first_n_mask(inverse, segment_index, first_n)
    inverse_kept = inverse[keep]
    if probs.ndim == 1:
        if rule == "sum":
            raise ValueError("rule='sum' needs probabilities (n, n_classes), not labels")
        labels = probs.astype(np.int64)[keep]
        n_classes = int(labels.max()) + 1 if len(labels) else 1
        scores = np.zeros((len(labels), n_classes))  # ties go to the lowest label
    else:
        scores = probs[keep].astype(np.float64)
        labels = scores.argmax(axis=1)
        n_classes = scores.shape[1]
    sums = np.zeros((len(clips), n_classes))
    np.add.at(sums, inverse_kept, scores)
    if rule == "sum":
        return clips, sums.argmax(axis=1).astype(np.int64)
    votes = np.zeros((len(clips), n_classes), dtype=np.int64)
    np.add.at(votes, (inverse_kept, labels), 1)
    tied = votes == votes.max(axis=1, keepdims=True)
    # argmax returns the first maximum: among equal sums, the lowest label
    return clips, np.where(tied, sums, -np.inf).argmax(axis=1).astype(np.int64)


def track_labels(y_true, clip_index) -> tuple[np.ndarray, np.ndarray]:
    """The true label of each clip (sorted clip ids, labels); all its segments must agree."""
    y_true = np.asarray(y_true)
    clips, inverse = np.unique(np.asarray(clip_index), return_inverse=True)
    labels = np.empty(len(clips), dtype=np.int64)
    labels[inverse] = y_true
    if np.any(labels[inverse] != y_true):
        raise ValueError("a clip has segments with different true labels")
    return clips, labels


def track_accuracy(probs, y_true, clip_index, segment_index=None, rule: str = "vote",
                   first_n: int | None = None) -> float:
    """Share of clips whose combined prediction (see :func:`track_predictions`) is right.

    ``y_true`` is the label of each segment ``(n,)``.
    """
    _, truth = track_labels(y_true, clip_index)
    _, pred = track_predictions(probs, clip_index, segment_index, rule=rule, first_n=first_n)
    return float(np.mean(truth == pred)) if len(truth) else float("nan")


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Counts ``(n_classes, n_classes)``: row = true label, column = predicted label.

    ``y_pred`` is labels or scores ``(n, n_classes)`` (argmax).
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = _labels(y_pred).astype(np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and predictions {y_pred.shape} differ in shape")
    for name, v in (("y_true", y_true), ("y_pred", y_pred)):
        if len(v) and (v.min() < 0 or v.max() >= n_classes):
            raise ValueError(f"{name} holds labels outside [0, {n_classes})")
    out = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(out, (y_true, y_pred), 1)
    return out


@dataclass(frozen=True)
class FoldSummary:
    """Mean and spread of one figure over the folds."""

    mean: float
    std: float  # sample standard deviation (ddof as given, 1 by default)
    min: float
    max: float
    n: int
    ddof: int

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.std:.4f} (n={self.n})"


def fold_summary(per_fold_values, ddof: int = 1) -> FoldSummary:
    """Mean and standard deviation of a figure over folds.

    The standard deviation is the *sample* one (``ddof=1``, divisor n - 1) by default:
    the three folds are a sample of possible splits. Pass ``ddof=0`` for the
    population formula (numpy's default). With a single fold the sample std is NaN.
    """
    v = np.asarray(per_fold_values, dtype=np.float64).ravel()
    n = len(v)
    if n == 0:
        raise ValueError("fold_summary needs at least one value")
    std = float(np.std(v, ddof=ddof)) if n > ddof else float("nan")
    return FoldSummary(mean=float(v.mean()), std=std, min=float(v.min()), max=float(v.max()),
                       n=n, ddof=ddof)


# -- statistics and transfer (the controls the paper lacked) ---------------------------------
def bootstrap_ci(values, clusters, folds=None, n_boot: int = 2000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """Mean over folds of a per-unit mean, with a percentile bootstrap interval over clusters.

    The units (segments, or tracks) of one clip are not independent: the interval
    resamples whole *clusters* (clips) with replacement, within each fold, recomputes
    each fold's mean (sum of the resampled clips' values over their number of units)
    and averages over folds, as the tables do.

    Parameters
    ----------
    values : array (n,)
        One value per unit, e.g. 1.0 for a correct segment and 0.0 for a wrong one.
    clusters : array (n,)
        The cluster (clip) of each unit.
    folds : array (n,), optional
        The fold of each unit; the estimate is the mean of the per-fold means.
        None: one fold.
    n_boot, level, seed : resamples, coverage, and the seed of the resampling.

    Returns
    -------
    (estimate, low, high)

    Examples
    --------
    >>> bootstrap_ci([1, 1, 0, 0], [0, 0, 1, 1], n_boot=200)[0]
    0.5
    """
    values = np.asarray(values, dtype=np.float64)
    clusters = np.asarray(clusters)
    folds = np.zeros(len(values), dtype=np.int64) if folds is None else np.asarray(folds)
    if not (len(values) == len(clusters) == len(folds)):
        raise ValueError(f"values ({len(values)}), clusters ({len(clusters)}) and folds "
                         f"({len(folds)}) differ in length")
    if len(values) == 0:
        return float("nan"), float("nan"), float("nan")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), not {level}")
    rng = np.random.default_rng(seed)
    estimate, boot = [], []
    for f in np.unique(folds):
        keep = folds == f
        _, inverse = np.unique(clusters[keep], return_inverse=True)
        sums = np.bincount(inverse, weights=values[keep])
        counts = np.bincount(inverse).astype(np.float64)
        estimate.append(sums.sum() / counts.sum())
        draw = rng.integers(0, len(sums), size=(n_boot, len(sums)))
        boot.append(sums[draw].sum(axis=1) / counts[draw].sum(axis=1))
    boot = np.mean(boot, axis=0)
    alpha = (1 - level) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha])
    return float(np.mean(estimate)), float(low), float(high)


def mcnemar(correct_a, correct_b) -> dict:
    """McNemar's exact test between two paired sets of predictions of the same units.

    ``b`` counts units right under A and wrong under B, ``c`` the reverse; under the
    null hypothesis (same error rate) ``b`` is Binomial(b + c, 1/2). The p-value is
    the exact two-sided binomial one (scipy's ``binomtest``); 1.0 when ``b + c = 0``.

    Returns
    -------
    dict with ``n``, ``b``, ``c``, ``accuracy_a``, ``accuracy_b`` and ``p``.
    """
    from scipy.stats import binomtest

    a = np.asarray(correct_a, dtype=bool)
    b_ = np.asarray(correct_b, dtype=bool)
    if a.shape != b_.shape:
        raise ValueError(f"paired predictions differ in shape: {a.shape} and {b_.shape}")
    b, c = int(np.sum(a & ~b_)), int(np.sum(~a & b_))
    p = 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5).pvalue)
    return {"n": int(a.size), "b": b, "c": c, "accuracy_a": float(a.mean()) if a.size else
            float("nan"), "accuracy_b": float(b_.mean()) if b_.size else float("nan"), "p": p}


def transfer_stats(y_true, source_clean, source_adv, target_clean, target_adv) -> dict:
    """Whether adversarial examples made against a source model also fool a target model.

    All four predictions are of the same units (labels, or scores ``(n, n_classes)``):
    the source model on the legitimate and the adversarial input, the target model on
    the clean and the adversarial version of *its* input (here: audio reconstructed from
    the clean and from the adversarial spectrogram).

    An adversarial example is *successful* on the source when the source classifies the
    legitimate input correctly and the adversarial one wrongly. The **transfer rate**,
    as the transferability literature defines it (Papernot et al. 2016; Tramer et al.
    2017), is the share of successful source adversarials that also fool the target,
    counted among those the target classifies correctly in their clean version, so that
    errors the target makes anyway (here: those the reconstruction alone causes) are not
    counted as transfer.

    Returns
    -------
    dict:
        ``n``; ``fooled`` (successful source adversarials) and ``not_fooled`` (source
        right on the legitimate input and still right on the adversarial one);
        ``target_clean_fooled`` / ``target_adv_fooled``: target accuracy on the clean /
        adversarial versions of the fooled units (``..._not_fooled`` likewise);
        ``eligible``: fooled units the target gets right when clean;
        ``transferred``: of those, how many the target gets wrong when adversarial;
        ``transfer_rate`` = transferred / eligible (NaN when none is eligible).
    """
    y = np.asarray(y_true)
    sc, sa, tc, ta = (_labels(p) == y for p in (source_clean, source_adv, target_clean,
                                                  target_adv))
    if not (sc.shape == sa.shape == tc.shape == ta.shape == y.shape):
        raise ValueError("transfer_stats: all predictions must be of the same units")
    fooled, held = sc & ~sa, sc & sa

    def acc(correct, mask):
        return float(correct[mask].mean()) if mask.any() else float("nan")

    eligible = fooled & tc
    transferred = int(np.sum(eligible & ~ta))
    return {"n": int(y.size), "fooled": int(fooled.sum()), "not_fooled": int(held.sum()),
            "target_clean_fooled": acc(tc, fooled), "target_adv_fooled": acc(ta, fooled),
            "target_clean_not_fooled": acc(tc, held), "target_adv_not_fooled": acc(ta, held),
            "eligible": int(eligible.sum()), "transferred": transferred,
            "transfer_rate": transferred / int(eligible.sum()) if eligible.any()
            else float("nan")}
N_BOOT = 2000


def ds_accuracies(ds, idx, probs) -> dict[str, float]:
    """Segment accuracy and track accuracy (majority vote, sum of probabilities), in %."""

    y, clips, segs = ds.labels[idx], ds.seg_clip[idx], ds.seg_index[idx]
    return {"segment": 100 * segment_accuracy(y, probs),
            "track (vote)": 100 * track_accuracy(probs, y, clips, segs, rule="vote"),
            "track (sum)": 100 * track_accuracy(probs, y, clips, segs, rule="sum")}


def ds_accuracy_ci(ds, pairs, level: str = "segment", n_boot: int = N_BOOT, seed: int = 0):
    """Mean over folds of an accuracy (%) and its 95% bootstrap interval over clips.

    ``pairs``: one ``(segment indices, probabilities)`` per fold. Segment level
    resamples the clips of each fold with all their segments; track level resamples
    the clips' combined predictions (:func:`specadv.evaluation.bootstrap_ci`).
    Returns ``(estimate, low, high)`` in %.
    """

    values, clusters, folds = [], [], []
    for k, (idx, probs) in enumerate(pairs):
        idx = np.asarray(idx)
        y, clips = ds.labels[idx], ds.seg_clip[idx]
        if level == "segment":
            values.append(np.asarray(probs).argmax(1) == y)
            clusters.append(clips)
            folds.append(np.full(len(idx), k))
        else:
            rule = {"track (vote)": "vote", "track (sum)": "sum"}[level]
            ids, truth = track_labels(y, clips)
            _, pred = track_predictions(probs, clips, ds.seg_index[idx], rule=rule)
            values.append(pred == truth)
            clusters.append(ids)
            folds.append(np.full(len(ids), k))
    est, lo, hi = bootstrap_ci(np.concatenate(values), np.concatenate(clusters),
                                  np.concatenate(folds), n_boot=n_boot, seed=seed)
    return 100 * est, 100 * lo, 100 * hi


def sweep_intervals(ds, per_fold: list[list[dict]], name: str) -> np.ndarray:
    """(low, high) % per eps of one sweep attack: bootstrap over clips within folds."""

    out = []
    for j in range(len(per_fold[0])):
        rows = [f[j] for f in per_fold]
        idx = np.concatenate([r["idx"] for r in rows]).astype(np.int64)
        correct = np.concatenate([r[f"{name}_correct"] for r in rows])
        folds = np.concatenate([np.full(len(r["idx"]), k) for k, r in enumerate(rows)])
        out.append(bootstrap_ci(correct, ds.seg_clip[idx], folds, n_boot=N_BOOT)[1:])
    return 100 * np.asarray(out)


def pooled_accuracy(ds, parts) -> float:
    """Accuracy (%) of concatenated ``(idx, probs)`` parts."""
    idx = np.concatenate([p[0] for p in parts])
    probs = np.concatenate([p[1] for p in parts])
    return 100 * float(np.mean(probs.argmax(1) == ds.labels[idx]))
