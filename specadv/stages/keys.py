"""Every stage's cache key, in one place: the settings that name its entry.

A key holds the settings that produced a stage's result and the keys (entry names) of
the stages it read, so changing a setting recomputes that stage and the ones after it,
and nothing before it. Each function here is pure: it is given the profile and its
inputs' keys (the caller, :class:`specadv.pipeline.Run`, finds them), never a run to call
back into. Every key carries its stage's version (:data:`STAGE_VERSIONS`), the one
versioning scheme: bump a stage's version when what it stores changes, so its entries (and
those that read them) are recomputed and the cheaper stages before it are kept
(:data:`specadv.artifacts.CODE_VERSION` invalidates everything).
"""
from __future__ import annotations

from specadv import attacks as atk
from specadv.baseline import BASELINE_C
from specadv.data import filtered_split_digest
from specadv.precision import INFERENCE_PRECISION
from specadv.profiles import ATTACK_COMMON
from specadv.roundtrip import WAVE
from specadv.stages import train
from specadv.stages.ladder import ladder_attacks

__all__ = ["STAGE_VERSIONS", "attack_settings", "corpus", "dataset", "baseline", "model",
           "attacks", "reconstruction", "aware", "inversion", "explorer", "ladder", "LADDER_KEYS"]

# attacks 6: each attack's settings in a section of its own, only those of the attacks
# the stage runs, and seeds drawn by the attack's name (other values than by its index).
# dataset 2: the key names the representations whose features it holds.
# attacks 7, aware 5, inversion 5: the eps sweep's segments and the beyond-the-paper subset
# are drawn across the fold, stratified by genre (specadv.data.stratified_subset), not the
# head of the sorted test index or evenly spaced in it.
STAGE_VERSIONS = {"corpus": 0, "dataset": 2, "model": 0, "baseline": 3, "attacks": 7,
                  "reconstruction": 4, "aware": 5, "inversion": 5, "explorer": 2, "ladder": 0}

LADDER_KEYS = ("ladder_eps", "ladder_max_segments")
"""The ``attacks`` section's keys of the budget ladder alone (no other stage's key holds them)."""


def _versioned(stage: str, key: dict) -> dict:
    v = STAGE_VERSIONS[stage]
    return {**key, "version": v} if v else key


def attack_settings(section: dict, names, common=ATTACK_COMMON) -> dict:
    """A profile's ``attacks`` section as far as the attacks ``names`` go: the shared keys
    ``common`` and the sections of ``names`` only, so that adding an attack to the registry
    or to a profile changes no key of a stage that does not run it."""
    names = list(dict.fromkeys(names))
    return {**{k: section[k] for k in common}, **{n: section[n] for n in names}}


def corpus(p) -> dict:
    """The embedded corpus: its generator's settings."""
    return _versioned("corpus", {k: p["corpus"][k] for k in ("clips_per_genre", "seconds",
                                                              "seed")})


def dataset(p, corpus_path, representations) -> dict:
    """Segments, folds and the features of ``representations`` of the corpus at
    ``corpus_path`` (the embedded one is named by its own settings, not by where the run
    folder is: a copied or moved run folder keeps its cache)."""
    if p["corpus"]["kind"] == "embedded":
        source = {"embedded": corpus(p)}
    else:
        source = {"folder": str(corpus_path), "files": sorted(
            (str(f.relative_to(corpus_path)), f.stat().st_size, f.stat().st_mtime_ns)
            for f in corpus_path.rglob("*") if f.is_file())}
    # a filtered split also names the split's lists by their digest
    folds = {k: v for k, v in p["folds"].items() if k != "kind"}
    if p["folds"]["kind"] != "stratified":
        folds.update(kind=p["folds"]["kind"], lists=filtered_split_digest())
    return _versioned("dataset", {"corpus": source, "segments": p["segments"], "folds": folds,
                                  "representations": list(representations)})


def baseline(p, dataset_key: str, rep: str, names) -> dict:
    """The linear baseline of ``rep`` and its accuracy under the attacks ``names``."""
    common = ("labels", "clip")
    return _versioned("baseline", {"dataset": dataset_key, "rep": rep, "C": BASELINE_C,
                                   "attacks": {"names": list(names),
                                               **attack_settings(p["attacks"], names, common)}})


def model(p, dataset_key: str, kind: str, fold: int, validation: str | None) -> dict:
    """A 2D CNN (``kind``: a representation) or the 1D CNN (``"wave"``) of one fold."""
    return _versioned("model", {"dataset": dataset_key, "kind": kind, "fold": fold,
                                "model": train.model_config(p, kind),
                                "train": train.train_config(p, kind, validation).identity()})


def attacks(p, model_key: str) -> dict:
    """The attacks on one 2D CNN: the profile's attacks, its sweep's and the control."""
    a = p["attacks"]
    names = [*a["names"], *a["sweep_attacks"], atk.control_name()]
    common = tuple(k for k in ATTACK_COMMON if k not in LADDER_KEYS)
    return _versioned("attacks", {"model": model_key, "attacks": attack_settings(a, names, common),
                                  "precision": INFERENCE_PRECISION})


def reconstruction(p, attacks_entry: str, model_keys: dict, examples) -> dict:
    """Audio from one fold's clean and attacked spectrograms, measured and classified."""
    return _versioned("reconstruction", {
        "attacks": attacks_entry, "reconstruction": p["reconstruction"], "models": model_keys,
        "examples": list(examples), "precision": INFERENCE_PRECISION})


def aware(p, model_keys: dict, pos) -> dict:
    """The reconstruction-aware attack (BIM's settings) on one fold's subset, beside the
    paper's attacks timed on it."""
    names = [atk.BIM.name, *atk.attacks_where(paper=True)]
    return _versioned("aware", {
        "models": model_keys, "attacks": attack_settings(p["attacks"], names,
                                                         ("labels", "clip", "seed")),
        "beyond": p["beyond"], "reconstruction": p["reconstruction"],
        "precision": INFERENCE_PRECISION, "pos": [int(i) for i in pos]})


def inversion(attacks_entry: str, wave_key: str, variants, librosa: int, pos) -> dict:
    """The Mel inversion sweep on one fold's subset (librosa's point on ``librosa`` segments)."""
    return _versioned("inversion", {
        "attacks": attacks_entry, "wave": wave_key, "variants": variants, "librosa": librosa,
        "precision": INFERENCE_PRECISION, "pos": [int(i) for i in pos]})


def explorer(p, model_keys: dict, examples: dict, grid: dict) -> dict:
    """The explorer's grid of states: every example x representation x attack x budget."""
    return _versioned("explorer", {
        "models": model_keys, "attacks": attack_settings(p["attacks"], grid["attacks"],
                                                         ("labels", "clip", "seed")),
        "reconstruction": p["reconstruction"], "examples": examples, "grid": grid,
        "precision": INFERENCE_PRECISION})


def ladder(p, model_keys: dict, rep: str) -> dict:
    """The budget ladder of one fold's 2D CNN of ``rep`` (:mod:`specadv.stages.ladder`):
    ``model_keys`` (target -> key, of the fold's models) names that 2D CNN and the 1D CNN
    (each names the dataset it was trained on, so the ladder's segments too); the attacks'
    settings, the ladder's budgets and size, the reconstruction's settings."""
    common = ("labels", "clip", "seed", *LADDER_KEYS)
    models = {t: model_keys[t] for t in (rep, WAVE)}
    return _versioned("ladder", {
        "models": models, "attacks": attack_settings(p["attacks"], ladder_attacks(), common),
        "reconstruction": p["reconstruction"], "precision": INFERENCE_PRECISION})
