"""Tests of specadv.roundtrip: the representation registry, classify_audio."""

import numpy as np
import pytest
import torch

from specadv import features
from specadv.constants import WINDOW_SAMPLES
from specadv.metrics import snr
from specadv.models import build_model
from specadv.profiles import load_profile
from specadv.roundtrip import (REPRESENTATIONS, WAVE, Features, Inversion, classify_audio,
                               extract, probs, representation, to_audio)
from specadv.stages.train import model_config


@pytest.fixture(scope="module")
def segments():
    """Two 5-s segments: a harmonic tone with decaying notes, and noise."""
    rng = np.random.default_rng(0)
    t = np.arange(WINDOW_SAMPLES) / 22050
    tone = sum(np.sin(2 * np.pi * h * 220 * t) / h for h in range(1, 5)) * np.exp(-2 * (t % 0.5))
    w = np.stack([0.3 * tone / np.abs(tone).max(), 0.1 * rng.standard_normal(t.size)])
    return torch.from_numpy(w.astype(np.float32))


@pytest.mark.parametrize("name", list(REPRESENTATIONS))
def test_every_representation_extracts_its_feature_shape_from_a_5_s_segment(segments, name):
    r = REPRESENTATIONS[name]
    f = r.extract(segments)
    assert r.name == name and f.db.shape == (2, *r.feature_shape) and f.ref.shape == (2,)
    if name == "stft_paper":  # dB re 1 of the shifted real part: the level is kept
        assert torch.equal(f.ref, torch.ones(2)) and f.shift.shape == (2,)
        assert (f.db.amin(dim=(1, 2)) <= -99.9).all()  # the shifted minimum sits at the floor
    else:
        assert torch.allclose(f.db.amax(dim=(1, 2)), torch.zeros(2), atol=1e-5)  # dB re. max
    # the dataset stores extract(...).db; classify_audio reads db(...): the same features
    assert torch.allclose(r.db(segments), f.db, atol=1e-4)
    assert torch.equal(extract(name, segments).db, f.db)
    # classify_audio takes one STFT for every 2D CNN: the same features, bit for bit
    assert torch.equal(r.db_of(features.stft(segments)), r.db(segments))


def test_registry_shapes_are_the_papers():
    assert REPRESENTATIONS["mel"].feature_shape == (64, 431)
    assert REPRESENTATIONS["stft"].feature_shape == (257, 431)
    assert REPRESENTATIONS["stft_paper"].feature_shape == (257, 431)
    from specadv.profiles import load_profile

    # the paper's dense layers: 1024 for the Mel, 512 for both STFT forms (their own settings)
    m = load_profile("paper")["model2d"]
    assert [REPRESENTATIONS[r].model_settings(m)["dense"] for r in ("mel", "stft", "stft_paper")] \
        == [1024, 512, 512]
    # only the Mel's written audio differs from the level-restored one
    assert [n for n, r in REPRESENTATIONS.items() if r.written] == ["mel"]


def test_the_authors_stft_form_is_its_own_features_and_inverse(segments):
    r = representation("stft_paper")
    clean = r.extract(segments)
    db, imag, shift = features.stft_paper_db(segments)
    assert torch.allclose(clean.db, db) and torch.allclose(clean.shift, shift)
    assert torch.allclose(clean.stft.imag, imag)
    y = r.inverse(clean.db, clean, Inversion())
    assert y.shape == segments.shape and np.all(snr(segments.numpy(), y.numpy()) > 60)
    # a perturbation moves only the real part: the imaginary part of the audio's STFT
    # comes back as the clean one (up to the istft's consistency)
    y_adv = r.inverse(clean.db + 0.3, clean, Inversion())
    assert np.all(snr(segments.numpy(), y_adv.numpy()) < 40)


def test_the_mels_written_audio_is_the_restored_one_without_its_level(segments):
    from specadv.roundtrip import MEL_WRITTEN_SAMPLES

    r = representation("mel")
    clean = r.extract(segments)
    inv = Inversion(n_iter=2, nnls_iter=2)
    y = r.inverse(clean.db, clean, inv)
    w = r.written(y, clean)
    assert MEL_WRITTEN_SAMPLES == 110080 and w.shape == y.shape
    assert torch.all(w[:, MEL_WRITTEN_SAMPLES:] == 0)
    # the authors' inverse: the same Mel inversion of S / max(S) (homogeneous in the level)
    unit = Features(clean.db, torch.ones_like(clean.ref))
    u = r.inverse(clean.db, unit, inv)[:, :MEL_WRITTEN_SAMPLES]
    err = (w[:, :MEL_WRITTEN_SAMPLES] - u).norm(dim=1) / u.norm(dim=1)
    assert (err < 1e-4).all(), err


def test_stft_inverse_of_the_clean_features_reproduces_the_audio(segments):
    r = representation("stft")
    clean = r.extract(segments)
    assert clean.stft is not None and clean.stft.shape[-2:] == r.feature_shape
    y = r.inverse(clean.db, clean, Inversion())
    assert y.shape == segments.shape
    assert np.all(snr(segments.numpy(), y.numpy()) > 60)
    assert torch.equal(to_audio("stft", clean.db, clean, Inversion()), y)


def test_mel_inverse_gives_audio_of_the_segments_length(segments):
    r = representation("mel")
    clean = r.extract(segments[:1])
    y = r.inverse(clean.db, clean, Inversion(n_iter=2, nnls_iter=2))
    assert y.shape == (1, WINDOW_SAMPLES) and torch.isfinite(y).all()
    # the level is restored: within a factor of two of the original's
    ratio = float(y.pow(2).mean().sqrt() / segments[:1].pow(2).mean().sqrt())
    assert 0.5 < ratio < 2.0


def test_inversion_reads_a_profiles_reconstruction_section():
    section = load_profile("smoke")["reconstruction"]
    assert Inversion.from_profile(section).kwargs() == {
        "n_iter": section["n_iter"], "momentum": section["momentum"], "init": section["init"],
        "seed": section["seed"], "nnls_iter": section["nnls_iter"]}


def _models():
    p = load_profile("smoke")
    out = {WAVE: build_model("wave1d", seed=0, **model_config(p, WAVE))}
    for rep in REPRESENTATIONS:
        out[rep] = build_model("spec2d", seed=1, **model_config(p, rep))
    return {t: m.eval() for t, m in out.items()}


def test_classify_audio_gives_each_target_probabilities_of_its_own_input(segments):
    models = _models()
    out = classify_audio(models, segments)
    assert set(out) == {WAVE, *REPRESENTATIONS}
    for t, p in out.items():
        assert p.shape == (2, 10)
        assert torch.allclose(p.sum(1), torch.ones(2), atol=1e-5) and (p >= 0).all()
    # the 1D CNN hears the audio; each 2D CNN sees the features re-extracted from it
    assert torch.allclose(out[WAVE], probs(models[WAVE], segments))
    assert torch.allclose(out["mel"], probs(models["mel"], features.mel_db(segments)))
    assert torch.allclose(out["stft"], probs(models["stft"], features.stft_db(segments)[0]))
    assert torch.allclose(out["stft_paper"],
                          probs(models["stft_paper"], features.stft_paper_db(segments)[0]))


def test_an_unknown_representation_is_refused_listing_the_known_ones():
    with pytest.raises(ValueError) as err:
        representation("nope")
    msg = str(err.value)
    assert "'nope'" in msg and all(name in msg for name in REPRESENTATIONS)
    with pytest.raises(ValueError, match="nope"):
        extract("nope", torch.zeros(1, WINDOW_SAMPLES))
