"""The method's constants (SPEC), stated once: every module imports them from here.

A leaf module: it imports nothing from :mod:`specadv`, so any module may use it.
"""
from __future__ import annotations

SAMPLE_RATE = 22050          # Hz, GTZAN's rate
N_FFT = 512                  # STFT size of both representations
HOP_LENGTH = 256             # STFT hop
WINDOW = "hann"              # STFT window (periodic Hann, librosa's and torch's)
N_MELS = 64                  # Mel bands
FMIN_HZ = 0.0
FMAX_HZ = SAMPLE_RATE / 2
TOP_DB = 80.0                # dynamic range of the dB features (librosa's default)

WINDOW_SAMPLES = 110250      # one segment: 5 s at 22050 Hz
OVERLAP = 0.75               # segments overlap by 75% (hop 27562.5 samples)
MIN_ENERGY = 1e-5            # a segment with mean(x ** 2) at most this is silence

N_FRAMES = 1 + WINDOW_SAMPLES // HOP_LENGTH   # 431 STFT frames per segment (centred)
N_STFT_BINS = N_FFT // 2 + 1                  # 257

GENRES: tuple[str, ...] = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal",
                           "pop", "reggae", "rock")  # class index order (alphabetical)
N_CLASSES = len(GENRES)

__all__ = ["SAMPLE_RATE", "N_FFT", "HOP_LENGTH", "WINDOW", "N_MELS", "FMIN_HZ", "FMAX_HZ",
           "TOP_DB", "WINDOW_SAMPLES", "OVERLAP", "MIN_ENERGY", "N_FRAMES", "N_STFT_BINS",
           "GENRES", "N_CLASSES"]
