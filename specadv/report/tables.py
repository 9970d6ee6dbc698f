"""The book's tables (pandas DataFrames), from typed stage results."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from specadv import attacks as atk
from specadv import evaluation as ev
from specadv.constants import GENRES
from specadv.report.names import (ATTACK_NAMES, CI_ROWS, FILTERED_SPLIT, LOUDNESS_METRICS,
                                  MODEL_NAMES, PAPER, PAPER_SNR_MEANS, fold_name)
from specadv.roundtrip import representation


__all__ = ["corpus_summary", "skipped_table", "with_mean_std", "training_table", "BASELINE_COLUMN", "first_n_table", "attack_table", "baseline_attack_table", "sweep_table", "snr_table", "transfer_table", "summary_table", "accuracy_summary", "round_trip_table", "transfer_stats_table", "cross_matrix", "mcnemar_table", "validation_table", "loudness_table", "aware_table", "inversion_table", "paper_snr_table"]


def corpus_summary(ds):
    """Clips and segments per genre and fold (the filtered split: per list), as a DataFrame."""
    import pandas as pd

    from specadv.data import FOLD_TRAIN, FOLD_VALIDATION

    parts = ({"train": FOLD_TRAIN, "validation": FOLD_VALIDATION, "test": 0}
             if getattr(ds, "split_kind", "stratified") == "filtered"
             else {f"fold {k + 1}": k for k in range(ds.n_folds)})
    rows = []
    for g, genre in enumerate(GENRES):
        clips = [c for c in ds.clips if c.label == g]
        row = {"genre": genre, "clips": len(clips),
               "segments": int(np.sum(ds.labels == g))}
        for name, k in parts.items():
            row[f"{name} segments"] = int(np.sum((ds.labels == g) & (ds.folds == k)))
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


def with_mean_std(df, label_col: str = "fold", ci: dict | None = None):
    """Append 'mean' and 'std' rows (sample std over the folds) to a per-fold table, and
    the 95% bootstrap interval over clips of the columns in ``ci`` (column -> (low, high)).

    A table of one rotation (the filtered split) gets no mean or std of one value: its
    row "fold 1 ..." is named "filtered split ..." instead."""
    import pandas as pd

    num = df.select_dtypes("number")
    parts = [df]
    if len(df) == 1:
        parts = [df.rename(index=lambda i: str(i).replace("fold 1", FILTERED_SPLIT, 1))]
    else:
        parts.append(pd.DataFrame([num.mean(), num.std(ddof=1)], index=["mean", "std"]))
    if ci:
        parts.append(pd.DataFrame(
            [{c: v[0] for c, v in ci.items()}, {c: v[1] for c, v in ci.items()}],
            index=list(CI_ROWS)))
    return pd.concat(parts)


def _ci(ds, columns: dict, level: str) -> dict:
    """column -> (low, high) for per-fold ``(idx, probs)`` pairs of each column."""
    return {c: ev.ds_accuracy_ci(ds, pairs, level)[1:] for c, pairs in columns.items()}


def training_table(ds, fold_models, baseline=None):
    """Per fold: test accuracy (segment, track), best validation accuracy, epoch, time; and,
    given ``baseline`` (% per fold, :meth:`specadv.pipeline.Run.baselines`), the linear
    baseline's segment accuracy on the same input and folds."""
    import pandas as pd

    rows = []
    for k, fm in enumerate(fold_models):
        rows.append({**ev.ds_accuracies(ds, fm.test_idx, fm.test_probs),
                     **({} if baseline is None else {BASELINE_COLUMN: float(baseline[k])}),
                     "validation (best)": 100 * fm.val_accuracy, "best epoch": fm.best_epoch,
                     "epochs run": len(fm.history["loss"]), "seconds": fm.seconds})
    df = pd.DataFrame(rows, index=[f"fold {fm.fold + 1}" for fm in fold_models])
    pairs = [(fm.test_idx, fm.test_probs) for fm in fold_models]
    return with_mean_std(df, ci={lv: ev.ds_accuracy_ci(ds, pairs, lv)[1:] for lv in
                                 ("segment", "track (vote)", "track (sum)")})


BASELINE_COLUMN = "linear baseline (segment)"  # per-band mean and std, logistic regression


