"""The search for a CPU-sized training recipe: what was tried, fold by fold.

On a profile's corpus and folds (default: the demo profile's), trains each setting of
:data:`SETTINGS` (a 2D CNN on "mel", "stft" or the authors' "stft_paper" form, or the 1D
CNN on the waveform) on every rotation exactly as the training stage does (validation
clips held out of the training folds, the best validation epoch kept, the model's seed
``train seed + fold``), and prints one row per setting: its accuracy per test fold
(segment level), the mean, the training seconds over the folds (wall and CPU) and,
with ``--bim``, the accuracy under BIM at the paper's budget (eps 0.3 dB, step 0.1,
10 iterations), the baselines' too. The linear baseline of each spectrogram
(:func:`specadv.baseline.linear_baseline_folds`: per-band mean and std over time,
StandardScaler, logistic regression C=0.1) is the first rows: a CNN that does not beat
it has learned no more than each band's level and spread.

    python benchmarks/recipes.py                  # every setting, 3 folds (about an hour)
    python benchmarks/recipes.py --quick          # the demo profile's recipe and the baselines
    python benchmarks/recipes.py --only mel-meanstd-w16 --folds 0 --bim
    python benchmarks/recipes.py --list           # the settings' names and what they change

Seconds are wall time of :func:`specadv.training.train` (and CPU time: the two differ when
other processes share the cores). ``--json`` writes the table with the machine's details.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from specadv import baseline, training  # noqa: E402
from specadv.models import build_model  # noqa: E402

INPUTS = ("mel", "stft", "stft_paper", "wave")
# the paper's BIM (predicted labels, no clip), on the CNNs and on the linear baseline alike
PAPER_BIM = {"labels": "predicted", "clip": False, "bim": {"eps": 0.3, "step": 0.1,
                                                            "iters": 10}}


@dataclass(frozen=True)
class Setting:
    """One recipe: an input, the model's constructor arguments and the training's.

    ``model`` and ``train`` override :func:`base_model` / :func:`base_train` (the demo
    profile's settings before the search)."""

    name: str
    input: str
    note: str
    model: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    quick: bool = False  # in the --quick subset: the profile's own recipe


def base_model(inp: str, shape) -> tuple[str, dict]:
    """The demo profile's models before the search (issue 17's starting point)."""
    if inp == "wave":
        return "wave1d", dict(n_samples=shape[-1], width=8, dense=[64, 32], pooling="avg",
                              bn_momentum=0.1)
    return "spec2d", dict(input_shape=list(shape[1:]), width=8 if inp == "mel" else 4,
                          dense=64, dropout_dense=0.2, bn_momentum=0.1)


def base_train(inp: str) -> dict:
    if inp == "wave":
        return dict(epochs=8, batch_size=16, optimizer="adam", lr=0.003)
    if inp == "mel":
        return dict(epochs=10, batch_size=16, optimizer="adam", lr=1e-4)
    return dict(epochs=6, batch_size=16, optimizer="adam", lr=3e-4)


# The recipe of the demo profile, per input (what --quick runs)
_MS = dict(width=16, dense=64, head="meanstd", input_norm="band", dropout_dense=0.2,
           bn_momentum=0.1)
_ADAM = dict(optimizer="adam", lr=1e-3, batch_size=16)

def _pow(name, inp, note, pool, epochs=20, **model) -> Setting:
    """A setting of the power-pooling search: width 8 (unless ``model`` says), meanstd head,
    Adam one-cycle 3e-3 (``epochs``), ``model`` overriding the rest."""
    return Setting(name, inp, note,
                   model={**_MS, "width": 8, "input_pool": pool, "input_pool_kind": "power",
                          **model},
                   train=dict(_ADAM, lr=3e-3, epochs=epochs, schedule="onecycle"))


SETTINGS: list[Setting] = [
    # -- the demo profile before the search
    Setting("mel-demo-before", "mel", "demo before: width 8, flatten, Adam 1e-4, 10 ep"),
    Setting("stft-demo-before", "stft", "demo before: width 4, flatten, Adam 3e-4, 6 ep"),
    Setting("stft_paper-demo-before", "stft_paper", "as stft-demo-before, authors' form"),
    Setting("wave-demo-before", "wave", "demo before: width 8, avg pooling, Adam 3e-3, 8 ep"),
    # -- leads of the issue
    Setting("mel-flatten-lr1e-3", "mel", "flatten head, Adam 1e-3, 20 ep",
            train=dict(lr=1e-3, epochs=20)),
    Setting("mel-meanstd-w16", "mel", "width 16, mean/std head, dense 64, Adam 1e-3, 12 ep",
            model=dict(width=16, head="meanstd"), train=dict(_ADAM, epochs=12)),
    Setting("mel-meanstd-w16-band", "mel", "+ band norm of the input",
            model=_MS, train=dict(_ADAM, epochs=12)),
    # -- cheaper stems
    Setting("mel-w8-p22-1cyc", "mel", "w8, meanstd, band norm, pool 2x2, onecycle 3e-3, 10 ep",
            model=dict(_MS, width=8, input_pool=[2, 2]),
            train=dict(_ADAM, lr=3e-3, epochs=10, schedule="onecycle")),
    Setting("mel-w8-p22-const", "mel", "as mel-w8-p22-1cyc, constant lr 1e-3",
            model=dict(_MS, width=8, input_pool=[2, 2]), train=dict(_ADAM, epochs=10)),
    Setting("mel-w8-p12-1cyc", "mel", "w8, meanstd, band norm, pool 1x2, onecycle 3e-3, 10 ep",
            model=dict(_MS, width=8, input_pool=[1, 2]),
            train=dict(_ADAM, lr=3e-3, epochs=10, schedule="onecycle")),
    Setting("mel-w16-p24-1cyc", "mel", "w16, meanstd, band norm, pool 2x4, onecycle 3e-3, 10 ep",
            model=dict(_MS, input_pool=[2, 4]),
            train=dict(_ADAM, lr=3e-3, epochs=10, schedule="onecycle")),
    Setting("mel-w16-1cyc", "mel", "w16, meanstd, band norm, onecycle 3e-3, 12 ep",
            model=_MS, train=dict(_ADAM, lr=3e-3, epochs=12, schedule="onecycle")),
    Setting("mel-w16-p12-1cyc", "mel", "w16, meanstd, band norm, pool 1x2, onecycle 3e-3, 12 ep",
            model=dict(_MS, input_pool=[1, 2]),
            train=dict(_ADAM, lr=3e-3, epochs=12, schedule="onecycle")),
    Setting("mel-w8-p12-1cyc20", "mel", "w8, meanstd, band norm, pool 1x2, onecycle 3e-3, 20 ep",
            model=dict(_MS, width=8, input_pool=[1, 2]),
            train=dict(_ADAM, lr=3e-3, epochs=20, schedule="onecycle")),
    Setting("mel-w8-p22-1cyc20", "mel", "w8, meanstd, band norm, pool 2x2, onecycle 3e-3, 20 ep",
            model=dict(_MS, width=8, input_pool=[2, 2]),
            train=dict(_ADAM, lr=3e-3, epochs=20, schedule="onecycle")),
    Setting("stft-w8-p42-1cyc20", "stft", "as mel-w8-p12-1cyc20, pool 4x2 (257 bins -> 64)",
            model=dict(_MS, width=8, input_pool=[4, 2]),
            train=dict(_ADAM, lr=3e-3, epochs=20, schedule="onecycle")),
    Setting("stft_paper-w8-p42-1cyc20", "stft_paper", "as stft-w8-p42-1cyc20, authors' form",
            model=dict(_MS, width=8, input_pool=[4, 2]),
            train=dict(_ADAM, lr=3e-3, epochs=20, schedule="onecycle")),
    Setting("stft-w8-p42max-1cyc20", "stft", "as stft-w8-p42-1cyc20, max pooling 4x2",
            model=dict(_MS, width=8, input_pool=[4, 2], input_pool_kind="max"),
            train=dict(_ADAM, lr=3e-3, epochs=20, schedule="onecycle")),
    Setting("stft_paper-w8-p42max-1cyc20", "stft_paper", "as stft-w8-p42max-1cyc20, authors' form",
            model=dict(_MS, width=8, input_pool=[4, 2], input_pool_kind="max"),
            train=dict(_ADAM, lr=3e-3, epochs=20, schedule="onecycle")),
    Setting("mel-w8-p12max-1cyc20", "mel", "as mel-w8-p12-1cyc20, max pooling 1x2",
            model=dict(_MS, width=8, input_pool=[1, 2], input_pool_kind="max"),
            train=dict(_ADAM, lr=3e-3, epochs=20, schedule="onecycle")),
    Setting("stft_paper-w8-p22max-1cyc20", "stft_paper", "as stft_paper-w8-p42max-1cyc20, "
            "max pooling 2x2", model=dict(_MS, width=8, input_pool=[2, 2], input_pool_kind="max"),
            train=dict(_ADAM, lr=3e-3, epochs=20, schedule="onecycle")),
    Setting("stft_paper-w8-p82max-1cyc20", "stft_paper", "as stft_paper-w8-p42max-1cyc20, "
            "max pooling 8x2", model=dict(_MS, width=8, input_pool=[8, 2], input_pool_kind="max"),
            train=dict(_ADAM, lr=3e-3, epochs=20, schedule="onecycle")),
    Setting("stft-w8-p42max-bs-1cyc20", "stft", "stft-w8-p42max-1cyc20 + band stats to the head",
            model=dict(_MS, width=8, input_pool=[4, 2], input_pool_kind="max", band_stats=True),
            train=dict(_ADAM, lr=3e-3, epochs=20, schedule="onecycle")),
    Setting("stft_paper-w8-p42max-bs-1cyc20", "stft_paper", "as stft-w8-p42max-bs-1cyc20",
            model=dict(_MS, width=8, input_pool=[4, 2], input_pool_kind="max", band_stats=True),
            train=dict(_ADAM, lr=3e-3, epochs=20, schedule="onecycle")),
    Setting("mel-w8-p12max-bs-1cyc20", "mel", "mel-w8-p12max-1cyc20 + band stats to the head",
            model=dict(_MS, width=8, input_pool=[1, 2], input_pool_kind="max", band_stats=True),
            train=dict(_ADAM, lr=3e-3, epochs=20, schedule="onecycle")),
    Setting("mel-w8-p12-flat-1cyc20", "mel", "as mel-w8-p12-1cyc20, the paper's flatten head",
            model=dict(_MS, width=8, input_pool=[1, 2], head="flatten"),
            train=dict(_ADAM, lr=3e-3, epochs=20, schedule="onecycle")),
    Setting("mel-w8-p12-flat-nonorm-1cyc20", "mel", "as mel-w8-p12-flat-1cyc20, no band norm",
            model=dict(_MS, width=8, input_pool=[1, 2], head="flatten", input_norm="none"),
            train=dict(_ADAM, lr=3e-3, epochs=20, schedule="onecycle")),
    # -- pooling in the power domain (every cell of a block gets its share of the gradient),
    #    the authors' form unshifted first, the STFT forms without the band norm
    _pow("mel-w8-p12pow-1cyc20", "mel", "as mel-w8-p12-1cyc20, power pooling 1x2", [1, 2]),
    _pow("mel-w8-p12pow-flat-1cyc20", "mel", "as mel-w8-p12pow-1cyc20, flatten head", [1, 2],
         head="flatten"),
    _pow("stft-w8-p42pow-1cyc20", "stft", "as stft-w8-p42-1cyc20, power pooling 4x2", [4, 2]),
    _pow("stft-w8-p42pow-nonorm-1cyc20", "stft", "as stft-w8-p42pow-1cyc20, no band norm",
         [4, 2], input_norm="none"),
    _pow("stft-w8-p42pow-nonorm-1cyc30", "stft", "as stft-w8-p42pow-nonorm-1cyc20, 30 epochs",
         [4, 2], epochs=30, input_norm="none"),
    _pow("stft-w12-p42pow-nonorm-1cyc20", "stft", "as stft-w8-p42pow-nonorm-1cyc20, width 12",
         [4, 2], width=12, input_norm="none"),
    _pow("stft-w8-p22pow-nonorm-1cyc20", "stft", "as stft-w8-p42pow-nonorm-1cyc20, 2x2",
         [2, 2], input_norm="none"),
    _pow("stft_paper-w8-unshift-p42pow-1cyc20", "stft_paper", "unshift stem (the dB power of "
         "the real part), power pooling 4x2", [4, 2], unshift=True),
    _pow("stft_paper-w8-unshift-p42pow-nonorm-1cyc20", "stft_paper",
         "as stft_paper-w8-unshift-p42pow-1cyc20, no band norm", [4, 2], unshift=True,
         input_norm="none"),
    # -- between the meanstd head and the flatten: each map's mean and std over K stretches
    #    of time (the demo's Mel recipe otherwise): how accuracy trades against BIM
    *[_pow(f"mel-w8-p12pow-ch{k}-1cyc20", "mel", f"the demo's Mel recipe, mean/std over {k} "
           f"stretches of time", [1, 2], head_chunks=k) for k in (4, 8, 16)],
    # -- the paper's own layer list (width 32, flatten, dense 1024, dropout 0.8, Keras' batch
    #    norm momentum) with the demo's optimiser: is the paper's model fragile on this corpus?
    Setting("mel-paper-layers-1cyc20", "mel", "the paper's layers (w32, flatten, dense 1024, "
            "dropout 0.8), Adam onecycle 1e-3, 20 ep",
            model=dict(width=32, dense=1024, dropout_dense=0.8, bn_momentum=0.01),
            train=dict(_ADAM, lr=1e-3, epochs=20, schedule="onecycle")),
    # -- the 1D CNN
    Setting("wave-w8-ms-s4-1cyc20", "wave", "w8, mean/std pooling, first stride 4, dropout 0.1, "
            "onecycle 5e-3, 20 ep", model=dict(pooling="meanstd", dropout=0.1, first_stride=4),
            train=dict(_ADAM, lr=5e-3, epochs=20, schedule="onecycle")),
    Setting("wave-w8-ms-1cyc20", "wave", "w8, mean/std pooling, dropout 0.1, onecycle 5e-3, 20 ep",
            model=dict(pooling="meanstd", dropout=0.1),
            train=dict(_ADAM, lr=5e-3, epochs=20, schedule="onecycle")),
    Setting("wave-w8-ms-1cyc", "wave", "w8, mean/std pooling, onecycle 3e-3, 12 ep",
            model=dict(pooling="meanstd"),
            train=dict(_ADAM, lr=3e-3, epochs=12, schedule="onecycle")),
    Setting("wave-w16-ms-1cyc", "wave", "w16, dense 128/64, mean/std pooling, onecycle 3e-3, 12 ep",
            model=dict(width=16, dense=[128, 64], pooling="meanstd"),
            train=dict(_ADAM, lr=3e-3, epochs=12, schedule="onecycle")),
    Setting("wave-w8-avg-1cyc", "wave", "w8, avg pooling, onecycle 3e-3, 12 ep",
            train=dict(_ADAM, lr=3e-3, epochs=12, schedule="onecycle")),
]


def profile_settings(profile) -> list[Setting]:
    """The recipe a profile trains (its ``model*`` and ``train*`` sections), one setting
    per input: what ``--quick`` runs."""
    from specadv.profiles import load_profile
    from specadv.stages.train import model_config, train_config

    p = profile if isinstance(profile, dict) else load_profile(profile)
    out = []
    for inp in INPUTS:
        t = train_config(p, inp)
        out.append(Setting(
            f"{inp}-{p['name']}-profile", inp, f"the {p['name']} profile's recipe",
            model=model_config(p, inp),
            train=dict(epochs=t.epochs, batch_size=t.batch_size, optimizer=t.optimizer,
                       lr=t.learning_rate, schedule=t.schedule,
                       validation_fraction=t.validation_fraction, seed=t.seed),
            quick=True))
    return out


# -- data -------------------------------------------------------------------------------
class Inputs:
    """The profile's dataset and each input's array, computed once per run folder."""

    def __init__(self, profile: str, runs_dir: str, progress: bool, corpus=None):
        from specadv.pipeline import Run
        from specadv.profiles import load_profile

        overrides = {}
        if corpus:
            overrides["corpus"] = {"clips_per_genre": int(corpus[0]), "seconds": float(corpus[1])}
        self.run = Run(load_profile(profile, **overrides), runs_dir=runs_dir, progress=progress)
        self.ds = self.run.dataset()
        self.progress = progress
        self._cache: dict = {}

    def __call__(self, inp: str):
        from specadv.roundtrip import REPRESENTATIONS
        from specadv.stages.dataset import SegmentAudio

        if inp in self._cache:
            return self._cache[inp]
        if inp not in INPUTS:
            raise ValueError(f"unknown input {inp!r}; expected one of {INPUTS}")
        if inp == "wave":
            x = np.asarray(SegmentAudio(self.ds)[:], dtype=np.float32)
        elif inp in REPRESENTATIONS and self.ds.entry.path(f"{inp}.npy").exists():
            x = np.asarray(self.ds.features(inp), dtype=np.float16)
        else:  # a dataset written before the representation was registered
            x = self._stft_paper()
        self._cache[inp] = x
        return x

    def _stft_paper(self) -> np.ndarray:
        import torch

        from specadv.features import stft_paper_db

        path = self.ds.entry.folder / "stft_paper_recipes.npy"
        if path.exists():
            return np.load(path)
        w = self.ds.waveforms(np.arange(len(self.ds)))
        db = np.concatenate([stft_paper_db(torch.from_numpy(w[lo: lo + 64]))[0].numpy()
                             for lo in range(0, len(w), 64)]).astype(np.float16)
        np.save(path, db)
        return db

    def splits(self):
        return [self.ds.split(k) for k in range(self.ds.n_folds)]


# -- one setting ------------------------------------------------------------------------
@dataclass
class Row:
    name: str
    note: str
    acc: list
    seconds: float = float("nan")
    cpu_seconds: float = float("nan")
    bim: list = field(default_factory=list)
    best_epochs: list = field(default_factory=list)
    fit_acc: list = field(default_factory=list)  # training accuracy at the kept epoch
    val_acc: list = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.acc)) if self.acc else float("nan")


