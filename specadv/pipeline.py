"""The experiment as cached stages: what the notebooks call.

A :class:`Run` ties a profile to a run folder (``runs/<profile>/``) and
computes each stage once, storing it through :mod:`specadv.artifacts`:

corpus -> dataset (segments, folds, features) -> 2D CNNs per representation and
fold -> 1D CNN per fold -> attacks -> reconstruction and transfer -> tables.

Each stage's cache key holds the settings that produced it and the keys of
the stages it read, so changing a setting recomputes what depends on it and
nothing else.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specadv import artifacts
from specadv.data import GENRES, load_corpus, make_embedded_corpus, make_folds, read_audio
from specadv.data import segment_starts
from specadv.metrics import BATCH_METRICS
from specadv.profiles import Profile, load_profile

REPRESENTATIONS = ("mel", "stft")
FEATURE_SHAPES = {"mel": (64, 431), "stft": (257, 431)}
RUNS_ENV = "SPECADV_RUNS"
METRICS = BATCH_METRICS  # per-segment figures of each reconstruction
# A stage's own version, in its cache key: bump it when what the stage stores changes, so
# its entries (and those that read them) are recomputed and the cheaper stages before it
# are kept (artifacts.CODE_VERSION invalidates everything).
STAGE_VERSIONS = {"attacks": 3, "reconstruction": 2, "aware": 1, "inversion": 3}
TARGETS = ("wave", "mel", "stft")  # the models tested on reconstructed audio

__all__ = ["Run", "Dataset", "REPRESENTATIONS", "project_root"]


def project_root(start: Path | None = None) -> Path:
    """The project folder (the one holding ``_toc.yml``) above ``start``, else ``start``."""
    start = (start or Path.cwd()).resolve()
    for p in (start, *start.parents):
        if (p / "_toc.yml").is_file() and (p / "specadv").is_dir():
            return p
    return start


def _progress(iterable, **kw):
    from tqdm.auto import tqdm

    return tqdm(iterable, **kw)


@dataclass(frozen=True)
class ClipInfo:
    clip_id: str
    genre: str
    label: int
    path: str
    fold: int
    n_samples: int
    n_segments: int


class Dataset:
    """Segments, labels, folds, audio and features of one corpus, memory-mapped from disk."""

    def __init__(self, entry: artifacts.Entry):
        self.entry = entry
        info = entry.info()
        self.corpus_root = Path(info["corpus_root"])
        self.clips = [ClipInfo(**c) for c in info["clips"]]
        self.skipped: list[dict] = info["skipped"]
        self.silent_clips: list[str] = info["silent_clips"]
        ld = lambda name: artifacts.load_npy(entry.path(name), mmap=True)  # noqa: E731
        self.seg_clip = np.asarray(ld("seg_clip.npy"))
        self.seg_index = np.asarray(ld("seg_index.npy"))
        self.seg_start = np.asarray(ld("seg_start.npy"))
        self.labels = np.asarray(ld("seg_label.npy"))
        self.folds = np.asarray(ld("seg_fold.npy"))
        self.audio = ld("audio.npy")
        self.clip_offset = np.asarray(ld("clip_offset.npy"))
        self.window = int(info["window_samples"])

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def key(self) -> str:
        return self.entry.folder.name

    @property
    def n_folds(self) -> int:
        return int(self.folds.max()) + 1

    def features(self, rep: str) -> np.ndarray:
        """dB features of every segment, float16 memmap ``(n, F, T)``."""
        return artifacts.load_npy(self.entry.path(f"{_rep(rep)}.npy"), mmap=True)

    def ref(self, rep: str) -> np.ndarray:
        """Each segment's dB reference (its maximum magnitude), float32 ``(n,)``."""
        return np.asarray(artifacts.load_npy(self.entry.path(f"{_rep(rep)}_ref.npy")))

    def waveforms(self, idx) -> np.ndarray:
        """The 5-s segments ``idx`` as float32 ``(len(idx), window)`` (zero-padded if short)."""
        return _gather(self.audio, self.clip_offset, self.seg_clip, self.seg_start, idx,
                       self.window)

    def clip_audio(self, clip: int) -> np.ndarray:
        return np.asarray(self.audio[self.clip_offset[clip]: self.clip_offset[clip + 1]])

    def split(self, fold: int) -> tuple[np.ndarray, np.ndarray]:
        """(train, test) segment indices of rotation ``fold`` (test = that fold)."""
        return np.flatnonzero(self.folds != fold), np.flatnonzero(self.folds == fold)

    def segment_table(self):
        """One row per segment: clip id, genre, fold, segment index, start (s)."""
        import pandas as pd

        return pd.DataFrame({
            "clip_id": [self.clips[c].clip_id for c in self.seg_clip],
            "genre": [GENRES[y] for y in self.labels],
            "fold": self.folds, "segment": self.seg_index,
            "start_s": self.seg_start / 22050.0})


def _gather(audio, offsets, seg_clip, seg_start, idx, window) -> np.ndarray:
    """Segments ``idx`` of the concatenated clip audio, zero-padded past a clip's end."""
    idx = np.atleast_1d(np.asarray(idx))
    out = np.zeros((len(idx), window), dtype=np.float32)
    for row, i in enumerate(idx):
        start = offsets[seg_clip[i]] + seg_start[i]
        stop = min(start + window, offsets[seg_clip[i] + 1])
        out[row, : stop - start] = audio[start:stop]
    return out


