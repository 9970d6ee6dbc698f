"""Where tensors live: choosing the device, moving host arrays onto it, timing work on it.

Every stage moves its host arrays (memory-mapped features, audio) with :func:`to_device`
and times its parts with :class:`Timer`; :func:`select_device` turns a profile's
``device`` setting into a ``torch.device``.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch

__all__ = ["select_device", "to_device", "Timer"]


def select_device(name: str = "auto") -> torch.device:
    """``torch.device`` for "auto" (CUDA when present, else CPU), "cpu", "cuda" or "cuda:N"."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} was requested but torch sees no CUDA device; "
                           f"set the profile's device to 'auto' or 'cpu'")
    return device


def to_device(a: np.ndarray, device) -> torch.Tensor:
    """A host array as a tensor on ``device`` (a ``torch.device`` or its name).

    On the CPU the tensor shares the array's memory (no copy) where the array is
    contiguous; on CUDA it goes through pinned memory, asynchronously; any other device
    gets a copy of its own.
    """
    t = torch.from_numpy(np.ascontiguousarray(a))
    device = torch.device(device)
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


class Timer:
    """Wall time of named parts of a computation, synchronised with the device.

    >>> t = Timer("cpu")
    >>> with t("bim"):
    ...     pass
    >>> t.seconds["bim"] >= 0
    True
    """

    def __init__(self, device):
        self.cuda = getattr(device, "type", str(device)) == "cuda"
        self.seconds: dict[str, float] = {}

    def _sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self._sync()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
