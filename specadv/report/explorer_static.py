"""The static explorer: a precomputed grid of states as one self-contained HTML block.

Four selectors (genre, spectrogram, attack, budget) swap the spectrogram images, the
players and the prediction table of a precomputed
:class:`specadv.stages.explorer.ExplorerGrid`.
Plain HTML and a few lines of inline JavaScript: no kernel, no CDN, no widget manager;
it works from ``file://`` with no network. The default state is also written into the
HTML itself, so a reader without JavaScript sees it.

Images are 8-bit palette PNGs at the feature's own resolution (one pixel per bin and
frame), named by their content: a FGSM or random-sign perturbation, drawn on a scale of
its own budget, is the same image at every budget and is stored once. Images and WAVs go
to the :class:`~specadv.report.players.AudioSink` (the book's ``_static/audio``) or are
embedded when there is none.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re
from pathlib import Path

import numpy as np

from specadv import attacks as atk
from specadv.artifacts import atomic_path
from specadv.constants import GENRES
from specadv.report.names import ATTACK_NAMES
from specadv.report.players import audio_player
from specadv.roundtrip import REPRESENTATIONS

__all__ = ["explorer_html", "spectrogram_png", "state_key", "AXES"]

AXES = ("genre", "rep", "attack", "eps")
"""The selectors, in the order of a state's key (:func:`state_key`)."""
CLEAN_CMAP, DELTA_CMAP = "magma", "RdBu_r"
CLEAN_RANGE_DB = 80.0  # the clean image spans [top - 80, top] dB, as the book's figures
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def state_key(genre: int, rep: int, attack: int, eps: int) -> str:
    """The key of a state: the positions of its choices on :data:`AXES`, '|'-joined."""
    return f"{genre}|{rep}|{attack}|{eps}"


def spectrogram_png(img: np.ndarray, vmin: float, vmax: float, cmap: str) -> bytes:
    """An ``(F, T)`` array as an 8-bit palette PNG, one pixel per bin and frame, low
    frequencies at the bottom, ``[vmin, vmax]`` mapped onto ``cmap``'s 256 colours."""
    import matplotlib
    from PIL import Image

    v = np.asarray(img, dtype=np.float32)
    idx = np.clip(np.rint((v - vmin) / max(vmax - vmin, 1e-12) * 255), 0, 255).astype(np.uint8)
    im = Image.fromarray(np.ascontiguousarray(idx[::-1]), mode="P")
    colors = matplotlib.colormaps[cmap](np.linspace(0, 1, 256))[:, :3]
    im.putpalette((colors * 255).round().astype(np.uint8).ravel().tolist())
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _gradient(cmap: str) -> str:
    import matplotlib

    stops = matplotlib.colormaps[cmap](np.linspace(0, 1, 9))[:, :3]
    return "linear-gradient(to right, " + ", ".join(
        "#" + "".join(f"{int(round(c * 255)):02x}" for c in s) for s in stops) + ")"


class _Assets:
    """Images by content: files in the sink (linked) or data URIs (no sink)."""

    def __init__(self, prefix: str, sink):
        self.prefix, self.sink, self.urls = prefix, sink, {}

    def image(self, png: bytes) -> str:
        digest = hashlib.sha1(png).hexdigest()[:16]
        if digest not in self.urls:
            if self.sink is None:
                self.urls[digest] = "data:image/png;base64," + base64.b64encode(png).decode()
            else:
                name = f"{self.prefix}_{digest}.png"
                path = Path(self.sink.folder) / name
                if not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    with atomic_path(path) as tmp:
                        tmp.write_bytes(png)
                self.urls[digest] = f"{self.sink.url}/{name}"
        return digest


def _snr(v: float) -> str:
    return "exact (inf)" if not np.isfinite(v) else f"{float(v):.1f}"


def _genre(pred: int, true: int) -> str:
    name = GENRES[int(pred)]
    return name if int(pred) == int(true) else f"{name} \u2717"


