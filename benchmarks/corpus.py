"""Speed and difficulty of the embedded corpus (:mod:`specadv.synth`).

1. Speed: writes ``--clips`` clips of ``--seconds`` seconds (spread over the ten
   genres) to a temporary folder as :func:`specadv.data.make_embedded_corpus` does, in this
   one process (one core: numpy and scipy.signal only, no torch), and prints the
   seconds of audio, the wall time and the ratio to real time, overall and per genre.
2. Difficulty: a baseline classifier on a corpus of ``--baseline-clips`` clips per
   genre of ``--baseline-seconds`` seconds: the mean and standard deviation over
   time of the 64-band log-Mel spectrogram (librosa) of each clip, a standardised
   logistic regression (scikit-learn), clip-level stratified ``--folds``-fold
   cross-validation (shuffled, ``random_state=7`` as the paper's folds). Chance is 10%.
3. ``--sanity N``: per genre, over N clips of ``--seconds``, the arranged tempo
   against librosa's beat tracker, the spectral centroid, onsets per second and
   spectral flatness: a check, without ears, that the styles differ as intended.

    python benchmarks/corpus.py                         # about a minute on a laptop
    python benchmarks/corpus.py --clips 50 --seeds 0 1 2 --sanity 4
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from specadv import synth
from specadv.constants import GENRES, SAMPLE_RATE


def time_generation(n_clips: int, seconds: float, seed: int) -> None:
    """Write ``n_clips`` clips (round robin over the genres) and print the speed table."""
    per_genre = {g: 0.0 for g in GENRES}
    counts = {g: 0 for g in GENRES}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for k in range(n_clips):
            genre = GENRES[k % len(GENRES)]
            t0 = time.perf_counter()
            _write_one(Path(tmp), genre, k // len(GENRES), seconds, seed)
            per_genre[genre] += time.perf_counter() - t0
            counts[genre] += 1
        wall = time.perf_counter() - start
    audio = n_clips * seconds
    print(f"\nGeneration: {n_clips} clips x {seconds:g} s, seed {seed}, one process")
    print(f"{'':12s} {'audio s':>9s} {'wall s':>8s} {'x real time':>12s}")
    for g in GENRES:
        if counts[g]:
            audio_s = counts[g] * seconds
            print(f"{g:12s} {audio_s:9.1f} {per_genre[g]:8.2f} {audio_s / per_genre[g]:12.1f}")
    print(f"{'all':12s} {audio:9.1f} {wall:8.2f} {audio / wall:12.1f}")


def _write_one(root: Path, genre: str, index: int, seconds: float, seed: int) -> None:
    """Render and write one clip as :func:`specadv.data.make_embedded_corpus` does."""
    from specadv.data import _write_pcm16_wav

    y = synth.render_clip(genre, index, seconds, seed)
    _write_pcm16_wav(root / genre / synth.clip_name(genre, index), y)


def log_mel_statistics(y: np.ndarray) -> np.ndarray:
    """Mean and standard deviation over time of a 64-band log-Mel spectrogram: 128 numbers."""
    import librosa

    log_mel = np.log(librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, n_mels=64) + 1e-6)
    return np.concatenate([log_mel.mean(axis=1), log_mel.std(axis=1)])


def baseline_accuracy(clips_per_genre: int, seconds: float, seed: int,
                      folds: int) -> tuple[float, float]:
    """Logistic regression on log-Mel statistics, stratified k-fold: accuracy mean and std."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.array([log_mel_statistics(synth.render_clip(g, i, seconds, seed))
                  for g in GENRES for i in range(clips_per_genre)])
    y = np.repeat(np.arange(len(GENRES)), clips_per_genre)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=7)
    scores = cross_val_score(model, x, y, cv=cv)
    return float(scores.mean()), float(scores.std())


def sanity(n: int, seconds: float, seed: int) -> None:
    """Per genre: arranged vs tracked tempo, spectral centroid, onset rate, flatness."""
    import librosa

    print(f"\nSanity: {n} clips x {seconds:g} s per genre, seed {seed}")
    print(f"{'genre':12s} {'bpm':>6s} {'tracked':>8s} {'agree':>6s} {'centroid Hz':>12s} "
          f"{'onsets/s':>9s} {'flatness':>9s} {'rms dBFS':>9s}")
    for g in GENRES:
        rows = []
        for i in range(n):
            y = synth.render_clip(g, i, seconds, seed)
            bpm = synth.clip_info(g, i, seconds, seed).bpm
            tempo = float(np.atleast_1d(librosa.beat.beat_track(y=y, sr=SAMPLE_RATE)[0])[0])
            # agreement up to the usual octave (and, for swing, 2:3) errors of beat trackers
            agree = min(abs(np.log2(tempo / bpm / r)) for r in (0.5, 2 / 3, 1, 1.5, 2)) < 0.06
            rows.append((bpm, tempo, agree,
                         librosa.feature.spectral_centroid(y=y, sr=SAMPLE_RATE).mean(),
                         len(librosa.onset.onset_detect(y=y, sr=SAMPLE_RATE)) / seconds,
                         librosa.feature.spectral_flatness(y=y).mean(),
                         10 * np.log10(np.mean(y.astype(np.float64) ** 2))))
        r = np.array(rows, dtype=float).mean(axis=0)
        print(f"{g:12s} {r[0]:6.1f} {r[1]:8.1f} {r[2]:6.2f} {r[3]:12.0f} {r[4]:9.2f} "
              f"{r[5]:9.3f} {r[6]:9.1f}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=20,
                   help="clips to generate for the speed table (default 20)")
    p.add_argument("--seconds", type=float, default=30.0,
                   help="seconds per clip (default 30, as GTZAN)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="corpus seeds (default 0)")
    p.add_argument("--baseline-clips", type=int, default=20,
                   help="clips per genre of the baseline (default 20)")
    p.add_argument("--baseline-seconds", type=float, default=10.0,
                   help="seconds per baseline clip (default 10)")
    p.add_argument("--folds", type=int, default=3,
                   help="stratified folds of the baseline (default 3)")
    p.add_argument("--no-baseline", action="store_true", help="time the generation only")
    p.add_argument("--sanity", type=int, default=0, metavar="N",
                   help="also print per-genre tempo and spectral figures over N clips per genre")
    args = p.parse_args(argv)
    for seed in args.seeds:
        time_generation(args.clips, args.seconds, seed)
    if not args.no_baseline:
        print(f"\nBaseline: log-Mel mean+std (128 features), logistic regression, "
              f"{args.folds}-fold stratified CV, {args.baseline_clips} clips x "
              f"{args.baseline_seconds:g} s per genre (chance 0.10)")
        for seed in args.seeds:
            t0 = time.perf_counter()
            mean, std = baseline_accuracy(args.baseline_clips, args.baseline_seconds, seed,
                                          args.folds)
            took = time.perf_counter() - t0
            print(f"seed {seed}: accuracy {mean:.3f} +- {std:.3f}  ({took:.0f} s)")
    if args.sanity:
        for seed in args.seeds:
            sanity(args.sanity, args.seconds, seed)


if __name__ == "__main__":
    main()
