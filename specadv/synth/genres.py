"""The ten genre arrangers: what a clip of each style plays, drawn from a random stream.

Each arranger ``_<genre>(rng, seconds)`` draws a tempo, meter and swing, a key and
a scale, a progression, drum patterns, a bass line, an accompaniment and a melody,
and the instruments that play them; it returns ``(song, key, scale, parts, drums or
None, master settings)``. :func:`specadv.synth.clips.arrange` calls them.
"""
from __future__ import annotations

from typing import Callable

from specadv.synth.score import (Drums, Part, _pick, _rap, _Song, bass_line, comp, drum_fills,
                                 drum_pattern, melody)
from specadv.synth.theory import _place, _prog

__all__: list[str] = []


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
