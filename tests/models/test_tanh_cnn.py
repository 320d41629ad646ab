"""course_utils.models.tanh_cnn: the walk-through's two CIFAR networks, counts by hand, two equal APIs."""

from __future__ import annotations

import pytest
import torch

from course_utils.models import TanhCNN, count_parameters, fully_connected_cifar, tanh_cnn


def test_fully_connected_parameter_count():
    # (3072*1024 + 1024) + (1024*512 + 512) + (512*128 + 128) + (128*10 + 10)
    expected = 3072 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 128 + 128 + 128 * 10 + 10
    assert expected == 3_738_506
    assert count_parameters(fully_connected_cifar()) == expected

def test_tanh_cnn_parameter_count_and_shapes():
    # conv1 16*3*9 + 16, conv2 8*16*9 + 8, fc1 512*32 + 32, fc2 32*10 + 10
    expected = 16 * 27 + 16 + 8 * 144 + 8 + 512 * 32 + 32 + 32 * 10 + 10
    assert expected == 18_354
    assert count_parameters(tanh_cnn()) == expected == count_parameters(TanhCNN())
    x = torch.randn(2, 3, 32, 32)
    assert tanh_cnn()(x).shape == (2, 10) and TanhCNN()(x).shape == (2, 10)

def test_sequential_and_subclass_compute_the_same_function():
    seq, sub = tanh_cnn(3), TanhCNN(3)
    sub.load_state_dict({k: v for k, v in zip(sub.state_dict(), seq.state_dict().values())})
    x = torch.randn(4, 3, 32, 32)
    assert torch.allclose(seq(x), sub(x), atol=1e-6)

def test_errors():
    with pytest.raises(ValueError, match=r"expects Tensor\[B, 3, 32, 32\]"):
        TanhCNN()(torch.zeros(1, 3, 28, 28))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        count_parameters("model")  # type: ignore[arg-type]
    frozen = fully_connected_cifar()
    frozen[1].requires_grad_(False)
    assert count_parameters(frozen) == 3_738_506 - (3072 * 1024 + 1024)
    assert count_parameters(frozen, trainable_only=False) == 3_738_506
