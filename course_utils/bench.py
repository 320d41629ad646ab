"""Benchmarks: ``python -m course_utils.bench <task>`` prints one JSON line.

Speed and accuracy are measured here, never by timed tests. Each line carries
the metric, the seconds, the device, the profile and the machine, so a number
quoted in a chapter or a note can be reproduced.

Tasks:
    data-cifar10   decode the CIFAR-10 mirror from scratch (empty cache), then load it cached
    data-mnist     load MNIST train and test
    channel-stats  per-channel mean/std over the CIFAR-10 training set
    cifar          the fast CIFAR-10 recipe on the active profile (cpu: 5 epochs of a 0.29 M-parameter
                   airbench-style net, about 150 s on 2 cores, where the chapter trains 2; gpu: airbench94's
                   widths, 10 epochs); accuracy with one view, with flips, and with airbench's six views,
                   on all 10,000 test images
    cifar-ablation the fast recipe's ideas one at a time, each trained for the bench's epochs in one run
                   (the first edition's net and loop, then the airbench net with a learned first layer,
                   + patch whitening, + alternating flips, + lookahead), and the training throughput of
                   float32/bfloat16 by NCHW/channels_last
    yolo           train the small YOLOv2 on the shapes world (cpu: 6,000 scenes, 7 epochs; gpu:
                   20,000 and 30); VOC mAP@0.5 and COCO mAP@[.5:.95] and @0.75, per-class AP on the
                   test split, inference ms/image
    ssd            train the small SSD on the shapes world (cpu: 6,000 scenes, 6 epochs; gpu: 20,000
                   and 30); the same measurements as yolo
    mnist          train the compact MNIST network (fewer than 20,000 parameters) on the
                   active profile: cpu 3 epochs, gpu 15; test accuracy on all 10,000 test images
    article-mnist  the ML & AI page's first MNIST network with its recipe (Adam 1e-3, batch 32): gpu
                   profile the page's 10 epochs on 60,000 images, cpu chapter 4's 1 epoch on 20,000;
                   test accuracy against the page's 98.41%
    article-cifar3 the CIFAR tutorial's tanh CNN on CIFAR-3 with its whole recipe on every profile
                   (100 epochs of plain SGD, lr 1e-2, batch 64), measured its way: accuracy of the
                   finished network, in eval mode, on the training set and on the validation (test)
                   set, against its 0.9295 and 0.8713 (about 7 minutes on 2 cores)
    nms            the teaching NMS against torchvision.ops.nms, side by side in one run, on 100, 1,000,
                   2,000 and 10,000 boxes, scattered and clustered; milliseconds and the ratio (value: the
                   ratio on 2,000 scattered boxes)
    vlm            the multimodal LLM's offline recipe, stages 0-2 and the baselines (cpu: 3,000 scenes);
                   held-out question-answering exact match by type, baselines, parameters per part,
                   seconds per stage
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch

from . import runtime
from .classification import CifarFastRecipe, CifarRecipe, MnistRecipe, run_cifar_fast, train_cifar, train_mnist
from .data import CACHE_DIR_ENV, BatchLoader, DatasetNotFoundError, channel_mean_std, load_dataset
from .data.shapes import SHAPES
from .detection.nms_speed import time_nms
from .detection.recipe import DetectorRecipe
from .detection.run import run_ssd_shapes, run_yolo_shapes
from .models import (
    AIRBENCH_CPU,
    AirbenchConfig,
    AirbenchNet,
    CompactMNIST,
    FastCifarConfig,
    count_parameters,
    large_kernel_mnist,
    tanh_cnn,
)
from .training import evaluate
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


ARTICLE_MNIST_ACCURACY = 0.9841
"""The ML & AI course page's test accuracy for its first MNIST network, after 10 epochs."""

ARTICLE_CIFAR3 = {"train_accuracy": 0.9295, "val_accuracy": 0.8713}
"""What "Images from the Convolutional World" reports for its CNN on CIFAR-3 after 100 epochs."""

CIFAR3 = ("airplane", "automobile", "ship")


def bench_article_mnist() -> dict[str, Any]:
    recipe = MnistRecipe.first_network()
    runtime.seed_everything(recipe.seed)
    model = large_kernel_mnist()
    history = train_mnist(model, recipe, device=runtime.get_device(), progress=False)
    acc = history.val_acc[-1]
    return {"metric": "test_accuracy", "value": round(acc, 4), "article": ARTICLE_MNIST_ACCURACY,
            "gap": round(acc - ARTICLE_MNIST_ACCURACY, 4), "parameters": count_parameters(model),
            "seconds": round(history.train_seconds, 1), "epochs": recipe.epochs, "recipe": recipe.as_dict()}


def bench_article_cifar3() -> dict[str, Any]:
    recipe = CifarRecipe.tanh_cnn(profile="gpu")  # the tutorial's whole recipe, whatever the profile
    train3 = load_dataset("cifar10", "train").keep_classes(list(CIFAR3))
    test3 = load_dataset("cifar10", "test").keep_classes(list(CIFAR3))
    device = runtime.get_device()
    runtime.seed_everything(recipe.seed)
    model = tanh_cnn(num_classes=3)
    mean, std = channel_mean_std(train3.images)
    history = train_cifar(model, train3, test3, recipe, mean=mean, std=std, device=device, progress=False)
    _, train_acc = evaluate(model, BatchLoader(train3, 1000, mean=mean, std=std, device=device))
    val_acc = history.val_acc[-1]
    return {"metric": "val_accuracy", "value": round(val_acc, 4), "train_accuracy_eval": round(train_acc, 4),
            "train_accuracy_running": round(history.train_acc[-1], 4), "article": ARTICLE_CIFAR3,
            "gap": {"train_accuracy": round(train_acc - ARTICLE_CIFAR3["train_accuracy"], 4),
                    "val_accuracy": round(val_acc - ARTICLE_CIFAR3["val_accuracy"], 4)},
            "val_accuracy_by_epoch": [round(a, 4) for a in history.val_acc],
            "parameters": count_parameters(model), "seconds": round(history.train_seconds, 1),
            "epochs": recipe.epochs, "recipe": recipe.as_dict(), "data_source": _cifar_source()}


