"""Tests of specadv.training: the loop, determinism, validation splits, checkpoints."""
import json
import math

import numpy as np
import pytest
import torch

from specadv.models import build_model
from specadv.training import (CheckpointMismatch, TrainConfig, load_checkpoint, predict,
                              read_checkpoint_metadata, save_checkpoint, select_device, train,
                              validation_split)

SHAPE = (20, 32)  # small spectrograms: the same code path as 64 x 431, in milliseconds
SPEC = dict(input_shape=SHAPE, width=4, dense=16, n_classes=2, bn_momentum=0.1)
# one thread: tiny models gain nothing from more, and stay fast on a busy machine
FAST = dict(optimizer="adam", lr=3e-3, batch_size=16, device="cpu", cpu_threads=1)


def _config(**kw):
    return TrainConfig(**{**FAST, **kw})


def _toy_spectrograms(n=96, seed=0, dtype=np.float16):
    """Two classes: energy in the low half (class 0) or the high half (class 1) of the bands."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.uniform(-80, -60, (n, *SHAPE))
    half = SHAPE[0] // 2
    for i, label in enumerate(y):
        rows = slice(0, half) if label == 0 else slice(half, None)
        x[i, rows] += 50
    return x.astype(dtype), y.astype(np.int64)


def test_training_learns_a_separable_toy_problem():
    x, y = _toy_spectrograms()
    model = build_model("spec2d", seed=0, **SPEC)
    result = train(model, x, y, np.arange(64), np.arange(64, 96), _config(epochs=6),
                   progress=False)
    h = result.history
    assert h["epoch"] == [1, 2, 3, 4, 5, 6]
    assert set(h) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert h["loss"][-1] < h["loss"][0]
    assert result.best_val_accuracy > 0.8  # chance is 0.5
    assert result.best_val_accuracy == max(h["val_accuracy"])
    assert h["val_accuracy"][result.best_epoch - 1] == result.best_val_accuracy
    probs = predict(model, x, np.arange(64, 96))
    assert np.mean(probs.argmax(1) == y[64:]) == pytest.approx(result.best_val_accuracy)


def test_model_holds_the_best_validation_state_after_training():
    x, y = _toy_spectrograms()
    model = build_model("spec2d", seed=1, **SPEC)
    result = train(model, x, y, np.arange(64), np.arange(64, 96), _config(epochs=3),
                   progress=False)
    for k, v in model.state_dict().items():
        assert torch.equal(v, result.best_state[k])


def test_same_seed_gives_identical_weights_on_cpu():
    x, y = _toy_spectrograms()
    states = []
    for _ in range(2):
        model = build_model("spec2d", seed=3, **SPEC)
        train(model, x, y, np.arange(64), np.arange(64, 96), _config(epochs=2, seed=11),
              progress=False)
        states.append(model.state_dict())
    for k in states[0]:
        assert torch.equal(states[0][k], states[1][k]), k


def test_a_different_seed_gives_different_weights():
    x, y = _toy_spectrograms()
    states = []
    for seed in (1, 2):
        model = build_model("spec2d", seed=3, **SPEC)
        train(model, x, y, np.arange(64), None, _config(epochs=1, seed=seed), progress=False)
        states.append(model.state_dict())
    assert not torch.equal(states[0]["classifier.1.weight"], states[1]["classifier.1.weight"])


def test_training_reads_a_float16_memmap(tmp_path):
    x, y = _toy_spectrograms(n=40)
    np.save(tmp_path / "mel.npy", x)
    mm = np.load(tmp_path / "mel.npy", mmap_mode="r")
    model = build_model("spec2d", seed=0, **SPEC)
    result = train(model, mm, y, np.arange(32), np.arange(32, 40),
                   _config(epochs=1, cpu_threads=None), progress=True)
    assert len(result.history["loss"]) == 1 and math.isfinite(result.history["loss"][0])
    assert predict(model, mm).shape == (40, 2)


def test_wave1d_trains_through_the_same_loop():
    rng = np.random.default_rng(0)
    n, n_samples = 32, 11025  # 0.5 s: about the shortest input the layer list accepts
    y = np.arange(n) % 2
    t = np.arange(n_samples) / 22050
    freq = np.where(y == 0, 220.0, 3520.0)[:, None]
    x = (0.5 * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi, (n, 1)))
         + 0.01 * rng.standard_normal((n, n_samples)))
    model = build_model("wave1d", seed=0, n_samples=n_samples, width=4, dense=(16, 8),
                        n_classes=2, pooling="avg", bn_momentum=0.3)
    result = train(model, x.astype(np.float32), y, np.arange(24), np.arange(24, 32),
                   _config(epochs=5, batch_size=8, lr=1e-2), progress=False)
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.best_val_accuracy > 0.5


def test_early_stopping_stops_when_validation_accuracy_stalls():
    x, y = _toy_spectrograms(n=40)
    model = build_model("spec2d", seed=0, **SPEC)
    # lr 0: the weights never change, validation accuracy never improves after epoch 1
    result = train(model, x, y, np.arange(32), np.arange(32, 40),
                   _config(epochs=10, lr=0.0, early_stopping_patience=2), progress=False)
    assert result.stopped_early
    assert result.history["epoch"] == [1, 2, 3]
    assert result.best_epoch == 1


def test_without_validation_the_last_epoch_is_kept():
    x, y = _toy_spectrograms(n=32)
    model = build_model("spec2d", seed=0, **SPEC)
    result = train(model, x, y, np.arange(32), None, _config(epochs=2), progress=False)
    assert result.best_epoch == 2
    assert math.isnan(result.best_val_accuracy)
    assert all(math.isnan(v) for v in result.history["val_accuracy"])


def test_adadelta_is_the_papers_default():
    c = TrainConfig()
    assert (c.optimizer, c.learning_rate, c.rho, c.eps) == ("adadelta", 1.0, 0.95, 1e-8)
    assert (c.batch_size, c.epochs, c.validation_fraction) == (100, 150, 0.2)
    assert TrainConfig(optimizer="adam").learning_rate == 1e-3
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="sgd")


def test_select_device():
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA"):
            select_device("cuda")


def test_predict_keeps_the_order_of_idx_and_gives_probabilities():
    x, y = _toy_spectrograms(n=20)
    model = build_model("spec2d", seed=0, **SPEC)
    idx = np.array([7, 2, 19, 2, 0])
    probs = predict(model, x, idx, batch_size=2)
    assert probs.shape == (5, 2) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
    model.eval()
    with torch.no_grad():
        direct = torch.softmax(model(torch.from_numpy(x[idx].astype(np.float32))), 1).numpy()
    np.testing.assert_allclose(probs, direct, rtol=1e-4, atol=1e-6)
    logits = predict(model, x, idx, output="logits")
    np.testing.assert_allclose(torch.softmax(torch.from_numpy(logits), 1).numpy(), probs,
                               rtol=1e-4, atol=1e-6)


# --- validation split ----------------------------------------------------------------

def _overlapping_segments(n_clips=40, per_clip=21):
    clip = np.repeat(np.arange(n_clips), per_clip)
    label = clip % 10
    return clip, label


def test_validation_by_clip_never_splits_a_clip():
    clip, label = _overlapping_segments()
    fit, val = validation_split(clip, label, fraction=0.2, by="clip", seed=0)
    assert len(fit) + len(val) == len(clip)
    assert not set(clip[fit]) & set(clip[val])
    assert len(set(clip[val])) == 10  # 20% of 4 clips per genre, rounded: 1 each
    assert set(label[val]) == set(range(10))  # stratified by genre


def test_validation_by_segment_mixes_clips_like_keras():
    clip, label = _overlapping_segments()
    fit, val = validation_split(clip, label, fraction=0.2, by="segment", seed=0)
    n = len(clip)
    assert len(val) == n - int(n * 0.8)
    assert not set(fit) & set(val)
    assert len(set(clip[fit]) & set(clip[val])) > 30  # nearly every clip on both sides


def test_validation_split_is_reproducible_and_seeded():
    clip, label = _overlapping_segments()
    a = validation_split(clip, label, seed=4)
    b = validation_split(clip, label, seed=4)
    c = validation_split(clip, label, seed=5)
    assert np.array_equal(a[1], b[1]) and not np.array_equal(a[1], c[1])


# --- checkpoints ---------------------------------------------------------------------

def _trained_checkpoint(tmp_path, **spec):
    x, y = _toy_spectrograms(n=32)
    model = build_model("spec2d", seed=0, **{**SPEC, **spec})
    config = _config(epochs=1)
    result = train(model, x, y, np.arange(24), np.arange(24, 32), config, progress=False)
    path = save_checkpoint(tmp_path / "ckpt" / "mel_fold0.pt", model, result.history, config,
                           extra={"fold": 0})
    return path, model, config, x


def test_checkpoint_round_trip(tmp_path):
    path, model, config, x = _trained_checkpoint(tmp_path)
    loaded, meta = load_checkpoint(path, "spec2d", SPEC, config)
    for k, v in model.state_dict().items():
        assert torch.equal(v.cpu(), loaded.state_dict()[k])
    np.testing.assert_allclose(predict(loaded, x), predict(model, x), rtol=1e-5, atol=1e-6)
    assert meta["extra"] == {"fold": 0}
    assert meta["history"]["epoch"] == [1]
    assert meta["model_kind"] == "spec2d"
    assert read_checkpoint_metadata(path)["train_config"]["optimizer"] == "adam"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_checkpoint_loads_with_weights_only(tmp_path):
    path, *_ = _trained_checkpoint(tmp_path)
    payload = torch.load(path, weights_only=True)
    assert set(payload) == {"state_dict", "metadata"}
    assert json.loads(payload["metadata"])["model_config"]["width"] == 4


def test_checkpoint_with_other_dense_or_width_is_refused(tmp_path):
    path, *_ = _trained_checkpoint(tmp_path)
    with pytest.raises(CheckpointMismatch) as err:
        load_checkpoint(path, "spec2d", {**SPEC, "dense": 32})
    assert "model_config.dense" in str(err.value) and str(path) in str(err.value)
    assert err.value.differences == {"model_config.dense": (16, 32)}
    with pytest.raises(CheckpointMismatch, match="model_config.width"):
        load_checkpoint(path, "spec2d", {**SPEC, "width": 8})
    with pytest.raises(CheckpointMismatch, match="model_kind"):
        load_checkpoint(path, "wave1d", {})


def test_checkpoint_with_other_training_settings_is_refused(tmp_path):
    path, _, config, _ = _trained_checkpoint(tmp_path)
    with pytest.raises(CheckpointMismatch, match="train_config.epochs") as err:
        load_checkpoint(path, "spec2d", SPEC, _config(epochs=5))
    assert set(err.value.differences) == {"train_config.epochs"}
    with pytest.raises(CheckpointMismatch, match="train_config.validation_by"):
        load_checkpoint(path, "spec2d", SPEC, _config(epochs=1, validation_by="segment"))
    # where it runs is not what it learns: other device or threads load fine
    load_checkpoint(path, "spec2d", SPEC, _config(epochs=1, device="auto", num_workers=0))


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "junk.pt"
    torch.save({"weights": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="not a specadv checkpoint"):
        load_checkpoint(path, "spec2d", SPEC)


def test_channels_last_runs_leave_the_model_contiguous():
    x, y = _toy_spectrograms(n=32)
    model = build_model("spec2d", seed=0, **SPEC)
    train(model, x, y, np.arange(24), np.arange(24, 32), _config(epochs=1), progress=False)
    predict(model, x)
    assert all(p.is_contiguous() for p in model.parameters())


def test_nchw_and_channels_last_training_agree():
    x, y = _toy_spectrograms(n=32)
    # no dropout: its masks are drawn in memory order, which the layout changes
    spec = {**SPEC, "dropout_conv": 0.0, "dropout_dense": 0.0}
    states = []
    for layout in (True, False):
        model = build_model("spec2d", seed=0, **spec)
        train(model, x, y, np.arange(32), None, _config(epochs=1, lr=1e-4, channels_last=layout),
              progress=False)
        states.append(model.state_dict())
    for k in states[0]:
        torch.testing.assert_close(states[0][k], states[1][k], rtol=1e-3, atol=1e-4)


# --- precision (specadv.precision) ---------------------------------------------------------

def test_the_identity_records_the_effective_precision_not_amp():
    cpu = _config(amp=True).identity()
    assert "amp" not in cpu and cpu["precision"] == "float32"
    assert cpu == _config(amp=False).identity()  # autocast is ignored on a CPU: same weights
    gpu_amp = _config(amp=True, device="cuda").identity()
    assert gpu_amp["precision"] == "bf16-autocast" and gpu_amp != cpu
    assert _config(amp=False, device="cuda").identity() == cpu
    assert TrainConfig().amp is False  # the paper's float32 unless a profile asks


def test_a_profiles_amp_key_reaches_the_model_cache_key():
    from specadv.profiles import load_profile
    from specadv.stages.train import train_config

    def key(profile, device):
        return train_config(load_profile(profile, device=device), "mel").identity()

    assert key("rehearsal", "cuda")["precision"] == "bf16-autocast"
    assert key("rehearsal", "cpu")["precision"] == "float32"
    assert key("rehearsal", "cuda") != key("rehearsal", "cpu")
    assert key("demo", "cuda")["precision"] == "float32"


def test_a_checkpoint_records_its_precision_and_is_refused_in_another(tmp_path):
    path, model, config, _ = _trained_checkpoint(tmp_path)
    meta = read_checkpoint_metadata(path)
    assert meta["train_config"]["precision"] == "float32"
    # the same checkpoint, as a GPU run with autocast would have written it
    payload = torch.load(path, weights_only=True)
    meta["train_config"].update(amp=True, precision="bf16-autocast", device="cuda")
    payload["metadata"] = json.dumps(meta)
    torch.save(payload, path)
    with pytest.raises(CheckpointMismatch, match="train_config.precision"):
        load_checkpoint(path, "spec2d", SPEC, config)


class _Recorder(torch.nn.Module):
    """A linear classifier that notes, per call, its mode, autocast and the TF32 flag."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(SHAPE[0] * SHAPE[1], 2)
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_autocast_enabled("cpu"),
                           torch.backends.cudnn.allow_tf32))
        return self.fc(x.flatten(1))


