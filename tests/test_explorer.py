import numpy as np
import pytest

from specadv import explorer
from specadv.pipeline import Run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    # its own run folder: the tests never read or write the user's runs/
    return Run("smoke", progress=False, runs_dir=tmp_path_factory.mktemp("runs"))


def test_explore_stft_bim_stays_in_budget_and_reconstructs_exactly_when_clean(run):
    seg = list(run.examples().values())[0]
    r = explorer.explore(run, seg, "stft", "bim", 0.3)
    assert r.x.shape == r.x_adv.shape == (257, 431)
    assert 0.29 < r.linf_db <= 0.3 + 1e-4
    assert r.fold == int(run.dataset().folds[seg])
    err = r.original - r.reconstructed_clean
    assert 10 * np.log10(np.sum(r.original ** 2) / np.sum(err ** 2)) > 60
    assert not np.allclose(r.reconstructed_adv, r.reconstructed_clean)


def test_explore_zero_budget_changes_nothing_and_noise_is_exactly_eps(run):
    seg = list(run.examples().values())[1]
    r0 = explorer.explore(run, seg, "mel", "fgsm", 0.0)
    assert np.array_equal(r0.x, r0.x_adv) and r0.pred2d_clean == r0.pred2d_adv
    rn = explorer.explore(run, seg, "mel", "random_sign", 0.5)
    assert np.allclose(np.abs(rn.x_adv - rn.x), 0.5, atol=1e-5)
    fig, html = explorer.render(rn, prefix="test")
    assert html.count("<audio") == 3 and "random_sign" in html


def test_explore_refuses_bad_choices(run):
    with pytest.raises(ValueError, match="attack"):
        explorer.explore(run, 0, "mel", "deepfool", 0.3)
    with pytest.raises(IndexError, match="outside"):
        explorer.explore(run, 10 ** 6, "mel", "bim", 0.3)
