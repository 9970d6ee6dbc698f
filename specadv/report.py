"""What the book shows: audio players, figures and tables built from stage results.

Audio for the book is written as WAV files under ``book/_static/audio/`` and
referenced by URL (``../../_static/audio/...`` from a page in ``book/generated/``),
so a page carries a link, not a base64 copy of the sound. Outside a book build
(JupyterLab, nbval) the players embed the audio instead, so they play anywhere.
WAV files are 16-bit PCM (lossless); samples beyond full scale are clipped,
never wrapped, and the clipping is counted.
"""
from __future__ import annotations

import html
import os
import re
from pathlib import Path

import numpy as np

from specadv.data import GENRES, SAMPLE_RATE

BOOK_ENV = "SPECADV_BOOK"  # set by the runner while it executes notebooks for the book

__all__ = ["audio_dir", "write_wav", "audio_player", "audio_players_html", "plot_segment",
           "genre_examples", "BOOK_ENV"]


def _book_mode() -> bool:
    return os.environ.get(BOOK_ENV, "") == "1"


def audio_dir() -> Path:
    from specadv.pipeline import project_root

    return project_root() / "book" / "_static" / "audio"


def write_wav(path, waveform, sr: int = SAMPLE_RATE) -> int:
    """Write 16-bit PCM atomically; return how many samples had to be clipped to [-1, 1]."""
    import soundfile as sf

    from specadv.artifacts import atomic_path

    y = np.asarray(waveform, dtype=np.float32)
    n_clipped = int(np.count_nonzero(np.abs(y) > 1.0))
    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.clip(y, -1.0, 1.0), sr, subtype="PCM_16", format="WAV")
    return n_clipped


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def audio_player(waveform, name: str, sr: int = SAMPLE_RATE) -> str:
    """HTML of an ``<audio>`` player for ``waveform``.

    In a book build the sound is written to ``book/_static/audio/<name>.wav`` and
    linked; elsewhere it is embedded (base64), so the notebook plays on its own.
    """
    name = _SAFE.sub("_", name).strip("_")
    if _book_mode():
        path = audio_dir() / f"{name}.wav"
        clipped = write_wav(path, waveform, sr)
        # pages live in book/generated/: two levels below the site root, where _static is
        src = f"../../_static/audio/{name}.wav"
    else:
        import base64
        import io

        import soundfile as sf

        y = np.asarray(waveform, dtype=np.float32)
        clipped = int(np.count_nonzero(np.abs(y) > 1.0))
        buf = io.BytesIO()
        sf.write(buf, np.clip(y, -1, 1), sr, subtype="PCM_16", format="WAV")
        src = "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode()
    note = f' <small title="samples clipped to full scale">({clipped} clipped)</small>' \
        if clipped else ""
    return (f'<audio controls preload="metadata" src="{html.escape(src)}" '
            f'data-name="{html.escape(name)}"></audio>{note}')


