"""The verdict on transfer, in words that follow the numbers over training seeds.

Whether the adversarial pattern of a spectrogram attack transfers to the 1D CNN is judged
against the random-sign control of the same budget: "beyond noise" is how many points
more the 1D CNN loses to the attack's audio than to the control's. One training run is one
draw of the models (a CPU's float rounding alone changes the trained weights), so the
verdict is given over several independently trained seeds, and claims transfer, or its
absence, only where every seed agrees. :func:`verdict_sentence` returns one sentence-group
for a book's glue; :func:`seed_verdict` and :func:`transfer_verdict` are its classification.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from specadv import attacks as atk
from specadv.report.names import ATTACK_NAMES
from specadv.roundtrip import representation

__all__ = ["SeedBeyond", "VERDICTS", "seed_verdict", "transfer_verdict", "verdict_sentence"]

VERDICTS = ("transfer", "none", "less than noise", "seeds disagree")
"""What :func:`transfer_verdict` can say: transfer beyond noise shown at every seed; no
transfer shown at any seed; the attack's audio fools the 1D CNN less than the noise at every
seed; the seeds do not agree."""


@dataclass(frozen=True)
class SeedBeyond:
    """The attack beyond noise at one training seed.

    ``seed``: the models' training seed (or a name for the run); ``beyond``: the 1D CNN's
    accuracy on the control's audio minus on the attack's (points; above 0: the attack does
    more than noise); ``ci``: its 95% interval (points); ``p``: McNemar's exact p of the
    attack against the control (NaN where not computed).
    """

    seed: object
    beyond: float
    ci: tuple[float, float]
    p: float = float("nan")


def seed_verdict(s: SeedBeyond, alpha: float = 0.05) -> str:
    """One seed's verdict: ``"transfer"`` where the interval is above 0 (and McNemar's p,
    where given, below ``alpha``), ``"less than noise"`` where it is below 0 (likewise),
    else ``"none"``."""
    lo, hi = s.ci
    if lo > hi:
        raise ValueError(f"seed {s.seed}: the interval {s.ci} has its low end above its high "
                         "end; give (low, high)")
    significant = math.isnan(s.p) or s.p < alpha
    if lo > 0 and significant:
        return "transfer"
    if hi < 0 and significant:
        return "less than noise"
    return "none"


def transfer_verdict(seeds: Sequence[SeedBeyond], alpha: float = 0.05) -> str:
    """The verdict over ``seeds`` (one of :data:`VERDICTS`): a seed's where every seed
    says the same, else ``"seeds disagree"``."""
    if not seeds:
        raise ValueError("verdict needs the attack beyond noise of at least one training seed")
    said = {seed_verdict(s, alpha) for s in seeds}
    return said.pop() if len(said) == 1 else "seeds disagree"


def _points(v: float) -> str:
    return f"{v:+.1f}"


def _range(values, signed: bool = True) -> str:
    fmt = _points if signed else (lambda v: f"{v:.1f}")
    lo, hi = min(values), max(values)
    return fmt(lo) if abs(hi - lo) < 0.05 else f"{fmt(lo)} to {fmt(hi)}"


def verdict_sentence(seeds: Sequence[SeedBeyond], rep: str | None = None,
                     attack: str = atk.BIM.name, eps: float | None = None,
                     pooled: tuple[float, float, float] | None = None,
                     ours: float | None = None, paper: float | None = None,
                     alpha: float = 0.05) -> str:
    """Whether the adversarial pattern transfers to the 1D CNN beyond noise of its budget,
    in sentences that stay true whichever way the numbers come out.

    Parameters
    ----------
    seeds : the attack beyond noise at each training seed (:class:`SeedBeyond`).
    rep, attack, eps : what was attacked, how, at what budget (dB): the sentence's subject
        ("Mel, BIM at 0.3 dB").
    pooled : ``(estimate, low, high)`` over the seeds, points: an interval that includes
        the seeds' spread, given beside the per-seed figures.
    ours, paper : the 1D CNN's accuracy (%) on the attack's audio here and in the paper
        (27.91%), given side by side where both are given.
    alpha : McNemar's level.

    Returns
    -------
    str: one to three sentences. The verdict is :func:`transfer_verdict`'s: transfer (every
    seed's interval above 0), no transfer shown, less than noise (every interval below 0),
    or the seeds disagree, in which case neither transfer nor its absence is claimed.
    """
    v = transfer_verdict(seeds, alpha)
    n = len(seeds)
    subject = ", ".join(x for x in (
        representation(rep).title if rep is not None else None,
        ATTACK_NAMES[attack] + (f" at {eps:g} dB" if eps is not None else "")) if x)
    each = "the one training seed" if n == 1 else f"each of the {n} training seeds"
    values = _range([s.beyond for s in seeds])
    every = "its 95% interval" if n == 1 else "every 95% interval"
    ps = [s.p for s in seeds if not math.isnan(s.p)]
    p_text = ("" if not ps else f"; McNemar p = {ps[0]:.2g}" if len(ps) == 1 else
              f"; McNemar p from {min(ps):.2g} to {max(ps):.2g}")
    if v == "transfer":
        text = (f"{subject}: the adversarial pattern transfers to the 1D CNN beyond noise of "
                f"its own budget at {each}: it loses {_range([s.beyond for s in seeds], False)} "
                f"points more on the attack's audio than on the random-sign control's ({every} "
                f"above 0{p_text}).")
    elif v == "less than noise":
        text = (f"{subject}: the attack's audio fools the 1D CNN less than random noise of the "
                f"same budget at {each} ({values} points beyond noise, {every} below "
                f"0{p_text}): no transfer of the adversarial pattern.")
    elif v == "none":
        apart = (f"{every} includes 0" if all(s.ci[0] <= 0 <= s.ci[1] for s in seeds) else
                 f"at no seed do both its 95% interval and McNemar's test (p < {alpha:g}) set "
                 "it apart from 0")
        text = (f"{subject}: no transfer beyond noise is shown: at {each} the attack's audio "
                f"costs the 1D CNN {values} points beyond the random-sign control's, and "
                f"{apart}{p_text}.")
    else:
        shows = {"transfer": "transfer beyond noise", "none": "no transfer",
                 "less than noise": "less than noise"}
        count = {k: sum(seed_verdict(s, alpha) == k for s in seeds) for k in shows}
        said = ", ".join(f"{c} of {n} {'show' if c > 1 else 'shows'} {shows[k]}"
                         for k, c in count.items() if c)
        per_seed = "; ".join(f"seed {s.seed}: {_points(s.beyond)} (95% CI {_points(s.ci[0])} "
                             f"to {_points(s.ci[1])})" for s in seeds)
        text = (f"{subject}: the training seeds disagree ({said}; {per_seed}), so this book "
                "claims neither transfer nor its absence here.")
    if n == 1:
        text += " (One training seed: how this holds over seeds is not measured.)"
    if pooled is not None:
        est, lo, hi = pooled
        text += (f" Over the seeds, the attack beyond noise is {_points(est)} points (95% "
                 f"interval with the seeds' spread {_points(lo)} to {_points(hi)}).")
    if ours is not None and paper is not None:
        text += (f" The 1D CNN scores {ours:.1f}% on the attack's audio (the paper: "
                 f"{paper:.2f}%).")
    return text
