"""Tests of specadv.report on small results made by hand (no run, no training).

A fake dataset of 6 clips (genres blues..jazz, one clip each) of 2 segments, the clips
alternating between 2 folds, so each fold tests 6 segments that are not contiguous rows.
Every prediction is chosen by a 0/1 mask of which test segments it gets right (a wrong
prediction is the next genre), so each table's figure is a count over the masks.
"""
from __future__ import annotations

import base64
import io
import re
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from specadv import artifacts, report
from specadv.constants import GENRES, SAMPLE_RATE
from specadv.data import genre_examples
from specadv.metrics import BATCH_METRICS
from specadv.report import AudioSink, audio_player
from specadv.stages.attack import FoldAttacks
from specadv.stages.reconstruct import FoldReconstruction
from specadv.stages.results import Results
from specadv.stages.train import FoldModel

WINDOW = 600  # samples of a fake segment
CONDITIONS = ("clean", "fgsm", "bim")
TARGETS = ("wave", "mel", "stft")
MEL, STFT, WAVE_NAME = "2D CNN (Mel)", "2D CNN (STFT)", "1D CNN (audio)"

# which of each fold's 6 test segments a prediction gets right: (fold 1, fold 2)
MASKS = {
    ("model", "mel"): ([1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]),    # 5/6, 4/6
    ("model", "stft"): ([1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]),   # 6/6, 3/6
    ("model", "wave"): ([1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0]),   # 4/6, 5/6
    ("attack", "mel", "fgsm"): ([1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]),
    ("attack", "mel", "bim"): ([0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]),
    ("attack", "stft", "fgsm"): ([1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]),
    ("attack", "stft", "bim"): ([1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]),
    # the 1D CNN on the audio reconstructed from the Mel spectrograms: the transfer case
    ("rec", "mel", "clean", "wave"): ([1, 1, 1, 0, 0, 1], [1, 1, 0, 1, 1, 0]),
    ("rec", "mel", "bim", "wave"): ([0, 1, 0, 1, 0, 0], [1, 0, 1, 1, 0, 1]),
}
_rng = np.random.default_rng(3)
for _rep in ("mel", "stft"):
    for _c in CONDITIONS:
        for _t in TARGETS:
            MASKS.setdefault(("rec", _rep, _c, _t),
                             tuple(_rng.integers(0, 2, 6).tolist() for _ in range(2)))
for _c in CONDITIONS:  # the 1D CNN on the Mel audio as the authors wrote it (level lost)
    MASKS[("written", "mel", _c)] = tuple(_rng.integers(0, 2, 6).tolist() for _ in range(2))
