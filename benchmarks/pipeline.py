"""The whole pipeline, stage by stage: wall time, throughput and peak memory.

Runs a profile end to end through :class:`specadv.pipeline.Run` in a fresh run
folder (so every stage computes; nothing comes from the project's cache) and
prints, per stage, the wall time, the segments it processed per second, and the
peak host memory (resident set, the process's high-water mark reset before each
stage) and, on CUDA, the peak GPU memory held by tensors
(``torch.cuda.max_memory_allocated``) and by PyTorch's caching allocator
(``torch.cuda.max_memory_reserved``: what the device had to give), and the device's
free memory at the end of the stage (``torch.cuda.mem_get_info``). "n/a" where it
cannot be measured: GPU memory on a CPU run, and the book stage, whose notebook
kernels are separate processes (the cache is emptied, ``torch.cuda.empty_cache``,
before it, so they find the device's memory free). Beside the
stages that the authors ran one segment at a time, a reference measured in the
same run on a sample of the same segments gives the ratio: the authors' way
(librosa features per segment, ``librosa.feature.inverse.mel_to_audio`` per
segment, BIM one segment at a time) against ours, extrapolated to the stage's
segment count.

The table is also written as JSON (``--json``), with the device, the profile,
the commit and the library versions.

    python benchmarks/pipeline.py                           # demo profile, CPU or GPU
    python benchmarks/pipeline.py --profile rehearsal --device cuda --json out.json
    python benchmarks/pipeline.py --profile smoke --book    # also render and build the book
    python benchmarks/pipeline.py --profile rehearsal --stop-after features   # data stage only

Stages: corpus (the embedded corpus is generated), features (segmenting and both
feature sets), 2D training per representation, 1D training, attacks per
representation, reconstruction per representation (every condition, measured and
classified by all models), evaluation (the book's tables, bootstrap intervals
included), the leak table's second set of Mel models, the reconstruction-aware attack
and the Mel inversion sweep (on the profile's ``beyond`` subset) and, with ``--book``,
the notebooks and the book build.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


# -- memory -----------------------------------------------------------------------------------
class PeakMemory:
    """Peak resident memory of this process during a block, in bytes.

    Resets the kernel's high-water mark (``/proc/self/clear_refs``, value 5) at the
    start and reads ``VmHWM`` at the end; where that is unavailable, samples the
    resident set every 20 ms.
    """

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = None

    @staticmethod
    def _status(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def __enter__(self):
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self._reset = True
        except OSError:
            self._reset = False
        if not self._reset:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self._status("VmRSS"))
            except (OSError, KeyError):
                return
            time.sleep(0.02)

    def __exit__(self, *exc):
        if self._reset:
            self.peak = self._status("VmHWM")
        else:
            self._stop.set()
            self._thread.join()
        return False


# -- the authors' way, on a sample ------------------------------------------------------------
def _reference_features(waves: np.ndarray) -> float:
    """Seconds per segment: librosa Mel and STFT dB, one segment at a time."""
    import librosa

    librosa.feature.melspectrogram(y=waves[0], sr=22050, n_fft=512, hop_length=256, n_mels=64)
    t0 = time.perf_counter()  # after one untimed call (filterbank cache, first-call costs)
    for w in waves:
        m = librosa.feature.melspectrogram(y=w, sr=22050, n_fft=512, hop_length=256,
                                           n_mels=64, power=1.0)
        librosa.power_to_db(m, ref=np.max)
        librosa.amplitude_to_db(np.abs(librosa.stft(w, n_fft=512, hop_length=256)), ref=np.max)
    return (time.perf_counter() - t0) / len(waves)


def _reference_mel_inversion(waves: np.ndarray) -> float:
    """Seconds per segment: librosa's mel_to_audio (32 Griffin-Lim iterations), one at a time."""
    import librosa

    mels = [librosa.feature.melspectrogram(y=w, sr=22050, n_fft=512, hop_length=256, n_mels=64,
                                           power=1.0) for w in waves]
    librosa.feature.inverse.mel_to_audio(mels[0], sr=22050, n_fft=512, hop_length=256,
                                         power=1.0, n_iter=1)  # untimed warm-up
    t0 = time.perf_counter()
    for m in mels:
        librosa.feature.inverse.mel_to_audio(m, sr=22050, n_fft=512, hop_length=256, power=1.0,
                                             n_iter=32, length=waves.shape[1])
    return (time.perf_counter() - t0) / len(waves)


def _reference_attack(run, rep: str, rows: np.ndarray) -> float:
    """Seconds per segment for all the profile's attacks, one segment at a time, on the
    fold-1 model (what the stage does in batches, the sweep aside)."""
    import torch

    from specadv import attacks as atk

    fm = run.models(rep)[0]
    x_all = run.dataset().features(rep)
    a = run.profile["attacks"]
    t0 = time.perf_counter()
    for name in run.attack_names:
        params = atk.attack_params(a, name)
        for i in rows:
            x = torch.from_numpy(np.asarray(x_all[[i]], np.float32)).to(run.device)
            atk.attack(fm.model, x, name, params, labels="predicted")
    if run.device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / len(rows)


