"""The dataset stage: clips -> folds -> 5-s segments -> audio and features, on disk."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from specadv import artifacts
from specadv.constants import GENRES, SAMPLE_RATE
from specadv.data import (FOLD_TRAIN, FOLD_VALIDATION, assign_folds, gather_segments,
                          genre_examples, kept_windows, load_corpus, read_audio)
from specadv.device import to_device
from specadv.roundtrip import REPRESENTATIONS, representation
from specadv.stages import progress

__all__ = ["ClipInfo", "Dataset", "SegmentAudio", "build_dataset"]


@dataclass(frozen=True)
class ClipInfo:
    clip_id: str
    genre: str
    label: int
    path: str
    fold: int  # the rotation it is a test clip of; FOLD_TRAIN / FOLD_VALIDATION: in none
    n_samples: int
    n_segments: int  # 0: every window silent, and no audio kept (Dataset.clip_audio is empty)


class Dataset:
    """Segments, labels, folds, audio and features of one corpus, memory-mapped from disk.

    ``folds[i]`` is the rotation segment ``i`` is a test segment of (``0 .. n_folds - 1``).
    With ``folds.kind`` "filtered" (``split_kind``) there is one rotation: its test list
    is fold 0 and its train and validation lists are :data:`~specadv.data.FOLD_TRAIN`
    and :data:`~specadv.data.FOLD_VALIDATION`, in no rotation's test set.
    """

    def __init__(self, entry: artifacts.Entry):
        self.entry = entry
        info = entry.info()
        self.corpus_root = Path(info["corpus_root"])
        self.clips = [ClipInfo(**c) for c in info["clips"]]
        self.skipped: list[dict] = info["skipped"]
        self.silent_clips: list[str] = info["silent_clips"]
        self.split_kind: str = info.get("split_kind", "stratified")

        def load(name):
            return artifacts.load_npy(entry.path(name), mmap=True)

        self.seg_clip = np.asarray(load("seg_clip.npy"))
        self.seg_index = np.asarray(load("seg_index.npy"))
        self.seg_start = np.asarray(load("seg_start.npy"))
        self.labels = np.asarray(load("seg_label.npy"))
        self.folds = np.asarray(load("seg_fold.npy"))
        self.audio = load("audio.npy")
        self.clip_offset = np.asarray(load("clip_offset.npy"))
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
        return artifacts.load_npy(self.entry.path(f"{representation(rep).name}.npy"), mmap=True)

    def ref(self, rep: str) -> np.ndarray:
        """Each segment's dB reference (its maximum magnitude), float32 ``(n,)``."""
        return np.asarray(artifacts.load_npy(self.entry.path(f"{representation(rep).name}_ref.npy")))

    def waveforms(self, idx) -> np.ndarray:
        """The 5-s segments ``idx`` as float32 ``(len(idx), window)`` (zero-padded if short)."""
        return gather_segments(self.audio, self.clip_offset, self.seg_clip, self.seg_start, idx,
                               self.window)

    def clip_audio(self, clip: int) -> np.ndarray:
        """Clip ``clip``'s audio, float32; empty for a clip without a usable segment."""
        return np.asarray(self.audio[self.clip_offset[clip]: self.clip_offset[clip + 1]])

    def split(self, fold: int) -> tuple[np.ndarray, np.ndarray]:
        """(train, test) segment indices of rotation ``fold`` (test = that fold; train = the
        other folds, or the filtered split's train list: never its validation list)."""
        test = self.folds == fold
        return np.flatnonzero(~test & (self.folds != FOLD_VALIDATION)), np.flatnonzero(test)

    def validation(self, fold: int) -> np.ndarray | None:
        """Segment indices that select the kept epoch of rotation ``fold`` where the split
        fixes them (the filtered split's validation list); None where the training holds
        them out of the training segments itself (:func:`specadv.training.validation_split`)."""
        if self.split_kind != "filtered":
            return None
        return np.flatnonzero(self.folds == FOLD_VALIDATION)

    def examples(self, fold: int | None = None) -> dict[str, int]:
        """The book's example segments: one per genre (:func:`specadv.data.genre_examples`)."""
        return genre_examples(self.labels, self.folds, self.seg_clip, fold)

    def segment_table(self):
        """One row per segment: clip id, genre, fold (the filtered split: its list), segment
        index, start (s)."""
        import pandas as pd

        fold = self.folds
        if self.split_kind == "filtered":
            lists = {0: "test", FOLD_TRAIN: "train", FOLD_VALIDATION: "validation"}
            fold = [lists[int(f)] for f in self.folds]
        return pd.DataFrame({
            "clip_id": [self.clips[c].clip_id for c in self.seg_clip],
            "genre": [GENRES[y] for y in self.labels],
            "fold": fold, "segment": self.seg_index,
            "start_s": self.seg_start / SAMPLE_RATE})


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


