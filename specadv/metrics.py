"""Signal metrics between an original segment and its reconstruction.

``snr_paper`` is the figure of the paper's result page; it compares loudness
(RMS), not the residual, so the book reports the standard ``snr`` beside it,
and the scale-invariant ``si_sdr``, ``segmental_snr`` and the log-spectral
distance ``lsd``. ``mel_error`` is the quality of a Mel inversion as SPEC
defines it (what the inversion optimises); ``spectral_convergence`` is
reported beside it but cannot judge an inversion from 64 Mel bands.
``perturbation_norms`` measures spectrogram perturbations.
``batch_metrics`` computes the per-segment figures of the pipeline in torch, on the
device of its inputs, so a GPU run copies no audio back to the host to measure it.

All functions are batched over leading dimensions, accept numpy or torch, and
return a float (one item) or a numpy array of the leading shape; they compute
in float64.
"""
from __future__ import annotations

import numpy as np

from .constants import HOP_LENGTH, N_FFT, SAMPLE_RATE

__all__ = ["snr_paper", "snr", "si_sdr", "segmental_snr", "lsd", "mel_error",
           "spectral_convergence", "perturbation_norms", "batch_metrics", "original_power", "BATCH_METRICS"]

_PAPER_ZERO = 1e-5  # the authors' replacement for a zero denominator
_SEGSNR_FRAME = 512  # segmental SNR frame (23 ms at 22050 Hz): a metric setting, not SPEC's n_fft


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def snr_paper(x, y):
    """SNR exactly as the paper computed it: ``20 log10(RMS(x) / |RMS(x) - RMS(y)|)``.

    ``x`` is the original, ``y`` the reconstruction, over the last axis. A zero
    denominator is replaced by 1e-5, as in the authors' code. This compares
    loudness only: a sign-inverted copy scores ``20 log10(RMS(x) / 1e-5)``.

    Returns
    -------
    float or array of shape ``x.shape[:-1]``, dB
    """
    x, y = _np(x), _np(y)
    rms_x = np.sqrt(np.mean(x ** 2, axis=-1))
    rms_y = np.sqrt(np.mean(y ** 2, axis=-1))
    den = np.abs(rms_x - rms_y)
    den = np.where(den == 0, _PAPER_ZERO, den)
    with np.errstate(divide="ignore"):
        out = 20.0 * np.log10(rms_x / den)
    return float(out) if np.ndim(out) == 0 else out


def snr(x, y):
    """Standard SNR of ``y`` as an estimate of ``x``: ``10 log10(sum x^2 / sum (x - y)^2)``, dB.

    ``inf`` when ``y`` equals ``x``.
    """
    x, y = _np(x), _np(y)
    num = np.sum(x ** 2, axis=-1)
    den = np.sum((x - y) ** 2, axis=-1)
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10(num / den)
    return float(out) if np.ndim(out) == 0 else out


def _ret(out):
    out = np.asarray(out)
    return float(out) if out.ndim == 0 else out


def si_sdr(x, y, zero_mean: bool = False):
    """Scale-invariant SDR of ``y`` as an estimate of ``x`` (Le Roux et al. 2019), dB.

    ``10 log10(|a x|^2 / |a x - y|^2)`` with ``a = <y, x> / |x|^2``, over the last axis:
    a gain on ``y`` does not change it, a sign inversion does not either.

    Parameters
    ----------
    x, y : array or tensor, shape ``(..., n_samples)``
        Original and reconstruction.
    zero_mean : bool
        Remove each signal's mean first (as Le Roux et al. recommend).

    Returns
    -------
    float or array of shape ``x.shape[:-1]``, dB (``inf`` when ``y`` is a multiple of ``x``).
    """
    x, y = np.broadcast_arrays(_np(x), _np(y))
    if zero_mean:
        x = x - x.mean(axis=-1, keepdims=True)
        y = y - y.mean(axis=-1, keepdims=True)
    alpha = np.sum(x * y, axis=-1, keepdims=True) / np.sum(x ** 2, axis=-1, keepdims=True)
    target = alpha * x
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10(np.sum(target ** 2, axis=-1) / np.sum((y - target) ** 2, axis=-1))
    return _ret(out)


