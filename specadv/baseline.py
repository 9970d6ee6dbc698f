"""A linear baseline for the 2D CNNs: per-band statistics and a logistic regression.

What a CNN must beat to have learned more than each frequency band's level and spread:
every band's mean and standard deviation over time (``2 F`` numbers per segment), a
:class:`~sklearn.preprocessing.StandardScaler` fitted on the training segments and a
:class:`~sklearn.linear_model.LogisticRegression` (``C=0.1``), scored at segment level on
the same folds and the same dB features as the CNN. It is deterministic (lbfgs, no
random state involved) and takes seconds on a CPU.

- :func:`band_statistics`: ``(n, F, T)`` dB -> ``(n, 2 F)`` (means, then stds);
- :func:`linear_baseline_predict`: fit on ``train_idx``, predicted labels of ``test_idx``;
- :func:`linear_baseline_accuracy`: their segment-level accuracy;
- :func:`linear_baseline_folds`: one accuracy per ``(train_idx, test_idx)`` rotation;
- :class:`BandStatsLogistic`: a fitted baseline as a torch model of the dB input, so that
  the 2D CNN's attacks (:func:`specadv.attacks.attack`) run on it unchanged;
- :func:`linear_baseline_attacked`: its accuracy on each rotation under those attacks, at
  the profile's budget: whether an attack moves the CNN more than a model of each band's
  level and spread;
- :func:`dataset_baselines`: both on a run's dataset, in % (``Run.baselines``).
"""
from __future__ import annotations

import numpy as np
import torch

from specadv import attacks as atk

__all__ = ["band_statistics", "linear_baseline_predict", "linear_baseline_accuracy",
           "linear_baseline_folds", "linear_baseline_attacked", "BandStatsLogistic",
           "dataset_baselines", "attacked_names", "BASELINE_C", "BASELINE_ATTACKS"]

BASELINE_C = 0.1
"""Inverse regularisation strength of the logistic regression."""

BASELINE_ATTACKS = atk.attacks_where(baseline=True)
"""The gradient attacks the baseline is put under (the paper's two), where a profile runs
them: those the attack registry marks ``baseline`` (as it is at import; see
:func:`attacked_names`)."""


def attacked_names(names) -> tuple[str, ...]:
    """The attacks of ``names`` (a profile's ``attacks.names``) that the baseline is put
    under: those the attack registry marks ``baseline``, in the registry's order."""
    return tuple(a for a in atk.attacks_where(baseline=True) if a in tuple(names))


_CHUNK = 256  # segments converted to float32 at a time: a float16 memmap stays on disk


def _check_features(features_db) -> None:
    shape = getattr(features_db, "shape", None)
    if shape is None or len(shape) != 3:
        raise ValueError(f"features_db must be dB features of shape (n_segments, n_freq, "
                         f"n_time); got shape {shape}. Pass a whole representation, e.g. "
                         f"Dataset.features('mel'), not one segment")
    if shape[0] < 1 or shape[1] < 1 or shape[2] < 2:
        raise ValueError(f"features_db of shape {tuple(shape)} has no segments, no bands or "
                         f"fewer than 2 frames: a standard deviation over time needs 2")


def band_statistics(features_db) -> np.ndarray:
    """Each frequency band's mean and standard deviation over time.

    Parameters
    ----------
    features_db : array (n_segments, n_freq, n_time)
        dB features (float16 memmaps welcome: read a chunk at a time).

    Returns
    -------
    float64 array (n_segments, 2 * n_freq): the ``n_freq`` means, then the ``n_freq``
    standard deviations (population, ``ddof=0``), in dB.

    Examples
    --------
    >>> band_statistics(np.zeros((3, 64, 431))).shape
    (3, 128)
    """
    _check_features(features_db)
    n, n_freq = features_db.shape[0], features_db.shape[1]
    out = np.empty((n, 2 * n_freq), dtype=np.float64)
    for lo in range(0, n, _CHUNK):
        x = np.asarray(features_db[lo: lo + _CHUNK], dtype=np.float64)
        out[lo: lo + len(x), :n_freq] = x.mean(axis=2)
        out[lo: lo + len(x), n_freq:] = x.std(axis=2)
    return out


def _check_indices(name: str, idx, n: int) -> np.ndarray:
    idx = np.asarray(idx)
    if idx.size == 0:
        raise ValueError(f"{name} is empty: a rotation needs training and test segments")
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"{name} must be a one-dimensional array of segment indices; got "
                         f"dtype {idx.dtype}, shape {idx.shape}")
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"{name} holds indices outside [0, {n}): they must index the rows "
                         f"of features_db")
    return idx.astype(np.int64)


