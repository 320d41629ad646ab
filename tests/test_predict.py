"""course_utils.predict: the prediction CLI on a synthetic and on a real CIFAR-10 test image."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import CIFAR_CLASSES, cifar_meta
from PIL import Image

from course_utils import predict as predict_cli


def test_prepare_resizes_converts_and_normalises():
    meta = cifar_meta(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    big_gray = Image.new("L", (64, 48), color=255)  # white, wrong size, one channel
    x = predict_cli.prepare(big_gray, meta)
    assert x.shape == (1, 3, 32, 32) and torch.allclose(x, torch.ones_like(x))  # (1 - 0.5) / 0.5


def test_cli_prints_top_k(cifar_checkpoint, tmp_path, capsys):
    img = tmp_path / "red.png"
    Image.new("RGB", (32, 32), color=(200, 30, 30)).save(img)
    assert predict_cli.main(["--checkpoint", str(cifar_checkpoint), "--image", str(img), "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("1. ")
    assert all(line.split()[1] in CIFAR_CLASSES for line in lines)
    assert predict_cli.main(["--checkpoint", str(cifar_checkpoint), "--image", str(img), "--json", "--top-k", "10"]) == 0
    record = json.loads(capsys.readouterr().out)
    probs = [item["probability"] for item in record["top_k"]]
    assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-3 and probs == sorted(probs, reverse=True)


@pytest.mark.parametrize(
    "image, extra, message",
    [("missing.png", [], "no image file"), ("notes.txt", [], "not an image"),
     ("red.png", ["--top-k", "11"], "top-k must be between 1 and 10"),
     ("http://127.0.0.1:9/cat.png", [], "could not download .* is the internet reachable")],
)
def test_cli_errors_exit_2(cifar_checkpoint, tmp_path, capsys, image, extra, message):
    Image.new("RGB", (32, 32)).save(tmp_path / "red.png")
    (tmp_path / "notes.txt").write_text("hello")
    source = image if image.startswith("http") else str(tmp_path / image)
    code = predict_cli.main(["--checkpoint", str(cifar_checkpoint), "--image", source, *extra])
    assert code == 2
    import re

    assert re.search(message, capsys.readouterr().err)


@pytest.mark.needs_data
def test_cli_on_a_real_cifar_test_image(real_mirror, cifar_checkpoint, tmp_path, capsys):
    from course_utils.data import load_dataset

    test = load_dataset("cifar10", "test")
    idx = int(test.per_class_indices(1)[0, 3])  # the first cat
    path = tmp_path / "cat.png"
    Image.fromarray(test.images[idx].permute(1, 2, 0).numpy()).save(path)
    assert predict_cli.main(["--checkpoint", str(cifar_checkpoint), "--image", str(path), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert [item["class"] for item in record["top_k"]][0] in CIFAR_CLASSES and len(record["top_k"]) == 3
