"""Every stage's cache key, in one place: the settings that name its entry.

A key holds the settings that produced a stage's result and the keys (entry names) of
the stages it read, so changing a setting recomputes that stage and the ones after it,
and nothing before it.
"""
from __future__ import annotations

from specadv.baseline import BASELINE_C
from specadv.data import filtered_split_digest
from specadv.precision import INFERENCE_PRECISION
from specadv.roundtrip import WAVE
from specadv.stages import train

__all__ = ["stage_key", "STAGE_VERSIONS"]

# A stage's own version, in its cache key: bump it when what the stage stores changes, so
# its entries (and those that read them) are recomputed and the cheaper stages before it
# are kept (artifacts.CODE_VERSION invalidates everything). attacks 5: the random signs and
# PGD's start drawn on the device as int8 / in place (other values for the same seeds).
STAGE_VERSIONS = {"attacks": 5, "reconstruction": 3, "aware": 3, "inversion": 3}


def stage_key(run, stage: str, kind: str | None = None, fold: int = 0, **extra) -> dict:
    """The settings that name the cache entry of ``stage`` (and of ``kind``, ``fold``)."""
    p = run.profile
    if stage == "corpus":
        return {k: p["corpus"][k] for k in ("clips_per_genre", "seconds", "seed")}
    if stage == "dataset":
        path = run.corpus_path()
        if p["corpus"]["kind"] == "embedded":
            # the generated corpus is named by its own settings, not by where the run folder is
            # (a copied or moved run folder keeps its cache)
            corpus = {"embedded": stage_key(run, "corpus")}
        else:
            corpus = {"folder": str(path), "files": sorted(
                (str(f.relative_to(path)), f.stat().st_size, f.stat().st_mtime_ns)
                for f in path.rglob("*") if f.is_file())}
        # a stratified run keeps the key it had before folds.kind existed; a filtered one
        # also names the split's lists by their digest
        folds = {k: v for k, v in p["folds"].items() if k != "kind"}
        if p["folds"]["kind"] != "stratified":
            folds.update(kind=p["folds"]["kind"], lists=filtered_split_digest())
        return {"corpus": corpus, "segments": p["segments"], "folds": folds}
    if stage == "baseline":
        # version 2: also the accuracy under the profile's FGSM and BIM
        return {"dataset": run.dataset().key, "rep": kind, "C": BASELINE_C,
                "attacks": {k: p["attacks"][k] for k in ("names", "labels", "clip", "fgsm_eps",
                                                          "bim_eps", "bim_step", "bim_iters")},
                "version": 2}
    if stage == "model":
        return {"dataset": run.dataset().key, "kind": kind, "fold": fold,
                "model": train.model_config(p, kind),
                "train": train.train_config(p, kind, extra.get("validation")).identity()}
    if stage == "attacks":
        return {"model": run.models(kind)[fold].key, "attacks": p["attacks"],
                "precision": INFERENCE_PRECISION, "version": STAGE_VERSIONS["attacks"]}
    models = {t: m.key for t, m in run.fold_models(fold).items()}
    if stage == "reconstruction":
        return {"attacks": run.attacks(kind)[fold].entry.folder.name,
                "reconstruction": p["reconstruction"], "models": models,
                "examples": run.examples_in(fold), "precision": INFERENCE_PRECISION,
                "version": STAGE_VERSIONS[stage]}
    if stage == "aware":
        return {"models": models, "attacks": p["attacks"], "beyond": p["beyond"],
                "reconstruction": p["reconstruction"], "precision": INFERENCE_PRECISION,
                "pos": run.beyond_positions(fold).tolist(), "version": STAGE_VERSIONS[stage]}
    if stage == "inversion":
        return {"attacks": run.attacks("mel")[fold].entry.folder.name,
                "wave": models[WAVE], "variants": run.inversion_variants(),
                "librosa": p["beyond"]["librosa_segments"] if fold == 0 else 0,
                "precision": INFERENCE_PRECISION, "pos": run.beyond_positions(fold).tolist(),
                "version": STAGE_VERSIONS[stage]}
    raise ValueError(f"unknown stage {stage!r}")