def first_n_table(ds, fold_models, ns=(1, 6, 12, 18, 21)):
    """Track accuracy (%) over the first N segments of each clip, as the authors reported."""
    import pandas as pd


    rows = {}
    for fm in fold_models:
        i = fm.test_idx
        rows[f"fold {fm.fold + 1}"] = {
            f"first {n} ({rule})": 100 * ev.track_accuracy(fm.test_probs, ds.labels[i],
                                                          ds.seg_clip[i], ds.seg_index[i],
                                                          rule=rule, first_n=n)
            for n in ns for rule in ("vote", "sum")}
    return with_mean_std(pd.DataFrame(rows).T)


def attack_table(ds, fold_models, fold_attacks, level: str = "segment"):
    """Accuracy (%) of a 2D CNN on legitimate and attacked test spectrograms, per fold."""
    import pandas as pd

    rows, columns = {}, {}
    for fm, fa in zip(fold_models, fold_attacks):
        row = {"legitimate": ev.ds_accuracies(ds, fm.test_idx, fm.test_probs)[level]}
        columns.setdefault("legitimate", []).append((fm.test_idx, fm.test_probs))
        for name, probs in fa.probs.items():
            row[ATTACK_NAMES[name]] = ev.ds_accuracies(ds, fa.test_idx, probs)[level]
            columns.setdefault(ATTACK_NAMES[name], []).append((fa.test_idx, probs))
        rows[f"fold {fm.fold + 1}"] = row
    return with_mean_std(pd.DataFrame(rows).T, ci=_ci(ds, columns, level))


def baseline_attack_table(ds, fold_models, fold_attacks, baseline, baseline_attacked):
    """Segment accuracy (%) per fold of the 2D CNN and of the linear baseline of the same
    input (:meth:`specadv.pipeline.Run.baselines`: ``baseline`` % per fold, and
    ``baseline_attacked``, attack -> % per fold), on legitimate spectrograms and under each
    attack the baseline was put under, at the same settings."""
    import pandas as pd

    rows = {}
    for k, (fm, fa) in enumerate(zip(fold_models, fold_attacks)):
        row = {"2D CNN, legitimate": ev.ds_accuracies(ds, fm.test_idx, fm.test_probs)["segment"]}
        for name in baseline_attacked:
            row[f"2D CNN, {ATTACK_NAMES[name]}"] = ev.ds_accuracies(
                ds, fa.test_idx, fa.probs[name])["segment"]
        row["linear baseline, legitimate"] = float(baseline[k])
        for name, acc in baseline_attacked.items():
            row[f"linear baseline, {ATTACK_NAMES[name]}"] = float(acc[k])
        rows[f"fold {fm.fold + 1}"] = row
    return with_mean_std(pd.DataFrame(rows).T)


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


def snr_table(fold_recs, metric: str):
    """Mean (and std over segments) of a reconstruction metric per condition and fold; a
    condition the metric does not apply to (all NaN, e.g. the clean row of the SNR against
    the clean reconstruction) is left out."""
    import pandas as pd

    conds = [c for c in fold_recs[0].metrics
             if not all(np.isnan(fr.metrics[c][metric]).all() for fr in fold_recs)]
    rows = {}
    for fr in fold_recs:
        rows[f"fold {fr.fold + 1}"] = {ATTACK_NAMES[c]: float(np.mean(fr.metrics[c][metric]))
                                          for c in conds}
    df = with_mean_std(pd.DataFrame(rows).T)
    allseg = {ATTACK_NAMES[c]: np.concatenate([fr.metrics[c][metric] for fr in fold_recs])
              for c in conds}
    df.loc["std over segments"] = {k: float(np.std(v)) for k, v in allseg.items()}
    df.loc["median over segments"] = {k: float(np.median(v)) for k, v in allseg.items()}
    return df


def transfer_table(ds, fold_models_1d, recs_by_rep, level: str = "segment"):
    """1D CNN accuracy (%): original audio, and audio reconstructed from each condition."""
    import pandas as pd

    rows, columns = {}, {}
    for k, fm in enumerate(fold_models_1d):
        row = {"original audio": ev.ds_accuracies(ds, fm.test_idx, fm.test_probs)[level]}
        columns.setdefault("original audio", []).append((fm.test_idx, fm.test_probs))
        for rep, recs in recs_by_rep.items():
            fr = recs[k]
            for c in fr.probs:
                col = f"{rep}: {ATTACK_NAMES[c]}"
                row[col] = ev.ds_accuracies(ds, fr.test_idx, fr.probs[c]["wave"])[level]
                columns.setdefault(col, []).append((fr.test_idx, fr.probs[c]["wave"]))
        rows[f"fold {fm.fold + 1}"] = row
    return with_mean_std(pd.DataFrame(rows).T, ci=_ci(ds, columns, level))


