"""Corpus, folds and segments: GTZAN (or the embedded stand-in) to labelled 5-s windows.

- :func:`load_corpus` finds the ten genre folders of a GTZAN-shaped tree (the
  original ``genres/<genre>/*.au``, the mirrored ``Data/genres_original/<genre>/*.wav``
  or the embedded corpus), checks every file and reports the ones it skips;
- :func:`make_folds` is the authors' clip-level ``StratifiedKFold(3, shuffle=True,
  random_state=7)``; :func:`filtered_folds` is GTZAN's fault-filtered split (Kereliuk,
  Sturm and Larsen 2015), and :func:`assign_folds` chooses between them (``folds.kind``);
- :func:`segment` cuts a clip into 5-s windows with 75% overlap by the authors' rule;
- :func:`stratified_subset` draws segments that represent a fold (stratified by genre).
"""
from __future__ import annotations

import errno
import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from specadv.constants import GENRES, MIN_ENERGY, OVERLAP, SAMPLE_RATE, WINDOW_SAMPLES

AUDIO_EXTENSIONS = (".wav", ".au", ".flac", ".ogg", ".aif", ".aiff", ".mp3")

__all__ = [
    "GENRES", "SAMPLE_RATE", "WINDOW_SAMPLES", "MIN_ENERGY", "AUDIO_EXTENSIONS",
    "Clip", "Skipped", "Corpus", "CorpusError", "AudioError",
    "read_audio", "find_genre_root", "load_corpus", "make_folds", "segment", "segment_starts",
    "gather_segments", "genre_examples", "stratified_subset", "make_embedded_corpus",
    "FOLD_KINDS", "FOLD_TRAIN", "FOLD_VALIDATION", "FILTERED_SPLIT_FILE", "MissingClipsError",
    "filtered_split", "filtered_split_digest", "filtered_folds", "check_filtered_names",
    "assign_folds",
]

# ``folds.kind``: the authors' stratified k-fold, or GTZAN's fault-filtered split
FOLD_KINDS = ("stratified", "filtered")
# A segment's fold is the rotation it is a test segment of (0, 1, ...); the filtered
# split's train and validation lists are in no rotation's test set:
FOLD_TRAIN, FOLD_VALIDATION = -1, -2
FILTERED_SPLIT_FILE = Path(__file__).with_name("splits") / "gtzan_filtered.json"
FILTERED_SOURCE = "the fault-filtered split (Kereliuk et al. 2015)"


class CorpusError(ValueError):
    """A corpus folder that cannot be used as it is (the message says what was expected)."""


class MissingClipsError(CorpusError):
    """Files of a fixed split that the corpus lacks; ``missing`` lists their GTZAN names."""

    def __init__(self, message: str, missing: list[str]):
        super().__init__(message)
        self.missing = missing


class AudioError(ValueError):
    """An audio file that cannot be used; ``path`` and ``reason`` say which and why."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class Clip:
    """One labelled recording of the corpus."""

    path: Path
    genre: str
    label: int
    clip_id: str  # the file's stem, e.g. "blues.00012"
    n_samples: int  # after resampling to SAMPLE_RATE
    sample_rate_in: int
    channels_in: int


@dataclass(frozen=True)
class Skipped:
    """A file of the corpus that was left out, and why."""

    path: Path
    reason: str


@dataclass
class Corpus:
    """The clips of a corpus folder, in genre then file-name order."""

    root: Path
    clips: list[Clip] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def labels(self) -> np.ndarray:
        return np.array([c.label for c in self.clips], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.clips)

    def counts(self) -> dict[str, int]:
        """Number of usable clips per genre."""
        return {g: sum(c.genre == g for c in self.clips) for g in GENRES}


def read_audio(path, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Read an audio file as float32 mono at ``sr`` Hz.

    Stereo (or more channels) is averaged to mono; other sample rates are
    resampled with librosa (soxr). Raises :class:`AudioError` naming the file for
    an unreadable, empty or non-finite file.
    """
    import soundfile as sf

    path = Path(path)
    try:
        y, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile reports many kinds of broken files
        raise AudioError(path, f"unreadable audio ({type(exc).__name__}: {exc})") from None
    if y.shape[0] == 0:
        raise AudioError(path, "empty audio file (0 samples)")
    finite = np.isfinite(y)
    if not finite.all():
        n_nan = int(np.isnan(y).sum())
        n_inf = y.size - int(finite.sum()) - n_nan
        raise AudioError(path, f"non-finite samples ({n_nan} NaN, {n_inf} infinite); re-export "
                               "the file or remove it")
    y = y.mean(axis=1) if y.shape[1] > 1 else y[:, 0]
    if rate != sr:
        import librosa

        y = librosa.resample(y, orig_sr=rate, target_sr=sr).astype(np.float32)
    return np.ascontiguousarray(y, dtype=np.float32)