def _rep(rep: str) -> str:
    if rep not in REPRESENTATIONS:
        raise ValueError(f"representation must be one of {REPRESENTATIONS}; got {rep!r}")
    return rep




class SegmentAudio:
    """The segments of a :class:`Dataset` as an ``(n, window)`` array-like, read on demand.

    What the 1D CNN trains on: rows are gathered from the memory-mapped clip
    audio, so no second copy of the audio is written.
    """

    def __init__(self, ds: Dataset):
        self.ds = ds
        self.shape = (len(ds), ds.window)
        self.dtype = np.dtype(np.float32)
        self.ndim = 2

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        return self.ds.waveforms(np.arange(self.shape[0])[key])


@dataclass
class FoldModel:
    """A trained model of one fold, its training history and its clean test predictions."""

    kind: str  # "mel", "stft" (2D CNN) or "wave" (1D CNN)
    fold: int
    model: object
    history: dict
    best_epoch: int
    val_accuracy: float
    test_idx: np.ndarray
    test_probs: np.ndarray
    seconds: float
    key: str


class Run:
    """One profile's experiment, cached under ``<runs>/<profile name>/``.

    Parameters
    ----------
    profile : str, path or Profile
        A built-in profile name, a YAML file, or a loaded profile; ``None`` reads
        ``SPECADV_PROFILE`` (default ``demo``).
    data : str or Path, optional
        A corpus folder (GTZAN); overrides the profile's corpus.
    device : "auto", "cpu" or "cuda", optional
        Overrides the profile's device.
    runs_dir : folder of all runs; default ``SPECADV_RUNS`` or ``<project>/runs``.
    """

    def __init__(self, profile=None, data=None, device=None, runs_dir=None, progress=True):
        overrides = {}
        if data:
            overrides["corpus"] = {"kind": "folder", "path": str(Path(data).expanduser().resolve())}
        if device:
            overrides["device"] = device
        if isinstance(profile, Profile):
            merged = {**profile, **overrides}
            if "corpus" in overrides:
                merged["corpus"] = {**profile["corpus"], **overrides["corpus"]}
            self.profile = Profile(merged)
        else:
            self.profile = load_profile(profile, **overrides)
        runs_dir = Path(runs_dir or os.environ.get(RUNS_ENV) or project_root() / "runs")
        self.root = runs_dir.resolve() / self.profile.name
        self.store = artifacts.Store(self.root)
        self.progress = progress
        self._models: dict = {}

    @property
    def device(self):
        from specadv.training import select_device

        return select_device(self.profile["device"])

    def _cached(self, stage: str, settings: dict, compute) -> artifacts.Entry:
        """The complete cache entry of ``stage`` for ``settings``; when there is none (or an
        interrupted one), ``compute(entry)`` fills a fresh one first, committing it last."""
        entry = self.store.entry(stage, settings)
        if not entry.is_complete():
            entry.reset()
            compute(entry)
        return entry

    # -- corpus and dataset -------------------------------------------------------------
    def corpus_path(self) -> Path:
        """The corpus folder: the user's, or the embedded corpus generated once."""
        c = self.profile["corpus"]
        if c["kind"] == "folder":
            if not c["path"]:
                raise ValueError(f"profile '{self.profile.name}' reads a corpus folder: give it "
                                 "with --data DIR (or corpus.path in the profile)")
            return Path(c["path"])
        settings = {k: c[k] for k in ("clips_per_genre", "seconds", "seed")}
        entry = self.store.entry("corpus", settings)
        if not entry.is_complete():
            entry.reset()
            make_embedded_corpus(entry.path("audio"), progress=self.progress, **settings)
            entry.commit()
        return entry.path("audio")

    def _corpus_fingerprint(self, path: Path) -> list:
        return sorted((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
                      for p in path.rglob("*") if p.is_file())

    def dataset(self) -> Dataset:
        """Clips, folds, segments and features (computed once, then memory-mapped)."""
        if getattr(self, "_dataset", None) is None:
            self._dataset = self._load_dataset()
        return self._dataset

    def _load_dataset(self) -> Dataset:
        path = self.corpus_path()
        settings = {"corpus": str(path), "files": self._corpus_fingerprint(path),
                    "segments": self.profile["segments"], "folds": self.profile["folds"]}
        entry = self.store.entry("dataset", settings)
        if not entry.is_complete():
            entry.reset()
            self._build_dataset(entry, path)
        return Dataset(entry)

    def _build_dataset(self, entry: artifacts.Entry, path: Path) -> None:
        import torch

        from specadv import features
        from specadv.training import select_device

        seg = self.profile["segments"]
        window, overlap, min_energy = seg["window_samples"], seg["overlap"], seg["min_energy"]
        corpus = load_corpus(path, progress=self.progress)
        folds = make_folds(corpus, **self.profile["folds"])
        offsets = np.concatenate([[0], np.cumsum([c.n_samples for c in corpus.clips])])
        seg_clip, seg_index, seg_start = [], [], []
        clips, silent, skipped = [], [], [{"path": str(s.path), "reason": s.reason}
                                           for s in corpus.skipped]
        with artifacts.open_npy_for_writing(entry.path("audio.npy"), (int(offsets[-1]),),
                                            np.float32) as audio:
            for i, clip in enumerate(_progress(corpus.clips, desc="segmenting", unit="clip",
                                               disable=not self.progress)):
                y = read_audio(clip.path)[: clip.n_samples]
                audio[offsets[i]: offsets[i] + len(y)] = y
                starts = segment_starts(len(y), window, overlap)
                energy = np.array([np.mean(np.square(y[s: s + window], dtype=np.float64))
                                   * min(1.0, len(y[s: s + window]) / window) for s in starts])
                kept = np.flatnonzero(energy > min_energy)
                if len(kept) == 0:
                    silent.append(clip.clip_id)
                seg_clip += [i] * len(kept)
                seg_index += kept.tolist()
                seg_start += starts[kept].tolist()
                clips.append(ClipInfo(clip.clip_id, clip.genre, clip.label, str(clip.path),
                                      int(folds[i]), clip.n_samples, len(kept)).__dict__)
        seg_clip = np.asarray(seg_clip, dtype=np.int64)
        if len(seg_clip) == 0:
            raise ValueError(f"{path}: every segment of every clip is silent (mean energy <= "
                             f"{min_energy}); nothing to classify")
        labels = corpus.labels[seg_clip]
        for name, arr in [("seg_clip", seg_clip), ("seg_index", seg_index),
                          ("seg_start", seg_start), ("seg_label", labels),
                          ("seg_fold", folds[seg_clip]), ("clip_offset", offsets)]:
            artifacts.save_npy(entry.path(f"{name}.npy"), np.asarray(arr, dtype=np.int64))
        audio = artifacts.load_npy(entry.path("audio.npy"), mmap=True)
        device = select_device(self.profile["device"])
        n, batch = len(seg_clip), (512 if device.type == "cuda" else 64)
        shapes = {r: (n, *FEATURE_SHAPES[r]) for r in REPRESENTATIONS}
        refs = {r: np.zeros(n, dtype=np.float32) for r in REPRESENTATIONS}
        with artifacts.open_npy_for_writing(entry.path("mel.npy"), shapes["mel"], np.float16) as mel, \
                artifacts.open_npy_for_writing(entry.path("stft.npy"), shapes["stft"],
                                               np.float16) as stft:
            for lo in _progress(range(0, n, batch), desc="features", unit="batch",
                                disable=not self.progress):
                idx = np.arange(lo, min(lo + batch, n))
                w = _gather(audio, offsets, seg_clip, np.asarray(seg_start), idx, window)
                x = torch.from_numpy(w).to(device)
                m, mref = features.mel_db(x, return_ref=True)
                s, _, sref = features.stft_db(x, return_ref=True)
                mel[idx] = m.cpu().numpy().astype(np.float16)
                stft[idx] = s.cpu().numpy().astype(np.float16)
                refs["mel"][idx] = mref.cpu().numpy()
                refs["stft"][idx] = sref.cpu().numpy()
        for r in REPRESENTATIONS:
            artifacts.save_npy(entry.path(f"{r}_ref.npy"), refs[r])
        entry.commit(corpus_root=str(corpus.root), clips=clips, skipped=skipped,
                     silent_clips=silent, window_samples=window)

    # -- training ------------------------------------------------------------------------
    def train_config(self, kind: str):
        """The :class:`~specadv.training.TrainConfig` of the models of ``kind`` (mel, stft, wave)."""
        from specadv.training import TrainConfig

        t = self.profile["train1d" if kind == "wave" else "train2d"]
        epochs, lr = t["epochs"], t["lr"]
        if kind == "stft":
            epochs = t["epochs_stft"] or epochs
            lr = t["lr_stft"] if t["lr_stft"] is not None else lr
        return TrainConfig(epochs=epochs, batch_size=t["batch_size"], optimizer=t["optimizer"],
                           lr=lr, early_stopping_patience=t["early_stopping_patience"],
                           validation_by=t["validation"], validation_fraction=t["val_fraction"],
                           seed=t["seed"], device=self.profile["device"])

    def model_config(self, kind: str) -> dict:
        """Constructor arguments of the 2D CNN of ``kind`` ("mel", "stft") or the 1D CNN ("wave")."""
        if kind == "wave":
            m = self.profile["model1d"]
            return {"n_samples": self.profile["segments"]["window_samples"], "width": m["width"],
                    "dense": list(m["dense"]), "dropout": m["dropout"], "pooling": m["pooling"],
                    "bn_momentum": m["bn_momentum"]}
        m = self.profile["model2d"]
        width = m["width_stft"] if kind == "stft" and m["width_stft"] else m["width"]
        return {"input_shape": list(FEATURE_SHAPES[_rep(kind)]), "width": width,
                "dense": m[f"dense_{kind}"], "dropout_dense": m["dropout_dense"],
                "bn_momentum": m["bn_momentum"]}

    def _model_entry(self, kind: str, fold: int, validation: str | None = None) -> artifacts.Entry:
        ds = self.dataset()
        settings = {"dataset": ds.key, "kind": kind, "fold": fold,
                    "model": self.model_config(kind),
                    "train": self._train_config(kind, validation).identity()}
        return self.store.entry(f"model-{kind}", settings)

    def _train_config(self, kind: str, validation: str | None = None):
        import dataclasses

        config = self.train_config(kind)
        return config if validation is None else dataclasses.replace(config,
                                                                     validation_by=validation)

    def models(self, kind: str, validation: str | None = None) -> list[FoldModel]:
        """The model of every fold for ``kind`` ("mel", "stft": 2D CNN; "wave": 1D CNN),
        trained now or loaded from the cache.

        ``validation`` ("clip" or "segment") overrides how the profile holds out the
        validation set that selects the kept epoch (the validation-leak comparison).
        """
        key = (kind, validation or self.train_config(kind).validation_by)
        if key not in self._models:
            self._models[key] = [self._fold_model(kind, k, key[1])
                                 for k in range(self.dataset().n_folds)]
        return self._models[key]

    def _fold_model(self, kind: str, fold: int, validation: str | None = None) -> FoldModel:
        import torch

        from specadv import training
        from specadv.models import build_model

        ds = self.dataset()
        config = self._train_config(kind, validation)
        model_kind = "wave1d" if kind == "wave" else "spec2d"
        x = SegmentAudio(ds) if kind == "wave" else ds.features(kind)
        entry = self._model_entry(kind, fold, validation)
        train_idx, test_idx = ds.split(fold)
        if not entry.is_complete():
            entry.reset()
            fit_pos, val_pos = training.validation_split(
                ds.seg_clip[train_idx], ds.labels[train_idx], config.validation_fraction,
                by=config.validation_by, seed=config.seed)
            model = build_model(model_kind, seed=config.seed + fold, **self.model_config(kind))
            result = training.train(model, x, ds.labels, train_idx[fit_pos], train_idx[val_pos],
                                    config, progress=self.progress)
            training.save_checkpoint(entry.path("model.pt"), model, result.history, config,
                                     extra={"fold": fold, "kind": kind, "dataset": ds.key})
            probs = training.predict(model, x, test_idx, batch_size=config.batch_size)
            artifacts.save_npy(entry.path("test_probs.npy"), probs)
            artifacts.save_npy(entry.path("val_idx.npy"), train_idx[val_pos])
            entry.commit(history=result.history, best_epoch=result.best_epoch,
                         val_accuracy=result.best_val_accuracy, seconds=result.seconds,
                         device=result.device)
        info = entry.info()
        model, _ = training.load_checkpoint(entry.path("model.pt"), model_kind,
                                            self.model_config(kind), config)
        model.to(self.device).eval()
        if kind != "wave":
            # channels-last weights: 2-3x faster 2D convolutions on CPU (oneDNN) and on CUDA
            model.to(memory_format=torch.channels_last)
        return FoldModel(kind, fold, model, info["history"], info["best_epoch"],
                         info["val_accuracy"], test_idx,
                         artifacts.load_npy(entry.path("test_probs.npy")), info["seconds"],
                         entry.folder.name)

    # -- attacks -------------------------------------------------------------------------
    CPU_ATTACK_BATCH = 16  # segments per attack pass on a CPU (larger batches run slower)

    def _attack_batch(self) -> int:
        """Segments per attack pass: the profile's ``attacks.batch_size`` on a GPU; on a CPU
        at most :attr:`CPU_ATTACK_BATCH`, where a 2D CNN's activations for 64 STFT segments
        leave the cache and BIM runs 1.5-1.8x slower (measured on the demo models). The
        attacks give the same result for any batch size, up to float rounding."""
        bs = self.profile["attacks"]["batch_size"]
        return bs if self.device.type == "cuda" else min(bs, self.CPU_ATTACK_BATCH)

    RECONSTRUCTED_ATTACKS = ("fgsm", "bim", "random_sign")  # turned into sound (if run)

    @property
    def attack_names(self) -> tuple[str, ...]:
        return tuple(self.profile["attacks"]["names"])

    @property
    def conditions(self) -> tuple[str, ...]:
        """What is reconstructed: the clean spectrogram and each reconstructed attack's."""
        return ("clean",) + tuple(a for a in self.attack_names if a in self.RECONSTRUCTED_ATTACKS)

    def attacks(self, rep: str) -> list[dict]:
        """Adversarial test spectrograms of every fold: predictions, sweep, perturbations.

        Returns one dict per fold: ``probs[name]`` (n_test, 10) for each attack,
        ``delta(name)`` the dB perturbation (float16 memmap, reconstructed attacks
        only), ``sweep`` (accuracy against eps), ``records`` (settings, labels used).
        """
        return [self._fold_attacks(rep, k) for k in range(self.dataset().n_folds)]

    def _fold_attacks(self, rep: str, fold: int) -> dict:
        import torch

        from specadv import attacks as atk

        fm = self.models(rep)[fold]
        a = self.profile["attacks"]
        entry = self._attack_entry(rep, fold)
        ds = self.dataset()
        x_all = ds.features(rep)
        idx = fm.test_idx
        if not entry.is_complete():
            entry.reset()
            records, bs = {}, self._attack_batch()
            labels = "true" if a["labels"] == "true" else "predicted"
            n, shape = len(idx), FEATURE_SHAPES[rep]
            for name in _progress(self.attack_names, desc=f"attacks {rep} fold {fold + 1}",
                                  disable=not self.progress):
                params = atk.attack_params(a, name)
                probs = np.zeros((n, 10), dtype=np.float32)
                with contextlib.ExitStack() as stack:
                    delta = (stack.enter_context(artifacts.open_npy_for_writing(
                        entry.path(f"delta_{name}.npy"), (n, *shape), np.float16))
                        if name in self.RECONSTRUCTED_ATTACKS else None)
                    for lo in range(0, n, bs):
                        rows = idx[lo: lo + bs]
                        x = torch.from_numpy(np.asarray(x_all[rows], dtype=np.float32))
                        res = atk.attack(fm.model, x.to(self.device), name, params,
                                         labels=labels, y_true=ds.labels[rows])
                        probs[lo: lo + len(rows)] = _softmax(fm.model, res.x_adv)
                        if delta is not None:
                            delta[lo: lo + len(rows)] = (res.x_adv.cpu() - x).numpy().astype(
                                np.float16)
                        records[name] = res.record()
                artifacts.save_npy(entry.path(f"probs_{name}.npy"), probs)
            sweep = self._eps_sweep(fm, x_all, idx, ds.labels, labels)
            entry.commit(records=records, sweep=sweep)
        info = entry.info()
        out = {"fold": fold, "test_idx": idx, "records": info["records"], "sweep": info["sweep"],
               "probs": {name: artifacts.load_npy(entry.path(f"probs_{name}.npy"))
                         for name in self.attack_names},
               "delta": lambda name, e=entry: artifacts.load_npy(e.path(f"delta_{name}.npy"),
                                                                  mmap=True)}
        return out

    def _eps_sweep(self, fm: FoldModel, x_all, idx, y, labels: str) -> list[dict]:
        """Segment accuracy against eps for the sweep attacks and the random-sign control.

        One row per eps: ``n``, the rows' segment indices ``idx``, and per attack its
        accuracy and ``<attack>_correct`` (0/1 per segment, for bootstrap intervals).
        """
        import torch

        from specadv import attacks as atk

        a = self.profile["attacks"]
        rows = idx[: a["sweep_max_segments"]]
        x = torch.from_numpy(np.asarray(x_all[rows], dtype=np.float32)).to(self.device)
        out = []
        for eps in [0.0] + list(a["sweep_eps"]):
            row = {"eps": eps, "n": len(rows), "idx": rows.tolist()}
            for name in dict.fromkeys([*a["sweep_attacks"], "random_sign"]):
                params = atk.budget_params(a, name, eps)
                x_adv = x if eps == 0 else atk.attack(fm.model, x, name, params, labels=labels,
                                                      y_true=y[rows],
                                                      batch_size=self._attack_batch()).x_adv
                correct = _softmax(fm.model, x_adv).argmax(1) == y[rows]
                row[name] = float(np.mean(correct))
                row[f"{name}_correct"] = correct.astype(int).tolist()  # for intervals
            out.append(row)
        return out


    # -- reconstruction and transfer -----------------------------------------------------
    def examples(self) -> dict[str, int]:
        """One segment per genre shown in the book (its reconstructions are kept as audio)."""
        from specadv.report import genre_examples

        return genre_examples(self.dataset())

    def reconstructions(self, rep: str) -> list[dict]:
        """Audio from the clean and adversarial test spectrograms of every fold, measured.

        Returns one dict per fold with, for each condition (clean, fgsm, bim,
        random_sign): ``metrics[cond][name]`` per segment (``snr_paper`` and
        ``snr_paper_unrestored``, ``snr``, ``si_sdr``, ``lsd``), ``probs[cond][target]``
        the predictions of the 1D CNN (``wave``) and of both 2D CNNs on features
        re-extracted from the audio (``mel``, ``stft``), and ``examples`` the audio of
        the book's example segments.
        """
        return [self._fold_reconstruction(rep, k) for k in range(self.dataset().n_folds)]

    def _fold_reconstruction(self, rep: str, fold: int) -> dict:
        ds = self.dataset()
        att = self.attacks(rep)[fold]
        models = {k: self.models(k)[fold] for k in ("wave", "mel", "stft")}
        r = self.profile["reconstruction"]
        ex_rows = [i for i in self.examples().values() if ds.folds[i] == fold]
        settings = {"attacks": self._attack_entry(rep, fold).folder.name, "reconstruction": r,
                    "version": STAGE_VERSIONS["reconstruction"],
                    "models": {k: m.key for k, m in models.items()}, "examples": ex_rows}
        entry = self._cached(f"reconstruction-{rep}", settings,
                             lambda e: self._reconstruct(rep, e, att, models, ex_rows))
        info = entry.info()
        load = lambda name: artifacts.load_npy(entry.path(name))  # noqa: E731
        return {
            "fold": fold, "test_idx": att["test_idx"], "seconds": info["seconds"],
            "metrics": {c: {m: load(f"{c}_{m}.npy") for m in METRICS} for c in self.conditions},
            "probs": {c: {t: load(f"{c}_probs_{t}.npy") for t in ("wave", "mel", "stft")}
                      for c in self.conditions},
            "examples": {"idx": ex_rows, **{c: load(f"examples_{c}.npy") for c in self.conditions}},
        }

    def _attack_entry(self, rep: str, fold: int) -> artifacts.Entry:
        return self.store.entry(f"attacks-{rep}", {"model": self.models(rep)[fold].key,
                                                   "attacks": self.profile["attacks"],
                                                   "version": STAGE_VERSIONS["attacks"]})

    def _reconstruct(self, rep, entry, att, models, ex_rows) -> None:
        """Reconstruct every condition of every test segment, batch by batch.

        Everything stays on the device: the audio of a batch goes up once, every
        condition is reconstructed, measured (:func:`specadv.metrics.batch_metrics`,
        against the clean reconstruction for ``attack_db``) and classified there, and
        the per-segment figures come back to the host once per fold.
        """
        import time

        import torch

        from specadv import features, metrics, reconstruction

        ds, r, dev = self.dataset(), self.profile["reconstruction"], self.device
        idx, n, bs = att["test_idx"], len(att["test_idx"]), r["batch_size"]
        ex_pos = {int(np.flatnonzero(idx == i)[0]): k for k, i in enumerate(ex_rows)}
        conds = self.conditions
        out = {c: {m: torch.zeros(n, dtype=torch.float64, device=dev) for m in METRICS}
               for c in conds}
        probs = {c: {t: torch.zeros((n, 10), dtype=torch.float32, device=dev) for t in TARGETS}
                 for c in conds}
        examples = {c: torch.zeros((len(ex_rows), ds.window), device=dev) for c in conds}
        deltas = {c: att["delta"](c) for c in conds if c != "clean"}
        t0 = time.perf_counter()
        for lo in _progress(range(0, n, bs), desc=f"reconstruct {rep}", unit="batch",
                            disable=not self.progress):
            rows = slice(lo, min(lo + bs, n))
            w = _to_device(ds.waveforms(idx[rows]), dev)
            if rep == "mel":
                x, ref = features.mel_db(w, return_ref=True)
            else:
                z = features.stft(w)
                x, _, ref = features.stft_db(w, return_ref=True)
            y_clean = None
            for cond in conds:
                d = 0.0 if cond == "clean" else _to_device(
                    np.asarray(deltas[cond][rows], np.float32), dev)
                if rep == "mel":
                    y = reconstruction.mel_to_audio(x + d, ref=ref, n_iter=r["n_iter"],
                                                    momentum=r["momentum"], init=r["init"],
                                                    seed=r["seed"], nnls_iter=r["nnls_iter"])
                else:
                    y = reconstruction.stft_to_audio(x + d, original_stft=z, clean_db=x)
                if cond == "clean":
                    y_clean = y
                for m, v in metrics.batch_metrics(w, y, ref, y_clean).items():
                    out[cond][m][rows] = v
                probs[cond]["wave"][rows] = _probs(models["wave"].model, y)
                probs[cond]["mel"][rows] = _probs(models["mel"].model, features.mel_db(y))
                probs[cond]["stft"][rows] = _probs(models["stft"].model, features.stft_db(y)[0])
                for p, k in ex_pos.items():  # the book's few examples, not every segment
                    if rows.start <= p < rows.stop:
                        examples[cond][k] = y[p - rows.start]
        for cond in conds:
            for m, v in out[cond].items():
                artifacts.save_npy(entry.path(f"{cond}_{m}.npy"), v.cpu().numpy().astype(np.float32))
            for t, v in probs[cond].items():
                artifacts.save_npy(entry.path(f"{cond}_probs_{t}.npy"), v.cpu().numpy())
            artifacts.save_npy(entry.path(f"examples_{cond}.npy"), examples[cond].cpu().numpy())
        entry.commit(seconds=time.perf_counter() - t0)


    # -- beyond the paper: reconstruction-aware attack, inversion sweep -------------------
    def beyond_positions(self, fold: int) -> np.ndarray:
        """Positions (in the fold's test segments) of the subset the beyond-the-paper
        experiments run on: ``beyond.segments_per_fold`` evenly spaced, plus the book's
        example segments of the fold."""
        ds = self.dataset()
        test_idx = ds.split(fold)[1]
        n = min(self.profile["beyond"]["segments_per_fold"], len(test_idx))
        even = np.unique(np.linspace(0, len(test_idx) - 1, n).round().astype(np.int64))
        examples = [int(np.flatnonzero(test_idx == i)[0]) for i in self.examples().values()
                    if ds.folds[i] == fold]
        return np.union1d(even, np.asarray(examples, dtype=np.int64))

    def _reconstruct_batch(self, rep: str, x_db, ref, z, clean_db):
        """The pipeline's reconstruction of a batch of (perturbed) dB features."""
        from specadv import reconstruction

        r = self.profile["reconstruction"]
        if rep == "mel":
            return reconstruction.mel_to_audio(x_db, ref=ref, n_iter=r["n_iter"],
                                               momentum=r["momentum"], init=r["init"],
                                               seed=r["seed"], nnls_iter=r["nnls_iter"])
        return reconstruction.stft_to_audio(x_db, original_stft=z, clean_db=clean_db)

    def aware(self, rep: str) -> list[dict]:
        """The reconstruction-aware attack (:func:`specadv.attacks.reconstruction_aware`)
        on each fold's subset (:meth:`beyond_positions`), measured like the other attacks.

        One dict per fold: ``pos`` (positions in the fold's test segments), ``idx``
        (segment indices), ``probs_spec`` (the 2D CNN on the adversarial spectrogram),
        ``probs`` ``{target: (n, 10)}`` on the reconstructed audio (2D CNNs on re-extracted
        features, 1D CNN on the audio), ``metrics`` (:data:`METRICS`, ``attack_db`` against
        the clean reconstruction), ``seconds`` per segment of each attack on this subset
        (``aware``, ``bim``, ``fgsm``) and ``examples`` (audio of the book's examples).
        """
        return [self._fold_aware(rep, k) for k in range(self.dataset().n_folds)]

    def _fold_aware(self, rep: str, fold: int) -> dict:
        ds = self.dataset()
        models = {k: self.models(k)[fold] for k in TARGETS}
        pos = self.beyond_positions(fold)
        settings = {"models": {k: m.key for k, m in models.items()},
                    "attacks": self.profile["attacks"], "beyond": self.profile["beyond"],
                    "reconstruction": self.profile["reconstruction"], "pos": pos.tolist(),
                    "version": STAGE_VERSIONS["aware"]}
        entry = self._cached(f"aware-{_rep(rep)}", settings,
                             lambda e: self._compute_aware(rep, fold, e, models, pos))
        info = entry.info()
        load = lambda name: artifacts.load_npy(entry.path(name))  # noqa: E731
        idx = ds.split(fold)[1][pos]
        return {"fold": fold, "pos": pos, "idx": idx, "probs_spec": load("probs_spec.npy"),
                "probs": {t: load(f"probs_{t}.npy") for t in TARGETS},
                "metrics": {m: load(f"{m}.npy") for m in METRICS},
                "seconds": info["seconds_per_segment"], "examples": {
                    "idx": info["example_idx"], "audio": load("examples.npy")}}

    def _compute_aware(self, rep, fold, entry, models, pos) -> None:
        import time

        import torch

        from specadv import attacks as atk
        from specadv import features, metrics

        ds, dev = self.dataset(), self.device
        a, b = self.profile["attacks"], self.profile["beyond"]
        fm = models[rep]
        idx = ds.split(fold)[1][pos]
        examples = [i for i in self.examples().values() if i in set(idx.tolist())]
        n, bs = len(idx), 8
        out = {m: torch.zeros(n, dtype=torch.float64, device=dev) for m in METRICS}
        probs = {t: torch.zeros((n, 10), device=dev) for t in TARGETS}
        probs_spec = torch.zeros((n, 10), device=dev)
        ex_audio = torch.zeros((len(examples), ds.window), device=dev)
        seconds = {"aware": 0.0, "bim": 0.0, "fgsm": 0.0}

        def timed(name, fn):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            res = fn()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            seconds[name] += time.perf_counter() - t0
            return res

        for lo in _progress(range(0, n, bs), desc=f"reconstruction-aware {rep} fold {fold + 1}",
                            disable=not self.progress):
            rows = slice(lo, min(lo + bs, n))
            w = _to_device(ds.waveforms(idx[rows]), dev)
            z = features.stft(w)
            if rep == "mel":
                x, ref = features.mel_db(w, return_ref=True)
            else:
                x, _, ref = features.stft_db(w, return_ref=True)
            y = atk.predicted_labels(fm.model, x)
            x_adv = timed("aware", lambda: atk.reconstruction_aware(
                fm.model, x, rep, y=y, eps=a["bim_eps"], step=a["bim_step"], iters=a["bim_iters"],
                original_stft=z, n_iter=b["aware_n_iter"], samples=b["aware_samples"],
                seed=a["seed"], clip=atk.CLIP_DB if a["clip"] else None))
            timed("bim", lambda: atk.bim(fm.model, x, y, eps=a["bim_eps"], step=a["bim_step"],
                                         iters=a["bim_iters"]))
            timed("fgsm", lambda: atk.fgsm(fm.model, x, y, eps=a["fgsm_eps"]))
            probs_spec[rows] = _probs(fm.model, x_adv)
            y_clean = self._reconstruct_batch(rep, x, ref, z, x)
            y_adv = self._reconstruct_batch(rep, x_adv, ref, z, x)
            for m, v in metrics.batch_metrics(w, y_adv, ref, y_clean).items():
                out[m][rows] = v
            probs["wave"][rows] = _probs(models["wave"].model, y_adv)
            probs["mel"][rows] = _probs(models["mel"].model, features.mel_db(y_adv))
            probs["stft"][rows] = _probs(models["stft"].model, features.stft_db(y_adv)[0])
            for k, i in enumerate(examples):
                hit = np.flatnonzero(idx[rows] == i)
                if len(hit):
                    ex_audio[k] = y_adv[int(hit[0])]
        host = lambda t: t.cpu().numpy().astype(np.float32)  # noqa: E731
        for m, v in out.items():
            artifacts.save_npy(entry.path(f"{m}.npy"), host(v))
        for t, v in probs.items():
            artifacts.save_npy(entry.path(f"probs_{t}.npy"), host(v))
        artifacts.save_npy(entry.path("probs_spec.npy"), host(probs_spec))
        artifacts.save_npy(entry.path("examples.npy"), host(ex_audio))
        entry.commit(seconds_per_segment={k: v / max(n, 1) for k, v in seconds.items()},
                     example_idx=[int(i) for i in examples], device=str(dev))

    INVERSION_VARIANTS = ("iterations", "momentum off", "zero phase start", "PGHI start",
                          "PGHI preset", "clamped least squares")

    def inversion_variants(self) -> list[tuple[str, dict]]:
        """The Mel inversions of the sweep: (label, settings of ``mel_to_audio``).

        The profile's reconstruction is the base (librosa's: random start, momentum 0.99,
        32 iterations, NNLS solve); each variant changes one thing: the number of
        Griffin-Lim iterations (``beyond.sweep_gl_iters``), momentum off, the zero-phase
        start, the PGHI start, the PGHI preset (start, momentum 0.9, 24 iterations), and
        the clamped least-squares Mel-to-linear solve (librosa's result, no NNLS steps).
        """
        from specadv.reconstruction import PGHI_SETTINGS

        r = self.profile["reconstruction"]
        base = {"n_iter": r["n_iter"], "momentum": r["momentum"], "init": r["init"],
                "seed": r["seed"], "nnls_iter": r["nnls_iter"]}
        out = [(f"{n} iterations", {**base, "n_iter": int(n)})
               for n in self.profile["beyond"]["sweep_gl_iters"]]
        out += [("momentum off", {**base, "momentum": 0.0}),
                ("zero phase start", {**base, "init": "zeros"}),
                ("PGHI start", {**base, "init": "pghi"}),
                ("PGHI preset", {**base, **PGHI_SETTINGS}),
                ("clamped least squares", {**base, "nnls_iter": 0})]
        return out

    def inversion_sweep(self) -> list[dict]:
        """Each Mel inversion variant (:meth:`inversion_variants`) on each fold's subset, for
        the clean and the BIM spectrograms: Mel error (:func:`specadv.metrics.mel_error`),
        both SNRs, the 1D CNN's predictions and the time per segment; and librosa's
        ``mel_to_audio``, one segment at a time, on the first ``beyond.librosa_segments``
        segments of fold 1 (the reference point)."""
        return [self._fold_inversion(k) for k in range(self.dataset().n_folds)]

    def _fold_inversion(self, fold: int) -> dict:
        models = {"wave": self.models("wave")[fold]}
        pos = self.beyond_positions(fold)
        settings = {"attacks": self._attack_entry("mel", fold).folder.name,
                    "wave": models["wave"].key, "variants": self.inversion_variants(),
                    "librosa": self.profile["beyond"]["librosa_segments"] if fold == 0 else 0,
                    "pos": pos.tolist(), "version": STAGE_VERSIONS["inversion"]}
        entry = self._cached("inversion", settings, lambda e: self._compute_inversion(
            fold, e, models["wave"], pos, settings["librosa"]))
        info = entry.info()
        return {"fold": fold, "pos": pos, "idx": self.dataset().split(fold)[1][pos],
                "rows": info["rows"]}

    def _compute_inversion(self, fold, entry, wave, pos, n_librosa) -> None:
        import time

        import torch

        from specadv import features, metrics, reconstruction

        ds, dev = self.dataset(), self.device
        idx = ds.split(fold)[1][pos]
        delta_all = self.attacks("mel")[fold]["delta"]("bim")
        y_true = ds.labels[idx]
        w = _to_device(ds.waveforms(idx), dev)
        x, ref = features.mel_db(w, return_ref=True)
        d = _to_device(np.asarray(delta_all[pos], np.float32), dev)
        wn = w.cpu().numpy()
        rows = []

        def measure(label, inverse, n=None):
            row = {"variant": label, "segments": int(len(idx) if n is None else n)}
            for cond, target in (("clean", x), ("bim", x + d)):
                target = target[: row["segments"]]
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                y = inverse(target, ref[: row["segments"]])
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                row[f"seconds_{cond}"] = (time.perf_counter() - t0) / row["segments"]
                yn = y.cpu().numpy()
                xo = wn[: row["segments"]]
                row[f"mel_error_{cond}"] = metrics.mel_error(yn, target.cpu().numpy()).tolist()
                row[f"snr_paper_{cond}"] = metrics.snr_paper(xo, yn).tolist()
                row[f"snr_{cond}"] = metrics.snr(xo, yn).tolist()
                row[f"wave_correct_{cond}"] = (_probs(wave.model, y).argmax(1).cpu().numpy()
                                               == y_true[: row["segments"]]).astype(int).tolist()
            rows.append(row)

        for label, kw in _progress(self.inversion_variants(), desc=f"inversion sweep fold "
                                   f"{fold + 1}", disable=not self.progress):
            measure(label, lambda t, rf, kw=kw: reconstruction.mel_to_audio(t, ref=rf, **kw))
        if n_librosa:
            import librosa

            def librosa_inverse(t, rf):
                mags = (rf[:, None, None] * torch.pow(10.0, t / 10.0)).cpu().numpy()
                # librosa.feature.inverse.mel_to_audio, spelled out to seed its random phase
                # (it draws from numpy's global generator otherwise)
                seed = self.profile["reconstruction"]["seed"]
                return torch.from_numpy(np.stack([librosa.griffinlim(
                    librosa.feature.inverse.mel_to_stft(m, sr=22050, n_fft=512, power=1.0),
                    n_iter=32, hop_length=256, n_fft=512, length=ds.window, random_state=seed)
                    for m in mags]).astype(np.float32)).to(dev)

            librosa_inverse(x[:1], ref[:1])  # untimed: librosa's numba code compiles on first use
            measure("librosa mel_to_audio (one at a time)", librosa_inverse,
                    n=min(n_librosa, len(idx)))
        entry.commit(rows=rows, device=str(dev))


def _to_device(a: np.ndarray, device):
    """A host array as a tensor on ``device`` (through pinned memory on CUDA)."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(a))
    if getattr(device, "type", str(device)) == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t


def _probs(model, x, batch_size: int = 256):
    """Class probabilities of ``x`` as a tensor on ``x``'s device (no copy to the host)."""
    import torch

    model.eval()
    with torch.no_grad():
        return torch.cat([torch.softmax(model(x[lo: lo + batch_size]).float(), dim=1)
                          for lo in range(0, len(x), batch_size)])


def _softmax(model, x, batch_size: int = 256) -> np.ndarray:
    """Class probabilities of ``x`` on the host (:func:`_probs`, copied once)."""
    if len(x) == 0:
        return np.zeros((0, 10), np.float32)
    return _probs(model, x, batch_size).cpu().numpy()
