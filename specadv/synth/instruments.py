"""The instruments: band-limited oscillators, envelopes, Karplus-Strong strings, voices.

Plucked strings are Karplus-Strong; organ, strings, brass, reeds and synths are
band-limited wavetables; the electric piano is FM; distorted guitars are detuned
saws (their amplifier is a bus effect); voices are a glottal wavetable through
vowel formants. :func:`_make_instrument` builds one by name: a :data:`Play`
function of ``(frequency Hz, samples held, velocity)``.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np
from scipy import signal

from specadv.constants import SAMPLE_RATE

__all__ = ["Play"]

SR = SAMPLE_RATE
NYQUIST_HZ = SR / 2
_TABLE_SIZE = 8192
# An instrument plays a note: (frequency Hz, samples held, velocity) -> the note and its tail.
Play = Callable[[float, int, float], np.ndarray]


@lru_cache(maxsize=1024)
def _wavetable(amps: tuple[float, ...]) -> np.ndarray:
    """One period of a sum of sine harmonics with amplitudes ``amps`` (1st, 2nd, ...), peak 1."""
    spec = np.zeros(_TABLE_SIZE // 2 + 1, dtype=np.complex128)
    spec[1:len(amps) + 1] = -1j * np.asarray(amps) * (_TABLE_SIZE / 2)
    table = np.fft.irfft(spec, _TABLE_SIZE)
    return (table / np.max(np.abs(table))).astype(np.float32)


def _harmonics(kind: str, hz: float) -> tuple[float, ...]:
    """Harmonic amplitudes of a timbre, band-limited below Nyquist for a fundamental of ``hz``."""
    n = int(max(1, min(64, 0.45 * SR / max(hz, 1.0))))
    k = np.arange(1, n + 1, dtype=np.float64)
    if kind == "saw":
        a = 1 / k
    elif kind == "square":
        a = np.where(k % 2 == 1, 1 / k, 0.0)
    elif kind == "dark":
        a = k ** -2.2
    elif kind == "string":  # a sawtooth with a bridge resonance
        a = k ** -1.1 * (1 + 0.6 * np.exp(-((k * hz - 2800) / 1200) ** 2))
    elif kind == "reed":  # odd harmonics stronger, and a formant near 1.4 kHz
        a = np.where(k % 2 == 1, 1 / k, 0.5 / k) * (1 + 3 * np.exp(-((k * hz - 1400) / 700) ** 2))
    elif kind == "horn":  # a sawtooth with the trumpet's formant near 1.2 kHz
        a = (1 / k) * (1 + 3 * np.exp(-((k * hz - 1200) / 600) ** 2))
    elif kind == "glottal":
        a = k ** -1.4
    elif kind == "organ":  # drawbars over a sub-octave: 16', 8', 5 1/3', 4', 2 2/3', 2', ...
        a = np.zeros(n)
        for h, v in ((1, 0.8), (2, 1.0), (3, 0.6), (4, 0.7), (6, 0.4), (8, 0.5), (10, 0.2),
                     (12, 0.2)):
            if h <= n:
                a[h - 1] = v
    elif kind == "piano":
        a = k ** -1.3 * np.exp(-k * hz / 6000)
    else:
        raise ValueError(f"unknown timbre {kind!r}")
    return tuple(np.round(a, 6))


def _osc(kind: str, hz, n: int, phase0: float = 0.0) -> np.ndarray:
    """A band-limited wavetable oscillator; ``hz`` a number or an array of ``n`` frequencies."""
    table = _wavetable(_harmonics(kind, float(np.max(hz))))
    if np.ndim(hz):
        phase = phase0 + np.cumsum(hz) / SR
    else:
        phase = phase0 + (hz / SR) * np.arange(n)
    return table[(phase * _TABLE_SIZE).astype(np.int64) & (_TABLE_SIZE - 1)]


def _ar(n_hold: int, attack_s: float, release_s: float) -> np.ndarray:
    """Linear attack, hold until ``n_hold``, linear release: the note's envelope, with its tail."""
    na = max(1, int(attack_s * SR))
    nr = max(1, int(release_s * SR))
    hold = max(n_hold, na + 1)
    return np.interp(np.arange(hold + nr), [0, na, hold, hold + nr], [0.0, 1.0, 1.0, 0.0])


