"""Training, prediction and checkpoints, the same loop for the 2D and the 1D CNN.

- :class:`TrainConfig` holds every setting of a training run; its defaults are the
  paper's (Adadelta lr 1.0, rho 0.95, eps 1e-8; batch 100; up to 150 epochs; 20% held
  out for validation; best validation accuracy kept);
- :func:`validation_split` holds out whole clips (default) or, as the authors'
  Keras ``validation_split=0.2`` did, shuffled segments;
- :func:`train` fits a model on ``x[train_idx]`` and restores the weights of its
  best validation epoch; ``x`` may be a float16 memory-mapped array, read one batch
  at a time;
- :func:`predict` gives probabilities (or logits) in batches;
- :func:`save_checkpoint` / :func:`load_checkpoint` write atomically and refuse a
  checkpoint whose model or training settings differ from the ones requested.
"""
from __future__ import annotations

import json
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import __version__
from . import precision as _precision
from .device import select_device  # here too: training picks the device it trains on
from .models import MODEL_KINDS, build_model

__all__ = [
    "TrainConfig", "TrainResult", "CheckpointMismatch", "select_device", "validation_split",
    "train", "predict", "make_optimizer", "save_checkpoint", "load_checkpoint",
    "read_checkpoint_metadata", "CHECKPOINT_FORMAT",
]