def summary_table(res):
    """The paper's headline figures beside this run's (segment accuracy, mean over folds; one
    rotation, the filtered split: its accuracy)."""
    import pandas as pd

    ds = res.ds
    wave = res.need("models", "wave")
    rows = {}
    for rep in res.representations:
        models, atts, recs = res.need("models", rep), res.need("attacks", rep), res.need("reconstructions", rep)

        intervals = []

        def mean_acc(pairs):
            pairs = list(pairs)
            lo, hi = ev.ds_accuracy_ci(ds, pairs)[1:]
            intervals.append(f"{lo:.1f}–{hi:.1f}")
            return float(np.mean([ev.ds_accuracies(ds, idx, p)["segment"] for idx, p in pairs]))

        col = {
            "2D CNN, legitimate spectrograms": mean_acc((m.test_idx, m.test_probs) for m in models),
            **{f"2D CNN, {ATTACK_NAMES[a]} spectrograms": mean_acc(
                (f.test_idx, f.probs[a]) for f in atts) for a in atk.attacks_where(paper=True)},
            "1D CNN, original audio": mean_acc((m.test_idx, m.test_probs) for m in wave),
        }
        written = representation(rep).written is not None
        # the clean condition is the paper's page's "None" (no attack): "clean" in a sentence
        source = {c: "clean" if c == "clean" else ATTACK_NAMES[c] for c in res.conditions}
        for c in res.conditions:
            col[f"1D CNN, audio from {source[c]} spectrograms, level restored"] = mean_acc(
                (r.test_idx, r.probs[c]["wave"]) for r in recs)
        for c in res.conditions:  # the paper's condition; the STFT forms keep the level
            col[f"1D CNN, audio from {source[c]} spectrograms, as the authors wrote it"] = \
                mean_acc((r.test_idx, r.written[c] if written else r.probs[c]["wave"])
                         for r in recs)
        if rep in res.baselines:  # the floor: a linear model of the same input and folds
            col["linear baseline on the 2D CNN's input"] = float(np.mean(res.baselines[rep]))
            intervals.append("")
        for name, acc in res.baselines_attacked.get(rep, {}).items():  # the same attack on it
            col[f"linear baseline, {ATTACK_NAMES[name]} spectrograms"] = float(np.mean(acc))
            intervals.append("")
        names = list(col)
        rows[f"this run: {rep}"] = col
        rows[f"{rep}: 95% CI (clips)"] = dict(zip(names, intervals))
    df = pd.DataFrame(rows)
    paper = {"2D CNN, legitimate spectrograms": PAPER["2d_legit"],
             "2D CNN, BIM spectrograms": PAPER["2d_adv"],
             "1D CNN, original audio": PAPER["1d_orig"],
             "1D CNN, audio from BIM spectrograms, as the authors wrote it": PAPER["1d_adv"]}
    df.insert(0, "paper (GTZAN, best of Mel/STFT)", pd.Series(paper))
    df["this run against the paper"] = [
        _against_paper(paper[row], {rep: rows[f"{rep}: 95% CI (clips)"][row]
                                    for rep in res.representations})
        if row in paper else "" for row in df.index]
    c = res.profile["corpus"]
    corpus = (f"embedded corpus, {c['clips_per_genre']} clips x {c['seconds']:g} s per genre"
              if c["kind"] == "embedded" else f"corpus folder {c['path']}")
    split = f"; {FILTERED_SPLIT}" if ds.n_folds == 1 else ""
    df.columns.name = f"profile {res.profile['name']}; {corpus}{split}; segment accuracy %"
    return df


def _against_paper(figure: float, intervals: dict) -> str:
    """Where the paper's ``figure`` lies against each representation's interval ("lo–hi"),
    in words: the representations whose 95% interval holds it, or above / below them all."""
    spans = {rep: tuple(float(v) for v in text.split("–")) for rep, text in intervals.items()}
    inside = [rep for rep, (lo, hi) in spans.items() if lo <= figure <= hi]
    if inside:
        return f"agrees: the paper's figure is inside the interval of {', '.join(inside)}"
    if all(hi < figure for _, hi in spans.values()):
        return "below the paper: every interval is under its figure (see Differences)"
    if all(lo > figure for lo, _ in spans.values()):
        return "above the paper: every interval is over its figure (see Differences)"
    return "differs: the paper's figure falls between the intervals (see Differences)"


