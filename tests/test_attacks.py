"""Tests of specadv.attacks: hand-computed FGSM, the eps-ball, foolbox 3 agreement, labels, modes."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from specadv.attacks import (AttackResult, attack, attack_params, bim, fgsm, pgd,
                             predicted_labels, random_sign)

N_F, N_T, N_CLASSES = 8, 12, 5
CLIP_DB = (-80.0, 0.0)


class LinearSpec(nn.Module):
    """Softmax regression on a flattened (F, T) spectrogram: logits = W x + b."""

    def __init__(self, n_f=N_F, n_t=N_T, n_classes=N_CLASSES):
        super().__init__()
        self.fc = nn.Linear(n_f * n_t, n_classes)

    def forward(self, x):
        return self.fc(x.flatten(1))


class SmallCNN(nn.Module):
    """A small stand-in for the paper's 2D CNN: conv, BN, LeakyReLU, pooling, dropout, dense."""

    def __init__(self, n_f=N_F, n_t=N_T, n_classes=N_CLASSES):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.LeakyReLU(0.2),
            nn.Conv2d(4, 6, 3), nn.LeakyReLU(0.2), nn.AvgPool2d(2), nn.Dropout(0.3))
        n_flat = 6 * ((n_f - 4) // 2) * ((n_t - 4) // 2)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(n_flat, 16), nn.Tanh(),
                                  nn.Dropout(0.5), nn.Linear(16, n_classes))

    def forward(self, x):
        return self.head(self.features(x.unsqueeze(1) / 40.0 + 1.0))


def _db_inputs(n, seed=0, dtype=torch.float64, margin=0.0):
    g = torch.Generator().manual_seed(seed)
    lo, hi = CLIP_DB[0] + margin, CLIP_DB[1] - margin
    return (lo + (hi - lo) * torch.rand(n, N_F, N_T, generator=g)).to(dtype)


