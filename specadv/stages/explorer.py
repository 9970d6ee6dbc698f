"""The explorer's states: one segment attacked by the 2D CNN of its fold at an attack and a
budget, turned back into sound and classified; and the grid of them the static book shows.

- :func:`attack_segments` is the computation: segments attacked by the 2D CNN of their
  fold at several attacks and budgets, turned into sound and classified (arrays in,
  tensors out); :func:`explore` is one state of it, for the live explorer
  (:mod:`specadv.explorer`).
- :func:`compute_grid` precomputes every state the static book shows (each genre's
  example segment x each representation x :data:`GRID_ATTACKS` x :data:`GRID_EPS_DB`),
  an :class:`ExplorerGrid`; :func:`grid` caches it in the run folder like the other
  stages, under the key :func:`grid_key` makes. :mod:`specadv.report.explorer_static`
  renders it as a page that needs no kernel.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, fields

import numpy as np
import torch

from specadv import artifacts, metrics, precision
from specadv import attacks as atk
from specadv import roundtrip as rt
from specadv.constants import GENRES
from specadv.data import FOLD_TRAIN
from specadv.device import to_device
from specadv.roundtrip import REPRESENTATIONS, WAVE, Inversion

ATTACK_CHOICES = tuple(atk.ATTACKS)
"""The live explorer's list: the registered attacks (at import; :func:`explore` takes any
registered one)."""
GRID_ATTACKS = (*atk.attacks_where(paper=True), atk.control_name())
"""The attacks of the static grid: the paper's two and the same-budget random-sign control."""
GRID_EPS_DB = (0.1, 0.3, 1.0)
"""The budgets of the static grid (dB); 0.3 is the paper's."""
GRID_AUDIO_EXAMPLES = 1
"""Genres (the first of :meth:`Run.examples`: the example the live explorer opens on)
whose every state keeps its audio in the grid. A 5-s player is about 0.22 MB of WAV and a
genre has ``1 + R + R * 3 * 3`` of them (31 with three representations, 6.8 MB); the
other genres show spectrograms and predictions only, which keeps the page near 10 MB."""
__all__ = ["ExplorerResult", "ExplorerGrid", "explore", "attack_segments", "compute_grid",
           "grid", "grid_key", "ATTACK_CHOICES", "GRID_ATTACKS", "GRID_EPS_DB",
           "GRID_AUDIO_EXAMPLES"]


@dataclass(frozen=True)
class ExplorerResult:
    """What the explorer shows for one choice."""

    segment: int
    clip_id: str
    genre: str
    representation: str
    attack: str
    eps: float
    fold: int
    x: np.ndarray  # clean dB feature (F, T)
    x_adv: np.ndarray  # adversarial dB feature (F, T)
    original: np.ndarray  # waveform (window,)
    reconstructed_clean: np.ndarray
    reconstructed_adv: np.ndarray
    pred2d_clean: str
    pred2d_adv: str
    pred1d_original: str
    pred1d_clean: str
    pred1d_adv: str

    @property
    def linf_db(self) -> float:
        return float(np.abs(self.x_adv - self.x).max())


def _check_choice(attack: str, eps: float) -> None:
    if attack not in atk.ATTACKS:
        raise ValueError(f"attack must be one of {tuple(atk.ATTACKS)}; got {attack!r}")
    if eps < 0:
        raise ValueError(f"eps must be non-negative; got {eps}")


def _test_fold(ds, segment: int) -> int:
    if not 0 <= segment < len(ds):
        raise IndexError(f"segment {segment} outside the dataset's {len(ds)} segments")
    fold = int(ds.folds[segment])
    if fold < 0:
        raise ValueError(f"segment {segment} is in the filtered split's "
                         f"{'train' if fold == FOLD_TRAIN else 'validation'} list, not a test "
                         "segment: choose one of the test list (Dataset.split(0)[1])")
    return fold