def train_setting(data: Inputs, s: Setting, folds, bim: bool = False, progress=False,
                  threads: int | None = None) -> Row:
    """Train ``s`` on each rotation of ``folds`` as the training stage does."""
    import torch

    from specadv import attacks

    x, ds = data(s.input), data.ds
    kind, mc = base_model(s.input, x.shape)
    mc.update(s.model)
    tc = training.TrainConfig(**{**base_train(s.input), **s.train, "validation_by": "clip",
                                 "device": "cpu", "cpu_threads": threads})
    row = Row(s.name, s.note, [], 0.0, 0.0)
    for fold in folds:
        train_idx, test_idx = ds.split(fold)
        fit_pos, val_pos = training.validation_split(
            ds.seg_clip[train_idx], ds.labels[train_idx], tc.validation_fraction,
            by=tc.validation_by, seed=tc.seed)
        model = build_model(kind, seed=tc.seed + fold, **mc)
        t0, c0 = time.perf_counter(), time.process_time()
        result = training.train(model, x, ds.labels, train_idx[fit_pos], train_idx[val_pos],
                                tc, progress=progress)
        row.seconds += time.perf_counter() - t0
        row.cpu_seconds += time.process_time() - c0
        row.best_epochs.append(result.best_epoch)
        row.fit_acc.append(result.history["accuracy"][result.best_epoch - 1])
        row.val_acc.append(result.best_val_accuracy)
        probs = training.predict(model, x, test_idx, batch_size=64)
        row.acc.append(float(np.mean(probs.argmax(1) == ds.labels[test_idx])))
        if bim and kind == "spec2d":
            xt = torch.from_numpy(np.asarray(x[test_idx], dtype=np.float32))
            model.eval()
            adv = attacks.attack(model, xt, "bim", attacks.attack_params(PAPER_BIM, "bim"),
                                 batch_size=64).x_adv
            with torch.no_grad():
                pred = torch.cat([model(adv[i:i + 64]).argmax(1) for i in range(0, len(adv), 64)])
            row.bim.append(float(np.mean(pred.numpy() == ds.labels[test_idx])))
    return row


