"""The reconstruction stage: audio from the clean and adversarial spectrograms of a fold,
measured against the original and classified by every model of the fold."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from specadv import artifacts, metrics, precision
from specadv.constants import N_CLASSES
from specadv.device import to_device
from specadv.metrics import BATCH_METRICS
from specadv.roundtrip import WAVE, Inversion, classify_audio, probs, representation
from specadv.stages import progress

__all__ = ["FoldReconstruction", "reconstruct_fold"]


@dataclass(frozen=True)
class FoldReconstruction:
    """Per condition (``clean`` and each reconstructed attack) of one fold's test segments:
    ``metrics[cond][name]`` (:data:`specadv.metrics.BATCH_METRICS`, per segment),
    ``probs[cond][target]`` (the 1D CNN, ``"wave"``, on the audio; each 2D CNN on features
    re-extracted from it), ``written[cond]``: the 1D CNN's probabilities on the audio as
    the authors' inverse writes it (:attr:`~specadv.roundtrip.Representation.written`;
    empty where that is the level-restored audio itself) and the audio of the book's
    example segments (``examples[cond]``, rows in the order of ``example_idx``)."""

    rep: str
    fold: int
    test_idx: np.ndarray
    seconds: float
    metrics: dict
    probs: dict
    example_idx: list
    examples: dict
    written: dict

    @property
    def conditions(self) -> tuple[str, ...]:
        return tuple(self.metrics)

    def example(self, cond: str, segment: int) -> np.ndarray:
        """The reconstructed audio of example ``segment`` (a dataset row) under ``cond``."""
        return self.examples[cond][self.example_idx.index(segment)]

    def save(self, entry: artifacts.Entry) -> None:
        for c in self.conditions:
            for m, v in self.metrics[c].items():
                artifacts.save_npy(entry.path(f"{c}_{m}.npy"), v)
            for t, v in self.probs[c].items():
                artifacts.save_npy(entry.path(f"{c}_probs_{t}.npy"), v)
            artifacts.save_npy(entry.path(f"examples_{c}.npy"), self.examples[c])
            if c in self.written:
                artifacts.save_npy(entry.path(f"{c}_written_probs_{WAVE}.npy"), self.written[c])
        entry.commit(seconds=self.seconds, precision=precision.INFERENCE_PRECISION)

    @classmethod
    def load(cls, entry: artifacts.Entry, rep: str, fold: int, test_idx, conditions, targets,
             example_idx) -> "FoldReconstruction":
        def load(name):
            return artifacts.load_npy(entry.path(name))

        return cls(rep, fold, np.asarray(test_idx), entry.info()["seconds"],
                   {c: {m: load(f"{c}_{m}.npy") for m in BATCH_METRICS} for c in conditions},
                   {c: {t: load(f"{c}_probs_{t}.npy") for t in targets} for c in conditions},
                   list(example_idx), {c: load(f"examples_{c}.npy") for c in conditions},
                   {c: load(f"{c}_written_probs_{WAVE}.npy") for c in conditions}
                   if representation(rep).written else {})


@precision.exact_float32()  # the round trip and its classification: the test precision
def reconstruct_fold(ds, rep: str, fold: int, test_idx, deltas: dict, models: dict,
                     inversion: Inversion, batch_size: int, example_idx, device,
                     show_progress: bool = True) -> FoldReconstruction:
    """Reconstruct every condition of every test segment, batch by batch.

    ``deltas``: the dB perturbation of each attacked condition (``(n_test, F, T)``
    arrays); ``models``: target -> model. Everything stays on the device: the audio of
    a batch goes up once, every condition is reconstructed, measured
    (:func:`specadv.metrics.batch_metrics`, against the clean reconstruction for
    ``attack_db``) and classified there, and the figures come back once per fold.
    """
    import torch

    r = representation(rep)
    idx, n = np.asarray(test_idx), len(test_idx)
    ex_pos = {int(np.flatnonzero(idx == i)[0]): k for k, i in enumerate(example_idx)}
    conds = ("clean", *deltas)
    out = {c: {m: torch.zeros(n, dtype=torch.float64, device=device) for m in BATCH_METRICS}
           for c in conds}
    prob = {c: {t: torch.zeros((n, N_CLASSES), dtype=torch.float32, device=device) for t in models}
            for c in conds}
    examples = {c: torch.zeros((len(example_idx), ds.window), device=device) for c in conds}
    written = {c: torch.zeros((n, N_CLASSES), dtype=torch.float32, device=device) for c in conds} \
        if r.written and WAVE in models else {}
    t0 = time.perf_counter()
    for lo in progress(range(0, n, batch_size), show_progress, desc=f"reconstruct {rep}",
                       unit="batch"):
        rows = slice(lo, min(lo + batch_size, n))
        w = to_device(ds.waveforms(idx[rows]), device)
        clean = r.extract(w)
        x_power = metrics.original_power(w)  # once per batch, for every condition
        y_clean = None
        for cond in conds:
            d = 0.0 if cond == "clean" else to_device(
                np.asarray(deltas[cond][rows], np.float32), device)
            y = r.inverse(clean.db + d, clean, inversion)
            if cond == "clean":
                y_clean = y
            # the paper's unrestored SNR only where the written audio lost the level
            for m, v in metrics.batch_metrics(w, y, clean.ref if r.written else None,
                                              y_clean, x_power).items():
                out[cond][m][rows] = v
            for t, p in classify_audio(models, y).items():
                prob[cond][t][rows] = p
            if written:
                written[cond][rows] = probs(models[WAVE], r.written(y, clean))
            for p, k in ex_pos.items():  # the book's few examples, not every segment
                if rows.start <= p < rows.stop:
                    examples[cond][k] = y[p - rows.start]
    host = {c: {m: v.cpu().numpy().astype(np.float32) for m, v in out[c].items()} for c in conds}
    return FoldReconstruction(
        rep, fold, idx, time.perf_counter() - t0, host,
        {c: {t: v.cpu().numpy() for t, v in prob[c].items()} for c in conds},
        [int(i) for i in example_idx], {c: examples[c].cpu().numpy() for c in conds},
        {c: v.cpu().numpy() for c, v in written.items()})
