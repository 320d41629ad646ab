"""Benchmarks: ``python -m course_utils.bench <task>`` prints one JSON line.

Speed and accuracy are measured here, never by timed tests. Each line carries
the metric, the seconds, the device, the profile and the machine, so a number
quoted in a chapter or a note can be reproduced.

Tasks:
    data-cifar10   decode the CIFAR-10 mirror from scratch (empty cache), then load it cached
    data-mnist     load MNIST train and test
    channel-stats  per-channel mean/std over the CIFAR-10 training set
    cifar          the fast CIFAR-10 recipe on the active profile (cpu: 5 epochs of a 0.39 M-parameter
                   net, about 120 s on 2 cores, where the chapter trains 2; gpu: a ResNet-9-like net, 16 epochs); accuracy with
                   and without test-time flips, on all 10,000 test images
    yolo           train the small YOLOv2 on the shapes world (cpu: 6,000 scenes, 7 epochs; gpu:
                   20,000 and 30); VOC mAP@0.5 and COCO mAP@[.5:.95] and @0.75, per-class AP on the
                   test split, inference ms/image
    ssd            train the small SSD on the shapes world (cpu: 6,000 scenes, 6 epochs; gpu: 20,000
                   and 30); the same measurements as yolo
    mnist          train the compact MNIST network (fewer than 20,000 parameters) on the
                   active profile: cpu 3 epochs, gpu 15; test accuracy on all 10,000 test images
    nms            the teaching NMS against torchvision.ops.nms, side by side in one run, on 100, 1,000,
                   2,000 and 10,000 boxes, scattered and clustered; milliseconds and the ratio (value: the
                   ratio on 2,000 scattered boxes)
    vlm            the multimodal LLM's offline recipe, stages 0-2 and the baselines (cpu: 3,000 scenes);
                   held-out question-answering exact match by type, baselines, parameters per part,
                   seconds per stage
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from . import runtime
from .classification import CifarFastRecipe, MnistRecipe, run_cifar_fast, train_mnist
from .data import CACHE_DIR_ENV, DatasetNotFoundError, channel_mean_std, load_dataset
from .data.shapes import SHAPES
from .detection.nms_speed import time_nms
from .detection.recipe import DetectorRecipe
from .detection.run import run_ssd_shapes, run_yolo_shapes
from .models import CompactMNIST, count_parameters
from .vlm.probe import patch_probe
from .vlm.run import run_vlm


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench_data_cifar10() -> dict[str, Any]:
    old = os.environ.get(CACHE_DIR_ENV)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ[CACHE_DIR_ENV] = tmp  # cold: nothing decoded yet
        try:
            train, cold = _timed(lambda: load_dataset("cifar10", "train"))
            _, warm = _timed(lambda: load_dataset("cifar10", "train"))
        finally:
            if old is None:
                os.environ.pop(CACHE_DIR_ENV, None)
            else:
                os.environ[CACHE_DIR_ENV] = old
    return {"metric": "decode_seconds", "value": round(cold, 2), "seconds": round(cold, 2),
            "cached_load_seconds": round(warm, 3), "images": len(train), "source": train.source}


def bench_data_mnist() -> dict[str, Any]:
    (train, test), secs = _timed(lambda: (load_dataset("mnist", "train"), load_dataset("mnist", "test")))
    return {"metric": "load_seconds", "value": round(secs, 3), "seconds": round(secs, 3),
            "images": len(train) + len(test), "source": train.source}


def bench_channel_stats() -> dict[str, Any]:
    train = load_dataset("cifar10", "train")
    (mean, std), secs = _timed(lambda: channel_mean_std(train.images))
    return {"metric": "cifar10_train_mean_std", "value": [[round(v, 4) for v in mean.tolist()],
            [round(v, 4) for v in std.tolist()]], "seconds": round(secs, 3)}


def bench_mnist() -> dict[str, Any]:
    recipe = MnistRecipe.for_profile()
    runtime.seed_everything(recipe.seed)  # the initial weights too, so a rerun gives the same figure
    model = CompactMNIST()
    history = train_mnist(model, recipe, device=runtime.get_device(), progress=False)
    return {"metric": "test_accuracy", "value": round(history.val_acc[-1], 4),
            "best_test_accuracy": round(max(history.val_acc), 4), "parameters": count_parameters(model),
            "seconds": round(history.train_seconds, 1), "epochs": recipe.epochs, "recipe": recipe.as_dict()}


def bench_cifar() -> dict[str, Any]:
    base = CifarFastRecipe.for_profile()
    recipe = base.replace(epochs=base.bench_epochs)  # the most the 150 s budget allows; the chapter trains fewer
    run = run_cifar_fast(recipe, progress=False)
    source = load_dataset("cifar10", "test").source
    return {"metric": "test_accuracy", "value": round(run.scores["test_accuracy"], 4),
            "test_accuracy_tta": round(run.scores["test_accuracy_tta"], 4), "parameters": count_parameters(run.model),
            "seconds": round(run.history.train_seconds, 1), "epochs": run.history.epochs,
            "precision": run.precision.name, "recipe": recipe.as_dict(),
            "data_source": "torchvision original" if source == "download" or source.endswith("batches-py")
            else f"JPEG mirror ({source})"}


def _bench_detector(name: str) -> dict[str, Any]:
    recipe = {"yolo": DetectorRecipe.yolo, "ssd": DetectorRecipe.ssd}[name]()
    run = {"yolo": run_yolo_shapes, "ssd": run_ssd_shapes}[name](recipe, progress=False)
    return {"metric": "map@0.5", "value": round(run.metrics["map"], 4),
            "map@[.5:.95]": round(run.metrics["map_50_95"], 4), "map@0.75": round(run.metrics["map_75"], 4),
            "ap_per_class": {SHAPES[c]: round(v, 4) for c, v in run.metrics["ap"].items()},
            "ap@[.5:.95]_per_class": {SHAPES[c]: round(v, 4) for c, v in run.metrics["ap_50_95"].items()},
            "parameters": count_parameters(run.model), "seconds": round(run.history.train_seconds, 1),
            "epochs": run.history.epochs, "test_images": len(run.test),
            "inference_ms_per_image": round(run.metrics["ms_per_image"], 2), "recipe": recipe.as_dict()}


def bench_yolo() -> dict[str, Any]:
    return _bench_detector("yolo")


def bench_ssd() -> dict[str, Any]:
    return _bench_detector("ssd")


def bench_nms() -> dict[str, Any]:
    rows, secs = _timed(lambda: time_nms(repeats=7))
    if not all(r.equal for r in rows):
        raise RuntimeError("the teaching NMS disagreed with torchvision's on a timing set")
    headline = next(r for r in rows if r.boxes == 2_000 and r.kind == "uniform")
    return {"metric": "slowdown_vs_torchvision_2000_uniform", "value": round(headline.ratio, 2),
            "rows": [{"boxes": r.boxes, "kind": r.kind, "kept": r.kept, "ours_ms": round(r.ours_ms, 3),
                      "torchvision_ms": round(r.torchvision_ms, 3), "ratio": round(r.ratio, 2)} for r in rows],
            "iou_threshold": 0.45, "repeats": 7, "statistic": "median", "seconds": round(secs, 1)}


def bench_vlm() -> dict[str, Any]:
    run = run_vlm(progress=False)
    m = run.metrics
    grid = run.cfg.image_size // run.cfg.patch_size
    probe = {a: round(patch_probe(run.train_features, run.train_scenes, run.test_features,
                                  run.test_scenes, a, grid)["own"], 4) for a in ("colour", "shape")}
    pick = lambda r: {"accuracy": round(r["accuracy"], 4), "by_type": r["by_type"]}  # noqa: E731
    return {"metric": "qa_exact_match", "value": round(m["qa"]["accuracy"], 4), "by_type": m["qa"]["by_type"],
            "held_out_combos": m["qa"]["held_out"], "test_questions": m["qa"]["n"],
            "by_objects": {str(n): pick(r) for n, r in m["qa_by_objects"].items()},
            "lm_reading_captions": {"accuracy": round(m["lm_reading"]["accuracy"], 4),
                                    "by_objects": {str(n): pick(r) for n, r in m["lm_reading_by_objects"].items()}},
            "baselines": {"text_only": pick(m["text_only"]), "no_stage1": pick(m["no_stage1"]),
                          "majority": pick(m["majority"])},
            "stage1_caption_attributes": m["stage1_caption_attributes"],
            "stage2_describe_attributes": m["stage2_describe_attributes"],
            "clip_grounding": run.recipe.clip_grounding, "patch_probe_own_object": probe,
            "stage2_tuning": run.recipe.stage2_tuning,
            "parameters": m["parameters"], "seconds_per_stage": m["seconds"],
            "seconds": round(sum(m["seconds"].values()), 1), "recipe": run.recipe.as_dict()}


TASKS: dict[str, Callable[[], dict[str, Any]]] = {
    "vlm": bench_vlm,
    "cifar": bench_cifar,
    "yolo": bench_yolo,
    "ssd": bench_ssd,
    "mnist": bench_mnist,
    "nms": bench_nms,
    "data-cifar10": bench_data_cifar10,
    "data-mnist": bench_data_mnist,
    "channel-stats": bench_channel_stats,
}


def run(task: str) -> dict[str, Any]:
    """Run one benchmark task and return its JSON-ready record.

    Raises:
        ValueError: an unknown task (the message lists them), or the task's data or settings are bad.
        DatasetNotFoundError: the task's data is neither in the mirror nor downloadable.
    """
    if task not in TASKS:
        raise ValueError(f"unknown benchmark task {task!r}; valid tasks: {sorted(TASKS)}")
    record = {"task": task, **TASKS[task]()}
    record.update(device=str(runtime.get_device()), profile=runtime.get_profile(),
                  machine=f"{platform.machine()}, {os.cpu_count()} cores", torch=__import__("torch").__version__)
    return record


def main(argv: list[str] | None = None) -> int:
    """The CLI: runs one task and prints its JSON record; returns the exit status.

    Raises:
        SystemExit: status 2 from argparse for an unknown task. Missing data or bad settings do not
            raise: ``main`` prints one line and returns 2 (1 for a bug), never a traceback.
    """
    parser = argparse.ArgumentParser(prog="python -m course_utils.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=sorted(TASKS), help="what to measure")
    args = parser.parse_args(argv)
    try:
        record = run(args.task)
    except (DatasetNotFoundError, FileNotFoundError, ValueError, TypeError) as err:  # missing data, bad settings
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # a bug, not bad input: still one line, never a traceback (exit 1)
        print(f"error: unexpected {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
