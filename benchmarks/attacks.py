"""BIM-10 throughput on the 2D CNN: batched vs one segment at a time (as the authors ran it).

Times :func:`specadv.attacks.bim` (eps 0.3 dB, step 0.1 dB, 10 iterations,
predicted labels, unclipped: SPEC's settings) on random dB inputs of the Mel
(64 x 431) and STFT (257 x 431) shapes, in one run, and prints segments per
second of each way and their ratio. It also checks that both ways give the same
adversarial spectrograms.

The default model is a narrow version of the paper's CNN (``--width 8``) so the
run takes about a minute on a laptop CPU; ``--paper`` uses the full model
(width 32, dense 1024 for Mel and 512 for STFT), best on a GPU.

    python benchmarks/attacks.py                      # CPU-sized
    python benchmarks/attacks.py --paper --device cuda --n 256 --batch-size 64
"""
from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from specadv.attacks import BIM_ITERS, BIM_STEP_DB, EPS_DB, bim

N_FRAMES = 431
REPRESENTATIONS = {"mel": 64, "stft": 257}  # frequency bins of each dB input


class _FallbackSpec2DCNN(nn.Module):
    """The paper's 2D CNN, for when ``specadv.models.Spec2DCNN`` is not available."""

    def __init__(self, input_shape=(64, 431), n_classes=10, dense=1024, width=32):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(1, w, 3), nn.ReLU(), nn.BatchNorm2d(w),
            nn.Conv2d(w, w, 3), nn.LeakyReLU(0.2), nn.MaxPool2d(2, 2), nn.Dropout(0.05),
            nn.Conv2d(w, 2 * w, 3), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 2 * w, 3), nn.LeakyReLU(0.2), nn.MaxPool2d(4, 2))
        with torch.no_grad():
            n_flat = self.features(torch.zeros(1, 1, *input_shape)).numel()
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(n_flat, dense), nn.ReLU(),
                                        nn.Dropout(0.8), nn.Linear(dense, n_classes))

    def forward(self, x):
        return self.classifier(self.features(x.unsqueeze(1) if x.dim() == 3 else x))


def build_cnn(n_freq: int, width: int, dense: int) -> tuple[nn.Module, str]:
    """``Spec2DCNN`` from the package when importable, else the fallback; and which one."""
    try:
        from specadv.models import Spec2DCNN
    except ImportError:
        return _FallbackSpec2DCNN((n_freq, N_FRAMES), 10, dense, width), "fallback"
    return Spec2DCNN(input_shape=(n_freq, N_FRAMES), n_classes=10, dense=dense,
                     width=width), "specadv.models.Spec2DCNN"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device: torch.device):
    """Wall time of ``fn()`` and its result."""
    _sync(device)
    t0 = time.perf_counter()
    out = fn()
    _sync(device)
    return time.perf_counter() - t0, out


def bench_one(rep: str, args, device: torch.device) -> dict:
    n_freq = REPRESENTATIONS[rep]
    dense = args.dense_mel if rep == "mel" else args.dense_stft
    torch.manual_seed(args.seed)
    model, source = build_cnn(n_freq, args.width, dense)
    # channels-last weights, as the pipeline loads its 2D CNNs: 2-3x faster convolutions
    model = model.to(device).eval().to(memory_format=torch.channels_last)
    # dB spectrogram values of a top_db=80, ref=max feature
    x = -80.0 * torch.rand(args.n, n_freq, N_FRAMES, device=device)

    def batched():
        return bim(model, x, eps=EPS_DB, step=BIM_STEP_DB, iters=BIM_ITERS,
                   batch_size=args.batch_size)

    def one_at_a_time():
        return torch.cat([bim(model, x[i:i + 1], eps=EPS_DB, step=BIM_STEP_DB,
                              iters=BIM_ITERS) for i in range(args.n)])

    bim(model, x[:min(2, args.n)])  # warm-up (kernel selection, allocator)
    # interleaved, best of each: a shared machine's load hits both ways alike
    t_batched = t_single = float("inf")
    for _ in range(args.repeats):
        t, a = _timed(batched, device)
        t_batched = min(t_batched, t)
        t, b = _timed(one_at_a_time, device)
        t_single = min(t_single, t)
    # float rounding differs between batch sizes and flips the sign of tiny gradients
    differ = int((a != b).sum().item())
    return {"rep": rep, "shape": f"{n_freq}x{N_FRAMES}", "model": source,
            "width": args.width, "dense": dense, "n": args.n,
            "batched": args.n / t_batched, "single": args.n / t_single,
            "speedup": t_single / t_batched, "differ": differ,
            "elements": a.numel(),
            "max_diff": (a - b).abs().max().item()}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--paper", action="store_true",
                        help="the paper's full model: --width 32 --dense-mel 1024 --dense-stft 512")
    parser.add_argument("--width", type=int, default=8, help="channels of the first convolutions")
    parser.add_argument("--dense-mel", type=int, default=128, help="hidden dense units, Mel model")
    parser.add_argument("--dense-stft", type=int, default=64, help="hidden dense units, STFT model")
    parser.add_argument("--n", type=int, default=16, help="segments attacked")
    parser.add_argument("--batch-size", type=int, default=16, help="segments per batched call")
    parser.add_argument("--repeats", type=int, default=2,
                        help="timed runs of each way, interleaved; the best is kept")
    parser.add_argument("--representations", nargs="+", default=list(REPRESENTATIONS),
                        choices=list(REPRESENTATIONS))
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.paper:
        args.width, args.dense_mel, args.dense_stft = 32, 1024, 512
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu")
                          if args.device == "auto" else args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"cpu ({torch.get_num_threads()} threads)"
    print(f"BIM-{BIM_ITERS} (eps {EPS_DB} dB, step {BIM_STEP_DB} dB, predicted labels) "
          f"on {name}, torch {torch.__version__}")

    rows = [bench_one(rep, args, device) for rep in args.representations]
    print(f"model: {rows[0]['model']}, width {args.width}; batch size {args.batch_size}")
    header = (f"{'input':<12}{'dense':>6}{'n':>6}{'batched seg/s':>15}"
              f"{'one-by-one seg/s':>18}{'speedup':>9}{'elements differing':>22}{'max |diff| dB':>15}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['rep'] + ' ' + r['shape']:<12}{r['dense']:>6}{r['n']:>6}"
              f"{r['batched']:>15.2f}{r['single']:>18.2f}{r['speedup']:>8.2f}x"
              f"{str(r['differ']) + ' / ' + str(r['elements']):>22}{r['max_diff']:>15.2g}")
    print("speedup: batched / one-by-one throughput. Elements differing: of the adversarial "
          "inputs of the two ways\n(float rounding differs with the batch size and flips the "
          "sign of near-zero gradients).")
    return rows


if __name__ == "__main__":
    main()
