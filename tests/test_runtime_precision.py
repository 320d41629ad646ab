"""runtime.training_precision: one helper picks every recipe's training precision by device.

The CUDA branches are tested with the device's compute capability mocked, so they run on any
machine: a T4 (7.5) must get float16 with a GradScaler, never the emulated bfloat16 that
``torch.cuda.is_bf16_supported()`` reports by default.
"""

from __future__ import annotations

import pytest
import torch

from course_utils import runtime
from course_utils.classification import CifarFastRecipe
from course_utils.classification import run as classification_run
from course_utils.classification import train_cifar_fast
from course_utils.detection import run as detection_run
from course_utils.detection.recipe import DetectorRecipe
from course_utils.training import History
from course_utils.runtime import FLOAT32, Precision, training_precision

GPUS = [("Tesla T4", (7, 5)), ("Tesla V100-SXM2-16GB", (7, 0)), ("NVIDIA A100-SXM4-40GB", (8, 0)),
        ("NVIDIA L4", (8, 9)), ("NVIDIA H100 80GB HBM3", (9, 0))]


@pytest.fixture
def fake_gpu(monkeypatch):
    """Make torch report a CUDA GPU of the given name and compute capability."""

    def install(name: str, capability: tuple[int, int]) -> None:
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)

    return install


@pytest.mark.parametrize("name, capability", GPUS, ids=[g[0].split()[1] for g in GPUS])
def test_cuda_gets_bf16_only_from_compute_capability_8(fake_gpu, name, capability):
    fake_gpu(name, capability)
    p = training_precision("cuda")
    if capability >= (8, 0):
        assert (p.dtype, p.grad_scaler, p.name) == (torch.bfloat16, False, "bfloat16")
    else:  # T4, V100: is_bf16_supported() says True (emulation), but float16 + GradScaler is what pays
        assert (p.dtype, p.grad_scaler, p.name) == (torch.float16, True, "float16+GradScaler")
    assert name in p.reason and f"{capability[0]}.{capability[1]}" in p.reason


@pytest.mark.parametrize("has_bf16, dtype", [(True, torch.bfloat16), (False, None)])
def test_cpu_keeps_what_the_recipes_used(monkeypatch, has_bf16, dtype):
    monkeypatch.setattr(runtime, "_cpu_has_bf16", lambda: has_bf16)
    p = training_precision(torch.device("cpu"))
    assert p.dtype == dtype and not p.grad_scaler and p.mixed == has_bf16


def test_other_devices_train_in_float32_and_bad_names_raise():
    assert training_precision("mps").name == "float32"
    with pytest.raises(ValueError, match="device must be a torch.device or a name"):
        training_precision("tpu0")
    with pytest.raises(ValueError, match="device must be"):
        training_precision(3.5)


