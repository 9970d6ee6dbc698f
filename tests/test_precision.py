"""Tests of specadv.precision: the TF32 flags, autotuning, and the precision recorded."""
import pytest
import torch

from specadv import precision


def _flags():
    return (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
            torch.get_float32_matmul_precision(), torch.backends.cudnn.benchmark)


@pytest.fixture
def tf32_on():
    """A session that allowed TF32 everywhere (what cuDNN does by default), put back after."""
    before = _flags()
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.set_float32_matmul_precision("high")
    torch.backends.cudnn.benchmark = False
    yield _flags()
    matmul, cudnn, matmul_precision, benchmark = before
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn
    torch.set_float32_matmul_precision(matmul_precision)
    torch.backends.cudnn.benchmark = benchmark


def test_exact_float32_turns_tf32_off_and_restores_the_flags(tf32_on):
    with precision.exact_float32():
        assert _flags()[:3] == (False, False, "highest")
    assert _flags() == tf32_on


def test_exact_float32_restores_the_flags_when_the_block_raises(tf32_on):
    with pytest.raises(RuntimeError, match="inside"):
        with precision.exact_float32():
            raise RuntimeError("inside")
    assert _flags() == tf32_on


def test_exact_float32_as_a_decorator(tf32_on):
    @precision.exact_float32()
    def seen():
        return _flags()

    assert seen()[:3] == (False, False, "highest") and seen()[:3] == (False, False, "highest")
    assert _flags() == tf32_on


def test_attack_kernels_add_cudnn_autotuning_and_restore_it(tf32_on):
    with precision.attack_kernels():
        assert _flags() == (False, False, "highest", True)
    assert _flags() == tf32_on
    with pytest.raises(ValueError):
        with precision.attack_kernels():
            raise ValueError
    assert _flags() == tf32_on


def test_the_recorded_precision_is_what_runs():
    assert precision.training_precision("cpu", amp=True) == "float32"  # autocast ignored
    assert precision.training_precision(torch.device("cpu"), amp=False) == "float32"
    assert precision.training_precision("cuda", amp=True) == "bf16-autocast"
    assert precision.training_precision("cuda:1", amp=False) == "float32"
    auto = "bf16-autocast" if torch.cuda.is_available() else "float32"
    assert precision.training_precision("auto", amp=True) == auto


def test_autocast_is_a_no_op_on_cpu():
    with precision.autocast(torch.device("cpu"), amp=True):
        assert not torch.is_autocast_enabled("cpu") and not torch.is_autocast_enabled("cuda")
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