def audio_players_html(rows: list[dict], columns: list[str]) -> str:
    """An HTML table whose cells may hold players (values already HTML) or text."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{r.get(c, '')}</td>" for c in columns) + "</tr>"
                   for r in rows)
    return f'<table class="specadv-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def genre_examples(ds, fold: int | None = None) -> dict[str, int]:
    """One segment per genre: the middle segment of the first clip of that genre (in ``fold``)."""
    out = {}
    for g, genre in enumerate(GENRES):
        mask = ds.labels == g
        if fold is not None:
            mask &= ds.folds == fold
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            continue
        first_clip = ds.seg_clip[idx[0]]
        of_clip = idx[ds.seg_clip[idx] == first_clip]
        out[genre] = int(of_clip[len(of_clip) // 2])
    return out


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


def corpus_summary(ds):
    """Clips and segments per genre and fold, as a DataFrame."""
    import pandas as pd

    rows = []
    for g, genre in enumerate(GENRES):
        clips = [c for c in ds.clips if c.label == g]
        row = {"genre": genre, "clips": len(clips),
               "segments": int(np.sum(ds.labels == g))}
        for k in range(ds.n_folds):
            row[f"fold {k + 1} segments"] = int(np.sum((ds.labels == g) & (ds.folds == k)))
        rows.append(row)
    df = pd.DataFrame(rows).set_index("genre")
    df.loc["total"] = df.sum()
    return df


def skipped_table(ds):
    """Files left out of the corpus and why (unreadable, not audio, too short, silent)."""
    import pandas as pd

    rows = [{"file": Path(s["path"]).name, "reason": s["reason"]} for s in ds.skipped]
    by_id = {c.clip_id: Path(c.path).name for c in ds.clips}
    rows += [{"file": by_id.get(c, c), "reason": "every 5-s window silent (mean energy <= 1e-5)"}
             for c in ds.silent_clips]
    return pd.DataFrame(rows, columns=["file", "reason"])


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


def genre_audio_table(ds, examples: dict[str, int], prefix: str) -> str:
    """HTML table: one player per genre, with the clip and segment it comes from."""
    rows = []
    for genre, i in examples.items():
        clip = ds.clips[ds.seg_clip[i]]
        rows.append({"genre": genre, "clip": clip.clip_id,
                     "segment": f"{int(ds.seg_index[i])} ({ds.seg_start[i] / SAMPLE_RATE:.1f} s)",
                     "audio": audio_player(ds.waveforms([i])[0], f"{prefix}_{genre}")})
    return audio_players_html(rows, ["genre", "clip", "segment", "audio"])


# -- tables and figures of the experiment's stages ------------------------------------------
PAPER = {"2d_legit": 81.87, "2d_adv": 12.09, "1d_orig": 78.29, "1d_adv": 27.91}
ATTACK_NAMES = {"clean": "None", "fgsm": "FGSM", "bim": "BIM", "pgd": "PGD",
                "random_sign": "random sign (control)"}
MODEL_NAMES = {"mel": "2D CNN (Mel)", "stft": "2D CNN (STFT)", "wave": "1D CNN (audio)"}


def accuracies(ds, idx, probs) -> dict[str, float]:
    """Segment accuracy and track accuracy (majority vote, sum of probabilities), in %."""
    from specadv import evaluation as ev

    y, clips, segs = ds.labels[idx], ds.seg_clip[idx], ds.seg_index[idx]
    return {"segment": 100 * ev.segment_accuracy(y, probs),
            "track (vote)": 100 * ev.track_accuracy(probs, y, clips, segs, rule="vote"),
            "track (sum)": 100 * ev.track_accuracy(probs, y, clips, segs, rule="sum")}


CI_ROWS = ("95% CI low", "95% CI high")  # bootstrap over clips, within folds
N_BOOT = 2000


def accuracy_ci(ds, pairs, level: str = "segment", n_boot: int = N_BOOT, seed: int = 0):
    """Mean over folds of an accuracy (%) and its 95% bootstrap interval over clips.

    ``pairs``: one ``(segment indices, probabilities)`` per fold. Segment level
    resamples the clips of each fold with all their segments; track level resamples
    the clips' combined predictions (:func:`specadv.evaluation.bootstrap_ci`).
    Returns ``(estimate, low, high)`` in %.
    """
    from specadv import evaluation as ev

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
            ids, truth = ev.track_labels(y, clips)
            _, pred = ev.track_predictions(probs, clips, ds.seg_index[idx], rule=rule)
            values.append(pred == truth)
            clusters.append(ids)
            folds.append(np.full(len(ids), k))
    est, lo, hi = ev.bootstrap_ci(np.concatenate(values), np.concatenate(clusters),
                                  np.concatenate(folds), n_boot=n_boot, seed=seed)
    return 100 * est, 100 * lo, 100 * hi


def with_mean_std(df, label_col: str = "fold", ci: dict | None = None):
    """Append 'mean' and 'std' rows (sample std over the folds) to a per-fold table, and
    the 95% bootstrap interval over clips of the columns in ``ci`` (column -> (low, high))."""
    import pandas as pd

    num = df.select_dtypes("number")
    mean, std = num.mean(), num.std(ddof=1)
    extra = pd.DataFrame([mean, std], index=["mean", "std"])
    if ci:
        extra = pd.concat([extra, pd.DataFrame(
            [{c: v[0] for c, v in ci.items()}, {c: v[1] for c, v in ci.items()}],
            index=list(CI_ROWS))])
    return pd.concat([df, extra])


def _ci(ds, columns: dict, level: str) -> dict:
    """column -> (low, high) for per-fold ``(idx, probs)`` pairs of each column."""
    return {c: accuracy_ci(ds, pairs, level)[1:] for c, pairs in columns.items()}


def training_table(ds, fold_models):
    """Per fold: test accuracy (segment, track), best validation accuracy, epoch, time."""
    import pandas as pd

    rows = []
    for fm in fold_models:
        rows.append({**accuracies(ds, fm.test_idx, fm.test_probs),
                     "validation (best)": 100 * fm.val_accuracy, "best epoch": fm.best_epoch,
                     "epochs run": len(fm.history["loss"]), "seconds": fm.seconds})
    df = pd.DataFrame(rows, index=[f"fold {fm.fold + 1}" for fm in fold_models])
    pairs = [(fm.test_idx, fm.test_probs) for fm in fold_models]
    return with_mean_std(df, ci={lv: accuracy_ci(ds, pairs, lv)[1:] for lv in
                                 ("segment", "track (vote)", "track (sum)")})


def first_n_table(ds, fold_models, ns=(1, 6, 12, 18, 21)):
    """Track accuracy (%) over the first N segments of each clip, as the authors reported."""
    import pandas as pd

    from specadv import evaluation as ev

    rows = {}
    for fm in fold_models:
        i = fm.test_idx
        rows[f"fold {fm.fold + 1}"] = {
            f"first {n} ({rule})": 100 * ev.track_accuracy(fm.test_probs, ds.labels[i],
                                                          ds.seg_clip[i], ds.seg_index[i],
                                                          rule=rule, first_n=n)
            for n in ns for rule in ("vote", "sum")}
    return with_mean_std(pd.DataFrame(rows).T)


def plot_learning_curves(fold_models, title: str):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), constrained_layout=True)
    for fm in fold_models:
        h = fm.history
        ep = np.arange(1, len(h["loss"]) + 1)
        c = f"C{fm.fold}"
        axes[0].plot(ep, h["loss"], c, label=f"fold {fm.fold + 1} train")
        axes[0].plot(ep, h["val_loss"], c + "--", label=f"fold {fm.fold + 1} validation")
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
    ax.set(xlabel="predicted", ylabel="true", title=f"{title}: segments, all test folds")
    return fig


def attack_table(ds, fold_models, fold_attacks, level: str = "segment"):
    """Accuracy (%) of a 2D CNN on legitimate and attacked test spectrograms, per fold."""
    import pandas as pd

    rows, columns = {}, {}
    for fm, fa in zip(fold_models, fold_attacks):
        row = {"legitimate": accuracies(ds, fm.test_idx, fm.test_probs)[level]}
        columns.setdefault("legitimate", []).append((fm.test_idx, fm.test_probs))
        for name, probs in fa["probs"].items():
            row[ATTACK_NAMES[name]] = accuracies(ds, fa["test_idx"], probs)[level]
            columns.setdefault(ATTACK_NAMES[name], []).append((fa["test_idx"], probs))
        rows[f"fold {fm.fold + 1}"] = row
    return with_mean_std(pd.DataFrame(rows).T, ci=_ci(ds, columns, level))


def sweep_intervals(ds, per_fold: list[list[dict]], name: str) -> np.ndarray:
    """(low, high) % per eps of one sweep attack: bootstrap over clips within folds."""
    from specadv import evaluation as ev

    out = []
    for j in range(len(per_fold[0])):
        rows = [f[j] for f in per_fold]
        idx = np.concatenate([r["idx"] for r in rows]).astype(np.int64)
        correct = np.concatenate([r[f"{name}_correct"] for r in rows])
        folds = np.concatenate([np.full(len(r["idx"]), k) for k, r in enumerate(rows)])
        out.append(ev.bootstrap_ci(correct, ds.seg_clip[idx], folds, n_boot=N_BOOT)[1:])
    return 100 * np.asarray(out)


def plot_eps_sweep(sweeps: dict[str, list[list[dict]]], attacks: list[str], ds=None):
    """Accuracy against eps (log axis) per representation: each attack and the random-sign
    control (dotted), the mean over folds with its 95% bootstrap interval over clips
    (given the dataset ``ds``; else the spread over folds)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.6), constrained_layout=True)
    names = list(dict.fromkeys([*attacks, "random_sign"]))
    styles = ["-o", "--^", "-.v"]
    for k, (rep, per_fold) in enumerate(sweeps.items()):
        eps = np.array([r["eps"] for r in per_fold[0]])
        x = np.where(eps == 0, eps[eps > 0].min() / 3, eps)
        for j, name in enumerate(names):
            acc = 100 * np.array([[r[name] for r in f] for f in per_fold])
            m, s = acc.mean(0), acc.std(0)
            band = (sweep_intervals(ds, per_fold, name).T if ds is not None
                    and f"{name}_correct" in per_fold[0][0] else (m - s, m + s))
            style = ":s" if name == "random_sign" else styles[j % len(styles)]
            ax.plot(x, m, style, color=f"C{k * len(names) + j}", label=f"{rep}: {ATTACK_NAMES[name]}")
            ax.fill_between(x, *band, color=f"C{k * len(names) + j}", alpha=0.12)
    ax.set_xscale("log")
    ax.axvline(0.3, color="0.5", lw=0.8, ls="--")
    ax.text(0.3, 2, " paper's eps", fontsize=8, color="0.4")
    spread = "95% CI over clips" if ds is not None else "± std over folds"
    ax.set(xlabel="eps (dB, L-inf; leftmost point: no attack)", ylabel="segment accuracy (%)",
           ylim=(0, 100), title=f"2D CNN accuracy against the attack budget (mean, {spread})")
    ax.legend(fontsize=8)
    return fig


