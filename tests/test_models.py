"""Tests of specadv.models: the paper's 2D CNN layer list and shapes, the 1D CNN."""
import math

import pytest
import torch
from torch import nn

from specadv.models import (KERAS_BN_EPS, KERAS_BN_MOMENTUM, Spec2DCNN, Wave1DCNN, _PowerPool,
                            _Unshift, build_model, count_parameters)


def _layer_kinds(seq):
    return [type(m).__name__ for m in seq]


def test_spec2d_layer_list_is_the_papers():
    model = Spec2DCNN((64, 431))
    assert _layer_kinds(model.features) == [
        "Conv2d", "ReLU", "BatchNorm2d",
        "Conv2d", "LeakyReLU", "MaxPool2d", "Dropout",
        "Conv2d", "LeakyReLU",
        "Conv2d", "LeakyReLU", "MaxPool2d"]
    assert _layer_kinds(model.classifier) == ["Flatten", "Linear", "ReLU", "Dropout", "Linear"]
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64]
    assert all(c.kernel_size == (3, 3) and c.padding == (0, 0) and c.stride == (1, 1) for c in convs)
    pools = [m for m in model.features if isinstance(m, nn.MaxPool2d)]
    assert [(p.kernel_size, p.stride) for p in pools] == [(2, 2), (4, 2)]
    leaky = [m for m in model.features if isinstance(m, nn.LeakyReLU)]
    assert all(m.negative_slope == 0.2 for m in leaky)
    drops = [m.p for m in model.modules() if isinstance(m, nn.Dropout)]
    assert drops == [0.05, 0.8]  # Keras Dropout(0.8) drops 80%, as torch p=0.8
    bn = model.features[2]
    assert bn.momentum == KERAS_BN_MOMENTUM == 0.01 and bn.eps == KERAS_BN_EPS == 1e-3
    assert model.classifier[1].out_features == 1024
    assert model.classifier[-1].out_features == 10


def test_spec2d_mel_input_flattens_to_64x12x103():
    model = Spec2DCNN((64, 431)).eval()
    assert model.feature_shape == (64, 12, 103)
    assert model.flatten_features == 79104
    with torch.no_grad():
        assert model.features(torch.zeros(1, 1, 64, 431)).shape == (1, 64, 12, 103)
        assert model(torch.zeros(2, 64, 431)).shape == (2, 10)
        assert model(torch.zeros(2, 1, 64, 431)).shape == (2, 10)


def test_spec2d_stft_input_257x431_works():
    model = Spec2DCNN((257, 431), dense=512, width=4).eval()
    assert model.feature_shape == (8, 60, 103)
    with torch.no_grad():
        assert model(torch.full((2, 257, 431), -40.0)).shape == (2, 10)


def test_spec2d_width_scales_channels_and_flatten_follows():
    model = Spec2DCNN((64, 431), width=8, dense=64)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 8, 16, 16]
    assert model.flatten_features == 16 * 12 * 103
    assert model.classifier[1].in_features == model.flatten_features


def test_spec2d_keras_init_has_zero_biases():
    model = Spec2DCNN((32, 64), width=4, dense=8)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            assert torch.all(m.bias == 0)


def test_spec2d_rejects_too_small_input():
    with pytest.raises(ValueError, match="too small"):
        Spec2DCNN((19, 431))


def test_wave1d_forward_on_five_seconds_gives_logits():
    model = Wave1DCNN().eval()
    assert model.feature_shape == (128, 100)
    with torch.no_grad():
        out = model(torch.randn(2, 110250) * 0.1)
    assert out.shape == (2, 10)
    assert 100_000 < count_parameters(model) < 5_000_000
    kinds = _layer_kinds(model.features)
    assert kinds.count("Conv1d") == 4 and kinds.count("BatchNorm1d") == 4
    first = model.features[0]
    assert first.kernel_size == (64,) and first.stride == (2,)
    assert _layer_kinds(model.classifier) == ["Flatten", "Linear", "ReLU", "Dropout", "Linear",
                                              "ReLU", "Dropout", "Linear"]


def test_wave1d_average_pooling_head_is_small():
    model = Wave1DCNN(width=8, dense=(32, 16), pooling="avg").eval()
    assert model.flatten_features == 64
    assert count_parameters(model) < 60_000
    with torch.no_grad():
        assert model(torch.zeros(3, 1, 110250)).shape == (3, 10)


