import math

import numpy as np
import pytest
import soundfile as sf
import torch

from specadv import metrics
from specadv.features import mel_db
from specadv.metrics import (lsd, mel_error, perturbation_norms, segmental_snr, si_sdr, snr,
                             snr_paper, spectral_convergence)

SIX_DB = 20 * math.log10(2)  # 6.0206 dB

# The paper's result page: SNR_paper of (original, BIM) and (original, FGSM), STFT path
PAPER_SNR = {
    "838_20": (24.58, 18.35), "778_8": (25.05, 18.09), "891_21": (24.91, 19.26),
    "830_10": (20.21, 14.12), "970_16": (19.78, 12.89), "696_20": (20.45, 13.78),
    "930_17": (24.37, 17.81), "754_19": (22.52, 16.13), "941_16": (18.65, 12.37),
    "667_11": (25.57, 16.60),
}


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(0).standard_normal((3, 22050))


def test_half_amplitude_copy_scores_six_db_on_every_snr(noise):
    y = 0.5 * noise
    assert np.allclose(snr(noise, y), SIX_DB)
    assert np.allclose(snr_paper(noise, y), SIX_DB)
    assert np.allclose(segmental_snr(noise, y), SIX_DB)
    assert np.allclose(lsd(noise, y), SIX_DB, atol=1e-9)


def test_sign_inverted_copy_fools_snr_paper_but_not_snr(noise):
    y = -noise
    rms = np.sqrt(np.mean(noise ** 2, axis=-1))
    assert np.allclose(snr_paper(noise, y), 20 * np.log10(rms / 1e-5))
    assert np.allclose(snr(noise, y), -SIX_DB)  # residual 2x: 10 log10(1/4)
    assert np.allclose(segmental_snr(noise, y), -SIX_DB)
    assert np.all(np.isinf(si_sdr(noise, y)))     # a multiple of x: scale-invariant


def test_si_sdr_is_scale_invariant_and_hand_computed():
    x = np.zeros(8)
    x[0] = 2.0
    n = np.zeros(8)
    n[1] = 1.0  # orthogonal to x: SI-SDR = 10 log10(|x|^2 / |n|^2) = 10 log10 4
    assert si_sdr(x, x + n) == pytest.approx(10 * math.log10(4))
    assert si_sdr(x, 7.5 * (x + n)) == pytest.approx(10 * math.log10(4))
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 4, 1000))
    assert np.allclose(si_sdr(a, a + 0.3 * b), si_sdr(a, -3.0 * (a + 0.3 * b)))
    assert not np.allclose(snr(a, a + 0.3 * b), snr(a, 3.0 * (a + 0.3 * b)))


def test_segmental_snr_clips_frames_and_frames_hop():
    x = np.ones(1024)
    assert segmental_snr(x, x) == 35.0           # perfect frames clip at the top
    assert segmental_snr(x, np.zeros(1024)) == 0.0
    assert segmental_snr(x, -9 * x) == -10.0     # frame SNR -20 dB, clipped at -10
    y = x.copy()
    y[:512] = 0.5  # first frame 6.02 dB, second perfect (35)
    assert segmental_snr(x, y) == pytest.approx((SIX_DB + 35.0) / 2)
    with pytest.raises(ValueError, match="frame"):
        segmental_snr(x[:100], y[:100])


def test_lsd_is_zero_for_identical_and_symmetric(noise):
    assert np.allclose(lsd(noise, noise), 0.0)
    y = noise + 0.1 * np.random.default_rng(2).standard_normal(noise.shape)
    assert np.allclose(lsd(noise, y), lsd(y, noise))
    assert np.all(lsd(noise, y) > 0)


def test_perturbation_norms_hand_computed():
    x = np.zeros((2, 3, 4))
    d = np.zeros((2, 3, 4))
    d[0, 0, 0], d[0, 1, 2] = 0.3, -0.4      # linf 0.4, l2 0.5
    d[1] = 0.1                               # linf 0.1, l2 0.1 * sqrt(12)
    linf, l2 = perturbation_norms(x, x + d)
    assert np.allclose(linf, [0.4, 0.1]) and np.allclose(l2, [0.5, 0.1 * math.sqrt(12)])
    linf1, l21 = perturbation_norms(torch.zeros(3, 4), torch.full((3, 4), -0.3))
    assert linf1 == pytest.approx(0.3) and l21 == pytest.approx(0.3 * math.sqrt(12))
    linf_audio, _ = perturbation_norms(x, x + d, item_ndim=1)
    assert linf_audio.shape == (2, 3)