def build_dataset(entry: artifacts.Entry, path: Path, segments: dict, folds: dict, device,
                  show_progress: bool = True) -> None:
    """Read the corpus at ``path``, split it into folds (``folds``: a profile's section, see
    :func:`specadv.data.assign_folds`) and segments, and write the audio, the segment
    tables and every representation's features into ``entry``."""
    import torch

    window, overlap, min_energy = (segments["window_samples"], segments["overlap"],
                                   segments["min_energy"])
    kind = folds.get("kind", "stratified")
    corpus, fold_of = assign_folds(load_corpus(path, progress=show_progress), kind,
                                   folds["n_splits"], folds["seed"])
    # clip i is audio[offsets[i]:offsets[i + 1]]; a clip without a usable segment keeps no
    # audio (nothing reads it, and two hours of silence would be 635 MB): its range is empty
    offsets = np.zeros(len(corpus.clips) + 1, dtype=np.int64)
    seg_clip, seg_index, seg_start = [], [], []
    clips, silent = [], []
    skipped = [{"path": str(s.path), "reason": s.reason} for s in corpus.skipped]
    with artifacts.open_npy_for_writing(entry.path("audio.npy"),  # at most every clip's audio
                                        (sum(c.n_samples for c in corpus.clips),),
                                        np.float32) as audio:
        for i, clip in enumerate(progress(corpus.clips, show_progress, desc="segmenting",
                                          unit="clip")):
            y = read_audio(clip.path)[: clip.n_samples]
            starts, kept = kept_windows(y, window, overlap, min_energy)
            if len(kept) == 0:
                silent.append(clip.clip_id)
                offsets[i + 1] = offsets[i]
            else:
                audio[offsets[i]: offsets[i] + len(y)] = y
                offsets[i + 1] = offsets[i] + clip.n_samples
            seg_clip += [i] * len(kept)
            seg_index += kept.tolist()
            seg_start += starts[kept].tolist()
            clips.append(asdict(ClipInfo(clip.clip_id, clip.genre, clip.label, str(clip.path),
                                         int(fold_of[i]), clip.n_samples, len(kept))))
    seg_clip = np.asarray(seg_clip, dtype=np.int64)
    if len(seg_clip) == 0:
        raise ValueError(f"{path}: every segment of every clip is silent (mean energy <= "
                         f"{min_energy}); nothing to classify")
    for name, arr in [("seg_clip", seg_clip), ("seg_index", seg_index),
                      ("seg_start", seg_start), ("seg_label", corpus.labels[seg_clip]),
                      ("seg_fold", fold_of[seg_clip]), ("clip_offset", offsets)]:
        artifacts.save_npy(entry.path(f"{name}.npy"), np.asarray(arr, dtype=np.int64))
    artifacts.shrink_npy(entry.path("audio.npy"), int(offsets[-1]))  # the silent clips' room
    audio = artifacts.load_npy(entry.path("audio.npy"), mmap=True)
    seg_start = np.asarray(seg_start, dtype=np.int64)
    n, batch = len(seg_clip), (512 if device.type == "cuda" else 64)
    reps = list(REPRESENTATIONS.values())
    refs = {r.name: np.zeros(n, dtype=np.float32) for r in reps}
    with _FeatureWriters(entry, reps, n) as out:
        for lo in progress(range(0, n, batch), show_progress, desc="features", unit="batch"):
            idx = np.arange(lo, min(lo + batch, n))
            w = to_device(gather_segments(audio, offsets, seg_clip, seg_start, idx, window),
                          device)
            with torch.no_grad():
                for r in reps:
                    f = r.extract(w)
                    out[r.name][idx] = f.db.cpu().numpy().astype(np.float16)
                    refs[r.name][idx] = f.ref.cpu().numpy()
    for name, ref in refs.items():
        artifacts.save_npy(entry.path(f"{name}_ref.npy"), ref)
    entry.commit(corpus_root=str(corpus.root), clips=clips, skipped=skipped,
                 silent_clips=silent, window_samples=window, split_kind=kind)


class _FeatureWriters:
    """float16 memmaps ``<rep>.npy`` of every representation, committed together."""

    def __init__(self, entry, reps, n):
        import contextlib

        self.stack = contextlib.ExitStack()
        self.entry, self.reps, self.n = entry, reps, n

    def __enter__(self) -> dict:
        return {r.name: self.stack.enter_context(artifacts.open_npy_for_writing(
            self.entry.path(f"{r.name}.npy"), (self.n, *r.feature_shape), np.float16))
            for r in self.reps}

    def __exit__(self, *exc):
        return self.stack.__exit__(*exc)