def test_spec2d_defaults_add_nothing_to_the_papers_layers():
    model = Spec2DCNN((64, 431))
    assert len(model.stem) == 0
    assert isinstance(model.classifier[0], nn.Flatten)
    c = model.config()
    assert (c["head"], c["input_norm"], c["input_pool"]) == ("flatten", "none", [1, 1])


def test_spec2d_meanstd_head_takes_each_maps_mean_and_std_over_time():
    model = Spec2DCNN((64, 431), width=4, dense=8, head="meanstd").eval()
    assert model.feature_shape == (8, 12, 103)
    assert model.flatten_features == 8 * 12 * 2
    maps = torch.randn(3, 8, 12, 103)
    stats = model.classifier[0](maps).view(3, 8, 12, 2)
    torch.testing.assert_close(stats[..., 0], maps.mean(3))
    torch.testing.assert_close(stats[..., 1], maps.std(3, correction=0), atol=1e-5, rtol=1e-4)
    with torch.no_grad():
        assert model(torch.full((2, 64, 431), -30.0)).shape == (2, 10)


def test_spec2d_meanstd_head_in_chunks_takes_each_stretch_of_time_apart():
    model = Spec2DCNN((64, 431), width=4, dense=8, head="meanstd", head_chunks=4).eval()
    assert model.flatten_features == 8 * 12 * 4 * 2
    assert model.config()["head_chunks"] == 4
    maps = torch.randn(3, 8, 12, 103)
    stats = model.classifier[0](maps).view(3, 8, 12, 4, 2)
    # 103 frames in 4: 26, 26, 26, 25 (torch.tensor_split)
    for c, (lo, hi) in enumerate([(0, 26), (26, 52), (52, 78), (78, 103)]):
        torch.testing.assert_close(stats[..., c, 0], maps[..., lo:hi].mean(3))
        torch.testing.assert_close(stats[..., c, 1], maps[..., lo:hi].std(3, correction=0),
                                   atol=1e-5, rtol=1e-4)
    one = Spec2DCNN((64, 431), width=4, dense=8, head="meanstd", head_chunks=1).classifier[0]
    torch.testing.assert_close(one(maps), model.classifier[0].__class__()(maps))
    with pytest.raises(ValueError, match="head_chunks must be a positive integer"):
        Spec2DCNN((64, 431), head="meanstd", head_chunks=0)
    with pytest.raises(ValueError, match="exceeds the last map's 103 frames"):
        Spec2DCNN((64, 431), head="meanstd", head_chunks=104)


