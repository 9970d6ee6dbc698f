"""The budget ladder: the whole chain at a ladder of L-infinity budgets, on one fold.

At each budget of ``attacks.ladder_eps`` (and at 0, the clean input), each of the paper's
attacks and the same-budget random-sign control perturb the 2D CNN's input; the perturbed
spectrogram is classified by the 2D CNN, turned into sound, measured against the original
and classified by the 1D CNN (level restored, and as the authors' inverse writes it where
that differs). It runs on ``attacks.ladder_max_segments`` of the fold's test segments drawn
across the fold, stratified by genre (:func:`specadv.data.stratified_subset`), so that the
transfer can be judged where the attack does fool the 2D CNN, not only at the paper's 0.3 dB.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from specadv import artifacts, metrics, precision
from specadv import attacks as atk
from specadv.constants import N_CLASSES
from specadv.data import stratified_subset
from specadv.device import to_device
from specadv.metrics import BATCH_METRICS
from specadv.roundtrip import WAVE, Inversion, classify_audio, probs, representation
from specadv.stages import progress
from specadv.stages.attack import attack_batch

__all__ = ["FoldLadder", "ladder_fold", "ladder_rows", "ladder_budgets", "ladder_attacks",
           "LEVELS"]

LEVELS = ("spec", "wave", "written")
"""What a ladder's probabilities are of: the 2D CNN on the perturbed spectrogram
(``"spec"``), the 1D CNN on its audio with the level restored (``"wave"``) and as the
authors' inverse writes it (``"written"``; the restored audio where the two are the same)."""


def ladder_attacks() -> tuple[str, ...]:
    """What the ladder runs at each budget: the paper's attacks and the random-sign control."""
    return (*atk.attacks_where(paper=True), atk.control_name())


def ladder_budgets(attacks: dict) -> tuple[float, ...]:
    """The ladder's budgets (dB) of a profile's ``attacks`` section: 0 (the clean input) and
    ``attacks.ladder_eps``, ascending, each once."""
    return tuple(sorted({0.0, *(float(e) for e in attacks["ladder_eps"])}))


def ladder_rows(ds, fold: int, attacks: dict) -> np.ndarray:
    """The dataset rows the ladder of fold ``fold`` runs on: ``attacks.ladder_max_segments``
    of its test segments, stratified by genre with ``attacks.seed`` (all where fewer)."""
    test = ds.split(fold)[1]
    return stratified_subset(test, ds.labels[test], attacks["ladder_max_segments"],
                             attacks["seed"])


@dataclass(frozen=True)
class FoldLadder:
    """The budget ladder of one fold's 2D CNN of ``rep``.

    ``idx`` ``(n,)``: the dataset rows it ran on, ``labels`` ``(n,)`` their genres;
    ``eps`` ``(n_eps,)``: the budgets (dB), ascending, the first 0 (every attack's row there
    is the clean input); ``attacks``: the attacks and the control, by name. Per attack:
    ``probs[level][attack]`` ``(n_eps, n, 10)`` for each of :data:`LEVELS` (``"written"``
    is the level-restored audio's where the representation's inverse keeps the level) and
    ``metrics[attack][name]`` ``(n_eps, n)`` of :data:`specadv.metrics.BATCH_METRICS` (the
    reconstruction against the original; ``snr_paper_clean`` and ``attack_db`` against the
    clean reconstruction, NaN and -inf at budget 0); ``linf_db[attack]`` ``(n_eps, n)``: the
    perturbation's L-infinity norm (dB), at most the budget. ``seconds``: the fold's wall
    time on ``device``.
    """

    rep: str
    fold: int
    idx: np.ndarray
    labels: np.ndarray
    eps: np.ndarray
    attacks: tuple
    probs: dict
    metrics: dict
    linf_db: dict
    seconds: float = 0.0
    device: str = "cpu"

    def correct(self, attack: str, level: str = "spec") -> np.ndarray:
        """Right (True) or wrong per budget and segment, ``(n_eps, n)``, of the model at
        ``level`` (:data:`LEVELS`) under ``attack``."""
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}; got {level!r}")
        if attack not in self.attacks:
            raise ValueError(f"the ladder of {self.rep} fold {self.fold + 1} holds no attack "
                             f"{attack!r}; it holds {self.attacks}")
        return self.probs[level][attack].argmax(-1) == self.labels[None, :]

    def accuracy(self, attack: str, level: str = "spec") -> np.ndarray:
        """Segment accuracy (%) per budget, ``(n_eps,)``."""
        return 100 * self.correct(attack, level).mean(axis=1)

    def save(self, entry: artifacts.Entry) -> None:
        artifacts.save_npy(entry.path("idx.npy"), np.asarray(self.idx, np.int64))
        for a in self.attacks:
            for level in LEVELS:
                artifacts.save_npy(entry.path(f"probs_{level}_{a}.npy"), self.probs[level][a])
            for m, v in self.metrics[a].items():
                artifacts.save_npy(entry.path(f"{a}_{m}.npy"), v)
            artifacts.save_npy(entry.path(f"{a}_linf_db.npy"), self.linf_db[a])
        entry.commit(eps=[float(e) for e in self.eps], attacks=list(self.attacks),
                     seconds=self.seconds, device=self.device,
                     precision=precision.INFERENCE_PRECISION)

    @classmethod
    def load(cls, entry: artifacts.Entry, ds, rep: str, fold: int) -> "FoldLadder":
        """The ladder in ``entry`` (of the dataset ``ds``)."""
        info = entry.info()

        def load(name):
            return artifacts.load_npy(entry.path(name))

        idx, names = load("idx.npy"), tuple(info["attacks"])
        return cls(rep, fold, idx, ds.labels[idx], np.asarray(info["eps"]), names,
                   {lv: {a: load(f"probs_{lv}_{a}.npy") for a in names} for lv in LEVELS},
                   {a: {m: load(f"{a}_{m}.npy") for m in BATCH_METRICS} for a in names},
                   {a: load(f"{a}_linf_db.npy") for a in names},
                   info["seconds"], info["device"])


