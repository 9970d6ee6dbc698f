"""HTML pages of players: the genre examples, the paper's result page, the aware gallery."""
from __future__ import annotations

import numpy as np

from specadv.constants import GENRES, SAMPLE_RATE
from specadv import attacks as atk
from specadv.report.names import ATTACK_NAMES, PAPER_PAGE_CONDITIONS
from specadv.report.players import audio_player, audio_players_html


__all__ = ["genre_audio_table", "paper_page_html", "aware_gallery_html"]


def genre_audio_table(ds, examples: dict[str, int], prefix: str, sink=None) -> str:
    """HTML table: one player per genre, with the clip and segment it comes from."""
    rows = []
    for genre, i in examples.items():
        clip = ds.clips[ds.seg_clip[i]]
        rows.append({"genre": genre, "clip": clip.clip_id,
                     "segment": f"{int(ds.seg_index[i])} ({ds.seg_start[i] / SAMPLE_RATE:.1f} s)",
                     "audio": audio_player(ds.waveforms([i])[0], f"{prefix}_{genre}", sink)})
    return audio_players_html(rows, ["genre", "clip", "segment", "audio"])


def paper_page_html(ds, rep: str, examples: dict[str, int], fold_models, recs, attacks,
                    prefix: str, sink=None, paper: bool = False) -> str:
    """The paper's result page for one representation: per genre, rows None / BIM / FGSM
    with the 2D CNN's prediction, the SNRs and an audio player.

    "SNR (paper)" is :func:`specadv.metrics.snr_paper` as the authors computed it: the
    None row's reconstruction against the original, the attacked rows' against the clean
    reconstruction (SPEC). "SNR (paper, unrestored)", only for a representation whose
    written audio loses the level (Mel), is the original against the audio as written;
    "SNR (standard)" is the residual's against the original. ``paper``: add the paper's
    own prediction and SNR for that genre (:data:`~specadv.report.names.PAPER_PAGE`).
    """
    from specadv import metrics
    from specadv.report.names import PAPER_PAGE
    from specadv.roundtrip import representation

    written = representation(rep).written is not None
    by_fold = {fr.fold: fr for fr in recs}
    att_by_fold = {fa.fold: fa for fa in attacks}
    parts = []
    for genre, i in examples.items():
        fold = int(ds.folds[i])
        fr, fa = by_fold[fold], att_by_fold[fold]
        pos = int(np.flatnonzero(fr.test_idx == i)[0])
        k = fr.example_idx.index(i)
        original = ds.waveforms([i])[0]
        y_clean = fr.examples["clean"][k]
        clip = ds.clips[ds.seg_clip[i]]
        rows = []
        for cond in PAPER_PAGE_CONDITIONS:
            probs = fold_models[fold].test_probs if cond == "clean" else fa.probs[cond]
            y = fr.examples[cond][k]
            pred = GENRES[int(np.argmax(probs[pos]))]
            row = {"": ATTACK_NAMES[cond], "2D CNN prediction": pred.capitalize(),
                   "SNR (paper)": f"{metrics.snr_paper(original if cond == 'clean' else y_clean, y):.2f}"}
            if written:
                row["SNR (paper, unrestored)"] = \
                    f"{float(fr.metrics[cond]['snr_paper_unrestored'][pos]):.2f}"
            row["SNR (standard)"] = f"{metrics.snr(original, y):.2f}"
            if paper and genre in PAPER_PAGE:
                p_pred, p_snr = PAPER_PAGE[genre][1][cond]
                row["paper: prediction"] = p_pred.capitalize()
                row["paper: SNR"] = f"{p_snr:.2f}"
            row["audio reconstructed"] = audio_player(y, f"{prefix}_{rep}_{genre}_{cond}", sink)
            rows.append(row)
        paper_clip = (f"; the paper's: GTZAN {PAPER_PAGE[genre][0]}" if paper and
                      genre in PAPER_PAGE else "")
        parts.append(f"<h4>{genre.upper()} <small>({clip.clip_id}, segment "
                     f"{int(ds.seg_index[i])}, "
                     f"{'the filtered split' if ds.n_folds == 1 else f'test fold {fold + 1}'}"
                     f"{paper_clip})</small></h4>"
                     f"<p>Original: {audio_player(original, f'{prefix}_{genre}_original', sink)}</p>"
                     + audio_players_html(rows, list(rows[0])))
    return "\n".join(parts)


def aware_gallery_html(res, rep: str, prefix: str, sink=None) -> str:
    """One example per genre: the original, and the audio reconstructed from its FGSM, BIM
    and reconstruction-aware spectrograms, with the 1D CNN's prediction on each."""
    ds = res.ds
    recs = {r.fold: r for r in res.need("reconstructions", rep)}
    aware = {a.fold: a for a in res.need("aware", rep)}
    rows = []
    for genre, i in res.ds.examples().items():
        fold = int(ds.folds[i])
        fr, fa = recs[fold], aware[fold]
        if i not in fa.example_idx:
            continue
        pos = int(np.flatnonzero(fr.test_idx == i)[0])
        apos = int(np.flatnonzero(fa.idx == i)[0])
        k = fr.example_idx.index(i)
        row = {"genre, original": f"<b>{genre}</b><br>" + audio_player(
            ds.waveforms([i])[0], f"{prefix}_{genre}_original", sink)}
        for cond in atk.attacks_where(paper=True):
            pred = GENRES[int(fr.probs[cond]["wave"][pos].argmax())]
            row[ATTACK_NAMES[cond]] = (audio_player(fr.examples[cond][k],
                                                    f"{prefix}_{rep}_{genre}_{cond}", sink)
                                       + f"<br><small>1D CNN: {pred}</small>")
        pred = GENRES[int(fa.probs["wave"][apos].argmax())]
        audio = fa.example_audio[fa.example_idx.index(i)]
        row["reconstruction-aware"] = (audio_player(audio, f"{prefix}_{rep}_{genre}_aware", sink)
                                       + f"<br><small>1D CNN: {pred}</small>")
        rows.append(row)
    table = audio_players_html(rows, ["genre, original", "FGSM", "BIM", "reconstruction-aware"])
    return table.replace("<audio ", '<audio style="width: 10em" ')  # four players fit a page
