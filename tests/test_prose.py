"""Tests of specadv.report.prose: each wording of each sentence, on hand-made figures.

The chapter-level functions read tables; those are made by hand here (DataFrames with the
report's row and column labels), or, for the round trip, the hand-counted results of
``tests/test_report.py``.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from specadv import report
from specadv.report import prose
from specadv.report.decomposition import Drop
from test_report import MASKS, _mean_acc, res  # noqa: F401  (res: the hand-made results)

MEL, STFT, PAPER_FORM = (report.MODEL_NAMES[r] for r in ("mel", "stft", "stft_paper"))


# -- words shared by the chapters ---------------------------------------------------------
@pytest.mark.parametrize("a, b, word", [(50.0, 40.0, "above"), (40.0, 50.0, "below"),
                                        (50.04, 50.0, "the same as"),
                                        (49.96, 50.0, "the same as"),
                                        (50.06, 50.0, "above"), (49.94, 50.0, "below")])
def test_than_says_above_below_or_the_same_within_half_a_printed_decimal(a, b, word):
    assert prose.than(a, b) == word


def test_than_takes_the_pages_own_word_for_the_same():
    assert prose.than(3.0, 3.0, same="equal to") == "equal to"
    assert prose.than(4.0, 3.0, same="equal to") == "above"


@pytest.mark.parametrize("before, after, verb, noun", [
    (80.0, 12.34, "falls by 67.7 points", "a drop of 67.7 points"),
    (12.0, 13.5, "rises by 1.5 points", "a rise of 1.5 points"),
    (50.0, 50.04, "does not move", "no change"),
    (50.0, 49.96, "does not move", "no change")])
def test_moves_and_change_say_the_direction_and_the_size(before, after, verb, noun):
    assert prose.moves(before, after) == verb
    assert prose.change(before, after) == noun


def test_settings_are_written_one_row_each_lists_joined():
    assert prose.as_text([16, 16], " x ") == "16 x 16"
    assert prose.as_text((2, 4)) == "2, 4"
    assert prose.as_text(0.5) == "0.5" and prose.as_text(None) == "None"
    t = prose.settings_table({"sweep_gl_iters": [2, 4], "aware_n_iter": 1}, "setting",
                             prefix="beyond.")
    assert list(t.index) == ["beyond.sweep_gl_iters", "beyond.aware_n_iter"]
    assert t.index.name == "setting" and t["value"].tolist() == ["2, 4", "1"]


def test_the_summary_row_is_the_mean_or_the_filtered_split():
    assert prose.summary_label(["fold 1", "fold 2", "mean", "std"]) == "mean"
    assert prose.summary_label(["filtered split"]) == report.FILTERED_SPLIT
    assert prose.row_label("mean") == "mean over folds"
    assert prose.row_label(report.FILTERED_SPLIT) == "the filtered split"


# -- the data chapter ---------------------------------------------------------------------
class _Clips:
    """What data_words reads of a dataset: clips with labels, segments, what was left out."""

    def __init__(self, labels, n_segments, skipped=(), silent=(), split_kind="stratified",
                 n_folds=3):
        self.clips = [type("Clip", (), {"label": g}) for g in labels]
        self.n_segments, self.skipped, self.silent_clips = n_segments, list(skipped), list(silent)
        self.split_kind, self.n_folds = split_kind, n_folds

    def __len__(self):
        return self.n_segments


def test_data_words_count_the_clips_genres_and_segments():
    ds = _Clips([0, 0, 1, 1, 3, 3], 27)
    w = prose.data_words(ds)
    assert w == {"n_clips": 6, "n_genres": 3, "n_segments": 27, "segments_per_clip": 4.5,
                 "genre_balance": "2 clips in every genre",
                 "split_text": "3 folds, each the test set of one rotation",
                 "left_out": "no file was left out"}
    assert isinstance(w["segments_per_clip"], float)


def test_data_words_say_an_uneven_corpus_and_what_was_left_out():
    w = prose.data_words(_Clips([0, 1, 1, 1, 2], 10, skipped=["a.wav"], silent=["b.wav"],
                                split_kind="filtered", n_folds=1))
    assert w["genre_balance"] == "1 to 3 clips per genre"
    assert w["split_text"] == "the fault-filtered split's fixed train, validation and test lists"
    assert w["left_out"] == "2 files were left out (listed above)"
    assert prose.left_out(1) == "1 file was left out (listed above)"


# -- the training chapters ----------------------------------------------------------------
def _training_table(rows, **columns):
    return pd.DataFrame(columns, index=rows)


def test_training_words_of_a_2d_cnn_with_its_validation_and_baseline():
    t = _training_table(["fold 1", "fold 2", "mean", "std"], **{
        "segment": [60.0, 70.0, 65.0, 7.1], "track (vote)": [70.0, 80.0, 75.0, 7.1],
        "validation (best)": [90.0, 90.0, 90.0, 0.0],
        report.BASELINE_COLUMN: [65.0, 65.02, 65.01, 0.0]})
    w = prose.training_words(t, 10, validation=True)
    assert w == {"row_label": "mean over folds", "acc_segment": 65.0, "acc_track": 75.0,
                 "chance": 10.0, "vs_chance": "above", "track_vs_segment": "above",
                 "acc_val": 90.0, "val_vs_test": "above", "baseline": 65.01,
                 "vs_baseline": "the same as"}


def test_training_words_of_the_1d_cnn_against_the_paper_on_one_rotation():
    t = _training_table([report.FILTERED_SPLIT], **{
        "segment": [8.0], "track (vote)": [5.0], "validation (best)": [50.0]})
    w = prose.training_words(t, 10, paper=78.29)
    assert w["row_label"] == "the filtered split" and w["acc_segment"] == 8.0
    assert w["vs_chance"] == "below" and w["track_vs_segment"] == "below"
    assert w["vs_paper"] == "below"
    assert "acc_val" not in w and "baseline" not in w  # not asked for / no column
    assert prose.training_words(t, 5)["vs_chance"] == "below"
    assert prose.training_words(t, 12.5)["vs_chance"] == "the same as"  # chance is 8%


# -- the attacks chapter ------------------------------------------------------------------
def _attack_tables(legit=80.0, adv=12.0, control=79.0, b_legit=60.0, b_adv=30.0,
                   baseline=True, with_control=True):
    t = pd.DataFrame({"legitimate": [legit], "FGSM": [40.0], "BIM": [adv],
                      **({"random sign (control)": [control]} if with_control else {})},
                     index=["mean"])
    b = pd.DataFrame({"2D CNN, legitimate": [legit], "linear baseline, legitimate": [b_legit],
                      **({"linear baseline, BIM": [b_adv]} if baseline else {})},
                     index=["mean"])
    return t, b


def test_attack_words_under_the_attack_the_control_and_beside_the_baseline():
    w = prose.attack_words(*_attack_tables(), "bim")
    assert w["attack"] == "BIM" and w["acc_legit"] == 80.0 and w["acc_adv"] == 12.0
    assert w["attack_moves"] == "falls by 68.0 points"
    assert w["control_moves"] == "falls by 1.0 points"
    assert w["baseline_sentence"] == (
        "The linear baseline of the same input goes from 60.0% to 30.0% under the same BIM: "
        "under attack the 2D CNN keeps 18.0 points fewer of its segments than the baseline.")


def test_attack_words_when_nothing_moves_and_the_profile_runs_no_control_or_baseline():
    w = prose.attack_words(*_attack_tables(adv=80.0, baseline=False, with_control=False),
                           "bim")
    assert w["attack_moves"] == "does not move"
    assert w["control_moves"] == "is not run on this profile"
    assert w["baseline_sentence"] == "The profile does not put the linear baseline under BIM."
    w = prose.attack_words(*_attack_tables(control=81.0), "fgsm")
    assert w["attack"] == "FGSM" and w["control_moves"] == "rises by 1.0 points"


@pytest.mark.parametrize("cnn_adv, keeps", [
    (42.5, "12.5 points more of its segments than the baseline"),
    (30.0, "as many of its segments as the baseline"),
    (20.0, "10.0 points fewer of its segments than the baseline")])
def test_the_baseline_sentence_says_who_keeps_more_segments(cnn_adv, keeps):
    assert prose.baseline_sentence("FGSM", cnn_adv, (60.0, 30.0)).endswith(
        f"under the same FGSM: under attack the 2D CNN keeps {keeps}.")


# -- the reconstruction chapters ----------------------------------------------------------
def test_reconstruction_sentence_lists_each_attack_and_blames_the_reconstruction():
    text = prose.reconstruction_sentence(5.0, {"fgsm": 4.0, "bim": 3.5})
    assert text == (
        "The clean reconstruction has a mean standard SNR of 5.0 dB against the original; "
        "the attacked ones FGSM 4.0 dB, BIM 3.5 dB. Of the noise in the BIM audio, most is "
        "the reconstruction's own: the clean audio is already within 3 dB of it.")


def test_reconstruction_sentence_blames_the_attack_where_the_clean_audio_is_3_db_cleaner():
    text = prose.reconstruction_sentence(20.0, {"fgsm": 12.0, "bim": 16.9})
    assert "Of the noise in the FGSM audio, most is the attack's: the clean reconstruction " \
           "is more than 3 dB cleaner." in text


# -- the paper's page ---------------------------------------------------------------------
def test_the_papers_page_range_comes_from_its_attacked_rows():
    assert report.PAPER_PAGE_SNR_RANGE == (12.4, 25.6)  # reggae's FGSM 12.37, metal's BIM 25.57


@pytest.mark.parametrize("values, phrase", [
    ({"BIM": 20.0, "FGSM": 12.4}, "both inside"),    # the ends belong to the range
    ({"BIM": 30.0, "FGSM": 14.0}, "only FGSM inside"),
    ({"BIM": 20.0, "FGSM": 5.0}, "only BIM inside"),
    ({"BIM": 40.0, "FGSM": 5.0}, "both outside")])
def test_range_phrase_says_which_values_lie_in_the_range(values, phrase):
    assert prose.range_phrase(values, 12.4, 25.6) == phrase


def _snr_means(authors_bim, authors_fgsm):
    col, std = "SNR (paper), mean over folds", "SNR (standard), mean over folds"
    rows = {(PAPER_FORM, "BIM"): {col: authors_bim, std: 1.25},
            (PAPER_FORM, "FGSM"): {col: authors_fgsm, std: 2.0},
            (STFT, "BIM"): {col: 60.0, std: 3.0}, (STFT, "FGSM"): {col: 50.0, std: 4.0}}
    return pd.DataFrame(rows).T.rename_axis(["representation", "condition"])


def test_paper_page_sentence_sets_the_authors_form_against_the_pages_range():
    text = prose.paper_page_sentence(_snr_means(21.04, 14.44), "stft_paper", "stft",
                                     ("bim", "fgsm"))
    assert text == (
        "On the authors' STFT form the attacked audio scores a mean SNR (paper) of 21.0 dB "
        "(BIM) and 14.4 dB (FGSM) against the clean reconstruction, both inside the "
        "12.4-25.6 dB range of the paper's page; the clean method's magnitude form gives "
        "60.0 dB (BIM) and 50.0 dB (FGSM) for the same budget. The standard SNR of the "
        "authors' form's BIM audio is 1.2 dB against the original.")
    outside = prose.paper_page_sentence(_snr_means(30.0, 5.0), "stft_paper", "stft",
                                        ("bim", "fgsm"), page_range=(1.0, 2.0))
    assert "both outside the 1-2 dB range" in outside


# -- the transfer chapter -----------------------------------------------------------------
def _drop(rep, original, final, beyond, p):
    parts = {"reconstruction": original - final - beyond, "level": 0.0, "noise": 0.0,
             "attack beyond noise": beyond}
    return Drop(rep, "bim", original, final, parts, (beyond - 1, beyond + 1), p, False)


def test_transfer_words_name_the_strongest_path_and_set_the_1d_cnn_beside_the_paper():
    drops = {"mel": _drop("mel", 80.0, 20.0, 10.0, 0.001),
             "stft": _drop("stft", 80.0, 50.0, 0.0, 1.0),
             "stft_paper": _drop("stft_paper", 78.0, 60.0, -2.0, 0.5)}
    w = prose.transfer_words(drops, "stft_paper", 78.29)
    assert w == {"shows_orig": "78.0", "shows_final": "60.0", "shows_beyond": "-2.0",
                 "shows_verdict": drops["stft_paper"].verdict(), "shows_strongest": MEL,
                 "shows_strongest_total": "60.0", "shows_vs_paper": "below the paper's 78.29%"}
    assert "no more to the 1D CNN than random noise" in w["shows_verdict"]
    assert prose.transfer_words(drops, "mel", 78.29)["shows_vs_paper"] == \
        "above the paper's 78.29%"


# -- beyond the paper ---------------------------------------------------------------------
def test_round_trip_sentence_each_wording():
    text = prose.round_trip_sentence(MEL, "BIM", (75.0, 8.33), (50.0, 50.0), (66.7, 70.0),
                                     60.0)
    assert text == (
        f"{MEL}: BIM brings a drop of 66.7 points on the spectrograms (75.0% to 8.3%) and no "
        "change after the round trip through audio; the 1D CNN scores 66.7% on the clean "
        "reconstruction and 70.0% on the adversarial one (a rise of 3.3 points), and 60.0% "
        "of the eligible successful adversarials also fool it.")
    assert prose.round_trip_sentence(MEL, "BIM", (1, 1), (1, 1), (1, 1), math.nan).endswith(
        "and no segment is eligible for a transfer rate.")


def test_round_trip_summary_has_one_sentence_per_representation_with_the_counted_figures(res):
    text = prose.round_trip_summary(res, "bim")
    mel, stft = text.split(f" {STFT}: ")
    assert mel.startswith(f"{MEL}: BIM brings a drop of 66.7 points on the spectrograms "
                          "(75.0% to 8.3%)")  # 5/6, 4/6 legitimate; 0/6, 1/6 under BIM
    # the 1D CNN on the Mel audio: 4/6 and 4/6 clean, 2/6 and 4/6 BIM; 3 of 5 transfer
    assert "the 1D CNN scores 66.7% on the clean reconstruction and 50.0% on the " \
           "adversarial one (a drop of 16.7 points), and 60.0% of the eligible" in mel
    clean, bim = (_mean_acc(MASKS[("rec", "mel", c, "mel")]) for c in ("clean", "bim"))
    assert f"{prose.change(clean, bim)} after the round trip" in mel
    assert stft.startswith("BIM brings a drop of 66.7 points on the spectrograms "
                           "(75.0% to 8.3%)")  # 6/6, 3/6; 1/6, 0/6


def _aware_table(clean_1d, bim, aware):
    cols = ("1D CNN, audio", "2D CNN, after the round trip", "seconds / segment")
    return pd.DataFrame({"None (clean)": dict(zip(cols, (clean_1d, 90.0, np.nan))),
                         "BIM": dict(zip(cols, bim)),
                         "reconstruction-aware BIM": dict(zip(cols, aware))}).T


def test_aware_summary_compares_the_aware_attack_with_the_one_it_is_built_on():
    tables = {"mel": _aware_table(70.0, (50.0, 40.0, 0.1), (30.0, 40.02, 2.0)),
              "stft": _aware_table(80.0, (50.0, 20.0, 0.5), (60.0, 35.0, 0.5))}
    text = prose.aware_summary(tables, "bim")
    assert text == (
        f"{MEL}: the 1D CNN scores 70.0% on the clean reconstructions, 50.0% after BIM and "
        "30.0% after the reconstruction-aware attack (below BIM); after the round trip the "
        "attacked 2D CNN scores 40.0% against BIM's 40.0% (equal to it), at 20 times BIM's "
        f"cost per segment. {STFT}: the 1D CNN scores 80.0% on the clean reconstructions, "
        "50.0% after BIM and 60.0% after the reconstruction-aware attack (above BIM); after "
        "the round trip the attacked 2D CNN scores 35.0% against BIM's 20.0% (above it), at "
        "1 times BIM's cost per segment.")


def _inversion_table(rows):
    return pd.DataFrame(rows, index=["Mel error, clean", "ms / segment",
                                     "1D CNN %, clean audio"]).T


def test_inversion_words_pick_the_fastest_variant_within_5_percent_of_the_profiles():
    inv = _inversion_table({"32 iterations": (0.100, 40.0, 60.0),
                            "16 iterations": (0.104, 20.0, 58.0),
                            "zero phase": (0.106, 5.0, 50.0),   # faster, but 6% worse
                            "librosa, one segment at a time": (0.1, 900.0, 20.0)})
    w = prose.inversion_words(inv, 32)
    assert w["inversion_pick"] == (
        "The fastest inversion within 5% of the Mel error of librosa's algorithm "
        "(32 iterations) is 16 iterations, at 20.0 ms per segment against 40.0 ms.")
    assert w["inversion_spread"] == pytest.approx(10.0)  # librosa's row left out
    alone = prose.inversion_words(inv.drop(index="16 iterations"), 32)["inversion_pick"]
    assert "(32 iterations) is that algorithm itself, at 40.0 ms" in alone
    assert prose.inversion_words(inv, 8)["inversion_pick"] == \
        "The profile's own inversion (8 iterations) is not among the variants."
