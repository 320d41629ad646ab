"""The classification recipes as data: MNIST, CIFAR-10 with the ablation table's switches, and the fast recipe.

Each is a frozen :class:`~course_utils.recipe.Recipe`: ``for_profile()`` is the
chapter's and the benchmark's run; the other classmethods are the chapters'
shorter runs of the same loop. The loops are in :mod:`.train`, the end-to-end runs
in :mod:`.run`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..models.airbench import AIRBENCH94, AIRBENCH_CPU, AirbenchConfig
from ..models.fast_resnet import FastCifarConfig
from ..recipe import Recipe


@dataclass(frozen=True)
class MnistRecipe(Recipe):
    """MNIST with the compact network's settings: Nesterov SGD, one cycle, shifts of 2 pixels.

    Evidence (2-core x86_64 CPU, torch 2.14.1, 2026-12-02, seed 0, one run each):
    :class:`~course_utils.models.CompactMNIST` (7,634 parameters) reaches 0.9935 test
    accuracy after the ``cpu`` preset's 3 epochs, in 39-47 s of training (``bench mnist``,
    seeded: two runs, the same accuracy; 4 epochs: 0.9939 in 58 s); the ``gpu`` preset's 15 epochs, run on the same CPU, reach 0.9951 in 209 s, and
    stay at or above 0.994 from epoch 11. ``python -m course_utils.bench mnist`` measures it.

    Raises:
        TypeError: a field has another type (a float epoch count).
        ValueError: a count or rate is not positive, or an unknown optimiser.
    """

    epochs: int = 3
    optimizer: str = "sgd"  # "sgd": Nesterov momentum 0.9 + one-cycle to lr; "adam": constant lr
    lr: float = 0.1
    batch_size: int = 128
    max_shift: int = 2  # random translation in pixels (0: none)
    train_subset: int | None = None  # a class-balanced subset of this size; None: all 60,000
    label_smoothing: float = 0.0
    seed: int = 0

    PROFILES: ClassVar = {"cpu": {"epochs": 3}, "gpu": {"epochs": 15}}

    def __post_init__(self) -> None:
        super().__post_init__()
        self._require_positive("epochs", "lr", "batch_size", "train_subset")
        self._require_choice("optimizer", ("sgd", "adam"))
        self._require_non_negative("max_shift")
        self._require_fraction("label_smoothing")

    @classmethod
    def first_network(cls, profile: str | None = None, **changes) -> "MnistRecipe":
        """Chapter 4's first network as its page trains it (Adam 1e-3, batch 32, no shifts).

        ``gpu``: the page's 10 epochs on all 60,000 images; ``cpu``: 1 epoch on 20,000
        (its dropout layers are slow on a CPU). The page reports 98.41% after 10 epochs.

        Raises:
            ValueError: an unknown profile, or a value out of range.
            TypeError: an unknown field in ``changes`` (the message lists the fields), or a value of the
                wrong type.
        """
        common = {"optimizer": "adam", "lr": 1e-3, "batch_size": 32, "max_shift": 0}
        return cls._preset({"cpu": {**common, "epochs": 1, "train_subset": 20_000},
                            "gpu": {**common, "epochs": 10}}, profile, changes)


AUGMENTATIONS = ("flip", "translate", "cutout")
"""What :attr:`CifarRecipe.augment` may hold: left-right flips (p=0.5), translations of up
to 2 pixels, one 8x8 cutout square filled with the mean colour."""


@dataclass(frozen=True)
class CifarRecipe(Recipe):
    """CIFAR-10 (or CIFAR-3) with plain SGD and the ablation table's switches.

    The defaults are the seed walk-through's loop: SGD with lr 1e-2, batch 64, no
    momentum, no augmentation, a constant learning rate. ``schedule="onecycle"`` warms
    up to ``lr`` for 25% of the steps, then anneals linearly to zero (Smith & Topin, 2019).

    Evidence (``cpu`` presets, 2-core x86_64 CPU, 2026): the tanh CNN reaches 0.699 on
    CIFAR-3 after 3 epochs and the fully connected net 0.667 after 2 (the walk-through's
    0.8713 needs the ``gpu`` presets' 100 epochs); in the ablation one-cycle is the best
    single change (46.0% against the baseline's 37-39%), removing batch norm the worst (21.6%).

    Raises:
        TypeError: a field has another type (``augment`` as one string).
        ValueError: a count or rate out of range, an unknown schedule or augmentation, or label smoothing
            outside [0, 1).
    """

    epochs: int = 2
    lr: float = 1e-2
    batch_size: int = 64
    momentum: float = 0.0  # > 0: Nesterov momentum
    weight_decay: float = 0.0
    schedule: str = "constant"  # or "onecycle"
    augment: tuple[str, ...] = ()  # some of AUGMENTATIONS
    label_smoothing: float = 0.0
    seed: int = 0
    train_subset: int | None = None  # for select(): a class-balanced subset of this size; None: all
    test_subset: int | None = None

    PROFILES: ClassVar = {"cpu": {}, "gpu": {}}  # the walk-through's loop on both; the chapters use the presets

    def __post_init__(self) -> None:
        super().__post_init__()
        self._require_positive("epochs", "lr", "batch_size", "train_subset", "test_subset")
        self._require_choice("schedule", ("constant", "onecycle"))
        if isinstance(self.augment, str) or set(self.augment) - set(AUGMENTATIONS):
            raise ValueError(f"augment must be a tuple of some of {AUGMENTATIONS}, got {self.augment!r}")
        object.__setattr__(self, "augment", tuple(self.augment))
        self._require_non_negative("momentum", "weight_decay")
        self._require_fraction("label_smoothing")

    def select(self, train, test=None):
        """``(train, test)`` cut to the recipe's ``train_subset``/``test_subset`` (class-balanced, seed 0).

        Raises:
            TypeError: ``train`` or ``test`` is not an :class:`ImageDataset`.
            ValueError: the recipe's subset is larger than the data.
        """
        for name, data in (("train", train), ("test", test)):
            if data is not None and not hasattr(data, "subset"):
                raise TypeError(f"{name} must be an ImageDataset (see load_dataset), got {type(data).__name__}")
        pick = lambda data, n: data if data is None or n is None else data.subset(n)  # noqa: E731
        return pick(train, self.train_subset), pick(test, self.test_subset)

    @classmethod
    def tanh_cnn(cls, profile: str | None = None, **changes) -> "CifarRecipe":
        """Chapter 5's first CNN on CIFAR-3: the walk-through's loop, 3 epochs (``gpu``: its 100).

        Raises:
            ValueError: an unknown profile, or a value out of range.
            TypeError: an unknown field in ``changes`` (the message lists the fields), or a value of the
                wrong type.
        """
        return cls._preset({"cpu": {"epochs": 3}, "gpu": {"epochs": 100}}, profile, changes)

    @classmethod
    def fully_connected(cls, profile: str | None = None, **changes) -> "CifarRecipe":
        """Chapter 5's fully connected net on CIFAR-3: the same loop, 2 epochs (``gpu``: 100).

        Raises:
            ValueError: an unknown profile, or a value out of range.
            TypeError: an unknown field in ``changes`` (the message lists the fields), or a value of the
                wrong type.
        """
        return cls._preset({"cpu": {"epochs": 2}, "gpu": {"epochs": 100}}, profile, changes)

    @classmethod
    def ablation(cls, profile: str | None = None, **changes) -> "CifarRecipe":
        """The ablation table's baseline: momentum 0.9, lr 0.05; ``cpu``: 2 epochs on 4,000 images, 5,000 test.

        Raises:
            ValueError: an unknown profile, or a value out of range.
            TypeError: an unknown field in ``changes`` (the message lists the fields), or a value of the
                wrong type.
        """
        common = {"lr": 0.05, "momentum": 0.9}
        return cls._preset({"cpu": {**common, "epochs": 2, "train_subset": 4_000, "test_subset": 5_000},
                            "gpu": {**common, "epochs": 15}}, profile, changes)

    @classmethod
    def feature_maps(cls, profile: str | None = None, **changes) -> "CifarRecipe":
        """Chapter 2's short run before looking at feature maps: SGD momentum 0.9 (not Nesterov), 2 epochs.

        Raises:
            ValueError: an unknown profile, or a value out of range.
            TypeError: an unknown field in ``changes`` (the message lists the fields), or a value of the
                wrong type.
        """
        common = {"momentum": 0.9}
        return cls._preset({"cpu": {**common, "epochs": 2}, "gpu": {**common, "epochs": 10}}, profile, changes)

    @classmethod
    def effective_receptive_field(cls, profile: str | None = None, **changes) -> "CifarRecipe":
        """Chapter 3's run before measuring the trained network's effective receptive field.

        Raises:
            ValueError: an unknown profile, or a value out of range.
            TypeError: an unknown field in ``changes`` (the message lists the fields), or a value of the
                wrong type.
        """
        common = {"lr": 0.05, "momentum": 0.9, "batch_size": 128}
        return cls._preset({"cpu": {**common, "epochs": 2, "train_subset": 10_000, "test_subset": 2_000},
                            "gpu": {**common, "epochs": 10, "train_subset": 50_000, "test_subset": 10_000}},
                           profile, changes)


FLIPS = ("random", "alternating")
"""What :attr:`CifarFastRecipe.flip` may be: random flips (p=0.5), or airbench's alternating ones."""


@dataclass(frozen=True)
class CifarFastRecipe(Recipe):
    """The fast CIFAR-10 recipe: Jordan's airbench at a CPU's scale (after Page's ResNet-9).

    The network is ``config``'s: an :class:`~course_utils.models.AirbenchConfig` (the
    default, :data:`~course_utils.models.AIRBENCH_CPU`) or a
    :class:`~course_utils.models.FastCifarConfig` (the first edition's ResNet-9-style net).
    ``whiten``, ``flip`` and ``lookahead`` switch airbench's ideas on; see
    :func:`~course_utils.classification.train_cifar_fast`.

    Evidence (2-core x86_64 CPU, torch 2.14.1, bfloat16, 2026-12-03): in the benchmark's 5
    epochs the ``cpu`` preset reached 0.838 test accuracy, 0.850 with airbench's six-view TTA,
    in 146 s of training, and in a second run (``bench cifar-ablation``'s last row, whose
    record is ``course_utils/results/cifar-ablation.json``) 0.837 and 0.846 in 126 s: runs
    differ by a few tenths of a percent, and the machine's speed by about 15%. Tuning runs:
    lr 0.8 gave 0.849 with six views, 2.5 gave 0.848, batch 1024 at lr 2.0 0.839. Letting
    the whitening bias learn for the first epoch (as airbench does for 3 of its 10) gave
    0.852 but took 156 s against 146 s: the backward pass through the first layer and its
    GELU is about a tenth of each step on a CPU, so the ``cpu`` preset freezes the bias from
    the start. The ``gpu`` preset (airbench94's widths, 10 epochs, the bias learning for 3)
    has not been run on a GPU yet.

    Raises:
        TypeError: a field has another type (``config`` neither config class).
        ValueError: a count or rate is not positive, momentum outside [0, 1), or an unknown flip.
    """

    config: AirbenchConfig | FastCifarConfig = AIRBENCH_CPU
    epochs: int = 2  # what the chapter and trained_cifar_model train
    bench_epochs: int = 5  # what `bench cifar` trains: the most that fits 150 s on two CPU cores
    batch_size: int = 512
    lr: float = 1.5
    momentum: float = 0.9  # Nesterov; the one-cycle schedule cycles it between 0.85 and 0.95
    weight_decay: float = 5e-4
    label_smoothing: float = 0.2
    max_shift: int = 2
    flip: str = "alternating"
    whiten: bool = True  # AirbenchNet only: patch-whitening first layer, frozen
    whitening_bias_epochs: int = 0  # ... whose bias learns this many epochs, then freezes; see the evidence above
    lookahead: bool = True
    train_subset: int | None = None
    seed: int = 0

    PROFILES: ClassVar = {
        "cpu": {},
        "gpu": {"config": AIRBENCH94, "epochs": 10, "bench_epochs": 10, "whitening_bias_epochs": 3},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        self._require_positive("epochs", "bench_epochs", "batch_size", "lr", "train_subset")
        if not isinstance(self.config, (AirbenchConfig, FastCifarConfig)):
            raise TypeError(f"config must be an AirbenchConfig or a FastCifarConfig, got {type(self.config).__name__}")
        self._require_non_negative("max_shift", "weight_decay", "whitening_bias_epochs")
        self._require_fraction("label_smoothing")
        self._require_fraction("momentum")
        self._require_choice("flip", FLIPS)

    @classmethod
    def design_target(cls, profile: str | None = None, **changes) -> "CifarFastRecipe":
        """Chapter 5's design-target network with the fast loop: ``cpu`` 1 epoch on 10,000 images, ``gpu`` 30.

        Raises:
            ValueError: an unknown profile, or a value out of range.
            TypeError: an unknown field in ``changes`` (the message lists the fields), or a value of the
                wrong type.
        """
        return cls._preset({"cpu": {"epochs": 1, "train_subset": 10_000, "batch_size": 128, "lr": 0.1},
                            "gpu": {"epochs": 30, "batch_size": 256, "lr": 0.2}}, profile, changes)


__all__ = ["AUGMENTATIONS", "FLIPS", "CifarFastRecipe", "CifarRecipe", "MnistRecipe"]
