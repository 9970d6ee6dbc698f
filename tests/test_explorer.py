import numpy as np
import pytest

from specadv import explorer
from specadv.pipeline import Run
from specadv.report import explorer_live
from specadv.stages import explorer as stage


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    # its own run folder: the tests never read or write the user's runs/
    return Run("smoke", progress=False, runs_dir=tmp_path_factory.mktemp("runs"))


def test_explore_stft_bim_stays_in_budget_and_reconstructs_exactly_when_clean(run):
    seg = list(run.examples().values())[0]
    r = stage.explore(run, seg, "stft", "bim", 0.3)
    assert r.x.shape == r.x_adv.shape == (257, 431)
    assert 0.29 < r.linf_db <= 0.3 + 1e-4
    assert r.fold == int(run.dataset().folds[seg])
    err = r.original - r.reconstructed_clean
    assert 10 * np.log10(np.sum(r.original ** 2) / np.sum(err ** 2)) > 60
    assert not np.allclose(r.reconstructed_adv, r.reconstructed_clean)


def test_explore_zero_budget_changes_nothing_and_noise_is_exactly_eps(run):
    seg = list(run.examples().values())[1]
    r0 = stage.explore(run, seg, "mel", "fgsm", 0.0)
    assert np.array_equal(r0.x, r0.x_adv) and r0.pred2d_clean == r0.pred2d_adv
    rn = stage.explore(run, seg, "mel", "random_sign", 0.5)
    assert np.allclose(np.abs(rn.x_adv - rn.x), 0.5, atol=1e-5)
    fig, html = explorer_live.render(rn, prefix="test")
    assert html.count("<audio") == 3 and "random_sign" in html


def test_explore_refuses_bad_choices(run):
    with pytest.raises(ValueError, match="attack"):
        stage.explore(run, 0, "mel", "deepfool", 0.3)
    with pytest.raises(IndexError, match="outside"):
        stage.explore(run, 10 ** 6, "mel", "bim", 0.3)


# --------------------------------------------------------------------------- the static grid
import json  # noqa: E402
import re  # noqa: E402
from html import unescape  # noqa: E402

from specadv.report import AudioSink  # noqa: E402
from specadv.report import explorer_static  # noqa: E402
from specadv.roundtrip import REPRESENTATIONS, WAVE, Inversion  # noqa: E402


@pytest.fixture(scope="module")
def grid(run):
    return stage.grid(run)


def _blob(html):
    m = re.search(r'<script type="application/json" class="specadv-explorer-data">(.*?)</script>',
                  html, re.S)
    return json.loads(m.group(1))


def test_grid_has_every_genre_representation_attack_and_budget(run, grid):
    examples = run.examples()
    n, na, ne = len(examples), len(stage.GRID_ATTACKS), len(stage.GRID_EPS_DB)
    assert grid.shape == (n, len(REPRESENTATIONS), na, ne)
    assert grid.segments == tuple(examples.values()) and grid.genres == tuple(examples)
    assert grid.representations == tuple(REPRESENTATIONS)
    assert 0.3 in grid.eps_db and "random_sign" in grid.attacks
    m = stage.GRID_AUDIO_EXAMPLES
    assert grid.audio_segments == grid.segments[:m] and grid.original.shape[0] == m
    for rep, r in REPRESENTATIONS.items():
        assert grid.x[rep].shape == (n, *r.feature_shape)
        assert grid.delta[rep].shape == (n, na, ne, *r.feature_shape)
        assert grid.audio[rep].shape == (m, na, ne, grid.original.shape[1])
        eps = np.asarray(grid.eps_db)
        assert np.all(grid.linf_db[rep] <= eps + 1e-4)
        control = grid.attacks.index("random_sign")
        assert np.allclose(grid.linf_db[rep][:, control], eps, atol=1e-4)  # exactly the budget


def test_grid_is_cached_and_each_state_is_the_live_explorers(run, grid):
    again = stage.grid(type(run)("smoke", progress=False, runs_dir=run.root.parent))
    assert again.seconds == grid.seconds  # loaded, not recomputed
    for rep in grid.representations:
        assert np.array_equal(again.delta[rep], grid.delta[rep])
    s, rep, a, e = 0, "stft", grid.attacks.index("bim"), grid.eps_db.index(0.3)
    r = stage.explore(run, grid.segments[s], rep, "bim", 0.3)
    assert np.allclose(r.x_adv - r.x, grid.delta[rep][s, a, e], atol=2e-3)
    assert np.allclose(r.reconstructed_adv, grid.audio[rep][s, a, e], atol=1e-5)
    from specadv.constants import GENRES
    assert r.pred2d_adv == GENRES[grid.pred2d[rep][s, a, e]]
    assert r.pred1d_adv == GENRES[grid.pred1d[rep][s, a, e]]


