"""What the book says in words: the sentences its pages glue in, built from this run's figures.

Each chapter's closing paragraph ("What this run shows") is Markdown with ``{glue:text}``
slots; the notebook computes nothing there, it glues what a function here returns. The
``*_words`` functions return a chapter's glued values by their keys (the names the
Markdown uses); the sentence functions take plain numbers, so that each wording can be
tested on hand-made figures.

Two accuracies or two dB values within :data:`SAME` of each other are called the same: the
book prints one decimal, and a sentence must not say "above" between two equal figures.
Attacks and representations are named by their keys (``report.names``), never here.
"""
from __future__ import annotations

import math

from specadv.report.decomposition import NOISE
from specadv.report.names import (ATTACK_NAMES, FILTERED_SPLIT, MODEL_NAMES,
                                  PAPER_PAGE_SNR_RANGE)
from specadv.report.tables import (BASELINE_COLUMN, cross_matrix, round_trip_table,
                                   transfer_stats_table)
from specadv.roundtrip import WAVE

__all__ = ["SAME", "than", "moves", "change", "as_text", "settings_table", "summary_label",
           "row_label", "genre_balance", "split_text", "left_out", "data_words",
           "training_words", "baseline_sentence", "attack_words", "reconstruction_sentence",
           "range_phrase", "paper_page_sentence", "transfer_words", "round_trip_sentence",
           "round_trip_summary", "aware_sentence", "aware_summary", "inversion_sentence",
           "inversion_words"]

SAME = 0.05  # points or dB: half the 0.1 the book prints

CLEAN = "clean"  # the condition without an attack (its reconstruction is the reference)


# -- words shared by the chapters ---------------------------------------------------------

def than(a: float, b: float, same: str = "the same as") -> str:
    """``a`` against ``b``: "above", "below", or ``same`` within :data:`SAME`."""
    if a > b + SAME:
        return "above"
    if a < b - SAME:
        return "below"
    return same


def moves(before: float, after: float) -> str:
    """How an accuracy moves from ``before`` to ``after`` (%), as a verb phrase: "falls by
    12.3 points", "rises by 1.0 points" or "does not move"."""
    if before > after + SAME:
        return f"falls by {before - after:.1f} points"
    if after > before + SAME:
        return f"rises by {after - before:.1f} points"
    return "does not move"


def change(before: float, after: float) -> str:
    """The same as :func:`moves`, as a noun phrase: "a drop of 12.3 points", "a rise of 1.0
    points" or "no change"."""
    if before > after + SAME:
        return f"a drop of {before - after:.1f} points"
    if after > before + SAME:
        return f"a rise of {after - before:.1f} points"
    return "no change"


def as_text(value, sep: str = ", ") -> str:
    """A setting's value as the settings tables show it: a list or tuple joined by ``sep``."""
    if isinstance(value, (list, tuple)):
        return sep.join(map(str, value))
    return str(value)


def settings_table(settings: dict, name: str, prefix: str = "", sep: str = ", "):
    """A one-column DataFrame of ``settings`` (key -> value, written by :func:`as_text`), the
    index named ``name`` and each key led by ``prefix`` (e.g. ``"beyond."``, the profile's
    section)."""
    import pandas as pd

    return pd.DataFrame({"value": [as_text(v, sep) for v in settings.values()]},
                        index=pd.Index([f"{prefix}{k}" for k in settings], name=name))


def summary_label(labels) -> str:
    """The label of a table's summary row (or column): "mean" over folds, or, where there is
    one rotation (GTZAN's filtered split), that rotation's label."""
    return "mean" if "mean" in labels else FILTERED_SPLIT


def row_label(label: str) -> str:
    """What a summary label of :func:`summary_label` is, in a sentence."""
    return "mean over folds" if label == "mean" else "the filtered split"


# -- the data chapter ---------------------------------------------------------------------

def genre_balance(per_genre) -> str:
    """How many clips each genre has: the same count everywhere, or the range."""
    lo, hi = min(per_genre), max(per_genre)
    return f"{lo} clips in every genre" if lo == hi else f"{lo} to {hi} clips per genre"


def split_text(split_kind: str, n_folds: int) -> str:
    """How the clips are split into test sets."""
    if split_kind == "filtered":
        return "the fault-filtered split's fixed train, validation and test lists"
    return f"{n_folds} folds, each the test set of one rotation"


def left_out(n: int) -> str:
    """How many files of the corpus were left out (unreadable or silent)."""
    if n == 0:
        return "no file was left out"
    return f"{n} file{'s were' if n > 1 else ' was'} left out (listed above)"