def accuracy_summary(ds, rows: dict, level: str = "segment"):
    """One row per label of ``rows`` (label -> per-fold ``(idx, probs)`` pairs): accuracy
    (%) per fold, the mean and sample std over folds (one rotation, the filtered split:
    its accuracy alone), and the 95% interval over clips."""
    import pandas as pd

    out = {}
    for label, pairs in rows.items():
        per_fold = [ev.ds_accuracies(ds, idx, p)[level] for idx, p in pairs]
        _, lo, hi = ev.ds_accuracy_ci(ds, pairs, level)
        cells = {FILTERED_SPLIT: per_fold[0]} if len(per_fold) == 1 else {
            **{f"fold {k + 1}": v for k, v in enumerate(per_fold)},
            "mean": float(np.mean(per_fold)), "std": float(np.std(per_fold, ddof=1))}
        out[label] = {**cells, CI_ROWS[0]: lo, CI_ROWS[1]: hi}
    return pd.DataFrame(out).T


def round_trip_table(res, rep: str, level: str = "segment"):
    """Does the perturbation survive being turned into sound? The attacked 2D CNN's accuracy
    (%) on its legitimate and adversarial spectrograms, and on the spectrograms re-extracted
    from the audio reconstructed from each."""
    ds = res.ds
    models, atts, recs = res.need("models", rep), res.need("attacks", rep), res.need("reconstructions", rep)
    rows = {"spectrogram: legitimate": [(m.test_idx, m.test_probs) for m in models]}
    for a in res.conditions[1:]:
        rows[f"spectrogram: {ATTACK_NAMES[a]}"] = [(f.test_idx, f.probs[a]) for f in atts]
    for c in res.conditions:
        rows[f"re-extracted from audio: {ATTACK_NAMES[c]}"] = [
            (r.test_idx, r.probs[c][rep]) for r in recs]
    df = accuracy_summary(ds, rows, level)
    df.index.name = f"{MODEL_NAMES[rep]}, {level} accuracy %"
    return df


def transfer_stats_table(res, target: str = "wave"):
    """Conditional transfer from each 2D CNN (source) to ``target`` through audio, pooled
    over folds: see :func:`specadv.evaluation.transfer_stats`. Accuracies and the transfer
    rate in %."""
    import pandas as pd


    ds = res.ds
    out = {}
    for rep in res.representations:
        models, atts, recs = res.need("models", rep), res.need("attacks", rep), res.need("reconstructions", rep)
        for a in res.conditions[1:]:
            parts = []
            for m, f, r in zip(models, atts, recs):
                y = ds.labels[m.test_idx]
                parts.append((y, m.test_probs, f.probs[a], r.probs["clean"][target],
                               r.probs[a][target]))
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


def cross_matrix(res, attack: str):
    """Through audio, every source 2D CNN against every target: mean accuracy (%) over folds
    on the clean reconstructions and on the ``attack`` reconstructions.

    Returns (clean, adversarial): DataFrames, index source, columns target.
    """
    import pandas as pd

    ds = res.ds
    clean, adv = {}, {}
    for rep in res.representations:
        recs = res.need("reconstructions", rep)
        src = MODEL_NAMES[rep]
        clean[src], adv[src] = {}, {}
        for t in (*res.representations, "wave"):
            for table, cond in ((clean, "clean"), (adv, attack)):
                table[src][MODEL_NAMES[t]] = float(np.mean([
                    ev.ds_accuracies(ds, r.test_idx, r.probs[cond][t])["segment"] for r in recs]))
    return pd.DataFrame(clean).T, pd.DataFrame(adv).T