def test_precision_objects_give_autocast_and_scaler():
    fp16 = Precision(torch.float16, True, "test")
    assert fp16.scaler("cpu").is_enabled() and not FLOAT32.scaler("cpu").is_enabled()
    with fp16.autocast("cpu"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float16
    with FLOAT32.autocast("cpu"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    assert str(FLOAT32).startswith("float32 (")


def test_recipes_ask_the_helper_for_their_precision(fake_mirror, monkeypatch):
    """run_cifar_fast and the detectors train in whatever training_precision returns (a T4 here)."""
    seen = []
    t4 = Precision(torch.float16, True, "Tesla T4, compute capability 7.5")
    monkeypatch.setattr(classification_run, "training_precision", lambda device: t4)
    monkeypatch.setattr(detection_run, "training_precision", lambda device: t4)

    def fake_train(model, recipe, **kwargs):
        seen.append((kwargs["precision"], kwargs["channels_last"]))
        return History(), {"test_accuracy": 0.0, "test_accuracy_tta": 0.0}

    monkeypatch.setattr(classification_run, "train_cifar_fast", fake_train)
    run = classification_run.run_cifar_fast(CifarFastRecipe.for_profile("cpu", epochs=1), device="cpu", progress=False)
    assert run.precision is t4 and seen == [(t4, True)]

    def fake_detector_train(model, data, loss_fn, **kwargs):
        seen.append(kwargs["precision"])
        raise StopIteration  # stop before evaluation: only the argument matters here

    monkeypatch.setattr(detection_run, "train_detector", fake_detector_train)
    with pytest.raises(StopIteration):
        detection_run.run_yolo_shapes(DetectorRecipe(n_train=4, n_test=2, epochs=1), device="cpu", progress=False)
    assert seen[-1] is t4


def test_float16_with_grad_scaler_trains_the_cifar_recipe(fake_mirror, monkeypatch):
    """The T4 branch end to end, on the CPU: float16 autocast, the loss scaled, steps through the scaler."""
    from course_utils.models import FastCifarNet
    from course_utils.models.fast_resnet import FastCifarConfig

    steps = []
    real_step = torch.amp.GradScaler.step
    monkeypatch.setattr(torch.amp.GradScaler, "step",
                        lambda self, opt, *a, **k: steps.append(self.is_enabled()) or real_step(self, opt, *a, **k))
    history, scores = train_cifar_fast(
        FastCifarNet(FastCifarConfig(widths=(8, 16, 16))), CifarFastRecipe(epochs=1, batch_size=4),
        precision=Precision(torch.float16, True, "test"), channels_last=True, progress=False)
    assert steps and all(steps), "every optimiser step went through an enabled GradScaler"
    assert history.epochs == 1 and 0.0 <= scores["test_accuracy"] <= 1.0
    assert torch.isfinite(torch.tensor(history.train_loss)).all()


def test_float16_with_grad_scaler_trains_a_detector(monkeypatch):
    from course_utils.data.shapes import shapes_split
    from course_utils.detection.train import scenes_to_data, train_detector
    from course_utils.detection.yolo import YoloConfig, YoloV2, build_targets, yolo_loss

    cfg = YoloConfig(widths=(8, 16, 16, 32))
    net = YoloV2(cfg)
    data = scenes_to_data(shapes_split("train", 8, 64))
    anchors = torch.tensor(cfg.anchors)
    steps = []
    real_step = torch.amp.GradScaler.step
    monkeypatch.setattr(torch.amp.GradScaler, "step",
                        lambda self, opt, *a, **k: steps.append(self.is_enabled()) or real_step(self, opt, *a, **k))

    def loss_fn(raw, boxes, labels):
        return yolo_loss(raw, build_targets(boxes, labels, anchors, cfg.grid, cfg.stride), anchors, 64)

    history = train_detector(net, data, loss_fn, epochs=1, batch_size=4,
                             precision=Precision(torch.float16, True, "test"), progress=False)
    assert steps == [True, True] and all(torch.isfinite(torch.tensor(history.train_loss)))
    assert next(net.parameters()).dtype == torch.float32, "weights stay float32 under autocast"


@pytest.mark.parametrize("name, capability, dtype", [("Tesla T4", (7, 5), torch.float16),
                                                     ("NVIDIA A100-SXM4-40GB", (8, 0), torch.bfloat16)])
def test_full_recipe_loads_phi2_in_the_gpus_own_16_bit_type(fake_gpu, monkeypatch, name, capability, dtype):
    """4-bit phi-2 on a T4 computes in float16; bfloat16 (the paper's) only where it is native."""
    transformers = pytest.importorskip("transformers")
    from course_utils.vlm import language_model
    from course_utils.vlm.config import full_recipe_config

    fake_gpu(name, capability)
    loaded = {}

    class FakeLM:
        def resize_token_embeddings(self, n):
            loaded["rows"] = n

    def from_pretrained(lm_name, **kwargs):
        loaded.update(kwargs, name=lm_name)
        return FakeLM()

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", from_pretrained)
    language_model.build_lm(full_recipe_config(), tokenizer=[0] * 50_295)
    assert loaded["name"] == "microsoft/phi-2" and loaded["dtype"] == dtype and loaded["rows"] == 50_295
    assert loaded["quantization_config"].bnb_4bit_compute_dtype == dtype
    assert language_model.pretrained_dtype("cpu") in (torch.bfloat16, torch.float32)


def test_vlm_optimiser_step_scales_unscales_before_clipping_and_steps():
    from course_utils.vlm.train import optimiser_step

    class Bar:
        def update(self):
            pass

        def set_postfix(self, **kwargs):
            pass

    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = torch.optim.SGD([w], lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    scaler = Precision(torch.float16, True, "test").scaler("cpu")
    losses: list[float] = []
    optimiser_step((w * torch.tensor([300.0, 400.0])).sum(), opt, sched, losses, Bar(), clip_params=[w],
                   scaler=scaler)
    # the true gradient (300, 400) has norm 500: clipped to norm 1 it is (0.6, 0.8), so w moves by 0.1 of that
    assert torch.allclose(w.detach(), torch.tensor([1.0 - 0.06, -2.0 - 0.08]))
    assert scaler.get_scale() == 65536.0 * 1.0 and losses == [-500.0]
