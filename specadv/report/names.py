"""What the book calls things, and the paper's own figures."""
from __future__ import annotations

from collections.abc import Mapping

from specadv.attacks import ATTACKS
from specadv.roundtrip import REPRESENTATIONS, WAVE

__all__ = ["PAPER", "PAPER_PAGE", "PAPER_PAGE_CONDITIONS", "PAPER_SNR_MEANS", "ATTACK_NAMES",
           "MODEL_NAMES", "CI_ROWS", "LOUDNESS_METRICS", "REPRESENTATIONS_2D", "FILTERED_SPLIT",
           "fold_name", "PAPER_PAGE_SNR_RANGE"]


PAPER = {"2d_legit": 81.87, "2d_adv": 12.09, "1d_orig": 78.29, "1d_adv": 27.91}


# The paper's result page (its authors' STFT form, one GTZAN segment per genre): the 2D CNN's
# prediction and SNR_paper (dB) of the None / BIM / FGSM rows, and the clip_segment it shows
PAPER_PAGE = {
    "rock": ("838_20", {"clean": ("rock", 120.31), "bim": ("country", 24.58),
                        "fgsm": ("hiphop", 18.35)}),
    "country": ("778_8", {"clean": ("country", 129.81), "bim": ("pop", 25.05),
                          "fgsm": ("pop", 18.09)}),
    "blues": ("891_21", {"clean": ("blues", 102.62), "bim": ("rock", 24.91),
                         "fgsm": ("rock", 19.26)}),
    "classical": ("830_10", {"clean": ("classical", 103.00), "bim": ("jazz", 20.21),
                             "fgsm": ("jazz", 14.12)}),
    "hiphop": ("970_16", {"clean": ("hiphop", 120.16), "bim": ("pop", 19.78),
                          "fgsm": ("pop", 12.89)}),
    "pop": ("696_20", {"clean": ("pop", 120.78), "bim": ("reggae", 20.45),
                       "fgsm": ("reggae", 13.78)}),
    "disco": ("930_17", {"clean": ("disco", 116.34), "bim": ("rock", 24.37),
                         "fgsm": ("hiphop", 17.81)}),
    "jazz": ("754_19", {"clean": ("jazz", 126.77), "bim": ("classical", 22.52),
                        "fgsm": ("classical", 16.13)}),
    "reggae": ("941_16", {"clean": ("reggae", 128.13), "bim": ("pop", 18.65),
                          "fgsm": ("hiphop", 12.37)}),
    "metal": ("667_11", {"clean": ("metal", 108.13), "bim": ("pop", 25.57),
                         "fgsm": ("pop", 16.60)}),
}

# The range of the paper's page's attacked rows (every genre's BIM and FGSM), SNR_paper in dB
# to the page's 0.1: the span a run's mean on the authors' form is set against
_PAGE_ATTACKED_SNR = [snr for _, rows in PAPER_PAGE.values()
                      for cond, (_, snr) in rows.items() if cond != "clean"]
PAPER_PAGE_SNR_RANGE = (round(min(_PAGE_ATTACKED_SNR), 1), round(max(_PAGE_ATTACKED_SNR), 1))

# Mean SNR_paper over a test fold in the authors' notebooks (SPEC's headline figures), dB:
# their STFT form (clean reconstruction, BIM and FGSM against the clean reconstruction) and
# their Mel path (original against the clean reconstruction, level not restored)
PAPER_SNR_MEANS = {("stft_paper", "clean"): 121.3, ("stft_paper", "bim"): 20.9,
                   ("stft_paper", "fgsm"): 14.4, ("mel", "clean"): 8.4}


PAPER_PAGE_CONDITIONS = tuple(next(iter(PAPER_PAGE.values()))[1])
"""The rows of each genre's table on the paper's page, in its order (None, BIM, FGSM)."""


class _Names(Mapping):
    """A name in the book for each key, read from the registries when asked (so that an
    attack or a representation registered after import has its name too)."""

    def __init__(self, make):
        self._all = make

    def __getitem__(self, key):
        return self._all()[key]

    def __iter__(self):
        return iter(self._all())

    def __len__(self):
        return len(self._all())


ATTACK_NAMES = _Names(lambda: {"clean": "None", **{n: s.title for n, s in ATTACKS.items()}})
"""Condition -> its name: "None" for the clean spectrogram, each attack's title."""


MODEL_NAMES = _Names(lambda: {**{r.name: r.model_name for r in REPRESENTATIONS.values()},
                              WAVE: "1D CNN (audio)"})
"""Model (a representation's 2D CNN, or ``"wave"``) -> its name in the book."""


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
