"""What the book calls things, and the paper's own figures."""
from __future__ import annotations

from specadv.roundtrip import REPRESENTATIONS, WAVE

__all__ = ["PAPER", "ATTACK_NAMES", "MODEL_NAMES", "CI_ROWS", "LOUDNESS_METRICS",
           "REPRESENTATIONS_2D", "FILTERED_SPLIT", "fold_name"]


PAPER = {"2d_legit": 81.87, "2d_adv": 12.09, "1d_orig": 78.29, "1d_adv": 27.91}


ATTACK_NAMES = {"clean": "None", "fgsm": "FGSM", "bim": "BIM", "pgd": "PGD",
                "random_sign": "random sign (control)"}


MODEL_NAMES = {**{r.name: r.model_name for r in REPRESENTATIONS.values()}, WAVE: "1D CNN (audio)"}


CI_ROWS = ("95% CI low", "95% CI high")  # bootstrap over clips, within folds


LOUDNESS_METRICS = {"snr": "SNR (dB)", "segsnr": "segmental SNR (dB)", "si_sdr": "SI-SDR (dB)",
                    "lsd": "log-spectral distance (dB)",
                    "attack_db": "attack level re music (dB)"}


REPRESENTATIONS_2D = tuple(REPRESENTATIONS)  # the 2D CNNs' inputs, in the registry's order


# The one rotation of ``folds.kind: filtered`` (GTZAN's fault-filtered split, Kereliuk et
# al. 2015): what tables and figures say where the stratified folds give a mean over folds
FILTERED_SPLIT = "filtered split"


def fold_name(fold: int, n_folds: int) -> str:
    """A rotation's label: "fold 2", or "filtered split" where there is one rotation (the
    stratified folds are at least two)."""
    return FILTERED_SPLIT if n_folds == 1 else f"fold {fold + 1}"
