"""The score of a clip: timing grid, parts, drums, arrangement, and the note generators.

An arrangement is data: a :class:`Grid` mapping beats to seconds, instrument
:class:`Part` s of ``(beat, duration, midi, velocity)`` notes, :class:`Drums` hits,
and the mix settings. The generators write the notes: :func:`melody` (a motif
repeated and varied over the chords), :func:`bass_line` and :func:`comp` in the
genres' idioms, :func:`drum_pattern` and :func:`drum_fills`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from specadv.synth.theory import CHORDS, Chord, Progression, _nearest_pc, _place, _scale_notes
from specadv.synth.theory import _voicing

__all__ = ["Grid", "Part", "Drums", "Arrangement", "ClipInfo", "melody", "bass_line", "comp",
           "drum_pattern", "drum_fills"]


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


def _pick(rng, options, p=None):
    """One of ``options``, drawn from ``rng`` (with probabilities ``p``)."""
    return options[int(rng.choice(len(options), p=p))]
