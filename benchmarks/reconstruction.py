"""Mel -> audio throughput: specadv vs librosa.feature.inverse.mel_to_audio, same run.

Inverts the dB Mel feature of the same 5-s segments (the paper's ten GTZAN
originals when ``../shared/paper-audio`` is there, else synthetic music-like
signals) with librosa at SPEC's settings (``sr=22050, n_fft=512,
hop_length=256, power=1.0, fmin=0, fmax=sr/2``, 32 Griffin-Lim iterations) and
with :func:`specadv.reconstruction.mel_to_audio`, and prints for each way the
segments per second, SPEC's Mel error beside it (a speed claim holds only at
equal or better Mel error) and the speed ratio to librosa. It also times the
NNLS (Mel -> STFT magnitude) and the Griffin-Lim parts apart.

librosa's Mel error is that of its own random starts (one per timed run), so
the table shows its spread; librosa is timed both one segment at a time (as the
authors ran it) and on the whole batch, and the ratio is taken to the faster.
Runs are interleaved and the best of ``--repeats`` is kept, so that the load of
a shared machine hits every way alike; each way is also timed in CPU seconds of
the process (``seg/CPU-s``), which other processes disturb less. On a machine
whose cores are busy, torch's two OpenMP threads stall at every parallel op
(10-100x slower): use ``--threads 1`` there. Attack throughput is not measured
here (``benchmarks/attacks.py``).

    python benchmarks/reconstruction.py                 # 2 threads, paper audio
    python benchmarks/reconstruction.py --threads 1 --json runs/bench_reconstruction.json
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from specadv.features import SAMPLE_RATE, mel_db
from specadv.metrics import mel_error
from specadv.reconstruction import (GL_ITERS, NNLS_ITERS, PGHI_ITERS, PGHI_MOMENTUM,
                                    PGHI_SETTINGS, SEGMENT_SAMPLES, db_to_amplitude,
                                    griffin_lim, mel_to_audio, mel_to_stft)

PAPER_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "paper-audio"
LIBROSA_KW = dict(sr=SAMPLE_RATE, n_fft=512, hop_length=256, power=1.0, fmin=0,
                  fmax=SAMPLE_RATE / 2, length=SEGMENT_SAMPLES)


def load_segments(n: int, folder: Path, seed: int = 0) -> tuple[np.ndarray, str]:
    """The paper's originals (first ``n``) if present, else ``n`` synthetic segments."""
    files = sorted(folder.glob("*_original.wav")) if folder.is_dir() else []
    if files:
        import soundfile as sf

        x = np.stack([sf.read(f, dtype="float32")[0] for f in files[:n]])
        return x, f"paper originals ({len(x)} GTZAN segments, {folder})"
    rng = np.random.default_rng(seed)
    t = np.arange(SEGMENT_SAMPLES) / SAMPLE_RATE
    out = []
    for _ in range(n):  # a few notes of harmonic tones with vibrato, decays and noise
        y = np.zeros_like(t)
        for start in np.arange(0, 5, 0.5):
            f0 = rng.uniform(80, 660)
            env = np.where(t >= start, np.exp(-4 * (t - start)), 0.0)
            y += env * sum(np.sin(2 * np.pi * h * f0 * t + 2 * np.sin(2 * np.pi * 5 * t)) / h
                           for h in range(1, 8))
        y += 0.02 * rng.standard_normal(t.size)
        out.append(0.5 * y / np.abs(y).max())
    return np.stack(out).astype(np.float32), f"synthetic music-like ({n} segments)"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device: torch.device):
    """Wall and CPU (all threads of this process) seconds of ``fn()``, and its result."""
    _sync(device)
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    _sync(device)
    return time.perf_counter() - t0, time.process_time() - c0, out


def _to_np(y):
    return y.detach().cpu().numpy() if torch.is_tensor(y) else np.asarray(y)