# a reconstruction metric per fold: the standard SNR of the clean reconstruction, and
# the attacked ones 5 and 10 dB lower
SNR_CLEAN = ([10.0, 20.0, 30.0, 40.0, 50.0, 60.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
SNR_DROP = {"clean": 0.0, "fgsm": 5.0, "bim": 10.0}
# each condition's example audio: the original scaled, so the paper's SNR is
# 20 log10(1 / (1 - a)): 20.00 dB for 0.9
EXAMPLE_SCALE = {"clean": 0.9, "fgsm": 0.8, "bim": 0.5}


class FakeDataset:
    """What the report functions read of a :class:`~specadv.stages.dataset.Dataset`."""

    window = WINDOW

    def __init__(self):
        clip_label = np.arange(6)           # blues, classical, ..., jazz
        clip_fold = np.array([0, 1, 0, 1, 0, 1])
        self.seg_clip = np.repeat(np.arange(6), 2)
        self.seg_index = np.tile([0, 1], 6)
        self.seg_start = self.seg_index * 1000
        self.labels = clip_label[self.seg_clip]
        self.folds = clip_fold[self.seg_clip]
        self.n_folds = 2
        self.clips = [SimpleNamespace(clip_id=f"{GENRES[g]}.{g:05d}", label=int(g),
                                      genre=GENRES[g]) for g in clip_label]
        rng = np.random.default_rng(0)
        self.audio = (0.5 * rng.uniform(-1, 1, (len(self.labels), WINDOW))).astype(np.float32)

    def __len__(self):
        return len(self.labels)

    def split(self, fold):
        return np.flatnonzero(self.folds != fold), np.flatnonzero(self.folds == fold)

    def waveforms(self, idx):
        return self.audio[np.asarray(idx)]

    def examples(self, fold=None):
        return genre_examples(self.labels, self.folds, self.seg_clip, fold)


def _probs(y, correct):
    """Probabilities (rows sum to 1): 0.91 on the true genre where ``correct``, else on the
    next genre."""
    pred = np.where(np.asarray(correct, bool), y, (y + 1) % 10)
    p = np.full((len(y), 10), 0.01, np.float32)
    p[np.arange(len(y)), pred] = 0.91
    return p


def _acc(mask):
    """Accuracy (%) from a mask, counted by hand: right over all."""
    return 100 * sum(mask) / len(mask)


def _mean_acc(masks):
    return float(np.mean([_acc(m) for m in masks]))


@pytest.fixture(scope="module")
def res(tmp_path_factory):
    ds = FakeDataset()
    store = artifacts.Store(tmp_path_factory.mktemp("run"))
    models = {k: [] for k in ("mel", "stft", "wave")}
    attacks = {r: [] for r in ("mel", "stft")}
    recs = {r: [] for r in ("mel", "stft")}
    for k in range(2):
        test = ds.split(k)[1]
        y = ds.labels[test]
        for kind in models:
            models[kind].append(FoldModel(kind, k, None, {"loss": [1.0]}, 1, 0.5, test,
                                          _probs(y, MASKS[("model", kind)][k]), 1.0,
                                          f"{kind}-{k}"))
        ex = [i for i in ds.examples().values() if ds.folds[i] == k]
        for rep in ("mel", "stft"):
            entry = store.entry(f"attacks-{rep}", {"rep": rep, "fold": k})
            for a in ("fgsm", "bim"):
                artifacts.save_npy(entry.path(f"probs_{a}.npy"),
                                   _probs(y, MASKS[("attack", rep, a)][k]))
                artifacts.save_npy(entry.path(f"delta_{a}.npy"),
                                   np.full((len(test), 4, 3), 0.25, np.float16))
            entry.commit(sweep=[], records={})
            attacks[rep].append(FoldAttacks.load(entry, rep, k, test, ("fgsm", "bim")))
            metrics = {c: {m: np.full(len(test), np.nan, np.float32) for m in BATCH_METRICS}
                       for c in CONDITIONS}
            for c in CONDITIONS:
                metrics[c]["snr"] = np.asarray(SNR_CLEAN[k], np.float32) - SNR_DROP[c]
                metrics[c]["snr_paper_unrestored"] = np.full(len(test), 7.25 + k, np.float32)
            fr = FoldReconstruction(
                rep, k, test, 2.0, metrics,
                {c: {t: _probs(y, MASKS[("rec", rep, c, t)][k]) for t in TARGETS}
                 for c in CONDITIONS},
                ex, {c: EXAMPLE_SCALE[c] * ds.waveforms(ex) for c in CONDITIONS},
                {c: _probs(y, MASKS[("written", rep, c)][k]) for c in CONDITIONS}
                if rep == "mel" else {})
            entry = store.entry(f"reconstruction-{rep}", {"rep": rep, "fold": k})
            fr.save(entry)
            recs[rep].append(FoldReconstruction.load(entry, rep, k, test, CONDITIONS,
                                                     TARGETS, ex))
    profile = {"name": "hand", "corpus": {"kind": "embedded", "clips_per_genre": 1,
                                          "seconds": 6.0, "path": None}}
    return Results(ds, CONDITIONS, "cpu", profile, models=models, attacks=attacks,
                   reconstructions=recs)


# -- the stage results this module builds on ------------------------------------------------
def test_fold_attacks_and_reconstructions_load_what_was_saved(res):
    fa = res.attacks["mel"][1]
    y = res.ds.labels[fa.test_idx]
    assert np.array_equal(fa.probs["bim"], _probs(y, MASKS[("attack", "mel", "bim")][1]))
    d = fa.delta("bim")
    assert d.dtype == np.float16 and d.shape == (6, 4, 3) and np.all(d == np.float16(0.25))
    fr = res.reconstructions["stft"][0]
    assert fr.conditions == CONDITIONS and fr.seconds == 2.0
    assert np.array_equal(fr.probs["fgsm"]["mel"], _probs(
        res.ds.labels[fr.test_idx], MASKS[("rec", "stft", "fgsm", "mel")][0]))
    assert np.array_equal(fr.metrics["bim"]["snr"], np.asarray(SNR_CLEAN[0], np.float32) - 10)
    seg = fr.example_idx[1]
    assert np.allclose(fr.example("bim", seg), 0.5 * res.ds.waveforms([seg])[0])


# -- tables ---------------------------------------------------------------------------------
def test_attack_table_reports_the_hand_counted_accuracy_of_each_fold(res):
    df = report.attack_table(res.ds, res.models["mel"], res.attacks["mel"])
    assert list(df.columns) == ["legitimate", "FGSM", "BIM"]
    assert list(df.index) == ["fold 1", "fold 2", "mean", "std", "95% CI low", "95% CI high"]
    assert df.loc["fold 1", "legitimate"] == pytest.approx(100 * 5 / 6)
    assert df.loc["fold 2", "legitimate"] == pytest.approx(100 * 4 / 6)
    assert df.loc["fold 1", "BIM"] == 0 and df.loc["fold 2", "BIM"] == pytest.approx(100 / 6)
    for col, key in (("FGSM", ("attack", "mel", "fgsm")), ("BIM", ("attack", "mel", "bim"))):
        per_fold = [_acc(m) for m in MASKS[key]]
        assert df.loc[["fold 1", "fold 2"], col].tolist() == pytest.approx(per_fold)
        assert df.loc["mean", col] == pytest.approx(np.mean(per_fold))
        assert df.loc["std", col] == pytest.approx(abs(per_fold[0] - per_fold[1]) / np.sqrt(2))
    for col in df.columns:
        assert df.loc["95% CI low", col] <= df.loc["mean", col] <= df.loc["95% CI high", col]


def test_summary_table_puts_the_papers_figures_beside_this_runs(res):
    df = report.summary_table(res)
    paper = df["paper (GTZAN, best of Mel/STFT)"]
    assert paper["2D CNN, legitimate spectrograms"] == 81.87
    assert paper["2D CNN, BIM spectrograms"] == 12.09
    assert paper["1D CNN, original audio"] == 78.29
    assert paper["1D CNN, audio from BIM spectrograms, as the authors wrote it"] == 27.91
    assert paper.notna().sum() == 4 and np.isnan(paper["2D CNN, FGSM spectrograms"])
    mel = df["this run: mel"]
    assert mel["2D CNN, legitimate spectrograms"] == pytest.approx((100 * 5 / 6 + 100 * 4 / 6) / 2)
    assert mel["1D CNN, audio from clean spectrograms, level restored"] == pytest.approx(100 * 4 / 6)
    assert mel["1D CNN, audio from BIM spectrograms, level restored"] == pytest.approx(50.0)
    for rep in ("mel", "stft"):
        col = df[f"this run: {rep}"]
        assert col["2D CNN, legitimate spectrograms"] == pytest.approx(
            _mean_acc(MASKS[("model", rep)]))
        assert col["2D CNN, FGSM spectrograms"] == pytest.approx(
            _mean_acc(MASKS[("attack", rep, "fgsm")]))
        assert col["1D CNN, original audio"] == pytest.approx(_mean_acc(MASKS[("model", "wave")]))
        for c, name in (("clean", "clean"), ("fgsm", "FGSM"), ("bim", "BIM")):
            restored = _mean_acc(MASKS[("rec", rep, c, "wave")])
            assert col[f"1D CNN, audio from {name} spectrograms, level restored"] == \
                pytest.approx(restored)
            # the paper's condition: Mel's written audio; the STFT form's is the restored one
            written = _mean_acc(MASKS[("written", rep, c)]) if rep == "mel" else restored
            assert col[f"1D CNN, audio from {name} spectrograms, as the authors wrote it"] == \
                pytest.approx(written)
        assert re.fullmatch(r"\d+\.\d–\d+\.\d", df[f"{rep}: 95% CI (clips)"][
            "2D CNN, legitimate spectrograms"])
    assert "profile hand" in df.columns.name and "1 clips x 6 s" in df.columns.name
    # the line that says where this run stands, only where the paper has a figure
    verdict = df["this run against the paper"]
    assert verdict["2D CNN, FGSM spectrograms"] == ""
    for row, value in paper.dropna().items():
        spans = [tuple(map(float, df[f"{rep}: 95% CI (clips)"][row].split("–")))
                 for rep in ("mel", "stft")]
        inside = any(lo <= value <= hi for lo, hi in spans)
        assert verdict[row].startswith("agrees") == inside, row
        if all(hi < value for _, hi in spans):
            assert verdict[row].startswith("below the paper")


def test_transfer_stats_table_counts_a_hand_made_case(res):
    df = report.transfer_stats_table(res)
    row = df.loc[(MEL, "BIM")]
    # source right then fooled: segments 1-5 of fold 1 and 2-4 of fold 2; of those the
    # 1D CNN gets 5 right on clean audio (eligible), and 3 of them wrong on BIM audio
    assert row["segments"] == 12 and row["fooled (source)"] == 8
    assert row["eligible"] == 5 and row["transferred"] == 3
    assert row["transfer rate"] == pytest.approx(60.0)
    assert row["target, clean audio | fooled"] == pytest.approx(100 * 5 / 8)
    assert row["target, adversarial audio | fooled"] == pytest.approx(100 * 4 / 8)
    assert row["target, clean audio | not fooled"] == pytest.approx(100.0)  # segment 1 of fold 2
    assert set(df.index) == {(m, a) for m in (MEL, STFT) for a in ("FGSM", "BIM")}
    assert df.columns.name == f"target: {WAVE_NAME}"


def test_round_trip_table_rows_are_the_attacked_2d_cnn_on_spectrograms_and_audio(res):
    df = report.round_trip_table(res, "stft")
    assert list(df.index) == ["spectrogram: legitimate", "spectrogram: FGSM", "spectrogram: BIM",
                              "re-extracted from audio: None", "re-extracted from audio: FGSM",
                              "re-extracted from audio: BIM"]
    assert df.loc["spectrogram: legitimate", "fold 1"] == 100.0
    assert df.loc["spectrogram: legitimate", "fold 2"] == 50.0
    assert df.loc["spectrogram: legitimate", "mean"] == 75.0
    assert df.loc["spectrogram: legitimate", "std"] == pytest.approx(50 / np.sqrt(2))
    for c, name in (("clean", "None"), ("fgsm", "FGSM"), ("bim", "BIM")):
        masks = MASKS[("rec", "stft", c, "stft")]  # the STFT model on re-extracted features
        row = df.loc[f"re-extracted from audio: {name}"]
        assert [row["fold 1"], row["fold 2"]] == pytest.approx([_acc(m) for m in masks])
    assert df.index.name == f"{STFT}, segment accuracy %"


def test_snr_table_means_per_fold_and_median_over_segments(res):
    df = report.snr_table(res.reconstructions["mel"], "snr")
    assert list(df.columns) == ["None", "FGSM", "BIM"]
    assert df.loc["fold 1", "None"] == pytest.approx(35.0)
    assert df.loc["fold 2", "None"] == pytest.approx(3.5)
    assert df.loc["mean", "None"] == pytest.approx(19.25)
    assert df.loc["fold 1", "BIM"] == pytest.approx(25.0)
    assert df.loc["median over segments", "None"] == pytest.approx(8.0)  # (6 + 10) / 2
    assert df.loc["median over segments", "FGSM"] == pytest.approx(3.0)
    everything = np.array(SNR_CLEAN[0] + SNR_CLEAN[1])
    assert df.loc["std over segments", "None"] == pytest.approx(np.sqrt(np.mean(
        (everything - everything.mean()) ** 2)))


def test_cross_matrix_is_every_source_against_every_target(res):
    clean, adv = report.cross_matrix(res, "bim")
    assert list(clean.index) == [MEL, STFT] and list(clean.columns) == [MEL, STFT, WAVE_NAME]
    assert clean.loc[MEL, WAVE_NAME] == pytest.approx(100 * 4 / 6)
    assert adv.loc[MEL, WAVE_NAME] == pytest.approx(50.0)
    for src, rep in ((MEL, "mel"), (STFT, "stft")):
        for col, t in ((MEL, "mel"), (STFT, "stft"), (WAVE_NAME, "wave")):
            assert clean.loc[src, col] == pytest.approx(_mean_acc(MASKS[("rec", rep, "clean", t)]))
            assert adv.loc[src, col] == pytest.approx(_mean_acc(MASKS[("rec", rep, "bim", t)]))


def test_mcnemar_table_counts_the_flips_of_each_fold(res):
    df = report.mcnemar_table(res)
    first = df.loc[(f"{MEL}, spectrogram", "BIM", "fold 1")]
    assert (first["right -> wrong"], first["wrong -> right"]) == (5, 0)
    assert first["p (exact)"] == pytest.approx(2 * 0.5 ** 5)
    second = df.loc[(f"{MEL}, spectrogram", "BIM", "fold 2")]
    assert (second["right -> wrong"], second["wrong -> right"]) == (3, 0)
    audio = df.loc[("1D CNN, audio from mel", "BIM", "fold 1")]  # [1,1,1,0,0,1] -> [0,1,0,1,0,0]
    assert (audio["right -> wrong"], audio["wrong -> right"]) == (3, 1)


def test_results_need_is_what_a_report_function_says_when_a_part_is_missing(res):
    partial = Results(res.ds, CONDITIONS, models=res.models)
    with pytest.raises(ValueError, match="'attacks'"):
        report.summary_table(partial)
    with pytest.raises(ValueError, match="'reconstructions'"):
        report.cross_matrix(partial, "bim")


# -- players and pages ----------------------------------------------------------------------
def _loud_wave():
    y = 0.6 * np.sin(np.linspace(0, 40 * np.pi, 2000)).astype(np.float32)
    y[[10, 500, 1500]] = [1.5, -2.0, 1.0001]  # three samples beyond full scale
    return y


def test_audio_player_without_a_sink_embeds_the_clipped_sound():
    y = _loud_wave()
    html = audio_player(y, "x")
    m = re.search(r'src="data:audio/wav;base64,([A-Za-z0-9+/=]+)"', html)
    assert m, html[:200]
    back, sr = sf.read(io.BytesIO(base64.b64decode(m.group(1))), dtype="float32")
    assert sr == SAMPLE_RATE and back.shape == y.shape
    assert np.abs(back - np.clip(y, -1, 1)).max() <= 1.5 / 32768
    assert "(3 clipped)" in html


def test_audio_player_with_a_sink_writes_one_16_bit_wav_and_links_it(tmp_path):
    sink = AudioSink(tmp_path / "audio", url="static/audio")
    y = _loud_wave()
    html = audio_player(y, "mel genre/1", sink)
    files = list((tmp_path / "audio").iterdir())
    assert [f.name for f in files] == ["mel_genre_1.wav"]  # the name made safe, no subfolder
    info = sf.info(str(files[0]))
    assert (info.samplerate, info.subtype, info.channels) == (SAMPLE_RATE, "PCM_16", 1)
    back, _ = sf.read(str(files[0]), dtype="float32")
    assert back.shape == y.shape
    assert np.abs(back - np.clip(y, -1, 1)).max() <= 1.5 / 32768
    assert 'src="static/audio/mel_genre_1.wav"' in html and "(3 clipped)" in html
    assert "clipped" not in audio_player(0.5 * np.clip(y, -1, 1), "quiet", sink)


def test_paper_page_has_four_players_per_genre_and_each_rows_prediction(res, tmp_path):
    ds = res.ds
    examples = ds.examples()
    assert list(examples) == list(GENRES[:6])
    html = report.paper_page_html(ds, "mel", examples, res.models["mel"],
                                  res.reconstructions["mel"], res.attacks["mel"], "pp")
    assert html.count("<audio") == 4 * len(examples) == 24
    assert html.count("data:audio/wav;base64,") == 24
    sections = html.split("<h4>")[1:]
    assert len(sections) == len(examples)
    for (genre, i), section in zip(examples.items(), sections):
        assert section.startswith(genre.upper())
        fold = int(ds.folds[i])
        pos = int(np.flatnonzero(ds.split(fold)[1] == i)[0])
        for cond, name, key in (("clean", "None", ("model", "mel")),
                                ("bim", "BIM", ("attack", "mel", "bim")),
                                ("fgsm", "FGSM", ("attack", "mel", "fgsm"))):
            right = MASKS[key][fold][pos]
            pred = GENRES[ds.labels[i] if right else (ds.labels[i] + 1) % 10].capitalize()
            assert f"<tr><td>{name}</td><td>{pred}</td>" in section, (genre, cond)
        assert "<td>20.00</td>" in section  # the paper's SNR of 0.9 x the original
        assert f"<td>{7.25 + fold:.2f}</td>" in section  # the stored unrestored SNR
    sink = AudioSink(tmp_path)
    report.paper_page_html(ds, "mel", examples, res.models["mel"], res.reconstructions["mel"],
                           res.attacks["mel"], "pp", sink)
    names = sorted(f.name for f in tmp_path.iterdir())
    assert names == sorted([f"pp_{g}_original.wav" for g in examples]
                           + [f"pp_mel_{g}_{c}.wav" for g in examples for c in CONDITIONS])


def test_genre_audio_table_names_each_examples_clip_and_segment(res):
    ds = res.ds
    html = report.genre_audio_table(ds, ds.examples(), "ex")
    assert html.count("<audio") == 6
    for genre, i in ds.examples().items():
        clip = ds.clips[ds.seg_clip[i]].clip_id
        start = ds.seg_start[i] / SAMPLE_RATE
        assert f"<td>{genre}</td><td>{clip}</td><td>1 ({start:.1f} s)</td>" in html


def test_paper_page_in_the_authors_form_sets_the_papers_figures_beside_ours(res):
    ds = res.ds
    examples = ds.examples()
    html = report.paper_page_html(ds, "stft", examples, res.models["stft"],
                                  res.reconstructions["stft"], res.attacks["stft"], "pp",
                                  paper=True)
    assert "unrestored" not in html  # the STFT forms keep the level: the column is left out
    head = html.split("<tbody>")[0]
    assert "<th>paper: prediction</th><th>paper: SNR</th>" in head
    for genre, section in zip(examples, html.split("<h4>")[1:]):
        clip, rows = report.PAPER_PAGE[genre]
        assert f"the paper's: GTZAN {clip}" in section
        for cond, name in (("clean", "None"), ("bim", "BIM"), ("fgsm", "FGSM")):
            pred, snr = rows[cond]
            row = section.split(f"<tr><td>{name}</td>")[1].split("</tr>")[0]
            assert f"<td>{pred.capitalize()}</td><td>{snr:.2f}</td>" in row, (genre, cond)
        # the attacked rows' SNR (paper) is against the clean reconstruction (0.9 x):
        # 20 log10(0.9 / (0.9 - 0.5)) for BIM, 20 log10(0.9 / (0.9 - 0.8)) for FGSM
        bim = section.split("<tr><td>BIM</td>")[1].split("</tr>")[0]
        assert f"<td>{20 * np.log10(0.9 / 0.4):.2f}</td>" in bim
        fgsm = section.split("<tr><td>FGSM</td>")[1].split("</tr>")[0]
        assert f"<td>{20 * np.log10(0.9 / 0.1):.2f}</td>" in fgsm
    plain = report.paper_page_html(ds, "stft", examples, res.models["stft"],
                                   res.reconstructions["stft"], res.attacks["stft"], "pp")
    assert "paper: SNR" not in plain


def test_paper_snr_table_sets_the_authors_means_beside_this_runs(res):
    df = report.paper_snr_table(res)
    assert df.loc[(MEL, "None"), "paper's mean"] == 8.4
    assert np.isnan(df.loc[(STFT, "BIM"), "paper's mean"])
    assert "SNR (paper, unrestored), mean" in df.columns
    assert np.isnan(df.loc[(STFT, "None"), "SNR (paper, unrestored), mean"])  # Mel only
    assert df.loc[(MEL, "None"), "SNR (paper, unrestored), mean"] == pytest.approx(7.75)
    assert df.loc[(MEL, "None"), "SNR (standard), mean over folds"] == pytest.approx(19.25)


def test_the_linear_baseline_sits_beside_each_cnn_and_in_the_summary(res):
    import dataclasses

    df = report.training_table(res.ds, res.models["mel"], [50.0, 75.0])
    assert df.loc[["fold 1", "fold 2"], report.BASELINE_COLUMN].tolist() == [50.0, 75.0]
    assert df.loc["mean", report.BASELINE_COLUMN] == pytest.approx(62.5)
    assert report.BASELINE_COLUMN not in report.training_table(res.ds, res.models["mel"])
    with_floor = dataclasses.replace(res, baselines={"mel": [50.0, 75.0], "stft": [90.0, 80.0]})
    summary = report.summary_table(with_floor)
    row = "linear baseline on the 2D CNN's input"
    assert summary.loc[row, "this run: mel"] == pytest.approx(62.5)
    assert summary.loc[row, "this run: stft"] == pytest.approx(85.0)
    assert row not in report.summary_table(res).index


def test_the_baseline_under_attack_sits_beside_the_cnn_and_in_the_summary(res):
    import dataclasses

    models, atts = res.models["mel"], res.attacks["mel"]
    df = report.baseline_attack_table(res.ds, models, atts, [50.0, 75.0],
                                      {"bim": [10.0, 30.0]})
    assert df.loc[["fold 1", "fold 2"], "linear baseline, BIM"].tolist() == [10.0, 30.0]
    assert df.loc["mean", "linear baseline, legitimate"] == pytest.approx(62.5)
    assert df.loc["mean", "linear baseline, BIM"] == pytest.approx(20.0)
    assert "2D CNN, FGSM" not in df and "linear baseline, FGSM" not in df  # only what it was put under
    cnn = report.attack_table(res.ds, models, atts, "segment")
    for col in ("legitimate", "BIM"):
        np.testing.assert_allclose(df.loc[["fold 1", "fold 2"], f"2D CNN, {col}"],
                                   cnn.loc[["fold 1", "fold 2"], col])
    with_floor = dataclasses.replace(res, baselines={"mel": [50.0, 75.0]},
                                     baselines_attacked={"mel": {"bim": [10.0, 30.0]}})
    summary = report.summary_table(with_floor)
    assert summary.loc["linear baseline, BIM spectrograms", "this run: mel"] == pytest.approx(20.0)
    assert "linear baseline, BIM spectrograms" not in report.summary_table(res).index
