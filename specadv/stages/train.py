"""The training stage: one model per fold, its history and its clean test predictions."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specadv import artifacts, training
from specadv.roundtrip import WAVE
from specadv.stages.dataset import Dataset, SegmentAudio

__all__ = ["FoldModel", "train_fold", "load_fold", "model_kind", "train_config", "model_config"]


def model_kind(kind: str) -> str:
    """The :func:`specadv.models.build_model` kind of a target: 1D CNN or 2D CNN."""
    return "wave1d" if kind == WAVE else "spec2d"


@dataclass(frozen=True)
class FoldModel:
    """A trained model of one fold, its training history and its clean test predictions."""

    kind: str  # a representation's name (2D CNN) or "wave" (1D CNN)
    fold: int
    model: object
    history: dict
    best_epoch: int
    val_accuracy: float
    test_idx: np.ndarray
    test_probs: np.ndarray
    seconds: float
    key: str  # the cache entry's name: what later stages' keys name this model by


def train_fold(entry: artifacts.Entry, ds: Dataset, kind: str, fold: int, model_config: dict,
               config: training.TrainConfig, show_progress: bool = True) -> None:
    """Train the model of ``kind`` on the training folds of rotation ``fold`` and write its
    checkpoint, clean test predictions and validation segments into ``entry``.

    The validation segments that select the kept epoch are the split's own where it
    fixes them (the filtered split's validation list: every training segment is fitted);
    else ``config.validation_by`` holds them out of the training segments."""
    from specadv.models import build_model

    x = SegmentAudio(ds) if kind == WAVE else ds.features(kind)
    train_idx, test_idx = ds.split(fold)
    fit_idx, val_idx = train_idx, ds.validation(fold)
    if val_idx is None:
        fit_pos, val_pos = training.validation_split(
            ds.seg_clip[train_idx], ds.labels[train_idx], config.validation_fraction,
            by=config.validation_by, seed=config.seed)
        fit_idx, val_idx = train_idx[fit_pos], train_idx[val_pos]
    model = build_model(model_kind(kind), seed=config.seed + fold, **model_config)
    result = training.train(model, x, ds.labels, fit_idx, val_idx, config,
                            progress=show_progress)
    training.save_checkpoint(entry.path("model.pt"), model, result.history, config,
                             extra={"fold": fold, "kind": kind, "dataset": ds.key})
    probs = training.predict(model, x, test_idx, batch_size=config.batch_size)
    artifacts.save_npy(entry.path("test_probs.npy"), probs)
    artifacts.save_npy(entry.path("val_idx.npy"), val_idx)
    entry.commit(history=result.history, best_epoch=result.best_epoch,
                 val_accuracy=result.best_val_accuracy, seconds=result.seconds,
                 device=result.device, precision=result.precision)


def load_fold(entry: artifacts.Entry, ds: Dataset, kind: str, fold: int, model_config: dict,
              config: training.TrainConfig, device) -> FoldModel:
    """The :class:`FoldModel` stored in ``entry``, its model on ``device`` in eval mode."""
    import torch

    info = entry.info()
    model, _ = training.load_checkpoint(entry.path("model.pt"), model_kind(kind), model_config,
                                        config)
    model.to(device).eval()
    if kind != WAVE:
        # channels-last weights: 2-3x faster 2D convolutions on CPU (oneDNN) and on CUDA
        model.to(memory_format=torch.channels_last)
    return FoldModel(kind, fold, model, info["history"], info["best_epoch"],
                     info["val_accuracy"], ds.split(fold)[1],
                     artifacts.load_npy(entry.path("test_probs.npy")), info["seconds"],
                     entry.folder.name)


def train_config(profile, kind: str, validation: str | None = None) -> training.TrainConfig:
    """The :class:`~specadv.training.TrainConfig` of a profile's models of ``kind`` (a
    representation's name or "wave"); ``validation`` overrides how the validation set
    that selects the kept epoch is held out ("clip" or "segment")."""
    from specadv.roundtrip import representation

    t = profile["train1d" if kind == WAVE else "train2d"]
    epochs, lr = t["epochs"], t["lr"]
    if kind != WAVE:
        own = representation(kind).train_settings(t)
        epochs, lr = own["epochs"], own["lr"]
    return training.TrainConfig(
        epochs=epochs, batch_size=t["batch_size"], optimizer=t["optimizer"], lr=lr,
        early_stopping_patience=t["early_stopping_patience"],
        validation_by=validation or t["validation"], validation_fraction=t["val_fraction"],
        seed=t["seed"], device=profile["device"], amp=t["amp"], schedule=t["schedule"])


def model_config(profile, kind: str) -> dict:
    """Constructor arguments of a profile's 2D CNN of representation ``kind`` or its 1D CNN
    (``"wave"``)."""
    from specadv.roundtrip import representation

    if kind == WAVE:
        m = profile["model1d"]
        return {"n_samples": profile["segments"]["window_samples"], "width": m["width"],
                "dense": list(m["dense"]), "dropout": m["dropout"], "pooling": m["pooling"],
                "bn_momentum": m["bn_momentum"], "first_stride": m["first_stride"]}
    r, m = representation(kind), profile["model2d"]
    own = r.model_settings(m)
    return {"input_shape": list(r.feature_shape), "width": own["width"], "dense": own["dense"],
            "dropout_dense": m["dropout_dense"], "bn_momentum": m["bn_momentum"],
            "head": m["head"], "head_chunks": m["head_chunks"], "input_norm": own["input_norm"],
            "input_pool": list(own["input_pool"]), "input_pool_kind": m["input_pool_kind"],
            "band_stats": m["band_stats"], "unshift": bool(own["unshift"])}
