"""The round trip between sound and spectrograms: one registry of representations.

A :class:`Representation` bundles everything about one input of the 2D CNN (after
torchaudio's pipeline bundles): its feature function, its inverse to audio, its
feature shape and which 2D CNN settings of a profile it uses. The registry
:data:`REPRESENTATIONS` is plain module-level instances; adding a representation
is one more instance here.

Every stage that goes from audio to features and back uses this module: the
dataset's features, the reconstruction stage, the reconstruction-aware attack, the
inversion sweep and the explorer. :func:`classify_audio` is the one way audio is
classified by the 1D CNN and by the 2D CNNs on re-extracted features.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import torch

from specadv import features, reconstruction
from specadv.constants import HOP_LENGTH, N_CLASSES, N_FRAMES, N_MELS, N_STFT_BINS

__all__ = ["Features", "Inversion", "Representation", "MEL", "STFT", "STFT_PAPER",
           "REPRESENTATIONS", "register_representation", "targets", "WAVE", "MEL_WRITTEN_SAMPLES",
           "representation", "extract", "to_audio", "classify_audio", "probs"]

WAVE = "wave"  # the 1D CNN's input: the audio itself
MEL_WRITTEN_SAMPLES = (N_FRAMES - 1) * HOP_LENGTH
"""Samples of the authors' Mel inverse (``mel_to_audio`` with no ``length``): 110080."""


@dataclass(frozen=True)
class Features:
    """A batch of features of one representation and what its inverse needs.

    ``db`` ``(n, F, T)`` is the 2D CNN's input; ``ref`` ``(n,)`` the level it is relative
    to (ones for a representation in absolute dB); ``stft`` the complex STFT of the audio
    (kept where the inverse uses it); ``shift`` ``(n,)`` the authors' STFT form's
    per-segment shift of the real part (:func:`specadv.features.stft_paper_db`).
    """

    db: torch.Tensor
    ref: torch.Tensor
    stft: torch.Tensor | None = None
    shift: torch.Tensor | None = None


@dataclass(frozen=True)
class Inversion:
    """Settings of the Mel inversion (:func:`specadv.reconstruction.mel_to_audio`)."""

    n_iter: int = reconstruction.GL_ITERS
    momentum: float = reconstruction.GL_MOMENTUM
    init: str = "random"
    seed: int = 0
    nnls_iter: int = reconstruction.NNLS_ITERS

    @classmethod
    def from_profile(cls, section: Mapping) -> "Inversion":
        """The inversion of a profile's ``reconstruction`` section."""
        return cls(n_iter=int(section["n_iter"]), momentum=float(section["momentum"]),
                   init=section["init"], seed=int(section["seed"]),
                   nnls_iter=int(section["nnls_iter"]))

    def kwargs(self) -> dict:
        return {"n_iter": self.n_iter, "momentum": self.momentum, "init": self.init,
                "seed": self.seed, "nnls_iter": self.nnls_iter}


@dataclass(frozen=True)
class Representation:
    """One input representation of the 2D CNN.

    Parameters
    ----------
    name : the key used everywhere (profile, cache, tables, book).
    title : how the book names it ("Mel").
    feature_shape : ``(F, T)`` of a 5-s segment.
    extract : audio ``(n, samples)`` -> :class:`Features`.
    db : audio -> the dB feature only (what a 2D CNN classifies).
    inverse : ``(db, features of the clean audio, Inversion)`` -> audio ``(n, samples)``,
        at the original level.
    written : ``(audio from inverse, features of the clean audio)`` -> the audio as the
        authors' inverse writes it (the Mel's: the level of ``S / max(S)``, 110080
        samples); ``None`` where the inverse already writes the original level (the
        STFT forms), so the two are the same audio.
    description : one line for the book.
    differentiable : ``(x_db, original_stft, length, n_iter, seed)`` -> audio, the inverse
        as a differentiable torch function (what the reconstruction-aware attack takes its
        gradient through): exact where the inverse is (the STFT forms, from the original
        complex STFT), a surrogate where it is not (the Mel's Griffin-Lim from a random
        phase: ``n_iter`` unrolled iterations from the start drawn with ``seed``).
    stochastic : whether ``differentiable`` draws a random start (an attack then averages
        over several draws).
    needs_stft : whether ``differentiable`` needs the original audio's complex STFT.
    model_settings : a profile's ``model2d`` section -> this representation's own 2D CNN
        settings (``width``, ``dense``, ``input_pool``, ``input_norm``, ``unshift``).
    train_settings : a profile's ``train2d`` section -> its own training settings
        (``epochs``, ``lr``).
    """

    name: str
    title: str
    feature_shape: tuple[int, int]
    extract: Callable[[torch.Tensor], Features] = field(repr=False)
    db: Callable[[torch.Tensor], torch.Tensor] = field(repr=False)
    inverse: Callable[[torch.Tensor, Features, Inversion], torch.Tensor] = field(repr=False)
    written: Callable[[torch.Tensor, Features], torch.Tensor] | None = field(default=None,
                                                                             repr=False)
    description: str = ""
    db_of: Callable[[torch.Tensor], torch.Tensor] | None = field(default=None, repr=False)
    """The dB feature from the audio's complex STFT (:func:`specadv.features.stft`): what
    :func:`classify_audio` uses to take one STFT for every 2D CNN."""
    differentiable: Callable[..., torch.Tensor] | None = field(default=None, repr=False)
    stochastic: bool = False
    needs_stft: bool = False
    model_settings: Callable[[Mapping], dict] | None = field(default=None, repr=False)
    train_settings: Callable[[Mapping], dict] | None = field(default=None, repr=False)

    @property
    def model_name(self) -> str:
        return f"2D CNN ({self.title})"