def test_spec2d_meanstd_head_has_finite_gradients_on_a_constant_input():
    model = Spec2DCNN((64, 431), width=2, dense=4, head="meanstd")
    x = torch.full((2, 64, 431), -80.0, requires_grad=True)
    model(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_spec2d_input_pool_averages_before_the_first_convolution():
    model = Spec2DCNN((257, 431), width=2, dense=4, input_pool=(4, 1)).eval()
    assert isinstance(model.stem[-1], nn.AvgPool2d)
    assert model.feature_shape == (4, 12, 103)  # 257 bins pooled to 64: the Mel's geometry
    x = torch.randn(1, 1, 257, 431)
    torch.testing.assert_close(model.stem(x), nn.functional.avg_pool2d(x, (4, 1)))


def test_spec2d_band_norm_standardises_each_band_in_training():
    model = Spec2DCNN((32, 64), width=2, dense=4, input_norm="band", bn_momentum=1.0)
    x = torch.randn(16, 1, 32, 64) * torch.linspace(1, 10, 32)[:, None] - 40.0
    out = model.stem(x)
    torch.testing.assert_close(out.mean(dim=(0, 1, 3)), torch.zeros(32), atol=1e-4, rtol=0)
    torch.testing.assert_close(out.std(dim=(0, 1, 3), correction=0), torch.ones(32),
                               atol=1e-2, rtol=0)
    model.eval()  # running statistics (momentum 1: this batch's)
    torch.testing.assert_close(model.stem(x), out, atol=1e-2, rtol=0)


def test_spec2d_input_pool_kind_max_keeps_each_blocks_largest_value():
    model = Spec2DCNN((257, 431), width=2, dense=4, input_pool=(4, 2), input_pool_kind="max")
    x = torch.randn(1, 1, 257, 431)
    torch.testing.assert_close(model.stem(x), nn.functional.max_pool2d(x, (4, 2)))
    assert model.feature_shape == (4, 12, 49)  # 64 x 215 after the pooling


def test_spec2d_power_pooling_is_the_dB_of_each_blocks_mean_power():
    model = Spec2DCNN((257, 431), width=2, dense=4, input_pool=(4, 2),
                      input_pool_kind="power", input_norm="band").eval()
    x = torch.rand(2, 1, 257, 431, dtype=torch.float64).float() * -80.0
    x[0, 0, 0, 0] = 0.0  # one block: 0 dB and seven cells of another level
    x[0, 0, :4, :2] = torch.tensor([[0.0, -10.0], [-10.0, -10.0], [-10.0, -10.0],
                                    [-10.0, -10.0]])
    ref = 10 * torch.log10(nn.functional.avg_pool2d(10 ** (x.double() / 10), (4, 2)))
    out = model.stem[0](x)
    torch.testing.assert_close(out.double(), ref, atol=1e-4, rtol=0)
    # hand-computed: (1 + 7 * 0.1) / 8 of the power of 0 dB
    assert abs(float(out[0, 0, 0, 0]) - 10 * math.log10(1.7 / 8)) < 1e-4
    # 80 dB below the top stays exact (a log-sum-exp, no underflow), and far below too
    deep = torch.full((1, 1, 4, 2), -300.0)
    assert abs(float(_PowerPool((4, 2))(deep)) + 300.0) < 1e-3
    # every cell of a block gets a share of the gradient, in proportion to its power
    xg = x[:1, :, :4, :2].clone().requires_grad_(True)
    _PowerPool((4, 2))(xg).sum().backward()
    share = 10 ** (x[0, 0, :4, :2] / 10)
    torch.testing.assert_close(xg.grad[0, 0], share / share.sum(), atol=1e-5, rtol=0)
    # the band norm of a power-pooled input normalises the pooled bands
    assert model.stem[1].norm.num_features == 64


def test_spec2d_unshift_recovers_the_real_parts_power_from_the_authors_form():
    from specadv.features import stft, stft_paper_db

    g = torch.Generator().manual_seed(0)
    t = torch.arange(22050 * 2) / 22050
    y = (0.5 * torch.sin(2 * math.pi * 440 * t) + 0.05 * torch.randn(len(t), generator=g))[None]
    db, _, _ = stft_paper_db(y)
    power = stft(y).real.square()
    true = 10 * torch.log10(power / power.max())  # the magnitude form's convention
    est = _Unshift()(db)
    loud = true > -60  # the top 60 dB: where the estimate must hold
    assert loud.float().mean() > 0.1
    assert float((est - true)[loud].abs().quantile(0.99)) < 0.25
    assert float(est.max()) == 0.0 and float(est.min()) >= -80.0
    torch.testing.assert_close(est[~loud & (true < -85)], torch.full_like(
        est[~loud & (true < -85)], -80.0))  # floored 80 dB below the top, as stft_db
    model = Spec2DCNN(tuple(db.shape[1:]), width=2, dense=4, input_pool=(4, 2),
                      input_pool_kind="power", unshift=True)
    assert isinstance(model.stem[0], _Unshift) and model.config()["unshift"] is True
    assert Spec2DCNN((64, 431)).config()["unshift"] is False
    x = db.clone().requires_grad_(True)
    model.eval()(x).sum().backward()
    assert torch.isfinite(x.grad).all() and (x.grad != 0).float().mean() > 0.5


def test_spec2d_band_stats_feed_the_stems_band_statistics_to_the_head():
    model = Spec2DCNN((64, 431), width=2, dense=4, head="meanstd", input_pool=(1, 2),
                      band_stats=True).eval()
    assert model.flatten_features == 4 * 12 * 2 + 2 * 64
    assert model.classifier[1].in_features == model.flatten_features
    x = torch.randn(2, 64, 431, requires_grad=True)
    model(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    c = model.config()
    assert c["band_stats"] is True and build_model("spec2d", **c).flatten_features == 224
    assert Spec2DCNN((64, 431)).config()["band_stats"] is False


@pytest.mark.parametrize("kwargs, match", [
    ({"head": "gap"}, "head must be one of"), ({"input_norm": "global"}, "input_norm must be"),
    ({"input_pool_kind": "min"}, "input_pool_kind must be"),
    ({"input_pool": (0, 1)}, "input_pool must be two positive"),
    ({"input_pool": (2,)}, "input_pool must be two positive")])
def test_spec2d_rejects_unknown_recipe_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Spec2DCNN((64, 431), **kwargs)


def test_wave1d_meanstd_pooling_doubles_the_average_heads_features():
    model = Wave1DCNN(width=4, dense=(8, 8), pooling="meanstd").eval()
    assert model.flatten_features == 2 * 32
    with torch.no_grad():
        assert model(torch.zeros(2, 110250)).shape == (2, 10)


def test_wave1d_first_stride_shortens_the_first_blocks():
    assert Wave1DCNN(width=2, first_stride=2).feature_shape == (16, 100)  # Abdoli et al.'s
    model = Wave1DCNN(width=2, dense=(4, 4), first_stride=4, pooling="meanstd").eval()
    assert model.features[0].stride == (4,)
    assert model.feature_shape == (16, 46)  # 27547 -> 3443 -> 1706 -> 213 -> 99 -> 46
    with torch.no_grad():
        assert model(torch.zeros(1, 110250)).shape == (1, 10)
    with pytest.raises(ValueError, match="first_stride"):
        Wave1DCNN(first_stride=0)


def test_config_rebuilds_the_same_architecture():
    for model in (Spec2DCNN((64, 431), width=4, dense=16),
                  Spec2DCNN((257, 431), width=2, dense=4, head="meanstd", input_norm="band",
                            input_pool=(4, 2)),
                  Wave1DCNN(width=4, dense=(8, 8)), Wave1DCNN(width=4, dense=(8, 8),
                                                             pooling="meanstd", first_stride=4)):
        again = type(model).from_config(model.config())
        assert again.config() == model.config()
        assert build_model(model.kind, **model.config()).config() == model.config()


def test_build_model_seed_fixes_weights_without_touching_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a = build_model("spec2d", seed=5, input_shape=(32, 64), width=4, dense=8)
    after = torch.rand(1)
    b = build_model("spec2d", seed=5, input_shape=(32, 64), width=4, dense=8)
    assert torch.equal(after, expected)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_build_model_rejects_unknown_kind():
    with pytest.raises(ValueError, match="unknown model kind"):
        build_model("resnet")


@pytest.mark.parametrize("profile", ["smoke", "demo", "paper"])
def test_each_profiles_2d_cnn_maps_the_registry_shapes_to_the_papers_geometry(profile):
    """The paper's layer list turns 64x431 Mel into 12x103 maps, 257x431 STFT into 60x103,
    whatever a profile's width: what the 2D CNN's dense layer is sized for."""
    from specadv.profiles import load_profile
    from specadv.roundtrip import REPRESENTATIONS
    from specadv.stages.train import model_config

    p = load_profile(profile)
    for rep, maps in (("mel", (12, 103)), ("stft", (60, 103))):
        config = model_config(p, rep)
        assert tuple(config["input_shape"]) == REPRESENTATIONS[rep].feature_shape
        # the geometry only: the same layer list at width 1 and a tiny dense layer; a
        # profile's input pooling (none in the paper's) shrinks what the layers see
        config = {**config, "width": 1, "dense": 4}
        if profile == "paper":
            assert config["input_pool"] == [1, 1] and config["head"] == "flatten"
        model = build_model("spec2d", **{**config, "input_pool": [1, 1]}).eval()
        assert model.feature_shape == (2, *maps)
        with torch.no_grad():
            assert model.features(torch.zeros(1, 1, *config["input_shape"])).shape[2:] == maps
            pooled = build_model("spec2d", **config).eval()
            x = torch.zeros(1, 1, *config["input_shape"])
            assert pooled.features(pooled.stem(x)).shape[1:] == pooled.feature_shape
            assert pooled(x).shape == (1, 10)


def test_unshift_recovers_the_real_parts_power_on_the_papers_music(paper_audio):
    import librosa
    import numpy as np

    from specadv.features import stft, stft_paper_db

    files = sorted(paper_audio.glob("*_original.wav"))
    assert len(files) >= 4
    for f in files:
        y, _ = librosa.load(f, sr=22050)
        y = torch.from_numpy(np.pad(y[:110250], (0, max(0, 110250 - len(y)))))[None].float()
        db, _, _ = stft_paper_db(y)
        power = stft(y).real.double().square()
        true = 10 * torch.log10(power / power.max())
        loud = true > -60
        err = (_Unshift()(db).double() - true)[loud].abs()
        # the shift's estimate is 89-114 dB off: within 0.5 dB over the music's top 60 dB,
        # far inside the +-3.5% of the shift that a 0.3 dB attack adds to every cell
        assert float(err.quantile(0.99)) < 0.5 and float(err.median()) < 0.05, f.name
