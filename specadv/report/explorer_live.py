"""The live explorer's output: one state as a figure and a table of players, and what to
say when the run's models are not computed yet.

:func:`render` draws an :class:`~specadv.stages.explorer.ExplorerResult` (the clean and the
adversarial spectrogram, their difference) and the original, clean and adversarial audio
with what each CNN makes of it; :func:`missing_html` says what the explorer still needs.
The widget (:mod:`specadv.explorer`) shows them; :mod:`specadv.report.explorer_static` is
the static book's grid of states.
"""
from __future__ import annotations

import html
from pathlib import Path

from specadv import metrics
from specadv.report.figures import plot_adversarial_example
from specadv.report.players import audio_player, audio_players_html

__all__ = ["render", "missing_html", "COMPUTE_TIMES"]

# what computing the run's missing stages takes, measured on a 2-core laptop CPU
COMPUTE_TIMES = {"smoke": "about a minute",
                 "demo": "a few minutes (the whole demo book takes about 11)"}


def missing_html(profile: str, root: str | Path, needs: list[str], button: bool = True) -> str:
    """HTML: what is missing, how to compute it and about how long it takes (and, with
    ``button``, that the button below computes it here).

    Parameters
    ----------
    profile : the run's profile name; root : its run folder.
    needs : what is not computed yet (:func:`specadv.explorer.missing`).
    """
    took = COMPUTE_TIMES.get(profile, "minutes to hours, depending on the profile and the "
                                      "device")
    items = "".join(f"<li>{html.escape(s)}</li>" for s in needs)
    return (f"<div class='specadv-explorer-missing'><p><b>The explorer needs the trained "
            f"models of the run</b> (profile <code>{html.escape(profile)}</code>, run folder "
            f"<code>{html.escape(str(root))}</code>), and these are not computed yet:</p>"
            f"<ul>{items}</ul><p>Computing them takes {took} on a 2-core CPU. Either run "
            f"the experiment once from the project folder, "
            f"<code>.venv/bin/specadv run --profile {html.escape(profile)}</code> (the whole "
            "book; every stage is cached), then re-run this notebook"
            + ("; or press <i>compute now</i> below to train only what the explorer needs, "
               "here." if button else ".") + "</p></div>")


def render(result, prefix: str = "explorer", sink=None):
    """The figure (clean, adversarial, difference) and an HTML summary with players
    (written to ``sink``, :class:`specadv.report.AudioSink`, or embedded) of one
    :class:`~specadv.stages.explorer.ExplorerResult`."""
    fig = plot_adversarial_example(
        result.x, result.x_adv, f"{result.clip_id} ({result.representation})",
        result.representation)
    rows = [
        {"audio": "original", "1D CNN": result.pred1d_original, "2D CNN": result.pred2d_clean,
         "SNR (dB)": "", "player": audio_player(result.original, f"{prefix}_original", sink)},
        {"audio": "reconstructed, no attack", "1D CNN": result.pred1d_clean,
         "2D CNN": result.pred2d_clean,
         "SNR (dB)": f"{metrics.snr(result.original, result.reconstructed_clean):.1f}",
         "player": audio_player(result.reconstructed_clean, f"{prefix}_clean", sink)},
        {"audio": f"reconstructed, {result.attack} eps {result.eps:g} dB",
         "1D CNN": result.pred1d_adv, "2D CNN": result.pred2d_adv,
         "SNR (dB)": f"{metrics.snr(result.original, result.reconstructed_adv):.1f}",
         "player": audio_player(result.reconstructed_adv, f"{prefix}_adv", sink)},
    ]
    head = (f"<p><b>{result.genre}</b> segment {result.segment} of {result.clip_id}, test fold "
            f"{result.fold + 1}; perturbation L-inf {result.linf_db:.3f} dB</p>")
    return fig, head + audio_players_html(rows, list(rows[0]))
