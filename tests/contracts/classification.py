"""Bad-input cases: the classification recipes, loops and runs (chapters 4 to 6)."""

from __future__ import annotations

import torch
from torch import nn

from course_utils.classification.recipe import CifarFastRecipe, CifarRecipe, MnistRecipe
from course_utils.classification.run import run_cifar_fast, trained_cifar_model
from course_utils.classification.train import cifar_train_split, train_cifar, train_cifar_fast, train_mnist

from . import Case

NET = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))

CASES = [
    Case("a float epoch count", MnistRecipe, lambda: MnistRecipe(epochs=2.0), TypeError,
         "MnistRecipe.epochs must be int, got 2.0"),
    Case("a typo in a preset", MnistRecipe.first_network, lambda: MnistRecipe.first_network("cpu", epochz=1),
         TypeError, r"no field\(s\) \['epochz'\]"),
    Case("one augmentation as a string", CifarRecipe, lambda: CifarRecipe(augment="flip"), TypeError,
         r"augment must be tuple\[str, \.\.\.\]"),
    Case("a tensor as the training set", CifarRecipe.select,
         lambda: CifarRecipe.for_profile("cpu").select(torch.zeros(4, 3, 32, 32)), TypeError,
         "train must be an ImageDataset"),
    Case("an unknown profile for tanh_cnn", CifarRecipe.tanh_cnn, lambda: CifarRecipe.tanh_cnn("tpu"), ValueError,
         "unknown profile 'tpu'"),
    Case("a zero learning rate", CifarRecipe.fully_connected, lambda: CifarRecipe.fully_connected("cpu", lr=0.0),
         ValueError, "lr must be a positive number"),
    Case("a typo in the ablation preset", CifarRecipe.ablation, lambda: CifarRecipe.ablation("cpu", momentm=0.9),
         TypeError, "no field"),
    Case("a float epoch count for feature maps", CifarRecipe.feature_maps,
         lambda: CifarRecipe.feature_maps("cpu", epochs=1.5), TypeError, "epochs must be int"),
    Case("a negative subset", CifarRecipe.effective_receptive_field,
         lambda: CifarRecipe.effective_receptive_field("cpu", train_subset=-5), ValueError, "train_subset"),
    Case("a dict as the network config", CifarFastRecipe, lambda: CifarFastRecipe(config={"stem": 4}), TypeError,
         "config must be AirbenchConfig or FastCifarConfig"),
    Case("an unknown flip", CifarFastRecipe, lambda: CifarFastRecipe(flip="none"), ValueError,
         "flip must be one of"),
    Case("a negative whitening epoch count", CifarFastRecipe, lambda: CifarFastRecipe(whitening_bias_epochs=-1),
         ValueError, "whitening_bias_epochs must be >= 0"),
    Case("a momentum of 1", CifarFastRecipe, lambda: CifarFastRecipe(momentum=1.0), ValueError, r"momentum in \[0, 1\)"),
    Case("a typo in the design target", CifarFastRecipe.design_target,
         lambda: CifarFastRecipe.design_target("cpu", epoch=1), TypeError, "no field"),
    Case("a CIFAR recipe for the fast run", run_cifar_fast, lambda: run_cifar_fast(CifarRecipe()), TypeError,
         "recipe must be a CifarFastRecipe"),
    Case("a dict recipe for the cached model", trained_cifar_model, lambda: trained_cifar_model({"epochs": 1}),
         TypeError, "recipe must be a CifarFastRecipe"),
    Case("a fraction as the subset", cifar_train_split, lambda: cifar_train_split(0.1), TypeError,
         "train_subset must be an int or None"),
    Case("a CIFAR recipe for MNIST", train_mnist, lambda: train_mnist(NET, CifarRecipe()), TypeError,
         "recipe must be an MnistRecipe"),
    Case("a tensor as the CIFAR training set", train_cifar,
         lambda: train_cifar(NET, torch.zeros(2, 3, 32, 32), None, CifarRecipe()), TypeError,
         "train must be an ImageDataset"),
    Case("a function as the fast model", train_cifar_fast,
         lambda: train_cifar_fast(lambda x: x, CifarFastRecipe()), TypeError, "model must be a torch.nn.Module"),
]
