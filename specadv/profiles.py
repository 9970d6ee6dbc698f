"""Profiles: every setting of a run, as data (YAML), never code.

A profile file overrides :data:`DEFAULTS`, which are SPEC's (the paper's)
values. Built-in profiles (``smoke``, ``demo``, ``paper``, ``paper-filtered``) live in
``specadv/profiles/``; a user's own profile is a YAML file given by path.
Unknown keys and values of the wrong type are refused with an error that
names the key and lists the valid ones.
"""
from __future__ import annotations

import copy
import hashlib
import math
import json
import os
from pathlib import Path
from typing import Any

import yaml

from .attacks import _FLAT_KEYS, ATTACKS, BIM, PGD, attacks_where
from .constants import MIN_ENERGY, OVERLAP, WINDOW_SAMPLES

PROFILE_DIR = Path(__file__).with_name("profiles")
DEFAULT_PROFILE = "demo"
PROFILE_ENV = "SPECADV_PROFILE"

__all__ = ["DEFAULTS", "defaults", "Profile", "ProfileError", "load_profile", "resolve_profile", "builtin_profiles",
           "DEFAULT_PROFILE", "PROFILE_ENV"]

# The paper's settings (SPEC.md). ``null`` where a profile must choose.
DEFAULTS: dict[str, Any] = {
    "name": "custom",
    "description": "",
    "corpus": {
        "kind": "embedded",        # "embedded" (generated) or "folder" (GTZAN or similar)
        "path": None,              # the folder, for kind "folder" (or --data)
        "clips_per_genre": 100,    # embedded corpus only
        "seconds": 30.0,
        "seed": 0,
    },
    "segments": {"window_samples": WINDOW_SAMPLES, "overlap": OVERLAP, "min_energy": MIN_ENERGY},
    # "stratified": the paper's StratifiedKFold(n_splits, shuffle, seed) over clips;
    # "filtered": GTZAN's fault-filtered train / validation / test lists (Kereliuk et al.
    # 2015), one rotation, for a GTZAN copy only (n_splits and seed unused)
    "folds": {"kind": "stratified", "n_splits": 3, "seed": 7},
    "model2d": {
        "width": 32, "width_stft": None,   # None: the same width for both representations
        "dense_mel": 1024, "dense_stft": 512,
        "dropout_dense": 0.8,              # Keras Dropout(0.8): 80% of units dropped
        "bn_momentum": 0.01,               # Keras' 0.99 in torch's convention
        # beyond the paper's layer list (CPU profiles); the defaults are the paper's model
        "head": "flatten",                 # or "meanstd": each map's mean and std over time
        "head_chunks": 1,                  # meanstd over this many stretches of time each
        "input_norm": "none",              # or "band": batch norm of each frequency band
        "input_norm_stft": None,           # None: as input_norm (both STFT forms)
        "input_pool": [1, 1],              # average pooling (freq, time) of the input
        "input_pool_stft": None,           # None: as input_pool
        "input_pool_kind": "avg",          # or "max" (an envelope), or "power" (the block's
                                           # energy: the mean in the power domain, in dB)
        "unshift_stft_paper": False,       # the authors' STFT form: undo its shift and log
                                           # first (the dB power of the signed real part)
        "band_stats": False,               # also each input band's mean and std to the head
    },
    "model1d": {"width": 16, "dense": [128, 64], "dropout": 0.25, "pooling": "flatten",
                "bn_momentum": 0.01,
                "first_stride": 2},        # Abdoli et al.'s; 4 halves the cost (CPU profiles)
    "train2d": {
        "epochs": 150, "batch_size": 100, "optimizer": "adadelta", "lr": 1.0,
        "epochs_stft": None, "lr_stft": None,  # None: as for Mel
        "validation": "segment",   # the authors' Keras validation_split (leaks; see the book)
        "val_fraction": 0.2, "early_stopping_patience": None, "seed": 0,
        "schedule": "constant",    # the paper's; "onecycle": OneCycleLR peaking at lr
        "amp": False,              # bf16 autocast of training on a GPU; False: float32, the
                                   # paper's (validation is float32 either way; precision.py)
    },
    "train1d": {
        "epochs": 150, "batch_size": 100, "optimizer": "adadelta", "lr": 1.0,
        "validation": "segment", "val_fraction": 0.2, "early_stopping_patience": None,
        "seed": 0, "amp": False, "schedule": "constant",
    },
    "attacks": {
        "names": list(ATTACKS),    # FGSM, BIM, PGD and the random-sign control (same budget)
        "labels": "predicted",     # cleverhans' default, as the authors ran it; or "true"
        "clip": False,             # clip adversarial dB to [-80, 0]; the authors did not
        "sweep_eps": [0.03, 0.1, 0.3, 1.0, 3.0],
        "sweep_attacks": [BIM.name, PGD.name],  # against eps beside the random-sign control
        "sweep_max_segments": 2000,
        # the budget ladder (stages/ladder.py): the whole chain at each budget (and at 0),
        # on this many of each fold's test segments, stratified by genre
        "ladder_eps": [0.1, 0.3, 1.0, 3.0, 10.0],
        "ladder_max_segments": 2000,
        "batch_size": 256,
        "seed": 0,
        # and one section per attack of the registry (specadv.attacks.ATTACKS), its
        # settings and their defaults, e.g. bim: {eps: 0.3, step: 0.1, iters: 10}
    },
    "reconstruction": {
        "n_iter": 32, "momentum": 0.99,    # librosa's Griffin-Lim defaults
        "init": "random",                  # or "pghi": a phase estimate, fewer iterations
        "nnls_iter": 16,                   # projected-gradient steps of the Mel -> STFT solve
        "batch_size": 64,
        "seed": 0,
    },
    # Beyond the paper: the reconstruction-aware attack and the sweep of inversion methods,
    # on a subset of each fold's test segments (evenly spaced, plus the book's examples)
    "beyond": {
        "segments_per_fold": 200,
        "aware_n_iter": 4,         # unrolled Griffin-Lim iterations of the Mel surrogate
        "aware_samples": 2,        # random starts per step (expectation over them)
        "sweep_gl_iters": [8, 16, 32, 64, 128],
        "librosa_segments": 8,     # librosa's mel_to_audio, one at a time: the reference point
        "aware_batch_size": 8,     # segments per pass of the reconstruction-aware attack
    },
    "device": "auto",
}


