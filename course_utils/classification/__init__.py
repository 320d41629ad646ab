"""Image classification: MNIST, CIFAR-10 and the fast recipe (chapters 2 to 6).

* :mod:`.recipe` -- :class:`MnistRecipe`, :class:`CifarRecipe`, :class:`CifarFastRecipe`: the sizes, per profile.
* :mod:`.train` -- the loops: :func:`train_mnist`, :func:`train_cifar`, :func:`train_cifar_fast`.
* :mod:`.run` -- :func:`run_cifar_fast` and :func:`trained_cifar_model` (cached for chapter 6).
"""

from .recipe import AUGMENTATIONS, CifarFastRecipe, CifarRecipe, MnistRecipe
from .run import CifarFastRun, run_cifar_fast, trained_cifar_model
from .train import cifar_train_split, train_cifar, train_cifar_fast, train_mnist

__all__ = ["AUGMENTATIONS", "CifarFastRecipe", "CifarFastRun", "CifarRecipe", "MnistRecipe", "cifar_train_split",
           "run_cifar_fast", "train_cifar", "train_cifar_fast", "train_mnist", "trained_cifar_model"]