def find_genre_root(path) -> Path:
    """The folder whose sub-folders are GTZAN's genres: ``path`` itself or one or two levels down.

    Only folder names are looked at (no file is read), so a corpus folder can be
    checked before a run starts.

    Raises
    ------
    CorpusError
        The path does not exist, is not a folder, holds no genre folders (or
        several sets of them), or holds a folder that is not a GTZAN genre; the
        message names the path and says what was expected.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise CorpusError(f"{path}: the corpus folder does not exist. Give the folder of a "
                          "GTZAN copy (genres/ or Data/genres_original/), write the embedded "
                          f"corpus there with `specadv corpus {path}`, or leave the data out to "
                          "use the profile's embedded corpus")
    if not path.is_dir():
        raise CorpusError(f"{path}: not a folder; give the folder that holds the genre folders")

    def has_genres(p: Path) -> bool:
        return any((p / g).is_dir() for g in GENRES)

    genre_root, level = None, [path]
    for depth in range(3):
        if depth:
            level = sorted(c for p in level for c in p.iterdir() if c.is_dir())
        found = [p for p in level if has_genres(p)]
        if len(found) > 1:
            raise CorpusError(f"{path}: several genre folders found ({', '.join(map(str, found))}); "
                              "point to one of them")
        if found:
            genre_root = found[0]
            break
    if genre_root is None:
        raise CorpusError(f"{path}: no genre folders found. Expected folders named after GTZAN's "
                          f"genres ({', '.join(GENRES)}), in this folder or one or two levels down "
                          "(e.g. genres/<genre>/*.au or Data/genres_original/<genre>/*.wav)")
    unknown = sorted(p.name for p in genre_root.iterdir()
                     if p.is_dir() and p.name not in GENRES and not p.name.startswith("."))
    if unknown:
        raise CorpusError(f"{genre_root}: unknown genre folder(s) {unknown}; expected only "
                          f"GTZAN's genres ({', '.join(GENRES)}): rename or move the others")
    return genre_root


def _not_a_file(path: Path) -> str:
    """Why ``path`` (neither a file nor a folder, following links) cannot be read as a clip."""
    if path.is_symlink():
        try:
            os.stat(path)
        except OSError as exc:
            target = os.readlink(path)
            if exc.errno == errno.ELOOP:
                return (f"symbolic link loop (it points to '{target}', which leads back to "
                        "itself); point the link to an audio file or remove it")
            return (f"broken symbolic link (its target '{target}' does not exist); point the "
                    "link to an audio file or remove it")
    return "not a regular file (a pipe, socket or device); give audio files only"


def load_corpus(path, sr: int = SAMPLE_RATE, min_samples: int = WINDOW_SAMPLES,
                progress: bool = False) -> Corpus:
    """Find and check the clips of a GTZAN-shaped folder.

    Every file is read once to check it (the audio is not kept). Files that
    cannot be used are listed in ``Corpus.skipped`` with the reason, never fatal:
    unreadable or empty audio, non-finite samples, files that are not audio,
    clips shorter than ``min_samples`` (one 5-s window by default), broken or looping
    symbolic links and other entries that are not files (pipes, sockets). Folders inside
    a genre folder are not read.

    Parameters
    ----------
    path : str or Path
        The corpus folder: the genre folders, or a folder holding them one or two
        levels down.
    min_samples : int
        Clips shorter than this (after resampling) are skipped; 0 keeps them all
        (:func:`segment` then zero-pads a short clip's single window).

    Raises
    ------
    CorpusError
        The path does not exist, holds no genre folders, holds a folder that is
        not a GTZAN genre, or holds no usable clip.
    """
    genre_root = find_genre_root(path)
    corpus = Corpus(root=genre_root)
    # a broken link is neither a file nor a folder: listed below, never dropped in silence
    files = [(g, f) for g in GENRES if (genre_root / g).is_dir()
             for f in sorted((genre_root / g).iterdir()) if not f.is_dir()]
    if progress:
        from tqdm.auto import tqdm

        files = tqdm(files, desc="checking clips", unit="clip")
    for genre, f in files:
        if not f.is_file():
            corpus.skipped.append(Skipped(f, _not_a_file(f)))
            continue
        if f.suffix.lower() not in AUDIO_EXTENSIONS:
            corpus.skipped.append(Skipped(f, f"not an audio file (extension '{f.suffix}'; "
                                             f"expected one of {', '.join(AUDIO_EXTENSIONS)})"))
            continue
        try:
            import soundfile as sf

            info = sf.info(str(f))
            y = read_audio(f, sr)
        except AudioError as err:
            corpus.skipped.append(Skipped(f, err.reason))
            continue
        except Exception as exc:
            corpus.skipped.append(Skipped(f, f"unreadable audio ({type(exc).__name__}: {exc})"))
            continue
        if len(y) < min_samples:
            corpus.skipped.append(Skipped(f, f"too short: {len(y) / sr:.2f} s, shorter than one "
                                             f"{min_samples / sr:.2f}-s window"))
            continue
        corpus.clips.append(Clip(path=f, genre=genre, label=GENRES.index(genre), clip_id=f.stem,
                                 n_samples=len(y), sample_rate_in=int(info.samplerate),
                                 channels_in=int(info.channels)))
    if not corpus.clips:
        examples = "; ".join(f"{s.path.name}: {s.reason}" for s in corpus.skipped[:3])
        raise CorpusError(f"{genre_root}: no usable audio clip in the genre folders "
                          f"({len(corpus.skipped)} file(s) skipped"
                          f"{', e.g. ' + examples if examples else ''}); give clips of at least "
                          f"one 5-s window that libsndfile reads ({', '.join(AUDIO_EXTENSIONS)})")
    return corpus


def make_folds(corpus, n_splits: int = 3, seed: int = 7) -> np.ndarray:
    """Clip-level stratified folds, as the authors made them.

    ``StratifiedKFold(n_splits, shuffle=True, random_state=seed)`` over the clips
    and their genre labels; the clip ``i`` belongs to test fold ``folds[i]``.

    Parameters
    ----------
    corpus : Corpus or array of labels

    Returns
    -------
    folds : int array, shape ``(n_clips,)``, values in ``0 .. n_splits - 1``
    """
    from sklearn.model_selection import StratifiedKFold

    labels = corpus.labels if isinstance(corpus, Corpus) else np.asarray(corpus)
    present, counts = np.unique(labels, return_counts=True)
    if len(present) < 2:
        raise CorpusError(f"only one genre ({GENRES[int(present[0])] if len(present) else 'none'}) "
                          "in the corpus: a classifier needs at least two; add clips of another "
                          "genre")
    if counts.min() < n_splits:
        few = {GENRES[int(g)]: int(c) for g, c in zip(present, counts) if c < n_splits}
        raise CorpusError(f"too few clips for {n_splits} stratified folds: {few}; every genre "
                          f"needs at least {n_splits} clips")
    folds = np.empty(len(labels), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        folds[test] = k
    return folds


_ROLE_FOLDS = {"train": FOLD_TRAIN, "validation": FOLD_VALIDATION, "test": 0}


@functools.lru_cache(maxsize=1)
def _filtered_lists() -> tuple[tuple[str, tuple[str, ...]], ...]:
    import json

    doc = json.loads(FILTERED_SPLIT_FILE.read_text())
    return tuple((role, tuple(doc[role])) for role in _ROLE_FOLDS)


def filtered_split() -> dict[str, list[str]]:
    """GTZAN's fault-filtered split (Kereliuk, Sturm and Larsen 2015): its file names per list.

    Fixed train, validation and test lists of GTZAN file names with Sturm's (2013)
    repetitions, mislabelings and distortions left out and artists kept apart: 930 of
    the 1000 clips. The package data ``specadv/splits/gtzan_filtered.json`` names
    where the lists were copied from (torchaudio's ``GTZAN`` dataset, after
    jordipons/sklearn-audio-transfer-learning).

    Returns
    -------
    dict
        ``"train"`` (443 names), ``"validation"`` (197) and ``"test"`` (290), each a list
        of GTZAN file stems such as ``"blues.00029"``.
    """
    return {role: list(names) for role, names in _filtered_lists()}


def filtered_split_digest() -> str:
    """A short hash of the filtered split's lists: what a cache key names them by."""
    import hashlib

    return hashlib.sha256(repr(_filtered_lists()).encode()).hexdigest()[:12]


def _filtered_role_folds() -> dict[str, int]:
    """GTZAN file stem -> its fold in the filtered split (0: test; FOLD_TRAIN; FOLD_VALIDATION)."""
    return {name: _ROLE_FOLDS[role] for role, names in _filtered_lists() for name in names}


def _missing_clips_error(root, missing: list[str]) -> MissingClipsError:
    n_listed = sum(len(names) for _, names in _filtered_lists())
    by_genre = ", ".join(f"{g} {n}" for g in GENRES
                         if (n := sum(m.startswith(f"{g}.") for m in missing)))
    shown = ", ".join(missing[:12]) + (f" and {len(missing) - 12} more" if len(missing) > 12
                                       else "")
    return MissingClipsError(
        f"{root}: {len(missing)} of the {n_listed} files of {FILTERED_SOURCE} are missing "
        f"({by_genre}): {shown}. The split lists GTZAN's own files by name (e.g. "
        "genres/blues/blues.00012.au or Data/genres_original/blues/blues.00012.wav): give a "
        "complete copy of GTZAN, or choose `folds: {kind: stratified}` (the default, the "
        "paper's folds) for any other corpus, the embedded one or a partial copy", missing)


def check_filtered_names(path) -> Path:
    """Check by file names alone (no file is read) that a corpus folder holds every file of
    the filtered split, so that a run can fail before it starts.

    Returns
    -------
    Path
        The genre root (:func:`find_genre_root`).

    Raises
    ------
    MissingClipsError
        A listed file is in no genre folder: the count, the names and what to do.
    """
    root = find_genre_root(path)
    present = {f.stem for g in GENRES if (root / g).is_dir()
               for f in (root / g).iterdir() if f.is_file()}
    missing = sorted(n for n in _filtered_role_folds() if n not in present)
    if missing:
        raise _missing_clips_error(root, missing)
    return root


def filtered_folds(corpus: Corpus) -> tuple[Corpus, np.ndarray]:
    """GTZAN's fault-filtered split of a loaded corpus: the listed clips and their lists.

    Clips are matched to the lists by GTZAN file name (the stem, ``blues.00012``), so
    both layouts (``genres/<g>/*.au``, ``Data/genres_original/<g>/*.wav``) match. A
    listed file that :func:`load_corpus` skipped (unreadable, e.g. the mirrored copy's
    ``jazz.00054.wav``) stays reported in ``skipped`` and the split goes on without it;
    a clip in no list is left out and reported there too.

    Returns
    -------
    corpus : Corpus
        The listed clips, in the input's order; ``skipped`` extended by the unlisted ones.
    folds : int64 array, shape ``(n_clips,)``
        0 for the test list (the test fold of the one rotation), :data:`FOLD_TRAIN` and
        :data:`FOLD_VALIDATION` for the train and validation lists.

    Raises
    ------
    MissingClipsError
        A listed file is not in the corpus folder at all: the corpus is not GTZAN, or
        not all of it.
    """
    role_fold = _filtered_role_folds()
    present = {c.clip_id for c in corpus.clips} | {s.path.stem for s in corpus.skipped}
    missing = sorted(n for n in role_fold if n not in present)
    if missing:
        raise _missing_clips_error(corpus.root, missing)
    kept = Corpus(root=corpus.root, skipped=list(corpus.skipped))
    for clip in corpus.clips:
        if clip.clip_id in role_fold:
            kept.clips.append(clip)
        else:
            kept.skipped.append(Skipped(clip.path, f"not in {FILTERED_SOURCE}"))
    folds = np.array([role_fold[c.clip_id] for c in kept.clips], dtype=np.int64)
    for role in ("train", "test"):
        if not np.any(folds == _ROLE_FOLDS[role]):
            raise CorpusError(f"{corpus.root}: no usable clip of the filtered split's {role} "
                              "list (every one was skipped: see the skipped files); check the "
                              "files, or choose `folds: {kind: stratified}`")
    return kept, folds


def assign_folds(corpus: Corpus, kind: str = "stratified", n_splits: int = 3,
                 seed: int = 7) -> tuple[Corpus, np.ndarray]:
    """The clips a split uses and each one's fold, for ``folds.kind`` of a profile.

    "stratified": every clip, :func:`make_folds` (the paper's); "filtered":
    :func:`filtered_folds` (``n_splits`` and ``seed`` are not used).
    """
    if kind == "stratified":
        return corpus, make_folds(corpus, n_splits, seed)
    if kind == "filtered":
        return filtered_folds(corpus)
    raise ValueError(f"folds.kind must be one of {', '.join(FOLD_KINDS)}; got {kind!r}")


def segment_starts(n_samples: int, window: int = WINDOW_SAMPLES, overlap: float = OVERLAP) -> np.ndarray:
    """Start samples of the windows of a clip of ``n_samples`` samples, by the authors' rule.

    ``max(1, ceil((n_samples - window) / hop))`` windows with ``hop = window * (1 - overlap)``
    (27562.5 samples), window ``i`` starting at ``i * int(hop)``: a clip of 661794
    samples gives 21 windows, one of exactly 661500 gives 20.
    """
    hop = window * (1.0 - overlap)
    n = max(1, math.ceil((n_samples - window) / hop))
    return np.arange(n, dtype=np.int64) * int(hop)


def segment(waveform, window: int = WINDOW_SAMPLES, overlap: float = OVERLAP,
            min_energy: float = MIN_ENERGY) -> tuple[np.ndarray, np.ndarray]:
    """Cut a clip into overlapping windows, dropping silent ones.

    A clip shorter than one window gives one zero-padded window. A window whose
    mean energy ``mean(x ** 2)`` is at most ``min_energy`` is dropped.

    Returns
    -------
    segments : float32, shape ``(n_kept, window)``
    index : int64, shape ``(n_kept,)``: each kept window's position ``i`` in the clip
    """
    y = np.asarray(waveform, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"segment expects one mono waveform, got shape {y.shape}")
    starts, kept = kept_windows(y, window, overlap, min_energy)
    if len(y) < window:
        y = np.pad(y, (0, window - len(y)))
    frames = np.lib.stride_tricks.sliding_window_view(y, window)[starts[kept]]
    return np.ascontiguousarray(frames), kept


def kept_windows(waveform, window: int = WINDOW_SAMPLES, overlap: float = OVERLAP,
                 min_energy: float = MIN_ENERGY) -> tuple[np.ndarray, np.ndarray]:
    """The silence rule: start samples of a clip's windows and the positions of those kept.

    A window's energy is its mean square over the full window (zero-padded past the
    clip's end); a window whose energy is at most ``min_energy`` is dropped.

    Returns
    -------
    starts : int64 ``(n_windows,)`` (:func:`segment_starts`)
    kept : int64 ``(n_kept,)``: positions in ``starts`` of the windows kept
    """
    y = np.asarray(waveform)
    starts = segment_starts(len(y), window, overlap)
    energy = np.array([np.sum(np.square(y[s: s + window], dtype=np.float64)) / window
                       for s in starts])
    return starts, np.flatnonzero(energy > min_energy).astype(np.int64)


def gather_segments(audio, clip_offset, seg_clip, seg_start, idx,
                    window: int = WINDOW_SAMPLES) -> np.ndarray:
    """Segments ``idx`` of clips stored end to end in one array, zero past a clip's end.

    Parameters
    ----------
    audio : array ``(total_samples,)``, the clips concatenated (a memmap is read in place).
    clip_offset : int array ``(n_clips + 1,)``: clip ``c`` is ``audio[clip_offset[c]:
        clip_offset[c + 1]]``.
    seg_clip, seg_start : int arrays: each segment's clip and start sample in it.
    idx : int array: the segments to gather.

    Returns
    -------
    float32 ``(len(idx), window)``: the same rows as :func:`segment` cuts (a window that
    runs past its clip's end is zero-padded).
    """
    idx = np.atleast_1d(np.asarray(idx, dtype=np.int64))
    seg_clip = np.asarray(seg_clip)[idx]
    starts = np.asarray(clip_offset)[seg_clip] + np.asarray(seg_start)[idx]
    lengths = np.asarray(clip_offset)[seg_clip + 1] - starts
    out = np.zeros((len(idx), window), dtype=np.float32)
    if len(idx) == 0:
        return out
    total = len(audio)
    inside = starts + window <= total
    if inside.any():  # one fancy index over a strided view of the audio: no Python loop
        view = np.lib.stride_tricks.sliding_window_view(audio, window)
        out[inside] = view[starts[inside]]
    for row in np.flatnonzero(~inside):  # at most the last clip's last windows
        out[row, : total - starts[row]] = audio[starts[row]:]
    past = np.arange(window)[None, :] >= lengths[:, None]
    out[past] = 0.0
    return out


def stratified_subset(idx, labels, n: int, seed: int = 0) -> np.ndarray:
    """``n`` of the segments ``idx`` drawn at random within each genre, in proportion to it.

    What the eps sweep, the budget ladder and the beyond-the-paper subset run on: a sample
    that represents a fold's test segments, never the head of a sorted index (the test
    indices are sorted by clip, so their head is one or two genres).

    Each genre gets its quota ``n * (its segments) / len(idx)`` rounded by the largest
    remainder (ties drawn with ``seed``), so every count is within one segment of its
    quota; where ``n`` allows (``n`` at least the number of genres present) every genre
    gets at least one, taken from the genre furthest above its quota (in a fold with
    very unequal genres that genre may then fall more than one below its quota). Within
    a genre the segments are drawn without replacement with ``seed``.

    Parameters
    ----------
    idx : int array ``(m,)``: the segments to draw from (e.g. a fold's test segments).
    labels : int array ``(m,)``: the genre label of each segment of ``idx``.
    n : how many to draw; ``n >= m`` gives every segment.
    seed : the draw's seed: the same seed, the same segments.

    Returns
    -------
    int64 ``(min(n, m),)``: the drawn segments of ``idx``, sorted.

    Examples
    --------
    >>> stratified_subset([0, 1, 2, 3, 4, 5], [0, 0, 0, 0, 1, 1], 3).tolist()
    [1, 2, 4]
    """
    idx, labels = np.asarray(idx, dtype=np.int64), np.asarray(labels)
    if idx.ndim != 1 or labels.shape != idx.shape:
        raise ValueError(f"stratified_subset: idx and labels must be two 1-D arrays of the same "
                         f"length (one label per segment); got shapes {idx.shape} and "
                         f"{labels.shape}")
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError(f"stratified_subset: n must be an integer >= 0; got {n!r}")
    n = int(n)
    if n >= len(idx):
        return np.sort(idx)
    rng = np.random.default_rng(seed)
    genres, counts = np.unique(labels, return_counts=True)
    quota = n * counts / len(idx)
    alloc = np.floor(quota).astype(np.int64)
    # the seats left go to the largest remainders; a random order first breaks ties
    order = rng.permutation(len(genres))
    order = order[np.argsort(-(quota - alloc)[order], kind="stable")]
    alloc[order[: n - int(alloc.sum())]] += 1
    if n >= len(genres):
        for g in np.flatnonzero(alloc == 0):
            donors = np.flatnonzero(alloc > 1)
            alloc[donors[np.argmax((alloc - quota)[donors])]] -= 1
            alloc[g] = 1
    chosen = [rng.choice(np.sort(idx[labels == g]), size=int(k), replace=False)
              for g, k in zip(genres, alloc) if k]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def genre_examples(labels, folds, seg_clip, fold: int | None = None) -> dict[str, int]:
    """One segment per genre: the middle segment of the first clip of that genre among test
    segments (of ``fold``; the filtered split's train and validation lists are in no fold).

    The book's example segments (players, the reproduced paper page). Arrays are per
    segment: its label, fold and clip.
    """
    labels, folds, seg_clip = np.asarray(labels), np.asarray(folds), np.asarray(seg_clip)
    out = {}
    for g, genre in enumerate(GENRES):
        mask = (labels == g) & (folds >= 0)  # test segments only (of some rotation)
        if fold is not None:
            mask &= folds == fold
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            continue
        of_clip = idx[seg_clip[idx] == seg_clip[idx[0]]]
        out[genre] = int(of_clip[len(of_clip) // 2])
    return out


def make_embedded_corpus(out_dir, clips_per_genre: int = 10, seconds: float = 30.0,
                         seed: int = 0, progress: bool = False, workers: int | None = None) -> Path:
    """Write the embedded procedural corpus: a GTZAN-shaped folder of synthetic music.

    ``<out_dir>/<genre>/<genre>.000NN.wav``, 22050 Hz mono 16-bit PCM, the same bytes
    for the same arguments. See :mod:`specadv.synth` for how the ten styles are made.

    Parameters
    ----------
    out_dir : str or Path
        The folder to write to (created if needed); files already there are replaced.
    clips_per_genre : int
        Clips of each genre, numbered 0 to ``clips_per_genre - 1``.
    seconds : float
        Duration of every clip.
    seed : int
        The corpus seed: the same arguments write the same bytes.
    progress : bool
        Show a tqdm progress bar.
    workers : int, optional
        Processes rendering clips in parallel (:func:`specadv.synth.render_clips`;
        each clip depends only on its genre, number, duration and seed, so the bytes
        do not depend on it). Default: one per CPU core, up to 16, for corpora of 40
        clips or more; else 1. Works from any caller, a script without an ``if
        __name__ == "__main__":`` guard included.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    ValueError
        ``clips_per_genre`` below 1, or a duration or seed the generator refuses.

    See Also
    --------
    specadv.synth.render_clip : one clip as an array.
    load_corpus : reads the folder back.
    """
    import contextlib

    from specadv.synth import clip_name, render_clips

    if clips_per_genre < 1:
        raise ValueError(f"clips_per_genre must be at least 1 (got {clips_per_genre})")
    out = Path(out_dir)
    jobs = [(g, i, seconds, seed) for g in GENRES for i in range(clips_per_genre)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="embedded corpus", unit="clip")
    try:
        with contextlib.closing(render_clips(jobs, workers=workers)) as clips:
            for (genre, index, _, _), y in zip(jobs, clips):
                _write_pcm16_wav(out / genre / clip_name(genre, index), y)
                if bar is not None:
                    bar.update()
    finally:
        if bar is not None:
            bar.close()
    return out


def _write_pcm16_wav(path: Path, y: np.ndarray) -> None:
    """Write float audio in [-1, 1] as a mono 16-bit PCM WAV file at :data:`SAMPLE_RATE`.

    Atomically (:func:`specadv.artifacts.atomic_path`): a reader never sees a partial file.
    """
    import soundfile as sf

    from specadv.artifacts import atomic_path

    pcm = np.round(np.clip(y, -1, 1) * 32767).astype(np.int16)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV")