def data_words(ds) -> dict:
    """The data chapter's glued values: clip, genre and segment counts, the genres'
    balance, the split and the files left out, for a :class:`~specadv.stages.dataset.Dataset`."""
    import numpy as np

    per_genre = np.bincount([c.label for c in ds.clips])
    per_genre = per_genre[per_genre > 0]
    return {"n_clips": len(ds.clips), "n_genres": len(per_genre), "n_segments": len(ds),
            "segments_per_clip": float(len(ds) / max(len(ds.clips), 1)),
            "genre_balance": genre_balance(per_genre),
            "split_text": split_text(ds.split_kind, ds.n_folds),
            "left_out": left_out(len(ds.skipped) + len(ds.silent_clips))}


# -- the training chapters ----------------------------------------------------------------

def training_words(table, n_classes: int, validation: bool = False,
                   paper: float | None = None) -> dict:
    """A training chapter's glued values from its :func:`~specadv.report.tables.training_table`:
    segment and track accuracy (%) of the summary row, chance (100 / ``n_classes``) and how
    they compare; the kept epochs' validation accuracy where ``validation``; the linear
    baseline where the table has its column; and the comparison with the paper's figure
    ``paper`` (%) where one is given."""
    row = summary_label(table.index)
    seg, vote = float(table.loc[row, "segment"]), float(table.loc[row, "track (vote)"])
    chance = 100 / n_classes
    words = {"row_label": row_label(row), "acc_segment": seg, "acc_track": vote,
             "chance": chance, "vs_chance": than(seg, chance),
             "track_vs_segment": than(vote, seg)}
    if validation:
        val = float(table.loc[row, "validation (best)"])
        words.update(acc_val=val, val_vs_test=than(val, seg))
    if BASELINE_COLUMN in table:
        base = float(table.loc[row, BASELINE_COLUMN])
        words.update(baseline=base, vs_baseline=than(seg, base))
    if paper is not None:
        words["vs_paper"] = than(seg, paper)
    return words


# -- the attacks chapter ------------------------------------------------------------------

def baseline_sentence(attack: str, cnn_adv: float, baseline: tuple | None) -> str:
    """The linear baseline under ``attack`` (its name) beside the 2D CNN's ``cnn_adv`` (%):
    ``baseline`` is the baseline's (legitimate, attacked) accuracy (%), or None where the
    profile does not attack it."""
    if baseline is None:
        return f"The profile does not put the linear baseline under {attack}."
    b_legit, b_adv = baseline
    d = cnn_adv - b_adv
    keeps = (f"{d:.1f} points more of its segments than the baseline" if d > SAME else
             f"{-d:.1f} points fewer of its segments than the baseline" if d < -SAME else
             "as many of its segments as the baseline")
    return (f"The linear baseline of the same input goes from {b_legit:.1f}% to {b_adv:.1f}% "
            f"under the same {attack}: under attack the 2D CNN keeps {keeps}.")


def attack_words(table, baseline_table, attack: str, control: str = NOISE) -> dict:
    """The attacks chapter's glued values: the 2D CNN's accuracy (%) on legitimate and
    ``attack`` spectrograms (:func:`~specadv.report.tables.attack_table`), how it moves under
    the attack and under ``control``, and the linear baseline under the same attack
    (:func:`~specadv.report.tables.baseline_attack_table`). Attacks by key."""
    name, control_name = ATTACK_NAMES[attack], ATTACK_NAMES[control]
    row = summary_label(table.index)
    legit, adv = float(table.loc[row, "legitimate"]), float(table.loc[row, name])
    base_row = summary_label(baseline_table.index)
    baseline = None
    if f"linear baseline, {name}" in baseline_table:
        baseline = tuple(float(baseline_table.loc[base_row, f"linear baseline, {c}"])
                         for c in ("legitimate", name))
    return {"attack": name, "acc_legit": legit, "acc_adv": adv,
            "attack_moves": moves(legit, adv),
            "control_moves": (moves(legit, float(table.loc[row, control_name]))
                              if control_name in table else "is not run on this profile"),
            "baseline_sentence": baseline_sentence(name, adv, baseline)}


# -- the reconstruction chapters ----------------------------------------------------------

