"""The attack stage: adversarial test spectrograms of one fold, and accuracy against eps."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np

from specadv import artifacts, precision
from specadv import attacks as atk
from specadv.constants import N_CLASSES
from specadv.data import stratified_subset
from specadv.device import to_device
from specadv.roundtrip import probs as model_probs
from specadv.roundtrip import representation
from specadv.stages import progress

__all__ = ["FoldAttacks", "attack_fold", "reconstructed_attacks", "CPU_ATTACK_BATCH"]


def reconstructed_attacks() -> tuple[str, ...]:
    """The attacks turned into sound (if run): those the registry marks ``reconstructed``."""
    return atk.attacks_where(reconstructed=True)


CPU_ATTACK_BATCH = 16  # segments per attack pass on a CPU (larger batches run slower)


@dataclass(frozen=True)
class FoldAttacks:
    """The attacks on one fold's 2D CNN: predictions on every adversarial test spectrogram
    (``probs[attack]``), the perturbations of the reconstructed attacks (:meth:`delta`),
    the eps sweep (one row per eps: ``n``, ``idx``, accuracy and 0/1 ``<attack>_correct``
    per attack) and what each attack was (``records``)."""

    rep: str
    fold: int
    test_idx: np.ndarray
    probs: dict
    sweep: list
    records: dict
    entry: artifacts.Entry = field(repr=False)

    def delta(self, name: str) -> np.ndarray:
        """The dB perturbation ``x_adv - x`` of attack ``name``, float16 memmap ``(n, F, T)``."""
        if name not in reconstructed_attacks():
            raise ValueError(f"only {reconstructed_attacks()} keep their perturbations; "
                             f"got {name!r}")
        return artifacts.load_npy(self.entry.path(f"delta_{name}.npy"), mmap=True)

    @classmethod
    def load(cls, entry: artifacts.Entry, rep: str, fold: int, test_idx, names) -> "FoldAttacks":
        info = entry.info()
        return cls(rep, fold, np.asarray(test_idx), {
            n: artifacts.load_npy(entry.path(f"probs_{n}.npy")) for n in names},
            info["sweep"], info["records"], entry)


def _host_probs(model, x) -> np.ndarray:
    if len(x) == 0:
        return np.zeros((0, N_CLASSES), np.float32)
    return model_probs(model, x).cpu().numpy()


@precision.attack_kernels()
def attack_fold(entry: artifacts.Entry, model, rep: str, x_all, test_idx, y, settings: dict,
                device, show_progress: bool = True, fold: int = 0) -> None:
    """Attack every test segment of a fold with each of ``settings["names"]`` and write
    the predictions, the reconstructed attacks' perturbations and the eps sweep into
    ``entry``. Runs in exact float32 with cuDNN autotuning (:mod:`specadv.precision`).

    ``x_all``: the dB features of every segment (a memmap); ``y``: every segment's label;
    ``settings``: a profile's ``attacks`` section.
    """
    import torch

    a = settings
    bs = attack_batch(a, device)
    labels = "true" if a["labels"] == "true" else "predicted"
    n, shape = len(test_idx), representation(rep).feature_shape
    records = {}
    for name in progress(a["names"], show_progress, desc=f"attacks {rep} fold {fold + 1}"):
        params = atk.attack_params(a, name)
        probs = np.zeros((n, N_CLASSES), dtype=np.float32)
        with contextlib.ExitStack() as stack:
            delta = (stack.enter_context(artifacts.open_npy_for_writing(
                entry.path(f"delta_{name}.npy"), (n, *shape), np.float16))
                if name in reconstructed_attacks() else None)
            for lo in range(0, n, bs):
                rows = test_idx[lo: lo + bs]
                x = torch.from_numpy(np.asarray(x_all[rows], dtype=np.float32))
                res = atk.attack(model, to_device(x.numpy(), device), name, params, labels=labels,
                                 y_true=y[rows], row_seeds=atk.row_seeds(a["seed"], name, rows))
                probs[lo: lo + len(rows)] = _host_probs(model, res.x_adv)
                if delta is not None:
                    delta[lo: lo + len(rows)] = (res.x_adv.cpu() - x).numpy().astype(np.float16)
                records[name] = res.record()
        artifacts.save_npy(entry.path(f"probs_{name}.npy"), probs)
    sweep = eps_sweep(model, x_all, test_idx, y, a, labels, device)
    entry.commit(records=records, sweep=sweep, precision=precision.INFERENCE_PRECISION)


def attack_batch(settings: dict, device) -> int:
    """Segments per attack pass: the profile's ``attacks.batch_size`` on a GPU; on a CPU at
    most :data:`CPU_ATTACK_BATCH`, where a 2D CNN's activations for 64 STFT segments leave
    the cache and BIM runs 1.5-1.8x slower (measured on the demo models). The attacks give
    the same result for any batch size, up to float rounding."""
    bs = settings["batch_size"]
    return bs if device.type == "cuda" else min(bs, CPU_ATTACK_BATCH)


@precision.attack_kernels()
def eps_sweep(model, x_all, idx, y, settings: dict, labels: str, device) -> list[dict]:
    """Segment accuracy against eps for the sweep attacks and the random-sign control, on
    ``attacks.sweep_max_segments`` of the test segments ``idx`` drawn across the fold,
    stratified by genre with ``attacks.seed`` (:func:`specadv.data.stratified_subset`).

    One row per eps: ``n``, the rows' segment indices ``idx``, and per attack its
    accuracy and ``<attack>_correct`` (0/1 per segment, for bootstrap intervals).
    """
    a = settings
    idx = np.asarray(idx)
    rows = stratified_subset(idx, y[idx], a["sweep_max_segments"], a["seed"])
    x = to_device(np.asarray(x_all[rows], dtype=np.float32), device)  # pinned on CUDA
    out = []
    for eps in [0.0] + list(a["sweep_eps"]):
        row = {"eps": eps, "n": len(rows), "idx": rows.tolist()}
        for name in dict.fromkeys([*a["sweep_attacks"], atk.control_name()]):
            params = atk.budget_params(a, name, eps)
            x_adv = x if eps == 0 else atk.attack(
                model, x, name, params, labels=labels, y_true=y[rows],
                batch_size=attack_batch(a, device),
                row_seeds=atk.row_seeds(a["seed"], name, rows)).x_adv
            correct = _host_probs(model, x_adv).argmax(1) == y[rows]
            row[name] = float(np.mean(correct))
            row[f"{name}_correct"] = correct.astype(int).tolist()  # for intervals
        out.append(row)
    return out