def _check(features_db, labels, train_idx, test_idx):
    _check_features(features_db)
    labels = np.asarray(labels)
    n = features_db.shape[0]
    if labels.shape != (n,):
        raise ValueError(f"labels must have one entry per segment, shape ({n},); got "
                         f"{labels.shape}")
    train_idx = _check_indices("train_idx", train_idx, n)
    test_idx = _check_indices("test_idx", test_idx, n)
    if len(np.unique(labels[train_idx])) < 2:
        raise ValueError("the training segments hold a single class: a classifier needs at "
                         "least two")
    return labels, train_idx, test_idx


def _check_c(C) -> None:
    if not C > 0:
        raise ValueError(f"C must be positive (the inverse regularisation strength); got {C}")


def _fit(stats, labels, train_idx, C):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from threadpoolctl import threadpool_limits

    model = make_pipeline(StandardScaler(), LogisticRegression(C=float(C), max_iter=2000))
    # one BLAS thread: a (segments x 2 F) problem gains nothing from more, and two threads
    # beside a busy core (another notebook, a training) made the fit 4x slower (measured)
    with threadpool_limits(1):
        return model.fit(stats[train_idx], labels[train_idx])


def _fit_predict(stats, labels, train_idx, test_idx, C) -> np.ndarray:
    from threadpoolctl import threadpool_limits

    model = _fit(stats, labels, train_idx, C)
    with threadpool_limits(1):
        return model.predict(stats[test_idx])


class _MeanVar(torch.autograd.Function):
    """Mean and population variance over the last axis, with a two-pass backward
    (``g_mean / T + 2 g_var (x - mean) / T``): torch's own backward of ``var_mean`` took
    four fifths of a BIM on the baseline of the STFT form (measured, CPU)."""

    @staticmethod
    def forward(ctx, x):
        var, mean = torch.var_mean(x, dim=-1, correction=0)
        ctx.save_for_backward(x, mean)
        return mean, var

    @staticmethod
    def backward(ctx, g_mean, g_var):
        x, mean = ctx.saved_tensors
        n = x.shape[-1]
        return torch.addcmul((g_mean / n).unsqueeze(-1), x - mean.unsqueeze(-1),
                             (2.0 * g_var / n).unsqueeze(-1))


class BandStatsLogistic(torch.nn.Module):
    """A fitted baseline as a differentiable model of the dB spectrogram: each band's mean
    and population std over time, the fitted ``StandardScaler``, the fitted logistic
    regression's logits. Input ``(batch, F, T)`` or ``(batch, 1, F, T)``; logits in the
    input's dtype. Its predictions are the scikit-learn
    pipeline's (a test checks), so the 2D CNN's attacks run on it unchanged."""

    def __init__(self, mean, scale, coef, intercept):
        super().__init__()
        for name, value in (("mean", mean), ("scale", scale), ("coef", coef),
                            ("intercept", intercept)):
            self.register_buffer(name, torch.as_tensor(np.asarray(value), dtype=torch.float64))

    @classmethod
    def from_pipeline(cls, pipeline) -> "BandStatsLogistic":
        """From a fitted ``make_pipeline(StandardScaler(), LogisticRegression())``."""
        scaler, logistic = pipeline[0], pipeline[-1]
        coef, intercept = logistic.coef_, logistic.intercept_
        if len(coef) == 1:  # two classes: one decision function, class 1 where it is > 0
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.r_[0.0, intercept]
        return cls(scaler.mean_, scaler.scale_, coef, intercept)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the statistics in the input's precision (a float64 copy of every STFT cell made
        # BIM 2x slower), the rest in float64
        mean, var = _MeanVar.apply(x[:, 0] if x.dim() == 4 else x)
        # the epsilon keeps the gradient finite where a band is constant over time
        stats = torch.cat((mean, torch.sqrt(var + 1e-12)), dim=1).double()
        return (((stats - self.mean) / self.scale) @ self.coef.T + self.intercept).to(x.dtype)


def linear_baseline_predict(features_db, labels, train_idx, test_idx,
                            C: float = BASELINE_C) -> np.ndarray:
    """Fit the baseline on ``train_idx`` and predict the labels of ``test_idx``.

    Per-band mean and std over time (:func:`band_statistics`) -> ``StandardScaler``
    (fitted on the training segments) -> ``LogisticRegression(C=C)`` (lbfgs,
    multinomial, up to 2000 iterations).

    Parameters
    ----------
    features_db : array (n_segments, n_freq, n_time), dB
    labels : int array (n_segments,)
    train_idx, test_idx : int arrays
        Rows of ``features_db`` to fit on and to predict.
    C : float
        Inverse regularisation strength (0.1).

    Returns
    -------
    array (len(test_idx),) of predicted labels, in the order of ``test_idx``.
    """
    labels, train_idx, test_idx = _check(features_db, labels, train_idx, test_idx)
    _check_c(C)
    return _fit_predict(band_statistics(features_db), labels, train_idx, test_idx, C)