def _vibrato(hz: float, n: int, rate_hz: float, depth: float, delay_s: float, rng) -> np.ndarray:
    """Instantaneous frequency with a vibrato of relative ``depth``, fading in after ``delay_s``."""
    t = np.arange(n) / SR
    ramp = np.clip((t - delay_s) / 0.25, 0, 1)
    return hz * (1 + depth * ramp * np.sin(2 * np.pi * rate_hz * t + rng.uniform(0, 2 * np.pi)))


def _bend(f: np.ndarray, semitones: float, seconds: float) -> np.ndarray:
    """Start ``semitones`` below the note and slide up to it in ``seconds``."""
    t = np.arange(len(f)) / SR
    return f * 2 ** (-semitones * np.clip(1 - t / seconds, 0, 1) / 12)


def _karplus_strong(hz: float, n: int, decay_s: float, brightness: float, rng) -> np.ndarray:
    """A plucked string: Karplus-Strong with an integer loop, retuned by resampling.

    The loop runs a period at a time (numpy slices) for long periods and as a sparse
    IIR filter for short ones, whichever is faster.
    """
    period = SR / hz
    loop = max(2, int(period - 0.5))
    p0 = loop + 0.5  # the two-point average adds half a sample of delay
    m = int(np.ceil(n * p0 / period)) + 2
    g = 10 ** (-3 / max(decay_s * hz, 1.0))  # loop gain: -60 dB after decay_s
    exc = rng.uniform(-1, 1, loop)
    a = 1 - 0.9 * brightness  # a one-pole low-pass on the excitation: softer pluck, darker tone
    if a > 0.02:
        exc = signal.lfilter([1 - a], [1, -a], exc)
        if brightness < 0.5:  # twice for the basses: a finger or thumb, not a pick
            exc = signal.lfilter([1 - a], [1, -a], exc)
    exc -= exc.mean()
    if loop < 40:
        x = np.zeros(m)
        x[:loop] = exc[: min(loop, m)]
        den = np.zeros(loop + 2)
        den[0], den[loop], den[loop + 1] = 1.0, -g / 2, -g / 2
        y = signal.lfilter([1.0], den, x)
    else:
        buf = np.zeros(m + 1)
        buf[1:loop + 1] = exc[: min(loop, m)]
        k = 1
        while k * loop < m:
            lo, hi = k * loop + 1, min((k + 1) * loop + 1, m + 1)
            buf[lo:hi] = (0.5 * g) * (buf[lo - loop:hi - loop] + buf[lo - loop - 1:hi - loop - 1])
            k += 1
        y = buf[1:]
    return np.interp(np.arange(n) * (p0 / period), np.arange(m), y)


def _plucked(name, rng, options) -> Play:
    """Guitars, harp and basses: Karplus-Strong strings, damped at the end of the note."""
    decay = {"guitar": options.get("decay_s", 1.2), "muted guitar": 0.12, "harp": 2.0,
             "upright": options.get("decay_s", 0.9), "bass": 1.6}[name] * rng.uniform(0.8, 1.25)
    bright = {"guitar": options.get("brightness", 0.7), "muted guitar": 0.5, "harp": 0.5,
              "upright": 0.15, "bass": 0.22}[name] * rng.uniform(0.85, 1.1)
    damp = int((0.03 if name == "muted guitar" else 0.08) * SR)

    def play(hz, n_hold, vel):
        n = int(min(n_hold, decay * SR * 1.2)) + damp
        y = _karplus_strong(hz, n, decay, min(1.0, bright * (0.7 + 0.4 * vel)), rng)
        return y * _ar(n - damp, 0.001, damp / SR)[:n] * vel
    return play