@precision.attack_kernels()
def ladder_fold(ds, rep: str, fold: int, models: dict, attacks: dict, reconstruction: dict,
                device, show_progress: bool = True, idx=None) -> FoldLadder:
    """The ladder of fold ``fold``'s 2D CNN of ``rep``, batch by batch, everything of a
    batch on the device.

    Parameters
    ----------
    ds : the :class:`~specadv.stages.dataset.Dataset`.
    models : target -> model of the fold: ``rep`` (the attacked 2D CNN) and ``"wave"`` (the
        1D CNN) are used.
    attacks : a profile's ``attacks`` section: the budgets (``ladder_eps``), the segments
        (``ladder_max_segments``, ``seed``), and each attack's settings at each budget by
        :func:`specadv.attacks.budget_params` (the step scaled with the budget), with the
        labels, clip and per-segment seeds as the attack stage takes them.
    reconstruction : a profile's ``reconstruction`` section: the inversion, and its
        ``batch_size`` (segments per pass).
    idx : dataset rows to run on; default :func:`ladder_rows`.

    The attacks perturb the stored features, as the attack stage does, and the
    perturbation is added to the features of the audio for the inverse, as the
    reconstruction stage does.
    """
    r, a = representation(rep), attacks
    model, wave = models[rep], models[WAVE]
    inversion, batch_size = Inversion.from_profile(reconstruction), reconstruction["batch_size"]
    idx = np.asarray(ladder_rows(ds, fold, a) if idx is None else idx, dtype=np.int64)
    n, budgets, names = len(idx), ladder_budgets(a), ladder_attacks()
    labels = "true" if a["labels"] == "true" else "predicted"
    x_all = ds.features(rep)
    shape = (len(budgets), n, N_CLASSES)
    out = {lv: {name: np.zeros(shape, np.float32) for name in names} for lv in LEVELS}
    met = {name: {m: np.zeros(shape[:2], np.float32) for m in BATCH_METRICS} for name in names}
    linf = {name: np.zeros(shape[:2], np.float32) for name in names}

    def host(t):
        return t.detach().cpu().numpy()

    t0 = time.perf_counter()
    for lo in progress(range(0, n, batch_size), show_progress,
                       desc=f"ladder {rep} fold {fold + 1}", unit="batch"):
        rows = idx[lo: lo + batch_size]
        at = slice(lo, lo + len(rows))
        w = to_device(ds.waveforms(rows), device)
        clean = r.extract(w)
        x = to_device(np.asarray(x_all[rows], dtype=np.float32), device)
        x_power = metrics.original_power(w)  # once per batch, for every rung
        y_clean = r.inverse(clean.db, clean, inversion)
        for j, eps in enumerate(budgets):
            for name in names if eps > 0 else names[:1]:  # at 0, every attack is the input
                x_adv = x if eps == 0 else atk.attack(
                    model, x, name, atk.budget_params(a, name, eps), labels=labels,
                    y_true=ds.labels[rows], batch_size=attack_batch(a, device),
                    row_seeds=atk.row_seeds(a["seed"], name, rows)).x_adv
                y = y_clean if eps == 0 else r.inverse(clean.db + (x_adv - x), clean, inversion)
                linf[name][j, at] = host((x_adv - x).abs().amax(dim=(-2, -1)))
                out["spec"][name][j, at] = host(probs(model, x_adv))
                out["wave"][name][j, at] = host(classify_audio({WAVE: wave}, y)[WAVE])
                out["written"][name][j, at] = (out["wave"][name][j, at] if r.written is None
                                               else host(probs(wave, r.written(y, clean))))
                for m, v in metrics.batch_metrics(w, y, clean.ref if r.written else None,
                                                  y_clean, x_power).items():
                    met[name][m][j, at] = host(v)
    for name in names[1:]:  # the clean rung, shared (its perturbation is 0: as made)
        for lv in LEVELS:
            out[lv][name][0] = out[lv][names[0]][0]
        for m in BATCH_METRICS:
            met[name][m][0] = met[names[0]][m][0]
    return FoldLadder(rep, fold, idx, ds.labels[idx], np.asarray(budgets), names, out, met,
                      linf, time.perf_counter() - t0, str(device))
