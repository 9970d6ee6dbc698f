"""The two classifiers: the paper's 2D CNN on dB spectrograms and a raw-waveform 1D CNN.

- :class:`Spec2DCNN` is the authors' Keras 2D CNN layer for layer (Mel 64 x 431 or
  STFT 257 x 431 dB input), with Keras' initialisation and batch-normalisation
  settings translated to torch;
- :class:`Wave1DCNN` is an end-to-end 1D CNN on the 5-s waveform in the style of
  Abdoli, Cardinal and Koerich (2019). The authors published no 1D CNN code, so its
  layer list is ours (documented in the class docstring).

Both return logits (the softmax lives in the loss or in
:func:`specadv.training.predict`), take a leading batch dimension, and describe
themselves with :meth:`config` so that a checkpoint trained with other settings is
refused (see :func:`specadv.training.load_checkpoint`). :func:`build_model` builds
either from its kind and configuration.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .constants import N_CLASSES, N_FRAMES, N_MELS, WINDOW_SAMPLES

__all__ = ["Spec2DCNN", "Wave1DCNN", "MODEL_KINDS", "build_model", "count_parameters",
           "KERAS_BN_MOMENTUM", "KERAS_BN_EPS", "SPEC2D_HEADS", "SPEC2D_INPUT_NORMS"]

# Keras BatchNormalization(momentum=0.99, epsilon=1e-3): Keras' momentum is the weight of
# the *old* running statistic, torch's the weight of the *new* batch statistic.
KERAS_BN_MOMENTUM = 0.01
KERAS_BN_EPS = 1e-3


def _keras_init(module: nn.Module) -> None:
    """Keras 2 defaults: Glorot-uniform kernels, zero biases (torch's default is He-uniform)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


SPEC2D_HEADS = ("flatten", "meanstd")
SPEC2D_INPUT_NORMS = ("none", "band")
SPEC2D_POOL_KINDS = ("avg", "max", "power")
_DB_TO_NEPER = math.log(10.0) / 10.0  # a power dB value times this is its natural log
_DB20_TO_NEPER = math.log(10.0) / 20.0  # an amplitude dB value times this: its natural log


class _PowerPool(nn.Module):
    """Average pooling of a power dB image in the power domain:
    ``10 log10(mean(10 ** (x / 10)))`` over each block (a log-sum-exp, exact in float32
    over any dB range). Every cell of a block gets a share of the gradient, in proportion
    to its power, where a maximum gives it to one cell only."""

    def __init__(self, pool):
        super().__init__()
        self.pool = tuple(pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = x * _DB_TO_NEPER
        top = a.amax(dim=(-2, -1), keepdim=True).detach()
        mean = F.avg_pool2d(torch.exp(a - top), self.pool, stride=self.pool)
        return (torch.log(mean.clamp_min(1e-30)) + top) / _DB_TO_NEPER


class _Unshift(nn.Module):
    """The authors' STFT form back to the magnitude form's kind of image: their input is
    ``20 log10(Re D + c)`` with one shift ``c`` per segment (:func:`specadv.features.
    stft_paper_db`); ``u = 10 ** (x / 20)`` is ``Re D + c``; ``c`` is estimated as the
    mean of ``u`` over the quiet cells (within 1% of the mean over all cells; most of a
    spectrogram is near zero): 89-114 dB below ``c`` on the paper's ten originals, where a
    median is as close at 150 times the cost (measured). The output is
    the dB of ``(u - c)^2``, the signed real part's power, relative to the segment's
    largest and floored ``top_db`` below it: the convention of the magnitude form
    (:func:`specadv.features.stft_db`). Power pooling then turns it into an estimate of
    the STFT's power (``|D|^2 / 2`` on average over a block)."""

    def __init__(self, top_db: float = 80.0):
        super().__init__()
        self.top_db = float(top_db)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = torch.exp(x.float() * _DB20_TO_NEPER)  # 10 ** (x / 20), one kernel
        with torch.no_grad():  # which cells are quiet: a mask, no gradient of its own
            c0 = u.mean(dim=(-2, -1), keepdim=True)
            quiet = ((u - c0).abs_() < 0.01 * c0).to(u.dtype)
            count = quiet.sum(dim=(-2, -1), keepdim=True).clamp_min_(1.0)
        c = (u * quiet).sum(dim=(-2, -1), keepdim=True) / count  # the gradient flows here
        db = torch.log(torch.abs(u - c) + 1e-15) / _DB20_TO_NEPER  # 20 log10 |Re D|
        top = db.amax(dim=(-2, -1), keepdim=True).detach()
        return (db - top).clamp_min(-self.top_db).to(x.dtype)


class _BandNorm(nn.Module):
    """Batch normalisation of each frequency band of ``(batch, 1, n_freq, n_time)``."""

    def __init__(self, n_freq: int, eps: float, momentum: float):
        super().__init__()
        self.norm = nn.BatchNorm1d(n_freq, eps=eps, momentum=momentum)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.flatten(1, 2)).view_as(x)


class _TimeMeanStd(nn.Module):
    """``(batch, ..., t)`` -> ``(batch, ... * chunks * 2)``: each map's mean and std over
    time (the last axis), or over each of ``chunks`` consecutive stretches of it (as equal
    as ``torch.tensor_split`` makes them), flattened as (..., chunk, [mean, std])."""

    def __init__(self, chunks: int = 1):
        super().__init__()
        self.chunks = int(chunks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        if self.chunks == 1:
            var, mean = torch.var_mean(x32, dim=-1, correction=0)
        else:
            parts = [torch.var_mean(p, dim=-1, correction=0)
                     for p in torch.tensor_split(x32, self.chunks, dim=-1)]
            var = torch.stack([v for v, _ in parts], dim=-1)
            mean = torch.stack([m for _, m in parts], dim=-1)
        # the epsilon keeps the gradient finite where a map is constant over time
        std = torch.sqrt(var + 1e-6)
        return torch.stack((mean, std), dim=-1).flatten(1).to(x.dtype)


class Spec2DCNN(nn.Module):
    """The paper's 2D CNN on a dB spectrogram (Mel 64 x 431 or STFT 257 x 431).

    Layers (``w = width``, 32 in the paper; all convolutions 3 x 3, stride 1, 'valid')::

        conv w        -> ReLU -> BatchNorm
        conv w        -> LeakyReLU(0.2) -> maxpool 2, stride 2 -> dropout 0.05
        conv 2w       -> LeakyReLU(0.2)
        conv 2w       -> LeakyReLU(0.2) -> maxpool 4, stride 2
        flatten       (2w x 12 x 103 = 79104 for Mel 64 x 431, 2w x 60 x 103 for STFT)
        dense `dense` -> ReLU -> dropout 0.8
        dense n_classes (logits)

    Parameters
    ----------
    input_shape : (n_freq, n_time)
        Spectrogram shape; the flatten size is derived from it.
    n_classes : int
    dense : int
        Units of the hidden dense layer: 1024 in the paper for Mel, 512 for STFT.
    width : int
        Channels of the first two convolutions (the last two have ``2 * width``);
        32 in the paper. Smaller values give a CPU-sized model of the same shape.
    dropout_conv, dropout_dense : float
        Fraction of units dropped (Keras ``Dropout(rate)`` and torch ``p`` agree:
        the paper's ``Dropout(0.8)`` drops 80%).
    leaky_slope : float
    bn_momentum, bn_eps : float
        torch convention. The defaults are Keras' ``momentum=0.99, epsilon=1e-3``
        translated (torch momentum = 1 - Keras momentum).
    init : {"keras", "torch"}
        "keras": Glorot-uniform kernels and zero biases, as the authors' model had.
    head : {"flatten", "meanstd"}
        "flatten": the paper's. "meanstd": the mean and the standard deviation over time
        of the last feature map (``2w x f x 2`` features instead of ``2w x f x t``): a
        head that does not care where in the 5 s a pattern is, with far fewer weights.
    input_norm : {"none", "band"}
        "none": the paper's (the dB values as they are). "band": a batch normalisation of
        each frequency band over the batch and time (running statistics at test time)
        before the first convolution; the model's input stays the dB spectrogram, so an
        attack's budget is still in dB.
    input_pool : (int, int)
        Average pooling of the input over (frequency, time) before the first convolution,
        kernel = stride; ``(1, 1)`` (the paper's) is none. ``(4, 1)`` turns the 257 STFT
        bins into 64, the cost of a Mel input.
    band_stats : bool
        Also give the dense layer each band's mean and std over time of the stem's output
        (the linear baseline's features, :mod:`specadv.baseline`); False: the paper's.
    input_pool_kind : {"avg", "max", "power"}
        "max" keeps each block's largest value: an envelope of the authors' STFT form
        (the dB of the signed real part plus a shift), which an average would cancel.
        "power" averages the block in the power domain (``10 log10 mean 10^(x/10)``): the
        dB of the block's energy, every cell with its share of the gradient.
    unshift : bool
        The authors' STFT form only: first undo its shift and log (``_Unshift``), so the
        convolutions see the dB power of the signed real part; False: the dB as it is.

    Input ``(batch, n_freq, n_time)`` or ``(batch, 1, n_freq, n_time)``, dB; output
    ``(batch, n_classes)`` logits. Flatten order is torch's (channel, freq, time),
    Keras' was (freq, time, channel): irrelevant when training from scratch. The layers
    ``input_norm`` and ``input_pool`` add (when set) are in :attr:`stem`, before
    :attr:`features`; the head's statistics are the first layer of :attr:`classifier`.

    Examples
    --------
    >>> model = Spec2DCNN((64, 431))
    >>> model.flatten_features
    79104
    """

    kind = "spec2d"

    def __init__(self, input_shape=(N_MELS, N_FRAMES), n_classes: int = N_CLASSES,
                 dense: int = 1024, width: int = 32, dropout_conv: float = 0.05,
                 dropout_dense: float = 0.8,
                 leaky_slope: float = 0.2, bn_momentum: float = KERAS_BN_MOMENTUM,
                 bn_eps: float = KERAS_BN_EPS, init: str = "keras", head: str = "flatten",
                 input_norm: str = "none", input_pool=(1, 1), input_pool_kind: str = "avg",
                 band_stats: bool = False, unshift: bool = False, head_chunks: int = 1):
        super().__init__()
        n_freq, n_time = (int(v) for v in input_shape)
        if init not in ("keras", "torch"):
            raise ValueError(f"init must be 'keras' or 'torch', not {init!r}")
        if head not in SPEC2D_HEADS:
            raise ValueError(f"head must be one of {SPEC2D_HEADS} ('flatten' is the paper's), "
                             f"not {head!r}")
        if input_norm not in SPEC2D_INPUT_NORMS:
            raise ValueError(f"input_norm must be one of {SPEC2D_INPUT_NORMS} ('none' is the "
                             f"paper's), not {input_norm!r}")
        if input_pool_kind not in SPEC2D_POOL_KINDS:
            raise ValueError(f"input_pool_kind must be one of {SPEC2D_POOL_KINDS}, not "
                             f"{input_pool_kind!r}")
        if int(head_chunks) != head_chunks or head_chunks < 1:
            raise ValueError(f"head_chunks must be a positive integer, not {head_chunks!r}")
        pool = tuple(int(v) for v in input_pool)
        if len(pool) != 2 or min(pool) < 1 or tuple(input_pool) != pool:
            raise ValueError(f"input_pool must be two positive integers (frequency, time), "
                             f"(1, 1) for none; got {input_pool!r}")
        self._config = dict(input_shape=[n_freq, n_time], n_classes=int(n_classes),
                            dense=int(dense), width=int(width),
                            dropout_conv=float(dropout_conv), dropout_dense=float(dropout_dense),
                            leaky_slope=float(leaky_slope), bn_momentum=float(bn_momentum),
                            bn_eps=float(bn_eps), init=init, head=head, input_norm=input_norm,
                            input_pool=list(pool), input_pool_kind=input_pool_kind,
                            band_stats=bool(band_stats), unshift=bool(unshift),
                            head_chunks=int(head_chunks))
        w = int(width)
        stem: list[nn.Module] = [_Unshift()] if unshift else []
        if input_pool_kind == "power":
            # the power average is of dB values as they are, so the band norm comes after it
            if pool != (1, 1):
                stem.append(_PowerPool(pool))
            if input_norm == "band":
                stem.append(_BandNorm(n_freq // pool[0], eps=bn_eps, momentum=bn_momentum))
        else:
            if input_norm == "band":
                stem.append(_BandNorm(n_freq, eps=bn_eps, momentum=bn_momentum))
            if pool != (1, 1):
                stem.append((nn.AvgPool2d if input_pool_kind == "avg" else nn.MaxPool2d)(
                    pool, stride=pool))
        self.stem = nn.Sequential(*stem)
        self.features = nn.Sequential(
            nn.Conv2d(1, w, 3), nn.ReLU(), nn.BatchNorm2d(w, eps=bn_eps, momentum=bn_momentum),
            nn.Conv2d(w, w, 3), nn.LeakyReLU(leaky_slope),
            nn.MaxPool2d(2, stride=2), nn.Dropout(dropout_conv),
            nn.Conv2d(w, 2 * w, 3), nn.LeakyReLU(leaky_slope),
            nn.Conv2d(2 * w, 2 * w, 3), nn.LeakyReLU(leaky_slope),
            nn.MaxPool2d(4, stride=2),
        )
        f, t = n_freq // pool[0], n_time // pool[1]
        for reduce in (lambda n: n - 2, lambda n: n - 2, lambda n: (n - 2) // 2 + 1,
                       lambda n: n - 2, lambda n: n - 2, lambda n: (n - 4) // 2 + 1):
            f, t = reduce(f), reduce(t)
        if f < 1 or t < 1:
            raise ValueError(f"input_shape {input_shape} is too small for Spec2DCNN "
                             f"(needs at least 20 x 20)")
        self.feature_shape = (2 * w, f, t)
        if head == "meanstd" and head_chunks > t:
            raise ValueError(f"head_chunks {head_chunks} exceeds the last map's {t} frames")
        self.flatten_features = 2 * w * f * (2 * int(head_chunks) if head == "meanstd" else t)
        # the stem's output bands, each one's mean and std over time beside the maps' features
        self.band_stats = _TimeMeanStd() if band_stats else None
        if band_stats:
            self.flatten_features += 2 * (n_freq // pool[0])
        self.classifier = nn.Sequential(
            _TimeMeanStd(head_chunks) if head == "meanstd" else nn.Flatten(),
            nn.Linear(self.flatten_features, dense), nn.ReLU(), nn.Dropout(dropout_dense),
            nn.Linear(dense, n_classes),
        )
        if init == "keras":
            _keras_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            x = x.unsqueeze(1)
        x = self.stem(x)
        if self.band_stats is None:
            return self.classifier(self.features(x))
        head, rest = self.classifier[0], self.classifier[1:]
        return rest(torch.cat((head(self.features(x)), self.band_stats(x[:, 0])), dim=1))

    def config(self) -> dict:
        """Constructor arguments, JSON-ready (``Spec2DCNN(**model.config())`` rebuilds it)."""
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict) -> "Spec2DCNN":
        return cls(**config)


class Wave1DCNN(nn.Module):
    """End-to-end 1D CNN on the raw waveform, after Abdoli, Cardinal and Koerich (2019).

    Abdoli et al.'s model for 50999-sample inputs (16 kHz), kept block for block and
    applied to the 110250-sample (5 s, 22050 Hz) segments; ``w = width`` (16 in theirs)::

        conv w,  64 taps, stride 2 -> BatchNorm -> ReLU -> maxpool 8, stride 8
        conv 2w, 32 taps, stride 2 -> BatchNorm -> ReLU -> maxpool 8, stride 8
        conv 4w, 16 taps, stride 2 -> BatchNorm -> ReLU
        conv 8w,  8 taps, stride 2 -> BatchNorm -> ReLU
        flatten (8w x 100 for 110250 samples)   or global average over time
        dense dense[0] -> ReLU -> dropout
        dense dense[1] -> ReLU -> dropout
        dense n_classes (logits)

    Time lengths for 110250 samples: 55094 -> 6886 -> 3428 -> 428 -> 207 -> 100.

    Parameters
    ----------
    n_samples : int
        Input length (110250 = 5 s at 22050 Hz); the flatten size is derived from it.
    n_classes : int
    width : int
        Channels of the first convolution (doubling per block).
    dense : (int, int)
        Units of the two hidden dense layers (Abdoli et al.: 128, 64).
    dropout : float
        Fraction dropped after each hidden dense layer (Abdoli et al.: 0.25).
    pooling : {"flatten", "avg", "meanstd"}
        "flatten" as Abdoli et al.; "avg" averages the last feature map over time
        (far fewer parameters, steadier on small training sets); "meanstd" takes its
        mean and standard deviation over time (twice "avg"'s features).
    bn_momentum, bn_eps : float
        torch convention; defaults are Keras' (see :class:`Spec2DCNN`).
    init : {"keras", "torch"}
    first_stride : int
        Stride of the first convolution (2 in Abdoli et al.'s). 4 halves the cost of
        the first two blocks, the bulk of the model's (CPU profiles); the 64 taps still
        see the whole band.

    Input ``(batch, n_samples)`` or ``(batch, 1, n_samples)``, amplitude in [-1, 1];
    output ``(batch, n_classes)`` logits. No input normalisation: the model sees the
    waveform's level, so audio reconstructed at another loudness than the original
    (``ref=max`` loses it) is a different input to it.
    """

    kind = "wave1d"

    # (channels multiplier, kernel, stride, pool after) per block
    BLOCKS = ((1, 64, 2, 8), (2, 32, 2, 8), (4, 16, 2, 1), (8, 8, 2, 1))

    def __init__(self, n_samples: int = WINDOW_SAMPLES, n_classes: int = N_CLASSES,
                 width: int = 16, dense=(128, 64), dropout: float = 0.25, pooling: str = "flatten",
                 bn_momentum: float = KERAS_BN_MOMENTUM, bn_eps: float = KERAS_BN_EPS,
                 init: str = "keras", first_stride: int = 2):
        super().__init__()
        dense = tuple(int(d) for d in dense)
        if len(dense) != 2:
            raise ValueError(f"dense must give two layer sizes, not {dense}")
        if pooling not in ("flatten", "avg", "meanstd"):
            raise ValueError(f"pooling must be 'flatten', 'avg' or 'meanstd', not {pooling!r}")
        if init not in ("keras", "torch"):
            raise ValueError(f"init must be 'keras' or 'torch', not {init!r}")
        if isinstance(first_stride, bool) or int(first_stride) != first_stride or first_stride < 1:
            raise ValueError(f"first_stride must be a positive integer (2: Abdoli et al.'s), "
                             f"not {first_stride!r}")
        self._config = dict(n_samples=int(n_samples), n_classes=int(n_classes), width=int(width),
                            dense=list(dense), dropout=float(dropout), pooling=pooling,
                            bn_momentum=float(bn_momentum), bn_eps=float(bn_eps), init=init,
                            first_stride=int(first_stride))
        layers: list[nn.Module] = []
        c_in, length = 1, int(n_samples)
        blocks = ((self.BLOCKS[0][0], self.BLOCKS[0][1], int(first_stride), self.BLOCKS[0][3]),
                  *self.BLOCKS[1:])
        for mult, kernel, stride, pool in blocks:
            c_out = mult * int(width)
            layers += [nn.Conv1d(c_in, c_out, kernel, stride=stride),
                       nn.BatchNorm1d(c_out, eps=bn_eps, momentum=bn_momentum), nn.ReLU()]
            length = (length - kernel) // stride + 1
            if pool > 1:
                layers.append(nn.MaxPool1d(pool, stride=pool))
                length = (length - pool) // pool + 1
            if length < 1:
                raise ValueError(f"n_samples={n_samples} is too short for Wave1DCNN")
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.feature_shape = (c_in, length)
        if pooling == "avg":
            head: list[nn.Module] = [nn.AdaptiveAvgPool1d(1), nn.Flatten()]
            self.flatten_features = c_in
        elif pooling == "meanstd":
            head = [_TimeMeanStd()]
            self.flatten_features = 2 * c_in
        else:
            head = [nn.Flatten()]
            self.flatten_features = c_in * length
        self.classifier = nn.Sequential(
            *head,
            nn.Linear(self.flatten_features, dense[0]), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(dense[0], dense[1]), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(dense[1], n_classes),
        )
        if init == "keras":
            _keras_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(1)
        return self.classifier(self.features(x))

    def config(self) -> dict:
        """Constructor arguments, JSON-ready (``Wave1DCNN(**model.config())`` rebuilds it)."""
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict) -> "Wave1DCNN":
        return cls(**config)


MODEL_KINDS: dict[str, type[nn.Module]] = {Spec2DCNN.kind: Spec2DCNN, Wave1DCNN.kind: Wave1DCNN}


def build_model(kind: str, seed: int | None = None, **config) -> nn.Module:
    """Build a model by kind ("spec2d" or "wave1d") from its constructor arguments.

    With ``seed``, the initial weights depend on it alone (torch's global random state
    is left as it was), so two builds with the same seed are identical.

    Examples
    --------
    >>> m = build_model("spec2d", seed=0, input_shape=(257, 431), dense=512)
    >>> m.config()["dense"]
    512
    """
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {sorted(MODEL_KINDS)}")
    cls = MODEL_KINDS[kind]
    if seed is None:
        return cls(**config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(**config)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
