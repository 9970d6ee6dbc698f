import numpy as np
import pytest
import soundfile as sf
import torch

from specadv.features import mel_db, n_frames, stft_db


def _librosa_mel_db(y):
    import librosa

    s = librosa.feature.melspectrogram(y=y, sr=22050, n_fft=512, hop_length=256, n_mels=64,
                                       power=1.0, fmin=0, fmax=11025)
    return librosa.power_to_db(s, ref=np.max)


def test_mel_db_matches_librosa_on_paper_audio(paper_audio):
    files = sorted(paper_audio.glob("*_original.wav"))
    assert len(files) == 10
    ys = np.stack([sf.read(f, dtype="float32")[0] for f in files])
    ours = mel_db(ys)
    ref = np.stack([_librosa_mel_db(y) for y in ys])
    assert ours.shape == (10, 64, 431)
    assert np.abs(ours - ref).max() < 0.05


def test_stft_db_matches_librosa_amplitude_to_db():
    import librosa

    y = np.random.default_rng(0).standard_normal(110250).astype(np.float32) * 0.1
    db, phase, ref = stft_db(y, return_ref=True)
    d = librosa.stft(y, n_fft=512, hop_length=256)
    assert db.shape == phase.shape == (257, 431)
    assert np.abs(db - librosa.amplitude_to_db(np.abs(d), ref=np.max)).max() < 0.05
    assert np.isclose(ref, np.abs(d).max(), rtol=1e-4)
    big = np.abs(d) > 1e-3 * np.abs(d).max()  # phase is meaningless in near-empty bins
    assert np.abs(np.angle(np.exp(1j * (phase - np.angle(d)))))[big].max() < 1e-3


def test_features_range_and_reference():
    y = np.random.default_rng(1).standard_normal((3, 110250)).astype(np.float32)
    m, ref = mel_db(y, return_ref=True)
    assert m.shape == (3, 64, 431) and ref.shape == (3,)
    assert np.allclose(m.max(axis=(1, 2)), 0.0, atol=1e-5)
    assert m.min() >= -80.0
    # scaling the audio scales the reference, not the relative dB image
    m2, ref2 = mel_db(4.0 * y, return_ref=True)
    assert np.allclose(m, m2, atol=1e-3) and np.allclose(ref2, 4.0 * ref, rtol=1e-5)


def test_tensor_in_tensor_out_and_batch_equals_single():
    y = torch.randn(2, 110250)
    batch = mel_db(y)
    assert torch.is_tensor(batch) and batch.shape == (2, 64, 431)
    single = mel_db(y[1])
    assert torch.allclose(batch[1], single, atol=1e-4)
    assert n_frames(110250) == 431


def test_bad_input_shapes_are_refused():
    with pytest.raises(ValueError, match="shape"):
        mel_db(np.zeros((2, 3, 100), dtype=np.float32))
    with pytest.raises(TypeError, match="floating"):
        stft_db(np.zeros(1000, dtype=np.int16))
