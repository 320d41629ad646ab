"""Bad-input cases: the layer-0 to layer-2 helpers (conv, augment, attribution, checks, checkpoint,
receptive fields, recipes, runtime, training, validate, models).

Before the shared validators many of these were accepted silently (a float target truncated to
a class, a ``(C, H, W)`` size read as ``(H, W)``) or failed deep inside torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from course_utils import attribution, augment, checks, checkpoint, conv, pooling, receptive_field, runtime, training
from course_utils import validate
from course_utils.classification.recipe import CifarRecipe
from course_utils.feature_maps import feature_maps
from course_utils.models import (AblationConfig, AblationNet, AirbenchConfig, AirbenchNet, CompactConfig, CompactMNIST, DesignConfig,
                                 DesignTargetNet, FastCifarConfig, FastCifarNet, TanhCNN, count_parameters,
                                 fully_connected_cifar, large_kernel_mnist, patch_whitening_filters, tanh_cnn)
from course_utils.recipe import Recipe

from . import Case

CLASSIFIER = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
X = torch.rand(2, 3, 2, 2)
BATCH = torch.rand(2, 3, 8, 8)
CONV = nn.Conv2d(3, 4, 3)


def _history():
    return training.History(train_loss=["low"])


def _optimizer():
    return torch.optim.SGD(CLASSIFIER.parameters(), lr=0.1)


def _loader(labels):
    return [(X, labels)]


@dataclass
class _Config:
    width: int = 4


CASES = [
    # conv
    Case("a list into conv2d_naive", conv.conv2d_naive, lambda: conv.conv2d_naive([[1.0]], torch.zeros(1, 1, 1, 1)),
         TypeError, r"x must be a Tensor of floats, got list of 1"),
    Case("a 2-D kernel into conv2d_naive", conv.conv2d_naive,
         lambda: conv.conv2d_naive(torch.zeros(1, 1, 4, 4), torch.zeros(3, 3)), ValueError,
         r"weight must be a 4-dimensional Tensor"),
    # augment
    Case("one image into random_translate", augment.random_translate,
         lambda: augment.random_translate(torch.zeros(3, 8, 8), 2), ValueError,
         r"x must be a 4-dimensional Tensor.*add a batch dimension"),
    Case("a probability of 2 into random_hflip", augment.random_hflip,
         lambda: augment.random_hflip(BATCH, p=2.0), ValueError, r"p must lie in \[0, 1\]"),
    Case("reflect shifts as wide as the image", augment.random_translate,
         lambda: augment.random_translate(BATCH, 8, padding="reflect"), ValueError, "max_shift < the image's side"),
    Case("an unknown padding", augment.random_translate,
         lambda: augment.random_translate(BATCH, 2, padding="wrap"), ValueError, "padding must be one of"),
    Case("float indices into alternating_hflip", augment.alternating_hflip,
         lambda: augment.alternating_hflip(X, torch.tensor([0.0, 1.0]), 0), ValueError, "index must"),
    Case("one index too few for alternating_hflip", augment.alternating_hflip,
         lambda: augment.alternating_hflip(X, torch.tensor([0]), 0), ValueError, "index must"),
    Case("a negative epoch for alternating_hflip", augment.alternating_hflip,
         lambda: augment.alternating_hflip(X, torch.tensor([0, 1]), -1), ValueError, "epoch must"),
    Case("negative indices into alternating_hflip", augment.alternating_hflip,
         lambda: augment.alternating_hflip(X, torch.tensor([0, -1]), 0), ValueError, "non-negative"),
    Case("a list into cutout", augment.cutout, lambda: augment.cutout([[0.0]], 2), TypeError, "x must be"),
    # attribution
    Case("float attribution target", attribution.saliency,
         lambda: attribution.saliency(CLASSIFIER, X, torch.tensor([0.7, 1.2])), TypeError, "integer class indices"),
    Case("float attribution target (Python)", attribution.saliency,
         lambda: attribution.saliency(CLASSIFIER, X, 1.5), TypeError, "int class index"),
    Case("a model's output passed as the model", attribution.saliency,
         lambda: attribution.saliency(CLASSIFIER(X), X, 0), TypeError, "model must be callable"),
    Case("float SmoothGrad targets", attribution.smoothgrad,
         lambda: attribution.smoothgrad(CLASSIFIER, X, [0.0, 1.0], n_samples=2), TypeError, "integer class indices"),
    Case("zero SmoothGrad samples", attribution.smoothgrad,
         lambda: attribution.smoothgrad(CLASSIFIER, X, 0, n_samples=0), ValueError, "n_samples must be a positive int"),
    Case("an occlusion window larger than the image", attribution.occlusion,
         lambda: attribution.occlusion(CLASSIFIER, X, 0, window=5), ValueError, "must fit in the image"),
    Case("an unknown channel reduction", attribution.reduce_channels,
         lambda: attribution.reduce_channels(BATCH, "avg"), ValueError, "how must be 'max', 'mean' or 'sum'"),
    Case("maps of two shapes", attribution.rank_correlation,
         lambda: attribution.rank_correlation(torch.rand(4, 4), torch.rand(4, 5)), ValueError, "same shape"),
    Case("a list as a map", attribution.rank_correlation,
         lambda: attribution.rank_correlation([1.0, 2.0], torch.rand(2)), TypeError, "a must be a Tensor"),
    Case("a negative blur", attribution.gaussian_blur, lambda: attribution.gaussian_blur(BATCH, -1.0), ValueError,
         r"sigma must lie in \[0, inf\]"),
    Case("a class model for a float class", attribution.class_model,
         lambda: attribution.class_model(CLASSIFIER, 1.5, shape=(3, 2, 2), steps=1), TypeError, "int class index"),
    Case("a class model of an (H, W) shape", attribution.class_model,
         lambda: attribution.class_model(CLASSIFIER, 0, shape=(2, 2), steps=1), ValueError, r"shape must be \(C, H, W\)"),
    # checks: the learner's function, not its result
    Case("a result into check_to_grayscale", checks.check_to_grayscale,
         lambda: checks.check_to_grayscale(torch.zeros(1)), TypeError, "pass your function itself"),
    Case("a wrong luma", checks.check_to_grayscale, lambda: checks.check_to_grayscale(lambda x: x[:, :1]),
         AssertionError, "BT.601"),
    Case("a float byte count", checks.check_batch_bytes, lambda: checks.check_batch_bytes(1, 3072.0, 12288),
         TypeError, "uint8_bytes must be an int"),
    Case("a result into check_output_size", checks.check_output_size, lambda: checks.check_output_size(30),
         TypeError, "fn must be callable"),
    Case("an unstable softmax", checks.check_softmax,
         lambda: checks.check_softmax(lambda z: z.exp() / z.exp().sum()), AssertionError, "NaN"),
    # checkpoint
    Case("a dict as a config", checkpoint.config_to_dict, lambda: checkpoint.config_to_dict({"width": 4}),
         TypeError, "expected a config dataclass instance"),
    Case("an unknown config field", checkpoint.config_from_dict,
         lambda: checkpoint.config_from_dict(_Config, {"depth": 3}), ValueError, r"has no field\(s\) \['depth'\]"),
    Case("a model instance as a builder's class", checkpoint.config_builder,
         lambda: checkpoint.config_builder(CONV, _Config), TypeError, "model_cls must be an nn.Module class"),
    Case("a checkpoint name with a slash", checkpoint.checkpoint_path,
         lambda: checkpoint.checkpoint_path("../cifar"), ValueError, "letters, digits and underscores"),
    Case("a (H, W) input size in checkpoint metadata", checkpoint.CheckpointMeta,
         lambda: checkpoint.CheckpointMeta("tanh_cnn", {}, (0.5,) * 3, (0.2,) * 3, ("a",), (32, 32)), ValueError,
         r"input_size must have 3 items"),
    Case("a list of classes in checkpoint metadata", checkpoint.CheckpointMeta,
         lambda: checkpoint.CheckpointMeta("tanh_cnn", {}, (0.5,) * 3, (0.2,) * 3, ["a"], (3, 32, 32)), TypeError,
         r"classes must be tuple\[str, \.\.\.\]"),
    # feature maps, receptive fields
    Case("one layer name as a string", feature_maps, lambda: feature_maps(CONV, BATCH, "0"), TypeError,
         r"wrap it: \['0'\]"),
    Case("an unknown layer", feature_maps, lambda: feature_maps(nn.Sequential(CONV), BATCH, ["7"]), ValueError,
         r"unknown layer\(s\) \['7'\]"),
    Case("(C, H, W) as a receptive field's input size", receptive_field.receptive_field,
         lambda: receptive_field.receptive_field(CONV, (3, 32, 32)), ValueError,
         r"\(H, W\), got \(3, 32, 32\) \(drop the channels"),
    Case("a float input size", receptive_field.receptive_field, lambda: receptive_field.receptive_field(CONV, 32.0),
         ValueError, "int or a pair of ints"),
    Case("a function as the network", receptive_field.receptive_field,
         lambda: receptive_field.receptive_field(lambda x: x, 32), TypeError, "model must be a torch.nn.Module"),
    Case("a layer name into RFTable.covers", receptive_field.RFTable.covers,
         lambda: receptive_field.receptive_field(CONV, 8).covers("0"), TypeError, "row must be an RFRow"),
    Case("one image into the effective receptive field", receptive_field.effective_receptive_field,
         lambda: receptive_field.effective_receptive_field(CONV, torch.rand(3, 8, 8)), ValueError,
         r"x must be Tensor\[B, C, H, W\]"),
    # recipes
    Case("an unknown recipe field", Recipe.for_profile, lambda: CifarRecipe.for_profile("cpu", epoch=3), TypeError,
         r"CifarRecipe has no field\(s\) \['epoch'\]"),
    Case("an unknown profile", Recipe.for_profile, lambda: CifarRecipe.for_profile("tpu"), ValueError,
         "unknown profile 'tpu'"),
    Case("a misspelt replace", Recipe.replace, lambda: CifarRecipe.for_profile("cpu").replace(lr_=0.1), TypeError,
         r"no field\(s\) \['lr_'\]"),
    # runtime
    Case("an unknown profile into by_profile", runtime.by_profile,
         lambda: runtime.by_profile(cpu=1, gpu=2, profile="tpu"), ValueError, "unknown profile 'tpu'"),
    Case("a device that is not one", runtime.get_device, lambda: runtime.get_device("gpu0"), ValueError,
         "prefer must be a torch.device or a name"),
    Case("a negative seed", runtime.seed_everything, lambda: runtime.seed_everything(-1), ValueError,
         "non-negative int"),
    Case("a bool seed", runtime.seed_everything, lambda: runtime.seed_everything(True), ValueError,
         "non-negative int"),
    Case("a device name typo into runtime_info", runtime.runtime_info, lambda: runtime.runtime_info("cpuu"),
         ValueError, "device must be a torch.device"),
    Case("a device typo into autocast", runtime.Precision.autocast, lambda: runtime.FLOAT32.autocast("cdua"),
         ValueError, "device must be"),
    Case("a device typo into scaler", runtime.Precision.scaler, lambda: runtime.FLOAT32.scaler(3.5), ValueError,
         "device must be"),
    Case("a device typo into training_precision", runtime.training_precision,
         lambda: runtime.training_precision("tpu"), ValueError, "device must be"),
    Case("a task number as its name", runtime.results_path, lambda: runtime.results_path(5), TypeError,
         "task must be"),
    Case("a path as a task name", runtime.results_path, lambda: runtime.results_path("../x"), ValueError,
         "a task name is letters"),
    Case("a benchmark never saved", runtime.measured, lambda: runtime.measured("no-such-task"), FileNotFoundError,
         "--save"),
    Case("a chapter number as its name", runtime.gpu_timing, lambda: runtime.gpu_timing(5), TypeError,
         "chapter must be a chapter's file stem"),
    Case("a chapter title as its name", runtime.start_chapter, lambda: runtime.start_chapter("CIFAR-10"), ValueError,
         "chapter's file stem"),
    Case("a string for quiet", runtime.start_chapter, lambda: runtime.start_chapter("05_x", quiet="yes"), TypeError,
         "quiet must be a bool"),
    # training
    Case("a per-sample loss into backward_step", training.backward_step,
         lambda: training.backward_step(torch.ones(3, requires_grad=True), _optimizer()), ValueError,
         r"loss must be a scalar Tensor \(reduce it with .mean\(\)\)"),
    Case("float labels into train_one_epoch", training.train_one_epoch,
         lambda: training.train_one_epoch(CLASSIFIER, _loader(torch.tensor([0.0, 1.0])), _optimizer()), ValueError,
         r"the loader's labels must be a 1-dimensional Tensor of integers"),
    Case("a function as the model in train_one_epoch", training.train_one_epoch,
         lambda: training.train_one_epoch(lambda x: x, _loader(torch.tensor([0, 1])), _optimizer()), TypeError,
         "model must be a torch.nn.Module"),
    Case("labels for another batch into evaluate", training.evaluate,
         lambda: training.evaluate(CLASSIFIER, _loader(torch.tensor([0, 1, 2]))), ValueError,
         r"logits Tensor\[B, K\] for a batch of B = 3 labels, got Tensor\[2, 3\]"),
    Case("an empty loader into evaluate", training.evaluate, lambda: training.evaluate(CLASSIFIER, []), ValueError,
         "the loader produced no batches"),
    Case("zero epochs", training.fit, lambda: training.fit(CLASSIFIER, [], [], _optimizer(), 0), ValueError,
         "epochs must be a positive int"),
    Case("an empty loader into predict_logits", training.predict_logits,
         lambda: training.predict_logits(CLASSIFIER, []), ValueError, "no batches"),
    Case("a history of strings", training.History, _history, TypeError, r"History.train_loss must be list\[float\]"),
    Case("one image to shift", training.shifted_views, lambda: training.shifted_views(torch.zeros(3, 8, 8)),
         ValueError, "4-dimensional"),
    Case("1x1 images to shift", training.shifted_views, lambda: training.shifted_views(torch.zeros(1, 3, 1, 1)),
         ValueError, "at least 2x2"),
    Case("lookahead on a function", training.Lookahead, lambda: training.Lookahead(lambda x: x, 10), TypeError,
         "model must be"),
    Case("lookahead for zero steps", training.Lookahead, lambda: training.Lookahead(CONV, 0), ValueError,
         "total_steps must be a positive int"),
    Case("lookahead with base 1", training.Lookahead, lambda: training.Lookahead(CONV, 10, base=1.0), ValueError,
         r"base must lie in \(0, 1\)"),
    Case("lookahead's decay at step 0", training.Lookahead.decay, lambda: training.Lookahead(CONV, 10).decay(0),
         ValueError, "step must be a positive int"),
    Case("a zero-step schedule", training.one_cycle,
         lambda: training.one_cycle(torch.optim.SGD(CONV.parameters(), lr=0.1), 0.1, 0), ValueError,
         "total_steps must be a positive int, got 0"),
    Case("a warm-up of the whole run", training.one_cycle,
         lambda: training.one_cycle(torch.optim.SGD(CONV.parameters(), lr=0.1), 0.1, 10, pct_start=1.0), ValueError,
         r"pct_start must lie in \(0, 1\)"),
    Case("a history in unknown units", training.History, lambda: training.History(unit="batch"), ValueError,
         "unit must be 'epoch' or 'step'"),
    Case("a history with a misspelt key", training.History.from_dict,
         lambda: training.History.from_dict({"train_losses": [1.0]}), ValueError, r"no field\(s\) \['train_losses'\]"),
    Case("float predictions into the confusion matrix", training.confusion_matrix,
         lambda: training.confusion_matrix(torch.tensor([0.9, 1.2]), torch.tensor([0, 1]), 3), ValueError,
         "predictions must be a 1-dimensional Tensor of integers.*argmax"),
    Case("float num_classes", training.confusion_matrix,
         lambda: training.confusion_matrix(torch.tensor([0]), torch.tensor([0]), 3.0), TypeError,
         "num_classes must be a positive int"),
    Case("a list as predicted classes", training.confusion_matrix,
         lambda: training.confusion_matrix([0, 1], torch.tensor([0, 1]), 2), TypeError, "predictions must be"),
    Case("one image's probabilities", training.most_confident_mistakes,
         lambda: training.most_confident_mistakes(torch.rand(3), torch.tensor([0])), ValueError,
         "probs must be a 2-dimensional Tensor"),
    # validate
    Case("a length-less value", validate.same_length, lambda: validate.same_length(a=[1], b=3), TypeError, "len"),
    Case("two lengths", validate.same_length, lambda: validate.same_length(boxes=[1, 2], labels=[1]), ValueError,
         "boxes and labels must have the same length, got 2 boxes, 1 labels"),
    Case("a negative class", validate.class_indices, lambda: validate.class_indices(torch.tensor([-1]), "y"),
         ValueError, r"y must lie in \[0, "),
    Case("a whole float as a count", validate.positive_int, lambda: validate.positive_int(3.0, "n"), TypeError,
         "n must be a positive int, got 3.0"),
    Case("a NaN tensor", validate.tensor, lambda: validate.tensor(torch.tensor([math.nan]), "x", finite=True),
         ValueError, "x must be finite"),
    Case("an instance of another type", validate.instance, lambda: validate.instance(3, "model", nn.Module),
         TypeError, "model must be Module, got int"),
    Case("a lone string for a list", validate.sequence_of, lambda: validate.sequence_of("a cat", "captions", str),
         TypeError, r"captions must be a list of str, got str \(wrap it: \['a cat'\]\)"),
    Case("a bool among ints", validate.sequence_of, lambda: validate.sequence_of([1, True], "sizes", int),
         TypeError, "got bool at index 1"),
    Case("an empty list", validate.sequence_of, lambda: validate.sequence_of([], "texts", str, non_empty=True),
         ValueError, "texts must hold at least one str"),
    Case("not a choice", validate.choice, lambda: validate.choice("avg", "how", ("max", "mean")), ValueError,
         r"how must be one of \('max', 'mean'\), got 'avg'"),
    Case("a NaN number", validate.number, lambda: validate.number(math.nan, "lr", low=0.0), ValueError,
         r"lr must lie in \[0, inf\], got nan"),
    Case("a dataclass whose int is a float", validate.fields, lambda: AblationConfig(num_classes=3.0), TypeError,
         "AblationConfig.num_classes must be int, got 3.0"),
    # models
    Case("a non-module into count_parameters", count_parameters, lambda: count_parameters(CONV.weight), TypeError,
         "expected a torch.nn.Module"),
    Case("grey images into AblationNet", AblationNet.forward, lambda: AblationNet()(torch.rand(1, 1, 32, 32)),
         ValueError, r"AblationNet expects Tensor\[B, 3, H, W\]"),
    Case("a list into DesignTargetNet", DesignTargetNet.forward, lambda: DesignTargetNet()([[0.0]]), TypeError,
         "x must be a 4-dimensional Tensor"),
    Case("uint8 images into FastCifarNet", FastCifarNet.forward,
         lambda: FastCifarNet()(torch.zeros(1, 3, 32, 32, dtype=torch.uint8)), ValueError,
         "x must be a 4-dimensional Tensor of floats.*float batch"),
    Case("colour images into CompactMNIST", CompactMNIST.forward, lambda: CompactMNIST()(torch.rand(1, 3, 28, 28)),
         ValueError, r"CompactMNIST expects Tensor\[B, 1, H, W\]"),
    Case("28x28 images into TanhCNN", TanhCNN.forward, lambda: TanhCNN()(torch.rand(1, 3, 28, 28)), ValueError,
         r"TanhCNN expects Tensor\[B, 3, 32, 32\]"),
    Case("three stage widths for four stages", AblationConfig, lambda: AblationConfig(widths=(8, 8, 8)), ValueError,
         "widths must have 4 items"),
    Case("a dropout of 1", DesignConfig, lambda: DesignConfig(dropout=1.0), ValueError, r"dropout must lie in \[0, 1\)"),
    Case("a zero width", FastCifarConfig, lambda: FastCifarConfig(widths=(0, 8, 8)), ValueError,
         "must be positive"),
    Case("a float width", CompactConfig, lambda: CompactConfig(c1=10.5), TypeError, "CompactConfig.c1 must be int"),
    Case("a dict as AblationNet's config", AblationNet, lambda: AblationNet({"dropout": 0.1}), TypeError,
         "cfg must be AblationConfig, got dict"),
    Case("an override typo", DesignTargetNet, lambda: DesignTargetNet(dropout_rate=0.1), TypeError, "dropout_rate"),
    Case("uint8 images into AirbenchNet", AirbenchNet.forward,
         lambda: AirbenchNet()(torch.zeros(1, 3, 32, 32, dtype=torch.uint8)), ValueError, "float"),
    Case("grey images into AirbenchNet", AirbenchNet.forward,
         lambda: AirbenchNet()(torch.zeros(1, 1, 32, 32)), ValueError, r"expects Tensor\[B, 3, H, W\]"),
    Case("a config of another model", AirbenchNet, lambda: AirbenchNet(FastCifarConfig()), TypeError,
         "cfg must be AirbenchConfig"),
    Case("a zero width", AirbenchConfig, lambda: AirbenchConfig(widths=(0, 8, 8)), ValueError, "must be positive"),
    Case("an unknown activation", AirbenchConfig, lambda: AirbenchConfig(activation="swish"), ValueError,
         "activation must be one of"),
    Case("two widths", AirbenchConfig, lambda: AirbenchConfig(widths=(8, 8)), ValueError, "must have 3 items"),
    Case("a batch-norm momentum of 0", AirbenchConfig, lambda: AirbenchConfig(batch_norm_momentum=0.0), ValueError,
         r"batch_norm_momentum must lie in \(0, 1\]"),
    Case("uint8 images to whiten", patch_whitening_filters,
         lambda: patch_whitening_filters(torch.zeros(4, 3, 8, 8, dtype=torch.uint8)), ValueError, "float"),
    Case("NaN images to whiten", patch_whitening_filters,
         lambda: patch_whitening_filters(torch.full((4, 3, 8, 8), float("nan"))), ValueError,
         "images must be finite, got nan"),
    Case("patches larger than the images", patch_whitening_filters,
         lambda: patch_whitening_filters(torch.rand(4, 3, 2, 2), patch=3), ValueError, "no 3x3 patches"),
    Case("a zero eps", patch_whitening_filters, lambda: patch_whitening_filters(BATCH, eps=0), ValueError, "eps"),
    Case("one image to whiten the first layer", AirbenchNet.whiten_,
         lambda: AirbenchNet().whiten_(torch.rand(3, 32, 32)), ValueError, "4-dimensional"),
    Case("a config of another model", FastCifarNet, lambda: FastCifarNet(DesignConfig()), TypeError,
         "cfg must be FastCifarConfig, got DesignConfig"),
    Case("a list as CompactMNIST's config", CompactMNIST, lambda: CompactMNIST([10, 16]), TypeError,
         "cfg must be CompactConfig"),
    Case("zero classes", TanhCNN, lambda: TanhCNN(0), ValueError, "num_classes must be a positive int"),
    Case("a float class count", tanh_cnn, lambda: tanh_cnn(10.0), TypeError, "num_classes must be a positive int"),
    Case("a class list as the count", fully_connected_cifar, lambda: fully_connected_cifar(["cat", "dog"]), TypeError,
         "num_classes must be a positive int"),
    Case("a dropout of 50", large_kernel_mnist, lambda: large_kernel_mnist(50), ValueError,
         r"dropout must lie in \[0, 1\]"),
    # pooling
    Case("negative activations into Lp pooling", pooling.lp_pool2d,
         lambda: pooling.lp_pool2d(-torch.ones(1, 1, 2, 2), 2, 2), ValueError, "must be non-negative"),
    Case("an exponent below 1", pooling.lp_pool2d, lambda: pooling.lp_pool2d(torch.ones(1, 1, 2, 2), 0.5, 2),
         ValueError, "p must"),
    Case("a map smaller than the finest level", pooling.spatial_pyramid_pool,
         lambda: pooling.spatial_pyramid_pool(torch.rand(1, 1, 3, 3), (1, 4)), ValueError, "cannot be split into 4x4"),
    Case("one level as a bare int", pooling.SpatialPyramidPool, lambda: pooling.SpatialPyramidPool(4), TypeError,
         "levels must be a list of int"),
    Case("a float channel count", pooling.SpatialPyramidPool.features,
         lambda: pooling.SpatialPyramidPool().features(8.0), TypeError, "channels must be a positive int"),
    Case("one image without its batch", pooling.SpatialPyramidPool.forward,
         lambda: pooling.SpatialPyramidPool()(torch.rand(3, 8, 8)), ValueError, r"Tensor\[N, C, H, W\]"),
]


def _exit_status(main, argv):
    """Run a CLI's ``main``; a non-zero status becomes ``SystemExit(status)`` (argparse raises its own)."""
    status = main(argv)
    if status:
        raise SystemExit(status)


