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


def test_cli_on_damaged_files_exits_2_with_one_line(cifar_checkpoint, tmp_path, capsys):
    Image.new("RGB", (64, 64), "red").save(tmp_path / "red.png")
    data = (tmp_path / "red.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[: len(data) // 2])
    blob = cifar_checkpoint.read_bytes()
    (tmp_path / "truncated.pt").write_bytes(blob[: len(blob) // 2])
    for checkpoint, image, message in [(cifar_checkpoint, "truncated.png", "damaged or truncated image"),
                                       (tmp_path / "truncated.pt", "red.png", "not a readable checkpoint")]:
        code = predict_cli.main(["--checkpoint", str(checkpoint), "--image", str(tmp_path / image)])
        err = capsys.readouterr().err
        assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_checkpoint_whose_weights_do_not_match_says_so(tmp_path):
    import torch

    from course_utils.checkpoint import load_checkpoint, save_checkpoint
    from course_utils.models import FastCifarNet

    with pytest.raises(ValueError, match=r"the model's weights do not match meta \(fast_cifar"):
        save_checkpoint(tmp_path / "m.pt", FastCifarNet(widths=(8, 8, 8), stem=4), cifar_meta())  # meta: 16/32/64
    path = save_checkpoint(tmp_path / "m.pt", FastCifarNet(widths=(16, 32, 64), stem=8), cifar_meta())
    blob = torch.load(path, weights_only=True)
    blob["meta"]["config"] = {"widths": [8, 8, 8], "stem": 4}  # a file edited by hand, or another writer
    torch.save(blob, tmp_path / "edited.pt")
    with pytest.raises(ValueError, match=r"the weights do not match the recorded model \(fast_cifar"):
        load_checkpoint(tmp_path / "edited.pt")
    blob = torch.load(path, weights_only=True)
    del blob["meta"]
    torch.save(blob, tmp_path / "no_meta.pt")
    with pytest.raises(ValueError, match="lacks its meta entry"):
        load_checkpoint(tmp_path / "no_meta.pt")
    blob = torch.load(path, weights_only=True)
    del blob["meta"]["classes"]
    torch.save(blob, tmp_path / "no_classes.pt")
    with pytest.raises(ValueError, match=r"missing \['classes'\]"):
        load_checkpoint(tmp_path / "no_classes.pt")


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