def sweep_table(per_fold: list[list[dict]], eps: float = 0.3):
    """Accuracy (%) at one budget of the sweep, per fold: every sweep attack and the control."""
    import pandas as pd

    rows = {}
    for k, sweep in enumerate(per_fold):
        row = next((r for r in sweep if abs(r["eps"] - eps) < 1e-9), None)
        if row is not None:
            rows[f"fold {k + 1} ({row['n']} segments)"] = {
                ATTACK_NAMES[n]: 100 * v for n, v in row.items() if n in ATTACK_NAMES}
    return with_mean_std(pd.DataFrame(rows).T)


def plot_adversarial_example(x, x_adv, title: str, rep: str):
    """Clean spectrogram, adversarial spectrogram and their difference."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3), constrained_layout=True)
    for ax, img, t in ((axes[0], x, "legitimate"), (axes[1], x_adv, "adversarial")):
        im = ax.imshow(img, origin="lower", aspect="auto", cmap="magma", vmin=-80, vmax=0)
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


def snr_table(fold_recs, metric: str):
    """Mean (and std over segments) of a reconstruction metric per condition and fold."""
    import pandas as pd

    rows = {}
    for fr in fold_recs:
        rows[f"fold {fr['fold'] + 1}"] = {ATTACK_NAMES[c]: float(np.mean(fr["metrics"][c][metric]))
                                          for c in fr["metrics"]}
    df = with_mean_std(pd.DataFrame(rows).T)
    allseg = {ATTACK_NAMES[c]: np.concatenate([fr["metrics"][c][metric] for fr in fold_recs])
              for c in fold_recs[0]["metrics"]}
    df.loc["std over segments"] = {k: float(np.std(v)) for k, v in allseg.items()}
    df.loc["median over segments"] = {k: float(np.median(v)) for k, v in allseg.items()}
    return df


def transfer_table(ds, fold_models_1d, recs_by_rep, level: str = "segment"):
    """1D CNN accuracy (%): original audio, and audio reconstructed from each condition."""
    import pandas as pd

    rows, columns = {}, {}
    for k, fm in enumerate(fold_models_1d):
        row = {"original audio": accuracies(ds, fm.test_idx, fm.test_probs)[level]}
        columns.setdefault("original audio", []).append((fm.test_idx, fm.test_probs))
        for rep, recs in recs_by_rep.items():
            fr = recs[k]
            for c in fr["probs"]:
                col = f"{rep}: {ATTACK_NAMES[c]}"
                row[col] = accuracies(ds, fr["test_idx"], fr["probs"][c]["wave"])[level]
                columns.setdefault(col, []).append((fr["test_idx"], fr["probs"][c]["wave"]))
        rows[f"fold {fm.fold + 1}"] = row
    return with_mean_std(pd.DataFrame(rows).T, ci=_ci(ds, columns, level))


def paper_page_html(ds, rep: str, examples: dict[str, int], fold_models, recs, attacks,
                    prefix: str) -> str:
    """The paper's result page for one representation: per genre, rows None / BIM / FGSM
    with the 2D CNN's prediction, SNR (paper's and standard) and an audio player."""
    from specadv import metrics

    by_fold = {fr["fold"]: fr for fr in recs}
    att_by_fold = {fa["fold"]: fa for fa in attacks}
    parts = []
    for genre, i in examples.items():
        fold = int(ds.folds[i])
        fr, fa = by_fold[fold], att_by_fold[fold]
        pos = int(np.flatnonzero(fr["test_idx"] == i)[0])
        k = fr["examples"]["idx"].index(i)
        original = ds.waveforms([i])[0]
        clip = ds.clips[ds.seg_clip[i]]
        rows = []
        for cond in ("clean", "bim", "fgsm"):
            probs = fold_models[fold].test_probs if cond == "clean" else fa["probs"][cond]
            y = fr["examples"][cond][k]
            pred = GENRES[int(np.argmax(probs[pos]))]
            rows.append({"": ATTACK_NAMES[cond],
                         "2D CNN prediction": pred.capitalize(),
                         "SNR (paper)": f"{metrics.snr_paper(original, y):.2f}",
                         "SNR (paper, unrestored)":
                             f"{float(fr['metrics'][cond]['snr_paper_unrestored'][pos]):.2f}",
                         "SNR (standard)": f"{metrics.snr(original, y):.2f}",
                         "audio reconstructed": audio_player(y, f"{prefix}_{rep}_{genre}_{cond}")})
        parts.append(f"<h4>{genre.upper()} <small>({clip.clip_id}, segment "
                     f"{int(ds.seg_index[i])}, test fold {fold + 1})</small></h4>"
                     f"<p>Original: {audio_player(original, f'{prefix}_{genre}_original')}</p>"
                     + audio_players_html(rows, list(rows[0])))
    return "\n".join(parts)



def summary_table(run):
    """The paper's headline figures beside this run's (segment accuracy, mean over folds)."""
    import pandas as pd

    ds = run.dataset()
    wave = run.models("wave")
    rows = {}
    for rep in ("mel", "stft"):
        models, atts, recs = run.models(rep), run.attacks(rep), run.reconstructions(rep)

        intervals = []

        def mean_acc(pairs):
            pairs = list(pairs)
            lo, hi = accuracy_ci(ds, pairs)[1:]
            intervals.append(f"{lo:.1f}–{hi:.1f}")
            return float(np.mean([accuracies(ds, idx, p)["segment"] for idx, p in pairs]))

        col = {
            "2D CNN, legitimate spectrograms": mean_acc((m.test_idx, m.test_probs) for m in models),
            "2D CNN, FGSM spectrograms": mean_acc((a["test_idx"], a["probs"]["fgsm"]) for a in atts),
            "2D CNN, BIM spectrograms": mean_acc((a["test_idx"], a["probs"]["bim"]) for a in atts),
            "1D CNN, original audio": mean_acc((m.test_idx, m.test_probs) for m in wave),
        }
        for c in run.conditions:
            col[f"1D CNN, audio from {ATTACK_NAMES[c]} spectrograms"] = mean_acc(
                (r["test_idx"], r["probs"][c]["wave"]) for r in recs)
        names = list(col)
        rows[f"this run: {rep}"] = col
        rows[f"{rep}: 95% CI (clips)"] = dict(zip(names, intervals))
    df = pd.DataFrame(rows)
    paper = {"2D CNN, legitimate spectrograms": PAPER["2d_legit"],
             "2D CNN, BIM spectrograms": PAPER["2d_adv"],
             "1D CNN, original audio": PAPER["1d_orig"],
             "1D CNN, audio from BIM spectrograms": PAPER["1d_adv"]}
    df.insert(0, "paper (GTZAN, best of Mel/STFT)", pd.Series(paper))
    c = run.profile["corpus"]
    corpus = (f"embedded corpus, {c['clips_per_genre']} clips x {c['seconds']:g} s per genre"
              if c["kind"] == "embedded" else f"corpus folder {c['path']}")
    df.columns.name = f"profile {run.profile.name}; {corpus}; segment accuracy %"
    return df


# -- beyond the paper: the controls it lacked ---------------------------------------------
def accuracy_summary(ds, rows: dict, level: str = "segment"):
    """One row per label of ``rows`` (label -> per-fold ``(idx, probs)`` pairs): accuracy
    (%) per fold, the mean and sample std over folds, and the 95% interval over clips."""
    import pandas as pd

    out = {}
    for label, pairs in rows.items():
        per_fold = [accuracies(ds, idx, p)[level] for idx, p in pairs]
        _, lo, hi = accuracy_ci(ds, pairs, level)
        out[label] = {**{f"fold {k + 1}": v for k, v in enumerate(per_fold)},
                      "mean": float(np.mean(per_fold)),
                      "std": float(np.std(per_fold, ddof=1)) if len(per_fold) > 1 else np.nan,
                      CI_ROWS[0]: lo, CI_ROWS[1]: hi}
    return pd.DataFrame(out).T


def round_trip_table(run, rep: str, level: str = "segment"):
    """Does the perturbation survive being turned into sound? The attacked 2D CNN's accuracy
    (%) on its legitimate and adversarial spectrograms, and on the spectrograms re-extracted
    from the audio reconstructed from each."""
    ds = run.dataset()
    models, atts, recs = run.models(rep), run.attacks(rep), run.reconstructions(rep)
    rows = {"spectrogram: legitimate": [(m.test_idx, m.test_probs) for m in models]}
    for a in run.conditions[1:]:
        rows[f"spectrogram: {ATTACK_NAMES[a]}"] = [(f["test_idx"], f["probs"][a]) for f in atts]
    for c in run.conditions:
        rows[f"re-extracted from audio: {ATTACK_NAMES[c]}"] = [
            (r["test_idx"], r["probs"][c][rep]) for r in recs]
    df = accuracy_summary(ds, rows, level)
    df.index.name = f"{MODEL_NAMES[rep]}, {level} accuracy %"
    return df


def transfer_stats_table(run, target: str = "wave"):
    """Conditional transfer from each 2D CNN (source) to ``target`` through audio, pooled
    over folds: see :func:`specadv.evaluation.transfer_stats`. Accuracies and the transfer
    rate in %."""
    import pandas as pd

    from specadv import evaluation as ev

    ds = run.dataset()
    out = {}
    for rep in REPRESENTATIONS_2D:
        models, atts, recs = run.models(rep), run.attacks(rep), run.reconstructions(rep)
        for a in run.conditions[1:]:
            parts = []
            for m, f, r in zip(models, atts, recs):
                y = ds.labels[m.test_idx]
                parts.append((y, m.test_probs, f["probs"][a], r["probs"]["clean"][target],
                               r["probs"][a][target]))
            cat = [np.concatenate([p[i] for p in parts]) for i in range(5)]
            s = ev.transfer_stats(*cat)
            out[(MODEL_NAMES[rep], ATTACK_NAMES[a])] = {
                "segments": s["n"], "fooled (source)": s["fooled"],
                "target, clean audio | fooled": 100 * s["target_clean_fooled"],
                "target, adversarial audio | fooled": 100 * s["target_adv_fooled"],
                "target, clean audio | not fooled": 100 * s["target_clean_not_fooled"],
                "target, adversarial audio | not fooled": 100 * s["target_adv_not_fooled"],
                "eligible": s["eligible"], "transferred": s["transferred"],
                "transfer rate": 100 * s["transfer_rate"]}
    df = pd.DataFrame(out).T
    df.index.names = ["source", "attack"]
    df.columns.name = f"target: {MODEL_NAMES[target]}"
    return df


REPRESENTATIONS_2D = ("mel", "stft")


def cross_matrix(run, attack: str):
    """Through audio, every source 2D CNN against every target: mean accuracy (%) over folds
    on the clean reconstructions and on the ``attack`` reconstructions.

    Returns (clean, adversarial): DataFrames, index source, columns target.
    """
    import pandas as pd

    ds = run.dataset()
    clean, adv = {}, {}
    for rep in REPRESENTATIONS_2D:
        recs = run.reconstructions(rep)
        src = MODEL_NAMES[rep]
        clean[src], adv[src] = {}, {}
        for t in ("mel", "stft", "wave"):
            for table, cond in ((clean, "clean"), (adv, attack)):
                table[src][MODEL_NAMES[t]] = float(np.mean([
                    accuracies(ds, r["test_idx"], r["probs"][cond][t])["segment"] for r in recs]))
    return pd.DataFrame(clean).T, pd.DataFrame(adv).T


def plot_cross_matrix(run, attacks=("fgsm", "bim")):
    """Heat maps of the cross-representation matrix: colour = accuracy drop from the clean
    to the adversarial reconstruction; text = clean -> adversarial (drop)."""
    import matplotlib.pyplot as plt

    attacks = [a for a in attacks if a in run.conditions]
    fig, axes = plt.subplots(1, len(attacks), figsize=(6.0 * len(attacks), 3.2),
                             constrained_layout=True, squeeze=False)
    for ax, a in zip(axes[0], attacks):
        clean, adv = cross_matrix(run, a)
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


def mcnemar_table(run):
    """McNemar's exact test per fold and condition: the same segments' predictions with and
    without the attack, for the attacked 2D CNN (spectrograms) and the 1D CNN (audio
    reconstructed from the clean and from the attacked spectrogram)."""
    import pandas as pd

    from specadv import evaluation as ev

    ds = run.dataset()
    out = {}
    for rep in REPRESENTATIONS_2D:
        models, atts, recs = run.models(rep), run.attacks(rep), run.reconstructions(rep)
        for a in run.conditions[1:]:
            for m, f, r in zip(models, atts, recs):
                y = ds.labels[m.test_idx]
                for what, before, after in (
                        (f"{MODEL_NAMES[rep]}, spectrogram", m.test_probs, f["probs"][a]),
                        (f"1D CNN, audio from {rep}", r["probs"]["clean"]["wave"],
                         r["probs"][a]["wave"])):
                    t = ev.mcnemar(before.argmax(1) == y, after.argmax(1) == y)
                    out[(what, ATTACK_NAMES[a], f"fold {m.fold + 1}")] = {
                        "segments": t["n"], "accuracy before %": 100 * t["accuracy_a"],
                        "accuracy after %": 100 * t["accuracy_b"],
                        "right -> wrong": t["b"], "wrong -> right": t["c"], "p (exact)": t["p"]}
    df = pd.DataFrame(out).T
    df.index.names = ["model", "attack", "fold"]
    return df


def validation_table(run, kind: str = "mel"):
    """The kept epoch's validation accuracy against its test accuracy (segment, %), with
    validation clips held out (``clip``) and with the authors' random validation segments
    (``segment``, neighbours of training segments: the leak)."""
    import pandas as pd

    ds = run.dataset()
    out = {}
    for by in ("clip", "segment"):
        for fm in run.models(kind, validation=by):
            test = accuracies(ds, fm.test_idx, fm.test_probs)["segment"]
            out[(by, f"fold {fm.fold + 1}")] = {
                "validation (kept epoch)": 100 * fm.val_accuracy, "test": test,
                "validation - test": 100 * fm.val_accuracy - test, "kept epoch": fm.best_epoch}
    df = pd.DataFrame(out).T
    means = df.groupby(level=0, sort=False).mean()
    means.index = pd.MultiIndex.from_tuples([(b, "mean") for b in means.index])
    df = pd.concat([df, means]).sort_index(level=0, sort_remaining=False)
    df.index.names = ["validation held out by", ""]
    df.columns.name = MODEL_NAMES[kind]
    return df


LOUDNESS_METRICS = {"snr": "SNR (dB)", "segsnr": "segmental SNR (dB)", "si_sdr": "SI-SDR (dB)",
                    "lsd": "log-spectral distance (dB)",
                    "attack_db": "attack level re music (dB)"}


def loudness_table(run, rep: str):
    """How loud the damage is, per condition and genre: the mean over test segments of the
    standard SNR, segmental SNR, SI-SDR and log-spectral distance of the reconstruction
    against the original, and the level of what the attack adds to the audio (adversarial
    minus clean reconstruction) relative to the music."""
    import pandas as pd

    ds = run.dataset()
    recs = run.reconstructions(rep)
    idx = np.concatenate([r["test_idx"] for r in recs])
    genre = np.array(GENRES)[ds.labels[idx]]
    out = {}
    for c in run.conditions:
        for m, label in LOUDNESS_METRICS.items():
            if m == "attack_db" and c == "clean":
                continue
            v = np.concatenate([r["metrics"][c][m] for r in recs]).astype(np.float64)
            v = np.where(np.isfinite(v), v, np.nan)
            row = {g: float(np.nanmean(v[genre == g])) if np.any(genre == g) else np.nan
                   for g in GENRES}
            row["all"] = float(np.nanmean(v))
            out[(ATTACK_NAMES[c], label)] = row
    df = pd.DataFrame(out).T
    df.index.names = ["condition", "metric"]
    df.columns.name = f"{rep}: mean over test segments"
    return df


def plot_attack_level(run):
    """Per genre, the level of what each attack adds to the audio (adversarial minus clean
    reconstruction) relative to the music, dB: one panel per representation."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), constrained_layout=True, sharey=True)
    for ax, rep in zip(axes, REPRESENTATIONS_2D):
        table = loudness_table(run, rep)
        conds = [c for c in run.conditions[1:]]
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