def _epiano(name, rng, options) -> Play:
    """A Rhodes-like electric piano: two-operator FM with a decaying index, and a tine."""
    ratio = rng.choice([1.0, 1.0, 2.0])
    index = rng.uniform(1.0, 2.5)

    def play(hz, n_hold, vel):
        env = _ar(n_hold, 0.002, 0.12)
        t = np.arange(len(env)) / SR
        mod = index * vel * np.exp(-t / 0.25) * np.sin(2 * np.pi * ratio * hz * t)
        y = np.sin(2 * np.pi * hz * t + mod) * np.exp(-t / (1.6 * (220 / hz) ** 0.4))
        if 14 * hz < NYQUIST_HZ:
            y += 0.15 * vel * np.sin(2 * np.pi * 14 * hz * t) * np.exp(-t / 0.015)
        return y * env * vel
    return play


def _organ(name, rng, options) -> Play:
    """A drawbar organ (additive) with a key click; the Leslie is a bus effect."""
    def play(hz, n_hold, vel):
        env = _ar(n_hold, 0.004, 0.04)
        y = _osc("organ", hz / 2, len(env))
        nc = min(len(y), int(0.003 * SR))
        y[:nc] += rng.normal(0, 0.05, nc)
        return y * env * (0.6 + 0.4 * vel)
    return play


def _clav(name, rng, options) -> Play:
    """A clavinet-like funk keyboard: bright square and saw, quickly decaying."""
    def play(hz, n_hold, vel):
        env = _ar(n_hold, 0.001, 0.04)
        t = np.arange(len(env)) / SR
        y = (_osc("square", hz, len(env)) * np.exp(-t / 0.12)
             + 0.5 * _osc("saw", 2 * hz, len(env)) * np.exp(-t / 0.05))
        return y * env * vel
    return play


def _piano(name, rng, options) -> Play:
    """A piano: a bright, slightly detuned pair of strings fading into a darker sustain."""
    detune = rng.uniform(0.0008, 0.002)

    def play(hz, n_hold, vel):
        tau = float(np.clip(4.0 * (130 / hz) ** 0.6, 0.6, 8.0))  # low strings ring longer
        env = _ar(int(min(n_hold, 3 * tau * SR)), 0.001, 0.15)
        n = len(env)
        t = np.arange(n) / SR
        bright = _osc("piano", hz, n) + _osc("piano", hz * (1 + detune), n, 0.3)
        body = _osc("piano", hz, n, 0.6)
        y = 0.5 * vel * bright * np.exp(-t / (0.25 * tau)) + body * np.exp(-t / tau)
        return y * env * vel
    return play


_SUSTAINED = {  # timbre, attack s, vibrato depth
    "strings": ("string", 0.35, 0.004), "flute": ("dark", 0.06, 0.003),
    "reed": ("reed", 0.03, 0.002), "sax": ("reed", 0.03, 0.004), "brass": ("horn", 0.04, 0.002),
    "harmonica": ("reed", 0.03, 0.006), "steel": ("dark", 0.08, 0.002),
    "synth lead": ("square", 0.01, 0.003),
}


