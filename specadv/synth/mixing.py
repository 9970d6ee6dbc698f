"""Rendering and mixing: parts and drums to audio, bus effects, the master bus, a clip.

:func:`render_clip` renders an arrangement (:func:`specadv.synth.clips.arrange`):
each part on its instrument through its bus effects (drive, filters, Leslie,
crackle, delay), the drums on the clip's kit, then the mix bus: a synthetic
reverb, a tilt equaliser, compression, sometimes an old-recording chain, a noise
floor, and the peak normalised to -1 to -3 dBFS.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

from specadv.constants import SAMPLE_RATE
from specadv.synth.clips import _streams, arrange
from specadv.synth.drums import _KIT_PIECE_DB, _PIECE_DB, _drum_kit
from specadv.synth.instruments import _make_instrument, _sos
from specadv.synth.score import Drums, Grid, Part
from specadv.synth.theory import _midi_hz

__all__ = ["render_clip"]

SR = SAMPLE_RATE


def _add(bus: np.ndarray, y: np.ndarray, start: int) -> None:
    """Add ``y`` into ``bus`` at sample ``start`` (either may stick out of the other)."""
    lo = max(start, 0)
    hi = min(start + len(y), len(bus))
    if hi > lo:
        bus[lo:hi] += y[lo - start:hi - start]


def _level_db(x: np.ndarray, frame: int = 2048) -> float:
    """The loudness of a part while it plays, in dB: the RMS over its frames louder than a
    tenth of its loud frames (a gate, as loudness meters use, so rests do not count)."""
    m = len(x) // frame
    if m == 0:
        return 10 * np.log10(np.mean(x * x) + 1e-20)
    ms = np.mean(x[: m * frame].reshape(m, frame) ** 2, axis=1)
    loud = np.percentile(ms, 95)
    if loud <= 0:
        return 10 * np.log10(np.max(ms) + 1e-20)
    return 10 * np.log10(np.mean(ms[ms > 0.01 * loud]) + 1e-20)


def _set_level(x: np.ndarray, level_db: float) -> np.ndarray:
    """``x`` scaled to a loudness of ``level_db`` (see :func:`_level_db`); silence stays silence."""
    if not np.any(x):
        return x
    return x * 10 ** ((level_db - _level_db(x)) / 20)


def _render_part(part: Part, grid: Grid, n: int, rng) -> np.ndarray:
    """A part's notes, humanised, on its instrument, through its bus effects, at its level."""
    bus = np.zeros(n)
    if not part.notes:
        return bus
    play = _make_instrument(part.instrument, rng, part.options)
    notes = np.asarray(part.notes, dtype=np.float64)
    t0 = grid.seconds(notes[:, 0])
    if part.jitter_s:
        t0 = t0 + rng.normal(0, part.jitter_s, len(notes))
    t1 = grid.seconds(notes[:, 0] + notes[:, 1])
    vel = np.clip(notes[:, 3] * rng.uniform(0.88, 1.0, len(notes)), 0.05, 1.0)
    hz = _midi_hz(notes[:, 2])
    for k in range(len(notes)):
        start = int(round(t0[k] * SR))
        if start >= n or t1[k] < -3.0:
            continue
        n_hold = max(int((t1[k] - t0[k]) * SR), 64)
        _add(bus, play(float(hz[k]), n_hold, float(vel[k])), start)
    bus = _bus_fx(bus, part.fx, grid, rng)
    return _set_level(bus, part.gain_db)


def _bus_fx(x: np.ndarray, fx: tuple, grid: Grid, rng) -> np.ndarray:
    """A part's effects, in order: drive, lowpass, leslie, crackle, delay (in beats)."""
    for effect in fx:
        name = effect[0]
        if name == "drive":
            # a guitar amplifier: high-pass, tanh waveshaper, cabinet low-pass (next effect)
            x = signal.sosfilt(_sos("highpass", 90), x)
            peak = np.max(np.abs(x)) or 1.0
            x = np.tanh(effect[1] * x / peak) / np.tanh(effect[1]) * peak
        elif name == "lowpass":
            x = signal.sosfilt(_sos("lowpass", effect[1], 4), x)
        elif name == "leslie":
            t = np.arange(len(x)) / SR
            x = x * (1 + 0.25 * effect[1] * np.sin(2 * np.pi * rng.uniform(5.5, 7.0) * t))
        elif name == "crackle":
            # a sampled record: clicks and a little hiss
            clicks = (rng.random(len(x)) < 8.0 / SR) * rng.normal(0, 1, len(x))
            level = np.sqrt(np.mean(x ** 2)) or 1e-3
            x = x + level * effect[1] * (2.0 * signal.sosfilt(_sos("highpass", 1500), clicks) +
                                         0.05 * rng.standard_normal(len(x)))
        elif name == "delay":
            d = int(effect[1] * 60 / grid.bpm * SR)
            out = x.copy()
            echo = signal.sosfilt(_sos("lowpass", 3000), x)
            for k in range(1, 6):
                if k * d >= len(x):
                    break
                out[k * d:] += effect[2] ** k * echo[: len(x) - k * d]
            x = out
        else:
            raise ValueError(f"unknown effect {name!r}")
    return x