# -- beyond the paper: reconstruction-aware attack, inversion sweep ----------------------
def _pooled_acc(ds, parts) -> float:
    """Accuracy (%) of concatenated ``(idx, probs)`` parts."""
    idx = np.concatenate([p[0] for p in parts])
    probs = np.concatenate([p[1] for p in parts])
    return 100 * float(np.mean(probs.argmax(1) == ds.labels[idx]))


def aware_table(run, rep: str):
    """FGSM, BIM and the reconstruction-aware attack on the same segments (each fold's
    subset, pooled): accuracies (%) of the attacked 2D CNN on the adversarial spectrogram
    and after the round trip through audio, of the 1D CNN on the reconstructed audio
    (beside its accuracy on the clean reconstruction), mean SNRs, the attack's level in
    the audio and its cost per segment."""
    import pandas as pd

    ds = run.dataset()
    aware, recs, atts = run.aware(rep), run.reconstructions(rep), run.attacks(rep)
    models = run.models(rep)
    rows = {}
    base = {"2D CNN, spectrogram": _pooled_acc(ds, [(a["idx"], m.test_probs[a["pos"]])
                                                   for a, m in zip(aware, models)]),
            "2D CNN, after the round trip": _pooled_acc(ds, [(a["idx"], r["probs"]["clean"][rep][a["pos"]])
                                                            for a, r in zip(aware, recs)]),
            "1D CNN, audio": _pooled_acc(ds, [(a["idx"], r["probs"]["clean"]["wave"][a["pos"]])
                                              for a, r in zip(aware, recs)])}
    rows["None (clean)"] = base
    for cond in ("fgsm", "bim"):
        rows[ATTACK_NAMES[cond]] = {
            "2D CNN, spectrogram": _pooled_acc(ds, [(a["idx"], f["probs"][cond][a["pos"]])
                                                   for a, f in zip(aware, atts)]),
            "2D CNN, after the round trip": _pooled_acc(
                ds, [(a["idx"], r["probs"][cond][rep][a["pos"]]) for a, r in zip(aware, recs)]),
            "1D CNN, audio": _pooled_acc(ds, [(a["idx"], r["probs"][cond]["wave"][a["pos"]])
                                              for a, r in zip(aware, recs)]),
            **{LOUDNESS_METRICS.get(m, m): float(np.nanmean(np.concatenate(
                [np.where(np.isfinite(r["metrics"][cond][m][a["pos"]]),
                          r["metrics"][cond][m][a["pos"]], np.nan) for a, r in zip(aware, recs)])))
               for m in ("snr_paper", "snr", "attack_db")},
            "seconds / segment": float(np.mean([a["seconds"][cond] for a in aware]))}
    rows["reconstruction-aware BIM"] = {
        "2D CNN, spectrogram": _pooled_acc(ds, [(a["idx"], a["probs_spec"]) for a in aware]),
        "2D CNN, after the round trip": _pooled_acc(ds, [(a["idx"], a["probs"][rep]) for a in aware]),
        "1D CNN, audio": _pooled_acc(ds, [(a["idx"], a["probs"]["wave"]) for a in aware]),
        **{LOUDNESS_METRICS.get(m, m): float(np.nanmean(np.concatenate(
            [np.where(np.isfinite(a["metrics"][m]), a["metrics"][m], np.nan) for a in aware])))
           for m in ("snr_paper", "snr", "attack_db")},
        "seconds / segment": float(np.mean([a["seconds"]["aware"] for a in aware]))}
    df = pd.DataFrame(rows).T.rename(columns={"snr_paper": "SNR (paper, dB)"})
    n = sum(len(a["idx"]) for a in aware)
    df.columns.name = f"{MODEL_NAMES[rep]}: {n} test segments; accuracy %"
    return df