# -- the benchmark ----------------------------------------------------------------------------
def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _device_name(device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, " \
           f"{torch.get_num_threads()} torch threads)"


def _log(*args):
    print(*args, flush=True)


STEPS = ("features", "training", "attacks", "reconstruction", "evaluation", "beyond")


def run_benchmark(profile: str, device: str | None, runs_dir: Path, data: str | None = None,
                  reference: bool = True, book: bool = False, log=_log,
                  stop_after: str = "beyond") -> dict:
    import torch

    from specadv.pipeline import Run
    from specadv.roundtrip import REPRESENTATIONS

    reps = tuple(REPRESENTATIONS)  # every representation of the registry

    run = Run(profile, data=data, device=device, runs_dir=runs_dir, progress=True)
    cuda = run.device.type == "cuda"
    rows: list[dict] = []

    def stage(name: str, fn, segments=None, ref_seconds_per_segment=None, reference_name="",
              other_processes: bool = False):
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            out = fn()
            if cuda:
                torch.cuda.synchronize()
            seconds = time.perf_counter() - t0
        n = segments(out) if callable(segments) else segments
        gpu = cuda and not other_processes  # this process's allocator sees the stage's memory
        row = {"stage": name, "seconds": seconds, "segments": n,
               "segments_per_s": (n / seconds) if n else None,
               "peak_host_gb": None if other_processes else mem.peak / 1e9,
               "peak_gpu_gb": torch.cuda.max_memory_allocated() / 1e9 if gpu else None,
               "peak_gpu_reserved_gb": torch.cuda.max_memory_reserved() / 1e9 if gpu else None,
               "gpu_free_gb": torch.cuda.mem_get_info()[0] / 1e9 if gpu else None,
               "reference": reference_name or None, "reference_seconds": None, "speedup": None}
        if ref_seconds_per_segment is not None and n:
            row["reference_seconds"] = ref_seconds_per_segment * n
            row["speedup"] = row["reference_seconds"] / seconds
        rows.append(row)
        log(f"[benchmark] {name}: {seconds:.1f} s")
        return out

    t_all = time.perf_counter()
    if run.profile["corpus"]["kind"] == "embedded":
        c = run.profile["corpus"]
        stage("corpus (embedded, generated)", run.corpus_path,
              segments=None)
        rows[-1]["clips"] = 10 * c["clips_per_genre"]
    ds = stage("features (segments, Mel + STFT)", run.dataset, segments=len)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(len(ds), size=min(16, len(ds)), replace=False))
    waves = ds.waveforms(sample)
    if reference:  # the stage has run: time the reference on its segments now
        rows[-1]["reference"] = "librosa, one segment at a time"
        rows[-1]["reference_seconds"] = _reference_features(waves) * len(ds)
        rows[-1]["speedup"] = rows[-1]["reference_seconds"] / rows[-1]["seconds"]

    def summary():
        return {"profile": run.profile.name, "device": _device_name(run.device),
                "gpu_total_gb": torch.cuda.mem_get_info()[1] / 1e9 if cuda else None,
                "commit": _commit(), "torch": torch.__version__,
                "python": platform.python_version(), "segments": len(ds), "clips": len(ds.clips),
                "total_seconds": time.perf_counter() - t_all, "stop_after": stop_after,
                "stages": rows}

    if stop_after == "features":
        return summary()

    def fitted(kind):
        def count(models):
            return sum(len(m.history["loss"]) for m in models) * int(
                0.8 * len(ds) * (ds.n_folds - 1) / ds.n_folds)
        return count

    for rep in reps:
        stage(f"2D training, {rep} (3 folds)", lambda rep=rep: run.models(rep),
              segments=fitted(rep))
    stage("1D training (3 folds)", lambda: run.models("wave"), segments=fitted("wave"))
    if stop_after == "training":
        return summary()
    n_test = len(ds)  # every segment is a test segment once over the folds
    for rep in reps:
        ref = None
        if reference:
            ref = _reference_attack(run, rep, run.models(rep)[0].test_idx[:8])
        stage(f"attacks, {rep} ({', '.join(run.attack_names)}; + sweep)",
              lambda rep=rep: run.attacks(rep), segments=n_test, ref_seconds_per_segment=ref,
              reference_name="the same attacks, one segment at a time (no sweep)" if ref else "")
    if stop_after == "attacks":
        return summary()
    for rep in reps:
        ref = _reference_mel_inversion(waves[:4]) if reference and rep == "mel" else None
        stage(f"reconstruction, {rep} ({len(run.conditions)} conditions, measured, classified)",
              lambda rep=rep: run.reconstructions(rep), segments=n_test * len(run.conditions),
              ref_seconds_per_segment=ref,
              reference_name="librosa mel_to_audio, one segment at a time" if ref else "")

    def evaluation():
        from specadv import report

        res = run.results()  # the stage results the tables read (cached above)
        report.summary_table(res)
        for rep in reps:
            report.attack_table(ds, run.models(rep), run.attacks(rep))
            report.round_trip_table(res, rep)
            report.loudness_table(res, rep)
        report.transfer_table(ds, run.models("wave"), {r: run.reconstructions(r) for r in reps})
        report.transfer_stats_table(res)
        report.mcnemar_table(res)

    if stop_after == "reconstruction":
        return summary()
    stage("evaluation (tables, bootstrap intervals)", evaluation, segments=n_test)
    if stop_after == "evaluation":
        return summary()
    stage("2D training, mel, segment-level validation (leak table)",
          lambda: run.models("mel", validation="clip" if run.train_config("mel").validation_by
                             == "segment" else "segment"), segments=fitted("mel"))
    n_subset = sum(len(run.beyond_positions(k)) for k in range(ds.n_folds))
    for rep in reps:
        stage(f"reconstruction-aware attack, {rep} (subset, measured)",
              lambda rep=rep: run.aware(rep), segments=n_subset)
    stage(f"Mel inversion sweep ({len(run.inversion_variants())} variants x clean, BIM; "
          "librosa point)", run.inversion_sweep, segments=n_subset * 2 * len(
              run.inversion_variants()))
    if book:
        from specadv.runner import run as run_book

        os.environ["SPECADV_RUNS"] = str(runs_dir)
        if cuda:
            torch.cuda.empty_cache()  # the notebook kernels are other processes: free it for them
        stage("notebooks + book build (cached stages)",
              lambda: run_book(profile, data, device, log=lambda *_: None), segments=None,
              other_processes=True)
    return summary()