def segmental_snr(x, y, frame: int = _SEGSNR_FRAME, hop: int | None = None,
                  clip_db: tuple[float, float] = (-10.0, 35.0)):
    """Segmental SNR: the mean over frames of the frame SNR, each clipped to ``clip_db``.

    Frames of ``frame`` samples every ``hop`` (default: ``frame``, no overlap) over the
    last axis; the clipping range -10 to 35 dB is the usual one (Hansen & Pellom 1998),
    so silent or perfect frames do not dominate the mean.

    Parameters
    ----------
    x, y : array or tensor, shape ``(..., n_samples)``
    frame : int
        Frame length in samples (512 = 23 ms at 22050 Hz).
    hop : int, optional
    clip_db : (low, high)

    Returns
    -------
    float or array of shape ``x.shape[:-1]``, dB
    """
    x, y = np.broadcast_arrays(_np(x), _np(y))
    hop = frame if hop is None else int(hop)
    if x.shape[-1] < frame:
        raise ValueError(f"segmental_snr: signals of {x.shape[-1]} samples are shorter than "
                         f"one frame ({frame}); pass a smaller frame=")
    fx = np.lib.stride_tricks.sliding_window_view(x, frame, axis=-1)[..., ::hop, :]
    fy = np.lib.stride_tricks.sliding_window_view(y, frame, axis=-1)[..., ::hop, :]
    num = np.sum(fx ** 2, axis=-1)
    den = np.sum((fx - fy) ** 2, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        seg = 10.0 * np.log10(num / den)
    seg = np.where(np.isnan(seg), clip_db[1], seg)  # a silent, perfectly rebuilt frame
    return _ret(np.clip(seg, *clip_db).mean(axis=-1))


def _stft_np(x: np.ndarray, n_fft: int, hop_length: int):
    import torch

    from .features import stft

    t = torch.from_numpy(np.ascontiguousarray(x.reshape(-1, x.shape[-1])))
    z = stft(t, n_fft, hop_length).numpy()
    return z.reshape(*x.shape[:-1], *z.shape[-2:])


def lsd(x, y, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH, amin: float = 1e-10):
    """Log-spectral distance between the STFT power spectra of ``x`` and ``y``, dB.

    ``mean_t sqrt(mean_f (10 log10 P_x - 10 log10 P_y)^2)`` with ``P = |STFT|^2``
    (SPEC's STFT: ``n_fft`` 512, hop 256, Hann, centred), powers floored at ``amin``.
    A gain ``g`` on ``y`` gives ``|20 log10 g|``.

    Parameters
    ----------
    x, y : array or tensor, shape ``(..., n_samples)``

    Returns
    -------
    float or array of shape ``x.shape[:-1]``, dB
    """
    x, y = np.broadcast_arrays(_np(x), _np(y))
    px = np.abs(_stft_np(x, n_fft, hop_length)) ** 2
    py = np.abs(_stft_np(y, n_fft, hop_length)) ** 2
    d = 10.0 * (np.log10(np.maximum(px, amin)) - np.log10(np.maximum(py, amin)))
    return _ret(np.sqrt(np.mean(d ** 2, axis=-2)).mean(axis=-1))


def spectral_convergence(x, y, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH):
    """Spectral convergence ``||(|X| - |Y|)||_F / ||X||_F`` of STFT magnitudes.

    Between the original ``x`` and a reconstruction ``y``. For a Mel inversion it is
    dominated by what 64 Mel bands discard (about 0.25 on the paper's originals,
    whatever the iteration count): report it, but judge an inversion by
    :func:`mel_error`.
    """
    x, y = np.broadcast_arrays(_np(x), _np(y))
    ax = np.abs(_stft_np(x, n_fft, hop_length))
    ay = np.abs(_stft_np(y, n_fft, hop_length))
    num = np.sqrt(np.sum((ax - ay) ** 2, axis=(-2, -1)))
    return _ret(num / np.sqrt(np.sum(ax ** 2, axis=(-2, -1))))


def mel_error(y, mel_db, sr: int = SAMPLE_RATE, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH):
    """Quality of a Mel inversion, as SPEC defines it: relative L2 error of the Mel.

    ``|M_y / max M_y - M / max M|_F / |M / max M|_F`` with ``M_y`` the Mel spectrogram
    (magnitude, ``power=1``, SPEC's 64 Slaney bands, ``n_fft`` 512, hop 256) of the
    reconstructed audio ``y`` and ``M = 10 ** (mel_db / 10)`` the Mel it was inverted
    from. Both are normalised to their maximum, so the level (``ref``) does not
    matter. librosa's ``mel_to_audio`` scores about 0.04 on the paper's originals.

    Parameters
    ----------
    y : array or tensor, shape ``(..., n_samples)``
        Reconstructed audio.
    mel_db : array or tensor, shape ``(..., n_mels, frames)``
        The dB Mel feature it was reconstructed from (``specadv.features.mel_db``).

    Returns
    -------
    float or array of shape ``y.shape[:-1]``
    """
    import torch

    from .features import mel_filterbank

    y, target = _np(y), 10.0 ** (_np(mel_db) / 10.0)
    basis = mel_filterbank(sr, n_fft, target.shape[-2], dtype=torch.float64).numpy()
    mel = np.matmul(basis, np.abs(_stft_np(y, n_fft, hop_length)))
    if mel.shape[-1] != target.shape[-1]:
        raise ValueError(f"mel_error: the audio gives {mel.shape[-1]} frames, mel_db has "
                         f"{target.shape[-1]}; pass the audio of the same length")
    mel = mel / mel.max(axis=(-2, -1), keepdims=True)
    target = target / target.max(axis=(-2, -1), keepdims=True)
    num = np.sqrt(np.sum((mel - target) ** 2, axis=(-2, -1)))
    return _ret(num / np.sqrt(np.sum(target ** 2, axis=(-2, -1))))


def perturbation_norms(x, x_adv, item_ndim: int = 2):
    """L-infinity and L2 norms of a perturbation ``x_adv - x``, per item.

    Parameters
    ----------
    x, x_adv : array or tensor, shape ``(..., *item_shape)``
        Clean and perturbed inputs, e.g. dB spectrograms ``(batch, freq, frames)``.
    item_ndim : int
        Number of trailing axes that make one item (2 for a spectrogram, 1 for audio).

    Returns
    -------
    (linf, l2) : floats, or arrays of the leading shape, in the inputs' units (dB for
        a spectrogram feature). An L-infinity attack of radius ``eps`` gives
        ``linf <= eps``.
    """
    d = _np(x_adv) - _np(x)
    if d.ndim < item_ndim:
        raise ValueError(f"perturbation_norms: inputs of shape {d.shape} have fewer than "
                         f"item_ndim={item_ndim} axes")
    axes = tuple(range(d.ndim - item_ndim, d.ndim))
    return _ret(np.abs(d).max(axis=axes)), _ret(np.sqrt(np.sum(d ** 2, axis=axes)))


def original_power(x):
    """The float64 power spectrogram of audio ``x`` (a tensor) that :func:`batch_metrics`'
    log-spectral distance compares with: pass it as ``x_power`` to take it once per batch."""
    import torch

    from .features import stft

    return stft(x.to(torch.float64), N_FFT, HOP_LENGTH).abs().pow(2)


BATCH_METRICS = ("snr_paper", "snr_paper_unrestored", "snr_paper_clean", "snr", "si_sdr",
                 "lsd", "segsnr", "attack_db")


def batch_metrics(x, y, ref=None, y_clean=None, x_power=None) -> dict:
    """Every per-segment figure of the pipeline for a batch, in torch (float64), on the
    inputs' device: the same values as the numpy functions of this module.

    Parameters
    ----------
    x, y : tensors ``(batch, n_samples)``
        Originals and reconstructions (level restored).
    ref : tensor ``(batch,)``, optional
        The level the reconstructions were restored with; gives ``snr_paper_unrestored``
        (the paper's form, ``y / ref``). NaN without it.
    y_clean : tensor ``(batch, n_samples)``, optional
        The reconstructions of the *clean* spectrograms of the same segments. Gives
        ``attack_db``: the level of what the attack adds to the audio, ``y - y_clean``,
        relative to the music ``x``, ``10 log10(sum (y - y_clean)^2 / sum x^2)`` dB. NaN
        without it (and -inf for the clean reconstruction itself); and ``snr_paper_clean``,
        the paper's SNR of ``y`` against the clean reconstruction (the reference of the
        attacked rows in the authors' notebooks; SPEC), NaN without it or when ``y`` is
        ``y_clean`` itself.

    x_power : tensor, optional
        :func:`original_power` of ``x``: the originals' float64 power spectrogram, for a
        caller that measures several reconstructions of the same ``x`` (computed here
        without it).

    Returns
    -------
    dict name -> tensor ``(batch,)`` of the names in ``BATCH_METRICS``: ``snr_paper``
    (:func:`snr_paper`), ``snr_paper_unrestored``, ``snr_paper_clean``, ``snr``, ``si_sdr``, ``lsd``, ``segsnr``
    (:func:`segmental_snr`, 512-sample frames) and ``attack_db``.
    """
    import torch

    from .features import stft

    x64, y64 = x.to(torch.float64), y.to(torch.float64)
    nan = torch.full(x64.shape[:-1], float("nan"), dtype=torch.float64, device=x64.device)

    def paper(a, b):
        ra, rb = a.pow(2).mean(-1).sqrt(), b.pow(2).mean(-1).sqrt()
        den = (ra - rb).abs()
        return 20 * torch.log10(ra / torch.where(den == 0, torch.full_like(den, _PAPER_ZERO),
                                                 den))

    energy = x64.pow(2).sum(-1)
    out = {"snr_paper": paper(x64, y64),
           "snr_paper_unrestored": nan if ref is None else
           paper(x64, y64 / ref.to(torch.float64)[:, None]),
           "snr_paper_clean": nan if y_clean is None or y_clean is y else
           paper(y_clean.to(torch.float64), y64),
           "snr": 10 * torch.log10(energy / (x64 - y64).pow(2).sum(-1))}
    target = (y64 * x64).sum(-1, keepdim=True) / energy[:, None] * x64
    out["si_sdr"] = 10 * torch.log10(target.pow(2).sum(-1) / (y64 - target).pow(2).sum(-1))
    px = original_power(x64) if x_power is None else x_power
    py = stft(y64, N_FFT, HOP_LENGTH).abs().pow(2)
    d = 10 * (torch.log10(px.clamp_min(1e-10)) - torch.log10(py.clamp_min(1e-10)))
    out["lsd"] = d.pow(2).mean(-2).sqrt().mean(-1)
    fx, fy = (s.unfold(-1, _SEGSNR_FRAME, _SEGSNR_FRAME) for s in (x64, y64))
    seg = 10 * torch.log10(fx.pow(2).sum(-1) / (fx - fy).pow(2).sum(-1))
    out["segsnr"] = torch.nan_to_num(seg, nan=35.0).clamp(-10.0, 35.0).mean(-1)
    out["attack_db"] = nan if y_clean is None else 10 * torch.log10(
        (y64 - y_clean.to(torch.float64)).pow(2).sum(-1) / energy)
    return out
