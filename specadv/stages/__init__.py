"""The experiment's stages: plain functions from inputs and settings to small typed results.

Each stage module holds the result it makes (a frozen dataclass that saves itself
into, and loads itself from, a cache entry of :mod:`specadv.artifacts`) and the
function that computes it. A stage never knows whether it is cached:
:class:`specadv.pipeline.Run` memoises them.

- :mod:`~specadv.stages.dataset`: segments, folds, audio and features (:class:`Dataset`);
- :mod:`~specadv.stages.train`: a model per fold (:class:`FoldModel`);
- :mod:`~specadv.stages.attack`: adversarial spectrograms (:class:`FoldAttacks`);
- :mod:`~specadv.stages.reconstruct`: audio from them, measured and classified
  (:class:`FoldReconstruction`);
- :mod:`~specadv.stages.beyond`: the reconstruction-aware attack (:class:`FoldAware`)
  and the Mel inversion sweep (:class:`FoldInversion`).
- :mod:`~specadv.stages.explorer`: the explorer's states, one segment or the static
  book's grid of them (:class:`ExplorerGrid`).
"""
from __future__ import annotations


def progress(iterable, enabled: bool = True, **kw):
    """``iterable`` with a tqdm bar (none when ``enabled`` is false)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not enabled, **kw)