def test_metrics_take_torch_and_numpy_alike(noise):
    y = 0.8 * noise + 0.05
    t, ty = torch.from_numpy(noise).float(), torch.from_numpy(y).float()
    for f in (snr, snr_paper, si_sdr, segmental_snr, lsd, spectral_convergence):
        assert np.allclose(f(t, ty), f(noise, y), rtol=1e-4, atol=1e-4), f.__name__
    assert isinstance(snr(noise[0], y[0]), float)
    assert snr(noise, y).shape == (3,)


def test_mel_error_matches_its_definition_with_librosa():
    import librosa

    rng = np.random.default_rng(3)
    y = rng.standard_normal(22050).astype(np.float32)
    m = mel_db(y)
    y2 = y + 0.2 * rng.standard_normal(22050).astype(np.float32)
    ref = librosa.feature.melspectrogram(y=y2, sr=22050, n_fft=512, hop_length=256, n_mels=64,
                                         power=1.0, fmin=0, fmax=11025)
    target = 10 ** (m / 10)
    ref, target = ref / ref.max(), target / target.max()
    expected = np.linalg.norm(ref - target) / np.linalg.norm(target)
    assert mel_error(y2, m) == pytest.approx(expected, rel=1e-3)
    # the level does not matter, the feature's own audio scores ~0 (the -80 dB floor)
    assert mel_error(3.0 * y, m) < 1e-4
    assert mel_error(y2, m) > 0.05


def test_spectral_convergence_hand_computed(noise):
    assert np.allclose(spectral_convergence(noise, noise), 0.0)
    assert np.allclose(spectral_convergence(noise, 0.5 * noise), 0.5)


def test_snr_paper_reproduces_the_papers_page(paper_audio):
    """Every SNR of the result page, from the authors' own files, to 0.01 dB."""
    for clip, (bim_db, fgsm_db) in PAPER_SNR.items():
        x = sf.read(paper_audio / f"{clip}_original.wav", dtype="float64")[0]
        bim = sf.read(paper_audio / f"{clip}_bim.wav", dtype="float64")[0]
        fgsm = sf.read(paper_audio / f"{clip}_fgsm.wav", dtype="float64")[0]
        assert snr_paper(x, bim) == pytest.approx(bim_db, abs=0.01), clip
        assert snr_paper(x, fgsm) == pytest.approx(fgsm_db, abs=0.01), clip
        # the standard SNR of the same pairs is far lower (BIM 6-9 dB, FGSM 3-6 dB)
        assert snr(x, bim) < 10 and snr(x, fgsm) < snr(x, bim)


def test_batch_metrics_match_the_numpy_metrics():
    import torch

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 22050)).astype(np.float32) * 0.1
    x[2, :4096] = 0.0  # silent frames: segmental SNR's clipping
    y_clean = x + 0.01 * rng.standard_normal(x.shape).astype(np.float32)
    y = y_clean + 0.003 * rng.standard_normal(x.shape).astype(np.float32)
    ref = np.array([2.0, 0.5, 1.0], np.float32)
    out = metrics.batch_metrics(torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(ref),
                                torch.from_numpy(y_clean))
    assert set(out) == set(metrics.BATCH_METRICS)
    expect = {"snr_paper": metrics.snr_paper(x, y),
              "snr_paper_unrestored": metrics.snr_paper(x, y / ref[:, None]),
              "snr_paper_clean": metrics.snr_paper(y_clean, y),
              "snr": metrics.snr(x, y), "si_sdr": metrics.si_sdr(x, y), "lsd": metrics.lsd(x, y),
              "segsnr": metrics.segmental_snr(x, y),
              "attack_db": -metrics.snr(x, x + (y - y_clean))}
    for name, ref_value in expect.items():
        np.testing.assert_allclose(out[name].numpy(), ref_value, rtol=1e-6, atol=1e-6,
                                   err_msg=name)
    bare = metrics.batch_metrics(torch.from_numpy(x), torch.from_numpy(x))
    assert np.isnan(bare["attack_db"].numpy()).all()
    assert np.isnan(bare["snr_paper_unrestored"].numpy()).all()
    assert np.isnan(bare["snr_paper_clean"].numpy()).all()
    yt = torch.from_numpy(y)
    itself = metrics.batch_metrics(torch.from_numpy(x), yt, None, yt)  # the clean row
    assert np.isnan(itself["snr_paper_clean"].numpy()).all()
    # the originals' spectrogram taken once per batch gives the same figures
    power = metrics.original_power(torch.from_numpy(x))
    shared = metrics.batch_metrics(torch.from_numpy(x), yt, torch.from_numpy(ref),
                                   torch.from_numpy(y_clean), power)
    for name, v in out.items():
        np.testing.assert_array_equal(shared[name].numpy(), v.numpy(), err_msg=name)
    assert np.isnan(itself["snr_paper_clean"].numpy()).all()
    assert np.isinf(bare["snr"].numpy()).all()