def attack_segments(m2d, m1d, rep: str, w, labels, segments, attacks, eps_db,
                    attacks_profile: dict, inversion) -> dict:
    """Attack a batch of segments with one 2D CNN at every (attack, eps), invert every
    clean and adversarial spectrogram to audio and classify it.

    Parameters
    ----------
    m2d, m1d : the 2D CNN of ``rep`` and the 1D CNN of the segments' fold.
    rep : a representation's name (:data:`specadv.roundtrip.REPRESENTATIONS`).
    w : tensor ``(n, samples)``, the segments' audio on the models' device.
    labels : int array ``(n,)``, their true genres; segments : their dataset rows
        (which seed the random-sign pattern and PGD's start).
    attacks, eps_db : the attacks (of :data:`ATTACK_CHOICES`) and budgets (dB); the
        iterative attacks' step is ``eps / 3`` (:func:`specadv.attacks.budget_params`).
    attacks_profile : a profile's ``attacks`` section; inversion : the Mel inversion
        (:class:`specadv.roundtrip.Inversion`).

    Returns
    -------
    dict of tensors, ``k = len(attacks) * len(eps_db)`` states per segment, attack-major:
    ``x`` ``(n, F, T)``, ``x_adv`` ``(n, k, F, T)`` (dB), ``y_clean`` ``(n, samples)``,
    ``y_adv`` ``(n, k, samples)`` (audio), ``pred2d_clean`` ``(n,)``, ``pred2d_adv``
    ``(n, k)``, ``pred1d_original`` ``(n,)``, ``pred1d_clean`` ``(n,)``, ``pred1d_adv``
    ``(n, k)`` (genre indices).
    """
    a = attacks_profile
    r = rt.representation(rep)
    n, k = len(segments), len(attacks) * len(eps_db)
    clean = r.extract(w)
    x = clean.db
    x_adv = []
    for name in attacks:
        _check_choice(name, 0.0)
        seeds = atk.row_seeds(a["seed"], name, segments)
        for eps in eps_db:
            _check_choice(name, eps)
            x_adv.append(x if eps == 0 else atk.attack(
                m2d, x, name, atk.budget_params(a, name, eps), labels=a["labels"],
                y_true=labels, row_seeds=seeds).x_adv)
    x_adv = torch.stack(x_adv, 1) if x_adv else x.new_zeros((n, 0, *x.shape[1:]))
    # one inversion for all states (the Mel's random start is the same field for every
    # item of a batch, so each state equals its inversion alone)
    every = torch.cat([x[:, None], x_adv], 1).reshape(n * (k + 1), *x.shape[1:])
    repeated = rt.Features(**{f.name: None if getattr(clean, f.name) is None else
                              getattr(clean, f.name).repeat_interleave(k + 1, 0)
                              for f in fields(clean)})
    y = r.inverse(every, repeated, inversion).reshape(n, k + 1, -1)

    def label(model, v):
        return rt.probs(model, v).argmax(1)

    pred1d = label(m1d, torch.cat([w, y.reshape(n * (k + 1), -1)])).cpu()
    pred1d_rest = pred1d[n:].reshape(n, k + 1)
    pred2d = label(m2d, torch.cat([x, x_adv.reshape(n * k, *x.shape[1:])])).cpu()
    return {"x": x, "x_adv": x_adv, "y_clean": y[:, 0], "y_adv": y[:, 1:],
            "pred2d_clean": pred2d[:n], "pred2d_adv": pred2d[n:].reshape(n, k),
            "pred1d_original": pred1d[:n], "pred1d_clean": pred1d_rest[:, 0],
            "pred1d_adv": pred1d_rest[:, 1:]}