def baseline_rows(data: Inputs, inputs, folds, bim: bool = False) -> list[Row]:
    rows = []
    splits = [data.ds.split(k) for k in folds]
    for inp in inputs:
        if inp == "wave":
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        acc = baseline.linear_baseline_folds(data(inp), data.ds.labels, splits)
        row = Row(f"{inp}-linear-baseline", "per-band mean+std, logistic C=0.1",
                  acc.tolist(), time.perf_counter() - t0, time.process_time() - c0)
        if bim:  # the same BIM as the CNNs' (seconds: the fit only)
            row.bim = baseline.linear_baseline_attacked(
                data(inp), data.ds.labels, splits, PAPER_BIM, names=("bim",))["bim"].tolist()
        rows.append(row)
    return rows


def format_table(rows: list[Row], folds) -> str:
    head = (f"{'setting':<28} " + " ".join(f"fold{k + 1:<2}" for k in folds)
            + "   mean   wall_s    cpu_s   BIM mean  fit/val at kept epoch   what")
    lines = [head, "-" * len(head)]
    for r in rows:
        accs = " ".join(f"{100 * a:5.1f}" for a in r.acc)
        bim = f"{100 * np.mean(r.bim):6.1f}" if r.bim else "     -"
        kept = " ".join(f"{e}:{100 * a:.0f}/{100 * v:.0f}"
                        for e, a, v in zip(r.best_epochs, r.fit_acc, r.val_acc)) or "-"
        lines.append(f"{r.name:<28} {accs}  {100 * r.mean:5.1f}  {r.seconds:7.1f}  "
                     f"{r.cpu_seconds:7.1f}    {bim}   {kept:<21} {r.note}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="demo", help="whose corpus and folds (default demo)")
    ap.add_argument("--runs-dir", default=os.environ.get("SPECADV_RUNS", "/tmp/recipes_runs"))
    ap.add_argument("--corpus", nargs=2, metavar=("CLIPS", "SECONDS"),
                    help="the embedded corpus' clips per genre and seconds per clip, in "
                         "place of the profile's")
    ap.add_argument("--quick", action="store_true",
                    help="the profile's own recipe (every input) and the baselines")
    ap.add_argument("--only", nargs="*", help="settings by name (see --list)")
    ap.add_argument("--folds", nargs="*", type=int, help="test folds, 0-based (default all)")
    ap.add_argument("--bim", action="store_true", help="also BIM accuracy of each 2D CNN")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--progress", action="store_true", help="per-epoch bars")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    ap.add_argument("--json", help="write the table here")
    args = ap.parse_args(argv)
    if args.list:
        for s in SETTINGS + profile_settings(args.profile):
            print(f"{s.name:<28} {'quick ' if s.quick else '      '}{s.note}")
        return 0
    settings = SETTINGS + profile_settings(args.profile)
    chosen = [s for s in settings if (not args.only or s.name in args.only)
              and (not args.quick or s.quick)]
    unknown = set(args.only or ()) - {s.name for s in settings}
    if unknown:
        ap.error(f"unknown settings {sorted(unknown)}; see --list")
    from tqdm.auto import tqdm

    data = Inputs(args.profile, args.runs_dir, progress=False, corpus=args.corpus)
    folds = args.folds if args.folds else list(range(data.ds.n_folds))
    rows = [] if args.no_baseline else baseline_rows(
        data, sorted({s.input for s in chosen}, key=INPUTS.index), folds, bim=args.bim)
    if rows:
        print(format_table(rows, folds), flush=True)
    for s in tqdm(chosen, desc="settings", unit="setting"):
        rows.append(train_setting(data, s, folds, bim=args.bim, progress=args.progress,
                                  threads=args.threads))
        tqdm.write(format_table(rows[-1:], folds).splitlines()[-1])
    print()
    c = data.run.profile["corpus"]
    print(f"profile {args.profile}, corpus {c['clips_per_genre']} clips x {c['seconds']} s per "
          f"genre, {len(data.ds)} segments, folds {[k + 1 for k in folds]}, "
          f"{os.cpu_count()} CPU cores, torch threads {args.threads or os.cpu_count()}")
    print(format_table(rows, folds))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "profile": args.profile, "folds": folds, "machine": platform.platform(),
            "cpu_count": os.cpu_count(),
            "rows": [dict(r.__dict__, mean=r.mean) for r in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
