"""Beyond the paper, on a subset of each fold's test segments: the reconstruction-aware
attack (:func:`aware_fold`) and the sweep of Mel inversions (:func:`inversion_fold`)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from specadv import artifacts, metrics, precision
from specadv import attacks as atk
from specadv.constants import HOP_LENGTH, N_CLASSES, N_FFT, SAMPLE_RATE
from specadv.data import stratified_subset
from specadv.device import Timer, to_device
from specadv.metrics import BATCH_METRICS
from specadv.roundtrip import Inversion, classify_audio, probs, representation
from specadv.stages import progress

__all__ = ["FoldAware", "aware_fold", "FoldInversion", "inversion_fold", "inversion_variants",
           "subset_positions", "AWARE_BATCH"]

AWARE_BATCH = 8  # segments per pass of the reconstruction-aware attack, unless the profile's
# beyond.aware_batch_size says otherwise (GPU profiles: larger)


def subset_positions(test_idx, labels, n: int, examples, seed: int = 0) -> np.ndarray:
    """Positions in a fold's test segments of the subset: ``n`` drawn across the fold,
    stratified by genre with ``seed`` (:func:`specadv.data.stratified_subset`), plus the
    example segments (dataset rows) that are in the fold. ``labels``: every dataset row's
    genre label."""
    test_idx = np.asarray(test_idx)
    drawn = stratified_subset(test_idx, np.asarray(labels)[test_idx], n, seed)
    ex = [i for i in examples if i in set(test_idx.tolist())]
    return np.flatnonzero(np.isin(test_idx, np.union1d(drawn, np.asarray(ex, dtype=np.int64))))


@dataclass(frozen=True)
class FoldAware:
    """The reconstruction-aware attack on one fold's subset: ``pos`` (positions in the
    fold's test segments), ``idx`` (dataset rows), ``probs_spec`` (the 2D CNN on the
    adversarial spectrogram), ``probs[target]`` on the reconstructed audio, ``metrics``
    (against the clean reconstruction for ``attack_db``), ``seconds`` per segment of each
    attack on this subset (``aware`` and each of the paper's attacks) and the examples' audio."""

    rep: str
    fold: int
    pos: np.ndarray
    idx: np.ndarray
    probs_spec: np.ndarray
    probs: dict
    metrics: dict
    seconds: dict
    example_idx: list
    example_audio: np.ndarray

    def save(self, entry: artifacts.Entry, device: str) -> None:
        for m, v in self.metrics.items():
            artifacts.save_npy(entry.path(f"{m}.npy"), v)
        for t, v in self.probs.items():
            artifacts.save_npy(entry.path(f"probs_{t}.npy"), v)
        artifacts.save_npy(entry.path("probs_spec.npy"), self.probs_spec)
        artifacts.save_npy(entry.path("examples.npy"), self.example_audio)
        entry.commit(seconds_per_segment=self.seconds, example_idx=self.example_idx,
                     device=device, precision=precision.INFERENCE_PRECISION)

    @classmethod
    def load(cls, entry, rep, fold, pos, idx, targets) -> "FoldAware":
        info = entry.info()

        def load(name):
            return artifacts.load_npy(entry.path(name))

        return cls(rep, fold, np.asarray(pos), np.asarray(idx), load("probs_spec.npy"),
                   {t: load(f"probs_{t}.npy") for t in targets},
                   {m: load(f"{m}.npy") for m in BATCH_METRICS}, info["seconds_per_segment"],
                   info["example_idx"], load("examples.npy"))


@precision.attack_kernels()
def aware_fold(ds, rep: str, fold: int, pos, models: dict, attacks: dict, beyond: dict,
               inversion: Inversion, examples, device, show_progress: bool = True) -> FoldAware:
    """The reconstruction-aware attack (:func:`specadv.attacks.reconstruction_aware`) on the
    subset ``pos`` of fold ``fold``, beside FGSM and BIM timed on the same segments.

    ``models``: target -> model (``models[rep]`` is attacked); ``attacks``, ``beyond``: a
    profile's sections of those names.
    """
    import torch

    r, a, b = representation(rep), attacks, beyond
    model = models[rep]
    idx = ds.split(fold)[1][np.asarray(pos)]
    examples = [i for i in examples if i in set(idx.tolist())]
    n, bs = len(idx), int(b.get("aware_batch_size", AWARE_BATCH))
    out = {m: torch.zeros(n, dtype=torch.float64, device=device) for m in BATCH_METRICS}
    prob = {t: torch.zeros((n, N_CLASSES), device=device) for t in models}
    probs_spec = torch.zeros((n, N_CLASSES), device=device)
    ex_audio = torch.zeros((len(examples), ds.window), device=device)
    timer = Timer(device)
    clip = atk.CLIP_DB if a["clip"] else None
    bim = atk.attack_params(a, atk.BIM.name)
    timed = atk.attacks_where(paper=True)  # timed beside it on the same segments
    for lo in progress(range(0, n, bs), show_progress,
                       desc=f"reconstruction-aware {rep} fold {fold + 1}"):
        rows = slice(lo, min(lo + bs, n))
        w = to_device(ds.waveforms(idx[rows]), device)
        clean = r.extract(w)
        x = clean.db
        y = atk.predicted_labels(model, x)
        with timer("aware"):
            x_adv = atk.reconstruction_aware(
                model, x, r, y=y, eps=bim["eps"], step=bim["step"], iters=bim["iters"],
                original_stft=clean.stft, n_iter=b["aware_n_iter"], samples=b["aware_samples"],
                seed=a["seed"], clip=clip)
        for name in timed:
            with timer(name):
                atk.attack(model, x, name, {**atk.attack_params(a, name), "clip": None},
                           labels="true", y_true=y)
        probs_spec[rows] = probs(model, x_adv)
        y_clean = r.inverse(x, clean, inversion)
        y_adv = r.inverse(x_adv, clean, inversion)
        for m, v in metrics.batch_metrics(w, y_adv, clean.ref if r.written else None,
                                          y_clean).items():
            out[m][rows] = v
        for t, p in classify_audio(models, y_adv).items():
            prob[t][rows] = p
        for k, i in enumerate(examples):
            hit = np.flatnonzero(idx[rows] == i)
            if len(hit):
                ex_audio[k] = y_adv[int(hit[0])]

    def host(t):
        return t.cpu().numpy().astype(np.float32)

    seconds = {k: timer.seconds.get(k, 0.0) / max(n, 1) for k in ("aware", *timed)}
    return FoldAware(rep, fold, np.asarray(pos), idx, host(probs_spec),
                     {t: host(v) for t, v in prob.items()},
                     {m: host(v) for m, v in out.items()}, seconds,
                     [int(i) for i in examples], host(ex_audio))


def inversion_variants(reconstruction: dict, gl_iters) -> list[tuple[str, dict]]:
    """The Mel inversions of the sweep: (label, settings of ``mel_to_audio``).

    The profile's reconstruction is the base (librosa's: random start, momentum 0.99,
    32 iterations, NNLS solve); each variant changes one thing: the number of
    Griffin-Lim iterations (``gl_iters``), momentum off, the zero-phase start, the PGHI
    start, the PGHI preset (start, momentum 0.9, 24 iterations), and the clamped
    least-squares Mel-to-linear solve (librosa's result, no NNLS steps).
    """
    from specadv.reconstruction import PGHI_SETTINGS

    base = Inversion.from_profile(reconstruction)
    out = [(f"{n} iterations", replace(base, n_iter=int(n))) for n in gl_iters]
    out += [("momentum off", replace(base, momentum=0.0)),
            ("zero phase start", replace(base, init="zeros")),
            ("PGHI start", replace(base, init="pghi")),
            ("PGHI preset", replace(base, **PGHI_SETTINGS)),
            ("clamped least squares", replace(base, nnls_iter=0))]
    return [(label, v.kwargs()) for label, v in out]


@dataclass(frozen=True)
class FoldInversion:
    """The inversion sweep on one fold's subset: one row per variant (``variant``,
    ``segments``, and per condition ``clean``/``bim``: ``seconds_*`` per segment,
    ``mel_error_*``, ``snr_paper_*``, ``snr_*`` and ``wave_correct_*`` per segment)."""

    fold: int
    pos: np.ndarray
    idx: np.ndarray
    rows: list


@precision.exact_float32()
def inversion_fold(ds, fold: int, pos, delta_bim, wave_model, variants, n_librosa: int,
                   seed: int, device, show_progress: bool = True) -> FoldInversion:
    """Each Mel inversion variant on the subset ``pos`` of fold ``fold``, for the clean and
    the BIM spectrograms (``delta_bim``: the fold's BIM perturbations, all test segments);
    and librosa's ``mel_to_audio``, one segment at a time, on the first ``n_librosa``
    segments (the reference point; 0: none)."""
    import torch

    from specadv.reconstruction import mel_to_audio

    pos = np.asarray(pos)
    idx = ds.split(fold)[1][pos]
    y_true = ds.labels[idx]
    w = to_device(ds.waveforms(idx), device)
    clean = representation("mel").extract(w)
    x, ref = clean.db, clean.ref
    d = to_device(np.asarray(delta_bim[pos], np.float32), device)
    wn = w.cpu().numpy()
    rows = []

    def measure(label, inverse, n=None):
        row = {"variant": label, "segments": int(len(idx) if n is None else n)}
        k = row["segments"]
        for cond, target in (("clean", x), (atk.BIM.name, x + d)):
            target = target[:k]
            timer = Timer(device)
            with timer(cond):
                y = inverse(target, ref[:k])
            row[f"seconds_{cond}"] = timer.seconds[cond] / k
            yn = y.cpu().numpy()
            xo = wn[:k]
            row[f"mel_error_{cond}"] = metrics.mel_error(yn, target.cpu().numpy()).tolist()
            row[f"snr_paper_{cond}"] = metrics.snr_paper(xo, yn).tolist()
            row[f"snr_{cond}"] = metrics.snr(xo, yn).tolist()
            row[f"wave_correct_{cond}"] = (probs(wave_model, y).argmax(1).cpu().numpy()
                                           == y_true[:k]).astype(int).tolist()
        rows.append(row)

    for label, kw in progress(variants, show_progress, desc=f"inversion sweep fold {fold + 1}"):
        measure(label, lambda t, rf, kw=kw: mel_to_audio(t, ref=rf, **kw))
    if n_librosa:
        import librosa

        def librosa_inverse(t, rf):
            mags = (rf[:, None, None] * torch.pow(10.0, t / 10.0)).cpu().numpy()
            # librosa.feature.inverse.mel_to_audio, spelled out to seed its random phase
            # (it draws from numpy's global generator otherwise)
            return torch.from_numpy(np.stack([librosa.griffinlim(
                librosa.feature.inverse.mel_to_stft(m, sr=SAMPLE_RATE, n_fft=N_FFT, power=1.0),
                n_iter=32, hop_length=HOP_LENGTH, n_fft=N_FFT, length=ds.window,
                random_state=seed) for m in mags]).astype(np.float32)).to(device)

        librosa_inverse(x[:1], ref[:1])  # untimed: librosa's numba code compiles on first use
        measure("librosa mel_to_audio (one at a time)", librosa_inverse,
                n=min(n_librosa, len(idx)))
    return FoldInversion(fold, pos, idx, rows)