def _mel_extract(w: torch.Tensor) -> Features:
    x, ref = features.mel_db(w, return_ref=True)
    return Features(x, ref)


def _mel_inverse(x_db: torch.Tensor, f: Features, inv: Inversion) -> torch.Tensor:
    return reconstruction.mel_to_audio(x_db, ref=f.ref, **inv.kwargs())


def _stft_extract(w: torch.Tensor) -> Features:
    z = features.stft(w if w.dtype == torch.float64 else w.float())  # one STFT for both
    x, ref = features.stft_db_of(z)
    return Features(x, ref, z)


def _stft_inverse(x_db: torch.Tensor, f: Features, inv: Inversion) -> torch.Tensor:
    # the perturbation scales the original complex STFT: exact when there is none
    return reconstruction.stft_to_audio(x_db, original_stft=f.stft, clean_db=f.db)


def _mel_written(y: torch.Tensor, f: Features) -> torch.Tensor:
    # the authors' mel_to_audio(db_to_power(X)) inverts S / max(S): the same inversion
    # without the level (it is homogeneous in the magnitude), and with no `length` it
    # writes 110080 samples; zero-padded to the window for the 1D CNN
    out = y / f.ref.to(y.dtype)[:, None]
    out[:, MEL_WRITTEN_SAMPLES:] = 0.0
    return out


def _stft_paper_extract(w: torch.Tensor) -> Features:
    z = features.stft(w if w.dtype == torch.float64 else w.float())
    x, _, shift = features.stft_paper_db_of(z)
    return Features(x, torch.ones_like(shift), z, shift)


def _stft_paper_inverse(x_db: torch.Tensor, f: Features, inv: Inversion) -> torch.Tensor:
    # the authors' inverse: the perturbed real part, the clean imaginary part put back
    return reconstruction.stft_paper_to_audio(x_db, f.stft.imag, f.shift)


def _mel_differentiable(x_db: torch.Tensor, original_stft, length: int, n_iter: int,
                        seed: int) -> torch.Tensor:
    # librosa's pseudo-inverse start, clamped (no NNLS steps), then n_iter unrolled plain
    # Griffin-Lim iterations from a random phase: a surrogate of mel_to_audio, whose 32
    # momentum iterations from a random phase cannot usefully be differentiated
    s = reconstruction.mel_to_stft(torch.pow(10.0, x_db / 10.0), power=1.0, n_iter=0)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    phase = (2 * torch.pi * torch.rand(s.shape[-2:], generator=gen, dtype=s.dtype)).to(s.device)
    z = torch.polar(s, phase.expand_as(s))
    for _ in range(n_iter):
        zz = features.stft(reconstruction.istft(z, length=length))
        z = s * zz / (zz.abs() + 1e-12)
    return reconstruction.istft(z, length=length)


def _needs_stft(original_stft, name: str) -> torch.Tensor:
    if original_stft is None:
        raise ValueError(f"the {name} round trip needs the original complex STFT "
                         "(specadv.features.stft of the original audio): original_stft=")
    return original_stft


def _stft_differentiable(x_db, original_stft, length, n_iter, seed) -> torch.Tensor:
    # the reconstruction stage's own inverse: the dB change scales the original STFT
    z = _needs_stft(original_stft, "STFT").to(x_db.device)
    return reconstruction.stft_to_audio(x_db, original_stft=z, length=length)


def _stft_paper_differentiable(x_db, original_stft, length, n_iter, seed) -> torch.Tensor:
    # the authors' inverse: the perturbed real part, the clean imaginary part put back
    z = _needs_stft(original_stft, "authors' STFT").to(x_db.device)
    return reconstruction.stft_paper_to_audio(x_db, z.imag, -z.real.amin(dim=(-2, -1)),
                                              length=length)


def _mel_model(m: Mapping) -> dict:
    """The Mel 2D CNN's own settings: the profile's general ``model2d`` keys."""
    return {"width": m["width"], "dense": m["dense_mel"], "input_pool": list(m["input_pool"]),
            "input_norm": m["input_norm"], "unshift": False}


def _stft_model(unshift: bool = False) -> Callable[[Mapping], dict]:
    """The STFT forms' own settings: the ``*_stft`` keys where they are set."""
    def settings(m: Mapping) -> dict:
        return {"width": m["width_stft"] or m["width"], "dense": m["dense_stft"],
                "input_pool": list(m["input_pool_stft"] or m["input_pool"]),
                "input_norm": m["input_norm_stft"] or m["input_norm"],
                "unshift": bool(unshift and m["unshift_stft_paper"])}
    return settings


