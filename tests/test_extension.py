"""The registries' promise: a new representation and a new attack are one entry each.

Inside this test only, a fourth representation (a 32-band Mel, inverted by the same NNLS
and Griffin-Lim) and a fourth attack (one gradient step of a fixed L2 norm per segment) are
registered; a tiny run then takes them through the whole smoke chain (the dataset's
features, a 2D CNN per fold, the attacks and the eps sweep, the reconstruction classified
by every model, the reconstruction-aware attack, the transfer tables, the paper's page and
the decomposition) without a change to any module of ``specadv``.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from specadv import attacks as atk
from specadv import features, reconstruction, report
from specadv import roundtrip as rt
from specadv.pipeline import Run
from specadv.profiles import ProfileError, load_profile

N_MELS32, L2_EPS = 32, 40.0


def _mel32_extract(w):
    x, ref = features.mel_db(w, n_mels=N_MELS32, return_ref=True)
    return rt.Features(x, ref)


def _mel32_inverse(x_db, clean, inversion):
    return reconstruction.mel_to_audio(x_db, ref=clean.ref, **inversion.kwargs())


MEL32 = rt.Representation(
    "mel32", "Mel (32 bands)", (N_MELS32, rt.MEL.feature_shape[1]), _mel32_extract,
    lambda w: features.mel_db(w, n_mels=N_MELS32), _mel32_inverse,
    description="32 Mel bands in dB re the segment's maximum",
    differentiable=rt.MEL.differentiable, stochastic=True,
    model_settings=rt.MEL.model_settings, train_settings=rt.MEL.train_settings)


def _l2_step(model, x, y, *, clip, batch_size, generator, row_seeds, eps):
    """One step of L2 norm ``eps`` along each segment's loss gradient."""
    x0 = torch.as_tensor(x).detach().requires_grad_(True)
    with atk.eval_mode(model), torch.enable_grad():
        loss = F.cross_entropy(model(x0), torch.as_tensor(y).long(), reduction="sum")
        (g,) = torch.autograd.grad(loss, x0)
    norm = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (g.ndim - 1)))
    out = x0.detach() + eps * g / norm
    return out if clip is None else out.clamp(*clip)


L2STEP = atk.AttackSpec("l2step", "L2 step", _l2_step,
                        (atk.Param("eps", L2_EPS, "budget", "L2 norm of the step (dB)"),),
                        norm="l2", reconstructed=True,
                        description="one gradient step of a fixed L2 norm")


@pytest.fixture(scope="module")
def extended():
    """The two entries registered for this module's tests, and removed after them."""
    rt.register_representation(MEL32)
    atk.register_attack(L2STEP)
    try:
        yield
    finally:
        del rt.REPRESENTATIONS[MEL32.name], atk.ATTACKS[L2STEP.name]


@pytest.fixture(scope="module")
def run(extended, tmp_path_factory):
    profile = load_profile("smoke", name="extension-test", device="cpu",
                           corpus={"clips_per_genre": 2, "seconds": 6.0},
                           folds={"n_splits": 2}, train2d={"epochs": 1}, train1d={"epochs": 1},
                           attacks={"names": ["fgsm", "bim", "random_sign", "l2step"],
                                    "bim": {"iters": 2}, "sweep_attacks": ["l2step"],
                                    "sweep_eps": [10.0], "sweep_max_segments": 4},
                           reconstruction={"n_iter": 2, "nnls_iter": 2},
                           beyond={"segments_per_fold": 2, "aware_n_iter": 1,
                                   "aware_samples": 1, "librosa_segments": 0})
    return Run(profile, runs_dir=tmp_path_factory.mktemp("runs"), progress=False)


def test_registering_twice_or_without_a_budget_is_refused(extended):
    with pytest.raises(ValueError, match="exists already"):
        atk.register_attack(L2STEP)
    with pytest.raises(ValueError, match="exists already"):
        rt.register_representation(MEL32)
    with pytest.raises(ValueError, match="budget"):
        atk.register_attack(atk.AttackSpec("nobudget", "x", _l2_step, ()))


def test_a_registered_attack_has_a_checked_profile_section(extended):
    p = load_profile("smoke")
    assert p["attacks"]["l2step"] == {"eps": L2_EPS}
    with pytest.raises(ProfileError, match=r"attacks\.l2step\.eps.*>= 0"):
        load_profile("smoke", attacks={"l2step": {"eps": -1.0}})


def test_the_new_representation_and_attack_go_through_the_whole_chain(run):
    res = run.results()
    ds = res.ds
    assert "mel32" in res.representations and "l2step" in res.conditions
    assert ds.features("mel32").shape[1:] == (N_MELS32, 431)
    for fm in res.models["mel32"]:
        assert fm.model.config()["input_shape"] == [N_MELS32, 431]
    for fa in res.attacks["mel32"]:
        x = np.asarray(ds.features("mel32")[fa.test_idx], np.float32)
        delta = np.asarray(fa.delta("l2step"), np.float32)
        # each segment moved by the L2 budget (float16 storage), along its own gradient
        norms = np.linalg.norm(delta.reshape(len(delta), -1), axis=1)
        assert np.allclose(norms, L2_EPS, rtol=2e-3), norms
        assert fa.records["l2step"]["eps"] == L2_EPS and x.shape == delta.shape
        assert [r["eps"] for r in fa.sweep] == [0.0, 10.0] and "l2step" in fa.sweep[1]
    for fr in res.reconstructions["mel32"]:
        for target in rt.targets():  # every model classifies the new attack's audio
            assert fr.probs["l2step"][target].shape == (len(fr.test_idx), 10)
        # the clean reconstruction of the new representation is heard by the 1D CNN
        assert np.allclose(fr.probs["clean"]["wave"].sum(1), 1.0, atol=1e-4)
    # the other representations' reconstructions are classified by the new 2D CNN too
    assert res.reconstructions["mel"][0].probs["l2step"]["mel32"].shape[1] == 10


def test_the_reconstruction_aware_attack_is_built_from_the_entry(run):
    for fa in run.aware("mel32"):
        assert fa.probs_spec.shape == (len(fa.idx), 10)
        assert set(fa.probs) == set(rt.targets())


def test_the_report_renders_the_new_entries(run):
    res = run.results()
    summary = report.summary_table(res)
    assert "this run: mel32" in summary.columns
    assert "2D CNN, L2 step spectrograms" not in summary.index  # not one of the paper's
    assert any("L2 step" in str(i) for i in summary.index)
    clean, adv = report.cross_matrix(res, "l2step")
    assert report.MODEL_NAMES["mel32"] == "2D CNN (Mel (32 bands))"
    assert report.MODEL_NAMES["mel32"] in adv.index and report.MODEL_NAMES["mel32"] in adv.columns
    table = report.round_trip_table(res, "mel32")
    assert any("L2 step" in str(i) for i in table.index)
    html = report.paper_page_html(res.ds, "mel32", run.examples(), res.models["mel32"],
                                  res.reconstructions["mel32"], res.attacks["mel32"], "x/")
    assert "<audio" in html and all(g.upper() in html for g in run.examples())
    drop = report.drop(res, "mel32", "l2step")
    assert "L2 step" in report.drop_sentence(drop)
    assert any("L2 step" in str(i) for i in report.decomposition_table(res, "mel32").index)
