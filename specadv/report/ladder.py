"""The budget ladder, read: the matched budget and the ladder's table.

:func:`matched_budget` finds where BIM takes the 2D CNN as low as the paper reports
(12.09%, :data:`~specadv.report.names.PAPER`), so that the transfer to the 1D CNN can be
judged where the attack does fool the 2D CNN; :func:`ladder_table` gives, per budget, the 2D
CNN under each attack and the control, the 1D CNN on the audio of each, the SNRs and
McNemar's test of each attack against the control. Both read the typed results of
:mod:`specadv.stages.ladder` (``res.ladder[rep]``, one per fold) and compute no stage.
"""
from __future__ import annotations

import math

import numpy as np

from specadv import attacks as atk
from specadv import evaluation as ev
from specadv.report.decomposition import LEVELS as LEVEL_NAMES
from specadv.report.names import ATTACK_NAMES, MODEL_NAMES, PAPER, fold_name
from specadv.roundtrip import representation

__all__ = ["ladder_budgets_of", "ladder_accuracy", "matched_budget", "ladder_table"]


def _ladders(res, rep: str) -> list:
    ladders = res.need("ladder", rep)
    eps = np.asarray(ladders[0].eps, np.float64)
    for f in ladders[1:]:
        if not np.array_equal(np.asarray(f.eps, np.float64), eps):
            raise ValueError(f"the ladders of {rep} differ in their budgets across folds "
                             f"({list(eps)} and {list(f.eps)}): build them with one profile")
    return ladders


def ladder_budgets_of(res, rep: str) -> np.ndarray:
    """The budgets (dB) of the ladder of ``rep``, ascending, the first 0."""
    return np.asarray(_ladders(res, rep)[0].eps, np.float64)


def ladder_accuracy(res, rep: str, attack: str = atk.BIM.name, level: str = "spec",
                    fold: int | None = None) -> np.ndarray:
    """Segment accuracy (%) per budget under ``attack``: of the 2D CNN on the perturbed
    spectrogram (``level="spec"``) or of the 1D CNN on its audio (``"wave"``: level restored;
    ``"written"``: as the authors' inverse writes it); the mean over folds, or fold
    ``fold``'s."""
    ladders = _ladders(res, rep)
    if fold is not None:
        return ladders[fold].accuracy(attack, level)
    return np.mean([f.accuracy(attack, level) for f in ladders], axis=0)


def matched_budget(res, rep: str, target: float = PAPER["2d_adv"], attack: str = atk.BIM.name,
                   refine: bool = True) -> float | None:
    """The budget (dB) at which ``attack`` takes the 2D CNN of ``rep`` to ``target`` (%)
    or below: by default BIM and the paper's 12.09%.

    The 2D CNN's accuracy is the mean over folds at each budget of the ladder. The answer
    is the smallest budget of the ladder at which it is at or below ``target``; with
    ``refine``, it is then refined between that rung and the one below it (above
    ``target``) by log-linear interpolation: the accuracy taken as linear in the log of the
    budget between the two rungs, the budget where that line meets ``target``. Below the
    first non-zero rung (whose neighbour is the clean input, budget 0) nothing is refined.

    Returns
    -------
    float, or ``None`` when no budget of the ladder takes the 2D CNN that low.
    """
    eps = ladder_budgets_of(res, rep)
    acc = ladder_accuracy(res, rep, attack)
    reached = np.flatnonzero(acc <= target)
    if len(reached) == 0:
        return None
    j = int(reached[0])
    if not refine or j == 0 or eps[j - 1] <= 0:
        return float(eps[j])
    lo, hi = math.log(eps[j - 1]), math.log(eps[j])
    t = (acc[j - 1] - target) / (acc[j - 1] - acc[j])
    return float(math.exp(lo + t * (hi - lo)))


def _finite_mean(v) -> float:
    """Mean of the finite values (an exact round trip's SNR is infinite); NaN if none."""
    v = np.asarray(v, np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def ladder_table(res, rep: str, fold: int | None = None):
    """The ladder of ``rep`` as a table: one row per budget (dB).

    Columns, for each attack of the ladder and the random-sign control: the 2D CNN's
    accuracy (%) on the perturbed spectrogram; the 1D CNN's accuracy (%) on its audio,
    level restored, and as written where the representation's inverse loses the level;
    the standard SNR (dB, against the original) and the paper's SNR (dB, against the
    clean reconstruction, as the authors measured the attacked audio; blank at budget 0),
    each the mean over segments where finite. For each attack: how many points more the
    1D CNN loses to the attack's audio than to the control's ("beyond noise") and
    McNemar's exact p of the attack against the control on the same segments, at each
    level. Accuracies and SNRs are means over folds (``fold=None``; McNemar on every
    fold's segments together) or fold ``fold``'s.
    """
    import pandas as pd

    ladders = _ladders(res, rep)
    parts = ladders if fold is None else [ladders[fold]]
    eps = ladder_budgets_of(res, rep)
    names = ladders[0].attacks
    control = atk.control_name()
    levels = ("wave", "written") if representation(rep).written is not None else ("wave",)
    level_name = {"wave": LEVEL_NAMES["restored"], "written": LEVEL_NAMES["written"]}

    def mean_over(fn):
        return np.mean([fn(f) for f in parts], axis=0)

    cols: dict[str, np.ndarray] = {}
    for a in names:
        cols[f"{MODEL_NAMES[rep]} %: {ATTACK_NAMES[a]}"] = mean_over(lambda f: f.accuracy(a))
    for level in levels:
        for a in names:
            cols[f"1D CNN % ({level_name[level]}): {ATTACK_NAMES[a]}"] = mean_over(
                lambda f: f.accuracy(a, level))
    for a in names:
        cols[f"SNR dB: {ATTACK_NAMES[a]}"] = mean_over(
            lambda f: [_finite_mean(v) for v in f.metrics[a]["snr"]])
        cols[f"SNR (paper) dB: {ATTACK_NAMES[a]}"] = mean_over(
            lambda f: [_finite_mean(v) for v in f.metrics[a]["snr_paper_clean"]])
    for level in levels:
        for a in (n for n in names if n != control and control in names):
            what = f"1D CNN ({level_name[level]}): {ATTACK_NAMES[a]} vs {ATTACK_NAMES[control]}"
            cols[f"{what}, beyond noise (points)"] = mean_over(
                lambda f: f.accuracy(control, level) - f.accuracy(a, level))
            att = np.concatenate([f.correct(a, level) for f in parts], axis=1)
            ctl = np.concatenate([f.correct(control, level) for f in parts], axis=1)
            cols[f"{what}, McNemar p"] = np.array(
                [ev.mcnemar(ctl[j], att[j])["p"] for j in range(len(eps))])
    df = pd.DataFrame(cols, index=pd.Index(eps, name="budget (dB)"))
    n = sum(len(f.idx) for f in parts)
    where = "mean over folds" if fold is None else fold_name(fold, len(ladders))
    df.columns.name = f"{MODEL_NAMES[rep]}, budget ladder: {where}, {n} segments"
    return df