def format_table(result: dict) -> str:
    head = (f"profile {result['profile']} ({result['clips']} clips, {result['segments']} "
            f"segments) on {result['device']}, commit {result['commit']}, torch {result['torch']}")
    if result.get("gpu_total_gb") is not None:
        head += f", {result['gpu_total_gb']:.1f} GB of GPU memory"
    cols = ["stage", "seconds", "segments/s", "host GB", "GPU GB allocated", "GPU GB reserved",
            "GPU GB free after", "reference", "ref. s", "x ref."]
    lines = [head, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]

    def f(v, fmt, missing=""):
        return missing if v is None else format(v, fmt)

    for r in result["stages"]:
        lines.append("| " + " | ".join([
            r["stage"], f(r["seconds"], ".1f"), f(r["segments_per_s"], ".1f"),
            f(r["peak_host_gb"], ".2f", "n/a"), f(r.get("peak_gpu_gb"), ".2f", "n/a"),
            f(r.get("peak_gpu_reserved_gb"), ".2f", "n/a"), f(r.get("gpu_free_gb"), ".2f", "n/a"),
            r["reference"] or "", f(r["reference_seconds"], ".0f"), f(r["speedup"], ".1f")]) + " |")
    host = [r["peak_host_gb"] for r in result["stages"] if r["peak_host_gb"] is not None]
    gpu = [r["peak_gpu_reserved_gb"] for r in result["stages"]
           if r.get("peak_gpu_reserved_gb") is not None]
    peak_host = f(max(host, default=None), ".2f", "n/a")
    peak_gpu = f(max(gpu, default=None), ".2f", "n/a")
    lines.append(f"| total | {result['total_seconds']:.1f} | | {peak_host} | | {peak_gpu} "
                 "| | | | |")
    return "\n".join(lines)


def _with_book_malloc() -> None:
    """Re-run this script under the notebooks' malloc settings (specadv.runner.MALLOC_ENV,
    read by glibc at start-up only), so its stage times are the book's."""
    from specadv.runner import MALLOC_ENV

    missing = {k: v for k, v in MALLOC_ENV.items() if k not in os.environ}
    if missing and os.environ.get("SPECADV_BENCH_REEXEC") != "1":
        os.environ.update(missing, SPECADV_BENCH_REEXEC="1")
        os.execv(sys.executable, [sys.executable, *sys.argv])


def main(argv=None) -> int:
    if argv is None:
        _with_book_malloc()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="demo", help="smoke, demo, paper, rehearsal or a YAML "
                   "file (default demo)")
    p.add_argument("--data", default=None, help="a GTZAN folder (replaces the profile's corpus)")
    p.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"])
    p.add_argument("--runs", default=None, help="run folder to compute in (default: a new "
                   "temporary folder, removed at the end; give one to keep or reuse the cache)")
    p.add_argument("--json", default=None, help="also write the table as JSON here")
    p.add_argument("--no-reference", action="store_true",
                   help="skip the one-segment-at-a-time reference timings")
    p.add_argument("--book", action="store_true",
                   help="also execute the notebooks and build the book on the computed run")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--stop-after", default="beyond", choices=STEPS,
                   help="stop after this group of stages (e.g. 'features' to measure the data "
                   "stage of the rehearsal on a CPU)")
    args = p.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="specadv-bench-") as tmp:
        runs = Path(args.runs) if args.runs else Path(tmp)
        result = run_benchmark(args.profile, args.device, runs, data=args.data,
                               reference=not args.no_reference, book=args.book,
                               stop_after=args.stop_after)
    print()
    print(format_table(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1))
        print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