def run(args) -> dict:
    import librosa

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu")
                          if args.device == "auto" else args.device)
    x, source = load_segments(args.n, Path(args.audio), args.seed)
    n = len(x)
    m = mel_db(x)                       # numpy (n, 64, 431), dB re max: the feature
    if args.perturbation_db:            # +-eps sign noise: what an FGSM step looks like
        sign = np.random.default_rng(args.seed).choice([-1.0, 1.0], size=m.shape)
        m = (m + args.perturbation_db * sign).astype(np.float32)
    mel = 10.0 ** (m / 10.0)            # db_to_power: what librosa is given
    m_dev = torch.from_numpy(m).to(device)

    ways = {
        "librosa, one segment at a time": lambda: np.stack(
            [librosa.feature.inverse.mel_to_audio(s, **LIBROSA_KW) for s in mel]),
        "librosa, batched": lambda: librosa.feature.inverse.mel_to_audio(mel, **LIBROSA_KW),
        f"specadv, librosa's settings (random, {GL_ITERS} it.)": lambda: mel_to_audio(m_dev),
        f"specadv, PGHI_SETTINGS ({PGHI_ITERS} it.)": lambda: mel_to_audio(
            m_dev, **PGHI_SETTINGS),
    }
    # the parts apart: NNLS, and Griffin-Lim on the same STFT magnitude
    s_lib = np.stack([librosa.feature.inverse.mel_to_stft(
        s, sr=SAMPLE_RATE, n_fft=512, power=1.0, fmin=0, fmax=SAMPLE_RATE / 2) for s in mel])
    mel_dev = db_to_amplitude(m_dev, multiplier=10.0)
    s_dev = mel_to_stft(mel_dev)
    parts = {
        "NNLS: librosa mel_to_stft (per segment)": lambda: [
            librosa.feature.inverse.mel_to_stft(s, sr=SAMPLE_RATE, n_fft=512, power=1.0,
                                                fmin=0, fmax=SAMPLE_RATE / 2) for s in mel],
        f"NNLS: specadv mel_to_stft ({NNLS_ITERS} steps)": lambda: mel_to_stft(mel_dev),
        f"GL: librosa griffinlim ({GL_ITERS} it., per segment)": lambda: [
            librosa.griffinlim(s, n_iter=GL_ITERS, n_fft=512, hop_length=256,
                               length=SEGMENT_SAMPLES) for s in s_lib],
        f"GL: specadv griffin_lim ({GL_ITERS} it., random)": lambda: griffin_lim(
            s_dev, length=SEGMENT_SAMPLES),
        f"GL: specadv griffin_lim ({PGHI_ITERS} it., PGHI)": lambda: griffin_lim(
            s_dev, **PGHI_SETTINGS, length=SEGMENT_SAMPLES),
    }
    # warm-up: numba JIT of librosa's first call, torch's kernels and caches
    librosa.feature.inverse.mel_to_audio(mel[0], **LIBROSA_KW)
    mel_to_audio(m_dev[:2], n_iter=2)
    mel_to_audio(m_dev[:2], n_iter=2, init="pghi", momentum=PGHI_MOMENTUM)

    best = {k: float("inf") for k in list(ways) + list(parts)}
    best_cpu = dict(best)
    errors = {k: [] for k in ways}
    for r in range(args.repeats):
        order = list(ways) if r % 2 == 0 else list(reversed(ways))
        for k in order:
            t, c, y = _timed(ways[k], device)
            best[k], best_cpu[k] = min(best[k], t), min(best_cpu[k], c)
            errors[k].append(mel_error(_to_np(y), m))   # (n,) per segment
        for k, fn in parts.items():
            t, c, _ = _timed(fn, device)
            best[k], best_cpu[k] = min(best[k], t), min(best_cpu[k], c)

    lib_keys = [k for k in ways if k.startswith("librosa")]
    t_lib = min(best[k] for k in lib_keys)
    c_lib = min(best_cpu[k] for k in lib_keys)
    rows = []
    for k in ways:
        e = np.stack(errors[k])           # (repeats, n)
        run_means = e.mean(axis=1)
        rows.append({"way": k, "seconds": best[k], "segments_per_s": n / best[k],
                     "speedup_vs_librosa": t_lib / best[k],
                     "cpu_seconds": best_cpu[k], "segments_per_cpu_s": n / best_cpu[k],
                     "cpu_speedup_vs_librosa": c_lib / best_cpu[k],
                     "mel_error": float(e.mean()), "mel_error_min_run": float(run_means.min()),
                     "mel_error_max_run": float(run_means.max())})
    part_rows = [{"part": k, "seconds": best[k], "ms_per_segment": 1e3 * best[k] / n,
                  "cpu_ms_per_segment": 1e3 * best_cpu[k] / n} for k in parts]
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"source": source, "n": n, "device": str(device),
            "perturbation_db": args.perturbation_db,
            "threads": torch.get_num_threads(), "repeats": args.repeats,
            "torch": torch.__version__, "librosa": librosa.__version__,
            "load_average": load, "rows": rows, "parts": part_rows}


