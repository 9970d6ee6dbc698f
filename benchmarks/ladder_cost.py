"""Seconds per segment of the budget ladder (specadv.stages.ladder.ladder_fold) with the demo
profile's model sizes and settings, untrained (the cost does not depend on the weights), on
one thread and synthetic audio (tones and noise): what ``attacks.ladder_max_segments`` costs.

    python benchmarks/ladder_cost.py [segments] [representation ...]
"""
import sys, time
import numpy as np, torch
from specadv.profiles import load_profile
from specadv.models import build_model
from specadv.stages import train
from specadv.stages.ladder import ladder_fold
from specadv.roundtrip import representation, WAVE

torch.set_num_threads(1)
p = load_profile("demo")
n = int(sys.argv[1]) if len(sys.argv) > 1 else 8
rng = np.random.default_rng(0)
t = np.arange(110250) / 22050
audio = np.stack([0.1 * np.sin(2 * np.pi * (110 + 50 * i) * t) + 0.01 * rng.standard_normal(len(t))
                  for i in range(n)]).astype(np.float32)

class DS:
    labels = np.arange(n) % 10
    def __init__(self, rep):
        self._f = representation(rep).extract(torch.from_numpy(audio)).db.numpy().astype(np.float16)
    def features(self, rep): return self._f
    def waveforms(self, rows): return audio[np.asarray(rows)]
    def split(self, fold): return np.arange(0), np.arange(n)

for rep in sys.argv[2:] or ["mel", "stft"]:
    ds = DS(rep)
    models = {rep: build_model("spec2d", seed=0, **train.model_config(p, rep)).eval(),
              WAVE: build_model("wave1d", seed=0, **train.model_config(p, WAVE)).eval()}
    t0 = time.perf_counter()
    f = ladder_fold(ds, rep, 0, models, p["attacks"], p["reconstruction"], torch.device("cpu"), False)
    dt = time.perf_counter() - t0
    print(f"{rep}: {n} segments, {len(f.eps)} budgets x {len(f.attacks)} attacks: {dt:.1f} s, {dt / n:.2f} s/segment", flush=True)
