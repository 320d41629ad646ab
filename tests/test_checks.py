"""course_utils.checks: the exercise checkers accept right answers and explain wrong ones."""

from __future__ import annotations

import pytest
import torch

from course_utils import checks


def test_check_to_grayscale_accepts_bt601(capsys):
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    checks.check_to_grayscale(lambda x: (x * weights).sum(1, keepdim=True))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda x: x.mean(1, keepdim=True), "largest difference"),  # plain average: wrong weights
        (lambda x: x.mean(1), "expected shape"),  # channel dimension dropped
        (lambda x: x.numpy(), "expected a Tensor"),
    ],
)
def test_check_to_grayscale_rejects_wrong_answers(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_to_grayscale(wrong)


def test_check_batch_bytes():
    checks.check_batch_bytes(256, 256 * 3072, 256 * 3072 * 4)
    with pytest.raises(AssertionError, match="float32: expected 3,145,728 bytes"):
        checks.check_batch_bytes(256, 256 * 3072, 256 * 3072)
    with pytest.raises(AssertionError, match="uint8"):
        checks.check_batch_bytes(2, 1, 2 * 4 * 28 * 28, shape=(1, 28, 28))


def test_check_output_size(capsys):
    checks.check_output_size(lambda w, k, s, p, d: (w + 2 * p - d * (k - 1) - 1) // s + 1)
    assert "correct on all" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="for W="):
        checks.check_output_size(lambda w, k, s, p, d: (w + 2 * p - k) // s + 1)  # forgets dilation


def test_check_softmax():
    checks.check_softmax(lambda z: torch.exp(z - z.max()) / torch.exp(z - z.max()).sum())
    with pytest.raises(AssertionError, match="NaN"):
        checks.check_softmax(lambda z: torch.exp(z) / torch.exp(z).sum())
    with pytest.raises(AssertionError, match="wrong probabilities"):
        checks.check_softmax(lambda z: torch.sigmoid(z))