def explore(run, segment: int, representation: str = "mel", attack: str = atk.BIM.name,
            eps: float = 0.3) -> ExplorerResult:
    """Attack one segment with the 2D CNN of its fold, reconstruct it and classify the audio.

    Parameters
    ----------
    run : specadv.pipeline.Run
        Its cached models are used (trained first if absent: see
        :func:`specadv.explorer.missing`).
    segment : int
        Row of the run's dataset; it is attacked by the model of the fold it is a
        test segment of.
    representation : a name of :data:`specadv.roundtrip.REPRESENTATIONS`
    attack : a registered attack's name (:data:`specadv.attacks.ATTACKS`)
    eps : float
        L-infinity budget in dB; the BIM/PGD step is eps / 3 (0.1 for 0.3).
    """
    _check_choice(attack, eps)
    rep = rt.representation(representation)
    ds = run.dataset()
    fold = _test_fold(ds, segment)
    m2d, m1d = run.models(rep.name)[fold].model, run.models(rt.WAVE)[fold].model
    w = to_device(ds.waveforms([segment]), run.device)
    with precision.exact_float32():  # the round trip and its classification: as tested
        s = attack_segments(m2d, m1d, rep.name, w, ds.labels[[segment]], [segment], [attack], [eps],
                            run.profile["attacks"],
                            rt.Inversion.from_profile(run.profile["reconstruction"]))

    def host(t):
        return t.detach().cpu().numpy()

    def genre(t):
        return GENRES[int(t)]

    return ExplorerResult(
        segment=segment, clip_id=ds.clips[ds.seg_clip[segment]].clip_id,
        genre=GENRES[int(ds.labels[segment])], representation=rep.name, attack=attack,
        eps=float(eps), fold=fold, x=host(s["x"][0]), x_adv=host(s["x_adv"][0, 0]),
        original=host(w[0]), reconstructed_clean=host(s["y_clean"][0]),
        reconstructed_adv=host(s["y_adv"][0, 0]), pred2d_clean=genre(s["pred2d_clean"][0]),
        pred2d_adv=genre(s["pred2d_adv"][0, 0]), pred1d_original=genre(s["pred1d_original"][0]),
        pred1d_clean=genre(s["pred1d_clean"][0]), pred1d_adv=genre(s["pred1d_adv"][0, 0]))


# --------------------------------------------------------------------------- the static grid
_PER_REP = ("x", "delta", "linf_db", "pred2d_clean", "pred2d", "pred1d_clean", "pred1d",
            "snr_clean", "snr", "audio_clean", "audio")