def linear_baseline_accuracy(features_db, labels, train_idx, test_idx,
                             C: float = BASELINE_C) -> float:
    """Segment-level accuracy of the baseline trained on ``train_idx``, tested on
    ``test_idx`` (see :func:`linear_baseline_predict`).

    Examples
    --------
    >>> train_idx, test_idx = ds.split(0)                                # doctest: +SKIP
    >>> linear_baseline_accuracy(ds.features("mel"), ds.labels, train_idx, test_idx)  # doctest: +SKIP
    0.71...
    """
    predicted = linear_baseline_predict(features_db, labels, train_idx, test_idx, C)
    return float(np.mean(predicted == np.asarray(labels)[np.asarray(test_idx)]))


def linear_baseline_folds(features_db, labels, splits, C: float = BASELINE_C) -> np.ndarray:
    """The baseline's accuracy on each rotation of ``splits``.

    Parameters
    ----------
    features_db : array (n_segments, n_freq, n_time), dB
    labels : int array (n_segments,)
    splits : iterable of (train_idx, test_idx)
        E.g. ``[ds.split(k) for k in range(ds.n_folds)]``.
    C : float

    Returns
    -------
    float array (n_rotations,) of segment-level accuracies.
    """
    splits = [_check(features_db, labels, tr, te) for tr, te in splits]
    if not splits:
        raise ValueError("splits is empty: give at least one (train_idx, test_idx) pair")
    _check_c(C)
    stats = band_statistics(features_db)  # once for all rotations
    return np.asarray([np.mean(_fit_predict(stats, y, tr, te, C) == y[te])
                       for y, tr, te in splits], dtype=np.float64)


def linear_baseline_attacked(features_db, labels, splits, attacks_profile: dict,
                             names=BASELINE_ATTACKS, C: float = BASELINE_C,
                             batch_size: int = 64) -> dict:
    """The baseline's accuracy on each rotation under each attack of ``names``.

    Each rotation's baseline (fitted as :func:`linear_baseline_folds` fits it) becomes a
    :class:`BandStatsLogistic`, attacked on the test segments by
    :func:`specadv.attacks.attack` with the settings of ``attacks_profile`` (a profile's
    ``attacks`` section: the budget, the steps, the labels, the clip), exactly as the 2D
    CNN is; on CPU, float32 input.

    Returns
    -------
    dict: attack name -> float array (n_rotations,) of segment-level accuracies.
    """
    unknown = set(names) - set(atk.ATTACKS)
    if unknown:
        raise ValueError(f"unknown attacks {sorted(unknown)}; choose from {atk.ATTACKS}")
    splits = [_check(features_db, labels, tr, te) for tr, te in splits]
    if not splits:
        raise ValueError("splits is empty: give at least one (train_idx, test_idx) pair")
    _check_c(C)
    stats = band_statistics(features_db)
    labels_from = "true" if attacks_profile.get("labels") == "true" else "predicted"
    out = {name: [] for name in names}
    for y, tr, te in splits:
        model = BandStatsLogistic.from_pipeline(_fit(stats, y, tr, C)).eval()
        x = torch.from_numpy(np.asarray(features_db[te], dtype=np.float32))
        for name in names:
            x_adv = atk.attack(model, x, name, atk.attack_params(attacks_profile, name),
                               labels=labels_from, y_true=y[te], batch_size=batch_size).x_adv
            with torch.no_grad():
                pred = torch.cat([model(x_adv[lo: lo + batch_size]).argmax(1)
                                  for lo in range(0, len(x_adv), batch_size)])
            out[name].append(float(np.mean(pred.numpy() == y[te])))
    return {name: np.asarray(v, dtype=np.float64) for name, v in out.items()}


def dataset_baselines(ds, rep: str, attacks_profile: dict | None = None,
                      C: float = BASELINE_C) -> dict:
    """The baseline's segment accuracy (%) on each fold of a
    :class:`~specadv.stages.dataset.Dataset`, on representation ``rep``'s stored features:
    trained on every training segment of the fold (the CNN's training and validation
    clips), tested on its test segments; and, given a profile's ``attacks`` section, under
    each of its attacks in :data:`BASELINE_ATTACKS`.

    Returns ``{"accuracy": [% per fold], "attacked": {attack: [% per fold]}}``."""
    splits = [ds.split(k) for k in range(ds.n_folds)]
    features = ds.features(rep)
    acc = linear_baseline_folds(features, ds.labels, splits, C)
    names = attacked_names((attacks_profile or {}).get("names", ()))
    attacked = linear_baseline_attacked(features, ds.labels, splits, attacks_profile, names,
                                        C) if names else {}
    return {"accuracy": [float(100 * a) for a in acc],
            "attacked": {k: [float(100 * a) for a in v] for k, v in attacked.items()}}
