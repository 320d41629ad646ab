"""course_utils.classification.train: the MNIST, CIFAR and fast loops on the fake mirror."""

from __future__ import annotations

import pytest
import torch

from course_utils.classification import (CifarFastRecipe, CifarRecipe, MnistRecipe, train_cifar, train_cifar_fast,
                                         train_mnist)
from course_utils.data import load_dataset
from course_utils.models import AblationNet, AirbenchConfig, AirbenchNet, CompactMNIST, FastCifarConfig, FastCifarNet
from course_utils.runtime import Precision

TINY = CifarFastRecipe(config=FastCifarConfig(stem=4, widths=(8, 8, 8)), epochs=1, bench_epochs=1, batch_size=4,
                       lr=0.05)


def test_train_mnist_runs_on_the_fake_mirror(fake_mirror):
    for optimizer in ("sgd", "adam"):
        recipe = MnistRecipe(epochs=2, optimizer=optimizer, lr=0.01, batch_size=2)
        history = train_mnist(CompactMNIST(), recipe, progress=False)
        assert history.epochs == 2 and all(0.0 <= a <= 1.0 for a in history.val_acc)
    with pytest.raises(TypeError, match="MnistRecipe"):
        train_mnist(CompactMNIST(), CifarRecipe(), progress=False)

def test_train_cifar_with_every_switch(fake_mirror):
    train, test = load_dataset("cifar10", "train"), load_dataset("cifar10", "test")
    net = AblationNet(widths=(4, 4, 4, 4), batch_norm=True, dropout=0.1, kaiming_init=True, residual=True)
    recipe = CifarRecipe(epochs=2, batch_size=8, momentum=0.9, schedule="onecycle",
                         augment=("flip", "translate", "cutout"), label_smoothing=0.1)
    history = train_cifar(net, train, test, recipe, progress=False)
    assert history.epochs == 2 and len(history.val_acc) == 2
    assert all(0.0 <= a <= 1.0 for a in history.train_acc + history.val_acc)
    quiet = train_cifar(AblationNet(widths=(4, 4, 4, 4)), train, None, CifarRecipe(epochs=1), progress=False)
    assert quiet.val_acc == []  # no test set: no evaluation

def test_train_cifar_learns_an_easy_split(fake_mirror):
    # The fake mirror's classes differ in brightness: a few epochs separate two of them.
    train = load_dataset("cifar10", "train").keep_classes(["airplane", "truck"])
    recipe = CifarRecipe(epochs=8, batch_size=4, lr=0.05, momentum=0.9)
    history = train_cifar(AblationNet(widths=(4, 8, 8, 8), batch_norm=True), train, train, recipe, progress=False)
    assert history.val_acc[-1] == 1.0

def test_train_cifar_rejects_mismatched_classes_and_other_recipes(fake_mirror):
    train = load_dataset("cifar10", "train")
    with pytest.raises(ValueError, match="same classes"):
        train_cifar(AblationNet(), train, train.keep_classes(["cat"]), CifarRecipe(epochs=1), progress=False)
    with pytest.raises(TypeError, match="CifarRecipe"):
        train_cifar(AblationNet(), train, None, MnistRecipe(), progress=False)

def test_fast_recipe_runs_and_reports_three_accuracies(fake_mirror):
    history, scores = train_cifar_fast(FastCifarNet(TINY.config), TINY.replace(epochs=2, flip="random",
                                                                               lookahead=False), progress=False)
    assert history.epochs == 2 and set(scores) == {"test_accuracy", "test_accuracy_tta", "test_accuracy_tta6"}
    assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_fast_recipe_whitens_the_airbench_net_and_ends_at_the_slow_weights(fake_mirror):
    recipe = TINY.replace(config=AirbenchConfig(widths=(8, 8, 8)), epochs=2)
    net = AirbenchNet(recipe.config)
    bias = net.whitening.bias.detach().clone()
    _, scores = train_cifar_fast(net, recipe.replace(whitening_bias_epochs=1), progress=False)
    assert not net.whitening.weight.requires_grad  # set from the training images' patches and frozen
    assert not net.whitening.bias.requires_grad and not torch.equal(net.whitening.bias, bias)  # learned, then froze
    assert all(0.0 <= v <= 1.0 for v in scores.values())
    learned = AirbenchNet(recipe.config)
    train_cifar_fast(learned, recipe.replace(whiten=False), progress=False)
    assert learned.whitening.weight.requires_grad and learned.whitening.bias.requires_grad  # a learned first layer
    before = AirbenchNet(recipe.config)
    bias = before.whitening.bias.detach().clone()
    train_cifar_fast(before, recipe.replace(whitening_bias_epochs=0), progress=False)
    assert torch.equal(before.whitening.bias, bias)  # frozen from the start: never moved

def test_fast_recipe_with_channels_last_and_bf16(fake_mirror):
    bf16 = Precision(torch.bfloat16, False, "test")
    _, scores = train_cifar_fast(FastCifarNet(TINY.config), TINY, channels_last=True, precision=bf16,
                                 progress=False)
    assert 0.0 <= scores["test_accuracy"] <= 1.0


def test_the_three_scores_are_predict_logits_views(fake_mirror):
    from course_utils.classification.train import _tta_scores
    from course_utils.data import BatchLoader
    from course_utils.training import predict_logits

    torch.manual_seed(0)
    net = AirbenchNet(widths=(8, 8, 8)).eval()
    loader = BatchLoader(load_dataset("cifar10", "test"), 3)
    scores = _tta_scores(net, loader)
    for name, views in (("test_accuracy", {}), ("test_accuracy_tta", {"tta_flip": True}),
                        ("test_accuracy_tta6", {"tta_flip": True, "tta_translate": True})):
        logits, labels = predict_logits(net, loader, **views)
        assert scores[name] == pytest.approx((logits.argmax(1) == labels).float().mean().item())
    assert set(_tta_scores(net, loader, six_views=False)) == {"test_accuracy", "test_accuracy_tta"}