def print_report(res: dict) -> None:
    print(f"Mel -> audio, {res['n']} x 5-s segments: {res['source']}"
          + (f", Mel feature +-{res['perturbation_db']} dB sign noise"
             if res["perturbation_db"] else ""))
    print(f"device {res['device']}, {res['threads']} torch threads, best of {res['repeats']} "
          f"interleaved runs; torch {res['torch']}, librosa {res['librosa']}; "
          f"load average {res['load_average']}")
    w = max(len(r["way"]) for r in res["rows"]) + 2
    print(f"{'way':<{w}}{'seg/s':>8}{'x librosa':>10}{'seg/CPU-s':>11}{'x librosa':>10}"
          f"{'Mel error':>11}{'(runs: min-max)':>17}")
    for r in res["rows"]:
        spread = f"{r['mel_error_min_run']:.4f}-{r['mel_error_max_run']:.4f}"
        print(f"{r['way']:<{w}}{r['segments_per_s']:>8.2f}{r['speedup_vs_librosa']:>9.1f}x"
              f"{r['segments_per_cpu_s']:>11.2f}{r['cpu_speedup_vs_librosa']:>9.1f}x"
              f"{r['mel_error']:>11.4f}{spread:>17}")
    print(f"{'parts':<{w}}{'wall ms/seg':>18}{'CPU ms/seg':>13}")
    for p in res["parts"]:
        print(f"  {p['part']:<{w - 2}}{p['ms_per_segment']:>18.2f}{p['cpu_ms_per_segment']:>13.2f}")
    print("seg/s: wall clock; seg/CPU-s: per CPU-second of all this process's threads (less "
          "sensitive to other processes on a shared machine). x librosa: to the faster "
          "librosa way. Mel error: relative L2 of the reconstruction's Mel vs the Mel "
          "inverted from, both normalised to their maximum (SPEC). Attack throughput: "
          "benchmarks/attacks.py.")


def _warn_if_busy(threads: int) -> None:
    """torch's OpenMP threads stall on a machine whose cores other processes hold."""
    if not hasattr(os, "getloadavg"):
        return
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if threads > 1 and load > 0.5:
        print(f"warning: load average {load:.1f} on {cores} cores before the run: with "
              f"{threads} torch threads each parallel op waits for a core that another "
              "process holds (seen: 10-100x slower); --threads 1 and the seg/CPU-s "
              "columns are the robust comparison on a shared machine")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--n", type=int, default=10,
                        help="segments (the paper's ten originals when present)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs of each way, interleaved; the best is kept")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (0: leave)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--audio", default=str(PAPER_AUDIO),
                        help="folder of *_original.wav segments; synthetic if absent")
    parser.add_argument("--perturbation-db", type=float, default=0.0,
                        help="add +-this many dB of sign noise to the Mel feature (FGSM-like)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the synthetic segments and of the sign noise")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)
    _warn_if_busy(args.threads or torch.get_num_threads())
    res = run(args)
    print_report(res)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
