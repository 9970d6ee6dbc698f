"""Feature extraction throughput: specadv (batched torch) against librosa, same segments.

Prints segments/s of the Mel dB (64 x 431) and STFT dB (257 x 431) features computed by
``specadv.features`` on batches, and by librosa one segment at a time (the reference),
with the speed ratio and the largest difference in dB.

    python benchmarks/features.py [--n 64] [--batch 64] [--device cpu|cuda]
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=64, help="number of 5-s segments (default 64)")
    p.add_argument("--batch", type=int, default=64, help="specadv batch size")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    import librosa
    import torch

    from specadv.features import mel_db, stft_db
    from specadv.synth import render_clip
    from specadv.data import GENRES, segment

    segs = np.concatenate([segment(render_clip(GENRES[i % 10], i, 10.0, args.seed))[0]
                           for i in range((args.n + 3) // 4)])[: args.n]
    x = torch.from_numpy(segs).to(args.device)

    def ours():
        out = []
        for lo in range(0, len(x), args.batch):
            m = mel_db(x[lo: lo + args.batch])
            s = stft_db(x[lo: lo + args.batch])[0]
            out.append((m.cpu().numpy(), s.cpu().numpy()))
        return np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out])

    def ref():
        m = [librosa.power_to_db(librosa.feature.melspectrogram(
            y=y, sr=22050, n_fft=512, hop_length=256, n_mels=64, power=1.0, fmin=0,
            fmax=11025), ref=np.max) for y in segs]
        s = [librosa.amplitude_to_db(np.abs(librosa.stft(y, n_fft=512, hop_length=256)),
                                     ref=np.max) for y in segs]
        return np.stack(m), np.stack(s)

    ours(); ref()  # warm up (librosa's first call compiles with numba)
    t = time.perf_counter(); (m1, s1) = ours(); t_ours = time.perf_counter() - t
    t = time.perf_counter(); (m2, s2) = ref(); t_ref = time.perf_counter() - t
    print(f"{args.n} segments of 5 s, torch threads {torch.get_num_threads()}, device {args.device}")
    print(f"{'implementation':<34}{'segments/s':>12}{'ratio':>8}{'max |diff| dB':>15}")
    print(f"{'librosa (reference, per segment)':<34}{args.n / t_ref:12.1f}{1.0:8.2f}{'-':>15}")
    print(f"{'specadv (batched torch)':<34}{args.n / t_ours:12.1f}{t_ref / t_ours:8.2f}"
          f"{max(np.abs(m1 - m2).max(), np.abs(s1 - s2).max()):15.4f}")


if __name__ == "__main__":
    main()