CHECKPOINT_FORMAT = 1
SCHEDULES = ("constant", "onecycle")
_DEFAULT_LR = {"adadelta": 1.0, "adam": 1e-3}


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run. The defaults are the paper's.

    Parameters
    ----------
    epochs : int
        Upper bound on epochs (150 in the paper).
    batch_size : int
        100 in the paper.
    optimizer : {"adadelta", "adam"}
        "adadelta" as the paper; "adam" converges in far fewer epochs (CPU profiles).
    lr : float or None
        None: 1.0 for Adadelta (the paper's), 1e-3 for Adam.
    rho, eps : float
        Adadelta's decay and epsilon (0.95, 1e-8); ``eps`` is also Adam's epsilon.
    weight_decay : float
    early_stopping_patience : int or None
        Stop after this many epochs without a better validation accuracy; None: off.
    validation_by : {"clip", "segment"}
    validation_fraction : float
        How the caller holds out validation data with :func:`validation_split`;
        :func:`train` takes the indices, these two are here so that a checkpoint
        records (and :func:`load_checkpoint` checks) how it was selected.
    seed : int
        Seeds torch and the batch order; the model's initial weights come from
        :func:`specadv.models.build_model`'s own seed.
    device : {"auto", "cpu", "cuda", "cuda:N"}
    amp : bool
        bf16 autocast of the training forward pass on CUDA (ignored on CPU); False (the
        default): float32, the paper's. Validation always runs in float32, the precision
        the model is tested and attacked in (:mod:`specadv.precision`).
    num_workers : int
        Threads that read the next batches while the model trains on this one
        (0: read in the training thread). Threads, not processes: a memmap is shared.
    cpu_threads : int or None
        torch threads on CPU; None: :data:`CPU_TRAIN_THREADS` (1), whatever the machine's
        cores or how many notebooks run side by side: the weights of a fixed seed depend
        on the thread count (oneDNN splits the gradient sums by threads; 1 and 2 threads
        give different weights, measured), so a fixed count keeps them the same everywhere.
    deterministic : bool or None
        ``torch.use_deterministic_algorithms`` during training. None: on for CPU
        (where it costs nothing), off for CUDA (cuDNN autotuning instead).
    channels_last : bool
        channels-last memory format for the 2D CNN (CPU and CUDA: about 1.5-2x faster
        than NCHW on this project's CPU, and the layout cuDNN's bf16 kernels prefer).
    schedule : {"constant", "onecycle"}
        The learning rate over the run: "constant" (the paper's); "onecycle": torch's
        ``OneCycleLR`` with ``lr`` as its peak, stepped every batch over ``epochs`` (warm
        up over the first 30%, cosine down to ``lr / 1e4``): far fewer epochs for the
        same accuracy (CPU profiles).
    """

    epochs: int = 150
    batch_size: int = 100
    optimizer: str = "adadelta"
    lr: float | None = None
    rho: float = 0.95
    eps: float = 1e-8
    weight_decay: float = 0.0
    early_stopping_patience: int | None = None
    validation_by: str = "clip"
    validation_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    num_workers: int = 1
    cpu_threads: int | None = None
    deterministic: bool | None = None
    channels_last: bool = True
    schedule: str = "constant"

    # Settings that change how or where the run executes, not what it learns.
    EXECUTION_FIELDS = ("device", "num_workers", "cpu_threads", "deterministic", "channels_last")

    def __post_init__(self):
        if self.optimizer not in _DEFAULT_LR:
            raise ValueError(f"TrainConfig.optimizer must be one of {sorted(_DEFAULT_LR)}, "
                             f"not {self.optimizer!r}")
        if self.validation_by not in ("clip", "segment"):
            raise ValueError(f"TrainConfig.validation_by must be 'clip' or 'segment', "
                             f"not {self.validation_by!r}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("TrainConfig.epochs and batch_size must be at least 1")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"TrainConfig.schedule must be one of {SCHEDULES}, "
                             f"not {self.schedule!r}")

    @property
    def learning_rate(self) -> float:
        return _DEFAULT_LR[self.optimizer] if self.lr is None else float(self.lr)

    @property
    def precision(self) -> str:
        """The training precision that effectively runs on this config's device:
        ``"bf16-autocast"`` (``amp`` on a GPU) or ``"float32"``."""
        return _precision.training_precision(self.device, self.amp)

    def to_dict(self) -> dict:
        return {**asdict(self), "precision": self.precision}

    def identity(self) -> dict:
        """The settings that determine the trained weights (checked on loading); the
        effective ``precision`` in place of ``amp``, which a CPU ignores."""
        d = {k: v for k, v in asdict(self).items()
             if k not in self.EXECUTION_FIELDS and k != "amp"}
        d["lr"] = self.learning_rate
        d["precision"] = self.precision
        return d


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns.

    ``history`` maps "epoch", "loss", "accuracy", "val_loss", "val_accuracy" and
    "seconds" to one value per epoch (Keras' ``History.history`` layout; val_* are
    NaN without validation data). ``best_state`` is the state dict (on CPU) of the
    epoch with the best validation accuracy (the first one on a tie; the last epoch
    without validation data); the model already holds it.
    """

    history: dict
    best_epoch: int
    best_val_accuracy: float
    best_state: dict = field(repr=False)
    seconds: float
    device: str
    stopped_early: bool
    precision: str = _precision.FLOAT32  # what the training forward pass ran in


class CheckpointMismatch(ValueError):
    """A checkpoint written with other model or training settings than the ones requested."""

    def __init__(self, path, differences: dict):
        self.path = Path(path)
        self.differences = differences
        lines = "; ".join(f"{k}: stored {a!r}, requested {b!r}"
                          for k, (a, b) in differences.items())
        super().__init__(f"{path}: checkpoint was trained with other settings ({lines}). "
                         f"Delete it (or use another output directory) to retrain.")


def validation_split(segment_clip_ids, labels, fraction: float = 0.2, by: str = "clip",
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split training segments into fitting and validation positions.

    Parameters
    ----------
    segment_clip_ids : array (n,)
        The clip of each training segment (ids or indices).
    labels : array (n,)
        Genre of each segment.
    fraction : float
        Share held out: of clips (``by="clip"``, per genre) or of segments.
    by : {"clip", "segment"}
        "clip" (default): whole clips held out, stratified by genre, so no clip has
        segments on both sides. "segment": the authors' Keras ``validation_split``
        after shuffling: the last ``n - int(n * (1 - fraction))`` of the shuffled
        segments; with 75% overlap, validation segments are near-copies of fitting
        segments of the same clips, so the selection of the best epoch leaks.
    seed : int

    Returns
    -------
    fit_pos, val_pos : int64 arrays of sorted positions into the inputs.

    Examples
    --------
    >>> fit_pos, val_pos = validation_split(clip_of[train_idx], y[train_idx])  # doctest: +SKIP
    >>> train(model, x, y, train_idx[fit_pos], train_idx[val_pos], config)     # doctest: +SKIP
    """
    clip_ids = np.asarray(segment_clip_ids)
    labels = np.asarray(labels)
    n = len(clip_ids)
    if len(labels) != n:
        raise ValueError(f"segment_clip_ids ({n}) and labels ({len(labels)}) differ in length")
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must be in [0, 1), not {fraction}")
    rng = np.random.default_rng(seed)
    if by == "segment":
        order = rng.permutation(n)
        split_at = int(n * (1.0 - fraction))
        return np.sort(order[:split_at]), np.sort(order[split_at:])
    if by != "clip":
        raise ValueError(f"by must be 'clip' or 'segment', not {by!r}")
    clips, inverse = np.unique(clip_ids, return_inverse=True)
    clip_label = np.empty(len(clips), dtype=labels.dtype)
    clip_label[inverse] = labels
    if np.any(clip_label[inverse] != labels):
        raise ValueError("a clip has segments with different labels")
    val_clip = np.zeros(len(clips), dtype=bool)
    for label in np.unique(clip_label):
        members = rng.permutation(np.flatnonzero(clip_label == label))
        n_val = int(round(fraction * len(members)))
        if fraction > 0 and len(members) >= 2:
            n_val = min(max(n_val, 1), len(members) - 1)
        val_clip[members[:n_val]] = True
    is_val = val_clip[inverse]
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def make_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer named by ``config`` (Adadelta with the paper's rho and eps, or Adam)."""
    if config.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=config.learning_rate, rho=config.rho,
                                    eps=config.eps, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.learning_rate, eps=config.eps,
                            weight_decay=config.weight_decay)


def _scheduler(optimizer, config: TrainConfig, steps_per_epoch: int):
    if config.schedule == "constant":
        return None
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, epochs=config.epochs,
        steps_per_epoch=steps_per_epoch, pct_start=0.3, div_factor=25.0,
        final_div_factor=1e4, cycle_momentum=config.optimizer == "adam")


# --- batches -------------------------------------------------------------------------

def _as_array(x):
    if torch.is_tensor(x):
        return x.detach().cpu().numpy()
    return x


def _as_index(idx, n: int, name: str) -> np.ndarray:
    idx = np.arange(n, dtype=np.int64) if idx is None else np.asarray(idx, dtype=np.int64)
    if idx.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if len(idx) and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"{name} holds indices outside [0, {n})")
    return idx


