"""course_utils.validate: the shared boundary checks, their messages by hand."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils import validate


def test_describe():
    assert validate.describe(torch.zeros(3, 5)) == "Tensor[3, 5] float32"
    assert validate.describe(torch.zeros(0, dtype=torch.int64)) == "Tensor[0] int64"
    assert validate.describe([1, 2, 3]) == "list of 3" and validate.describe("x") == "str"


def test_tensor_accepts_what_it_should_and_returns_it():
    x = torch.zeros(7, 4)
    assert validate.tensor(x, "boxes", shape=(None, 4), dtype="float", finite=True) is x
    assert validate.tensor(torch.zeros(2, 3, dtype=torch.int32), "ids", ndim=2, dtype="int") is not None
    assert validate.tensor(torch.zeros(3, dtype=torch.bool), "hits", dtype="integer-or-bool") is not None


@pytest.mark.parametrize("call, error, message", [
    (lambda: validate.tensor([[0, 0, 1, 1]], "boxes", shape=(None, 4)), TypeError,
     r"^boxes must be Tensor\[N, 4\], got list of 1$"),
    (lambda: validate.tensor(torch.zeros(3, 5), "boxes", shape=(None, 4), dtype="float"), ValueError,
     r"^boxes must be Tensor\[N, 4\] of floats, got Tensor\[3, 5\] float32$"),
    (lambda: validate.tensor(torch.zeros(3, 4, dtype=torch.int64), "boxes", shape=(None, 4), dtype="float"),
     ValueError, r"got Tensor\[3, 4\] int64"),
    (lambda: validate.tensor(torch.zeros(3), "labels", dtype="int", hint="(one per box)"), ValueError,
     r"^labels must be a Tensor of integers, got Tensor\[3\] float32 \(one per box\)$"),
    (lambda: validate.tensor(torch.zeros(2, 2), "x", ndim=3), ValueError, r"must be a 3-dimensional Tensor"),
    (lambda: validate.tensor(torch.tensor([1.0, math.nan]), "scores", finite=True), ValueError,
     r"^scores must be finite, got nan at index \[1\]$"),
    (lambda: validate.tensor(torch.tensor([[0.0, math.inf]]), "boxes", finite=True), ValueError,
     r"got inf at index \[0, 1\]"),
    (lambda: validate.tensor(torch.zeros(2, dtype=torch.bool), "n", dtype="int"), ValueError, "of integers, got"),
])
def test_tensor_messages_name_the_argument_what_was_expected_and_what_came(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_same_length_class_indices_positive_int():
    assert validate.same_length(boxes=[1, 2], labels=(3, 4)) == 2
    with pytest.raises(ValueError, match=r"^boxes and labels must have the same length, got 3 boxes, 2 labels$"):
        validate.same_length(boxes=[1, 2, 3], labels=[1, 2])
    assert validate.class_indices(torch.tensor([0, 4]), "labels", 5).tolist() == [0, 4]
    with pytest.raises(ValueError, match=r"must lie in \[0, 5\), got values from 0 to 5"):
        validate.class_indices(torch.tensor([0, 5]), "labels", 5)
    with pytest.raises(ValueError, match=r"cast with \.long\(\)"):
        validate.class_indices(torch.tensor([0.0, 1.0]), "labels", 5)
    assert validate.positive_int(3, "grid") == 3
    for bad, error in ((0, ValueError), (2.0, TypeError), (True, TypeError), ("3", TypeError)):
        with pytest.raises(error, match="grid must be a positive int"):
            validate.positive_int(bad, "grid")
