"""What the 1D CNN's drop is made of: reconstruction, level, noise and the attack beyond noise.

The paper reports the 1D CNN on original audio and on audio reconstructed from adversarial
spectrograms; the difference mixes four things, which the conditions of a run separate:

- **reconstruction**: original audio -> the clean spectrogram's reconstruction (level restored);
- **level**: that reconstruction -> the same audio as the authors' inverse writes it (the
  Mel's loses its level; the STFT forms' inverses keep it, so this part is 0 there);
- **noise**: the written clean reconstruction -> the reconstruction of the random-sign
  control (the attack's budget, a random pattern);
- **attack beyond noise**: the random-sign control -> the attack, at the same level.

The parts add up to the whole drop, original audio -> the attack's written audio, the
paper's condition. Every figure is a mean over folds of segment accuracy (%), with 95%
bootstrap intervals over clips; the attack and its control are compared by McNemar's exact
test on the same segments.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specadv import evaluation as ev
from specadv import attacks as atk
from specadv.report.names import ATTACK_NAMES, MODEL_NAMES
from specadv.roundtrip import WAVE, representation

__all__ = ["LEVELS", "Drop", "decomposition_rows", "decomposition_table", "drop",
           "plot_decomposition", "drop_sentence", "PARTS", "NOISE"]

NOISE = atk.control_name()  # the same-budget random-sign control
LEVELS = {"restored": "level restored", "written": "as written"}
PARTS = ("reconstruction", "level", "noise", "attack beyond noise")


def _has_written(rep: str) -> bool:
    return representation(rep).written is not None


def _pairs(res, rep: str, cond: str, level: str) -> list:
    """Per fold ``(test indices, 1D CNN probabilities)`` of ``cond`` at ``level``."""
    recs = res.need("reconstructions", rep)
    if level == "written" and _has_written(rep):
        return [(r.test_idx, r.written[cond]) for r in recs]
    return [(r.test_idx, r.probs[cond][WAVE]) for r in recs]


def _attacks(res) -> tuple[str, ...]:
    return tuple(c for c in res.conditions[1:] if c != NOISE)


def decomposition_rows(res, rep: str) -> dict[str, list]:
    """Label -> per-fold ``(idx, probs)`` of the 1D CNN: the original audio, then the clean
    reconstruction, the random-sign control and each attack, level restored and (where the
    written audio differs) as written."""
    rows = {"original audio": [(m.test_idx, m.test_probs) for m in res.need("models", WAVE)]}
    levels = ("restored", "written") if _has_written(rep) else ("restored",)
    for level in levels:
        for cond in ("clean", *((NOISE,) if NOISE in res.conditions else ()), *_attacks(res)):
            what = "clean reconstruction" if cond == "clean" else ATTACK_NAMES[cond]
            rows[f"{what}, {LEVELS[level]}"] = _pairs(res, rep, cond, level)
    return rows


def _correct(res, pairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment (correct, clip, fold) of per-fold pairs, concatenated."""
    ds = res.ds
    c = np.concatenate([np.asarray(p).argmax(1) == ds.labels[np.asarray(i)] for i, p in pairs])
    clips = np.concatenate([ds.seg_clip[np.asarray(i)] for i, _ in pairs])
    folds = np.concatenate([np.full(len(i), k) for k, (i, _) in enumerate(pairs)])
    return c, clips, folds


def decomposition_table(res, rep: str):
    """The 1D CNN's segment accuracy (%) on every row of :func:`decomposition_rows`, per fold,
    mean, std and 95% interval over clips; the drop from the original audio (points); and,
    for each attack, McNemar's exact test against the random-sign row of the same level."""
    from specadv.report.tables import accuracy_summary

    rows = decomposition_rows(res, rep)
    df = accuracy_summary(res.ds, rows)
    mean_col = "mean" if "mean" in df.columns else df.columns[0]
    df["drop from original (points)"] = df.loc["original audio", mean_col] - df[mean_col]
    p, flips = {}, {}
    for label, pairs in rows.items():
        what, _, level = label.rpartition(", ")
        attack = next((a for a in _attacks(res) if ATTACK_NAMES[a] == what), None)
        control = f"{ATTACK_NAMES.get(NOISE, NOISE)}, {level}"
        if attack is None or control not in rows:
            continue
        t = ev.mcnemar(_correct(res, rows[control])[0], _correct(res, pairs)[0])
        p[label] = t["p"]
        flips[label] = f"{t['b']} / {t['c']}"
    df["vs random sign: right->wrong / wrong->right"] = [flips.get(i, "") for i in df.index]
    df["vs random sign: McNemar p"] = [p.get(i, np.nan) for i in df.index]
    written = "" if _has_written(rep) else "; its inverse keeps the level, so as written = restored"
    df.index.name = f"1D CNN on audio of {MODEL_NAMES[rep]}{written}; segment accuracy %"
    return df