def inversion_table(run):
    """The Mel inversion sweep, pooled over folds: Mel error (SPEC's quality measure) and
    SNRs of the clean reconstruction, the 1D CNN's accuracy (%) on the clean and the BIM
    reconstructions, and milliseconds per segment."""
    import pandas as pd

    sweep = run.inversion_sweep()
    out = {}
    base = f"{run.profile['reconstruction']['n_iter']} iterations"
    for fold in sweep:
        rows = list(fold["rows"])
        ref = next((r for r in rows if r["variant"].startswith("librosa")), None)
        same = next((r for r in rows if r["variant"] == base), None)
        if ref is not None and same is not None:  # the base variant on librosa's segments
            n = ref["segments"]
            rows.append({**{k: (v[:n] if isinstance(v, list) else v) for k, v in same.items()},
                         "variant": f"{base}, on librosa's {n} segments", "segments": n})
        for row in rows:
            acc = out.setdefault(row["variant"], {k: [] for k in (
                "mel_error_clean", "mel_error_bim", "snr_paper_clean", "snr_clean",
                "wave_correct_clean", "wave_correct_bim", "ms")})
            for k in list(acc)[:-1]:
                acc[k] += list(row[k])
            acc["ms"] += [1000 * (row["seconds_clean"] + row["seconds_bim"]) / 2] * row["segments"]
    table = {v: {"segments": len(a["mel_error_clean"]),
                 "Mel error, clean": np.mean(a["mel_error_clean"]),
                 "Mel error, BIM": np.mean(a["mel_error_bim"]),
                 "SNR (paper, dB), clean": np.mean(a["snr_paper_clean"]),
                 "SNR (dB), clean": np.mean(a["snr_clean"]),
                 "1D CNN %, clean audio": 100 * np.mean(a["wave_correct_clean"]),
                 "1D CNN %, BIM audio": 100 * np.mean(a["wave_correct_bim"]),
                 "ms / segment": np.mean(a["ms"])} for v, a in out.items()}
    df = pd.DataFrame(table).T
    df.index.name = f"Mel inversion ({run.device.type})"
    return df


