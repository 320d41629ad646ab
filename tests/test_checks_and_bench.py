"""course_utils.checks (exercise checkers) and course_utils.bench (one JSON line per task)."""

from __future__ import annotations

import json

import pytest
import torch

from course_utils import bench, checks


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


def test_bench_unknown_task():
    with pytest.raises(ValueError, match="unknown benchmark task 'nope'; valid tasks"):
        bench.run("nope")
    with pytest.raises(SystemExit):
        bench.main(["nope"])


def test_bench_prints_one_json_line(fake_mirror, capsys):
    assert bench.main(["data-mnist"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["task"] == "data-mnist" and record["images"] == 5  # 3 train + 2 test in the fake mirror
    assert {"metric", "value", "seconds", "device", "profile", "machine"} <= record.keys()


def test_bench_cifar_decode_uses_a_fresh_cache(fake_mirror, monkeypatch):
    import os

    before = os.environ["COURSE_CACHE_DIR"]
    record = bench.run("data-cifar10")
    assert record["images"] == 20 and record["cached_load_seconds"] <= record["seconds"] + 1
    assert os.environ["COURSE_CACHE_DIR"] == before  # restored


def test_check_output_size(capsys):
    checks.check_output_size(lambda w, k, s, p, d: (w + 2 * p - d * (k - 1) - 1) // s + 1)
    assert "correct on all" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="for W="):
        checks.check_output_size(lambda w, k, s, p, d: (w + 2 * p - k) // s + 1)  # forgets dilation


def test_bench_mnist_record(fake_mirror, monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    record = bench.run("mnist")
    assert record["task"] == "mnist" and record["parameters"] == 10_392 and record["epochs"] == 3
    assert 0.0 <= record["value"] <= 1.0 and record["profile"] == "cpu" and record["seconds"] >= 0


def test_check_softmax():
    checks.check_softmax(lambda z: torch.exp(z - z.max()) / torch.exp(z - z.max()).sum())
    with pytest.raises(AssertionError, match="NaN"):
        checks.check_softmax(lambda z: torch.exp(z) / torch.exp(z).sum())
    with pytest.raises(AssertionError, match="wrong probabilities"):
        checks.check_softmax(lambda z: torch.sigmoid(z))