def explorer_html(grid, prefix: str = "explorer", sink=None, titles: dict | None = None,
                  start: tuple | None = None) -> str:
    """The grid as an HTML block with selectors that swap images, players and table.

    Parameters
    ----------
    grid : :class:`specadv.stages.explorer.ExplorerGrid`
    prefix : names of the files written to ``sink`` (and of the block's id).
    sink : :class:`~specadv.report.players.AudioSink` or None (everything embedded).
    titles : representation name -> how the page names it (default: the registry's titles).
    start : the state shown first, ``(genre position, representation, attack, eps)``;
        default the first genre, Mel (else the first representation), BIM at 0.3 dB
        where the grid has them.

    Returns
    -------
    str: the HTML; ``data-states`` on its root counts the states.
    """
    titles = titles or {k: r.title for k, r in REPRESENTATIONS.items()}
    n, nr, na, ne = grid.shape
    if start is None:
        rep0 = "mel" if "mel" in grid.representations else grid.representations[0]
        att0 = atk.BIM.name if atk.BIM.name in grid.attacks else grid.attacks[0]
        eps0 = min(grid.eps_db, key=lambda e: abs(e - 0.3))
        start = (0, rep0, att0, eps0)
    start_key = state_key(start[0], grid.representations.index(start[1]),
                          grid.attacks.index(start[2]), grid.eps_db.index(start[3]))
    assets, players, states = _Assets(prefix, sink), {}, {}

    def player(waveform, name: str) -> str:
        players[name] = audio_player(waveform, f"{prefix}_{name}", sink)
        return name

    for s in range(n):
        genre, true = grid.genres[s], int(grid.labels[s])
        orig = player(grid.original[s], f"{genre}_original") if grid.has_audio(s) else None
        for r, rep in enumerate(grid.representations):
            x = grid.x[rep][s].astype(np.float32)
            top = max(float(x.max()), 0.0)
            clean_img = assets.image(spectrogram_png(x, top - CLEAN_RANGE_DB, top, CLEAN_CMAP))
            clean = (player(grid.audio_clean[rep][s], f"{genre}_{rep}_clean")
                     if grid.has_audio(s) else None)
            for a, attack in enumerate(grid.attacks):
                for e, eps in enumerate(grid.eps_db):
                    d = grid.delta[rep][s, a, e].astype(np.float32)
                    delta_img = assets.image(spectrogram_png(d, -eps, eps, DELTA_CMAP))
                    adv = (player(grid.audio[rep][s, a, e], f"{genre}_{rep}_{attack}_{eps:g}")
                           if grid.has_audio(s) else None)
                    states[state_key(s, r, a, e)] = {
                        "head": (f"<b>{html.escape(genre)}</b>: segment {int(grid.seg_index[s])} "
                                 f"of {html.escape(grid.clip_ids[s])}, test fold "
                                 f"{int(grid.folds[s]) + 1}; the 2D CNN on "
                                 f"{html.escape(titles.get(rep, rep))}, "
                                 f"{html.escape(ATTACK_NAMES.get(attack, attack))} at "
                                 f"{eps:g} dB: perturbation L-inf "
                                 f"{float(grid.linf_db[rep][s, a, e]):.3f} dB"),
                        "clean": clean_img, "delta": delta_img, "eps": f"{eps:g}",
                        "rows": [
                            ["original", _genre(grid.pred1d_original[s], true),
                             _genre(grid.pred2d_clean[rep][s], true), "", orig],
                            ["reconstructed, no attack", _genre(grid.pred1d_clean[rep][s], true),
                             _genre(grid.pred2d_clean[rep][s], true),
                             _snr(grid.snr_clean[rep][s]), clean],
                            [f"reconstructed, {ATTACK_NAMES.get(attack, attack)} {eps:g} dB",
                             _genre(grid.pred1d[rep][s, a, e], true),
                             _genre(grid.pred2d[rep][s, a, e], true),
                             _snr(grid.snr[rep][s, a, e]), adv]]}
    axes = {"genre": list(grid.genres),
            "rep": [titles.get(r, r) for r in grid.representations],
            "attack": [ATTACK_NAMES.get(a, a) for a in grid.attacks],
            "eps": [f"{e:g} dB" for e in grid.eps_db]}
    kept = ", ".join(grid.genres[:len(grid.audio_segments)]) or "none"
    summary = (f"{len(states)} precomputed states: {n} genres x {nr} spectrograms x {na} "
               f"attacks x {ne} budgets; players for every state of {kept}, spectrograms "
               "and predictions for the other genres (the book's size: a 5-s player is "
               "about 0.22 MB).")
    data = {"axes": axes, "summary": summary, "images": {k: assets.urls[k] for k in assets.urls},
            "players": players, "states": states,
            "note": (f"no audio kept for this genre (the page keeps the players of {kept}: "
                     "its size; the live explorer plays every genre)")}
    return _page(_SAFE.sub("-", prefix), data, start_key)


