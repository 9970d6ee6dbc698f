"""The interactive explorer: one segment, one representation, one attack, one budget.

:func:`explore` is the computation (arrays in, a small result out, unit-tested);
:func:`explorer_widget` wraps it in ipywidgets for JupyterLab, where every change of
a control recomputes from the cached models of the run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specadv.constants import GENRES
from specadv.data import FOLD_TRAIN

ATTACK_CHOICES = ("fgsm", "bim", "pgd", "random_sign")

__all__ = ["ExplorerResult", "explore", "render", "explorer_widget", "ATTACK_CHOICES"]


@dataclass(frozen=True)
class ExplorerResult:
    """What the explorer shows for one choice."""

    segment: int
    clip_id: str
    genre: str
    representation: str
    attack: str
    eps: float
    fold: int
    x: np.ndarray  # clean dB feature (F, T)
    x_adv: np.ndarray  # adversarial dB feature (F, T)
    original: np.ndarray  # waveform (window,)
    reconstructed_clean: np.ndarray
    reconstructed_adv: np.ndarray
    pred2d_clean: str
    pred2d_adv: str
    pred1d_original: str
    pred1d_clean: str
    pred1d_adv: str

    @property
    def linf_db(self) -> float:
        return float(np.abs(self.x_adv - self.x).max())


def explore(run, segment: int, representation: str = "mel", attack: str = "bim",
            eps: float = 0.3) -> ExplorerResult:
    """Attack one segment with the 2D CNN of its fold, reconstruct it and classify the audio.

    Parameters
    ----------
    run : specadv.pipeline.Run
        Its cached models are used (trained first if absent).
    segment : int
        Row of the run's dataset; it is attacked by the model of the fold it is a
        test segment of.
    representation : "mel" or "stft"
    attack : "fgsm", "bim", "pgd" or "random_sign"
    eps : float
        L-infinity budget in dB; the BIM/PGD step is eps / 3 (0.1 for 0.3).
    """
    from specadv import attacks as atk
    from specadv import roundtrip as rt

    if attack not in ATTACK_CHOICES:
        raise ValueError(f"attack must be one of {ATTACK_CHOICES}; got {attack!r}")
    if eps < 0:
        raise ValueError(f"eps must be non-negative; got {eps}")
    rep = rt.representation(representation)
    ds = run.dataset()
    if not 0 <= segment < len(ds):
        raise IndexError(f"segment {segment} outside the dataset's {len(ds)} segments")
    fold = int(ds.folds[segment])
    if fold < 0:
        raise ValueError(f"segment {segment} is in the filtered split's "
                         f"{'train' if fold == FOLD_TRAIN else 'validation'} list, not a test "
                         "segment: choose one of the test list (Dataset.split(0)[1])")
    m2d = run.models(rep.name)[fold].model
    m1d = run.models(rt.WAVE)[fold].model
    a = run.profile["attacks"]
    w = rt.to_device(ds.waveforms([segment]), run.device)
    clean = rep.extract(w)
    x = clean.db
    params = atk.budget_params(a, attack, eps)
    seeds = (atk.segment_seeds(a["seed"], attack, [segment])
             if attack in ("random_sign", "pgd") and a["seed"] is not None else None)
    x_adv = x if eps == 0 else atk.attack(m2d, x, attack, params, labels=a["labels"],
                                          y_true=ds.labels[[segment]], row_seeds=seeds).x_adv
    inversion = rt.Inversion.from_profile(run.profile["reconstruction"])
    y_clean, y_adv = (rep.inverse(v, clean, inversion) for v in (x, x_adv))

    def label(model, v):
        return GENRES[int(rt.probs(model, v)[0].argmax())]

    def host(t):
        return t[0].detach().cpu().numpy()

    return ExplorerResult(
        segment=segment, clip_id=ds.clips[ds.seg_clip[segment]].clip_id,
        genre=GENRES[int(ds.labels[segment])], representation=rep.name, attack=attack,
        eps=float(eps), fold=fold, x=host(x), x_adv=host(x_adv), original=host(w),
        reconstructed_clean=host(y_clean), reconstructed_adv=host(y_adv),
        pred2d_clean=label(m2d, x), pred2d_adv=label(m2d, x_adv),
        pred1d_original=label(m1d, w), pred1d_clean=label(m1d, y_clean),
        pred1d_adv=label(m1d, y_adv))


def render(result: ExplorerResult, prefix: str = "explorer", sink=None):
    """The figure (clean, adversarial, difference) and an HTML summary with players
    (written to ``sink``, :class:`specadv.report.AudioSink`, or embedded)."""
    from specadv import metrics, report

    fig = report.plot_adversarial_example(
        result.x, result.x_adv, f"{result.clip_id} ({result.representation})",
        result.representation)
    rows = [
        {"audio": "original", "1D CNN": result.pred1d_original, "2D CNN": result.pred2d_clean,
         "SNR (dB)": "", "player": report.audio_player(result.original, f"{prefix}_original", sink)},
        {"audio": "reconstructed, no attack", "1D CNN": result.pred1d_clean,
         "2D CNN": result.pred2d_clean,
         "SNR (dB)": f"{metrics.snr(result.original, result.reconstructed_clean):.1f}",
         "player": report.audio_player(result.reconstructed_clean, f"{prefix}_clean", sink)},
        {"audio": f"reconstructed, {result.attack} eps {result.eps:g} dB",
         "1D CNN": result.pred1d_adv, "2D CNN": result.pred2d_adv,
         "SNR (dB)": f"{metrics.snr(result.original, result.reconstructed_adv):.1f}",
         "player": report.audio_player(result.reconstructed_adv, f"{prefix}_adv", sink)},
    ]
    head = (f"<p><b>{result.genre}</b> segment {result.segment} of {result.clip_id}, test fold "
            f"{result.fold + 1}; perturbation L-inf {result.linf_db:.3f} dB</p>")
    return fig, head + report.audio_players_html(rows, list(rows[0]))


def explorer_widget(run):
    """An ipywidgets explorer over the run's segments (needs a live kernel)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display

    ds = run.dataset()
    options = [(f"{GENRES[int(ds.labels[i])]}: {ds.clips[ds.seg_clip[i]].clip_id} "
                f"#{int(ds.seg_index[i])}", int(i)) for i in range(len(ds))]
    seg = w.Dropdown(options=options, description="segment")
    from specadv.roundtrip import REPRESENTATIONS

    rep = w.ToggleButtons(options=list(REPRESENTATIONS), description="spectrogram")
    att = w.Dropdown(options=list(ATTACK_CHOICES), value="bim", description="attack")
    eps = w.FloatLogSlider(value=0.3, base=10, min=-2, max=1, step=0.1, description="eps (dB)")
    out = w.Output()

    def update(*_):
        with out:
            out.clear_output(wait=True)
            fig, html = render(explore(run, seg.value, rep.value, att.value, eps.value))
            plt.show()
            display(HTML(html))

    for control in (seg, rep, att, eps):
        control.observe(update, names="value")
    update()
    return w.VBox([w.HBox([seg, rep]), w.HBox([att, eps]), out])