def _read(x, idx: np.ndarray) -> np.ndarray:
    """Rows ``idx`` (sorted) of x; a contiguous run is read as a slice."""
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx):
        rows = x[int(idx[0]):int(idx[-1]) + 1]
    else:
        rows = x[idx]
    rows = np.asarray(rows)
    if rows.dtype not in (np.float16, np.float32):
        return np.ascontiguousarray(rows, dtype=np.float32)
    # a slice of a read-only memmap is a view: copy it into memory
    if not rows.flags.writeable:
        return np.array(rows, copy=True, order="C")
    return np.ascontiguousarray(rows)


def _load(x, y, idx, pin: bool):
    xb = torch.from_numpy(_read(x, idx))
    yb = None if y is None else torch.from_numpy(np.asarray(y[idx], dtype=np.int64))
    if pin:
        xb = xb.pin_memory()
        yb = None if yb is None else yb.pin_memory()
    return xb, yb


def _batches(x, y, batches, device: torch.device, num_workers: int, channels_last: bool):
    """Yield ``(x, y)`` tensors on ``device`` for each index array of ``batches``.

    Rows travel in their stored dtype (float16 halves the host-to-device bytes) and
    become float32 on the device.
    """
    cuda = device.type == "cuda"

    def to_device(item):
        xb, yb = item
        xb = xb.to(device, non_blocking=cuda).float()
        if channels_last:
            if xb.dim() == 3:
                xb = xb.unsqueeze(1)
            xb = xb.contiguous(memory_format=torch.channels_last)
        yb = None if yb is None else yb.to(device, non_blocking=cuda)
        return xb, yb

    if num_workers <= 0:
        for idx in batches:
            yield to_device(_load(x, y, idx, cuda))
        return
    with ThreadPoolExecutor(max_workers=num_workers) as pool:
        ahead = num_workers + 1
        pending = [pool.submit(_load, x, y, idx, cuda) for idx in batches[:ahead]]
        nxt = len(pending)
        while pending:
            item = pending.pop(0).result()
            if nxt < len(batches):
                pending.append(pool.submit(_load, x, y, batches[nxt], cuda))
                nxt += 1
            yield to_device(item)