def test_grid_is_deterministic_and_independent_of_its_batch(run, grid):
    ds, ex = run.dataset(), dict(list(run.examples().items())[:2])
    models = {k: [m.model for m in run.models(k)] for k in ("stft", WAVE)}
    sub = stage.compute_grid(ds, ex, models, run.profile["attacks"],
                             Inversion.from_profile(run.profile["reconstruction"]),
                             run.device, representations=("stft",), audio_examples=1)
    assert sub.shape == (2, 1, *grid.shape[2:])
    assert np.array_equal(sub.delta["stft"], grid.delta["stft"][:2])
    assert np.array_equal(sub.pred1d["stft"], grid.pred1d["stft"][:2])
    assert np.allclose(sub.audio["stft"][0], grid.audio["stft"][0], atol=1e-6)


def test_static_explorer_references_only_what_it_wrote_and_lists_every_option(grid, tmp_path):
    html = explorer_static.explorer_html(grid, "t", AudioSink(tmp_path, "media"))
    data = _blob(html)
    n, nr, na, ne = grid.shape
    assert len(data["states"]) == n * nr * na * ne == int(re.search(r'data-states="(\d+)"',
                                                                     html).group(1))
    for axis, labels in data["axes"].items():  # each selector lists every option
        select = re.search(rf'<select data-axis="{axis}">(.*?)</select>', html).group(1)
        assert [unescape(o) for o in re.findall(r"<option[^>]*>(.*?)</option>", select)] == labels
    assert data["axes"]["eps"] == [f"{e:g} dB" for e in grid.eps_db]  # 0.3 dB as typed
    for key, st in data["states"].items():
        assert st["clean"] in data["images"] and st["delta"] in data["images"], key
        s = int(key.split("|")[0])
        players = [row[4] for row in st["rows"]]
        if grid.has_audio(s):
            assert all(p in data["players"] for p in players), key
        else:
            assert players == [None, None, None], key
    for url in data["images"].values():
        assert url.startswith("media/") and (tmp_path / url[len("media/"):]).is_file()
    srcs = [re.search(r'src="([^"]+)"', p).group(1) for p in data["players"].values()]
    assert len(set(srcs)) == len(srcs)
    for src in srcs:
        assert src.startswith("media/") and (tmp_path / src[len("media/"):]).is_file()
    written = {p.name for p in tmp_path.iterdir()}
    assert written == {u.split("/")[-1] for u in (*data["images"].values(), *srcs)}
    # FGSM's signs are one image at every budget: stored once
    a = grid.attacks.index("fgsm")
    assert len({data["states"][f"0|0|{a}|{e}"]["delta"] for e in range(ne)}) == 1
    # it opens on the live explorer's default: the first genre, Mel, BIM at 0.3 dB
    start = f"0|{grid.representations.index('mel')}|{grid.attacks.index('bim')}|" \
            f"{grid.eps_db.index(0.3)}"
    assert f'data-state="{start}"' in html


def test_static_explorer_without_a_sink_embeds_everything(grid):
    html = explorer_static.explorer_html(grid, "t")
    data = _blob(html)
    assert all(u.startswith("data:image/png;base64,") for u in data["images"].values())
    assert all('src="data:audio/wav;base64,' in p for p in data["players"].values())


def test_the_live_explorer_says_what_is_missing_and_trains_nothing_unasked(tmp_path):
    fresh = Run("smoke", progress=False, runs_dir=tmp_path)
    needs = explorer.missing(fresh)
    assert needs and "corpus" in needs[0]
    box = explorer.explorer_widget(fresh)
    assert "compute now" in [getattr(c, "description", "") for c in box.children]
    assert "not computed yet" in box.children[0].value
    static = explorer.missing_message(fresh, needs, button=False)  # the static page's
    assert str(fresh.root) in static and "compute now" not in static
    assert not any((tmp_path / "smoke").glob("corpus/*/manifest.json"))


def test_the_live_explorer_offers_the_papers_budget_exactly_and_opens_on_the_example(run, grid):
    assert explorer.missing(run) == []
    box = explorer.explorer_widget(run)
    seg, rep = box.children[0].children
    att, eps = box.children[1].children
    assert seg.value == next(iter(run.examples().values()))
    assert eps.value == 0.3 and eps.label == "0.3" and att.value == "bim"
    assert [label for label, _ in eps.options] == [f"{e:g}" for e in explorer.LIVE_EPS_DB]


def test_the_explorer_module_keeps_the_names_the_notebook_and_users_call():
    # the widget module re-exports the stage's and the renderer's public names
    for name in ("ExplorerResult", "ExplorerGrid", "explore", "attack_segments", "compute_grid",
                 "grid", "grid_key", "ATTACK_CHOICES", "GRID_ATTACKS", "GRID_EPS_DB",
                 "GRID_AUDIO_EXAMPLES"):
        assert getattr(explorer, name) is getattr(stage, name), name
    assert explorer.render is explorer_live.render
    assert set(explorer.__all__) >= {"grid", "missing", "missing_message", "explorer_widget",
                                     "render", "LIVE_EPS_DB"}
