"""The live explorer for JupyterLab: pick a segment, a representation, an attack and a
budget, and hear and see it.

:func:`explorer_widget` is the ipywidgets UI: every change of a control recomputes one
state (:func:`specadv.stages.explorer.explore`) from the cached models of the run and
shows it (:func:`specadv.report.explorer_live.render`); :func:`missing` says which of the
models are not computed yet, so the page can say so (:func:`missing_message`) instead of
training for minutes unasked.

The static book's grid of states is a stage, :mod:`specadv.stages.explorer`, rendered by
:mod:`specadv.report.explorer_static`; its names are importable from here too, as the
notebook calls them (``explorer.grid(run)``).
"""
from __future__ import annotations

import time

from specadv import attacks as atk
from specadv.constants import GENRES
from specadv.report.explorer_live import missing_html, render
from specadv.report.names import MODEL_NAMES
from specadv.roundtrip import REPRESENTATIONS, WAVE
from specadv.stages.explorer import (ATTACK_CHOICES, GRID_ATTACKS, GRID_AUDIO_EXAMPLES,
                                     GRID_EPS_DB, ExplorerGrid, ExplorerResult,
                                     attack_segments, compute_grid, explore, grid, grid_key)

LIVE_EPS_DB = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
"""The budgets the live explorer offers (dB), exact values: the paper's 0.3 among them."""

__all__ = ["ExplorerResult", "ExplorerGrid", "explore", "attack_segments", "compute_grid",
           "grid", "grid_key", "missing", "missing_message", "render", "explorer_widget",
           "ATTACK_CHOICES", "GRID_ATTACKS", "GRID_EPS_DB", "GRID_AUDIO_EXAMPLES",
           "LIVE_EPS_DB"]


def missing(run) -> list[str]:
    """What the explorer reads from the run folder that is not computed yet: the corpus
    (an embedded one), the dataset, the models of each kind (by fold). Empty: ready."""
    if run.profile["corpus"]["kind"] == "embedded" and \
            not run.store.entry("corpus", run.key("corpus")).is_complete():
        return ["the embedded corpus", "the dataset (segments and features)", "every model"]
    if not run.store.entry("dataset", run.key("dataset")).is_complete():
        return ["the dataset (segments and features)", "every model"]
    n_folds = run.dataset().n_folds
    out = []
    for kind in (*REPRESENTATIONS, WAVE):
        validation = run.train_config(kind).validation_by
        n = sum(not run.store.entry(f"model-{kind}", run.key(
            "model", kind, k, validation=validation)).is_complete() for k in range(n_folds))
        if n:
            out.append(f"{MODEL_NAMES.get(kind, kind)}: {n} of {n_folds} folds")
    return out


def missing_message(run, needs: list[str], button: bool = True) -> str:
    """HTML: what is missing, how to compute it and about how long it takes (and, with
    ``button``, that the button below computes it here)
    (:func:`specadv.report.explorer_live.missing_html` for the run's profile and folder)."""
    return missing_html(run.profile.name, run.root, needs, button)


def explorer_widget(run, segment: int | None = None, representation: str = "mel",
                    attack: str = atk.BIM.name, eps: float = 0.3, compute: bool = False):
    """An ipywidgets explorer over the run's segments (needs a live kernel).

    It opens on ``segment`` (default: the first of the book's examples, the static
    page's), ``representation``, ``attack`` and ``eps`` (one of :data:`LIVE_EPS_DB`).
    When the run's models are not all in the run folder (:func:`missing`) and ``compute``
    is false, it shows what is missing and a button that computes it, instead of
    training unasked.
    """
    import ipywidgets as w

    needs = missing(run)
    if needs and not compute:
        note = w.HTML(missing_message(run, needs))
        button = w.Button(description="compute now", icon="play")
        box = w.VBox([note, button])

        def start(_):
            button.disabled, button.description = True, "computing..."
            t0 = time.perf_counter()
            live = explorer_widget(run, segment, representation, attack, eps, compute=True)
            box.children = [w.HTML(f"<p>Computed in {time.perf_counter() - t0:.0f} s.</p>"),
                            live]

        button.on_click(start)
        return box
    return _live_widget(run, segment, representation, attack, eps)


def _live_widget(run, segment, representation, attack, eps):
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display

    if eps not in LIVE_EPS_DB:
        raise ValueError(f"eps must be one of {LIVE_EPS_DB}; got {eps}")
    ds = run.dataset()
    if segment is None:
        segment = next(iter(run.examples().values()))
    rows = ds.split(0)[1] if ds.split_kind == "filtered" else range(len(ds))
    options = [(f"{GENRES[int(ds.labels[i])]}: {ds.clips[ds.seg_clip[i]].clip_id} "
                f"#{int(ds.seg_index[i])}", int(i)) for i in rows]
    seg = w.Dropdown(options=options, value=int(segment), description="segment")
    rep = w.ToggleButtons(options=[(r.title, r.name) for r in REPRESENTATIONS.values()],
                          value=representation, description="spectrogram")
    att = w.Dropdown(options=list(ATTACK_CHOICES), value=attack, description="attack")
    # exact budgets, labelled as typed: a log slider snapped 0.3 to 10 ** -0.5
    budget = w.SelectionSlider(options=[(f"{e:g}", e) for e in LIVE_EPS_DB], value=eps,
                               description="eps (dB)")
    out = w.Output()

    def update(*_):
        with out:
            out.clear_output(wait=True)
            fig, html = render(explore(run, seg.value, rep.value, att.value, budget.value))
            plt.show()
            display(HTML(html))

    for control in (seg, rep, att, budget):
        control.observe(update, names="value")
    update()
    return w.VBox([w.HBox([seg, rep]), w.HBox([att, budget]), out])