def _render_drums(drums: Drums, grid: Grid, n: int, rng) -> np.ndarray:
    """The drum hits (humanised) on the clip's synthesised kit, at the drums' level."""
    kit = _drum_kit(drums.kit, rng)
    bus = np.zeros(n)
    for piece, hits in drums.hits.items():
        if not hits:
            continue
        sample = kit[piece] / np.max(np.abs(kit[piece]))
        level_db = _PIECE_DB[piece] + _KIT_PIECE_DB.get(drums.kit, {}).get(piece, 0.0)
        sample = sample * 10 ** ((level_db + drums.piece_db.get(piece, 0.0)) / 20)
        h = np.asarray(hits)
        t = grid.seconds(h[:, 0]) + rng.normal(0, drums.jitter_s, len(h))
        vel = np.clip(h[:, 1] * rng.uniform(0.85, 1.0, len(h)), 0.0, 1.0)
        for tk, vk in zip(t, vel):
            start = int(round(tk * SR))
            if -len(sample) < start < n:
                _add(bus, vk * sample, start)
    return _set_level(bus, drums.gain_db)


def _reverb_ir(rt60: float, predelay_s: float, rng) -> np.ndarray:
    """A synthetic room: exponentially decaying noise, highs decaying faster, a few early echoes."""
    n = int(min(rt60, 2.5) * SR)
    t = np.arange(n) / SR
    nz = rng.standard_normal(n)
    low = signal.sosfilt(_sos("lowpass", 2500, 2), nz)
    ir = low * np.exp(-6.91 * t / rt60) + 0.5 * (nz - low) * np.exp(-6.91 * t / (0.4 * rt60))
    for d, g in zip(rng.uniform(0.005, 0.04, 5), rng.uniform(0.3, 0.8, 5)):
        ir[int(d * SR)] += g * 3
    ir /= np.sqrt(np.sum(ir ** 2))
    return np.concatenate([np.zeros(int(predelay_s * SR)), ir])


def _dynamics_curve(n: int, depth_db: float, rng) -> np.ndarray:
    """Slow crescendos and diminuendos: a smooth random curve between -depth_db and 0 dB."""
    step_s = rng.uniform(4, 8)
    db = -depth_db * rng.random(int(n / SR / step_s) + 2)
    pos = np.arange(n) / SR / step_s
    k = pos.astype(np.int64)
    f = pos - k
    curve = db[k] + (db[k + 1] - db[k]) * f * f * (3 - 2 * f)  # smoothstep between knots
    return 10 ** (curve / 20)


def _master(x: np.ndarray, send: np.ndarray, m: dict, rng) -> np.ndarray:
    """The mix bus: reverb, tilt EQ, compression, recording chain, noise floor, peak level."""
    n = len(x)
    ir = _reverb_ir(m["rt60"], m["predelay_s"], rng)
    wet = signal.oaconvolve(send, ir)[:n]
    x = x + m["wet"] * 3.0 * wet
    # tilt EQ: shelves built from a band split
    low = signal.sosfilt(_sos("lowpass", 250, 1), x)
    high = signal.sosfilt(_sos("highpass", 3000, 1), x)
    x = x + (10 ** (m["tilt_low_db"] / 20) - 1) * low + (10 ** (m["tilt_high_db"] / 20) - 1) * high
    if m.get("dynamics_db"):
        x = x * _dynamics_curve(n, m["dynamics_db"], rng)
    ratio = m.get("compress", 1.0)
    if ratio > 1.0:
        env = np.sqrt(np.maximum(signal.sosfilt(_sos("lowpass", 12, 1), x * x), 1e-12))
        thr = np.sqrt(np.mean(x * x)) * 0.7
        x = x * np.minimum(1.0, (env / thr) ** (1 / ratio - 1))
    if m.get("drive"):
        peak = np.max(np.abs(x)) or 1.0
        d = 1 + 2 * m["drive"]
        x = np.tanh(d * x / peak) / np.tanh(d) * peak
    rms = np.sqrt(np.mean(x * x)) or 1e-6
    if m.get("lofi"):
        # an old recording: narrow band, hiss and crackle
        x = x + rms * (10 ** (rng.uniform(-40, -28) / 20) * rng.standard_normal(n) +
                       0.5 * (rng.random(n) < 4 / SR) * rng.normal(0, 1, n))
        x = signal.sosfilt(_sos("bandpass", [rng.uniform(80, 200), rng.uniform(3500, 7000)], 2), x)
    x = x + rms * 10 ** (m["noise_db"] / 20) * rng.standard_normal(n)
    x = signal.sosfilt(_sos("highpass", 30), x)  # no DC, no subsonic rumble
    return x * (10 ** (m["peak_db"] / 20) / (np.max(np.abs(x)) or 1.0))


def render_clip(genre: str, index: int, seconds: float = 30.0, seed: int = 0) -> np.ndarray:
    """Render clip ``index`` of ``genre`` of the embedded corpus.

    Parameters
    ----------
    genre : str
        One of :data:`specadv.data.GENRES`.
    index : int
        The clip's number within its genre (0, 1, ...).
    seconds : float
        Duration; the clip has ``round(seconds * 22050)`` samples.
    seed : int
        The corpus seed. The clip depends only on ``(genre, index, seconds, seed)``.

    Returns
    -------
    np.ndarray
        float32 mono audio at 22050 Hz, shape ``(n_samples,)``, peak between
        -3 and -1 dBFS.

    Examples
    --------
    >>> y = render_clip("reggae", 0, seconds=6.0)
    >>> y.shape, y.dtype
    ((132300,), dtype('float32'))
    """
    a = arrange(genre, index, seconds, seed)
    _, rng = _streams(genre, index, seed)
    n = int(round(seconds * SR))
    mix = np.zeros(n)
    send = np.zeros(n)
    for part in a.parts:
        y = _render_part(part, a.grid, n, rng)
        mix += y
        send += part.send * y
    if a.drums is not None:
        y = _render_drums(a.drums, a.grid, n, rng)
        mix += y
        send += a.drums.send * y
    return _master(mix, send, a.master, rng).astype(np.float32)