def test_validation_runs_in_float32_outside_the_training_autocast(monkeypatch):
    from specadv import training

    # CPU autocast stands in for the GPU's bf16 autocast, which a CPU ignores
    monkeypatch.setattr(training, "_autocast", lambda device, amp: torch.autocast(
        "cpu", dtype=torch.bfloat16, enabled=amp))
    x, y = _toy_spectrograms(n=32)
    model = _Recorder()
    result = train(model, x, y, np.arange(24), np.arange(24, 32), _config(epochs=2, amp=True),
                   progress=False)
    fit = [c for c in model.calls if c[0]]
    val = [c for c in model.calls if not c[0]]
    assert fit and all(autocast for _, autocast, _ in fit)
    assert val and not any(autocast or tf32 for _, autocast, tf32 in val)
    assert result.precision == "float32"  # on a CPU, what ran is float32


def test_the_one_cycle_schedule_warms_up_peaks_at_lr_and_anneals():
    from specadv.training import _scheduler

    config = _config(epochs=4, schedule="onecycle", lr=3e-3)
    model = build_model("spec2d", seed=0, **SPEC)
    opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    sched = _scheduler(opt, config, steps_per_epoch=5)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    peak = int(np.argmax(lrs))
    assert lrs[0] == pytest.approx(3e-3 / 25)  # div_factor 25
    assert max(lrs) == pytest.approx(3e-3, rel=1e-6) and 0 < peak < 19
    assert all(a <= b for a, b in zip(lrs[:peak], lrs[1:peak + 1]))  # warm-up
    assert all(a >= b for a, b in zip(lrs[peak:-1], lrs[peak + 1:]))  # annealing
    assert _scheduler(opt, _config(epochs=4), 5) is None  # "constant": no scheduler
    with pytest.raises(ValueError, match="schedule"):
        _config(schedule="cosine")


def test_cpu_training_uses_one_thread_whatever_torch_is_set_to():
    from specadv.training import CPU_TRAIN_THREADS

    x, y = _toy_spectrograms()
    seen = []

    class Probe(torch.nn.Module):  # records the thread count the training runs under
        def forward(self, z):
            seen.append(torch.get_num_threads())
            return z

    prev = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        model = torch.nn.Sequential(Probe(), build_model("spec2d", seed=0, **SPEC))
        train(model, x, y, np.arange(64), np.arange(64, 96),
              _config(epochs=1, cpu_threads=None), progress=False)
        assert CPU_TRAIN_THREADS == 1 and set(seen) == {1}
        assert torch.get_num_threads() == 2  # restored afterwards
    finally:
        torch.set_num_threads(prev)