def _saved_checkpoint(tmp: str = "model.pt"):
    model = tanh_cnn(3)
    meta = checkpoint.CheckpointMeta("tanh_cnn", {"num_classes": 3}, (0.5,) * 3, (0.2,) * 3, ("a", "b", "c"),
                                     (3, 32, 32))
    checkpoint.save_checkpoint(tmp, model, meta)
    return tmp


def _predict_cases():
    from PIL import Image

    from course_utils import bench, predict

    return [
        Case("a kernel larger than the input", conv.conv_output_size, lambda: conv.conv_output_size(3, 5), ValueError,
             "the kernel spans 5 pixels but the padded input has only 3"),
        Case("a float stride", conv.conv_output_size, lambda: conv.conv_output_size(32, 3, 1.5), ValueError,
             "stride must be an int >= 1"),
        Case("weights of another model", checkpoint.save_checkpoint,
             lambda: checkpoint.save_checkpoint("m.pt", tanh_cnn(10), checkpoint.CheckpointMeta(
                 "tanh_cnn", {"num_classes": 3}, (0.5,) * 3, (0.2,) * 3, ("a", "b", "c"), (3, 32, 32))),
             ValueError, "the model's weights do not match meta"),
        Case("a checkpoint that is not there", checkpoint.load_checkpoint,
             lambda: checkpoint.load_checkpoint("missing.pt"), FileNotFoundError, "no checkpoint at missing.pt"),
        Case("an unknown bench task", bench.run, lambda: bench.run("imagenet"), ValueError,
             "unknown benchmark task 'imagenet'"),
        Case("an unknown bench task on the command line", bench.main, lambda: bench.main(["imagenet"]), SystemExit,
             "2"),
        Case("a path object's text that is a number", predict.read_image, lambda: predict.read_image(3), TypeError,
             "source must be a path"),
        Case("no image file", predict.read_image, lambda: predict.read_image("nothing.png"), predict.PredictError,
             "no image file at nothing.png"),
        Case("a tensor instead of a PIL image", predict.prepare,
             lambda: predict.prepare(torch.zeros(3, 32, 32), checkpoint.load_checkpoint(_saved_checkpoint())[1]),
             TypeError, "image must be a PIL image"),
        Case("top-k beyond the classes", predict.predict,
             lambda: predict.predict(*checkpoint.load_checkpoint(_saved_checkpoint()), Image.new("RGB", (32, 32)), 5),
             predict.PredictError, "top-k must be between 1 and 3"),
        Case("a missing image on the command line", predict.main,
             lambda: _exit_status(predict.main, ["--checkpoint", _saved_checkpoint(), "--image", "no.png"]),
             SystemExit, "2"),
    ]


CASES += _predict_cases()


def _widget_cases():
    from course_utils import widgets

    class Upload:
        value = ({"name": "a.png"},)

    return [
        Case("an upload whose files carry no bytes", widgets.uploaded_files, lambda: widgets.uploaded_files(Upload()),
             TypeError, "carry no bytes 'content'"),
        Case("a colour image into convolve_image", widgets.convolve_image,
             lambda: widgets.convolve_image(torch.rand(3, 8, 8), torch.ones(3, 3)), ValueError,
             "image must be a 2-dimensional Tensor"),
        Case("a zero stride", widgets.convolve_image,
             lambda: widgets.convolve_image(torch.rand(8, 8), torch.ones(3, 3), stride=0), ValueError,
             "stride must be an int >= 1"),
        Case("a list as the output", widgets.conv_figure,
             lambda: widgets.conv_figure(torch.rand(8, 8), torch.ones(3, 3), [[0.0]]), TypeError, "output must be"),
        Case("an unknown kernel preset", widgets.ConvExplorer,
             lambda: widgets.ConvExplorer(torch.rand(8, 8), preset="emboss"), ValueError, "unknown preset 'emboss'"),
    ]


CASES += _widget_cases()
