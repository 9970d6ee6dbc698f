"""What the book calls things, and the paper's own figures."""
from __future__ import annotations

__all__ = ["PAPER", "ATTACK_NAMES", "MODEL_NAMES", "CI_ROWS", "LOUDNESS_METRICS", "REPRESENTATIONS_2D"]


PAPER = {"2d_legit": 81.87, "2d_adv": 12.09, "1d_orig": 78.29, "1d_adv": 27.91}


ATTACK_NAMES = {"clean": "None", "fgsm": "FGSM", "bim": "BIM", "pgd": "PGD",
                "random_sign": "random sign (control)"}


MODEL_NAMES = {"mel": "2D CNN (Mel)", "stft": "2D CNN (STFT)", "wave": "1D CNN (audio)"}


CI_ROWS = ("95% CI low", "95% CI high")  # bootstrap over clips, within folds


LOUDNESS_METRICS = {"snr": "SNR (dB)", "segsnr": "segmental SNR (dB)", "si_sdr": "SI-SDR (dB)",
                    "lsd": "log-spectral distance (dB)",
                    "attack_db": "attack level re music (dB)"}


REPRESENTATIONS_2D = ("mel", "stft")