def _model(cls, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    model = cls().to(dtype)
    if cls is SmallCNN:
        # non-trivial running statistics, so eval and train mode differ
        with torch.no_grad():
            model.features[1].running_mean.uniform_(-1, 1)
            model.features[1].running_var.uniform_(0.5, 2)
    return model.eval()


# ----------------------------------------------------------------------------- FGSM

def test_fgsm_equals_hand_computed_sign_gradient_step_on_linear_model():
    model = _model(LinearSpec)
    x = _db_inputs(6)
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    W, b = model.fc.weight.detach(), model.fc.bias.detach()
    p = torch.softmax(x.flatten(1) @ W.T + b, dim=1)
    grad = (p - nn.functional.one_hot(y, N_CLASSES).to(p)) @ W  # W^T (softmax - onehot)
    expected = x + 0.3 * grad.sign().reshape(x.shape)

    x_adv = fgsm(model, x, y, eps=0.3)
    torch.testing.assert_close(x_adv, expected, rtol=0, atol=1e-12)
    assert torch.all(grad != 0)  # the sign is unambiguous


def test_fgsm_moves_every_element_by_eps_and_raises_the_loss():
    model = _model(SmallCNN)
    x = _db_inputs(8)
    y = predicted_labels(model, x)
    x_adv = fgsm(model, x, eps=0.3)
    torch.testing.assert_close((x_adv - x).abs(), torch.full_like(x, 0.3))
    ce = nn.functional.cross_entropy
    assert ce(model(x_adv), y) > ce(model(x), y)


# ----------------------------------------------------------------------------- BIM, PGD

@pytest.mark.parametrize("clip", [None, CLIP_DB])
def test_bim_stays_in_eps_ball_and_clip_range(clip):
    model = _model(SmallCNN)
    x = _db_inputs(16, seed=1, dtype=torch.float32)
    x[0, 0, :4] = torch.tensor([-80.0, -79.95, 0.0, -0.05])  # at and near the bounds
    x_adv = bim(model, x, eps=0.3, step=0.1, iters=10, clip=clip)
    assert x_adv.dtype == x.dtype and x_adv.shape == x.shape
    assert (x_adv - x).abs().max() <= 0.3 + 1e-5
    assert not torch.equal(x_adv, x)
    if clip is not None:
        assert x_adv.min() >= clip[0] and x_adv.max() <= clip[1]
    else:
        assert x_adv.max() > 0.0 or x_adv.min() < -80.0  # unclipped: may leave [-80, 0]


def test_pgd_random_start_lies_in_the_ball():
    model = _model(SmallCNN)
    x = _db_inputs(32, seed=2)
    start = pgd(model, x, eps=0.3, iters=0, generator=torch.Generator().manual_seed(0))
    delta = start - x
    assert delta.abs().max() <= 0.3
    assert 0.12 < delta.abs().mean() < 0.18  # uniform on [-0.3, 0.3]: mean |delta| = 0.15
    x_adv = pgd(model, x, eps=0.3, generator=torch.Generator().manual_seed(0))
    assert (x_adv - x).abs().max() <= 0.3 + 1e-12
    again = pgd(model, x, eps=0.3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x_adv, again)


def test_pgd_without_random_start_equals_bim():
    model = _model(SmallCNN)
    x = _db_inputs(8, seed=3)
    torch.testing.assert_close(pgd(model, x, random_start=False, clip=CLIP_DB),
                               bim(model, x, clip=CLIP_DB), rtol=0, atol=0)


# ----------------------------------------------------------------------------- foolbox 3

def _foolbox(model, x, y, attack_):
    fb = pytest.importorskip("foolbox")
    fmodel = fb.PyTorchModel(model, bounds=CLIP_DB, device=x.device)
    raw, clipped, _ = attack_(fb)(fmodel, x, y, epsilons=0.3)
    return raw


@pytest.mark.parametrize("labels", ["predicted", "true"])
def test_fgsm_agrees_with_foolbox(labels):
    model = _model(SmallCNN)
    x = _db_inputs(16, seed=4, margin=1.0)
    x[0, 0, :2] = torch.tensor([-80.0, 0.0])  # foolbox clips to its bounds: so do we
    y = predicted_labels(model, x) if labels == "predicted" else torch.arange(16) % N_CLASSES
    ref = _foolbox(model, x, y, lambda fb: fb.attacks.FGSM())
    ours = fgsm(model, x, None if labels == "predicted" else y, eps=0.3, clip=CLIP_DB)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("foolbox_attack", ["LinfBasicIterativeAttack", "LinfPGD"])
def test_bim_agrees_with_foolbox(foolbox_attack):
    model = _model(SmallCNN)
    x = _db_inputs(16, seed=5, margin=0.0)
    y = torch.arange(16) % N_CLASSES
    ref = _foolbox(model, x, y, lambda fb: getattr(fb.attacks, foolbox_attack)(
        abs_stepsize=0.1, steps=10, random_start=False))
    ours = bim(model, x, y, eps=0.3, step=0.1, iters=10, clip=CLIP_DB)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- labels

def test_default_labels_are_the_model_predictions_not_the_true_labels():
    model = _model(LinearSpec)
    x = _db_inputs(10, seed=6)
    pred = model(x).argmax(1)
    y_true = (pred + 1) % N_CLASSES  # every segment misclassified
    for attack_fn in (fgsm, bim):
        default = attack_fn(model, x)
        assert torch.equal(default, attack_fn(model, x, pred))
        assert not torch.equal(default, attack_fn(model, x, y_true))


def test_attack_records_which_labels_were_used():
    model = _model(SmallCNN)
    x = _db_inputs(6, seed=7)
    y_true = torch.arange(6) % N_CLASSES
    res = attack(model, x, "bim", {"eps": 0.3, "step": 0.1, "iters": 10})
    assert isinstance(res, AttackResult)
    assert res.record() == {"name": "bim", "eps": 0.3, "step": 0.1, "iters": 10,
                            "labels": "predicted", "clip": None, "random_start": False,
                            "seed": None}
    assert torch.equal(res.x_adv, bim(model, x))
    assert torch.equal(res.y, predicted_labels(model, x))
    res_true = attack(model, x, "fgsm", {"clip": CLIP_DB}, labels="true", y_true=y_true)
    assert res_true.labels == "true" and res_true.clip == CLIP_DB
    assert torch.equal(res_true.x_adv, fgsm(model, x, y_true, clip=CLIP_DB))
    noise = attack(model, x, "random_sign", {"eps": 0.3, "seed": 1})
    assert noise.labels is None and noise.record()["seed"] == 1
    assert torch.equal(noise.x_adv, attack(model, x, "random_sign", {"seed": 1}).x_adv)
    from_profile = attack(model, x, "pgd", attack_params(
        {"pgd": {"eps": 0.5, "step": 0.2, "iters": 3}, "clip": True, "seed": 4}, "pgd"))
    assert from_profile.record() == {"name": "pgd", "eps": 0.5, "step": 0.2, "iters": 3,
                                     "labels": "predicted", "clip": [-80.0, 0.0],
                                     "random_start": True, "seed": 4}
    with pytest.raises(ValueError, match="y_true"):
        attack(model, x, "fgsm", labels="true")
    with pytest.raises(ValueError, match="unknown setting"):
        attack(model, x, "bim", {"epsilon": 0.3})


# ----------------------------------------------------------------------------- model state

def test_train_mode_and_batchnorm_statistics_survive_the_attack():
    model = _model(SmallCNN).train()
    model.head[3].eval()  # a mixed state is given back as it was
    modes = {name: m.training for name, m in model.named_modules()}
    buffers = {k: v.clone() for k, v in model.state_dict().items()}
    x = _db_inputs(8, seed=8)
    a = bim(model, x)
    b = bim(model, x)
    assert torch.equal(a, b)  # eval mode during the attack: no dropout noise
    assert {name: m.training for name, m in model.named_modules()} == modes
    for k, v in model.state_dict().items():
        assert torch.equal(v, buffers[k]), k
    assert all(p.grad is None and p.requires_grad for p in model.parameters())


def test_training_flags_restored_when_the_model_raises():
    class Failing(SmallCNN):
        def forward(self, x):
            raise RuntimeError("boom")

    model = _model(Failing).train()
    with pytest.raises(RuntimeError, match="boom"):
        fgsm(model, _db_inputs(2), y=torch.tensor([0, 1]))
    assert all(m.training for m in model.modules())


# ----------------------------------------------------------------------------- arrays, chunks

def test_numpy_in_numpy_out_and_chunking_give_the_same_result():
    model = _model(SmallCNN)
    x = _db_inputs(10, seed=9)
    whole = bim(model, x)
    chunked = bim(model, x, batch_size=3)
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-12)
    x_np = x.numpy().astype(np.float32)
    out = bim(model, x_np, batch_size=4)  # float32 input, float64 model
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == x_np.shape
    assert np.abs(out - x_np).max() <= 0.3 + 1e-5
    y_np = predicted_labels(model, x_np)
    assert isinstance(y_np, np.ndarray)
    np.testing.assert_array_equal(y_np, model(x).argmax(1).numpy())


