"""course_utils.classification.run: the fast recipe end to end, its cached model, the cifar benchmark."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from course_utils import bench
from course_utils.checkpoint import checkpoint_path, config_to_dict
from course_utils.classification import CifarFastRecipe, CifarFastRun, run_cifar_fast, trained_cifar_model
from course_utils.classification import run as run_module
from course_utils.models import AirbenchConfig, AirbenchNet, FastCifarConfig

TINY = CifarFastRecipe(config=FastCifarConfig(stem=4, widths=(8, 8, 8)), epochs=1, bench_epochs=1, batch_size=4,
                       lr=0.05)


def _profile_is(monkeypatch, recipe):
    monkeypatch.setattr(CifarFastRecipe, "PROFILES", {"cpu": recipe.as_dict() | {"config": recipe.config}, "gpu": {}})


def test_trained_model_is_cached_and_reloaded(fake_mirror, monkeypatch):
    _profile_is(monkeypatch, TINY)
    model, meta = trained_cifar_model(profile="cpu")
    assert checkpoint_path("fast_cifar", "cpu").is_file()
    assert meta.arch == "fast_cifar" and meta.profile == "cpu" and len(meta.classes) == 10
    assert {"test_accuracy", "test_accuracy_tta", "train_seconds"} <= set(meta.metrics)
    assert meta.config == config_to_dict(TINY.config)

    def no_training(*args, **kwargs):
        raise AssertionError("trained again although a checkpoint is cached")

    monkeypatch.setattr(run_module, "train_cifar_fast", no_training)
    again, meta2 = trained_cifar_model(profile="cpu")
    assert meta2.created == meta.created
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(model.eval()(x), again(x), atol=1e-5)
    with pytest.raises(AssertionError, match="trained again"):
        trained_cifar_model(profile="cpu", retrain=True)


def test_a_checkpoint_of_another_recipe_is_replaced(fake_mirror, monkeypatch):
    trained_cifar_model(TINY, profile="cpu")  # cached by an older recipe: one epoch
    _profile_is(monkeypatch, TINY.replace(epochs=2))
    _, meta = trained_cifar_model(profile="cpu")
    assert meta.metrics["epochs"] == 2
    _profile_is(monkeypatch, TINY.replace(epochs=2, config=AirbenchConfig(widths=(8, 8, 8))))
    model, meta = trained_cifar_model(profile="cpu")  # another architecture
    assert meta.arch == "airbench_cifar" and isinstance(model, AirbenchNet)

def test_run_cifar_fast_returns_what_it_trained(fake_mirror):
    run = run_cifar_fast(TINY, device="cpu", progress=False)
    assert isinstance(run, CifarFastRun) and run.recipe is TINY and run.history.epochs == 1
    assert run.model.cfg == TINY.config and len(run.train) == 20 and run.mean.shape == (3,)
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.scores = {}

def test_bench_cifar_record(fake_mirror, monkeypatch):
    _profile_is(monkeypatch, TINY)
    record = bench.run("cifar")
    assert record["task"] == "cifar" and record["epochs"] == 1 and record["recipe"]["bench_epochs"] == 1
    assert {"test_accuracy_tta", "parameters", "seconds", "precision", "data_source"} <= record.keys()
    assert record["precision"] in ("bfloat16", "float32")  # on a CPU: bf16 units or not
    assert record["data_source"].startswith("JPEG mirror")


def test_bench_cifar_ablation_record(fake_mirror, monkeypatch):
    _profile_is(monkeypatch, TINY.replace(config=AirbenchConfig(widths=(8, 8, 8))))
    first_edition = ("first edition", {"config": TINY.config, "flip": "random", "lookahead": False})
    monkeypatch.setattr(bench, "CIFAR_ABLATION", (first_edition, *bench.CIFAR_ABLATION[1:]))  # 20 images: batch 4
    record = bench.run("cifar-ablation")
    assert [r["row"] for r in record["rows"]][1:] == [name for name, _ in bench.CIFAR_ABLATION[1:]]
    assert all({"test_accuracy", "test_accuracy_tta", "test_accuracy_tta6", "seconds"} <= r.keys()
               for r in record["rows"])
    assert record["rows"][0]["parameters"] != record["rows"][1]["parameters"]  # another network
    formats = {(t["precision"], t["memory_format"]) for t in record["throughput"]}
    assert ("float32", "NCHW") in formats and ("float32", "channels_last") in formats
    assert all(t["images_per_second"] > 0 for t in record["throughput"])
