import os
from pathlib import Path

import pytest

# The paper's examples live beside the project (../shared/paper-audio), never inside it;
# a clone elsewhere finds them through SPECADV_PAPER_AUDIO or the workplace's path.
_CANDIDATES = [os.environ.get("SPECADV_PAPER_AUDIO", ""),
               Path(__file__).resolve().parents[1].parent / "shared" / "paper-audio",
               "/work/shared/paper-audio"]
PAPER_AUDIO = next((Path(p) for p in _CANDIDATES if p and Path(p).is_dir()), Path(_CANDIDATES[1]))

@pytest.fixture(scope="session")
def paper_audio() -> Path:
    """The paper's own 5-s examples (real GTZAN); never part of the project."""
    if not PAPER_AUDIO.is_dir():
        pytest.skip(f"paper audio folder absent: {PAPER_AUDIO}")
    return PAPER_AUDIO
