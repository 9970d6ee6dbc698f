"""Audio players: a link to a WAV file written into the book's static folder, or the
sound embedded in the page.

Where the audio goes is an :class:`AudioSink` that the caller passes in (the runner
gives the notebooks the book's ``_static/audio`` folder); without one, players embed
the sound (base64), so a notebook plays on its own in JupyterLab or under nbval. WAV
files are 16-bit PCM (lossless); samples beyond full scale are clipped, never wrapped,
and the clipping is counted.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specadv.artifacts import atomic_path
from specadv.constants import SAMPLE_RATE

__all__ = ["AudioSink", "write_wav", "audio_player", "audio_players_html"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class AudioSink:
    """Where players put their sound: WAV files in ``folder``, linked as ``url/<name>.wav``.

    The runner's sink for the book is ``book/_static/audio`` with the URL
    ``../../_static/audio`` (pages live two levels below the site root, in
    ``book/generated/``).
    """

    folder: Path
    url: str = "../../_static/audio"

    @classmethod
    def from_param(cls, folder: str | None) -> "AudioSink | None":
        """A sink from a notebook parameter: a folder, or empty for embedded audio."""
        return cls(Path(folder)) if folder else None


def _pcm(waveform) -> tuple[np.ndarray, int]:
    y = np.asarray(waveform, dtype=np.float32)
    return np.clip(y, -1.0, 1.0), int(np.count_nonzero(np.abs(y) > 1.0))


def write_wav(path, waveform, sr: int = SAMPLE_RATE) -> int:
    """Write 16-bit PCM atomically; return how many samples had to be clipped to [-1, 1]."""
    import soundfile as sf

    y, n_clipped = _pcm(waveform)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), y, sr, subtype="PCM_16", format="WAV")
    return n_clipped


def audio_player(waveform, name: str, sink: AudioSink | None = None,
                 sr: int = SAMPLE_RATE) -> str:
    """HTML of an ``<audio>`` player for ``waveform``: linked to ``<sink.folder>/<name>.wav``
    (written now), or embedded (base64) when there is no sink."""
    name = _SAFE.sub("_", name).strip("_")
    if sink is not None:
        clipped = write_wav(Path(sink.folder) / f"{name}.wav", waveform, sr)
        src = f"{sink.url}/{name}.wav"
    else:
        import base64
        import io

        import soundfile as sf

        y, clipped = _pcm(waveform)
        buf = io.BytesIO()
        sf.write(buf, y, sr, subtype="PCM_16", format="WAV")
        src = "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode()
    note = f' <small title="samples clipped to full scale">({clipped} clipped)</small>' \
        if clipped else ""
    # class specadv-player: book/_static/specadv.css sizes it to its table cell
    return (f'<audio class="specadv-player" controls preload="metadata" src="{html.escape(src)}" '
            f'data-name="{html.escape(name)}"></audio>{note}')


def audio_players_html(rows: list[dict], columns: list[str]) -> str:
    """An HTML table whose cells may hold players (values already HTML) or text."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{r.get(c, '')}</td>" for c in columns) + "</tr>"
                   for r in rows)
    return f'<table class="specadv-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
