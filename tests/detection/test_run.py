"""course_utils.detection.run and .recipe: both detectors end to end, the cached YOLOv2, the benchmarks."""

from __future__ import annotations

import pytest
import torch

from course_utils import bench
from course_utils.checkpoint import checkpoint_path, load_checkpoint
from course_utils.data.shapes import SHAPES, shapes_split
from course_utils.detection import run as run_module
from course_utils.detection.recipe import DetectorRecipe
from course_utils.detection.run import DETECTORS, DetectorRun, run_ssd_shapes, run_yolo_shapes, trained_yolo_model
from course_utils.detection.ssd import SSDConfig
from course_utils.detection.train import scenes_to_data
from course_utils.detection.yolo import YoloConfig

TINY = DetectorRecipe(n_train=16, epochs=1, batch_size=8, lr=1e-3, n_test=8)
TINY_YOLO, TINY_SSD = YoloConfig(widths=(4, 8, 8, 8)), SSDConfig(widths=(4, 8, 8, 8))


def test_recipe_presets_and_checks():
    assert DetectorRecipe.yolo("cpu").epochs == 7 and DetectorRecipe.ssd("cpu").epochs == 6
    assert DetectorRecipe.ssd("gpu") == DetectorRecipe.yolo("gpu").replace(epochs=30)
    with pytest.raises(TypeError, match=r"no field\(s\) \['n_trian'\]"):
        DetectorRecipe.yolo("cpu", n_trian=10)
    with pytest.raises(ValueError, match="n_test must be a positive number"):
        DetectorRecipe(n_test=0)


def test_run_yolo_and_ssd_return_their_measurements():
    yolo = run_yolo_shapes(TINY, config=TINY_YOLO, device="cpu", progress=False)
    assert isinstance(yolo, DetectorRun) and yolo.config == TINY_YOLO and yolo.recipe is TINY
    assert yolo.history.epochs == 1 and len(yolo.test) == 8 and 0.0 <= yolo.metrics["map"] <= 1.0
    assert yolo.metrics["ms_per_image"] > 0 and set(yolo.history.parts[0]) == {"xy", "wh", "obj", "noobj", "cls"}
    train = scenes_to_data(shapes_split("train", 16, 64))
    ssd = run_ssd_shapes(TINY, config=TINY_SSD, device="cpu", progress=False, train=train)
    assert ssd.history.epochs == 1 and 0.0 <= ssd.metrics["map"] <= 1.0
    with pytest.raises(ValueError, match="n_train=32"):
        run_ssd_shapes(TINY.replace(n_train=32), config=TINY_SSD, device="cpu", progress=False, train=train)


def test_cached_yolo_goes_through_the_checkpoint_format(monkeypatch):
    monkeypatch.setattr(DetectorRecipe, "PROFILES", {"cpu": TINY.as_dict(), "gpu": {}})
    real_run = run_module.run_yolo_shapes
    monkeypatch.setattr(run_module, "run_yolo_shapes", lambda **kw: real_run(config=TINY_YOLO, **kw))
    model, cfg, meta = trained_yolo_model(profile="cpu", progress=False)
    assert cfg == TINY_YOLO and meta.arch == "yolo_v2" and meta.classes == SHAPES
    assert meta.metrics["epochs"] == 1 and meta.metrics["history"]["train_loss"]
    reloaded, _ = load_checkpoint(checkpoint_path("yolo_v2", "cpu"), architectures=DETECTORS)  # a course checkpoint

    def no_training(**kwargs):
        raise AssertionError("trained again although a checkpoint is cached")

    monkeypatch.setattr(run_module, "run_yolo_shapes", no_training)
    again, cfg2, meta2 = trained_yolo_model(profile="cpu")
    assert cfg2 == cfg and meta2.metrics == meta.metrics
    x = torch.randn(1, 3, 64, 64)
    assert torch.allclose(model(x), again(x), atol=1e-5) and torch.allclose(model(x), reloaded(x), atol=1e-5)


@pytest.mark.parametrize("task", ["yolo", "ssd"])
def test_bench_detector_records(monkeypatch, task):
    monkeypatch.setattr(DetectorRecipe, task, classmethod(lambda cls, profile=None: TINY))
    monkeypatch.setattr(bench, f"run_{task}_shapes", lambda recipe, progress: {
        "yolo": run_yolo_shapes, "ssd": run_ssd_shapes}[task](recipe, config={"yolo": TINY_YOLO, "ssd": TINY_SSD}[task],
                                                              progress=progress))
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    record = bench.run(task)
    assert record["task"] == task and record["epochs"] == 1 and record["test_images"] == 8
    assert 0.0 <= record["value"] <= 1.0 and set(record["ap_per_class"]) <= set(SHAPES)
    assert {"parameters", "seconds", "inference_ms_per_image", "device", "profile"} <= record.keys()
    assert record["recipe"] == TINY.as_dict()