@dataclass(frozen=True)
class ExplorerGrid:
    """Every state the static explorer shows, precomputed.

    The states are ``segments`` (one per genre, the book's examples) x ``representations``
    x ``attacks`` x ``eps_db``. Per representation (dicts keyed by its name), with ``n``
    segments, ``A`` attacks, ``E`` budgets and ``m = len(audio_segments)``:

    - ``x[rep]`` ``(n, F, T)`` float16: the clean dB feature; ``delta[rep]``
      ``(n, A, E, F, T)`` float16: the perturbation ``x_adv - x`` (dB);
      ``linf_db[rep]`` ``(n, A, E)``: its L-infinity norm (from the float32 perturbation);
    - ``pred2d_clean[rep]`` ``(n,)``, ``pred2d[rep]`` ``(n, A, E)``: the 2D CNN's genre
      (index into GENRES) on the clean and the adversarial spectrogram;
    - ``pred1d_clean[rep]`` ``(n,)``, ``pred1d[rep]`` ``(n, A, E)``: the 1D CNN's genre on
      their reconstructions; ``snr_clean[rep]``, ``snr[rep]``: the reconstructions' SNR
      against the original (dB, :func:`specadv.metrics.snr`);
    - ``audio_clean[rep]`` ``(m, samples)``, ``audio[rep]`` ``(m, A, E, samples)`` float32:
      the reconstructions of the first ``m`` segments (``audio_segments``), the only ones
      whose sound the book keeps.

    ``original`` ``(m, samples)``: those segments' audio; ``pred1d_original`` ``(n,)``;
    ``labels`` ``(n,)``, ``folds`` ``(n,)``, ``clip_ids``, ``seg_index``: what each segment
    is; ``seconds``: how long computing took.
    """

    segments: tuple
    genres: tuple
    representations: tuple
    attacks: tuple
    eps_db: tuple
    audio_segments: tuple
    labels: np.ndarray
    folds: np.ndarray
    clip_ids: tuple
    seg_index: np.ndarray
    original: np.ndarray
    pred1d_original: np.ndarray
    x: dict
    delta: dict
    linf_db: dict
    pred2d_clean: dict
    pred2d: dict
    pred1d_clean: dict
    pred1d: dict
    snr_clean: dict
    snr: dict
    audio_clean: dict
    audio: dict
    seconds: float

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(segments, representations, attacks, budgets): the grid's axes."""
        return (len(self.segments), len(self.representations), len(self.attacks),
                len(self.eps_db))

    def has_audio(self, s: int) -> bool:
        """Whether segment position ``s`` kept its audio."""
        return s < len(self.audio_segments)

    def save(self, entry: artifacts.Entry) -> None:
        for name in ("labels", "folds", "seg_index", "original", "pred1d_original"):
            artifacts.save_npy(entry.path(f"{name}.npy"), getattr(self, name))
        for rep in self.representations:
            for name in _PER_REP:
                artifacts.save_npy(entry.path(f"{name}_{rep}.npy"), getattr(self, name)[rep])
        entry.commit(segments=list(self.segments), genres=list(self.genres),
                     representations=list(self.representations), attacks=list(self.attacks),
                     eps_db=list(self.eps_db), audio_segments=list(self.audio_segments),
                     clip_ids=list(self.clip_ids), seconds=self.seconds)

    @classmethod
    def load(cls, entry: artifacts.Entry) -> "ExplorerGrid":
        info = entry.info()
        reps = tuple(info["representations"])

        def load(name):
            return artifacts.load_npy(entry.path(f"{name}.npy"))

        return cls(tuple(info["segments"]), tuple(info["genres"]), reps, tuple(info["attacks"]),
                   tuple(info["eps_db"]), tuple(info["audio_segments"]), load("labels"),
                   load("folds"), tuple(info["clip_ids"]), load("seg_index"), load("original"),
                   load("pred1d_original"),
                   **{name: {r: load(f"{name}_{r}") for r in reps} for name in _PER_REP},
                   seconds=float(info["seconds"]))