def plot_inversion(run):
    """Quality (Mel error of the clean reconstruction) against time per segment for every
    variant of the sweep, librosa's point marked."""
    import matplotlib.pyplot as plt

    df = inversion_table(run)
    df = df[~df.index.str.contains(", on librosa's")]
    fig, ax = plt.subplots(figsize=(7, 3.8), constrained_layout=True)
    for k, (label, row) in enumerate(df.iterrows()):
        is_ref = label.startswith("librosa")
        ax.scatter(row["ms / segment"], row["Mel error, clean"], s=60 if is_ref else 30,
                   marker="*" if is_ref else "o", color="k" if is_ref else f"C{k % 10}")
        ax.annotate(label, (row["ms / segment"], row["Mel error, clean"]), fontsize=7,
                    xytext=(4, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set(xlabel=f"milliseconds per 5-s segment ({run.device.type}, log)",
           ylabel="Mel error (lower is better)",
           title="Mel inversion: quality against time (star: librosa, one segment at a time)")
    return fig


def aware_gallery_html(run, rep: str, prefix: str) -> str:
    """One example per genre: the original, and the audio reconstructed from its FGSM, BIM
    and reconstruction-aware spectrograms, with the 1D CNN's prediction on each."""
    ds = run.dataset()
    recs = {r["fold"]: r for r in run.reconstructions(rep)}
    aware = {a["fold"]: a for a in run.aware(rep)}
    rows = []
    for genre, i in run.examples().items():
        fold = int(ds.folds[i])
        fr, fa = recs[fold], aware[fold]
        if i not in fa["examples"]["idx"]:
            continue
        pos = int(np.flatnonzero(fr["test_idx"] == i)[0])
        apos = int(np.flatnonzero(fa["idx"] == i)[0])
        k = fr["examples"]["idx"].index(i)
        row = {"genre, original": f"<b>{genre}</b><br>" + audio_player(
            ds.waveforms([i])[0], f"{prefix}_{genre}_original")}
        for cond in ("fgsm", "bim"):
            pred = GENRES[int(fr["probs"][cond]["wave"][pos].argmax())]
            row[ATTACK_NAMES[cond]] = (audio_player(fr["examples"][cond][k],
                                                    f"{prefix}_{rep}_{genre}_{cond}")
                                       + f"<br><small>1D CNN: {pred}</small>")
        pred = GENRES[int(fa["probs"]["wave"][apos].argmax())]
        audio = fa["examples"]["audio"][fa["examples"]["idx"].index(i)]
        row["reconstruction-aware"] = (audio_player(audio, f"{prefix}_{rep}_{genre}_aware")
                                       + f"<br><small>1D CNN: {pred}</small>")
        rows.append(row)
    table = audio_players_html(rows, ["genre, original", "FGSM", "BIM", "reconstruction-aware"])
    return table.replace("<audio ", '<audio style="width: 10em" ')  # four players fit a page
