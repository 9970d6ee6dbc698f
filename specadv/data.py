"""Corpus, folds and segments: GTZAN (or the embedded stand-in) to labelled 5-s windows.

- :func:`load_corpus` finds the ten genre folders of a GTZAN-shaped tree (the
  original ``genres/<genre>/*.au``, the mirrored ``Data/genres_original/<genre>/*.wav``
  or the embedded corpus), checks every file and reports the ones it skips;
- :func:`make_folds` is the authors' clip-level ``StratifiedKFold(3, shuffle=True,
  random_state=7)``;
- :func:`segment` cuts a clip into 5-s windows with 75% overlap by the authors' rule.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SAMPLE_RATE = 22050
WINDOW_SAMPLES = 110250  # 5 s at 22050 Hz
MIN_ENERGY = 1e-5

GENRES: tuple[str, ...] = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal",
                           "pop", "reggae", "rock")
AUDIO_EXTENSIONS = (".wav", ".au", ".flac", ".ogg", ".aif", ".aiff", ".mp3")

__all__ = [
    "GENRES", "SAMPLE_RATE", "WINDOW_SAMPLES", "MIN_ENERGY", "AUDIO_EXTENSIONS",
    "Clip", "Skipped", "Corpus", "CorpusError", "AudioError",
    "read_audio", "find_genre_root", "load_corpus", "make_folds", "segment", "segment_starts",
    "make_embedded_corpus",
]


class CorpusError(ValueError):
    """A corpus folder that cannot be used as it is (the message says what was expected)."""


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


def load_corpus(path, sr: int = SAMPLE_RATE, min_samples: int = WINDOW_SAMPLES,
                progress: bool = False) -> Corpus:
    """Find and check the clips of a GTZAN-shaped folder.

    Every file is read once to check it (the audio is not kept). Files that
    cannot be used are listed in ``Corpus.skipped`` with the reason, never fatal:
    unreadable or empty audio, non-finite samples, files that are not audio,
    clips shorter than ``min_samples`` (one 5-s window by default).

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
    files = [(g, f) for g in GENRES if (genre_root / g).is_dir()
             for f in sorted((genre_root / g).iterdir()) if f.is_file()]
    if progress:
        from tqdm.auto import tqdm

        files = tqdm(files, desc="checking clips", unit="clip")
    for genre, f in files:
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


def segment_starts(n_samples: int, window: int = WINDOW_SAMPLES, overlap: float = 0.75) -> np.ndarray:
    """Start samples of the windows of a clip of ``n_samples`` samples, by the authors' rule.

    ``max(1, ceil((n_samples - window) / hop))`` windows with ``hop = window * (1 - overlap)``
    (27562.5 samples), window ``i`` starting at ``i * int(hop)``: a clip of 661794
    samples gives 21 windows, one of exactly 661500 gives 20.
    """
    hop = window * (1.0 - overlap)
    n = max(1, math.ceil((n_samples - window) / hop))
    return np.arange(n, dtype=np.int64) * int(hop)


def segment(waveform, window: int = WINDOW_SAMPLES, overlap: float = 0.75,
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
    starts = segment_starts(len(y), window, overlap)
    if len(y) < window:
        y = np.pad(y, (0, window - len(y)))
    frames = np.lib.stride_tricks.sliding_window_view(y, window)[starts]
    keep = (frames.astype(np.float64) ** 2).mean(axis=1) > min_energy
    return np.ascontiguousarray(frames[keep]), np.flatnonzero(keep).astype(np.int64)


def make_embedded_corpus(out_dir, clips_per_genre: int = 10, seconds: float = 30.0,
                         seed: int = 0, progress: bool = False) -> Path:
    """Write the embedded procedural corpus: a GTZAN-shaped folder of synthetic music.

    ``<out_dir>/<genre>/<genre>.000NN.wav``, 22050 Hz mono 16-bit, the same bytes
    for the same arguments. See :mod:`specadv.synth` for how the ten styles are made.
    """
    from specadv.synth import write_corpus

    return write_corpus(Path(out_dir), clips_per_genre=clips_per_genre, seconds=seconds,
                        seed=seed, progress=progress)
