"""The experiment as cached stages: what the notebooks call.

A :class:`Run` ties a profile to a run folder (``runs/<profile>/``) and memoises the stage
functions of :mod:`specadv.stages` in the artifact store: corpus -> dataset (segments, folds,
features) -> 2D CNNs per representation and fold (and the linear baseline) -> 1D CNN per
fold -> attacks -> reconstruction and transfer -> beyond the paper. Each stage's cache key
(:meth:`Run.key`, :mod:`specadv.stages.keys`) holds its settings and the keys of the stages
it read: a changed setting recomputes what depends on it and nothing else.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, TypeVar

from specadv import artifacts, baseline
from specadv.artifacts import RUNS_ENV, project_root
from specadv.attacks import BIM
from specadv.data import make_embedded_corpus
from specadv.device import select_device
from specadv.profiles import Profile, resolve_profile
from specadv.roundtrip import MEL, REPRESENTATIONS, WAVE, Inversion, representation, targets
from specadv.stages import attack, beyond, keys, ladder, reconstruct, train
from specadv.stages.dataset import Dataset, SegmentAudio, build_dataset
from specadv.stages.keys import STAGE_VERSIONS
from specadv.stages.results import Results

T = TypeVar("T")

__all__ = ["Run", "Dataset", "SegmentAudio", "project_root", "RUNS_ENV", "STAGE_VERSIONS"]


class Run:
    """One profile's experiment, cached under ``<runs>/<profile name>/``.

    Parameters
    ----------
    profile : a built-in profile name, a YAML file, or a loaded profile; ``None`` reads
        ``SPECADV_PROFILE`` (default ``demo``).
    data : a corpus folder (GTZAN), optional; overrides the profile's corpus.
    device : "auto", "cpu" or "cuda", optional; overrides the profile's device.
    runs_dir : folder of all runs; default ``SPECADV_RUNS`` or ``<project>/runs``.
    """

    def __init__(self, profile=None, data=None, device=None, runs_dir=None, progress=True):
        self.profile: Profile = resolve_profile(profile, data, device)
        runs_dir = Path(runs_dir or os.environ.get(RUNS_ENV) or project_root() / "runs")
        self.root = runs_dir.resolve() / self.profile.name
        self.store = artifacts.Store(self.root)
        self.progress = progress
        self._memo: dict = {}

    device = property(lambda self: select_device(self.profile["device"]))  # torch's, of the profile

    def stage(self, stage: str, settings: dict, compute: Callable[[artifacts.Entry], None],
              load: Callable[[artifacts.Entry], T]) -> T:
        """``load`` of the complete entry of ``stage`` for ``settings``; where there is none
        (or an interrupted one), ``compute`` fills a fresh one under its lock, committing last."""
        entry = self.store.entry(stage, settings)
        if not entry.is_complete():
            with entry.lock():
                if not entry.is_complete():  # another process may have made it meanwhile
                    entry.reset()
                    compute(entry)
        return load(entry)

    def memoised(self, key, make: Callable[[], T]) -> T:
        """``make()``, made once per :class:`Run` for ``key`` (a stage's loaded result)."""
        return self._memo[key] if key in self._memo else self._memo.setdefault(key, make())

    def key(self, stage: str, kind: str | None = None, fold: int = 0, **extra) -> dict:
        """The settings that name the cache entry of ``stage`` (and of ``kind``, ``fold``):
        the key made by :mod:`specadv.stages.keys` from the profile and its inputs' keys."""
        p, ds = self.profile, lambda: self.dataset().key
        fms = lambda: {t: m.key for t, m in self.fold_models(fold).items()}  # noqa: E731
        make = {"corpus": lambda: keys.corpus(p),
                "dataset": lambda: keys.dataset(p, self.corpus_path(), REPRESENTATIONS),
                "baseline": lambda: keys.baseline(p, ds(), kind, self.baseline_attacks),
                "model": lambda: keys.model(p, ds(), kind, fold, extra.get("validation")),
                "attacks": lambda: keys.attacks(p, self.models(kind)[fold].key),
                "reconstruction": lambda: keys.reconstruction(
                    p, self.attacks(kind)[fold].entry.folder.name, fms(), self.examples_in(fold)),
                "aware": lambda: keys.aware(p, fms(), self.beyond_positions(fold)),
                "ladder": lambda: keys.ladder(p, fms(), kind),
                "inversion": lambda: keys.inversion(
                    self.attacks(MEL.name)[fold].entry.folder.name, fms()[WAVE],
                    self.inversion_variants(), p["beyond"]["librosa_segments"] if fold == 0 else 0,
                    self.beyond_positions(fold))}
        if stage not in make:
            raise ValueError(f"unknown stage {stage!r}; the stages are {sorted(make)}")
        return make[stage]()

    def corpus_path(self) -> Path:
        """The corpus folder: the user's, or the embedded corpus generated once."""
        c = self.profile["corpus"]
        if c["kind"] == "folder":
            if not c["path"]:
                raise ValueError(f"profile '{self.profile.name}' reads a corpus folder: give it "
                                 "with --data DIR (or corpus.path in the profile)")
            return Path(c["path"])
        settings = self.key("corpus")
        return self.stage("corpus", settings, lambda e: (make_embedded_corpus(
            e.path("audio"), progress=self.progress, **settings), e.commit()),
            lambda e: e.path("audio"))

    def dataset(self) -> Dataset:
        """Clips, folds, segments and features (computed once, then memory-mapped)."""
        return self.memoised("dataset", lambda: self.stage(
            "dataset", self.key("dataset"), lambda e: build_dataset(
                e, self.corpus_path(), self.profile["segments"], self.profile["folds"],
                self.device, self.progress), Dataset))

    def examples(self) -> dict[str, int]:
        """One segment per genre shown in the book (its reconstructions are kept as audio)."""
        return self.dataset().examples()

    def examples_in(self, fold: int) -> list[int]:
        """The book's example segments that are test segments of ``fold``."""
        return [i for i in self.examples().values() if self.dataset().folds[i] == fold]

    def train_config(self, kind: str):
        """The :class:`~specadv.training.TrainConfig` of the models of ``kind``."""
        return train.train_config(self.profile, kind)

    def model_config(self, kind: str) -> dict:
        """Constructor arguments of the model of ``kind`` (a representation or "wave")."""
        return train.model_config(self.profile, kind)

    def models(self, kind: str, validation: str | None = None) -> list[train.FoldModel]:
        """The model of every fold for ``kind`` (a representation: 2D CNN; "wave": 1D CNN),
        trained now or loaded from the cache. ``validation`` ("clip" or "segment") overrides
        how the validation set that selects the kept epoch is held out."""
        kind == WAVE or representation(kind)  # an unknown name is refused here, by name
        validation = validation or self.train_config(kind).validation_by
        ds, p = self.dataset(), self.profile
        mc, tc = train.model_config(p, kind), train.train_config(p, kind, validation)

        return self.per_fold("model", kind, lambda e, k: train.train_fold(
            e, ds, kind, k, mc, tc, self.progress), lambda e, k: train.load_fold(
            e, ds, kind, k, mc, tc, self.device), memo=f"models by {validation}",
            validation=validation)

    def baselines(self, rep: str, under: str | None = None) -> list[float]:
        """The linear baseline's test accuracy (%) per fold of ``rep``, or under attack ``under`` (:mod:`specadv.baseline`)."""
        info = self.memoised(("baseline", rep), lambda: self.stage(
            f"baseline-{rep}", self.key("baseline", rep), lambda e: e.commit(
                **baseline.dataset_baselines(self.dataset(), rep, self.profile["attacks"])),
            lambda e: e.info()))
        return info["accuracy"] if under is None else info["attacked"][under]

    def fold_models(self, fold: int) -> dict:
        """Every model of a fold: the 1D CNN and each representation's 2D CNN."""
        return {t: self.models(t)[fold] for t in targets()}

    # -- attacks, reconstruction, beyond the paper ----------------------------------------
    attack_names = property(lambda self: tuple(self.profile["attacks"]["names"]))
    baseline_attacks = property(lambda self: baseline.attacked_names(self.attack_names))  # the baseline's

    conditions = property(lambda self: ("clean",) + tuple(  # what is turned into sound
        a for a in self.attack_names if a in attack.reconstructed_attacks()))

    def per_fold(self, stage: str, kind, compute, load, entry: str | None = None,
                 memo: str | None = None, **extra) -> list:
        """``stage`` of ``kind`` with the fold as its dimension: for each fold ``k``,
        ``load(e, k)`` of its entry (named by :meth:`key`, with ``extra``), ``compute(e, k)``
        filling it first where there is none; made once per :class:`Run`."""
        name = entry or (f"{stage}-{kind}" if kind else stage)
        return self.memoised((memo or stage, kind), lambda: [self.stage(
            name, self.key(stage, kind, k, **extra), lambda e: compute(e, k),
            lambda e: load(e, k)) for k in range(self.dataset().n_folds)])

    def _nets(self, fold: int) -> dict:  # every model of a fold, as modules
        return {t: m.model for t, m in self.fold_models(fold).items()}

    def attacks(self, rep: str) -> list[attack.FoldAttacks]:
        """The attacks on every fold's 2D CNN of ``rep`` (:class:`~specadv.stages.attack.FoldAttacks`)."""
        ds, fms = self.dataset(), self.models(rep)
        return self.per_fold("attacks", rep, lambda e, k: attack.attack_fold(
            e, fms[k].model, rep, ds.features(rep), fms[k].test_idx, ds.labels,
            self.profile["attacks"], self.device, self.progress, k),
            lambda e, k: attack.FoldAttacks.load(e, rep, k, fms[k].test_idx, self.attack_names))

    def reconstructions(self, rep: str) -> list[reconstruct.FoldReconstruction]:
        """Audio from every fold's clean and adversarial test spectrograms, measured and classified."""
        ds, r, fas = self.dataset(), self.profile["reconstruction"], self.attacks(rep)
        return self.per_fold("reconstruction", rep, lambda e, k: reconstruct.reconstruct_fold(
            ds, rep, k, fas[k].test_idx, {c: fas[k].delta(c) for c in self.conditions[1:]},
            self._nets(k), Inversion.from_profile(r),
            r["batch_size"], self.examples_in(k), self.device, self.progress).save(e),
            lambda e, k: reconstruct.FoldReconstruction.load(
                e, rep, k, fas[k].test_idx, self.conditions, targets(), self.examples_in(k)))

    def beyond_positions(self, fold: int):
        """Positions in fold ``fold``'s test segments of the beyond-the-paper subset."""
        p, ds = self.profile, self.dataset()
        return beyond.subset_positions(ds.split(fold)[1], ds.labels, p["beyond"]["segments_per_fold"],
                                       self.examples().values(), p["attacks"]["seed"])

    def aware(self, rep: str) -> list[beyond.FoldAware]:
        """The reconstruction-aware attack on each fold's subset (:meth:`beyond_positions`)."""
        ds, p, pos = self.dataset(), self.profile, self.beyond_positions
        return self.per_fold("aware", rep, lambda e, k: beyond.aware_fold(
            ds, rep, k, pos(k), self._nets(k),
            p["attacks"], p["beyond"], Inversion.from_profile(p["reconstruction"]),
            self.examples().values(), self.device, self.progress).save(e, str(self.device)),
            lambda e, k: beyond.FoldAware.load(e, rep, k, pos(k), ds.split(k)[1][pos(k)], targets()))

    def inversion_variants(self) -> list[tuple[str, dict]]:
        """The Mel inversions of the sweep (:func:`specadv.stages.beyond.inversion_variants`)."""
        return beyond.inversion_variants(self.profile["reconstruction"], self.profile["beyond"]["sweep_gl_iters"])

    def inversion_sweep(self) -> list[beyond.FoldInversion]:
        """Each Mel inversion variant on each fold's subset (librosa's point on fold 1)."""
        ds, pos = self.dataset(), self.beyond_positions
        return self.per_fold("inversion", MEL.name, lambda e, k: e.commit(rows=beyond.inversion_fold(
            ds, k, pos(k), self.attacks(MEL.name)[k].delta(BIM.name), self.models(WAVE)[k].model,
            self.inversion_variants(), self.key("inversion", MEL.name, k)["librosa"],
            self.profile["reconstruction"]["seed"], self.device, self.progress).rows,
            device=str(self.device)), lambda e, k: beyond.FoldInversion(
                k, pos(k), ds.split(k)[1][pos(k)], e.info()["rows"]), entry="inversion")

    def ladder(self, rep: str) -> list[ladder.FoldLadder]:
        """The budget ladder of each fold's 2D CNN of ``rep`` (:mod:`specadv.stages.ladder`)."""
        ds, p = self.dataset(), self.profile
        return self.per_fold("ladder", rep, lambda e, k: ladder.ladder_fold(
            ds, rep, k, self._nets(k), p["attacks"], p["reconstruction"], self.device,
            self.progress).save(e), lambda e, k: ladder.FoldLadder.load(e, ds, rep, k))

    PARTS = ("models", "attacks", "reconstructions", "baselines", "aware", "inversion", "validation",
             "ladder")

    def results(self, *parts: str) -> Results:
        """The :class:`~specadv.stages.results.Results` of ``parts`` (of :attr:`PARTS`;
        default: the first four), computed now or loaded from the cache."""
        parts = parts or self.PARTS[:4]
        if set(parts) - set(self.PARTS):
            raise ValueError(f"unknown parts {sorted(set(parts) - set(self.PARTS))}; choose from {self.PARTS}")
        reps = tuple(REPRESENTATIONS)
        each = lambda stage: lambda: {r: stage(r) for r in reps}  # noqa: E731  (per representation)
        get = {"models": lambda: {k: self.models(k) for k in (*reps, WAVE)},
               "inversion": self.inversion_sweep,
               "attacks": each(self.attacks), "reconstructions": each(self.reconstructions),
               "aware": each(self.aware), "ladder": each(self.ladder), "baselines": each(self.baselines),
               "baselines_attacked": lambda: {r: {a: self.baselines(r, a)
                                                  for a in self.baseline_attacks} for r in reps},
               "validation": lambda: {by: self.models("mel", validation=by) for by in ("clip", "segment")}}
        parts += ("baselines_attacked",) if "baselines" in parts else ()  # and under the same attacks
        return Results(self.dataset(), self.conditions, self.device.type, dict(self.profile),
                       **{p: get[p]() for p in parts})
