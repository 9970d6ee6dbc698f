"""specadv: spectrogram adversarial attacks and their transfer to audio waveforms.

A reproduction of Koerich et al., "Cross-Representation Transferability of
Adversarial Attacks: From Spectrograms to Audio Waveforms" (IJCNN 2020).
"""
__version__ = "0.1.0"