def mcnemar_table(res):
    """McNemar's exact test per fold and condition: the same segments' predictions with and
    without the attack, for the attacked 2D CNN (spectrograms) and the 1D CNN (audio
    reconstructed from the clean and from the attacked spectrogram)."""
    import pandas as pd


    ds = res.ds
    out = {}
    for rep in res.representations:
        models, atts, recs = res.need("models", rep), res.need("attacks", rep), res.need("reconstructions", rep)
        for a in res.conditions[1:]:
            for m, f, r in zip(models, atts, recs):
                y = ds.labels[m.test_idx]
                for what, before, after in (
                        (f"{MODEL_NAMES[rep]}, spectrogram", m.test_probs, f.probs[a]),
                        (f"1D CNN, audio from {rep}", r.probs["clean"]["wave"],
                         r.probs[a]["wave"])):
                    t = ev.mcnemar(before.argmax(1) == y, after.argmax(1) == y)
                    out[(what, ATTACK_NAMES[a], fold_name(m.fold, len(models)))] = {
                        "segments": t["n"], "accuracy before %": 100 * t["accuracy_a"],
                        "accuracy after %": 100 * t["accuracy_b"],
                        "right -> wrong": t["b"], "wrong -> right": t["c"], "p (exact)": t["p"]}
    df = pd.DataFrame(out).T
    df.index.names = ["model", "attack", "fold"]
    return df


def validation_table(res, kind: str = "mel"):
    """The kept epoch's validation accuracy against its test accuracy (segment, %), with
    validation clips held out (``clip``) and with the authors' random validation segments
    (``segment``, neighbours of training segments: the leak)."""
    import pandas as pd

    ds = res.ds
    out = {}
    n_folds = 1
    for by in ("clip", "segment"):
        fold_models = res.need("validation", by)
        n_folds = len(fold_models)
        for fm in fold_models:
            test = ev.ds_accuracies(ds, fm.test_idx, fm.test_probs)["segment"]
            out[(by, fold_name(fm.fold, n_folds))] = {
                "validation (kept epoch)": 100 * fm.val_accuracy, "test": test,
                "validation - test": 100 * fm.val_accuracy - test, "kept epoch": fm.best_epoch}
    df = pd.DataFrame(out).T
    if n_folds > 1:  # one rotation (the filtered split): no mean of one
        means = df.groupby(level=0, sort=False).mean()
        means.index = pd.MultiIndex.from_tuples([(b, "mean") for b in means.index])
        df = pd.concat([df, means]).sort_index(level=0, sort_remaining=False)
    df.index.names = ["validation held out by", ""]
    df.columns.name = MODEL_NAMES[kind]
    return df


def loudness_table(res, rep: str):
    """How loud the damage is, per condition and genre: the mean over test segments of the
    standard SNR, segmental SNR, SI-SDR and log-spectral distance of the reconstruction
    against the original, and the level of what the attack adds to the audio (adversarial
    minus clean reconstruction) relative to the music."""
    import pandas as pd

    ds = res.ds
    recs = res.need("reconstructions", rep)
    idx = np.concatenate([r.test_idx for r in recs])
    genre = np.array(GENRES)[ds.labels[idx]]
    out = {}
    for c in res.conditions:
        for m, label in LOUDNESS_METRICS.items():
            if m == "attack_db" and c == "clean":
                continue
            v = np.concatenate([r.metrics[c][m] for r in recs]).astype(np.float64)
            v = np.where(np.isfinite(v), v, np.nan)
            row = {g: float(np.nanmean(v[genre == g])) if np.any(genre == g) else np.nan
                   for g in GENRES}
            row["all"] = float(np.nanmean(v))
            out[(ATTACK_NAMES[c], label)] = row
    df = pd.DataFrame(out).T
    df.index.names = ["condition", "metric"]
    df.columns.name = f"{rep}: mean over test segments"
    return df