ATTACK_COMMON = tuple(DEFAULTS["attacks"])
"""The ``attacks`` section's keys shared by every attack (the rest: one section per attack)."""

# keys whose default is null ("none", "as another key") and the type they take when set
NULLABLE = {"corpus.path": str, "model2d.width_stft": int, "model2d.input_norm_stft": str,
            "model2d.input_pool_stft": list, "train2d.epochs_stft": int, "train2d.lr_stft": float,
            "train2d.early_stopping_patience": int, "train1d.early_stopping_patience": int}


def defaults() -> dict:
    """:data:`DEFAULTS` with a section per attack of the registry as it is now (an attack
    registered after import has its section too)."""
    d = copy.deepcopy(DEFAULTS)
    d["attacks"].update({name: spec.defaults() for name, spec in ATTACKS.items()})
    return d


DEFAULTS["attacks"].update({name: spec.defaults() for name, spec in ATTACKS.items()})


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the key and what is valid."""


def builtin_profiles() -> list[str]:
    """Names of the profiles shipped with the package."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def _type_ok(default, value, key: str) -> bool:
    if default is None:
        # null (its meaning: none, or "as another key"), or a value of the key's type
        want = NULLABLE.get(key)
        if value is None or want is None:
            return True
        if want is float:
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        return isinstance(value, want) and not isinstance(value, bool)
    if value is None:
        return False  # null only where the key means "none" (its default is null)
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, list):
        if default and isinstance(default[0], str):
            return isinstance(value, list) and all(isinstance(v, str) for v in value)
        return isinstance(value, list) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    return isinstance(value, type(default))