def compute_grid(ds, examples: dict, models: dict, attacks_profile: dict, inversion,
                 device, representations=None, attacks=GRID_ATTACKS, eps_db=GRID_EPS_DB,
                 audio_examples: int = GRID_AUDIO_EXAMPLES) -> ExplorerGrid:
    """Every state of the static explorer (:class:`ExplorerGrid`), batched per
    representation and fold.

    Parameters
    ----------
    ds : the run's :class:`~specadv.stages.dataset.Dataset`.
    examples : genre -> dataset row (:meth:`Run.examples`), the segments of the grid.
    models : kind -> the model of every fold (``"wave"``: the 1D CNN; a representation's
        name: its 2D CNN), e.g. ``{k: [m.model for m in run.models(k)] ...}``.
    attacks_profile, inversion : as for :func:`attack_segments`.
    representations : default every one of the registry.
    attacks, eps_db : the grid's attacks and budgets (dB).
    audio_examples : keep the audio of the first this many segments.
    """
    t0 = time.perf_counter()
    reps = tuple(representations or rt.REPRESENTATIONS)
    genres, segments = tuple(examples), tuple(int(i) for i in examples.values())
    n, na, ne = len(segments), len(attacks), len(eps_db)
    audio_segments = segments[:audio_examples]
    m = len(audio_segments)
    folds = np.array([_test_fold(ds, i) for i in segments])
    waves = ds.waveforms(list(segments))
    out = {name: {} for name in _PER_REP}
    pred1d_original = np.zeros(n, np.int64)
    for rep in reps:
        shape = rt.representation(rep).feature_shape
        arrays = {"x": np.zeros((n, *shape), np.float16),
                  "delta": np.zeros((n, na, ne, *shape), np.float16),
                  "linf_db": np.zeros((n, na, ne), np.float32),
                  "pred2d_clean": np.zeros(n, np.int64), "pred2d": np.zeros((n, na, ne), np.int64),
                  "pred1d_clean": np.zeros(n, np.int64), "pred1d": np.zeros((n, na, ne), np.int64),
                  "snr_clean": np.zeros(n, np.float32), "snr": np.zeros((n, na, ne), np.float32),
                  "audio_clean": np.zeros((m, waves.shape[1]), np.float32),
                  "audio": np.zeros((m, na, ne, waves.shape[1]), np.float32)}
        for fold in np.unique(folds):
            rows = np.flatnonzero(folds == fold)
            segs = [segments[i] for i in rows]
            w = to_device(waves[rows], device)
            with precision.exact_float32():
                s = attack_segments(models[rep][fold], models[rt.WAVE][fold], rep, w,
                                    ds.labels[segs], segs, attacks, eps_db, attacks_profile,
                                    inversion)
            host = {k: v.detach().cpu().numpy() for k, v in s.items()}
            delta = host["x_adv"] - host["x"][:, None]
            arrays["x"][rows] = host["x"]
            arrays["delta"][rows] = delta.reshape(len(rows), na, ne, *shape)
            arrays["linf_db"][rows] = np.abs(delta).max(axis=(-2, -1)).reshape(-1, na, ne)
            for name in ("pred2d", "pred1d"):
                arrays[f"{name}_clean"][rows] = host[f"{name}_clean"]
                arrays[name][rows] = host[f"{name}_adv"].reshape(-1, na, ne)
            pred1d_original[rows] = host["pred1d_original"]
            original = waves[rows]
            arrays["snr_clean"][rows] = metrics.snr(original, host["y_clean"])
            arrays["snr"][rows] = metrics.snr(original[:, None], host["y_adv"]).reshape(-1, na, ne)
            for j, i in enumerate(rows):
                if i < m:
                    arrays["audio_clean"][i] = host["y_clean"][j]
                    arrays["audio"][i] = host["y_adv"][j].reshape(na, ne, -1)
        for name, v in arrays.items():
            out[name][rep] = v
    return ExplorerGrid(
        segments, genres, reps, tuple(attacks), tuple(float(e) for e in eps_db), audio_segments,
        np.asarray(ds.labels[list(segments)]), folds,
        tuple(ds.clips[ds.seg_clip[i]].clip_id for i in segments),
        np.asarray(ds.seg_index[list(segments)]), waves[:m].astype(np.float32),
        pred1d_original, **out, seconds=time.perf_counter() - t0)


def grid_key(run) -> dict:
    """The settings that name the grid's cache entry (:func:`specadv.stages.keys.explorer`):
    the models it attacks with, the settings of its attacks and of the inversion, its
    segments and axes."""
    from specadv.stages import keys

    return keys.explorer(run.profile, {k: [m.key for m in run.models(k)] for k in (
        *REPRESENTATIONS, WAVE)}, run.examples(), {
        "attacks": list(GRID_ATTACKS), "eps_db": list(GRID_EPS_DB),
        "audio_examples": GRID_AUDIO_EXAMPLES})


def grid(run) -> ExplorerGrid:
    """The run's :class:`ExplorerGrid`, computed now (about a minute on the demo profile
    on a 2-core CPU, once its models exist) or loaded from the run folder."""
    def compute(entry):
        models = {k: [m.model for m in run.models(k)] for k in (*REPRESENTATIONS, WAVE)}
        compute_grid(run.dataset(), run.examples(), models, run.profile["attacks"],
                     Inversion.from_profile(run.profile["reconstruction"]),
                     run.device).save(entry)

    return run.memoised("explorer grid", lambda: run.stage(
        "explorer", grid_key(run), compute, ExplorerGrid.load))