def reconstruction_sentence(clean_snr: float, attacked_snr: dict) -> str:
    """The mean standard SNR (dB) of the clean reconstruction and of each attack's
    (``attacked_snr``: condition key -> dB), and whose noise dominates the worst one: the
    reconstruction's where the clean audio is within 3 dB of it."""
    worst = min(attacked_snr, key=attacked_snr.get)
    listed = ", ".join(f"{ATTACK_NAMES[c]} {v:.1f} dB" for c, v in attacked_snr.items())
    whose = ("most is the reconstruction's own: the clean audio is already within 3 dB of it."
             if clean_snr < attacked_snr[worst] + 3.0 else
             "most is the attack's: the clean reconstruction is more than 3 dB cleaner.")
    return (f"The clean reconstruction has a mean standard SNR of {clean_snr:.1f} dB against "
            f"the original; the attacked ones {listed}. Of the noise in the "
            f"{ATTACK_NAMES[worst]} audio, {whose}")


# -- the paper's page ---------------------------------------------------------------------

def range_phrase(values: dict, lo: float, hi: float) -> str:
    """Whether two named values lie in [lo, hi]: "both inside", "only X inside" or "both
    outside"."""
    inside = [n for n, v in values.items() if lo <= v <= hi]
    if len(inside) == len(values):
        return "both inside"
    return f"only {inside[0]} inside" if inside else "both outside"


def paper_page_sentence(means, authors: str, clean_method: str, attacks: tuple,
                        page_range: tuple = PAPER_PAGE_SNR_RANGE) -> str:
    """The attacked audio's mean SNR (paper) on the authors' STFT form against the range of
    the paper's page, beside the clean method's, from
    :func:`~specadv.report.tables.paper_snr_table`. ``authors`` and ``clean_method`` are
    representation keys, ``attacks`` the page's two attacks (keys), strongest first."""
    col, std = "SNR (paper), mean over folds", "SNR (standard), mean over folds"
    ours, clean = means.loc[MODEL_NAMES[authors]], means.loc[MODEL_NAMES[clean_method]]
    names = [ATTACK_NAMES[a] for a in attacks]
    lo, hi = page_range

    def each(rows):
        return " and ".join(f"{rows.loc[n, col]:.1f} dB ({n})" for n in names)

    where = range_phrase({n: ours.loc[n, col] for n in names}, lo, hi)
    return (f"On the authors' STFT form the attacked audio scores a mean SNR (paper) of "
            f"{each(ours)} against the clean reconstruction, {where} the {lo:g}-{hi:g} dB "
            f"range of the paper's page; the clean method's magnitude form gives "
            f"{each(clean)} for the same budget. The standard SNR of the authors' form's "
            f"{names[0]} audio is {ours.loc[names[0], std]:.1f} dB against the original.")


# -- the transfer chapter -----------------------------------------------------------------

def transfer_words(drops: dict, paper_rep: str, paper_figure: float) -> dict:
    """The transfer chapter's glued values from one attack's
    :class:`~specadv.report.decomposition.Drop` per representation (``drops``): the
    1D CNN on ``paper_rep``'s path against the paper's ``paper_figure`` (%) on the original
    audio, and the path with the largest drop."""
    d = drops[paper_rep]
    strongest = max(drops.values(), key=lambda x: x.total)
    relation = "above" if d.original > paper_figure else "below"
    return {"shows_orig": f"{d.original:.1f}", "shows_final": f"{d.final:.1f}",
            "shows_beyond": f"{d.parts['attack beyond noise']:+.1f}",
            "shows_verdict": d.verdict(),
            "shows_strongest": MODEL_NAMES[strongest.rep],
            "shows_strongest_total": f"{strongest.total:.1f}",
            "shows_vs_paper": f"{relation} the paper's {paper_figure}%"}


# -- beyond the paper ---------------------------------------------------------------------

def round_trip_sentence(source: str, attack: str, spectrogram: tuple, re_extracted: tuple,
                        audio: tuple, rate: float) -> str:
    """One 2D CNN (``source``, its name) under ``attack`` (its name): its (legitimate,
    attacked) accuracy (%) on the ``spectrogram`` and ``re_extracted`` from the audio, the
    1D CNN's on the (clean, adversarial) ``audio``, and the transfer ``rate`` (%; NaN where
    no segment is eligible)."""
    return (f"{source}: {attack} brings {change(*spectrogram)} on the spectrograms "
            f"({spectrogram[0]:.1f}% to {spectrogram[1]:.1f}%) and {change(*re_extracted)} "
            f"after the round trip through audio; the 1D CNN scores {audio[0]:.1f}% on the "
            f"clean reconstruction and {audio[1]:.1f}% on the adversarial one "
            f"({change(*audio)}), and "
            + ("no segment is eligible for a transfer rate." if math.isnan(rate) else
               f"{rate:.1f}% of the eligible successful adversarials also fool it."))


