import numpy as np
import pytest
import soundfile as sf
import torch

from specadv.features import mel_db, stft, stft_db
from specadv.metrics import mel_error, snr
from specadv.reconstruction import (PGHI_SETTINGS, apply_db_perturbation, db_to_amplitude,
                                    griffin_lim, istft, mel_to_audio, mel_to_stft, pghi_phase,
                                    stft_griffin_lim, stft_to_audio)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
SR = 22050


def _music_like(n_items=2, seconds=1.0, seed=0):
    """Harmonic tones with vibrato and decaying notes plus a little noise, float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    out = []
    for _ in range(n_items):
        f0 = rng.uniform(110, 440)
        y = sum(np.sin(2 * np.pi * h * f0 * t + 3 * np.sin(2 * np.pi * 5 * t)) / h
                for h in range(1, 6))
        y = y * np.exp(-3 * (t % 0.25)) + 0.01 * rng.standard_normal(t.size)
        out.append(0.3 * y / np.abs(y).max())
    return np.stack(out).astype(np.float32)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread for this module: on a shared 2-core machine, torch's two
    OpenMP threads stall whenever another process holds a core (10-100x slower), and these
    small batches gain nothing from a second thread."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def originals(paper_audio):
    files = sorted(paper_audio.glob("*_original.wav"))
    assert len(files) == 10
    return np.stack([sf.read(f, dtype="float32")[0] for f in files])


# ---------------------------------------------------------------- Griffin-Lim is librosa's
# every Griffin-Lim variant of the inversion sweep that librosa has: random or zero start,
# momentum on or off, any number of iterations
@pytest.mark.parametrize("init,momentum,n_iter", [("random", 0.99, 8), (None, 0.99, 8),
                                                  ("random", 0.0, 8), ("random", 0.99, 2),
                                                  (None, 0.0, 3)])
def test_griffin_lim_is_librosas_algorithm_in_float64(init, momentum, n_iter):
    import librosa

    y = _music_like(1, 0.5)[0].astype(np.float64)
    mag = np.abs(librosa.stft(y, n_fft=512, hop_length=256))
    ref = librosa.griffinlim(mag, n_iter=n_iter, hop_length=256, n_fft=512, length=y.size,
                             random_state=5, init=init, momentum=momentum)
    ours = griffin_lim(mag, n_iter=n_iter, length=y.size, seed=5, init=init, momentum=momentum)
    assert ours.dtype == np.float64
    assert np.abs(ours - ref).max() < 1e-9 * np.abs(ref).max()


def test_istft_matches_librosa_for_any_length():
    import librosa

    y = _music_like(1, 0.5)[0].astype(np.float64)
    z = librosa.stft(y, n_fft=512, hop_length=256)
    for length in (None, y.size, y.size - 300, y.size + 1000):
        assert np.allclose(istft(z, length=length), librosa.istft(z, hop_length=256,
                                                                  length=length), atol=1e-12)


def test_griffin_lim_batch_equals_items_one_by_one():
    mag = stft(torch.from_numpy(_music_like(6, 0.5))).abs()  # 6 items: more than one chunk
    batch = griffin_lim(mag, n_iter=6, seed=3)
    for i in range(mag.shape[0]):
        single = griffin_lim(mag[i], n_iter=6, seed=3)
        assert torch.allclose(batch[i], single, atol=1e-5)
    other_seed = griffin_lim(mag[0], n_iter=6, seed=4)
    assert not torch.allclose(batch[0], other_seed, atol=1e-3)
    pghi = griffin_lim(mag, n_iter=6, init="pghi", momentum=0.9)
    assert torch.allclose(pghi[5], griffin_lim(mag[5], n_iter=6, init="pghi", momentum=0.9),
                          atol=1e-5)
    nested = griffin_lim(mag.reshape(2, 3, *mag.shape[-2:]), n_iter=6, seed=3)
    assert nested.shape == (2, 3, batch.shape[-1])
    assert torch.allclose(nested.reshape(batch.shape), batch, atol=1e-5)


def test_numpy_in_numpy_out_tensor_in_tensor_out():
    m = mel_db(_music_like(2, 0.5))
    assert isinstance(m, np.ndarray)
    y = mel_to_audio(m, n_iter=2, length=None)
    assert isinstance(y, np.ndarray) and y.dtype == np.float32 and y.shape == (2, 256 * 43)
    yt = mel_to_audio(torch.from_numpy(m), n_iter=2, length=None)
    assert torch.is_tensor(yt) and yt.dtype == torch.float32
    assert np.allclose(yt.numpy(), y, atol=1e-6)
    y64 = mel_to_audio(torch.from_numpy(m).double(), n_iter=2, length=None)
    assert y64.dtype == torch.float64
    assert isinstance(mel_to_stft(10 ** (m / 10), n_iter=0), np.ndarray)
    assert isinstance(stft_griffin_lim(stft_db(_music_like(1, 0.5))[0], n_iter=1,
                                       length=None), np.ndarray)


@pytest.mark.parametrize("device", DEVICES)
def test_work_stays_on_the_tensors_device(device):
    y = torch.from_numpy(_music_like(2, 0.5)).to(device)
    m, ref = mel_db(y, return_ref=True)
    out = mel_to_audio(m, ref=ref, n_iter=3, length=y.shape[-1])
    assert out.device == y.device and out.shape == y.shape
    db, phase, sref = stft_db(y, return_ref=True)
    back = stft_to_audio(db, phase, ref=sref, length=y.shape[-1])
    assert back.device == y.device
    if device != "cpu":  # the same numbers as on CPU
        cpu = mel_to_audio(m.cpu(), ref=ref.cpu(), n_iter=3, length=y.shape[-1])
        assert torch.allclose(out.cpu(), cpu, atol=1e-3 * cpu.abs().max())


def test_bad_arguments_say_what_to_do():
    mag = np.ones((257, 20), dtype=np.float32)
    with pytest.raises(ValueError, match="init"):
        griffin_lim(mag, init="bogus")
    with pytest.raises(ValueError, match="length"):
        griffin_lim(mag, length=100)
    with pytest.raises(TypeError, match="real"):
        griffin_lim(mag.astype(np.complex64))
    with pytest.raises(ValueError, match="n_fft"):
        griffin_lim(mag, n_fft=1024)
    with pytest.raises(ValueError, match="phase"):
        stft_to_audio(np.zeros((257, 20)))


# ---------------------------------------------------------------- Mel inversion
def test_mel_to_stft_without_steps_is_librosas_nnls():
    import librosa

    m = 10 ** (mel_db(_music_like(1, 0.3))[0] / 10)
    ref = librosa.feature.inverse.mel_to_stft(m, sr=SR, n_fft=512, power=1.0, fmin=0,
                                              fmax=SR / 2)
    assert np.abs(mel_to_stft(m, n_iter=0) - ref).max() < 1e-5 * ref.max()
    # the projected-gradient steps lower the Mel residual and keep S >= 0
    from specadv.features import mel_filterbank

    basis = mel_filterbank().numpy()
    res = [np.linalg.norm(basis @ mel_to_stft(m, n_iter=k) - m) for k in (0, 16)]
    assert res[1] < 0.5 * res[0]
    assert mel_to_stft(m).min() >= 0


def test_level_is_restored_with_ref_and_unrestored_without():
    y = _music_like(2, 0.5) * np.array([[0.05], [2.0]], dtype=np.float32)
    m, ref = mel_db(y, return_ref=True)
    _, back_ref = mel_db(mel_to_audio(m, ref=ref, n_iter=16, length=y.shape[-1]),
                         return_ref=True)
    assert np.allclose(back_ref, ref, rtol=0.1)
    _, back_none = mel_db(mel_to_audio(m, n_iter=16, length=y.shape[-1]), return_ref=True)
    assert np.allclose(back_none, 1.0, rtol=0.1)  # the paper's form: max Mel magnitude 1
    assert np.allclose(db_to_amplitude(np.zeros((2, 3, 4)), ref=ref, multiplier=10.0)[:, 0, 0],
                       ref)


def test_pghi_phase_follows_a_sinusoid_between_bins():
    n = np.arange(SR)
    k0 = 40.3  # 40.3 bins: 1735.5 Hz
    z = stft(torch.from_numpy(np.cos(2 * np.pi * k0 * n / 512 + 0.7))[None])[0].numpy()
    p = pghi_phase(np.abs(z))
    true_step = np.angle(z[40, 11:80] * np.conj(z[40, 10:79]))
    est_step = p[40, 11:80] - p[40, 10:79]
    assert np.abs(np.angle(np.exp(1j * (true_step - est_step)))).max() < 0.1


@pytest.mark.parametrize("perturbation_db", [0.0, 0.3])
def test_mel_inversion_is_no_worse_than_librosa_on_the_paper_originals(originals,
                                                                        perturbation_db):
    """SPEC's quality metric: Mel error of the reconstruction vs the Mel inverted from.

    librosa.feature.inverse.mel_to_audio is mel_to_stft followed by a randomly started
    griffinlim; its spread over random starts sets the tolerance. Measured on these ten
    files, clean: librosa 0.0408 mean over 12 seeds, 0.0386 to 0.0444 seed to seed
    (std 0.0019); specadv 0.0384 (librosa's settings, seed 0) and 0.0313
    (PGHI_SETTINGS). With +-0.3 dB sign noise on the feature (FGSM-like, noise seed 0):
    librosa 0.0446 (seeds 0-2: 0.0422 to 0.0459), specadv 0.0440 and 0.0389. With 4
    iterations instead of 32: 0.105 and 0.118.
    """
    import librosa

    m = mel_db(originals)
    if perturbation_db:
        sign = np.random.default_rng(0).choice([-1.0, 1.0], size=m.shape)
        m = (m + perturbation_db * sign).astype(np.float32)
    mel = 10 ** (m / 10)
    s_librosa = np.stack([librosa.feature.inverse.mel_to_stft(
        x, sr=SR, n_fft=512, power=1.0, fmin=0, fmax=SR / 2) for x in mel])
    seed_means = []
    for seed in range(3):
        y = np.stack([librosa.griffinlim(s, n_iter=32, hop_length=256, n_fft=512,
                                         length=originals.shape[-1], random_state=seed)
                      for s in s_librosa])
        seed_means.append(mel_error(y, m).mean())
    librosa_mean = float(np.mean(seed_means))
    tolerance = max(seed_means) - min(seed_means)  # 0.0026 (clean), 0.0037 (perturbed)
    assert 0.035 < librosa_mean < 0.05  # SPEC: about 0.04

    ours = mel_error(mel_to_audio(m), m).mean()            # librosa's settings
    assert ours <= librosa_mean + tolerance
    fast = mel_error(mel_to_audio(m, **PGHI_SETTINGS), m).mean()
    assert fast <= librosa_mean                              # fewer iterations, no worse
    # and the metric sees an iteration cut: 4 iterations are far worse
    cut = mel_error(mel_to_audio(m, n_iter=4), m).mean()
    assert cut > 1.8 * librosa_mean


# ---------------------------------------------------------------- STFT with the phase
def test_stft_with_original_phase_reproduces_the_paper_originals(originals):
    db, phase, ref = stft_db(originals, return_ref=True)
    y = stft_to_audio(db, phase, ref=ref)
    assert y.shape == originals.shape
    assert np.all(snr(originals, y) > 60)   # the -80 dB floor: 61 to 89 dB
    exact = stft_to_audio(db, original_stft=stft(torch.from_numpy(originals)).numpy())
    assert np.all(snr(originals, exact) > 100)
    # unrestored level: the STFT's maximum is 1
    _, _, ref_none = stft_db(stft_to_audio(db, phase), return_ref=True)
    assert np.allclose(ref_none, 1.0, rtol=0.01)


def test_db_perturbation_on_the_original_stft_agrees_with_the_authors_form():
    y = _music_like(2, 0.5)
    db, phase, ref = stft_db(y, return_ref=True)
    delta = np.random.default_rng(0).choice([-0.3, 0.3], size=db.shape).astype(np.float32)
    z = stft(torch.from_numpy(y)).numpy()
    ours = stft_to_audio(db + delta, original_stft=z, length=y.shape[-1])
    authors = stft_to_audio(db + delta, phase, ref=ref, length=y.shape[-1])
    assert np.all(snr(ours, authors) > 50)          # same audio where above the floor
    assert np.all(snr(y, ours) < 40)                # and the perturbation is there
    assert np.allclose(apply_db_perturbation(z, np.zeros_like(delta)), z)
    assert np.allclose(np.abs(apply_db_perturbation(z, np.full_like(delta, 20.0))),
                       10 * np.abs(z), rtol=1e-5)


def test_stft_griffin_lim_converges_with_iterations():
    y = _music_like(2, 0.5)
    db, _, ref = stft_db(y, return_ref=True)

    def spectral_distance(out):
        a, b = np.abs(stft(torch.from_numpy(out)).numpy()), np.abs(stft(torch.from_numpy(y))
                                                                     .numpy())
        return np.linalg.norm(a - b) / np.linalg.norm(b)

    few = spectral_distance(stft_griffin_lim(db, ref=ref, n_iter=2, length=y.shape[-1]))
    many = spectral_distance(stft_griffin_lim(db, ref=ref, length=y.shape[-1]))  # 64
    assert many < 0.6 * few


def test_unperturbed_stft_round_trip_re_extracts_the_same_features():
    """The round-trip control's premise: with the original phase, a clean STFT spectrogram
    turned into audio and analysed again gives back the features the 2D CNN saw."""
    import torch

    from specadv import features
    from specadv.reconstruction import stft_to_audio

    rng = np.random.default_rng(4)
    w = torch.from_numpy((0.1 * rng.standard_normal((2, 110250))).astype(np.float32))
    z = features.stft(w)
    x, _, ref = features.stft_db(w, return_ref=True)
    y = stft_to_audio(x, original_stft=z, clean_db=x)
    x2, _, ref2 = features.stft_db(y, return_ref=True)
    for a, b in ((x2, x), (features.mel_db(y), features.mel_db(w))):
        d = np.abs(a.numpy() - b.numpy())  # dB; float32 rounding, largest near the floor
        assert d.max() < 0.01 and np.median(d) < 1e-4
    np.testing.assert_allclose(ref2.numpy(), ref.numpy(), rtol=1e-5)


# ----------------------------------------------------------------------------- the authors' STFT form
def test_stft_paper_db_is_the_shifted_real_part_in_db_as_librosa_computes_it():
    import librosa

    from specadv.features import stft_paper_db

    y = _music_like(2, 5.0)
    db, imag, shift = stft_paper_db(y)
    assert db.shape == imag.shape == (2, 257, 431) and shift.shape == (2,)
    for k in range(2):
        d = librosa.stft(y[k].astype(np.float64), n_fft=512, hop_length=256)
        assert shift[k] == pytest.approx(-d.real.min(), rel=1e-4)
        ref = librosa.amplitude_to_db(d.real - d.real.min(), ref=1.0, top_db=None)
        assert np.abs(db[k] - ref).max() < 1e-2
        assert np.allclose(imag[k], d.imag, atol=1e-4)
    t = stft_paper_db(torch.from_numpy(y[0]))  # tensor in, tensor out; one segment
    assert torch.is_tensor(t[0]) and tuple(t[0].shape) == (257, 431)


def test_the_authors_stft_inverse_round_trips_clean_audio():
    from specadv.features import stft_paper_db
    from specadv.metrics import snr, snr_paper
    from specadv.reconstruction import stft_paper_to_audio

    y = _music_like(2, 5.0)
    out = stft_paper_to_audio(*stft_paper_db(y))
    assert out.shape == y.shape
    assert np.all(snr_paper(y, out) >= 60) and np.all(snr(y, out) >= 60)


def _paper_segments(paper_audio):
    import soundfile as sf

    # 970_16_stft.wav is the round trip of the next segment (SPEC): left out
    for f in sorted(paper_audio.glob("*_original.wav")):
        clip = f.name.replace("_original.wav", "")
        if clip != "970_16":
            yield clip, sf.read(f, dtype="float32")[0][:110250]


def test_the_authors_stft_form_reproduces_their_files(paper_audio):
    import soundfile as sf

    from specadv.features import stft_paper_db
    from specadv.metrics import snr, snr_paper
    from specadv.reconstruction import stft_paper_to_audio

    for clip, x in _paper_segments(paper_audio):
        y = stft_paper_to_audio(*stft_paper_db(x))
        assert snr_paper(x, y) >= 60, clip
        theirs = sf.read(paper_audio / f"{clip}_stft.wav", dtype="float32")[0]
        n = min(len(theirs), len(y))
        assert snr(theirs[:n], y[:n]) > 50, clip  # their 16-bit file, our float round trip


def test_random_signs_on_the_authors_form_land_in_the_papers_snr_range(paper_audio):
    from specadv.features import stft, stft_db, stft_paper_db
    from specadv.metrics import snr_paper
    from specadv.reconstruction import stft_paper_to_audio, stft_to_audio

    rng = np.random.default_rng(0)
    for clip, x in _paper_segments(paper_audio):
        db, imag, shift = stft_paper_db(x)
        sign = rng.choice([-1.0, 1.0], size=db.shape).astype(np.float32)
        clean = stft_paper_to_audio(db, imag, shift)
        noisy = stft_paper_to_audio(db + 0.3 * sign, imag, shift)
        assert 10 <= snr_paper(clean, noisy) <= 30, clip  # the page's BIM/FGSM range
        mag = stft_db(x)[0]
        z = stft(torch.from_numpy(x))
        y_mag = stft_to_audio(mag + 0.3 * sign, original_stft=z.numpy(), clean_db=mag)
        assert snr_paper(x, y_mag) > 40, clip  # the magnitude form at the same budget


def test_the_authors_mel_inverse_writes_110080_samples_at_the_level_of_s_over_max_s(paper_audio):
    import librosa

    from specadv.features import mel_db
    from specadv.reconstruction import mel_to_audio

    def mel_max(y):
        return librosa.feature.melspectrogram(y=np.asarray(y, np.float64), sr=22050, n_fft=512,
                                              hop_length=256, n_mels=64, power=1.0).max()

    for clip, x in list(_paper_segments(paper_audio))[:3]:
        m, ref = mel_db(x, return_ref=True)
        y = mel_to_audio(m, ref=None, length=None, n_iter=8)  # the authors' call
        assert y.shape == (110080,), clip
        assert abs(mel_max(y) - 1.0) < 0.1, clip  # the Mel of S / max(S): its maximum is 1
        restored = mel_to_audio(m, ref=ref, n_iter=8)  # this project's: the level put back
        assert restored.shape == (110250,)
        assert abs(mel_max(restored) / mel_max(x) - 1.0) < 0.1, clip
