"""The embedded procedural corpus: GTZAN-shaped synthetic music in ten styles.

GTZAN cannot be downloaded or redistributed, so the project ships a generator of a
corpus with its layout: ``<out_dir>/<genre>/<genre>.000NN.wav``, 22050 Hz, mono,
16-bit PCM, ten genres in GTZAN's label order.

- :func:`render_clip` renders one clip as float32 audio in [-1, 1]; it depends only
  on ``(genre, index, seconds, seed)``, not on how many clips are written, so a
  corpus can be extended clip by clip;
- :func:`render_clips` renders many, in worker processes if asked to, the same
  arrays as :func:`render_clip`;
- :func:`clip_info` says what a clip is made of (tempo, meter, key, scale,
  instruments) without rendering it;
- :func:`specadv.data.make_embedded_corpus` writes a whole corpus, each file
  atomically (this package only renders arrays).

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

The modules, by what they make:

- :mod:`~specadv.synth.theory`: pitch names, scales, chords, progressions, voicings;
- :mod:`~specadv.synth.score`: the timing grid, parts, drums, the arrangement as
  data, and the note generators (melody, bass line, accompaniment, drum patterns
  and fills);
- :mod:`~specadv.synth.genres`: the ten genre arrangers;
- :mod:`~specadv.synth.clips`: a clip's random streams, :func:`arrange`,
  :func:`clip_info`, :func:`clip_name`;
- :mod:`~specadv.synth.instruments`: oscillators, wavetables, Karplus-Strong, the
  instruments;
- :mod:`~specadv.synth.drums`: the synthesised drum kits;
- :mod:`~specadv.synth.mixing`: parts and drums to audio, bus effects, reverb,
  dynamics, the master bus, :func:`render_clip`;
- :mod:`~specadv.synth.workers`: :func:`render_clips` and its worker processes.

The package imports :mod:`specadv.constants` and nothing else of :mod:`specadv`.
"""
from __future__ import annotations

from specadv.constants import GENRES, SAMPLE_RATE
from specadv.synth.clips import arrange, clip_info, clip_name
from specadv.synth.instruments import NYQUIST_HZ, SR, Play
from specadv.synth.mixing import render_clip
from specadv.synth.score import (Arrangement, ClipInfo, Drums, Grid, Part, bass_line, comp,
                                 drum_fills, drum_pattern, melody)
from specadv.synth.theory import CHORDS, KEY_NAMES, SCALES, Chord, Progression
from specadv.synth.workers import render_clips

__all__ = ["Arrangement", "ClipInfo", "arrange", "clip_info", "clip_name", "render_clip",
           "render_clips"]