def aware_table(res, rep: str):
    """FGSM, BIM and the reconstruction-aware attack on the same segments (each fold's
    subset, pooled): accuracies (%) of the attacked 2D CNN on the adversarial spectrogram
    and after the round trip through audio, of the 1D CNN on the reconstructed audio
    (beside its accuracy on the clean reconstruction), mean SNRs, the attack's level in
    the audio and its cost per segment."""
    import pandas as pd

    ds = res.ds
    aware, recs, atts = res.need("aware", rep), res.need("reconstructions", rep), res.need("attacks", rep)
    models = res.need("models", rep)
    rows = {}
    base = {"2D CNN, spectrogram": ev.pooled_accuracy(ds, [(a.idx, m.test_probs[a.pos])
                                                   for a, m in zip(aware, models)]),
            "2D CNN, after the round trip": ev.pooled_accuracy(ds, [(a.idx, r.probs["clean"][rep][a.pos])
                                                            for a, r in zip(aware, recs)]),
            "1D CNN, audio": ev.pooled_accuracy(ds, [(a.idx, r.probs["clean"]["wave"][a.pos])
                                              for a, r in zip(aware, recs)])}
    rows["None (clean)"] = base
    for cond in atk.attacks_where(paper=True):
        rows[ATTACK_NAMES[cond]] = {
            "2D CNN, spectrogram": ev.pooled_accuracy(ds, [(a.idx, f.probs[cond][a.pos])
                                                   for a, f in zip(aware, atts)]),
            "2D CNN, after the round trip": ev.pooled_accuracy(
                ds, [(a.idx, r.probs[cond][rep][a.pos]) for a, r in zip(aware, recs)]),
            "1D CNN, audio": ev.pooled_accuracy(ds, [(a.idx, r.probs[cond]["wave"][a.pos])
                                              for a, r in zip(aware, recs)]),
            **{LOUDNESS_METRICS.get(m, m): float(np.nanmean(np.concatenate(
                [np.where(np.isfinite(r.metrics[cond][m][a.pos]),
                          r.metrics[cond][m][a.pos], np.nan) for a, r in zip(aware, recs)])))
               for m in ("snr_paper", "snr", "attack_db")},
            "seconds / segment": float(np.mean([a.seconds[cond] for a in aware]))}
    rows["reconstruction-aware BIM"] = {
        "2D CNN, spectrogram": ev.pooled_accuracy(ds, [(a.idx, a.probs_spec) for a in aware]),
        "2D CNN, after the round trip": ev.pooled_accuracy(ds, [(a.idx, a.probs[rep]) for a in aware]),
        "1D CNN, audio": ev.pooled_accuracy(ds, [(a.idx, a.probs["wave"]) for a in aware]),
        **{LOUDNESS_METRICS.get(m, m): float(np.nanmean(np.concatenate(
            [np.where(np.isfinite(a.metrics[m]), a.metrics[m], np.nan) for a in aware])))
           for m in ("snr_paper", "snr", "attack_db")},
        "seconds / segment": float(np.mean([a.seconds["aware"] for a in aware]))}
    df = pd.DataFrame(rows).T.rename(columns={"snr_paper": "SNR (paper, dB)"})
    n = sum(len(a.idx) for a in aware)
    df.columns.name = f"{MODEL_NAMES[rep]}: {n} test segments; accuracy %"
    return df


def inversion_table(res):
    """The Mel inversion sweep, pooled over folds: Mel error (SPEC's quality measure) and
    SNRs of the clean reconstruction, the 1D CNN's accuracy (%) on the clean and the BIM
    reconstructions, and milliseconds per segment."""
    import pandas as pd

    sweep = res.need("inversion")
    out = {}
    base = f"{res.profile['reconstruction']['n_iter']} iterations"
    for fold in sweep:
        rows = list(fold.rows)
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
    df.index.name = f"Mel inversion ({res.device})"
    return df


def paper_snr_table(res):
    """Mean SNR_paper (dB) over each fold's test segments, as the authors computed it (the
    clean reconstruction against the original; each attack against the clean
    reconstruction), per representation and condition, beside the paper's means where it
    reports one (:data:`~specadv.report.names.PAPER_SNR_MEANS`), and the standard SNR
    against the original."""
    import pandas as pd

    def mean(v) -> float:  # NaN where a metric does not apply (all NaN), without a warning
        v = np.asarray(v, np.float64)
        return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")

    out = {}
    for rep in res.representations:
        recs = res.need("reconstructions", rep)
        for c in res.conditions:
            metric = "snr_paper" if c == "clean" else "snr_paper_clean"
            per_fold = [mean(r.metrics[c][metric]) for r in recs]
            row = {"SNR (paper), mean over folds": float(np.mean(per_fold)),
                   "paper's mean": PAPER_SNR_MEANS.get((rep, c), np.nan),
                   "SNR (standard), mean over folds": float(np.mean(
                       [mean(r.metrics[c]["snr"]) for r in recs]))}
            if representation(rep).written is not None:
                row["SNR (paper, unrestored), mean"] = float(np.mean(
                    [mean(r.metrics[c]["snr_paper_unrestored"]) for r in recs]))
            out[(MODEL_NAMES[rep], ATTACK_NAMES[c])] = row
    df = pd.DataFrame(out).T
    df.index.names = ["representation", "condition"]
    df.columns.name = "dB"
    return df