def _sustained(name, rng, options) -> Play:
    """Bowed and blown instruments (and a synth lead): wavetables with vibrato.

    Ensemble strings stack three detuned players; a harmonica or a pedal steel bends
    up into some notes; brass is brighter at the attack; winds breathe.
    """
    kind, attack, depth = _SUSTAINED[name]
    attack = (0.15 if name == "strings" and options.get("solo") else attack) * rng.uniform(0.7, 1.4)
    voices = 3 if name == "strings" and options.get("ensemble") else 1

    def play(hz, n_hold, vel):
        env = _ar(n_hold, attack, 0.05 if name == "synth lead" else 0.2)
        n = len(env)
        y = np.zeros(n)
        for v in range(voices):
            detuned = hz * (1 + 0.004 * (v - 1)) if voices > 1 else hz
            f = _vibrato(detuned, n, rng.uniform(4.8, 6.2), depth, 0.15, rng)
            if name in ("steel", "harmonica") and rng.random() < 0.35:
                f = _bend(f, 1.0, 0.12)
            y += _osc(kind, f, n, rng.random())
        if name == "brass":
            t = np.arange(n) / SR
            bright = np.exp(-t / 0.15)  # brass is brightest at the attack
            y = y * (0.5 + 0.5 * bright) + 0.5 * _osc("dark", hz, n) * (1 - bright)
        if name in ("flute", "sax", "harmonica"):
            y += rng.normal(0, 0.01, n)
        return y * env * vel / voices
    return play


_SAW_DETUNES = {"supersaw": (-0.012, -0.005, 0.0, 0.006, 0.011), "dist guitar": (-0.003, 0.003),
                "synth pluck": (-0.004, 0.004), "synth bass": (0.0,)}


def _saws(name, rng, options) -> Play:
    """Detuned sawtooth voices: supersaw pad, synth pluck, synth bass, and the distorted
    guitar (its tanh amplifier and cabinet are bus effects)."""
    detunes = _SAW_DETUNES[name]
    attack = 0.01 if name == "supersaw" else 0.002
    release = {"supersaw": 0.3, "synth pluck": 0.1, "dist guitar": 0.03}.get(name, 0.04)

    def play(hz, n_hold, vel):
        env = _ar(n_hold, attack, release)
        n = len(env)
        t = np.arange(n) / SR
        y = sum(_osc("saw", hz * (1 + d), n, rng.random()) for d in detunes) / len(detunes)
        if name == "synth pluck":  # a closing filter, approximated by fading to a darker table
            y = y * np.exp(-t / 0.15) + 0.5 * _osc("dark", hz, n) * np.exp(-t / 0.3)
        elif name == "synth bass":
            y = 0.6 * y * np.exp(-t / 0.08) + _osc("dark", hz, n)
        return y * env * vel
    return play


def _lead_guitar(name, rng, options) -> Play:
    """A lead guitar line before its amplifier: a saw with vibrato and bends into notes."""
    def play(hz, n_hold, vel):
        env = _ar(n_hold, 0.002, 0.1)
        f = _vibrato(hz, len(env), 5.5, 0.006, 0.2, rng)
        if rng.random() < 0.3:
            f = _bend(f, 2.0, 0.1)
        return _osc("saw", f, len(env)) * env * vel
    return play


def _sub_bass(name, rng, options) -> Play:
    """Round low basses: the reggae dub bass (sine and octave) and the hip-hop 808 (a
    saturated sine with a pitch drop at the attack and a long decay)."""
    def play(hz, n_hold, vel):
        if name == "808":
            n = int(min(n_hold, 1.2 * SR)) + int(0.05 * SR)
            t = np.arange(n) / SR
            f = hz * (1 + 0.5 * np.exp(-t / 0.03))
            y = np.tanh(1.5 * np.sin(2 * np.pi * np.cumsum(f) / SR)) * np.exp(-t / 0.9)
            return y * _ar(n - int(0.05 * SR), 0.002, 0.05)[:n] * vel
        env = _ar(n_hold, 0.002, 0.04)
        t = np.arange(len(env)) / SR
        return (np.sin(2 * np.pi * hz * t) + 0.25 * np.sin(4 * np.pi * hz * t)) * env * vel
    return play


def _vibes(name, rng, options) -> Play:
    """A vibraphone: a bar's fundamental and fourth partial, with the motor's tremolo."""
    def play(hz, n_hold, vel):
        n = int(min(n_hold + 0.6 * SR, 2.5 * SR))
        t = np.arange(n) / SR
        y = np.sin(2 * np.pi * hz * t) * np.exp(-t / 1.2)
        if 4 * hz < NYQUIST_HZ:
            y += 0.25 * np.sin(2 * np.pi * 4 * hz * t) * np.exp(-t / 0.3)
        y *= 1 + 0.3 * np.sin(2 * np.pi * 5.0 * t)
        return y * _ar(n - int(0.1 * SR), 0.001, 0.1)[:n] * vel
    return play