def test_integer_input_is_refused():
    with pytest.raises(TypeError, match="floating point"):
        fgsm(_model(LinearSpec), torch.zeros(2, N_F, N_T, dtype=torch.long))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_attack_runs_on_the_model_device_and_returns_on_the_input_device():
    model = _model(SmallCNN).cuda()
    x = _db_inputs(8, seed=10)
    out = bim(model, x, batch_size=3)
    assert out.device == x.device
    torch.testing.assert_close(out, bim(model, x.cuda()).cpu(), rtol=0, atol=1e-9)
    noise = random_sign(x.cuda(), 0.3, generator=torch.Generator().manual_seed(0))
    assert noise.device.type == "cuda"


# ----------------------------------------------------------------------------- random sign

def test_random_sign_moves_each_element_by_exactly_eps_and_is_reproducible():
    x = _db_inputs(4, seed=11)
    out = random_sign(x, 0.3, generator=torch.Generator().manual_seed(0))
    signs = torch.sign(out - x)
    assert torch.equal(out, x + 0.3 * signs)
    assert torch.all(signs.abs() == 1)
    assert 0.4 < (signs > 0).double().mean() < 0.6
    same = random_sign(x, 0.3, generator=torch.Generator().manual_seed(0))
    other = random_sign(x, 0.3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out, same) and not torch.equal(out, other)
    clipped = random_sign(torch.zeros(3, 4, dtype=torch.float64), 0.3, clip=CLIP_DB,
                          generator=torch.Generator().manual_seed(0))
    assert set(clipped.unique().tolist()) == {-0.3, 0.0}
    out_np = random_sign(x.numpy().astype(np.float32), 0.3)
    assert isinstance(out_np, np.ndarray) and out_np.dtype == np.float32


