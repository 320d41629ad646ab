"""course_utils.checkpoint: round trips, errors, configs as plain data, every architecture, paths."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import CIFAR_CLASSES, cifar_meta

from course_utils.checkpoint import (ARCHITECTURES, CheckpointMeta, checkpoint_path, config_from_dict, config_to_dict,
                                     load_checkpoint, save_checkpoint)
from course_utils.models import CompactMNIST, FastCifarNet


def test_round_trip_restores_weights_and_metadata(cifar_checkpoint):
    torch.manual_seed(0)
    original = FastCifarNet(widths=(16, 32, 64), stem=8).eval()
    model, meta = load_checkpoint(cifar_checkpoint)
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(model(x), original(x), atol=1e-6) and not model.training
    assert meta.classes == CIFAR_CLASSES and meta.mean == (0.49, 0.48, 0.45) and meta.input_size == (3, 32, 32)
    assert meta.metrics == {"test_accuracy": 0.5} and meta.profile == "cpu" and meta.created
    assert not list(cifar_checkpoint.parent.glob(".*.tmp"))  # written atomically


def test_mnist_checkpoint_round_trip(tmp_path):
    model = CompactMNIST()
    meta = CheckpointMeta(arch="compact_mnist", config={}, mean=(0.1307,), std=(0.3081,),
                          classes=tuple("0123456789"), input_size=(1, 28, 28))
    loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "m.pt", model, meta))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))


def test_checkpoint_errors(tmp_path, cifar_checkpoint):
    with pytest.raises(ValueError, match="unknown architecture 'resnet1000'"):
        save_checkpoint(tmp_path / "x.pt", FastCifarNet(), cifar_meta(arch="resnet1000"))
    with pytest.raises(ValueError, match="one value per input channel"):
        save_checkpoint(tmp_path / "x.pt", FastCifarNet(), cifar_meta(mean=(0.5,)))
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a course_utils checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "garbage.pt")


def test_config_round_trips_through_plain_data():
    from course_utils.detection.yolo import YoloConfig

    cfg = YoloConfig(anchors=((10.0, 12.0), (30.0, 20.0)), widths=(8, 16, 16, 32))
    plain = config_to_dict(cfg)
    assert plain["anchors"] == [[10.0, 12.0], [30.0, 20.0]] and plain["widths"] == [8, 16, 16, 32]
    assert json.loads(json.dumps(plain)) == plain  # plain data: JSON and weights_only loading
    assert config_from_dict(YoloConfig, plain) == cfg  # tuples again, at every depth
    with pytest.raises(ValueError, match=r"YoloConfig has no field\(s\) \['anchor'\]"):
        config_from_dict(YoloConfig, {"anchor": []})
    with pytest.raises(TypeError, match="config dataclass"):
        config_to_dict({"widths": [1]})
    with pytest.raises(TypeError, match="config dataclass class"):
        config_from_dict(dict, {})


def test_every_architecture_rebuilds_from_its_saved_config(tmp_path):
    from course_utils.detection.run import DETECTORS
    from course_utils.detection.ssd import SmallSSD, SSDConfig
    from course_utils.detection.yolo import YoloConfig, YoloV2

    torch.manual_seed(0)
    for arch, model, cfg, size in [("yolo_v2", YoloV2(YoloConfig(widths=(4, 8, 8, 8))), YoloConfig(widths=(4, 8, 8, 8)), 64),
                                   ("small_ssd", SmallSSD(SSDConfig(widths=(4, 8, 8, 8))), SSDConfig(widths=(4, 8, 8, 8)), 64)]:
        meta = CheckpointMeta(arch=arch, config=config_to_dict(cfg), mean=(0.5,) * 3, std=(0.25,) * 3,
                              classes=("circle",), input_size=(3, size, size))
        with pytest.raises(ValueError, match=f"unknown architecture '{arch}'"):
            save_checkpoint(tmp_path / f"{arch}.pt", model, meta)  # not a classifier: the detectors' registry
        loaded, _ = load_checkpoint(save_checkpoint(tmp_path / f"{arch}.pt", model, meta, architectures=DETECTORS),
                                    architectures=DETECTORS)
        x = torch.randn(1, 3, size, size)
        out, ref = loaded(x), model.eval()(x)
        for a, b in zip(out if isinstance(out, tuple) else (out,), ref if isinstance(ref, tuple) else (ref,)):
            assert torch.allclose(a, b, atol=1e-6)
    from course_utils.models import AirbenchConfig, AirbenchNet

    cfg = AirbenchConfig(widths=(8, 8, 16))
    net = AirbenchNet(cfg).whiten_(torch.randn(20, 3, 32, 32))  # the frozen whitening filters are weights too
    meta = CheckpointMeta(arch="airbench_cifar", config=config_to_dict(cfg), mean=(0.5,) * 3, std=(0.25,) * 3,
                          classes=tuple("abcdefghij"), input_size=(3, 32, 32))
    loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "airbench.pt", net, meta))
    assert torch.equal(loaded.whitening.weight, net.whitening.weight)
    assert not loaded.whitening.weight.requires_grad  # still frozen after loading
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(loaded(x), net.eval()(x), atol=1e-6)
    assert {"fast_cifar", "airbench_cifar", "tanh_cnn", "fully_connected_cifar", "large_kernel_mnist", "compact_mnist",
            "design_cifar"} == set(ARCHITECTURES) and set(DETECTORS) == {"yolo_v2", "small_ssd"}


def test_checkpoint_path_names_the_profile(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    assert checkpoint_path("fast_cifar").name == "fast_cifar-cpu.pt"
    assert checkpoint_path("yolo_v2", "gpu").parent.name == "checkpoints"
    for bad in ("", "../x", "a b"):
        with pytest.raises(ValueError, match="letters, digits and underscores"):
            checkpoint_path(bad)