_COLUMNS = ("audio", "1D CNN (audio)", "2D CNN (spectrogram)", "SNR (dB)", "player")

_JS = """(function () {
  var root = document.getElementById(%(id)s);
  var data = JSON.parse(root.querySelector('script.specadv-explorer-data').textContent);
  var selects = root.querySelectorAll('select[data-axis]');
  function cell(text, html) { var td = document.createElement('td');
    if (html) td.innerHTML = text; else td.textContent = text; return td; }
  function show() {
    var key = Array.prototype.map.call(selects, function (s) { return s.value; }).join('|');
    var st = data.states[key];
    root.setAttribute('data-state', key);
    root.querySelector('.specadv-explorer-head').innerHTML = st.head;
    root.querySelector('img.specadv-explorer-clean').src = data.images[st.clean];
    root.querySelector('img.specadv-explorer-delta').src = data.images[st.delta];
    root.querySelectorAll('.specadv-explorer-eps').forEach(function (e) {
      e.textContent = st.eps; });
    var body = root.querySelector('tbody');
    body.textContent = '';
    st.rows.forEach(function (row) {
      var tr = document.createElement('tr');
      for (var i = 0; i < 4; i++) tr.appendChild(cell(row[i], false));
      var p = row[4];
      tr.appendChild(p === null ? cell('<small>' + data.note + '</small>', true)
                                : cell(data.players[p], true));
      body.appendChild(tr);
    });
  }
  selects.forEach(function (s) { s.addEventListener('change', show); });
})();"""

_CSS = """<style>
.specadv-explorer-controls { display: flex; flex-wrap: wrap; gap: 0.4rem 1rem; margin: 0.5rem 0; }
.specadv-explorer-controls select { max-width: 100%%; }
.specadv-explorer img { display: block; width: 100%%; height: %(h)s; image-rendering: pixelated; }
.specadv-explorer .specadv-explorer-bar { display: inline-block; width: 6rem; height: 0.7rem;
  vertical-align: middle; }
</style>"""


def _page(uid: str, data: dict, start_key: str) -> str:
    st = data["states"][start_key]
    picked = start_key.split("|")
    controls = []
    for pos, axis in enumerate(AXES):
        opts = "".join(f'<option value="{i}"{" selected" if str(i) == picked[pos] else ""}>'
                       f"{html.escape(label)}</option>"
                       for i, label in enumerate(data["axes"][axis]))
        label = {"genre": "genre", "rep": "spectrogram", "attack": "attack",
                 "eps": "budget"}[axis]
        controls.append(f'<label>{label} <select data-axis="{axis}">{opts}</select></label>')

    def row_html(row):
        player = (f"<small>{html.escape(data['note'])}</small>" if row[4] is None
                  else data["players"][row[4]])
        return "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row[:4]) + \
            f"<td>{player}</td></tr>"

    head = "".join(f"<th>{html.escape(c)}</th>" for c in _COLUMNS)
    body = "".join(row_html(r) for r in st["rows"])
    # JSON inside <script>: no "</" may close the element early
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    def bar(cmap):
        return f'<span class="specadv-explorer-bar" style="background:{_gradient(cmap)}"></span>'

    def img(kind, alt):
        src = html.escape(data["images"][st[kind]])
        return f'<img class="specadv-explorer-{kind}" alt="{alt}" src="{src}">'

    eps = f'<span class="specadv-explorer-eps">{html.escape(st["eps"])}</span>'
    return (
        _CSS % {"h": "9rem"}
        + f'<div class="specadv-explorer" id="{uid}" data-state="{start_key}" '
        f'data-states="{len(data["states"])}">'
        + f'<p><small>{html.escape(data["summary"])}</small></p>'
        + f'<div class="specadv-explorer-controls">{"".join(controls)}</div>'
        + f'<p class="specadv-explorer-head">{st["head"]}</p>'
        + f'<p><small>The clean spectrogram, {CLEAN_RANGE_DB:g} dB below its maximum '
        f"{bar(CLEAN_CMAP)} to its maximum (time to the right, frequency up):</small></p>"
        + img("clean", "clean spectrogram")
        + f"<p><small>The perturbation added to it, -{eps} dB {bar(DELTA_CMAP)} +{eps} dB:"
        "</small></p>"
        + img("delta", "perturbation")
        + f'<table class="specadv-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
        + f'<script type="application/json" class="specadv-explorer-data">{blob}</script>'
        + f"<script>{_JS % {'id': json.dumps(uid)}}</script></div>")
