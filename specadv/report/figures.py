"""The book's figures, from typed stage results (:class:`specadv.stages.results.Results`)."""
from __future__ import annotations

import numpy as np

from specadv import attacks as atk
from specadv import evaluation as ev
from specadv.constants import GENRES, SAMPLE_RATE
from specadv.report.names import (ATTACK_NAMES, FILTERED_SPLIT, LOUDNESS_METRICS,
                                  fold_name)
from specadv.report.tables import cross_matrix, inversion_table, loudness_table


__all__ = ["plot_segment", "plot_genre_examples", "plot_learning_curves", "plot_confusion", "plot_eps_sweep", "plot_adversarial_example", "plot_cross_matrix", "plot_attack_level", "plot_inversion"]


def plot_segment(ax_row, waveform, mel_db, stft_db, title: str = "", sr: int = SAMPLE_RATE):
    """Waveform, Mel dB and STFT dB of one segment on three axes."""
    t = np.arange(len(waveform)) / sr
    ax_row[0].plot(t, waveform, lw=0.3, color="0.2")
    ax_row[0].set_xlim(0, t[-1])
    ax_row[0].set_ylabel(title)
    extent = [0, len(waveform) / sr, 0, 1]
    ax_row[1].imshow(mel_db, origin="lower", aspect="auto", cmap="magma", vmin=-80, vmax=0,
                     extent=[0, extent[1], 0, mel_db.shape[0]])
    im = ax_row[2].imshow(stft_db, origin="lower", aspect="auto", cmap="magma", vmin=-80, vmax=0,
                          extent=[0, extent[1], 0, sr / 2000])
    return im


def plot_genre_examples(ds, examples: dict[str, int]):
    """Waveform, Mel and STFT images of one segment per genre (one row each)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(examples), 3, figsize=(11, 1.6 * len(examples)),
                             squeeze=False, constrained_layout=True)
    mel, stft = ds.features("mel"), ds.features("stft")
    im = None
    for row, (genre, i) in zip(axes, examples.items()):
        im = plot_segment(row, ds.waveforms([i])[0], np.asarray(mel[i], np.float32),
                          np.asarray(stft[i], np.float32), title=genre)
    axes[0, 0].set_title("waveform")
    axes[0, 1].set_title("Mel dB (64 bands)")
    axes[0, 2].set_title("STFT dB (kHz)")
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    fig.colorbar(im, ax=axes[:, 2], shrink=0.5, label="dB re. segment max")
    return fig


def plot_learning_curves(fold_models, title: str):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), constrained_layout=True)
    for fm in fold_models:
        h = fm.history
        ep = np.arange(1, len(h["loss"]) + 1)
        c, fold = f"C{fm.fold}", fold_name(fm.fold, len(fold_models))
        axes[0].plot(ep, h["loss"], c, label=f"{fold} train")
        axes[0].plot(ep, h["val_loss"], c + "--", label=f"{fold} validation")
        axes[1].plot(ep, 100 * np.asarray(h["accuracy"]), c)
        axes[1].plot(ep, 100 * np.asarray(h["val_accuracy"]), c + "--")
        axes[1].axvline(fm.best_epoch, color=c, lw=0.6, alpha=0.5)
    axes[0].set(xlabel="epoch", ylabel="cross-entropy", title=f"{title}: loss")
    axes[1].set(xlabel="epoch", ylabel="accuracy (%)",
                title=f"{title}: accuracy (vertical: kept epoch)")
    axes[0].legend(fontsize=7, ncol=2)
    return fig


def plot_confusion(ds, fold_models, title: str):
    import matplotlib.pyplot as plt

    from specadv import evaluation as ev

    cm = sum(ev.confusion_matrix(ds.labels[fm.test_idx], fm.test_probs, 10) for fm in fold_models)
    fig, ax = plt.subplots(figsize=(5.2, 4.4), constrained_layout=True)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(cm):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(10), GENRES, rotation=60, fontsize=8)
    ax.set_yticks(range(10), GENRES, fontsize=8)
    tested = f"the {FILTERED_SPLIT}'s test list" if len(fold_models) == 1 else "all test folds"
    ax.set(xlabel="predicted", ylabel="true", title=f"{title}: segments, {tested}")
    return fig


def plot_eps_sweep(sweeps: dict[str, list[list[dict]]], attacks: list[str], ds=None):
    """Accuracy against eps (log axis) per representation: each attack and the random-sign
    control (dotted), the mean over folds with its 95% bootstrap interval over clips
    (given the dataset ``ds``; else the spread over folds)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.6), constrained_layout=True)
    control = atk.control_name()
    names = list(dict.fromkeys([*attacks, control]))
    styles = ["-o", "--^", "-.v"]
    for k, (rep, per_fold) in enumerate(sweeps.items()):
        eps = np.array([r["eps"] for r in per_fold[0]])
        x = np.where(eps == 0, eps[eps > 0].min() / 3, eps)
        for j, name in enumerate(names):
            acc = 100 * np.array([[r[name] for r in f] for f in per_fold])
            m, s = acc.mean(0), acc.std(0)
            band = (ev.sweep_intervals(ds, per_fold, name).T if ds is not None
                    and f"{name}_correct" in per_fold[0][0] else (m - s, m + s))
            style = ":s" if name == control else styles[j % len(styles)]
            ax.plot(x, m, style, color=f"C{k * len(names) + j}", label=f"{rep}: {ATTACK_NAMES[name]}")
            ax.fill_between(x, *band, color=f"C{k * len(names) + j}", alpha=0.12)
    ax.set_xscale("log")
    ax.axvline(0.3, color="0.5", lw=0.8, ls="--")
    ax.text(0.3, 2, " paper's eps", fontsize=8, color="0.4")
    one = len(next(iter(sweeps.values()), [[]])) == 1  # one rotation: the filtered split
    spread = ("95% CI over clips" if ds is not None else
              "no spread: one split" if one else "± std over folds")
    ax.set(xlabel="eps (dB, L-inf; leftmost point: no attack)", ylabel="segment accuracy (%)",
           ylim=(0, 100), title=f"2D CNN accuracy against the attack budget "
                                f"({FILTERED_SPLIT if one else 'mean'}, {spread})")
    ax.legend(fontsize=8)
    return fig