def _mel_train(t: Mapping) -> dict:
    return {"epochs": t["epochs"], "lr": t["lr"]}


def _stft_train(t: Mapping) -> dict:
    return {"epochs": t["epochs_stft"] or t["epochs"],
            "lr": t["lr_stft"] if t["lr_stft"] is not None else t["lr"]}


MEL = Representation(
    "mel", "Mel", (N_MELS, N_FRAMES), _mel_extract, features.mel_db, _mel_inverse,
    _mel_written, "64 Mel bands in dB re the segment's maximum; inverted by NNLS and "
    "Griffin-Lim", db_of=lambda z: features.mel_db_of(z)[0],
    differentiable=_mel_differentiable, stochastic=True, model_settings=_mel_model,
    train_settings=_mel_train)
"""The authors' Mel: 64 bands, ``power_to_db(ref=max)``; inverted by NNLS + Griffin-Lim."""

STFT = Representation(
    "stft", "STFT", (N_STFT_BINS, N_FRAMES), _stft_extract,
    lambda w: features.stft_db(w)[0], _stft_inverse, None,
    "the STFT's log-magnitude in dB re the segment's maximum (the clean method); inverted "
    "with the original phase", db_of=lambda z: features.stft_db_of(z)[0],
    differentiable=_stft_differentiable, needs_stft=True, model_settings=_stft_model(), train_settings=_stft_train)
"""STFT log-magnitude, ``amplitude_to_db(ref=max)``; inverted with the original phase."""

STFT_PAPER = Representation(
    "stft_paper", "authors' STFT", (N_STFT_BINS, N_FRAMES), _stft_paper_extract,
    lambda w: features.stft_paper_db(w)[0], _stft_paper_inverse, None,
    "the authors' form: the dB (re 1) of the STFT's real part shifted non-negative per "
    "segment; inverted with the clean imaginary part put back",
    db_of=lambda z: features.stft_paper_db_of(z)[0], differentiable=_stft_paper_differentiable, needs_stft=True,
    model_settings=_stft_model(unshift=True), train_settings=_stft_train)
"""The authors' STFT form (:func:`specadv.features.stft_paper_db`): what made the paper's
page; inverted by :func:`specadv.reconstruction.stft_paper_to_audio`."""

REPRESENTATIONS: dict[str, Representation] = {r.name: r for r in (MEL, STFT, STFT_PAPER)}
"""The registry of representations, by name; :func:`register_representation` adds one."""


def register_representation(rep: Representation) -> Representation:
    """Add ``rep`` to :data:`REPRESENTATIONS` (its name must be new, and not the 1D CNN's
    ``"wave"``): the dataset, the stages, the report and the book's pages then know it."""
    if rep.name in REPRESENTATIONS or rep.name == WAVE:
        raise ValueError(f"a representation named {rep.name!r} exists already")
    missing = [f for f in ("differentiable", "model_settings", "train_settings")
               if getattr(rep, f) is None]
    if missing:
        raise ValueError(f"representation {rep.name!r} needs {missing}")
    REPRESENTATIONS[rep.name] = rep
    return rep


def representation(name: str) -> Representation:
    """The registry entry ``name``, with an error that lists the known ones."""
    try:
        return REPRESENTATIONS[name]
    except KeyError:
        raise ValueError(f"representation must be one of {tuple(REPRESENTATIONS)}; "
                         f"got {name!r}") from None


def targets() -> tuple[str, ...]:
    """The models that classify a reconstruction: the 1D CNN (``"wave"``), each registered
    representation's 2D CNN."""
    return (WAVE, *REPRESENTATIONS)


def extract(name: str, w: torch.Tensor) -> Features:
    """Features of representation ``name`` of a batch of audio ``(n, samples)``."""
    return representation(name).extract(w)


def to_audio(name: str, x_db: torch.Tensor, clean: Features, inversion: Inversion) -> torch.Tensor:
    """Audio from (perturbed) features ``x_db`` of the audio whose features are ``clean``."""
    return representation(name).inverse(x_db, clean, inversion)


def probs(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Class probabilities of ``x`` as a tensor on ``x``'s device (no copy to the host)."""
    model.eval()
    if len(x) == 0:
        return torch.zeros((0, N_CLASSES), device=x.device)
    with torch.no_grad():
        return torch.cat([torch.softmax(model(x[lo: lo + batch_size]).float(), dim=1)
                          for lo in range(0, len(x), batch_size)])


def classify_audio(models: Mapping[str, torch.nn.Module], y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Probabilities of audio ``y`` for each target: the 1D CNN (``"wave"``) on the audio,
    a 2D CNN (a representation's name) on the features re-extracted from it."""
    out, z = {}, None
    for t, m in models.items():
        if t == WAVE:
            out[t] = probs(m, y)
            continue
        r = representation(t)
        if r.db_of is None:
            out[t] = probs(m, r.db(y))
            continue
        if z is None:  # one STFT of the audio for every 2D CNN
            z = features.stft(y if y.dtype == torch.float64 else y.float())
        out[t] = probs(m, r.db_of(z))
    return out