def _cifar_source() -> str:
    source = load_dataset("cifar10", "test").source
    return ("torchvision original" if source == "download" or source.endswith("batches-py")
            else f"JPEG mirror ({source})")


def _cifar_row(recipe: CifarFastRecipe) -> dict[str, Any]:
    run = run_cifar_fast(recipe, progress=False)
    return {**{k: round(v, 4) for k, v in run.scores.items()}, "parameters": count_parameters(run.model),
            "seconds": round(run.history.train_seconds, 1), "epochs": run.history.epochs,
            "precision": run.precision.name}


def bench_cifar() -> dict[str, Any]:
    base = CifarFastRecipe.for_profile()
    recipe = base.replace(epochs=base.bench_epochs)  # the most the 150 s budget allows; the chapter trains fewer
    row = _cifar_row(recipe)
    return {"metric": "test_accuracy", "value": row["test_accuracy"], **row, "recipe": recipe.as_dict(),
            "data_source": _cifar_source()}


CIFAR_ABLATION = (
    ("first edition: ResNet-9-style net, random flips, batch 256, lr 0.2",
     {"config": FastCifarConfig(), "batch_size": 256, "lr": 0.2, "flip": "random", "lookahead": False}),
    ("airbench-style net, learned first layer, random flips", {"whiten": False, "flip": "random", "lookahead": False}),
    ("+ patch-whitening first layer (frozen)", {"flip": "random", "lookahead": False}),
    ("+ alternating flips, reflect-padded shifts", {"lookahead": False}),
    ("+ lookahead (the recipe)", {}),
)
"""``bench cifar-ablation``'s rows: a name and the changes to the profile's fast recipe."""


def _cifar_throughput(config: AirbenchConfig, batch_size: int = 512, steps: int = 6) -> list[dict[str, Any]]:
    """Training images per second of :class:`AirbenchNet` in float32/bfloat16 by NCHW/channels_last.

    Random inputs, SGD with Nesterov momentum, ``steps`` timed steps after two warm-up steps,
    on the active device. bfloat16 rows only where :func:`runtime.training_precision` offers it.
    """
    device = torch.device(runtime.get_device())

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    rows = []
    precisions = [runtime.FLOAT32] + [p for p in [runtime.training_precision(device)] if p.mixed]
    for precision in precisions:
        for channels_last in (False, True):
            torch.manual_seed(0)
            model = AirbenchNet(config).to(device)
            fmt = torch.channels_last if channels_last else torch.contiguous_format
            model = model.to(memory_format=fmt)
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
            x = torch.randn(batch_size, 3, 32, 32, device=device).contiguous(memory_format=fmt)
            y = torch.randint(0, config.num_classes, (batch_size,), device=device)

            def step() -> None:
                with precision.autocast(device.type):
                    loss = torch.nn.functional.cross_entropy(model(x).float(), y)
                opt.zero_grad()
                loss.backward()
                opt.step()

            for _ in range(2):
                step()
            sync()
            start = time.perf_counter()
            for _ in range(steps):
                step()
            sync()
            secs = time.perf_counter() - start
            rows.append({"precision": precision.name, "memory_format": "channels_last" if channels_last else "NCHW",
                         "images_per_second": round(steps * batch_size / secs)})
    return rows


def bench_cifar_ablation() -> dict[str, Any]:
    base = CifarFastRecipe.for_profile()
    base = base.replace(epochs=base.bench_epochs)
    rows = [{"row": name, **_cifar_row(base.replace(**changes))} for name, changes in CIFAR_ABLATION]
    final = rows[-1]
    return {"metric": "test_accuracy", "value": final["test_accuracy"], "rows": rows,
            "throughput": _cifar_throughput(base.config if isinstance(base.config, AirbenchConfig) else AIRBENCH_CPU,
                                            base.batch_size),
            "seconds": round(sum(r["seconds"] for r in rows), 1), "recipe": base.as_dict(),
            "data_source": _cifar_source()}


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
    "cifar-ablation": bench_cifar_ablation,
    "yolo": bench_yolo,
    "ssd": bench_ssd,
    "mnist": bench_mnist,
    "article-mnist": bench_article_mnist,
    "article-cifar3": bench_article_cifar3,
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
                  machine=f"{platform.machine()}, {os.cpu_count()} cores", torch=torch.__version__,
                  python=platform.python_version(), commit=_commit(),
                  measured_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    return record


def _commit() -> str:
    """The checkout's commit (``+dirty`` if the package's code has uncommitted changes), or ``"unknown"`` outside git."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "."], cwd=here,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    """The CLI: runs one task and prints its JSON record; returns the exit status.

    Raises:
        SystemExit: status 2 from argparse for an unknown task. Missing data or bad settings do not
            raise: ``main`` prints one line and returns 2 (1 for a bug), never a traceback.
    """
    parser = argparse.ArgumentParser(prog="python -m course_utils.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=sorted(TASKS), help="what to measure")
    parser.add_argument("--save", action="store_true",
                        help="also write the record to the package's results/<task>.json, where chapters read it")
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
    if args.save:
        path = runtime.results_path(args.task)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(record, indent=1) + "\n")
        except OSError as err:  # the measurement is printed above; say why it was not saved
            print(f"error: could not save the record to {path}: {err}", file=sys.stderr)
            return 2
        print(f"saved to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
