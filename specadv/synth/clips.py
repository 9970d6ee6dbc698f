"""A clip's identity: its random streams, its arrangement, what it is made of, its name.

A clip depends only on ``(genre, index, seconds, seed)``: :func:`_streams` derives
its two random streams (arrangement, sound) from those alone, so a corpus can be
extended clip by clip.
"""
from __future__ import annotations

import numpy as np

from specadv.constants import GENRES
from specadv.synth.drums import _PIECE_DB
from specadv.synth.genres import _ARRANGERS
from specadv.synth.score import Arrangement, ClipInfo
from specadv.synth.theory import KEY_NAMES

__all__ = ["arrange", "clip_info", "clip_name"]


def _streams(genre: str, index: int, seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Two independent random streams of a clip, from ``(seed, genre, index)`` only."""
    if genre not in GENRES:
        raise ValueError(f"unknown genre {genre!r}; the embedded corpus has {', '.join(GENRES)}")
    if index < 0 or seed < 0:
        raise ValueError(f"index and seed must be non-negative (got index={index}, seed={seed})")
    ss = np.random.SeedSequence([int(seed), GENRES.index(genre), int(index), 0x5EC7AD])
    a, b = ss.spawn(2)
    return np.random.default_rng(a), np.random.default_rng(b)


def arrange(genre: str, index: int, seconds: float = 30.0, seed: int = 0) -> Arrangement:
    """The arrangement of a clip (what is played, by which instruments), as data."""
    if not seconds > 0:
        raise ValueError(f"seconds must be positive (got {seconds})")
    rng, _ = _streams(genre, index, seed)
    s, key, scale, parts, drums, master = _ARRANGERS[genre](rng, seconds)
    # every clip its own mix: levels, sends, recording chain
    for p in parts:
        p.gain_db += rng.normal(0, 2.0)
        p.send = float(np.clip(p.send * rng.uniform(0.6, 1.4), 0, 0.6))
    if drums is not None:
        drums.gain_db += rng.normal(0, 2.0)
        drums.piece_db = {k: drums.piece_db.get(k, 0.0) + rng.normal(0, 2.0) for k in _PIECE_DB}
    master.update(
        tilt_low_db=float(np.clip(rng.normal(0, 2.0), -4, 4)),
        tilt_high_db=float(np.clip(rng.normal(0, 2.0), -4, 4)),
        noise_db=rng.uniform(-75, -55), peak_db=rng.uniform(-3.0, -1.0),
        predelay_s=rng.uniform(0.005, 0.03),
    )
    return Arrangement(genre, s.grid, s.n_bars, key, scale, s.chords, parts, drums, master)


def clip_info(genre: str, index: int, seconds: float = 30.0, seed: int = 0) -> ClipInfo:
    """What clip ``index`` of ``genre`` is made of (tempo, meter, key, instruments), unrendered."""
    a = arrange(genre, index, seconds, seed)
    first_bars = [c.symbol for c in a.chords if c.start < 16 * a.grid.beats_per_bar]
    names = [p.name for p in a.parts] + (["drums"] if a.drums is not None else [])
    return ClipInfo(genre, index, seed, round(a.grid.bpm, 2), a.grid.beats_per_bar,
                    round(a.grid.swing, 3), KEY_NAMES[a.key], a.scale, tuple(first_bars),
                    tuple(names))


def clip_name(genre: str, index: int) -> str:
    """GTZAN's file name of a clip: ``blues.00012.wav``."""
    return f"{genre}.{index:05d}.wav"
