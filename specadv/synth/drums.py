"""The drum kit of a clip, synthesised: kick, snare, hats, cymbals, toms, claps, ...

Pitch-swept sine kicks, noise-and-tone snares, high-passed noise hats, inharmonic
rides and crashes, in six kits (acoustic, jazz, brushes, 808, metal, disco), and the
level of each piece in the mix.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

from specadv.constants import SAMPLE_RATE
from specadv.synth.instruments import _sos

__all__: list[str] = []

SR = SAMPLE_RATE


def _drum_kit(kit: str, rng) -> dict[str, np.ndarray]:
    """The drum sounds of a clip, synthesised once: kick, snare, hats, ride, crash, toms, ..."""
    def t_of(seconds):
        return np.arange(int(seconds * SR)) / SR

    def noise(seconds, band=None, kind="bandpass", order=2):
        x = rng.standard_normal(int(seconds * SR))
        return x if band is None else signal.sosfilt(_sos(kind, band, order), x)

    def kick():  # a sine swept down from about 170 Hz to about 50 Hz, and a beater click
        t = t_of(1.2 if kit == "808" else 0.5)
        f_end, f_start = rng.uniform(42, 58), rng.uniform(120, 220)
        f = f_end + (f_start - f_end) * np.exp(-t / rng.uniform(0.015, 0.045))
        tau = rng.uniform(0.4, 0.8) if kit == "808" else rng.uniform(0.12, 0.3)
        y = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t / tau)
        click = noise(0.004, 2000, "highpass")
        y[: len(click)] += click * (1.5 if kit == "metal" else 0.5)
        return np.tanh(1.3 * y) if kit in ("808", "metal") else y

    def snare():  # the drum's two modes and the wires' noise
        t = t_of(0.4)
        f1 = rng.uniform(170, 240)
        tone = (0.5 * np.sin(2 * np.pi * f1 * t) * np.exp(-t / 0.04)
                + 0.3 * np.sin(2 * np.pi * 1.6 * f1 * t) * np.exp(-t / 0.025))
        wires = noise(0.4, [rng.uniform(900, 1800), 9000]) * np.exp(-t / rng.uniform(0.08, 0.2))
        if kit == "brushes":
            return wires * np.exp(-t / 0.05)
        return tone * (0.3 if kit == "808" else 1.0) + 1.2 * wires

    def hat(open_):  # high-passed noise and the 808's six square waves
        t = t_of(0.5 if open_ else 0.12)
        metal = sum(np.sign(np.sin(2 * np.pi * f * t))
                    for f in (205.3, 304.4, 369.6, 522.7, 540.0, 800.0))
        y = signal.sosfilt(_sos("highpass", rng.uniform(6000, 8000), 4),
                           0.6 * rng.standard_normal(len(t)) + 0.1 * metal)
        return y * np.exp(-t / (rng.uniform(0.2, 0.35) if open_ else rng.uniform(0.02, 0.05)))

    def cymbal(seconds, highpass_hz, partials, lowest_hz=2500):  # noise, inharmonic partials
        t = t_of(seconds)
        y = noise(seconds, highpass_hz, "highpass", 4) * np.exp(-t / (seconds / 3))
        for f in rng.uniform(lowest_hz, 3 * lowest_hz, partials):
            y += 0.15 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) * np.exp(-t / (seconds / 2))
        return y

    def tom(f0):
        t = t_of(0.45)
        f = f0 * (1 + 0.4 * np.exp(-t / 0.02))
        return np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t / 0.18)

    def clap():  # three quick bursts of band-passed noise and a short tail
        t = t_of(0.3)
        env = np.exp(-t / 0.08)
        for d in (0.0, 0.011, 0.022):
            env += (t >= d) * np.exp(-np.maximum(t - d, 0) / 0.004) * 1.5
        return noise(0.3, [900, 3500]) * env

    def rim():
        t = t_of(0.06)
        return (np.sin(2 * np.pi * rng.uniform(1500, 2000) * t)
                + noise(0.06, [2000, 5000])) * np.exp(-t / 0.012)

    return {
        "kick": kick(), "snare": snare(), "hat": hat(False), "ohat": hat(True),
        "ride": (cymbal(1.0, 5000, 3) if kit == "brushes" else
                 cymbal(1.5, 3000, 8, 900) if kit == "jazz" else cymbal(1.2, 4000, 6)),
        "crash": cymbal(2.0, 2500, 4), "tom_hi": tom(rng.uniform(160, 220)),
        "tom_lo": tom(rng.uniform(90, 130)), "clap": clap(), "rim": rim(),
        "tambourine": hat(False), "pedal hat": hat(False),
        "swish": noise(0.3, [1500, 6000]) * np.hanning(int(0.3 * SR)),
    }


# Level of each piece (dB, relative to its peak) in the kit, and the kits' own balance.
_PIECE_DB = {"kick": 0.0, "snare": -2.0, "hat": -17.0, "ohat": -20.0, "ride": -19.0,
             "crash": -16.0, "tom_hi": -4.0, "tom_lo": -4.0, "clap": -4.0, "rim": -8.0,
             "tambourine": -21.0, "pedal hat": -18.0, "swish": -6.0}
_KIT_PIECE_DB = {"metal": {"kick": -7.0, "crash": 4.0, "snare": 3.0}, "jazz": {"kick": -8.0},
                 "brushes": {"kick": -6.0}, "808": {"kick": 2.0}}