def plot_adversarial_example(x, x_adv, title: str, rep: str):
    """Clean spectrogram, adversarial spectrogram and their difference."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3), constrained_layout=True)
    # dB re the maximum: [-80, 0]; the authors' STFT form is in dB re 1: its own range
    top = max(float(np.max(x)), 0.0)
    for ax, img, t in ((axes[0], x, "legitimate"), (axes[1], x_adv, "adversarial")):
        im = ax.imshow(img, origin="lower", aspect="auto", cmap="magma", vmin=top - 80, vmax=top)
        ax.set_title(f"{title}: {t}")
    fig.colorbar(im, ax=axes[:2], shrink=0.8, label="dB")
    d = x_adv - x
    lim = max(float(np.abs(d).max()), 1e-6)
    im2 = axes[2].imshow(d, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
    axes[2].set_title("difference (dB)")
    fig.colorbar(im2, ax=axes[2], shrink=0.8)
    for ax in axes:
        ax.set(xlabel="frame", ylabel="Mel band" if rep == "mel" else "STFT bin")
    return fig


def plot_cross_matrix(res, attacks=atk.attacks_where(paper=True)):
    """Heat maps of the cross-representation matrix: colour = accuracy drop from the clean
    to the adversarial reconstruction; text = clean -> adversarial (drop)."""
    import matplotlib.pyplot as plt

    attacks = [a for a in attacks if a in res.conditions]
    fig, axes = plt.subplots(1, len(attacks), figsize=(6.0 * len(attacks), 3.2),
                             constrained_layout=True, squeeze=False)
    for ax, a in zip(axes[0], attacks):
        clean, adv = cross_matrix(res, a)
        drop = (adv - clean).to_numpy()
        im = ax.imshow(drop, cmap="Reds_r", vmin=-60, vmax=0)
        for (i, j), d in np.ndenumerate(drop):
            ax.text(j, i, f"{clean.iat[i, j]:.0f} → {adv.iat[i, j]:.0f}\n({d:+.1f})",
                    ha="center", va="center", fontsize=9, color="white" if d < -35 else "black")
        ax.set_xticks(range(drop.shape[1]), [c.replace(" (", "\n(") for c in clean.columns],
                      fontsize=8)
        ax.set_yticks(range(drop.shape[0]), [f"{c}\nattacked" for c in clean.index], fontsize=8)
        ax.set(xlabel="target (tested on the reconstructed audio)",
               title=f"{ATTACK_NAMES[a]}: accuracy %, clean → adversarial audio")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="drop (points)")
    return fig


def plot_attack_level(res):
    """Per genre, the level of what each attack adds to the audio (adversarial minus clean
    reconstruction) relative to the music, dB: one panel per representation."""
    import matplotlib.pyplot as plt

    reps = res.representations
    fig, axes = plt.subplots(1, len(reps), figsize=(5.5 * len(reps), 3.2), constrained_layout=True,
                             sharey=True, squeeze=False)
    axes = axes[0]
    for ax, rep in zip(axes, reps):
        table = loudness_table(res, rep)
        conds = [c for c in res.conditions[1:]]
        width = 0.8 / max(len(conds), 1)
        for j, c in enumerate(conds):
            row = table.loc[(ATTACK_NAMES[c], LOUDNESS_METRICS["attack_db"])]
            ax.bar(np.arange(11) + (j - (len(conds) - 1) / 2) * width, row.to_numpy(), width,
                   label=ATTACK_NAMES[c], color=f"C{j}")
        ax.set_xticks(range(11), list(table.columns), rotation=45, fontsize=8)
        ax.set(title=f"{rep}: attack in the audio, level re music", ylabel="dB")
        ax.axhline(0, color="0.3", lw=0.6)
    axes[0].legend(fontsize=8)
    return fig


def plot_inversion(res):
    """Quality (Mel error of the clean reconstruction) against time per segment for every
    variant of the sweep, librosa's point marked."""
    import matplotlib.pyplot as plt

    df = inversion_table(res)
    df = df[~df.index.str.contains(", on librosa's")]
    fig, ax = plt.subplots(figsize=(7, 3.8), constrained_layout=True)
    for k, (label, row) in enumerate(df.iterrows()):
        is_ref = label.startswith("librosa")
        ax.scatter(row["ms / segment"], row["Mel error, clean"], s=60 if is_ref else 30,
                   marker="*" if is_ref else "o", color="k" if is_ref else f"C{k % 10}")
        ax.annotate(label, (row["ms / segment"], row["Mel error, clean"]), fontsize=7,
                    xytext=(4, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set(xlabel=f"milliseconds per 5-s segment ({res.device}, log)",
           ylabel="Mel error (lower is better)",
           title="Mel inversion: quality against time (star: librosa, one segment at a time)")
    return fig