def test_budget_params_scale_the_step_with_eps_as_the_paper():
    from specadv.attacks import budget_params

    profile = {"bim": {"eps": 0.3, "step": 0.1, "iters": 10}, "clip": False,
               "random_sign": {"eps": 0.3}}
    assert budget_params(profile, "bim", 0.9) == {"eps": 0.9, "clip": False, "step": 0.3,
                                                  "iters": 10}
    assert budget_params(profile, "fgsm", 0.5)["eps"] == 0.5
    assert "step" not in budget_params(profile, "random_sign", 0.5)


# -- the reconstruction-aware attack -------------------------------------------------------
def _tiny_spec_model(n_freq, n_frames, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.Tanh(),
                               torch.nn.Flatten(), torch.nn.Linear(2 * n_freq * n_frames, 10))


class _Unsqueeze(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x[:, None])


@pytest.mark.parametrize("rep", ["mel", "stft"])
def test_reconstruction_aware_gradient_agrees_with_finite_differences(rep):
    from specadv import features
    from specadv.attacks import RoundTrip, _nll_sum

    n = 4096  # 17 frames: small enough for float64 finite differences
    rng = np.random.default_rng(0)
    w = torch.from_numpy(0.1 * rng.standard_normal((2, n)))
    x = features.mel_db(w) if rep == "mel" else features.stft_db(w)[0]
    model = _Unsqueeze(_tiny_spec_model(*x.shape[1:])).double()
    trip = RoundTrip(model, rep, original_stft=features.stft(w), length=n, n_iter=2, samples=2,
                     seed=3, fixed_seed=True)
    y = torch.tensor([1, 7])

    def loss(v):
        return _nll_sum(trip(v), y)

    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss(xg), xg)
    assert grad.abs().sum() > 0
    for k in range(3):
        v = torch.from_numpy(np.random.default_rng(k).standard_normal(x.shape))
        h = 1e-4
        fd = (loss(x + h * v) - loss(x - h * v)) / (2 * h)
        assert float((grad * v).sum()) == pytest.approx(float(fd), rel=2e-3, abs=1e-6)


def test_stft_round_trip_is_the_pipelines_reconstruction():
    from specadv import features
    from specadv.attacks import RoundTrip
    from specadv.reconstruction import stft_to_audio

    rng = np.random.default_rng(1)
    w = torch.from_numpy((0.1 * rng.standard_normal((2, 110250))).astype(np.float32))
    z = features.stft(w)
    x, _ = features.stft_db(w)[:2]
    d = 0.3 * torch.sign(torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32)))
    trip = RoundTrip(torch.nn.Identity(), "stft", original_stft=z)
    ours = trip.audio(x + d)
    ref = stft_to_audio(x + d, original_stft=z, clean_db=x)
    assert float((ours - ref).abs().max()) < 1e-4 * float(ref.abs().max())


