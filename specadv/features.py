"""Spectrogram features of 5-s segments: Mel dB (64 x 431) and STFT dB (257 x 431).

Batched torch, the same code on CPU and CUDA. The parameters are SPEC's
(those of the authors' notebooks), stated once here:

- ``n_fft=512``, ``hop_length=256``, periodic Hann window, ``center=True`` with
  zero padding (librosa 0.11's ``pad_mode="constant"``);
- Mel: 64 Slaney-normalised bands from 0 Hz to ``sr / 2``, ``power=1.0`` (a Mel
  *magnitude* spectrogram), then ``power_to_db(S, ref=max, top_db=80)``,
  i.e. ``10 * log10`` of the magnitude, exactly as the authors did;
- STFT: ``amplitude_to_db(|D|, ref=max, top_db=80)`` (``20 * log10``) of the
  magnitude, with the phase kept for reconstruction.

Both features are relative to the segment's own maximum (``ref=max``); the
functions can return that reference (``return_ref=True``) so the reconstruction
can put the audio back at its original level.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from .constants import FMIN_HZ, HOP_LENGTH, N_FFT, N_MELS, SAMPLE_RATE, TOP_DB

AMIN_POWER = 1e-10  # librosa.power_to_db's amin
AMIN_AMPLITUDE = 1e-5  # librosa.amplitude_to_db's amin

__all__ = [
    "SAMPLE_RATE", "N_FFT", "HOP_LENGTH", "N_MELS", "TOP_DB",
    "mel_filterbank", "stft", "mel_db", "stft_db", "stft_db_of", "mel_db_of", "stft_paper_db", "stft_paper_db_of",
    "n_frames",
]


def n_frames(n_samples: int, hop_length: int = HOP_LENGTH) -> int:
    """Number of STFT frames of a centred STFT of ``n_samples`` samples (431 for 5 s)."""
    return 1 + n_samples // hop_length


@lru_cache(maxsize=8)
def _mel_basis_np(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                               htk=False, norm="slaney").astype(np.float32)


def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS,
                   fmin: float = FMIN_HZ, fmax: float | None = None,
                   device: torch.device | str | None = None,
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Slaney Mel filterbank of librosa, shape ``(n_mels, 1 + n_fft // 2)``."""
    fmax = sr / 2.0 if fmax is None else float(fmax)
    return torch.as_tensor(_mel_basis_np(sr, n_fft, n_mels, float(fmin), fmax), device=device,
                           dtype=dtype)


def _as_batch(waveforms) -> tuple[torch.Tensor, bool]:
    x = torch.as_tensor(np.asarray(waveforms) if not torch.is_tensor(waveforms) else waveforms)
    if not torch.is_floating_point(x):
        raise TypeError(f"waveforms must be floating point, got {x.dtype}")
    single = x.ndim == 1
    if single:
        x = x[None]
    if x.ndim != 2:
        raise ValueError(f"waveforms must have shape (n_samples,) or (batch, n_samples), "
                         f"got {tuple(x.shape)}")
    return x, single


def stft(waveforms: torch.Tensor, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH) -> torch.Tensor:
    """Complex STFT ``(batch, 1 + n_fft // 2, n_frames)`` as ``librosa.stft`` computes it."""
    window = torch.hann_window(n_fft, periodic=True, device=waveforms.device,
                               dtype=waveforms.dtype)
    return torch.stft(waveforms, n_fft=n_fft, hop_length=hop_length, window=window, center=True,
                      pad_mode="constant", return_complex=True)


def _to_db(s: torch.Tensor, multiplier: float, amin: float, top_db: float | None):
    """``multiplier * log10(s / max(s))`` per item with librosa's amin and top_db floor."""
    ref = s.amax(dim=(-2, -1), keepdim=True)
    db = multiplier * (torch.log10(s.clamp_min(amin)) - torch.log10(ref.clamp_min(amin)))
    if top_db is not None:
        db = db.clamp_min(-top_db)  # the maximum of db is 0 dB by construction
    return db, ref.reshape(ref.shape[:-2])


def _real(x: torch.Tensor) -> torch.Tensor:
    """float64 stays float64 (differentiation checks, references); the rest is float32."""
    return x if x.dtype == torch.float64 else x.float()


def _out(t: torch.Tensor, like, single: bool):
    if single:
        t = t[0]
    return t.cpu().numpy() if not torch.is_tensor(like) else t