def _split(idx: np.ndarray, batch_size: int) -> list[np.ndarray]:
    return [np.sort(idx[i:i + batch_size]) for i in range(0, len(idx), batch_size)]


def _uses_conv2d(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


CPU_TRAIN_THREADS = 1
"""torch threads of a CPU training unless ``TrainConfig.cpu_threads`` says otherwise: one, so
that a seed gives the same weights on any machine, in ``make book`` (two notebooks side by
side, one thread each), in a notebook re-run by hand and in the benchmarks."""


@contextmanager
def _execution(device: torch.device, config: TrainConfig):
    """Threads and determinism for the run; global torch flags are restored afterwards."""
    deterministic = (device.type == "cpu") if config.deterministic is None else config.deterministic
    prev_threads = torch.get_num_threads()
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_bench = torch.backends.cudnn.benchmark
    try:
        if device.type == "cpu":
            torch.set_num_threads(config.cpu_threads or CPU_TRAIN_THREADS)
        torch.use_deterministic_algorithms(deterministic, warn_only=True)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = not deterministic
        yield
    finally:
        torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
        torch.backends.cudnn.benchmark = prev_bench


@contextmanager
def _layout(model: nn.Module, channels_last: bool):
    """The model in channels-last layout inside the block, back to contiguous after it."""
    if not channels_last:
        yield
        return
    model.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        model.to(memory_format=torch.contiguous_format)


def _autocast(device: torch.device, amp: bool):
    return _precision.autocast(device, amp)


def _cpu_state(model: nn.Module) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


# --- training ------------------------------------------------------------------------

def train(model: nn.Module, x, y, train_idx, val_idx=None, config: TrainConfig | None = None,
          progress: bool = True) -> TrainResult:
    """Fit ``model`` on ``x[train_idx]`` and keep the epoch with the best validation accuracy.

    Parameters
    ----------
    model : nn.Module
        A :class:`~specadv.models.Spec2DCNN` or :class:`~specadv.models.Wave1DCNN`
        (any module mapping ``(batch, ...)`` to logits works). Moved to the device.
    x : array (n, ...), float16 or float32
        All segments: dB spectrograms ``(n, n_freq, n_time)`` or waveforms
        ``(n, n_samples)``; a ``np.load(..., mmap_mode="r")`` array is read batch
        by batch (indices sorted within a batch, for locality).
    y : array (n,), int
        Genre labels.
    train_idx, val_idx : int arrays
        Rows of ``x`` to fit and to validate on (see :func:`validation_split`);
        ``val_idx`` None or empty: no validation, the last epoch is kept.
    config : TrainConfig
    progress : bool
        tqdm bars (epochs, and batches within an epoch) with loss and accuracy.

    Returns
    -------
    TrainResult
        History per epoch and the best state dict, which ``model`` holds on return.

    Notes
    -----
    On CPU a fixed ``config.seed`` (and a model built with a fixed seed) gives the
    same weights run to run. ``torch.set_num_threads`` is set to ``config.cpu_threads``
    (default: 1, :data:`CPU_TRAIN_THREADS`) during the run and restored afterwards.
    """
    config = config or TrainConfig()
    device = select_device(config.device)
    x = _as_array(x)
    y = np.asarray(_as_array(y), dtype=np.int64)
    if len(y) != len(x):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)} labels")
    train_idx = _as_index(train_idx, len(x), "train_idx")
    val_idx = _as_index(np.empty(0, np.int64) if val_idx is None else val_idx, len(x), "val_idx")
    if len(train_idx) == 0:
        raise ValueError("train_idx is empty")
    channels_last = config.channels_last and _uses_conv2d(model)

    from tqdm.auto import tqdm

    history = {k: [] for k in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")}
    best_acc, best_epoch, best_state, wait, stopped_early = -math.inf, 0, None, 0, False
    rng = np.random.default_rng(config.seed)
    loss_fn = nn.CrossEntropyLoss()
    t_start = time.perf_counter()
    with _execution(device, config), _layout(model, channels_last), _precision.exact_float32():
        torch.manual_seed(config.seed)
        model.to(device)
        if channels_last:
            model.to(memory_format=torch.channels_last)  # again, for the device's copy
        optimizer = make_optimizer(model.parameters(), config)
        scheduler = _scheduler(optimizer, config, math.ceil(len(train_idx) / config.batch_size))
        epochs = tqdm(range(1, config.epochs + 1), desc="epochs", disable=not progress,
                      leave=False)
        for epoch in epochs:
            t0 = time.perf_counter()
            model.train()
            batches = _split(rng.permutation(train_idx), config.batch_size)
            sum_loss = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.int64)
            seen = 0
            refresh = max(1, len(batches) // 20)
            bar = tqdm(total=len(train_idx), desc=f"epoch {epoch}", disable=not progress,
                       leave=False, unit="seg")
            for i, (xb, yb) in enumerate(_batches(x, y, batches, device, config.num_workers,
                                                  channels_last)):
                with _autocast(device, config.amp):
                    logits = model(xb)
                loss = loss_fn(logits.float(), yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                sum_loss += loss.detach() * len(yb)
                correct += (logits.detach().argmax(1) == yb).sum()
                seen += len(yb)
                bar.update(len(yb))
                if progress and (i % refresh == 0 or i == len(batches) - 1):
                    bar.set_postfix(loss=f"{sum_loss.item() / seen:.4f}",
                                    acc=f"{correct.item() / seen:.3f}")
            bar.close()
            train_loss = sum_loss.item() / seen
            if not math.isfinite(train_loss):
                raise FloatingPointError(f"training loss became {train_loss} at epoch {epoch}; "
                                         f"lower TrainConfig.lr (now {config.learning_rate})")
            train_acc = correct.item() / seen
            if len(val_idx):
                val_loss, val_acc = _evaluate(model, x, y, val_idx, config, device, channels_last)
            else:
                val_loss, val_acc = math.nan, math.nan
            seconds = time.perf_counter() - t0
            for k, v in zip(history, (epoch, train_loss, train_acc, val_loss, val_acc, seconds)):
                history[k].append(v)
            epochs.set_postfix(loss=f"{train_loss:.3f}", acc=f"{train_acc:.3f}",
                               val_acc=f"{val_acc:.3f}")
            if not len(val_idx):
                best_epoch = epoch
                continue
            if val_acc > best_acc:
                best_acc, best_epoch, wait = val_acc, epoch, 0
                best_state = _cpu_state(model)
            else:
                wait += 1
                patience = config.early_stopping_patience
                if patience is not None and wait >= patience:
                    stopped_early = True
                    break
        epochs.close()
        if best_state is None:
            best_state = _cpu_state(model)
        else:
            model.load_state_dict(best_state)
    return TrainResult(history=history, best_epoch=best_epoch,
                       best_val_accuracy=best_acc if len(val_idx) else math.nan,
                       best_state=best_state, seconds=time.perf_counter() - t_start,
                       device=str(device), stopped_early=stopped_early,
                       precision=_precision.training_precision(device, config.amp))


@torch.no_grad()
@_precision.exact_float32()
def _evaluate(model, x, y, idx, config, device, channels_last) -> tuple[float, float]:
    # the test precision (float32, no autocast), whatever the training's: the kept epoch
    # is chosen in the precision the model is attacked and tested in
    was_training = model.training
    model.eval()
    sum_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.int64)
    for xb, yb in _batches(x, y, _split(np.sort(idx), config.batch_size), device,
                           config.num_workers, channels_last):
        logits = model(xb).float()
        sum_loss += nn.functional.cross_entropy(logits, yb, reduction="sum")
        correct += (logits.argmax(1) == yb).sum()
    model.train(was_training)
    return sum_loss.item() / len(idx), correct.item() / len(idx)


@torch.no_grad()
@_precision.exact_float32()
def predict(model: nn.Module, x, idx=None, batch_size: int = 256, device=None,
            output: str = "probabilities", amp: bool = False, num_workers: int = 1,
            channels_last: bool = True, progress: bool = False) -> np.ndarray:
    """Class probabilities (or logits) of ``model`` for rows ``idx`` of ``x``, in eval mode.

    Parameters
    ----------
    model : nn.Module
    x : array (n, ...)
        As in :func:`train` (memmaps welcome).
    idx : int array or None
        Rows to predict, in the order wanted; None: all rows.
    batch_size : int
    device : str, torch.device or None
        None: where the model's parameters are. Otherwise the model is moved there.
    output : {"probabilities", "logits"}
    amp : bool
        bf16 autocast on CUDA (default False: exact float32, the test precision).
    num_workers : int
        Threads reading the next batches (see :class:`TrainConfig`).
    channels_last : bool
        Run a 2D CNN in channels-last layout (faster; the model is put back after).

    Returns
    -------
    float32 array (len(idx), n_classes), rows in the order of ``idx``.
    """
    if output not in ("probabilities", "logits"):
        raise ValueError(f"output must be 'probabilities' or 'logits', not {output!r}")
    x = _as_array(x)
    idx = _as_index(idx, len(x), "idx")
    if device is None:
        device = next(model.parameters()).device
    else:
        device = select_device(device)
        model.to(device)
    order = np.argsort(idx, kind="stable")
    channels_last = channels_last and _uses_conv2d(model)
    was_training = model.training
    model.eval()
    if channels_last:
        model.to(memory_format=torch.channels_last)
    out = []
    from tqdm.auto import tqdm
    batches = _split(idx[order], batch_size)
    try:
        for xb, _ in tqdm(_batches(x, None, batches, device, num_workers, channels_last),
                          total=len(batches), disable=not progress, leave=False, desc="predict"):
            with _autocast(device, amp):
                logits = model(xb).float()
            # kept on the device: one copy to the host at the end, not one sync per batch
            out.append(logits.softmax(1) if output == "probabilities" else logits)
    finally:
        model.train(was_training)
        if channels_last:
            model.to(memory_format=torch.contiguous_format)
    n_classes = out[0].shape[1] if out else 0
    result = torch.cat(out).cpu().numpy() if out else np.zeros((0, n_classes), np.float32)
    unsorted = np.empty_like(result)
    unsorted[order] = result
    return unsorted


# --- checkpoints ---------------------------------------------------------------------

def _jsonable(obj):
    return json.loads(json.dumps(obj))


def save_checkpoint(path, model: nn.Module, history: dict | None = None,
                    config: TrainConfig | None = None, extra: dict | None = None) -> Path:
    """Write ``model``'s weights and JSON metadata to ``path`` atomically.

    The file holds ``{"state_dict": ..., "metadata": <JSON string>}`` so that
    ``torch.load(path, weights_only=True)`` reads it. The metadata records the model
    kind and configuration, the training configuration, the history and ``extra``
    (any JSON-able dict, e.g. fold and representation). Written to a temporary file
    beside ``path`` and moved into place, so a crash never leaves half a checkpoint.
    """
    path = Path(path)
    kind = getattr(model, "kind", None)
    if kind not in MODEL_KINDS:
        raise ValueError(f"save_checkpoint needs a specadv model (kind in {sorted(MODEL_KINDS)}), "
                         f"got {type(model).__name__}")
    metadata = {
        "format": CHECKPOINT_FORMAT,
        "specadv_version": __version__,
        "model_kind": kind,
        "model_config": _jsonable(model.config()),
        "train_config": None if config is None else config.to_dict(),
        "history": _jsonable(history) if history is not None else None,
        "extra": _jsonable(extra) if extra is not None else None,
    }
    payload = {"state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
               "metadata": json.dumps(metadata)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _read_payload(path) -> tuple[dict, dict]:
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or "metadata" not in payload or "state_dict" not in payload:
        raise ValueError(f"{path}: not a specadv checkpoint (no state_dict/metadata); delete it "
                         f"to retrain")
    return payload, json.loads(payload["metadata"])


def read_checkpoint_metadata(path) -> dict:
    """The metadata of a checkpoint (model kind and config, train config, history, extra)."""
    return _read_payload(path)[1]


def _differences(prefix: str, stored: dict, requested: dict) -> dict:
    out = {}
    for key in sorted(set(stored) | set(requested)):
        a, b = stored.get(key, "<absent>"), requested.get(key, "<absent>")
        if a != b:
            out[f"{prefix}.{key}"] = (a, b)
    return out


def load_checkpoint(path, model_kind: str, model_config: dict | None = None,
                    train_config: TrainConfig | None = None) -> tuple[nn.Module, dict]:
    """Rebuild a model from a checkpoint, refusing one trained with other settings.

    Parameters
    ----------
    path : path of a file written by :func:`save_checkpoint`
    model_kind : {"spec2d", "wave1d"}
    model_config : dict
        Constructor arguments requested (defaults filled in before comparing).
    train_config : TrainConfig or None
        When given, its :meth:`TrainConfig.identity` must match the stored one
        (device, threads and other execution settings are not compared).

    Returns
    -------
    model : nn.Module on CPU, in eval mode, holding the stored weights
    metadata : dict

    Raises
    ------
    CheckpointMismatch
        Naming the file and every differing key with its stored and requested value.
    """
    payload, meta = _read_payload(path)
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointMismatch(path, {"format": (meta.get("format"), CHECKPOINT_FORMAT)})
    if meta.get("model_kind") != model_kind:
        raise CheckpointMismatch(path, {"model_kind": (meta.get("model_kind"), model_kind)})
    model = build_model(model_kind, **(model_config or {}))
    differences = _differences("model_config", meta["model_config"], _jsonable(model.config()))
    if train_config is not None:
        stored = meta.get("train_config")
        if stored is None:
            differences["train_config"] = (None, "<given>")
        else:
            known = {f.name for f in fields(TrainConfig)}
            stored_identity = TrainConfig(**{k: v for k, v in stored.items()
                                             if k in known}).identity()
            # what ran where it was trained, not what its settings give on this machine
            stored_identity["precision"] = stored.get("precision", stored_identity["precision"])
            differences.update(_differences("train_config", stored_identity,
                                            train_config.identity()))
    if differences:
        raise CheckpointMismatch(path, differences)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model, meta