@pytest.mark.parametrize("rep", ["mel", "stft"])
def test_reconstruction_aware_attack_stays_in_the_ball_and_fools_the_round_trip(rep):
    from specadv import features
    from specadv.attacks import RoundTrip, bim, reconstruction_aware

    n = 8192
    rng = np.random.default_rng(2)
    w = torch.from_numpy((0.1 * rng.standard_normal((4, n))).astype(np.float32))
    x = features.mel_db(w) if rep == "mel" else features.stft_db(w)[0]
    model = _Unsqueeze(_tiny_spec_model(*x.shape[1:], seed=1))
    model.train()
    z = features.stft(w)
    x_adv = reconstruction_aware(model, x, rep, eps=0.3, step=0.1, iters=5, original_stft=z,
                                 n_iter=2, samples=1, length=n)
    assert model.training  # the training flag is given back
    assert float((x_adv - x).abs().max()) <= 0.3 + 1e-5  # float32 rounding at ~30 dB
    assert float((x_adv - x).abs().max()) > 0.29
    # judged through the round trip, it does at least as well as BIM on the loss it targets
    trip = RoundTrip(model, rep, original_stft=z, length=n, n_iter=2, samples=1, seed=0,
                     fixed_seed=True)
    y = model(x).argmax(1)
    with torch.no_grad():
        loss_aware = torch.nn.functional.nll_loss(trip(x_adv), y)
        loss_bim = torch.nn.functional.nll_loss(trip(bim(model, x, y, iters=5)), y)
        loss_clean = torch.nn.functional.nll_loss(trip(x), y)
    assert loss_aware > loss_clean and loss_aware >= loss_bim - 1e-3


# ----------------------------------------------------------------------------- per-segment noise
@pytest.mark.parametrize("name", ["random_sign", "pgd"])
def test_per_segment_seeds_make_the_noise_independent_of_batch_size_and_order(name):
    from specadv.attacks import segment_seeds

    model = _model(SmallCNN)
    x = _db_inputs(40, seed=3, margin=1.0)
    segments = np.arange(100, 140)
    params = {"eps": 0.3, "seed": 0, **({"step": 0.1, "iters": 3} if name == "pgd" else {})}
    seeds = segment_seeds(0, name, segments)
    whole = attack(model, x, name, params, row_seeds=seeds).x_adv
    for bs in (16, 32):
        assert torch.equal(attack(model, x, name, params, row_seeds=seeds, batch_size=bs).x_adv,
                           whole)
    # a segment attacked alone, or in another batch, gets the same draw
    assert torch.equal(attack(model, x[7:8], name, params, row_seeds=seeds[7:8]).x_adv, whole[7:8])
    if name == "random_sign":
        d = (whole - x).sign()
        assert not torch.equal(d[0], d[16]), "segments 0 and 16 share a sign pattern"
    with pytest.raises(ValueError, match="one seed per row"):
        attack(model, x, name, params, row_seeds=seeds[:3])


def test_the_attack_stage_gives_the_same_noise_for_batch_sizes_16_and_32(tmp_path, monkeypatch):
    from specadv import artifacts
    from specadv.profiles import DEFAULTS
    from specadv.stages import attack as stage

    monkeypatch.setattr(stage, "CPU_ATTACK_BATCH", 64)
    monkeypatch.setattr(stage, "representation", lambda rep: type("R", (), {
        "feature_shape": (N_F, N_T)})())
    torch.manual_seed(0)
    model = SmallCNN(n_classes=10).eval()  # the stage stores 10 genres' probabilities
    x_all = _db_inputs(48, seed=5, dtype=torch.float32, margin=1.0).numpy()
    y = np.zeros(48, dtype=np.int64)
    test_idx = np.arange(3, 43)
    out = {}
    for bs in (16, 32):
        settings = {**DEFAULTS["attacks"], "names": ["random_sign", "pgd"], "batch_size": bs,
                    "sweep_eps": [0.3], "sweep_attacks": ["pgd"], "pgd_iters": 2}
        entry = artifacts.Store(tmp_path / f"bs{bs}").entry("attacks-x", {"bs": bs})
        stage.attack_fold(entry, model, "x", x_all, test_idx, y, settings,
                          torch.device("cpu"), show_progress=False)
        out[bs] = (np.load(entry.path("delta_random_sign.npy")),
                   np.load(entry.path("probs_pgd.npy")), entry.info()["sweep"])
    assert np.array_equal(out[16][0], out[32][0])
    assert np.array_equal(out[16][1], out[32][1])
    assert out[16][2] == out[32][2]
    signs = np.sign(out[16][0])
    assert not np.array_equal(signs[0], signs[16])  # the bug: every batch restarted one seed


