"""course_utils.recipe and every recipe built on it: frozen, typed, one preset per profile, typos raise."""

from __future__ import annotations

import dataclasses
import json

import pytest

from course_utils.classification import CifarFastRecipe, CifarRecipe, MnistRecipe
from course_utils.detection.recipe import DetectorRecipe
from course_utils.models import AIRBENCH94, AIRBENCH_CPU
from course_utils.recipe import Recipe
from course_utils.vlm import VLMRecipe

RECIPES = [MnistRecipe, CifarRecipe, CifarFastRecipe, DetectorRecipe, VLMRecipe]
PRESETS = [MnistRecipe.first_network, CifarRecipe.tanh_cnn, CifarRecipe.fully_connected, CifarRecipe.ablation,
           CifarRecipe.feature_maps, CifarRecipe.effective_receptive_field, CifarFastRecipe.design_target,
           DetectorRecipe.yolo, DetectorRecipe.ssd]


def test_every_recipe_of_the_package_is_listed_here():
    def subclasses(cls):
        return {c for s in cls.__subclasses__() for c in {s} | subclasses(s)}

    assert subclasses(Recipe) == set(RECIPES)


@pytest.mark.parametrize("cls", RECIPES)
@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_recipes_are_frozen_dataclasses_with_a_preset_per_profile(cls, profile):
    recipe = cls.for_profile(profile)
    assert dataclasses.is_dataclass(recipe) and type(recipe) is cls
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.seed = 1
    json.dumps(recipe.as_dict())  # plain data, for results files
    assert cls.for_profile(profile, seed=3) == recipe.replace(seed=3) != recipe


@pytest.mark.parametrize("cls", RECIPES)
def test_an_unknown_override_raises_and_names_the_fields(cls):
    recipe = cls.for_profile("cpu")
    for bad in (lambda: recipe.replace(epoch=1), lambda: cls.for_profile("cpu", epoch=1)):
        with pytest.raises(TypeError, match=rf"{cls.__name__} has no field\(s\) \['epoch'\]; its fields are"):
            bad()
    with pytest.raises(ValueError, match="unknown profile 'tpu'"):
        cls.for_profile("tpu")


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.__qualname__)
def test_every_preset_builds_on_both_profiles_and_rejects_typos(preset):
    cpu, gpu = preset("cpu"), preset("gpu")
    assert type(cpu) is type(gpu)
    with pytest.raises(TypeError, match="no field"):
        preset("cpu", n_epochs=2)


def test_the_profile_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "gpu")
    assert CifarFastRecipe.for_profile().config == AIRBENCH94
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    assert CifarFastRecipe.for_profile().config == AIRBENCH_CPU


def test_the_chapters_sizes_by_hand():
    assert MnistRecipe.for_profile("cpu").epochs == 3 and MnistRecipe.for_profile("gpu").epochs == 15
    first = MnistRecipe.first_network("cpu")
    assert (first.optimizer, first.lr, first.batch_size, first.max_shift, first.train_subset) == ("adam", 1e-3, 32, 0,
                                                                                                   20_000)
    fast = CifarFastRecipe.for_profile("cpu")
    assert fast.epochs == 2 and fast.bench_epochs == 5  # the chapter's budget, the benchmark's
    abl = CifarRecipe.ablation("cpu")
    assert (abl.epochs, abl.train_subset, abl.test_subset, abl.momentum) == (2, 4_000, 5_000, 0.9)
    vlm = VLMRecipe.for_profile("gpu")
    assert (vlm.n_train, vlm.count_every, vlm.stage2_tuning) == (20_000, 1, "full")


@pytest.mark.parametrize("build, message", [
    (lambda: MnistRecipe(epochs=0), "epochs must be a positive number"),
    (lambda: MnistRecipe(optimizer="lbfgs"), r"optimizer must be one of \('sgd', 'adam'\)"),
    (lambda: MnistRecipe(lr=float("nan")), "lr must be a positive number"),
    (lambda: CifarRecipe(schedule="cosine"), "schedule must be one of"),
    (lambda: CifarRecipe(augment=("mixup",)), "augment must be a tuple of some of"),
    (lambda: CifarRecipe(augment="flip"), r"augment must be tuple\[str, \.\.\.\], got 'flip'"),
    (lambda: CifarRecipe(label_smoothing=1.0), r"label_smoothing in \[0, 1\)"),
    (lambda: CifarFastRecipe(config={"stem": 4}), "config must be AirbenchConfig or FastCifarConfig, got {'stem': 4}"),
    (lambda: CifarFastRecipe(batch_size=True), "batch_size must be int, got True"),
    (lambda: VLMRecipe(stage2_tuning="adapters"), "stage2_tuning must be one of"),
    (lambda: VLMRecipe(clip_grounding=-1.0), "clip_grounding must be >= 0"),
])
def test_bad_values_raise_when_the_recipe_is_built(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()


def test_select_cuts_the_data_to_the_recipes_subsets(fake_mirror):
    from course_utils.data import load_dataset

    train, test = load_dataset("cifar10", "train"), load_dataset("cifar10", "test")
    small_train, small_test = CifarRecipe(train_subset=10, test_subset=5).select(train, test)
    assert (len(small_train), len(small_test)) == (10, 5)
    assert CifarRecipe().select(train, test) == (train, test)
