"""Music theory of the embedded corpus: pitch names, scales, chords, progressions, voicings.

The harmony every arranger draws from (:mod:`specadv.synth.genres`): the twelve key
names, the scales and chord qualities as semitone sets, progressions written as
text (``"0:7 5:7"``), and the pitch helpers that place chord tones in a register.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["KEY_NAMES", "SCALES", "CHORDS", "Progression", "Chord"]

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
