"""Tests of specadv.device: moving host arrays to a device, timing work on it."""
import time

import numpy as np
import pytest
import torch

from specadv.device import Timer, select_device, to_device


def test_to_device_moves_to_the_device_it_is_given_not_only_to_cuda():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    # the meta device stands for any non-CUDA accelerator (mps, xpu...): a host tensor
    # returned for it would fail later, far from here
    for device in (torch.device("meta"), "meta"):
        t = to_device(a, device)
        assert t.device.type == "meta" and t.dtype == torch.float32 and t.shape == (2, 3)


def test_to_device_on_the_cpu_shares_a_contiguous_arrays_memory_and_keeps_its_values():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    t = to_device(a, "cpu")
    assert t.device.type == "cpu" and t.dtype == torch.float64
    assert np.shares_memory(t.numpy(), a)  # no copy of a memory-mapped feature block
    strided = to_device(a[:, ::2], torch.device("cpu"))  # a view is made contiguous first
    assert strided.is_contiguous() and np.array_equal(strided.numpy(), a[:, ::2])


def test_select_device_passes_a_torch_device_through_and_refuses_a_missing_cuda():
    assert select_device(torch.device("meta")) == torch.device("meta")
    assert select_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            select_device("cuda:0")


def test_timer_accumulates_each_name_even_when_the_block_raises():
    t = Timer("cpu")
    for _ in range(2):
        with t("a"):
            time.sleep(0.02)
    with t("b"):
        pass
    with pytest.raises(RuntimeError):
        with t("b"):
            time.sleep(0.03)
            raise RuntimeError("stop")
    assert set(t.seconds) == {"a", "b"}
    assert 0.04 <= t.seconds["a"] < 1.0
    assert 0.03 <= t.seconds["b"] < 1.0
