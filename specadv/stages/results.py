"""Everything the book renders of one run, as one typed bundle (no computation)."""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Results"]


@dataclass(frozen=True)
class Results:
    """The stage results a report function reads: built by :meth:`specadv.pipeline.Run.results`.

    ``models[kind]``, ``attacks[rep]``, ``reconstructions[rep]``, ``aware[rep]``: one
    result per fold; ``validation[by]``: the Mel 2D CNNs trained with the validation set
    held out by ``by`` ("clip", "segment"); ``inversion``: the sweep, one per fold;
    ``ladder[rep]``: the budget ladder (:class:`~specadv.stages.ladder.FoldLadder`) per fold.
    A part that was not asked for is empty, and a report function that needs it says so.
    """

    ds: object
    conditions: tuple
    device: str = "cpu"
    profile: dict = field(default_factory=dict)  # the run's profile (its name, corpus, settings)
    models: dict = field(default_factory=dict)
    attacks: dict = field(default_factory=dict)
    reconstructions: dict = field(default_factory=dict)
    aware: dict = field(default_factory=dict)
    inversion: list = field(default_factory=list)
    validation: dict = field(default_factory=dict)
    baselines: dict = field(default_factory=dict)  # rep -> the linear baseline's % per fold
    baselines_attacked: dict = field(default_factory=dict)  # rep -> attack -> its % per fold
    ladder: dict = field(default_factory=dict)  # rep -> the budget ladder per fold

    @property
    def representations(self) -> tuple:
        """The 2D CNNs' inputs these results hold (models, attacks or reconstructions), in
        the registry's order."""
        from specadv.roundtrip import REPRESENTATIONS

        held = {*self.models, *self.attacks, *self.reconstructions}
        return tuple(r for r in REPRESENTATIONS if r in held)

    @property
    def attacked(self) -> tuple:
        """The reconstructed attacks (the conditions but ``clean``)."""
        return self.conditions[1:]

    def need(self, part: str, key=None):
        """``getattr(self, part)[key]`` (or the part), with an error naming what is missing."""
        value = getattr(self, part)
        if key is None:
            if not value:
                raise ValueError(f"these results hold no {part!r}: build them with "
                                 f"run.results({part!r}, ...)")
            return value
        if key not in value:
            raise ValueError(f"these results hold no {part}[{key!r}]: build them with "
                             f"run.results({part!r}, ...)")
        return value[key]
