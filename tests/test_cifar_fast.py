"""The fast CIFAR-10 network and recipe, the cached trained model, and the cifar benchmark (fake mirror)."""

from __future__ import annotations

import pytest
import torch

from course_utils import bench, recipes
from course_utils.models import FastCifarConfig, FastCifarNet, count_parameters
from course_utils.models.cifar_fast import RESNET9_LIKE
from course_utils.runtime import Precision

TINY = {"config": FastCifarConfig(stem=4, widths=(8, 8, 8)), "epochs": 1, "batch_size": 4, "lr": 0.05}


def test_fast_net_shapes_and_sizes():
    net = FastCifarNet()
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert count_parameters(net) == 391_456 and count_parameters(FastCifarNet(RESNET9_LIKE)) == 6_573_120
    assert FastCifarNet(widths=(8, 16, 32), stem=4).cfg.widths == (8, 16, 32)  # keyword overrides
    with pytest.raises(ValueError, match=r"expects Tensor\[B, 3, H, W\]"):
        net(torch.randn(2, 1, 32, 32))


def test_recipe_runs_and_reports_both_accuracies(fake_mirror):
    history, scores = recipes.train_cifar_fast(FastCifarNet(TINY["config"]), epochs=2, batch_size=4,
                                               lr=0.05, progress=False)
    assert history.epochs == 2 and set(scores) == {"test_accuracy", "test_accuracy_tta"}
    assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_recipe_with_channels_last_and_bf16(fake_mirror):
    bf16 = Precision(torch.bfloat16, False, "test")
    _, scores = recipes.train_cifar_fast(FastCifarNet(TINY["config"]), epochs=1, batch_size=4,
                                         channels_last=True, precision=bf16, progress=False)
    assert 0.0 <= scores["test_accuracy"] <= 1.0


def test_trained_model_is_cached_and_reloaded(fake_mirror, monkeypatch):
    model, meta = recipes.trained_cifar_model(profile="cpu", **TINY)
    assert recipes.cifar_checkpoint_path("cpu").is_file()
    assert meta.arch == "fast_cifar" and meta.profile == "cpu" and len(meta.classes) == 10
    assert {"test_accuracy", "test_accuracy_tta", "train_seconds"} <= set(meta.metrics)

    def no_training(*args, **kwargs):
        raise AssertionError("trained again although a checkpoint is cached")

    monkeypatch.setattr(recipes, "train_cifar_fast", no_training)
    again, meta2 = recipes.trained_cifar_model(profile="cpu")
    assert meta2.created == meta.created
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(model.eval()(x), again(x), atol=1e-5)
    with pytest.raises(AssertionError, match="trained again"):
        recipes.trained_cifar_model(profile="cpu", retrain=True)


def test_settings_per_profile():
    cpu = recipes.cifar_fast_settings("cpu")
    assert cpu["epochs"] == 2 and cpu["bench_epochs"] == 5  # the chapter's budget, the benchmark's
    assert recipes.cifar_fast_settings("gpu")["config"] == RESNET9_LIKE


def test_bench_cifar_record(fake_mirror, monkeypatch):
    monkeypatch.setattr(recipes, "cifar_fast_settings", lambda profile=None: dict(TINY))
    record = bench.run("cifar")
    assert record["task"] == "cifar" and record["epochs"] == 1
    assert {"test_accuracy_tta", "parameters", "seconds", "precision", "data_source"} <= record.keys()
    assert record["precision"] in ("bfloat16", "float32")  # on a CPU: bf16 units or not
    assert record["data_source"].startswith("JPEG mirror")
