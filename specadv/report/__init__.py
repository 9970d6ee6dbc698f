"""What the book shows, rendered from typed stage results: it never computes a stage.

- :mod:`~specadv.report.players`: audio players and the sink they write to;
- :mod:`~specadv.report.tables`: result tables (DataFrames);
- :mod:`~specadv.report.figures`: figures (matplotlib);
- :mod:`~specadv.report.pages`: HTML pages of players (the paper's result page);
- :mod:`~specadv.report.decomposition`: what the 1D CNN's drop is made of;
- :mod:`~specadv.report.ladder`: the budget ladder's table and the matched budget;
- :mod:`~specadv.report.verdict`: the verdict on transfer over training seeds, in words;
- :mod:`~specadv.report.names`: what the book calls things, and the paper's figures;
- :mod:`~specadv.report.prose`: the sentences the pages glue in, worded from the figures.

Functions take a :class:`~specadv.stages.dataset.Dataset`, per-fold results or a
:class:`~specadv.stages.results.Results` bundle, never a run.
"""
from __future__ import annotations

from specadv.report.decomposition import *  # noqa: F401,F403
from specadv.report.figures import *  # noqa: F401,F403
from specadv.report.ladder import *  # noqa: F401,F403
from specadv.report.names import *  # noqa: F401,F403
from specadv.report.pages import *  # noqa: F401,F403
from specadv.report.players import *  # noqa: F401,F403
from specadv.report.prose import *  # noqa: F401,F403
from specadv.report.tables import *  # noqa: F401,F403
from specadv.report.verdict import *  # noqa: F401,F403
from specadv.report import (decomposition, figures, ladder, names, pages, players, prose, tables,
                            verdict)

__all__ = [n for m in (decomposition, figures, ladder, names, pages, players, prose, tables, verdict)
           for n in m.__all__]