def round_trip_summary(res, attack: str) -> str:
    """:func:`round_trip_sentence` for each representation of ``res``
    (:class:`~specadv.stages.results.Results`) under ``attack`` (its key)."""
    name, wave = ATTACK_NAMES[attack], MODEL_NAMES[WAVE]
    rate = transfer_stats_table(res, WAVE)["transfer rate"]
    clean, adv = cross_matrix(res, attack)
    sentences = []
    for rep in res.representations:
        rt = round_trip_table(res, rep)
        rt = rt[summary_label(rt.columns)]
        src = MODEL_NAMES[rep]
        sentences.append(round_trip_sentence(
            src, name, (rt["spectrogram: legitimate"], rt[f"spectrogram: {name}"]),
            (rt[f"re-extracted from audio: {ATTACK_NAMES[CLEAN]}"],
             rt[f"re-extracted from audio: {name}"]),
            (clean.loc[src, wave], adv.loc[src, wave]), rate.get((src, name), float("nan"))))
    return " ".join(sentences)


# aware_table's columns, and its row of the same segments without an attack
_COL_1D, _COL_RT, _COST = "1D CNN, audio", "2D CNN, after the round trip", "seconds / segment"
_NO_ATTACK = "None (clean)"


def aware_sentence(model: str, attack: str, clean_1d: float, attacked: dict,
                   aware: dict) -> str:
    """The reconstruction-aware attack against ``attack`` (its name) on one 2D CNN
    (``model``, its name): the 1D CNN on the clean reconstructions (``clean_1d``, %) and on
    each attack's audio, the 2D CNN after the round trip, and the cost; ``attacked`` and
    ``aware`` are rows of :func:`~specadv.report.tables.aware_table`."""
    a1, w1, art, wrt = attacked[_COL_1D], aware[_COL_1D], attacked[_COL_RT], aware[_COL_RT]
    return (f"{model}: the 1D CNN scores {clean_1d:.1f}% on the clean reconstructions, "
            f"{a1:.1f}% after {attack} and {w1:.1f}% after the reconstruction-aware attack "
            f"({than(w1, a1, 'equal to')} {attack}); after the round trip the attacked 2D CNN "
            f"scores {wrt:.1f}% against {attack}'s {art:.1f}% ({than(wrt, art, 'equal to')} "
            f"it), at {aware[_COST] / max(attacked[_COST], 1e-9):.0f} times {attack}'s cost "
            "per segment.")


def aware_summary(tables: dict, attack: str) -> str:
    """:func:`aware_sentence` for each representation's
    :func:`~specadv.report.tables.aware_table` (``tables``: key -> table), the
    reconstruction-aware attack against ``attack`` (its key), on which it is built."""
    name = ATTACK_NAMES[attack]
    return " ".join(
        aware_sentence(MODEL_NAMES[rep], name, t.loc[_NO_ATTACK, _COL_1D],
                       t.loc[name], t.loc[f"reconstruction-aware {name}"])
        for rep, t in tables.items())


def inversion_sentence(base: str, pick: str | None, pick_ms: float = math.nan,
                       base_ms: float = math.nan) -> str:
    """The fastest Mel inversion (``pick``, at ``pick_ms`` per segment) within 5% of the Mel
    error of the profile's own (``base``, at ``base_ms``); ``pick`` None: the profile's own
    inversion is not among the variants."""
    if pick is None:
        return f"The profile's own inversion ({base}) is not among the variants."
    return (f"The fastest inversion within 5% of the Mel error of librosa's algorithm "
            f"({base}) is {'that algorithm itself' if pick == base else pick}, at "
            f"{pick_ms:.1f} ms per segment against {base_ms:.1f} ms.")


def inversion_words(table, n_iter: int) -> dict:
    """The inversion section's glued values from
    :func:`~specadv.report.tables.inversion_table`: the fastest variant within 5% of the
    Mel error of the profile's own inversion (``n_iter`` iterations of librosa's algorithm,
    batched), and the spread of the 1D CNN's accuracy (points) on clean reconstructions.
    librosa's own rows (one segment at a time) are left out of both."""
    best = table.drop(index=[i for i in table.index if "librosa" in i])
    base = f"{n_iter} iterations"
    if base in best.index:
        fast = best[best["Mel error, clean"] <= 1.05 * best.loc[base, "Mel error, clean"]]
        pick = fast["ms / segment"].idxmin()
        pick_text = inversion_sentence(base, pick, fast.loc[pick, "ms / segment"],
                                       best.loc[base, "ms / segment"])
    else:
        pick_text = inversion_sentence(base, None)
    spread = best["1D CNN %, clean audio"].max() - best["1D CNN %, clean audio"].min()
    return {"inversion_pick": pick_text, "inversion_spread": float(spread)}