def mel_db(waveforms, sr: int = SAMPLE_RATE, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH,
           n_mels: int = N_MELS, top_db: float | None = TOP_DB, return_ref: bool = False):
    """Mel spectrogram in dB relative to each segment's maximum, as the authors computed it.

    Parameters
    ----------
    waveforms : array or tensor, shape ``(n_samples,)`` or ``(batch, n_samples)``
        Audio at ``sr`` Hz. A tensor is processed on its own device.
    return_ref : bool
        Also return the per-segment reference (the maximum Mel magnitude), shape ``(batch,)``.

    Returns
    -------
    mel_db : shape ``(batch, n_mels, n_frames)`` (``(64, 431)`` per 5-s segment), in
        ``[-top_db, 0]`` dB; numpy in, numpy out; tensor in, tensor out.

    See Also
    --------
    librosa.power_to_db(librosa.feature.melspectrogram(y, power=1.0, ...), ref=np.max)
    """
    x, single = _as_batch(waveforms)
    x = _real(x)
    db, ref = mel_db_of(stft(x, n_fft, hop_length), sr, n_mels, top_db)
    db = _out(db, waveforms, single)
    if return_ref:
        return db, _out(ref, waveforms, single)
    return db


def mel_db_of(spec: torch.Tensor, sr: int = SAMPLE_RATE, n_mels: int = N_MELS,
              top_db: float | None = TOP_DB):
    """:func:`mel_db`'s dB feature and reference from a complex STFT already computed
    (:func:`stft`, ``n_fft = 2 (F - 1)``), so a caller that needs several features of the
    same audio takes its STFT once."""
    n_fft = 2 * (spec.shape[-2] - 1)
    mag = spec.abs()
    basis = mel_filterbank(sr, n_fft, n_mels, device=mag.device, dtype=mag.dtype)
    return _to_db(torch.matmul(basis, mag), 10.0, AMIN_POWER, top_db)


def stft_db_of(spec: torch.Tensor, top_db: float | None = TOP_DB):
    """:func:`stft_db`'s dB feature and reference from a complex STFT already computed
    (:func:`stft`), so a caller that needs both does not take the STFT twice."""
    return _to_db(spec.abs(), 20.0, AMIN_AMPLITUDE, top_db)


def stft_db(waveforms, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH,
            top_db: float | None = TOP_DB, return_ref: bool = False):
    """STFT log-magnitude in dB relative to each segment's maximum, and the phase.

    Returns
    -------
    (stft_db, phase) or (stft_db, phase, ref)
        ``stft_db`` and ``phase`` (radians) of shape ``(batch, 1 + n_fft // 2, n_frames)``
        (``(257, 431)`` per 5-s segment); ``ref`` the maximum magnitude, shape ``(batch,)``.

    See Also
    --------
    librosa.amplitude_to_db(np.abs(librosa.stft(y, n_fft=512, hop_length=256)), ref=np.max)
    """
    x, single = _as_batch(waveforms)
    x = _real(x)
    spec = stft(x, n_fft, hop_length)
    db, ref = _to_db(spec.abs(), 20.0, AMIN_AMPLITUDE, top_db)
    phase = torch.angle(spec)
    out = (_out(db, waveforms, single), _out(phase, waveforms, single))
    if return_ref:
        out = out + (_out(ref, waveforms, single),)
    return out


def stft_paper_db(waveforms, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH):
    """The authors' STFT form: the dB of the real part, shifted non-negative per segment.

    ``D = stft(y)``; a per-segment shift ``c = -min(Re D)`` makes the real part
    non-negative; the 2D CNN's input is ``amplitude_to_db(Re D + c, ref=1.0,
    top_db=None)`` (an absolute level, not the segment's maximum), and the imaginary
    part is kept for the inverse (:func:`specadv.reconstruction.stft_paper_to_audio`).
    The authors' notebooks do not show the forward step; ``c = -min(Re D)`` and
    ``top_db=None`` are inferred from their files (SPEC), which they reproduce.

    Returns
    -------
    (db, imag, shift)
        ``db`` and ``imag`` of shape ``(batch, 1 + n_fft // 2, n_frames)`` (``(257, 431)``
        per 5-s segment), ``shift`` ``c`` of shape ``(batch,)``; numpy in, numpy out.
    """
    x, single = _as_batch(waveforms)
    x = _real(x)
    db, imag, shift = stft_paper_db_of(stft(x, n_fft, hop_length))
    return (_out(db, waveforms, single), _out(imag, waveforms, single),
            _out(shift, waveforms, single))


def stft_paper_db_of(spec: torch.Tensor):
    """:func:`stft_paper_db`'s ``(db, imag, shift)`` from a complex STFT already computed
    (:func:`stft`, batch ``(n, F, T)``), so a caller that needs the STFT too does not take
    it twice."""
    shift = -spec.real.amin(dim=(-2, -1))
    db = 20.0 * torch.log10((spec.real + shift[..., None, None]).clamp_min(AMIN_AMPLITUDE))
    return db, spec.imag.contiguous(), shift