@dataclass(frozen=True)
class Drop:
    """The 1D CNN's drop under one attack on one representation, in accuracy points (means
    over folds), as the authors wrote the audio; ``parts`` add up to ``total``."""

    rep: str
    attack: str
    original: float
    final: float
    parts: dict
    beyond_ci: tuple
    p: float
    level_applies: bool

    @property
    def total(self) -> float:
        return self.original - self.final

    def verdict(self, alpha: float = 0.05) -> str:
        """What the McNemar test against the random-sign control says, in words."""
        if np.isnan(self.p):
            return "there is no random-sign control in this run to compare the attack with"
        if self.p < alpha and self.parts["attack beyond noise"] > 0:
            return (f"the adversarial pattern does more to the 1D CNN than random noise of the "
                    f"same budget (McNemar p = {self.p:.2g})")
        if self.p < alpha:
            return (f"the adversarial audio fools the 1D CNN less than random noise of the same "
                    f"budget (McNemar p = {self.p:.2g})")
        return (f"the attack does no more to the 1D CNN than random noise of the same budget "
                f"(McNemar p = {self.p:.2g}): this run shows no transfer of the adversarial "
                "pattern itself")


def drop(res, rep: str, attack: str = atk.BIM.name) -> Drop:
    """The :class:`Drop` of ``attack`` on ``rep``."""
    level = "written" if _has_written(rep) else "restored"

    def acc(pairs):
        return ev.ds_accuracy_ci(res.ds, pairs)[0]

    original = acc([(m.test_idx, m.test_probs) for m in res.need("models", WAVE)])
    restored = acc(_pairs(res, rep, "clean", "restored"))
    written = acc(_pairs(res, rep, "clean", level))
    final_pairs = _pairs(res, rep, attack, level)
    final = acc(final_pairs)
    if NOISE in res.conditions:
        noise_pairs = _pairs(res, rep, NOISE, level)
        noise = acc(noise_pairs)
        c_noise, clips, folds = _correct(res, noise_pairs)
        c_att = _correct(res, final_pairs)[0]
        diff = c_noise.astype(float) - c_att.astype(float)
        _, lo, hi = ev.bootstrap_ci(diff, clips, folds, n_boot=ev.N_BOOT)
        p = ev.mcnemar(c_noise, c_att)["p"]
        ci = (100 * lo, 100 * hi)
    else:
        noise, ci, p = written, (np.nan, np.nan), np.nan
    parts = {"reconstruction": original - restored, "level": restored - written,
             "noise": written - noise, "attack beyond noise": noise - final}
    return Drop(rep, attack, original, final, parts, ci, p, _has_written(rep))


def drop_sentence(d: Drop) -> str:
    """One paragraph on ``d`` whose wording follows the numbers."""
    name = representation(d.rep).title
    head = (f"{name}, {ATTACK_NAMES[d.attack]}: the 1D CNN scores {d.original:.1f}% on the "
            f"original audio and {d.final:.1f}% on the audio "
            f"{'as the authors wrote it' if d.level_applies else 'of the attacked spectrograms'}")
    if abs(d.total) < 0.05:
        return head + ", the same accuracy: there is no drop to split."
    verb = "a drop" if d.total > 0 else "a rise"
    level = (f", {d.parts['level']:+.1f} from the lost level" if d.level_applies else "")
    lo, hi = d.beyond_ci
    # a share only where the test says the pattern did something: else it is noise's
    shown = d.total > 0 and d.p < 0.05 and d.parts["attack beyond noise"] > 0
    share = (f" The pattern's own share is {100 * d.parts['attack beyond noise'] / d.total:.0f}% "
             "of the drop." if shown else "")
    return (f"{head}, {verb} of {abs(d.total):.1f} points. In signed points: "
            f"{d.parts['reconstruction']:+.1f} from the reconstruction{level}, "
            f"{d.parts['noise']:+.1f} from noise of the attack's budget (random sign) and "
            f"{d.parts['attack beyond noise']:+.1f} (95% CI {lo:+.1f} to {hi:+.1f}) from the "
            f"adversarial pattern beyond that noise; {d.verdict()}.{share}")


def plot_decomposition(res, attacks=atk.attacks_where(paper=True)):
    """One panel per attack: a bar per representation, the drop from the original audio split
    into :data:`PARTS` (signed: a part below zero raised the accuracy), the total marked."""
    import matplotlib.pyplot as plt

    attacks = [a for a in attacks if a in res.conditions]
    fig, axes = plt.subplots(1, len(attacks), figsize=(5.2 * len(attacks), 3.6), sharey=True,
                             squeeze=False)
    colors = dict(zip(PARTS, ("#9e9e9e", "#f2b134", "#5b9bd5", "#c0392b")))
    for ax, a in zip(axes[0], attacks):
        for x, rep in enumerate(res.representations):
            d = drop(res, rep, a)
            pos = neg = 0.0
            for part in PARTS:
                v = d.parts[part]
                bottom = pos if v >= 0 else neg
                ax.bar(x, v, bottom=bottom, color=colors[part], width=0.6,
                       label=part if x == 0 else None)
                pos, neg = (pos + v, neg) if v >= 0 else (pos, neg + v)
            ax.plot([x - 0.35, x + 0.35], [d.total, d.total], color="black", lw=1.5,
                    label="total drop" if x == 0 else None)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_xticks(range(len(res.representations)),
                      [representation(r).title for r in res.representations])
        ax.set_title(f"{ATTACK_NAMES[a]}: the 1D CNN's drop (points)")
    axes[0][0].set_ylabel("accuracy points lost")
    axes[0][-1].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig
