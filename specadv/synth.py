"""The embedded procedural corpus: GTZAN-shaped synthetic music in ten styles.

GTZAN cannot be downloaded or redistributed, so the project ships a generator of a
corpus with its layout: ``<out_dir>/<genre>/<genre>.000NN.wav``, 22050 Hz, mono,
16-bit PCM, ten genres in GTZAN's label order.

- :func:`render_clip` renders one clip as float32 audio in [-1, 1]; it depends only
  on ``(genre, index, seconds, seed)``, not on how many clips are written, so a
  corpus can be extended clip by clip;
- :func:`clip_info` says what a clip is made of (tempo, meter, key, scale,
  instruments) without rendering it;
- :func:`write_corpus` writes a whole corpus, each file atomically.

A clip is an arrangement rendered by a small synthesiser, numpy and scipy.signal
only. :func:`arrange` draws, from a seed derived from ``(seed, genre, index)``, a
tempo, a meter and swing, a key and a scale, a chord progression, drum patterns,
a bass line, an accompaniment and a melody (a motif repeated and varied over the
chords), and the instruments that play them. The rendering draws its own noise
from a second stream: drums are synthesised (pitch-swept sine kick, noise and
tone snare, high-passed noise hats, inharmonic rides and crashes); plucked
strings are Karplus-Strong; organ, strings, brass, reeds and synths are
band-limited wavetables; the electric piano is FM; distorted guitars are detuned
saws through a tanh waveshaper and a cabinet filter; voices are a glottal
wavetable through vowel formants. A mix bus adds a synthetic reverb, an
equaliser tilt, compression, sometimes an old-recording chain (band limit, hiss,
crackle) and a noise floor, and normalises the peak to -1 to -3 dBFS.

The ten styles differ as the genres do (tempo, meter feel and swing, drum
pattern, bass line, harmony and scale, timbres, dynamics, reverb) and overlap as
they do (rock, metal and pop share distorted guitars and backbeats; blues, jazz
and country share swing, walking bass and plucked guitars), and every clip draws
its own key, tempo, instrumentation, mix and recording chain, so a classifier has
to learn the styles, not memorise clips: time-averaged log-Mel statistics with a
logistic regression recognise about 65-80% of the clips (chance: 10%). A 30-s clip
renders in about 0.3 s on one core, some 100 times faster than real time (see
``benchmarks/corpus.py``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import signal

from specadv.data import GENRES, SAMPLE_RATE

__all__ = ["Arrangement", "ClipInfo", "arrange", "clip_info", "clip_name", "render_clip",
           "write_corpus"]

SR = SAMPLE_RATE
NYQUIST_HZ = SR / 2
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "major pentatonic": (0, 2, 4, 7, 9),
    "minor pentatonic": (0, 3, 5, 7, 10),
}
CHORDS: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7), "m": (0, 3, 7), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10), "9": (0, 4, 7, 10, 14), "m9": (0, 3, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14), "m7b5": (0, 3, 6, 10), "dim7": (0, 3, 6, 9),
    "5": (0, 7, 12), "sus4": (0, 5, 7), "add9": (0, 4, 7, 14), "13": (0, 4, 10, 14, 21),
    "6": (0, 4, 7, 9),
}
# Progressions: (semitones above the key, chord quality, length in bars).
Progression = tuple[tuple[int, str, float], ...]


def _prog(text: str, bars: float = 1.0) -> Progression:
    """``"0:7 5:7"`` -> ((0, "7", 1.0), (5, "7", 1.0)): root above the key, quality, bars;
    ``"0:m9*2"`` lasts twice as long."""
    out = []
    for tok in text.split():
        length = bars
        if "*" in tok:
            tok, mult = tok.split("*")
            length = bars * float(mult)
        root, quality = tok.split(":")
        out.append((int(root), quality, length))
    return tuple(out)


# ---------------------------------------------------------------------------------------
# Arrangement: what is played, as data
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grid:
    """Beat positions to seconds: tempo (with a slow drift), swing, and a pickup offset.

    ``swing`` is where the off-beat eighth falls inside a beat (0.5 straight, 2/3 a
    triplet shuffle); ``swing16`` the same for the off-beat sixteenth inside an eighth.
    """

    bpm: float
    beats_per_bar: int
    swing: float
    swing16: float
    beat_times_s: np.ndarray  # seconds at beats 0, 1, 2, ... (already shifted by the pickup)

    def seconds(self, beats) -> np.ndarray:
        b = np.asarray(beats, dtype=np.float64)
        whole = np.floor(b)
        f = b - whole
        # sixteenth swing inside each eighth, then eighth swing inside the beat
        e = np.floor(f * 2)
        h = f * 2 - e
        h = _swing_map(h, self.swing16)
        f = _swing_map((e + h) / 2, self.swing)
        idx = np.arange(len(self.beat_times_s), dtype=np.float64)
        return np.interp(whole + f, idx, self.beat_times_s)


def _swing_map(f: np.ndarray, swing: float) -> np.ndarray:
    """Move the middle of a unit interval to ``swing``, linearly on both sides."""
    return np.where(f < 0.5, f / 0.5 * swing, swing + (f - 0.5) / 0.5 * (1 - swing))


@dataclass(frozen=True)
class Chord:
    """A chord of the progression: where it sounds (beats) and its pitch classes."""

    start: float
    length: float
    root: int  # pitch class 0-11
    quality: str

    @property
    def pcs(self) -> tuple[int, ...]:
        return tuple(sorted({(self.root + i) % 12 for i in CHORDS[self.quality]}))

    @property
    def symbol(self) -> str:
        return KEY_NAMES[self.root] + self.quality


@dataclass
class Part:
    """One instrument's notes: ``(beat, duration_beats, midi, velocity)`` rows."""

    name: str
    instrument: str
    notes: list = field(default_factory=list)
    gain_db: float = 0.0
    send: float = 0.2  # reverb send
    fx: tuple = ()  # bus effects, applied in order, e.g. (("drive", 8.0), ("lowpass", 4000.0))
    jitter_s: float = 0.006  # humanised timing (standard deviation)
    options: dict = field(default_factory=dict)  # instrument options, e.g. {"decay_s": 1.2}


@dataclass
class Drums:
    """Drum hits: piece name -> list of ``(beat, velocity)``; the kit's flavour and mix."""

    hits: dict = field(default_factory=dict)
    kit: str = "acoustic"  # acoustic, jazz, 808, metal, disco, brushes
    gain_db: float = 0.0
    piece_db: dict = field(default_factory=dict)
    send: float = 0.15
    jitter_s: float = 0.004

    def add(self, piece: str, beat: float, vel: float) -> None:
        self.hits.setdefault(piece, []).append((float(beat), float(vel)))


@dataclass
class Arrangement:
    """A whole clip as data: the timing grid, the harmony, the parts and the mix settings."""

    genre: str
    grid: Grid
    n_bars: int
    key: int
    scale: str
    chords: list
    parts: list
    drums: Drums | None
    master: dict


@dataclass(frozen=True)
class ClipInfo:
    """What a clip of the embedded corpus is made of."""

    genre: str
    index: int
    seed: int
    bpm: float
    beats_per_bar: int
    swing: float
    key: str
    scale: str
    progression: tuple[str, ...]
    instruments: tuple[str, ...]


class _Song:
    """Helpers shared by the genre arrangers: the grid, the harmony and a random stream."""

    def __init__(self, rng: np.random.Generator, seconds: float, bpm: float, beats_per_bar: int,
                 swing: float = 0.5, swing16: float = 0.5, drift: float = 0.0):
        self.rng = rng
        self.bpb = beats_per_bar
        self.bpm = bpm
        beat_s = 60.0 / bpm
        pickup_beats = float(rng.integers(0, beats_per_bar)) + rng.choice([0.0, 0.0, 0.5])
        n_beats = int(np.ceil(seconds / beat_s + pickup_beats)) + 4 * beats_per_bar
        self.n_bars = int(np.ceil(n_beats / beats_per_bar))
        n_beats = self.n_bars * beats_per_bar
        k = np.arange(n_beats + 1, dtype=np.float64)
        # tempo drift: two slow sinusoids (rubato for classical, a live band's push and pull)
        wobble = np.zeros(n_beats + 1)
        if drift > 0:
            for period in rng.uniform(6, 24, 2):
                wobble += drift * np.sin(2 * np.pi * k / period + rng.uniform(0, 2 * np.pi)) / 2
        durations = beat_s * (1 + wobble[:-1])
        times = np.concatenate([[0.0], np.cumsum(durations)])
        times -= np.interp(pickup_beats, k, times)
        self.grid = Grid(bpm, beats_per_bar, swing, swing16, times)
        self.chords: list[Chord] = []

    @property
    def n_beats(self) -> int:
        return self.n_bars * self.bpb

    def set_progression(self, key: int, prog: Progression) -> None:
        chords, t, i = [], 0.0, 0
        while t < self.n_beats:
            root, quality, bars = prog[i % len(prog)]
            chords.append(Chord(t, bars * self.bpb, (key + root) % 12, quality))
            t += bars * self.bpb
            i += 1
        self.chords = chords

    def chord_at(self, beat: float) -> Chord:
        for c in reversed(self.chords):
            if c.start <= beat + 1e-9:
                return c
        return self.chords[0]

    def beats_of_seconds(self, s: float) -> float:
        return s * self.bpm / 60.0


# ---------------------------------------------------------------------------------------
# Pitch helpers
# ---------------------------------------------------------------------------------------
def _midi_hz(m) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=np.float64) - 69.0) / 12.0)


def _nearest_pc(m: float, pcs) -> int:
    """The MIDI note nearest to ``m`` whose pitch class is in ``pcs``."""
    best = None
    for pc in pcs:
        c = int(round(m)) + ((pc - int(round(m))) % 12)
        for cand in (c - 12, c):
            if best is None or abs(cand - m) < abs(best - m):
                best = cand
    return int(best)


def _place(pc: int, low: int) -> int:
    """The lowest MIDI note of pitch class ``pc`` at or above ``low``."""
    return low + ((pc - low) % 12)


def _voicing(chord: Chord, center: int, n_voices: int = 4, rootless: bool = False) -> list[int]:
    """Chord tones in the octave around ``center`` (at most ``n_voices``; a triad at least)."""
    ivs = list(CHORDS[chord.quality])
    if rootless and len(ivs) >= 4:
        ivs = ivs[1:]
    pcs = [(chord.root + i) % 12 for i in ivs][:n_voices]
    notes = sorted({center - 6 + ((pc - (center - 6)) % 12) for pc in pcs})
    while len(notes) < min(n_voices, 3):
        notes.append(notes[0] + 12)
    return notes


def _scale_notes(key: int, scale: str, low: int, high: int) -> np.ndarray:
    pcs = {(key + i) % 12 for i in SCALES[scale]}
    return np.array([m for m in range(low, high + 1) if m % 12 in pcs])


# ---------------------------------------------------------------------------------------
# Note generators: melody, bass, accompaniment, drums
# ---------------------------------------------------------------------------------------
def _rhythm(rng, n_beats: float, density: float, step: float) -> list[tuple[float, float]]:
    """Onsets on a grid of ``step`` beats, denser on the beats; each note lasts to the next
    (two beats at most), and the phrase ends with a breath."""
    slots = np.round(np.arange(0.0, n_beats, step), 6)
    p = np.where(slots % 1 == 0, density + 0.15, density * 0.8)
    p[0] = max(p[0], 0.8)
    on = rng.random(len(slots)) < np.clip(p, 0, 0.97)
    on[0] = True
    onsets = slots[on]
    if len(onsets) > 1 and onsets[-1] > n_beats - 1.5:
        onsets = onsets[:-1]
    ends = np.append(onsets[1:], min(n_beats, onsets[-1] + 2.0))
    return [(float(o), float(min(e - o, 2.0))) for o, e in zip(onsets, ends)]


def melody(song: _Song, key: int, scale: str, low: int, high: int, *, density: float = 0.5,
           step: float = 0.5, phrase_bars: int = 2, form: str = "AABA", chord_tone_p: float = 0.75,
           leap_p: float = 0.12, legato: float = 0.92, vel: float = 0.8, play_mask=None,
           chromatic_p: float = 0.0) -> list:
    """A melody: a motif of ``phrase_bars`` bars repeated and varied over the chords.

    The motif is a rhythm and a walk in scale steps; each time it is played it is
    anchored on a tone of the current chord and strong-beat notes are drawn to
    chord tones. ``form`` lists which motif each phrase plays (a letter per phrase);
    ``play_mask`` (a function of the bar index) leaves bars silent (call and response).
    """
    rng = song.rng
    notes_scale = _scale_notes(key, scale, low, high)
    bpb = song.bpb
    motifs: dict[str, tuple[list, list]] = {}
    out = []
    pos = float(np.median(notes_scale))
    phrase_len = phrase_bars * bpb
    n_phrases = int(np.ceil(song.n_beats / phrase_len))
    for ph in range(n_phrases):
        letter = form[ph % len(form)]
        if letter not in motifs or (ph >= len(form) and rng.random() < 0.25):
            rhythm = _rhythm(rng, phrase_len, density, step)
            steps = rng.choice([-2, -1, -1, 0, 1, 1, 2], size=len(rhythm))
            leaps = rng.random(len(rhythm)) < leap_p
            steps = np.where(leaps, rng.choice([-4, -3, 3, 4], size=len(rhythm)), steps)
            motifs[letter] = (rhythm, list(steps))
        rhythm, steps = motifs[letter]
        t0 = ph * phrase_len
        chord = song.chord_at(t0)
        # anchor: a chord tone near the previous position, pulled towards the middle of the range
        centre = (pos + np.median(notes_scale)) / 2
        anchor = _nearest_pc(centre + rng.normal(0, 2), chord.pcs)
        idx = int(np.argmin(np.abs(notes_scale - anchor)))
        for (onset, dur), s in zip(rhythm, steps):
            beat = t0 + onset
            if beat >= song.n_beats:
                break
            if play_mask is not None and not play_mask(int(beat // bpb)):
                continue
            idx = int(np.clip(idx + s, 0, len(notes_scale) - 1))
            # keep inside the range by reflecting at its ends
            if idx in (0, len(notes_scale) - 1):
                idx = int(np.clip(idx - 2 * np.sign(s), 0, len(notes_scale) - 1))
            m = int(notes_scale[idx])
            c = song.chord_at(beat)
            if onset % 1 == 0 and rng.random() < chord_tone_p:
                m = _nearest_pc(m, c.pcs)
                idx = int(np.argmin(np.abs(notes_scale - m)))
            if chromatic_p and onset % 1 == 0 and rng.random() < chromatic_p and len(out):
                # bebop flavour: a chromatic approach note just before the chord tone
                out.append((beat - step / 2, step / 2, m + rng.choice([-1, 1]), vel * 0.7))
            accent = 1.0 if onset % 1 == 0 else 0.85
            out.append((beat, dur * legato, m, vel * accent))
            pos = m
    return out


def bass_line(song: _Song, style: str, low: int = 28, vel: float = 0.85) -> list:
    """A bass line over the chords in one of the genres' idioms.

    ``style``: ``root8`` (driving eighths), ``boom_chick``
    (root and fifth on 1 and 3 with walk-ups), ``walking`` (jazz quarters with
    approach notes), ``boogie`` (blues eighths 1-3-5-6-b7-6-5-3), ``octave`` (disco
    octaves), ``reggae`` (a melodic riff with rests), ``follow`` (long notes on the
    chord changes with pushes), ``whole`` (held roots).
    """
    rng, bpb = song.rng, song.bpb
    out = []
    riff = prev = None
    for bar in range(song.n_bars):
        b0 = bar * bpb
        c = song.chord_at(b0)
        root = _place(c.root, low)
        third = root + (3 if "m" in c.quality and "maj" not in c.quality else 4)
        fifth = root + 7
        nxt = _place(song.chord_at(b0 + bpb).root, low)
        if style == "root8":
            for k in range(2 * bpb):
                m = root + (12 if (k == 2 * bpb - 1 and rng.random() < 0.3) else 0)
                out.append((b0 + k / 2, 0.45, m, vel * (1.0 if k % 2 == 0 else 0.8)))
        elif style == "boom_chick":
            out.append((b0, 0.9, root, vel))
            out.append((b0 + 2, 0.9, fifth - 12 if fifth - 12 >= low else fifth, vel * 0.9))
            if nxt != root and rng.random() < 0.6:  # walk up (or down) into the next chord
                d = 1 if nxt > root else -1
                out.append((b0 + 3, 0.45, nxt - 2 * d, vel * 0.8))
                out.append((b0 + 3.5, 0.45, nxt - d, vel * 0.8))
            else:
                out.append((b0 + 3, 0.9, third, vel * 0.8))
        elif style == "walking":
            # mostly stepwise: chord and scale tones along a path to the next root, which
            # the last beat approaches from a semitone (or a tone) away
            if prev is not None:  # the octave of the root nearest the last note
                root = min((root + o for o in (-12, 0, 12, 24) if low - 2 <= root + o <= low + 24),
                           key=lambda r: abs(r - prev))
            targets = [nxt + 12 * o for o in range(-1, 4) if low - 2 <= nxt + 12 * o <= low + 22]
            target = min(targets, key=lambda t: abs(t - root) + 0.5 * abs(t - (low + 9)))
            if target == root:
                target = root + int(rng.choice([-5, 7, 5]))
            pool = np.array(sorted({root + i + o for i in CHORDS[c.quality][:4] + (2, 5, 9)
                                    for o in (-12, 0, 12)}))
            line = [root]
            for k in range(1, bpb - 1):
                want = root + (target - root) * k / (bpb - 1) + rng.normal(0, 1.5)
                dist = np.abs(pool - want) + 100 * (pool == line[-1])  # no repeated notes
                line.append(int(pool[np.argmin(dist)]))
            line.append(target + int(rng.choice([-1, 1, -1, 1, -2, 2])))
            for k, m in enumerate(line[:bpb]):
                out.append((b0 + k, 0.85, m, vel * (1.0 if k == 0 else 0.85)))
            prev = line[-1]
        elif style == "boogie":
            seven = root + (10 if "maj" not in c.quality else 11)
            seq = [root, third, fifth, root + 9, seven, root + 9, fifth, third]
            for k in range(2 * bpb):
                out.append((b0 + k / 2, 0.45, seq[k % 8], vel * (1.0 if k % 2 == 0 else 0.8)))
        elif style == "octave":
            for k in range(2 * bpb):
                m = root + (12 if k % 2 else 0)
                out.append((b0 + k / 2, 0.35, m, vel * (0.95 if k % 2 else 1.0)))
        elif style == "reggae":
            if riff is None or rng.random() < 0.15:
                n = int(rng.integers(3, 6))
                onsets = np.sort(rng.choice(np.arange(0.5, bpb, 0.5), size=n, replace=False))
                if rng.random() < 0.5:
                    onsets = np.concatenate([[0.0], onsets[:-1]])
                degs = rng.choice([0, 0, 3, 5, 7, 7, 10, 12], size=len(onsets))
                riff = list(zip(onsets, degs))
            for i, (o, d) in enumerate(riff):
                end = riff[i + 1][0] if i + 1 < len(riff) else bpb
                iv = {3: third - root, 10: 10}.get(int(d), int(d))
                out.append((b0 + o, 0.85 * (end - o), root + iv, vel))
        elif style == "follow":
            out.append((b0, bpb * 0.45, root, vel))
            for o in (1.5, 2.5, 3.25):
                if o < bpb and rng.random() < 0.5:
                    out.append((b0 + o, 0.5, root + int(rng.choice([0, 0, 7, 12, 10])), vel * 0.85))
        elif style == "whole":
            out.append((b0, bpb * 0.95, root, vel))
        else:
            raise ValueError(f"bass_line: unknown style {style!r}")
    return out


def comp(song: _Song, style: str, center: int = 60, n_voices: int = 4, vel: float = 0.7,
         pattern: str | None = None, strum_s: float = 0.0, rootless: bool = False) -> list:
    """Chords over the progression, as the accompaniment of a genre plays them.

    ``style``: ``pad`` (held for each chord), ``pattern`` (hits where ``pattern`` has a
    mark, one character a sixteenth, e.g. the off-beat skank ``"..x...x...x...x."``;
    ``X`` accent, ``x`` normal, ``o`` soft, ``s``/``S`` short),
    ``arp`` (a broken chord in eighths or sixteenths, ``pattern`` ``"8"`` or ``"16"``),
    ``alberti`` (classical low-high-middle-high), ``jazz`` (syncopated comping),
    ``shuffle`` (the blues guitar's root-fifth / root-sixth), ``power`` (power chords
    in eighths). ``strum_s`` spreads the voices of a chord in time like a strum.
    """
    rng, bpb = song.rng, song.bpb
    out = []
    strum_b = song.beats_of_seconds(strum_s)

    def chord_notes(beat, dur, notes, v, down=True):
        order = notes if down else notes[::-1]
        for i, m in enumerate(order):
            out.append((beat + i * strum_b, max(dur - i * strum_b, 0.05), m, v * (1 - 0.04 * i)))

    if style == "pad":
        for c in song.chords:
            chord_notes(c.start, c.length * 0.98, _voicing(c, center, n_voices, rootless), vel)
        return out
    if style == "jazz":
        for c in song.chords:
            t = c.start
            while t < c.start + c.length:
                if rng.random() < 0.55:
                    off = rng.choice([0.0, 0.5, 1.5, -0.5 if t > 0 else 0.0])
                    dur = rng.choice([0.4, 0.9, 1.4])
                    chord_notes(t + off, dur, _voicing(c, center, n_voices, rootless=True),
                                vel * rng.uniform(0.7, 1.0))
                t += 2.0
        return out
    for bar in range(song.n_bars):
        b0 = bar * bpb
        if style == "pattern":
            steps = pattern or "x...x...x...x..."
            for k, ch in enumerate(steps[: 4 * bpb]):
                if ch == ".":
                    continue
                beat = b0 + k / 4
                c = song.chord_at(beat)
                nxt_k = next((j for j in range(k + 1, len(steps)) if steps[j] != "."), len(steps))
                dur = min((nxt_k - k) / 4, 2.0) * (0.45 if ch in "sS" else 0.9)
                v = vel * {"X": 1.0, "x": 0.8, "o": 0.5, "s": 0.8, "S": 1.0}[ch]
                chord_notes(beat, dur, _voicing(c, center, n_voices, rootless), v, down=k % 2 == 0)
        elif style == "arp":
            step = 0.25 if pattern == "16" else 0.5
            for k in range(int(bpb / step)):
                beat = b0 + k * step
                c = song.chord_at(beat)
                v = _voicing(c, center, n_voices) + [_voicing(c, center, n_voices)[0] + 12]
                seq = v + v[-2:0:-1]
                accent = 1.0 if k % 2 == 0 else 0.85
                out.append((beat, step * 1.6, seq[k % len(seq)], vel * accent))
        elif style == "alberti":
            for k in range(2 * bpb):
                beat = b0 + k / 2
                c = song.chord_at(beat)
                v = _voicing(c, center - 12, 3)
                seq = [v[0], v[2], v[1], v[2]]
                out.append((beat, 0.55, seq[k % 4], vel * (1.0 if k % 2 == 0 else 0.8)))
        elif style == "shuffle":
            c = song.chord_at(b0)
            r = _place(c.root, center - 12)
            for k in range(2 * bpb):
                top = r + (7 if (k // 2) % 2 == 0 else 9)
                for m in (r, top):
                    out.append((b0 + k / 2, 0.45, m, vel * (1.0 if k % 2 == 0 else 0.8)))
        elif style == "power":
            c = song.chord_at(b0)
            r = _place(c.root, center - 12)
            for k in range(2 * bpb):
                for m in (r, r + 7, r + 12):
                    out.append((b0 + k / 2, 0.48, m, vel * (1.0 if k % 2 == 0 else 0.85)))
        else:
            raise ValueError(f"comp: unknown style {style!r}")
    return out


_VEL = {"X": 1.0, "x": 0.75, "o": 0.35}


def drum_pattern(drums: Drums, piece: str, pattern: str, song: _Song, *, vel: float = 1.0,
                 skip_p: float = 0.0) -> None:
    """Add a looping pattern of ``piece``: one character a sixteenth (``X`` accent,
    ``x`` normal, ``o`` ghost, ``.`` rest); each hit is left out with probability ``skip_p``."""
    rng = song.rng
    n = len(pattern)
    for bar in range(song.n_bars):
        for k in range(4 * song.bpb):
            ch = pattern[(bar * 4 * song.bpb + k) % n]
            if ch in _VEL and (skip_p == 0 or rng.random() >= skip_p):
                drums.add(piece, bar * song.bpb + k / 4, vel * _VEL[ch])


def drum_fills(drums: Drums, song: _Song, every: int = 4, pieces=("snare", "tom_hi", "tom_lo"),
               crash: bool = True, beats: float = 1.0, vel: float = 0.85) -> None:
    """A fill in the last ``beats`` of every ``every``-th bar, and a crash on the next downbeat."""
    rng = song.rng
    for bar in range(every - 1, song.n_bars, every):
        end = (bar + 1) * song.bpb
        if rng.random() < 0.8:
            # clear what the fill replaces, then roll sixteenths over the pieces
            for p in ("snare", "hat", "ohat", "ride"):
                if p in drums.hits:
                    drums.hits[p] = [(b, v) for b, v in drums.hits[p] if not end - beats <= b < end]
            n = int(beats * 4)
            which = rng.integers(0, len(pieces), size=n)
            if rng.random() < 0.6:  # down the kit: snare, high tom, low tom
                which = np.sort(which)
            for k in range(n):
                if rng.random() < 0.85:
                    drums.add(pieces[which[k]], end - beats + k / 4, vel * rng.uniform(0.7, 1.0))
        if crash and rng.random() < 0.85:
            drums.add("crash", end, 0.9)


# ---------------------------------------------------------------------------------------
# The ten genres
# ---------------------------------------------------------------------------------------
def _pick(rng, options, p=None):
    return options[int(rng.choice(len(options), p=p))]


# Each arranger returns (song, key, scale, parts, drums or None, master settings).
def _blues(rng, seconds):
    """Shuffle (triplet swing) at 70-100 BPM, 12-bar I7-IV7-V7, boogie or walking bass,
    call-and-response lead on the blues scale."""
    bpm = rng.uniform(70, 100)
    s = _Song(rng, seconds, bpm, 4, swing=rng.uniform(0.62, 0.69), drift=0.01)
    key = int(_pick(rng, [4, 9, 7, 0, 10, 2, 5]))
    quick = "5" if rng.random() < 0.5 else "0"  # the quick change to IV in bar 2
    q = "m7" if rng.random() < 0.2 else "7"  # a minor blues now and then
    s.set_progression(key, _prog(f"0:{q} {quick}:{q} 0:{q} 0:{q} 5:{q} 5:{q} 0:{q} 0:{q} "
                                 f"7:7 5:{q} 0:{q} 7:7"))
    d = Drums(kit=_pick(rng, ["acoustic", "acoustic", "brushes", "jazz"]), jitter_s=0.008,
              gain_db=-3)
    drum_pattern(d, "kick", _pick(rng, ["x.......x.......", "x.......x.....o.",
                                        "x.....o.x......."]), s)
    drum_pattern(d, "snare", "....x.......x...", s)
    drum_pattern(d, "ride" if rng.random() < 0.35 else "hat",
                 _pick(rng, ["x.o.x.o.x.o.x.o.", "x.x.x.x.x.x.x.x.", "x...x.o.x...x.o."]), s)
    if rng.random() < 0.5:
        drum_pattern(d, "snare", "......o.......o.", s, vel=0.6, skip_p=0.5)
    drum_fills(d, s, every=12 if rng.random() < 0.5 else 4, beats=1.0)
    walk = "boogie" if rng.random() < 0.55 else "walking"
    parts = [Part("bass", _pick(rng, ["upright", "bass", "bass"]), bass_line(s, walk, low=28),
                  gain_db=rng.uniform(-7, -4), send=0.05)]
    rhythm = _pick(rng, ["shuffle guitar", "piano", "organ", "crunch guitar"])
    if rhythm == "shuffle guitar":
        parts.append(Part(rhythm, "guitar", comp(s, "shuffle", center=52), gain_db=-5, send=0.2,
                          options={"decay_s": 0.5, "brightness": 0.6}))
    elif rhythm == "crunch guitar":
        parts.append(Part(rhythm, "dist guitar", comp(s, "shuffle", center=52, vel=0.6),
                          gain_db=-6, send=0.2,
                          fx=(("drive", rng.uniform(2, 5)), ("lowpass", 3500.0))))
    elif rhythm == "piano":
        hits = _pick(rng, ["x.x.x.x.x.x.x.x.", "..x...x...x...x.", "x...x.x...x.x..."])
        parts.append(Part(rhythm, "piano", comp(s, "pattern", 60, 4, pattern=hits), gain_db=-5))
    else:
        parts.append(Part(rhythm, "organ", comp(s, "pad", 60, 4), gain_db=-8,
                          fx=(("leslie", 0.8),)))
    scale = "blues" if rng.random() < 0.75 else "minor pentatonic"

    def call_and_response(bar):
        return bar % 4 < 2 or rng.random() < 0.2

    lead = _pick(rng, ["harmonica", "lead guitar", "voice", "sax", "piano"],
                 p=[0.25, 0.3, 0.25, 0.1, 0.1])
    low, high = {"harmonica": (60, 84), "lead guitar": (55, 81), "voice": (50, 69),
                 "sax": (55, 77), "piano": (60, 84)}[lead]
    mel = melody(s, key, scale, low, high, density=rng.uniform(0.35, 0.6), step=0.5,
                 form="ABAC", play_mask=call_and_response)
    if lead == "lead guitar":
        parts.append(Part(lead, "lead guitar", mel, gain_db=-3, send=0.3,
                          fx=(("drive", rng.uniform(3, 8)), ("lowpass", 4000.0))))
    else:
        parts.append(Part(lead, lead, mel, gain_db=-2, send=0.25))
    master = dict(rt60=rng.uniform(0.8, 1.8), wet=rng.uniform(0.1, 0.25),
                  lofi=rng.random() < 0.35, compress=rng.uniform(1.5, 3), drive=0.0)
    return s, key, scale, parts, d, master


def _classical(rng, seconds):
    """No drums: string orchestra, chamber strings or solo piano, rubato, slow crescendos
    and diminuendos, a concert hall's reverb."""
    s = _Song(rng, seconds, rng.uniform(60, 110), int(_pick(rng, [3, 4, 4])),
              drift=rng.uniform(0.03, 0.07))
    key = int(rng.integers(0, 12))
    if rng.random() < 0.4:
        scale = "harmonic minor"
        prog = _prog(_pick(rng, ["0:m 5:m 7: 0:m", "0:m 8: 5:m 7:", "0:m 3: 5:m 7:7",
                                 "0:m 10: 3: 7:"]))
    else:
        scale = "major"
        prog = _prog(_pick(rng, ["0: 5: 7: 0:", "0: 9:m 5: 7:", "0: 2:m 7:7 0:",
                                 "0: 7: 9:m 4:m 5: 0: 5: 7:", "0: 5: 0: 7:7"]))
    if rng.random() < 0.4:
        prog = tuple((r, q, 0.5) for r, q, _ in prog)  # two chords a bar
    s.set_progression(key, prog)
    texture = _pick(rng, ["orchestra", "piano", "chamber"], p=[0.45, 0.3, 0.25])
    parts = []
    if texture == "piano":
        left = comp(s, "alberti" if rng.random() < 0.5 else "arp", center=60, pattern="8")
        right = melody(s, key, scale, 65, 88, density=rng.uniform(0.4, 0.7), step=0.5,
                       form="AABA", leap_p=0.2)
        parts.append(Part("piano left hand", "piano", left, gain_db=-4, jitter_s=0.01))
        parts.append(Part("piano right hand", "piano", right, gain_db=-1, jitter_s=0.01))
    else:
        ensemble = {"ensemble": texture == "orchestra"}
        parts.append(Part("strings", "strings",
                          comp(s, "pad", center=57, n_voices=4 if ensemble["ensemble"] else 3,
                               vel=0.7), gain_db=-2, options=ensemble))
        parts.append(Part("cellos and basses", "strings", bass_line(s, "whole", low=36, vel=0.7),
                          gain_db=-4, options=ensemble))
        lead = _pick(rng, ["violin", "flute", "oboe"], p=[0.6, 0.25, 0.15])
        mel = melody(s, key, scale, 67, 88, density=rng.uniform(0.3, 0.6), step=0.5,
                     form="AABA", legato=1.0, vel=0.75)
        parts.append(Part(lead, {"violin": "strings", "flute": "flute", "oboe": "reed"}[lead],
                          mel, gain_db=-1, options={"solo": True}))
        if rng.random() < 0.4:
            parts.append(Part("harp", "harp", comp(s, "arp", center=60, pattern="8", vel=0.6),
                              gain_db=-7))
    # slow dynamics: crescendos and diminuendos of up to about 12 dB, never to silence
    master = dict(rt60=rng.uniform(1.8, 3.0), wet=rng.uniform(0.25, 0.45),
                  lofi=rng.random() < 0.25, compress=1.0, drive=0.0,
                  dynamics_db=rng.uniform(6, 12))
    return s, key, scale, parts, None, master


def _country(rng, seconds):
    """100-122 BPM, boom-chick bass, strummed Karplus-Strong guitar, fiddle, pedal steel,
    chicken picking or a voice on the major (pentatonic) scale."""
    s = _Song(rng, seconds, rng.uniform(100, 122), 4, swing=rng.uniform(0.5, 0.57), drift=0.006)
    key = int(_pick(rng, [7, 2, 9, 0, 4, 5]))
    scale = "major" if rng.random() < 0.7 else "mixolydian"
    s.set_progression(key, _prog(_pick(rng, ["0: 5: 0: 7:", "0: 0: 5: 5: 7: 7: 0: 0:",
                                             "0: 7: 9:m 5:", "0: 5: 7: 5:"])))
    d = Drums(kit="brushes" if rng.random() < 0.3 else "acoustic", jitter_s=0.006, gain_db=-3)
    drum_pattern(d, "kick", _pick(rng, ["x.......x.......", "x.......x...x...",
                                        "x.....x.x......."]), s)
    drum_pattern(d, "rim" if rng.random() < 0.4 else "snare", "....x.......x...", s)
    drum_pattern(d, "hat", _pick(rng, ["x.x.x.x.x.x.x.x.", "xoxoxoxoxoxoxoxo",
                                       "x.o.x.o.x.o.x.o."]), s)
    drum_fills(d, s, every=8)
    parts = [Part("bass", _pick(rng, ["bass", "upright"]), bass_line(s, "boom_chick", low=31),
                  gain_db=rng.uniform(-7, -4), send=0.05)]
    strum = _pick(rng, ["..x...x...x...x.", "x...x.x.x.xx.xx.", "x...x...x...x..."])
    parts.append(Part("acoustic guitar", "guitar",
                      comp(s, "pattern", 57, 5, pattern=strum, strum_s=0.012, vel=0.7),
                      gain_db=-4, options={"decay_s": 1.4, "brightness": 0.8}))
    lead = _pick(rng, ["fiddle", "pedal steel", "chicken picking", "voice"],
                 p=[0.25, 0.2, 0.2, 0.35])
    pent = "major pentatonic"
    if lead == "fiddle":
        parts.append(Part(lead, "strings", melody(s, key, scale, 62, 86, density=0.55, step=0.5),
                          gain_db=-3, options={"solo": True}))
    elif lead == "pedal steel":
        mel = melody(s, key, pent, 60, 81, density=0.3, step=1.0, legato=1.0)
        parts.append(Part(lead, "steel", mel, gain_db=-3, send=0.35))
    elif lead == "chicken picking":
        mel = melody(s, key, pent, 57, 81, density=0.7, step=0.25, legato=0.5)
        parts.append(Part(lead, "guitar", mel, gain_db=-3,
                          options={"decay_s": 0.4, "brightness": 0.9}))
    else:
        mel = melody(s, key, scale, 52, 69, density=0.45, step=0.5, form="AABA")
        parts.append(Part("voice", "voice", mel, gain_db=-2, send=0.25))
    master = dict(rt60=rng.uniform(0.7, 1.6), wet=rng.uniform(0.1, 0.22),
                  lofi=rng.random() < 0.15, compress=rng.uniform(1.5, 3), drive=0.0)
    return s, key, scale, parts, d, master


def _disco(rng, seconds):
    """114-126 BPM four-on-the-floor, open hi-hats on the off-beats, octave bass, string
    pads, funk guitar, e-piano, clavinet or brass stabs, minor-seventh vamps."""
    s = _Song(rng, seconds, rng.uniform(114, 126), 4, swing16=rng.uniform(0.5, 0.54))
    key = int(rng.integers(0, 12))
    scale = _pick(rng, ["dorian", "minor", "major"])
    progs = {"dorian": ["0:m7 5:7", "0:m7 0:m7 5:7 5:7", "0:m9 5:9"],
             "minor": ["0:m7 10: 8:maj7 7:m7", "0:m7 5:m7 10:7 3:maj7"],
             "major": ["2:m7 7:7 0:maj7 9:m7", "0:maj7 9:m7 2:m7 7:7", "5:maj7 4:m7 2:m7 0:maj7"]}
    s.set_progression(key, _prog(_pick(rng, progs[scale])))
    d = Drums(kit="disco", jitter_s=0.002)
    drum_pattern(d, "kick", "x...x...x...x...", s)
    drum_pattern(d, "clap" if rng.random() < 0.4 else "snare", "....x.......x...", s)
    drum_pattern(d, "ohat", "..x...x...x...x.", s)
    drum_pattern(d, "hat", _pick(rng, ["x.x.x.x.x.x.x.x.", "xxoxxxoxxxoxxxox"]), s, vel=0.7)
    if rng.random() < 0.4:
        drum_pattern(d, "tambourine", "xoxoxoxoxoxoxoxo", s, vel=0.6)
    drum_fills(d, s, every=8, pieces=("snare", "tom_hi", "tom_lo"))
    parts = [Part("bass", _pick(rng, ["synth bass", "bass"]), bass_line(s, "octave", low=33),
                  gain_db=-3, send=0.05),
             Part("strings", "strings", comp(s, "pad", 62, 4, vel=0.6), gain_db=-9,
                  options={"ensemble": True})]
    keys = _pick(rng, ["epiano", "funk guitar", "clav", "brass"])
    chuck = _pick(rng, ["..x...x...x...x.", "s.ss..s.s.ss..s.", "..s.x..s..s.x..s"])
    if keys == "funk guitar":
        parts.append(Part(keys, "muted guitar",
                          comp(s, "pattern", 62, 3, pattern=chuck, strum_s=0.006),
                          gain_db=-7, send=0.1))
    elif keys == "brass":
        parts.append(Part("brass stabs", "brass",
                          comp(s, "pattern", 62, 3, pattern="....x..x......x."), gain_db=-7))
    else:
        parts.append(Part(keys, keys, comp(s, "pattern", 60, 4, pattern=chuck), gain_db=-7))
    lead = _pick(rng, ["voice", "strings", "synth lead"], p=[0.5, 0.3, 0.2])
    low, high = (64, 81) if lead == "voice" else (69, 91)
    mel = melody(s, key, scale, low, high, density=0.45, step=0.5, form="AABA")
    parts.append(Part("string melody" if lead == "strings" else lead, lead, mel, gain_db=-4,
                      options={"female": True, "solo": True}))
    master = dict(rt60=rng.uniform(0.8, 1.6), wet=rng.uniform(0.12, 0.22),
                  lofi=rng.random() < 0.1, compress=rng.uniform(2.5, 4),
                  drive=rng.uniform(0.0, 0.5))
    return s, key, scale, parts, d, master


def _hiphop(rng, seconds):
    """84-96 BPM boom bap with swung sixteenths, 808 or sampled bass, a lo-fi loop of one or
    two minor chords with vinyl crackle, rapped syllables."""
    s = _Song(rng, seconds, rng.uniform(84, 96), 4, swing16=rng.uniform(0.52, 0.62))
    key = int(rng.integers(0, 12))
    scale = _pick(rng, ["minor", "dorian"])
    s.set_progression(key, _prog(_pick(rng, ["0:m7 5:m7", "0:m9*2", "0:m7 8:maj7",
                                             "0:m7 10: 8:maj7 7:m7", "0:m9 3:maj7"])))
    is808 = rng.random() < 0.45
    d = Drums(kit="808" if is808 else "acoustic", jitter_s=0.003,
              piece_db={"hat": 5.0, "snare": 2.0})
    drum_pattern(d, "kick", _pick(rng, ["x.....x...x.....", "x..x......x..x..",
                                        "x.x.......x....x", "x.....x.x.....x."]), s)
    drum_pattern(d, "clap" if rng.random() < 0.35 else "snare", "....X.......X...", s)
    drum_pattern(d, "hat", _pick(rng, ["x.o.x.o.x.o.x.o.", "xoxoxoxoxoxoxoxo",
                                       "x.x.x.x.x.x.x.xx"]), s, vel=0.7)
    parts = []
    if is808:  # the 808 plays with the kick, held to the next one
        kick_beats = sorted(b for b, _ in d.hits["kick"])
        notes = [(b, min(end - b, 2.0) * 0.95, _place(s.chord_at(b).root, 29), 0.9)
                 for b, end in zip(kick_beats, kick_beats[1:] + [kick_beats[-1] + 2])]
        parts.append(Part("808", "808", notes, gain_db=-3, send=0.0))
    else:
        parts.append(Part("bass", _pick(rng, ["bass", "synth bass", "upright"]),
                          bass_line(s, "follow", low=31), gain_db=-3, send=0.05))
    loop = _pick(rng, ["epiano", "piano", "strings", "vibes", "organ"])
    if loop in ("epiano", "piano", "organ"):
        notes = comp(s, "pattern", 60, 4, pattern=_pick(rng, ["x.......x.......",
                                                             "x......x..x.....",
                                                             "x...........x..."]))
    elif loop == "vibes":
        notes = comp(s, "arp", 64, 4, pattern="8", vel=0.6)
    else:
        notes = comp(s, "pad", 60, 4, vel=0.6)
    parts.append(Part(f"{loop} loop", loop, notes, gain_db=-7, jitter_s=0.0,
                      fx=(("lowpass", rng.uniform(2500, 5000)),
                          ("crackle", rng.uniform(0.5, 1.0)))))
    if rng.random() < 0.85:
        parts.append(Part("rap", "rap", _rap(s), gain_db=-2, send=0.08))
    else:
        parts.append(Part("hook", "voice", melody(s, key, "minor pentatonic", 55, 72, density=0.4),
                          gain_db=-2, options={"female": rng.random() < 0.5}))
    master = dict(rt60=rng.uniform(0.5, 1.0), wet=rng.uniform(0.05, 0.12), lofi=False,
                  compress=rng.uniform(3, 5), drive=rng.uniform(0.2, 0.8))
    return s, key, scale, parts, d, master


def _rap(s: _Song) -> list:
    """Rapped syllables: sixteenth-note bursts at a speaking pitch, 2-bar phrases with breaths."""
    rng = s.rng
    f0 = int(rng.integers(45, 52))  # MIDI, about 110-165 Hz
    out = []
    density = rng.uniform(0.45, 0.75)
    for bar in range(s.n_bars):
        if bar % 8 == 7 and rng.random() < 0.5:
            continue
        for k in range(16):
            if (bar % 2 == 1 and k >= 13) or rng.random() > density:
                continue
            dur = 0.25 * rng.uniform(0.6, 1.4) * (1.6 if k % 4 == 0 else 1.0)
            pitch = f0 + rng.choice([0, 0, 1, 2, -1, 3]) - (k / 16) * 2  # falls over the bar
            vel = rng.uniform(0.6, 1.0) * (1.0 if k % 4 == 0 else 0.8)
            out.append((bar * 4 + k / 4, dur, pitch, vel))
    return out


def _jazz(rng, seconds):
    """115-200 BPM swing: spang-a-lang ride, hi-hat on 2 and 4, walking bass, extended chords
    (ii-V-I, jazz blues, modal) comped on piano, e-piano, organ or guitar, a bebop-ish solo."""
    bpm = rng.uniform(115, 200)
    s = _Song(rng, seconds, bpm, 4 if rng.random() < 0.9 else 3, swing=rng.uniform(0.6, 0.68),
              drift=0.008)
    key = int(_pick(rng, [5, 10, 3, 0, 7, 8, 2]))
    progs = [("2:m7 7:7 0:maj7 9:7", "major"), ("0:maj7 9:m7 2:m7 7:7", "major"),
             ("2:m7 7:7 0:maj7 5:maj7 11:m7b5 4:7 9:m7 9:m7", "major"),
             ("0:7 5:7 0:7 0:7 5:7 5:7 0:7 9:7 2:m7 7:7 0:7 7:7", "mixolydian"),  # jazz blues
             ("0:m9 0:m9 0:m9 0:m9 1:m9 1:m9 0:m9 0:m9", "dorian"),
             ("0:m7 5:7 10:maj7 3:maj7", "dorian")]
    text, scale = _pick(rng, progs)
    prog = _prog(text)
    if bpm < 150 and rng.random() < 0.5:
        prog = tuple((r, q, 0.5) for r, q, _ in prog)
    s.set_progression(key, prog)
    brushes = rng.random() < 0.35
    d = Drums(kit="brushes" if brushes else "jazz", jitter_s=0.009, gain_db=-9)
    rides = (["x...x.x.x...x.x.", "x...x.o.x...x.o.", "x...x.xox...x.x."] if s.bpb == 4 else
             ["x...x.x.x.x.", "x...x...x.o."])
    drum_pattern(d, "ride", _pick(rng, rides), s)
    drum_pattern(d, "pedal hat", "....x.......x..." if s.bpb == 4 else "....x...x...", s, vel=0.7)
    if brushes:
        drum_pattern(d, "swish", "x...x...x...x...", s, vel=0.8)
    for bar in range(s.n_bars):  # comping on the snare, feathering on the bass drum
        for k in range(2 * s.bpb):
            if rng.random() < 0.18:
                d.add("snare", bar * s.bpb + k / 2, rng.uniform(0.2, 0.5))
            if rng.random() < 0.06:
                d.add("kick", bar * s.bpb + k / 2, rng.uniform(0.3, 0.6))
    parts = [Part("walking bass", "upright", bass_line(s, "walking", low=28),
                  gain_db=rng.uniform(-6, -3), send=0.1)]
    keys = _pick(rng, ["piano", "epiano", "organ", "guitar"], p=[0.45, 0.2, 0.2, 0.15])
    if keys == "guitar":  # four to the bar, Freddie Green style
        notes = comp(s, "pattern", 55, 4, pattern="x...x...x...x...", vel=0.5, strum_s=0.008)
    else:
        notes = comp(s, "jazz", 58, 4)
    parts.append(Part(keys, keys, notes, gain_db=-8,
                      fx=(("leslie", 0.6),) if keys == "organ" else (),
                      options={"decay_s": 0.35, "brightness": 0.4}))
    lead = _pick(rng, ["sax", "trumpet", "vibes", "piano", "none"], p=[0.3, 0.2, 0.15, 0.2, 0.15])
    if lead != "none":
        low, high = {"sax": (53, 77), "trumpet": (58, 82), "vibes": (60, 86),
                     "piano": (60, 86)}[lead]
        mel = melody(s, key, scale, low, high, density=rng.uniform(0.55, 0.85), step=0.5,
                     form="ABCD", leap_p=0.2, chromatic_p=0.25,
                     play_mask=lambda bar: bar % 8 != 7)
        parts.append(Part(lead, {"trumpet": "brass"}.get(lead, lead), mel, gain_db=-4, send=0.2,
                          options={"solo": True}))
    master = dict(rt60=rng.uniform(0.6, 1.5), wet=rng.uniform(0.1, 0.25),
                  lofi=rng.random() < 0.35, compress=rng.uniform(1.0, 2.0), drive=0.0)
    return s, key, scale, parts, d, master


def _metal(rng, seconds):
    """140-180 BPM double kick, gallops or blast beats, palm-muted chugs and power chords on
    heavily distorted guitars in low keys, phrygian or minor; a shred solo or a growl."""
    s = _Song(rng, seconds, rng.uniform(140, 180), 4)
    key = int(_pick(rng, [4, 2, 1, 0, 11]))
    scale = _pick(rng, ["phrygian", "minor", "harmonic minor"])
    s.set_progression(key, _prog(_pick(rng, ["0:5 0:5 8:5 10:5", "0:5 1:5 0:5 1:5",
                                             "0:5 8:5 5:5 7:5", "0:5 3:5 10:5 8:5"])))
    d = Drums(kit="metal", jitter_s=0.002)
    feel = _pick(rng, ["double", "gallop", "blast", "half"], p=[0.45, 0.25, 0.15, 0.15])
    kick = {"double": "xxxxxxxxxxxxxxxx", "gallop": "x.xxx.xxx.xxx.xx",
            "blast": "x.x.x.x.x.x.x.x.", "half": "x.x.....x.xx...."}[feel]
    snare = {"blast": ".x.x.x.x.x.x.x.x", "half": "........X......."}.get(feel, "....X.......X...")
    drum_pattern(d, "kick", kick, s)
    drum_pattern(d, "snare", snare, s)
    drum_pattern(d, _pick(rng, ["crash", "ride", "hat"]),
                 "x.x.x.x.x.x.x.x." if feel == "half" else "x...x...x...x...", s, vel=0.7)
    drum_fills(d, s, every=4, pieces=("snare", "tom_hi", "tom_lo"))
    chug = _pick(rng, ["xxxxxxxxxxxxxxxx", "x.xxx.xxx.xxx.xx", "xx.xxx.xxx.x.xxx"])
    riff, bass = [], []
    for bar in range(s.n_bars):
        r = _place(s.chord_at(bar * 4).root, 35)
        for k, ch in enumerate(chug):
            if ch != "x":
                continue
            beat = bar * 4 + k / 4
            if k % 8 == 0 or rng.random() < 0.12:  # an accented power chord
                riff += [(beat, 0.45, m, 1.0) for m in (r, r + 7, r + 12)]
            else:  # a palm-muted chug on the root
                riff.append((beat, 0.12, r, 0.85))
            bass.append((beat, 0.2, r - 12 if r - 12 >= 28 else r, 0.9))
    gain = rng.uniform(15, 40)
    parts = [Part("rhythm guitar", "dist guitar", riff, gain_db=-1, send=0.1, jitter_s=0.003,
                  fx=(("drive", gain), ("lowpass", rng.uniform(3500, 5500))))]
    if rng.random() < 0.6:  # double-tracked
        parts.append(Part("rhythm guitar 2", "dist guitar", riff, gain_db=-3, send=0.1,
                          jitter_s=0.004,
                          fx=(("drive", gain), ("lowpass", rng.uniform(3500, 5500)))))
    parts.append(Part("bass", "bass", bass, gain_db=-7, send=0.0, fx=(("drive", 3.0),)))
    lead = _pick(rng, ["shred", "growl", "none"], p=[0.35, 0.35, 0.3])
    if lead == "shred":
        mel = melody(s, key, "harmonic minor", 60, 88, density=0.85, step=0.25, form="ABAB",
                     leap_p=0.05)
        parts.append(Part("lead guitar", "lead guitar", mel, gain_db=-5, send=0.3,
                          fx=(("drive", 20.0), ("lowpass", 5000.0))))
    elif lead == "growl":
        parts.append(Part("growl", "growl", _rap(s), gain_db=-4, send=0.15))
    master = dict(rt60=rng.uniform(0.6, 1.2), wet=rng.uniform(0.06, 0.14), lofi=False,
                  compress=rng.uniform(3, 5), drive=rng.uniform(0.3, 1.0))
    return s, key, scale, parts, d, master


def _pop(rng, seconds):
    """100-125 BPM, I-V-vi-IV and friends in major keys, programmed drums (sometimes four on
    the floor), synth bass, bright pads, arpeggios or piano, a sung hook."""
    s = _Song(rng, seconds, rng.uniform(100, 125), 4)
    key = int(rng.integers(0, 12))
    scale = "major"
    s.set_progression(key, _prog(_pick(rng, ["0: 7: 9:m 5:", "9:m 5: 0: 7:", "0: 9:m 5: 7:",
                                             "5: 0: 7: 9:m", "0:add9 7: 9:m7 5:maj7"])))
    d = Drums(kit=_pick(rng, ["808", "acoustic", "disco"]), jitter_s=0.002)
    kick = ("x...x...x...x..." if rng.random() < 0.3 else
            _pick(rng, ["x.......x.x.....", "x......xx......."]))
    drum_pattern(d, "kick", kick, s)
    drum_pattern(d, "clap" if rng.random() < 0.5 else "snare", "....x.......x...", s)
    drum_pattern(d, "hat", _pick(rng, ["x.x.x.x.x.x.x.x.", "xxxxxxxxxxxxxxxx",
                                       "x.xxx.xxx.xxx.xx"]), s, vel=0.6)
    drum_fills(d, s, every=8, pieces=("snare", "snare", "clap") if "clap" in d.hits else ("snare",))
    parts = [Part("bass", _pick(rng, ["synth bass", "bass"]),
                  bass_line(s, _pick(rng, ["root8", "follow"]), low=33), gain_db=-4, send=0.05)]
    chords = _pick(rng, ["supersaw", "piano", "synth pluck", "guitar", "crunch guitar"],
                   p=[0.3, 0.25, 0.25, 0.1, 0.1])
    if chords == "supersaw":
        parts.append(Part("synth pad", "supersaw", comp(s, "pad", 62, 4, vel=0.6), gain_db=-7))
    elif chords == "synth pluck":
        parts.append(Part("synth arp", "synth pluck", comp(s, "arp", 64, 4, pattern="16", vel=0.6),
                          gain_db=-8))
    elif chords == "piano":
        parts.append(Part("piano", "piano", comp(s, "pattern", 60, 4, pattern="x..x..x...x..x.."),
                          gain_db=-6))
    elif chords == "guitar":
        parts.append(Part("guitar", "guitar",
                          comp(s, "pattern", 57, 5, pattern="x...x.x.x.xx.xx.", strum_s=0.01),
                          gain_db=-6, options={"decay_s": 1.0, "brightness": 0.85}))
    else:
        parts.append(Part("crunch guitar", "dist guitar", comp(s, "power", 52), gain_db=-7,
                          fx=(("drive", rng.uniform(4, 10)), ("lowpass", 4500.0))))
    female = rng.random() < 0.6
    if rng.random() < 0.85:
        low, high = (60, 77) if female else (50, 67)
        mel = melody(s, key, scale, low, high, density=0.5, step=0.5, form="AABA", leap_p=0.08)
        parts.append(Part("voice", "voice", mel, gain_db=-2, send=0.25,
                          options={"female": female}))
    if rng.random() < 0.4:
        hook = melody(s, key, "major pentatonic", 72, 91, density=0.5, form="AAAB",
                      play_mask=lambda bar: bar % 4 >= 2)
        parts.append(Part("synth lead", "synth lead", hook, gain_db=-8))
    master = dict(rt60=rng.uniform(0.9, 1.8), wet=rng.uniform(0.12, 0.22), lofi=False,
                  compress=rng.uniform(3, 5), drive=rng.uniform(0.2, 0.7))
    return s, key, scale, parts, d, master


def _reggae(rng, seconds):
    """70-80 BPM one drop (or rockers, steppers), off-beat skank and organ bubble, a deep
    melodic bass riff, dub echoes, a voice, melodica or horns."""
    s = _Song(rng, seconds, rng.uniform(70, 80), 4, swing16=rng.uniform(0.5, 0.6), drift=0.004)
    key = int(rng.integers(0, 12))
    scale = _pick(rng, ["major", "minor", "dorian"])
    progs = {"major": ["0: 5:", "0: 0: 5: 5:", "0: 7:", "0: 5: 7: 5:"],
             "minor": ["0:m 5:m", "0:m 10:", "0:m 8: 10: 0:m"], "dorian": ["0:m7 5:", "0:m 2:m"]}
    s.set_progression(key, _prog(_pick(rng, progs[scale])))
    d = Drums(kit="acoustic", jitter_s=0.004, gain_db=-2)
    feel = _pick(rng, ["one drop", "rockers", "steppers"], p=[0.6, 0.25, 0.15])
    kick = {"one drop": "........x.......", "rockers": "x.......x.......",
            "steppers": "x...x...x...x..."}[feel]
    drum_pattern(d, "kick", kick, s)
    drum_pattern(d, "rim", "....x.......x..." if feel == "rockers" else "........x.......", s)
    drum_pattern(d, "hat", _pick(rng, ["x.x.x.x.x.x.x.x.", "xoxoxoxoxoxoxoxo",
                                       "x.xox.xox.xox.xo"]), s, vel=0.6)
    if rng.random() < 0.5:
        drum_pattern(d, "ohat", "......x.......x.", s, vel=0.5)
    drum_fills(d, s, every=8, pieces=("snare", "tom_hi", "tom_lo"), beats=0.5)
    parts = [Part("bass", "dub bass", bass_line(s, "reggae", low=31), gain_db=rng.uniform(-2, 0),
                  send=0.0)]
    skank = "....x.......x..." if rng.random() < 0.2 else "..x...x...x...x."
    parts.append(Part("skank guitar", "muted guitar",
                      comp(s, "pattern", 62, 3, pattern=skank, strum_s=0.005), gain_db=-7,
                      send=0.25, fx=(("delay", 0.75, 0.35),) if rng.random() < 0.5 else ()))
    if rng.random() < 0.7:
        bubble = "..xx..xx..xx..xx" if rng.random() < 0.5 else "..x...x...x...x."
        parts.append(Part("organ bubble", "organ", comp(s, "pattern", 60, 3, pattern=bubble,
                                                        vel=0.5), gain_db=-10))
    lead = _pick(rng, ["voice", "melodica", "horns"], p=[0.55, 0.25, 0.2])
    pent = "major pentatonic" if scale == "major" else "minor pentatonic"
    low, high = (55, 72) if lead == "voice" else (62, 84)
    mel = melody(s, key, scale if rng.random() < 0.5 else pent, low, high, density=0.4, step=0.5,
                 form="AABA")
    parts.append(Part(lead, {"voice": "voice", "melodica": "reed", "horns": "brass"}[lead], mel,
                      gain_db=-3, send=0.3, options={"female": rng.random() < 0.3},
                      fx=(("delay", 0.75, 0.3),) if rng.random() < 0.4 else ()))
    master = dict(rt60=rng.uniform(0.8, 2.0), wet=rng.uniform(0.12, 0.28),
                  lofi=rng.random() < 0.2, compress=rng.uniform(2, 3.5),
                  drive=rng.uniform(0.0, 0.4))
    return s, key, scale, parts, d, master


def _rock(rng, seconds):
    """110-140 BPM backbeat, driving eighth-note bass, overdriven power chords or strummed
    open chords, I-IV-V or mixolydian bVII, a voice and sometimes a guitar solo."""
    s = _Song(rng, seconds, rng.uniform(110, 140), 4, drift=0.005)
    key = int(_pick(rng, [4, 9, 2, 7, 0]))
    scale = _pick(rng, ["major", "mixolydian", "minor pentatonic"])
    progs = {"major": ["0: 5: 7: 5:", "9:m 5: 0: 7:", "0: 7: 5: 5:"],
             "mixolydian": ["0: 10: 5: 0:", "0: 10: 5: 5:"],
             "minor pentatonic": ["0:5 10:5 8:5 10:5", "0:5 3:5 5:5 3:5"]}
    s.set_progression(key, _prog(_pick(rng, progs[scale])))
    d = Drums(kit="acoustic", jitter_s=0.005)
    drum_pattern(d, "kick", _pick(rng, ["x.......x.x.....", "x.......x.......",
                                        "x.x.....x.x....."]), s)
    drum_pattern(d, "snare", "....x.......x...", s)
    drum_pattern(d, "ride" if rng.random() < 0.25 else "hat",
                 _pick(rng, ["x.x.x.x.x.x.x.x.", "X.x.X.x.X.x.X.x."]), s, vel=0.7)
    drum_fills(d, s, every=4 if rng.random() < 0.5 else 8)
    parts = [Part("bass", "bass", bass_line(s, "root8", low=28), gain_db=rng.uniform(-6, -3),
                  send=0.05)]
    guitars = _pick(rng, ["power chords", "open chords", "both"])
    if guitars in ("power chords", "both"):
        parts.append(Part("rhythm guitar", "dist guitar", comp(s, "power", 52), gain_db=-3,
                          send=0.15, fx=(("drive", rng.uniform(5, 14)),
                                         ("lowpass", rng.uniform(3500, 5000)))))
    if guitars in ("open chords", "both"):
        strums = comp(s, "pattern", 55, 5, pattern="x.x.x.x.x.x.x.x.", strum_s=0.01)
        parts.append(Part("strummed guitar", "guitar", strums, gain_db=-5, send=0.15,
                          fx=(("drive", rng.uniform(2, 6)), ("lowpass", 5000.0)),
                          options={"decay_s": 0.9, "brightness": 0.9}))
    if rng.random() < 0.7:
        female = rng.random() < 0.3
        low, high = (57, 74) if female else (48, 67)
        mel = melody(s, key, "minor" if scale == "minor pentatonic" else scale, low, high,
                     density=0.5, form="AABA")
        parts.append(Part("voice", "voice", mel, gain_db=-2, send=0.2,
                          options={"female": female}))
    if rng.random() < 0.45:
        pent = "major pentatonic" if scale == "major" else "minor pentatonic"
        solo = melody(s, key, pent, 60, 84, density=0.6, step=0.25 if rng.random() < 0.4 else 0.5,
                      form="ABAC")
        parts.append(Part("lead guitar", "lead guitar", solo, gain_db=-5, send=0.3,
                          fx=(("drive", rng.uniform(6, 14)), ("lowpass", 4500.0))))
    master = dict(rt60=rng.uniform(0.8, 1.6), wet=rng.uniform(0.1, 0.2), lofi=rng.random() < 0.1,
                  compress=rng.uniform(2, 4), drive=rng.uniform(0.1, 0.6))
    return s, key, scale, parts, d, master


_ARRANGERS: dict[str, Callable] = {
    "blues": _blues, "classical": _classical, "country": _country, "disco": _disco,
    "hiphop": _hiphop, "jazz": _jazz, "metal": _metal, "pop": _pop, "reggae": _reggae,
    "rock": _rock,
}


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


# ---------------------------------------------------------------------------------------
# Sound: oscillators, instruments, drums
# ---------------------------------------------------------------------------------------
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
    return signal.butter(order, hz, btype=kind, fs=SR, output="sos")


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


# ---------------------------------------------------------------------------------------
# Rendering and mixing
# ---------------------------------------------------------------------------------------
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


def clip_name(genre: str, index: int) -> str:
    """GTZAN's file name of a clip: ``blues.00012.wav``."""
    return f"{genre}.{index:05d}.wav"


def write_corpus(out_dir, clips_per_genre: int = 10, seconds: float = 30.0, seed: int = 0,
                 progress: bool = False, workers: int | None = None) -> Path:
    """Write the embedded corpus: ``<out_dir>/<genre>/<genre>.000NN.wav`` for the ten genres.

    Parameters
    ----------
    out_dir : str or Path
        The folder to write to (created if needed); files already there are replaced.
    clips_per_genre : int
        Clips of each genre, numbered 0 to ``clips_per_genre - 1``.
    seconds : float
        Duration of every clip.
    seed : int
        The corpus seed: the same arguments write the same bytes.
    progress : bool
        Show a tqdm progress bar.
    workers : int, optional
        Processes rendering clips in parallel (each clip depends only on its genre,
        number, duration and seed, so the bytes do not depend on it). Default: one per
        CPU core, up to 16, for corpora of 40 clips or more; else 1.

    Returns
    -------
    Path
        ``out_dir``.

    See Also
    --------
    render_clip : one clip as an array.
    specadv.data.load_corpus : reads the folder back.
    """
    if clips_per_genre < 1:
        raise ValueError(f"clips_per_genre must be at least 1 (got {clips_per_genre})")
    out = Path(out_dir)
    jobs = [(out, g, i, seconds, seed) for g in GENRES for i in range(clips_per_genre)]
    if workers is None:
        workers = min(os.cpu_count() or 1, 16) if len(jobs) >= 40 else 1
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="embedded corpus", unit="clip")
    if workers <= 1:
        for job in jobs:
            _write_clip(job)
            bar is not None and bar.update()
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # forkserver: a clean child, whatever threads (torch, BLAS) the parent runs
        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            for _ in pool.map(_write_clip, jobs, chunksize=4):
                bar is not None and bar.update()
    if bar is not None:
        bar.close()
    return out


def _write_clip(job) -> None:
    """Render one clip and write it atomically (a worker of :func:`write_corpus`)."""
    import soundfile as sf

    out, genre, i, seconds, seed = job
    folder = out / genre
    folder.mkdir(parents=True, exist_ok=True)
    y = render_clip(genre, i, seconds, seed)
    pcm = np.round(np.clip(y, -1, 1) * 32767).astype(np.int16)
    final = folder / clip_name(genre, i)
    tmp = folder / f".{final.name}.{os.getpid()}.tmp"
    try:
        sf.write(str(tmp), pcm, SR, subtype="PCM_16", format="WAV")
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