_VOWELS_HZ = ((730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410),
              (300, 870, 2240))  # a, e, i, o, u: the first three formants of a man's voice


def _formant_bank(female: bool, growl: bool = False) -> list:
    """Two-pole resonators of five vowels (three formants each), scaled for the voice."""
    scale = (1.15 if female else 1.0) * (0.85 if growl else 1.0)
    bank = []
    for formants in _VOWELS_HZ:
        filters = []
        for fc, gain in zip(formants, (1.0, 0.7, 0.4)):
            bw = (60 + 0.06 * fc * scale) * (2.5 if growl else 1.0)
            r = np.exp(-np.pi * bw / SR)
            w = 2 * np.pi * fc * scale / SR
            den = np.array([1, -2 * r * np.cos(w), r * r])
            filters.append((np.array([1 - r, 0, 0]), den, gain))
        bank.append(filters)
    return bank


def _voice(name, rng, options) -> Play:
    """A voice: a glottal wavetable through vowel formants. ``voice`` sings (vibrato);
    ``rap`` speaks (falling pitch, consonants); ``growl`` is a noisy, wide-formant rasp."""
    bank = _formant_bank(bool(options.get("female", False)), growl=name == "growl")

    def play(hz, n_hold, vel):
        env = _ar(n_hold, 0.03 if name == "voice" else 0.01, 0.06)
        n = len(env)
        t = np.arange(n) / SR
        if name == "voice":
            f = _vibrato(hz, n, 5.5, 0.008, 0.25, rng)
        else:
            f = hz * (1 + 0.06 * np.exp(-t / 0.08)) * (1 - 0.05 * t)
        src = _osc("glottal", f, n) + rng.normal(0, 0.3 if name == "growl" else 0.06, n)
        y = np.zeros(n)
        for b, den, gain in bank[int(rng.integers(len(bank)))]:
            y += gain * signal.lfilter(b, den, src)
        y *= env
        if name != "voice" or rng.random() < 0.4:  # a consonant: a short hiss before the vowel
            nc = min(n, int(rng.uniform(0.015, 0.04) * SR))
            hiss = 0.05 if name == "voice" else 0.15
            y[:nc] += rng.normal(0, hiss, nc) * np.linspace(1, 0, nc)
        return y * vel
    return play


_INSTRUMENTS: dict[str, Callable[..., Play]] = {
    "guitar": _plucked, "muted guitar": _plucked, "harp": _plucked, "upright": _plucked,
    "bass": _plucked, "epiano": _epiano, "organ": _organ, "clav": _clav, "piano": _piano,
    **{name: _sustained for name in _SUSTAINED}, **{name: _saws for name in _SAW_DETUNES},
    "lead guitar": _lead_guitar, "dub bass": _sub_bass, "808": _sub_bass, "vibes": _vibes,
    "voice": _voice, "rap": _voice, "growl": _voice,
}


def _make_instrument(name: str, rng, options: dict) -> Play:
    """An instrument by name; it draws its timbre (decays, detune, ...) once from ``rng``."""
    if name not in _INSTRUMENTS:
        raise ValueError(f"unknown instrument {name!r}; known: {', '.join(sorted(_INSTRUMENTS))}")
    return _INSTRUMENTS[name](name, rng, options)


def _sos(kind: str, hz, order: int = 2) -> np.ndarray:
    """A Butterworth filter of ``order`` at ``hz`` (two edges for a band), as second-order
    sections; the drums (:mod:`specadv.synth.drums`) and the mix bus filter with it."""
    return signal.butter(order, hz, btype=kind, fs=SR, output="sos")
