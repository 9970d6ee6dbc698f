"""The numerical precision of every stage, stated once.

The policy
----------
- **Attacks, predictions, the round trip to audio, validation and testing run in exact
  float32** (:func:`exact_float32`): TensorFloat-32 is turned off for CUDA matrix
  products (``torch.backends.cuda.matmul.allow_tf32``) and cuDNN convolutions
  (``torch.backends.cudnn.allow_tf32``, on by default), and float32 matrix products are
  asked for the ``"highest"`` precision (which also keeps oneDNN's CPU products in
  float32). TF32 keeps 10 mantissa bits: on the first convolution's input, a 0.03 dB
  perturbation of a dB spectrogram near -40 dB is below TF32's resolution in about 18%
  of the STFT bins, so the small budgets of the eps sweep would vanish on a GPU and not
  on a CPU.
- **Training** runs in float32 too (the paper's), unless the profile asks for bf16
  autocast of the forward pass on a GPU (``train2d.amp`` / ``train1d.amp``; the ``paper``
  and ``rehearsal`` profiles do, to be kept or dropped by measurement on a GPU). The
  validation that chooses the kept epoch always runs in the test precision (float32, no
  autocast), so the epoch kept is chosen in the precision it is attacked and tested in.
- What ran is recorded, not what was asked for: :func:`training_precision` is
  ``"bf16-autocast"`` only where autocast was effective (a CUDA device), ``"float32"``
  otherwise (autocast is ignored on a CPU). It is part of a checkpoint's identity and of
  the stage cache keys, so a CPU run and a GPU run with autocast never share an entry.

:func:`attack_kernels` adds cuDNN autotuning (``torch.backends.cudnn.benchmark``) to exact
float32 for the attack stages, whose batch shapes are fixed. Every context gives back the
flags it found, also when the block raises.
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import Iterator

import torch

__all__ = ["FLOAT32", "BF16_AUTOCAST", "INFERENCE_PRECISION", "exact_float32",
           "attack_kernels", "training_precision", "autocast"]

FLOAT32 = "float32"
BF16_AUTOCAST = "bf16-autocast"
INFERENCE_PRECISION = FLOAT32  # attacks, predictions, round trip, validation, testing


def _device_type(device) -> str:
    if isinstance(device, torch.device):
        return device.type
    name = str(device)
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name).type


@contextmanager
def exact_float32() -> Iterator[None]:
    """Exact float32 inside the block: TF32 off for CUDA matmuls and cuDNN convolutions,
    float32 matmul precision ``"highest"``; the previous flags are restored on exit.

    Also usable as a decorator (``@exact_float32()``).

    Examples
    --------
    >>> import torch
    >>> with exact_float32():
    ...     torch.backends.cudnn.allow_tf32
    False
    """
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    matmul_precision = torch.get_float32_matmul_precision()
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul
        torch.backends.cudnn.allow_tf32 = cudnn
        torch.set_float32_matmul_precision(matmul_precision)


@contextmanager
def attack_kernels() -> Iterator[None]:
    """:func:`exact_float32` with cuDNN autotuning on (the attacks' batch shapes are fixed,
    so the fastest convolution algorithm is chosen once per shape); both restored on exit.

    Autotuning chooses among exact float32 algorithms, which may differ in rounding, so
    on a GPU a result is reproducible up to float rounding (as across batch sizes).
    """
    benchmark = torch.backends.cudnn.benchmark
    try:
        torch.backends.cudnn.benchmark = True
        with exact_float32():
            yield
    finally:
        torch.backends.cudnn.benchmark = benchmark


def training_precision(device, amp: bool) -> str:
    """The precision a training run's forward pass effectively has: ``"bf16-autocast"``
    where ``amp`` is asked for and ``device`` (a ``torch.device``, or ``"auto"``,
    ``"cpu"``, ``"cuda"``, ``"cuda:N"``) is a GPU, else ``"float32"``."""
    return BF16_AUTOCAST if amp and _device_type(device) == "cuda" else FLOAT32


def autocast(device, amp: bool):
    """bf16 autocast on a GPU where ``amp``; a no-op context otherwise (training's forward
    pass only: validation and testing run outside it)."""
    if training_precision(device, amp) == BF16_AUTOCAST:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()