def test_record_never_copies_the_adversarial_batch():
    class Uncopyable:
        def __deepcopy__(self, memo):
            raise AssertionError("record() copied the adversarial batch")

    res = AttackResult(Uncopyable(), "fgsm", 0.3, 0.3, 1, "predicted", (-80.0, 0.0), y=Uncopyable())
    assert res.record() == {"name": "fgsm", "eps": 0.3, "step": 0.3, "iters": 1,
                            "labels": "predicted", "clip": [-80.0, 0.0], "random_start": False,
                            "seed": None}


def test_the_random_draws_are_made_on_the_batchs_device_in_its_dtype():
    from specadv.attacks import _generator, _uniform_like

    x = _db_inputs(3, seed=1, dtype=torch.float32)
    assert _generator(0, x).device == x.device
    u = _uniform_like(x, 0.3, None, seeds=[1, 2, 3])
    assert u.dtype == x.dtype and u.device == x.device and u.abs().max() <= 0.3
    assert torch.equal(u[1], _uniform_like(x[1:2], 0.3, None, seeds=[2])[0])


def test_the_attack_stage_runs_in_exact_float32_with_cudnn_autotuning(tmp_path, monkeypatch):
    from specadv import artifacts
    from specadv.profiles import DEFAULTS
    from specadv.stages import attack as stage

    class Recorder(SmallCNN):
        seen: list = []

        def forward(self, x):
            self.seen.append((torch.backends.cudnn.allow_tf32,
                              torch.backends.cuda.matmul.allow_tf32,
                              torch.get_float32_matmul_precision(), torch.backends.cudnn.benchmark))
            return super().forward(x)

    monkeypatch.setattr(stage, "representation", lambda rep: type("R", (), {
        "feature_shape": (N_F, N_T)})())
    before = (torch.backends.cudnn.allow_tf32, torch.get_float32_matmul_precision(),
              torch.backends.cudnn.benchmark)
    torch.manual_seed(0)
    model = Recorder(n_classes=10).eval()
    x_all = _db_inputs(8, seed=5, dtype=torch.float32).numpy()
    settings = {**DEFAULTS["attacks"], "names": ["fgsm", "bim"], "bim": {"eps": 0.3, "step": 0.1, "iters": 1},
                "sweep_eps": [0.3], "sweep_attacks": ["bim"]}
    entry = artifacts.Store(tmp_path).entry("attacks-x", {})
    stage.attack_fold(entry, model, "x", x_all, np.arange(8), np.zeros(8, np.int64), settings,
                      torch.device("cpu"), show_progress=False)
    assert Recorder.seen and set(Recorder.seen) == {(False, False, "highest", True)}
    assert entry.info()["precision"] == "float32"
    assert (torch.backends.cudnn.allow_tf32, torch.get_float32_matmul_precision(),
            torch.backends.cudnn.benchmark) == before


def test_row_seeds_only_for_a_seeded_attack_with_a_seed():
    from specadv.attacks import row_seeds, segment_seeds

    rows = [3, 1, 4]
    assert row_seeds(0, "random_sign", rows) == segment_seeds(0, "random_sign", rows)
    assert row_seeds(0, "pgd", rows) == segment_seeds(0, "pgd", rows) != row_seeds(0, "random_sign", rows)
    assert row_seeds(0, "bim", rows) is None and row_seeds(None, "random_sign", rows) is None
    with pytest.raises(ValueError, match="unknown attack"):
        row_seeds(0, "deepfool", rows)
