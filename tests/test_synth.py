"""The embedded procedural corpus (specadv.synth): layout, determinism, levels, learnability."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from specadv import synth
from specadv.data import GENRES, MIN_ENERGY, SAMPLE_RATE, WINDOW_SAMPLES


def _window_energies(y: np.ndarray, hop: int = 2205) -> np.ndarray:
    """Mean energy of every 5-s window, one starting every ``hop`` samples."""
    c = np.concatenate([[0.0], np.cumsum(y.astype(np.float64) ** 2)])
    starts = np.arange(0, len(y) - WINDOW_SAMPLES + 1, hop)
    return (c[starts + WINDOW_SAMPLES] - c[starts]) / WINDOW_SAMPLES


def test_write_corpus_has_gtzan_layout_and_format(tmp_path):
    out = synth.write_corpus(tmp_path / "corpus", clips_per_genre=2, seconds=6.0, seed=0)
    assert out == tmp_path / "corpus"
    assert sorted(p.name for p in out.iterdir()) == sorted(GENRES)
    for genre in GENRES:
        files = sorted(p.name for p in (out / genre).iterdir())
        assert files == [f"{genre}.00000.wav", f"{genre}.00001.wav"]  # no temporary files left
        info = sf.info(str(out / genre / files[0]))
        assert (info.samplerate, info.channels) == (SAMPLE_RATE, 1)
        assert (info.format, info.subtype) == ("WAV", "PCM_16")
        assert info.frames == 6 * SAMPLE_RATE


def test_file_holds_the_rendered_clip_quantised_to_16_bits(tmp_path):
    synth.write_corpus(tmp_path, clips_per_genre=1, seconds=2.0, seed=3)
    pcm, sr = sf.read(str(tmp_path / "jazz" / "jazz.00000.wav"), dtype="int16")
    expected = np.round(synth.render_clip("jazz", 0, seconds=2.0, seed=3) * 32767).astype(np.int16)
    assert sr == SAMPLE_RATE
    np.testing.assert_array_equal(pcm, expected)


def test_same_seed_writes_identical_bytes(tmp_path):
    a = synth.write_corpus(tmp_path / "a", clips_per_genre=1, seconds=3.0, seed=5)
    b = synth.write_corpus(tmp_path / "b", clips_per_genre=1, seconds=3.0, seed=5)
    for genre in GENRES:
        name = f"{genre}/{genre}.00000.wav"
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_other_seed_or_index_gives_other_audio():
    y = synth.render_clip("rock", 0, seconds=3.0, seed=0)
    assert not np.array_equal(y, synth.render_clip("rock", 0, seconds=3.0, seed=1))
    assert not np.array_equal(y, synth.render_clip("rock", 1, seconds=3.0, seed=0))
    # and the genres are not one song under ten names
    assert not np.array_equal(y, synth.render_clip("metal", 0, seconds=3.0, seed=0))


def test_clip_does_not_depend_on_how_many_clips_are_written(tmp_path):
    small = synth.write_corpus(tmp_path / "two", clips_per_genre=2, seconds=2.0, seed=1)
    large = synth.write_corpus(tmp_path / "four", clips_per_genre=4, seconds=2.0, seed=1)
    for genre in GENRES:
        for k in range(2):
            name = f"{genre}/{synth.clip_name(genre, k)}"
            assert (small / name).read_bytes() == (large / name).read_bytes(), name
    assert len(list((large / "pop").iterdir())) == 4


@pytest.mark.parametrize("genre", GENRES)
def test_clips_are_normalised_and_never_silent(genre):
    for index in range(2):
        y = synth.render_clip(genre, index, seconds=12.0, seed=11)
        assert y.dtype == np.float32 and y.shape == (12 * SAMPLE_RATE,)
        assert np.isfinite(y).all()
        peak_db = 20 * np.log10(np.max(np.abs(y)))
        assert -3.05 <= peak_db <= -0.95, peak_db
        assert _window_energies(y).min() > MIN_ENERGY
        assert abs(float(np.mean(y))) < 1e-3  # no DC offset


def test_tempo_and_meter_follow_the_genres():
    ranges = {"blues": (70, 100), "classical": (60, 110), "country": (100, 122),
              "disco": (114, 126), "hiphop": (84, 96), "jazz": (115, 200), "metal": (140, 180),
              "pop": (100, 125), "reggae": (70, 80), "rock": (110, 140)}
    for genre, (lo, hi) in ranges.items():
        infos = [synth.clip_info(genre, i, seconds=10.0) for i in range(12)]
        assert all(lo <= c.bpm <= hi for c in infos), genre
        assert len({c.key for c in infos}) > 1 and len({c.instruments for c in infos}) > 1, genre
    assert all("drums" not in synth.clip_info("classical", i, 10.0).instruments for i in range(12))
    assert all(synth.clip_info("blues", i, 10.0).swing > 0.6 for i in range(12))  # shuffle
    assert all(synth.clip_info("rock", i, 10.0).swing == 0.5 for i in range(12))


@pytest.mark.parametrize("genre", ["disco", "reggae", "metal"])
def test_rendered_beat_is_at_the_arranged_tempo(genre):
    import librosa

    hits = 0
    for index in range(3):
        y = synth.render_clip(genre, index, seconds=12.0, seed=2)
        tempo, _ = librosa.beat.beat_track(y=y, sr=SAMPLE_RATE)
        ratio = float(np.atleast_1d(tempo)[0]) / synth.clip_info(genre, index, 12.0, seed=2).bpm
        # beat trackers may lock to half or double time (or, with swing, 2:3)
        hits += min(abs(np.log2(ratio) - np.log2(r)) for r in (0.5, 2 / 3, 1.0, 1.5, 2.0)) < 0.06
    assert hits >= 2


def test_genres_are_learnable_but_not_trivially():
    """Time-averaged log-Mel statistics and a logistic regression: well above chance (0.1),
    well below perfect."""
    import librosa
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, labels = [], []
    for label, genre in enumerate(GENRES):
        for index in range(8):
            y = synth.render_clip(genre, index, seconds=6.0, seed=0)
            log_mel = np.log(librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, n_mels=64) + 1e-6)
            features.append(np.concatenate([log_mel.mean(axis=1), log_mel.std(axis=1)]))
            labels.append(label)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = StratifiedKFold(n_splits=4, shuffle=True, random_state=0)
    accuracy = cross_val_score(model, np.array(features), np.array(labels), cv=folds).mean()
    assert 0.3 < accuracy < 0.95, accuracy


def test_bad_arguments_are_refused_with_a_useful_message(tmp_path):
    with pytest.raises(ValueError, match="blues, classical"):
        synth.render_clip("polka", 0, seconds=1.0)
    with pytest.raises(ValueError, match="non-negative"):
        synth.render_clip("pop", 0, seconds=1.0, seed=-1)
    with pytest.raises(ValueError, match="seconds"):
        synth.render_clip("pop", 0, seconds=0.0)
    with pytest.raises(ValueError, match="clips_per_genre"):
        synth.write_corpus(tmp_path, clips_per_genre=0)


def test_parallel_rendering_writes_the_same_bytes(tmp_path):
    serial = synth.write_corpus(tmp_path / "serial", clips_per_genre=1, seconds=2.0, seed=2,
                                workers=1)
    parallel = synth.write_corpus(tmp_path / "parallel", clips_per_genre=1, seconds=2.0, seed=2,
                                  workers=2)
    files = sorted(p.relative_to(serial) for p in serial.rglob("*.wav"))
    assert len(files) == 10
    assert files == sorted(p.relative_to(parallel) for p in parallel.rglob("*.wav"))
    for f in files:
        assert (serial / f).read_bytes() == (parallel / f).read_bytes(), f
    assert not list(parallel.rglob("*.tmp"))