def _merge(defaults: dict, overrides: dict, where: str, source: str) -> dict:
    out = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if key not in defaults:
            hint = ""
            if where == "attacks." and key in _FLAT_KEYS:
                hint = (f" (each attack has a section of its own now: write "
                        f"`attacks: {{{_FLAT_KEYS[key]}}}`)")
            raise ProfileError(f"{source}: unknown key '{where}{key}'{hint}. Valid keys"
                               f"{' of ' + where.rstrip('.') if where else ''}: "
                               f"{', '.join(sorted(defaults))}")
        default = defaults[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ProfileError(f"{source}: '{where}{key}' must be a mapping of "
                                   f"{', '.join(sorted(default))}; got {value!r}")
            out[key] = _merge(default, value, f"{where}{key}.", source)
        elif not _type_ok(default, value, f"{where}{key}"):
            if value is None:
                raise ProfileError(f"{source}: '{where}{key}' may not be null: give a value of "
                                   f"type {type(default).__name__} (the default is {default!r})")
            want = type(default).__name__ if default is not None else \
                f"{NULLABLE[where + key].__name__} or null"
            raise ProfileError(f"{source}: '{where}{key}' must be of type {want}"
                               f"{f' (like the default {default!r})' if default is not None else ''}; "
                               f"got {value!r} ({type(value).__name__})")
        else:
            out[key] = float(value) if isinstance(default, float) or (
                default is None and NULLABLE.get(where + key) is float and value is not None) \
                else value
    return out


class Profile(dict):
    """A validated profile: a nested dict of settings, with a stable digest."""

    @property
    def name(self) -> str:
        return self["name"]

    def section_digest(self, *sections: str) -> str:
        """A short hash of the named sections: the cache key of what they produce."""
        blob = json.dumps({s: self[s] for s in sections}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _validate(p: dict, source: str) -> None:
    if p["corpus"]["kind"] not in ("embedded", "folder"):
        raise ProfileError(f"{source}: corpus.kind must be 'embedded' or 'folder'; "
                           f"got {p['corpus']['kind']!r}")
    if p["folds"]["kind"] not in ("stratified", "filtered"):
        raise ProfileError(f"{source}: folds.kind must be 'stratified' (the paper's folds, any "
                           "corpus) or 'filtered' (GTZAN's fault-filtered split, a GTZAN copy "
                           f"only); got {p['folds']['kind']!r}")
    a = p["attacks"]
    if a["labels"] not in ("predicted", "true"):
        raise ProfileError(f"{source}: attacks.labels must be 'predicted' or 'true'; "
                           f"got {a['labels']!r}")
    known, paper = tuple(ATTACKS), attacks_where(paper=True)
    for key in ("names", "sweep_attacks"):
        unknown = [n for n in a[key] if n not in known]
        if unknown:
            raise ProfileError(f"{source}: attacks.{key} lists unknown attack(s) {unknown}; "
                               f"the registered attacks are {', '.join(known)}")
    if not set(paper) <= set(a["names"]):
        raise ProfileError(f"{source}: attacks.names must list the paper's attacks "
                           f"({', '.join(paper)}) and may add others of {', '.join(known)}; "
                           f"got {a['names']}")
    for name, spec in ATTACKS.items():
        try:
            a[name] = spec.check(a[name], f"attacks.{name}")
        except ValueError as exc:
            raise ProfileError(f"{source}: {exc}") from None
    for key in ("sweep_eps", "ladder_eps"):
        if any(not (isinstance(e, (int, float)) and math.isfinite(e) and e >= 0)
               for e in a[key]):
            raise ProfileError(f"{source}: attacks.{key} must be finite budgets >= 0 (dB); "
                               f"got {a[key]}")
    for key in ("sweep_max_segments", "ladder_max_segments", "batch_size"):
        if a[key] < 1:
            raise ProfileError(f"{source}: attacks.{key} must be a positive integer; "
                               f"got {a[key]!r}")
    r = p["reconstruction"]
    if r["n_iter"] < 0 or r["nnls_iter"] < 0 or not math.isfinite(r["momentum"]):
        raise ProfileError(f"{source}: reconstruction.n_iter and nnls_iter must be integers "
                           f">= 0 and momentum a finite number; got n_iter={r['n_iter']!r}, "
                           f"nnls_iter={r['nnls_iter']!r}, momentum={r['momentum']!r}")
    if r["init"] not in ("random", "pghi"):
        raise ProfileError(f"{source}: reconstruction.init must be 'random' (librosa's) or "
                           f"'pghi'; got {r['init']!r}")
    if p["device"] not in ("auto", "cpu", "cuda"):
        raise ProfileError(f"{source}: device must be auto, cpu or cuda; got {p['device']!r}")
    for section in ("train2d", "train1d"):
        t = p[section]
        if t["validation"] not in ("clip", "segment"):
            raise ProfileError(f"{source}: {section}.validation must be 'clip' or 'segment'")
        if t["optimizer"] not in ("adadelta", "adam"):
            raise ProfileError(f"{source}: {section}.optimizer must be 'adadelta' or 'adam'")
        if not 0.0 < t["val_fraction"] < 1.0:
            raise ProfileError(f"{source}: {section}.val_fraction must be between 0 and 1")
        if t["epochs"] < 1 or t["batch_size"] < 1 or not (math.isfinite(t["lr"]) and t["lr"] > 0):
            raise ProfileError(f"{source}: {section}.epochs and batch_size must be positive "
                               f"integers and lr a positive number; got epochs={t['epochs']!r}, "
                               f"batch_size={t['batch_size']!r}, lr={t['lr']!r}")
        if t["schedule"] not in ("constant", "onecycle"):
            raise ProfileError(f"{source}: {section}.schedule must be 'constant' (the paper's) "
                               f"or 'onecycle'; got {t['schedule']!r}")
    w = p["model1d"]
    if w["pooling"] not in ("flatten", "avg", "meanstd"):
        raise ProfileError(f"{source}: model1d.pooling must be 'flatten' (Abdoli et al.'s), "
                           f"'avg' or 'meanstd'; got {w['pooling']!r}")
    if w["first_stride"] < 1:
        raise ProfileError(f"{source}: model1d.first_stride must be a positive integer (2: "
                           f"Abdoli et al.'s); got {w['first_stride']!r}")
    m = p["model2d"]
    if m["head"] not in ("flatten", "meanstd"):
        raise ProfileError(f"{source}: model2d.head must be 'flatten' (the paper's) or "
                           f"'meanstd'; got {m['head']!r}")
    hc = m["head_chunks"]
    if not (isinstance(hc, int) and not isinstance(hc, bool) and hc >= 1):
        raise ProfileError(f"{source}: model2d.head_chunks must be a positive integer (1: the "
                           f"mean and std over the whole segment); got {hc!r}")
    for key in ("input_norm", "input_norm_stft"):
        if m[key] not in ("none", "band") and not (key == "input_norm_stft" and m[key] is None):
            raise ProfileError(f"{source}: model2d.{key} must be 'none' (the paper's) or "
                               f"'band'{', or null: as input_norm' if key != 'input_norm' else ''}"
                               f"; got {m[key]!r}")
    if m["input_pool_kind"] not in ("avg", "max", "power"):
        raise ProfileError(f"{source}: model2d.input_pool_kind must be 'avg', 'max' or 'power'; "
                           f"got {m['input_pool_kind']!r}")
    for key in ("input_pool", "input_pool_stft"):
        pool = m[key]
        if pool is None and key == "input_pool_stft":
            continue
        if not (isinstance(pool, list) and len(pool) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in pool)):
            raise ProfileError(f"{source}: model2d.{key} must be two positive integers "
                               f"[frequency, time] ([1, 1]: no pooling, the paper's)"
                               f"{', or null: as input_pool' if key == 'input_pool_stft' else ''}"
                               f"; got {pool!r}")
    b = p["beyond"]
    if b["segments_per_fold"] < 1 or b["aware_samples"] < 1 or b["aware_n_iter"] < 0 or \
            b["librosa_segments"] < 0 or not b["sweep_gl_iters"] or \
            any(int(n) != n or n < 1 for n in b["sweep_gl_iters"]):
        raise ProfileError(f"{source}: beyond.segments_per_fold and beyond.aware_samples must be "
                           "at least 1, beyond.aware_n_iter and beyond.librosa_segments at least "
                           "0, beyond.sweep_gl_iters a list of positive integers")
    if p["reconstruction"]["batch_size"] < 1 or b["aware_batch_size"] < 1:
        raise ProfileError(f"{source}: reconstruction.batch_size and beyond.aware_batch_size "
                           "must be at least 1")
    if p["corpus"]["clips_per_genre"] < 1 or p["corpus"]["seconds"] <= 0:
        raise ProfileError(f"{source}: corpus.clips_per_genre and corpus.seconds must be positive")


def load_profile(name_or_path: str | os.PathLike | None = None, **overrides) -> Profile:
    """Load a built-in profile by name or a YAML profile file by path, over :data:`DEFAULTS`.

    ``None`` takes the environment variable ``SPECADV_PROFILE``, else ``demo``.
    ``overrides`` are top-level sections or keys given as dicts/values, e.g.
    ``device="cpu"`` or ``corpus={"path": "/data/gtzan"}``.
    """
    name_or_path = name_or_path or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        source = str(path)
        if not path.is_file():
            raise ProfileError(f"{path}: profile file not found; check the path, or name a "
                               f"built-in profile ({', '.join(builtin_profiles())})")
    else:
        path = PROFILE_DIR / f"{name_or_path}.yaml"
        source = str(name_or_path)
        if not path.is_file():
            raise ProfileError(f"unknown profile '{name_or_path}': built-in profiles are "
                               f"{', '.join(builtin_profiles())}, or give a YAML file's path")
    try:
        data = yaml.safe_load(path.read_text()) or {}  # safe_load: values are data, never code
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML ({exc}); fix the file: a profile is plain "
                           "YAML, sections of `key: value`") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: a profile is a mapping of sections; got {type(data).__name__}")
    corpus_path = (data.get("corpus") or {}).get("path") if isinstance(data.get("corpus"),
                                                                      dict) else None
    if isinstance(corpus_path, str) and not Path(corpus_path).expanduser().is_absolute():
        # a relative corpus folder is the profile file's neighbour, wherever the run starts
        data["corpus"]["path"] = str((path.parent / corpus_path).expanduser().resolve())
    merged = _merge(defaults(), data, "", source)
    merged = _merge(merged, overrides, "", "override")
    _validate(merged, source)
    return Profile(merged)


def resolve_profile(profile=None, data=None, device=None) -> Profile:
    """A profile (a name, a YAML path, a :class:`Profile` or ``None``) with the command
    line's overrides: ``data`` (a corpus folder) and ``device``."""
    overrides: dict[str, Any] = {}
    if data:
        overrides["corpus"] = {"kind": "folder", "path": str(Path(data).expanduser().resolve())}
    if device:
        overrides["device"] = device
    if isinstance(profile, Profile):
        merged = {**profile, **overrides}
        if "corpus" in overrides:
            merged["corpus"] = {**profile["corpus"], **overrides["corpus"]}
        return Profile(merged)
    return load_profile(profile, **overrides)
