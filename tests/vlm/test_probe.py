"""course_utils.vlm.probe: own-object patches, linear probes."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.data.shapes import ShapeObject  # noqa: E402
from course_utils.vlm.dataset import vlm_scenes  # noqa: E402


def test_own_object_patches_by_hand(scene_of):
    from course_utils.vlm.probe import own_object_patches

    # circle on patches {0, 1, 3, 4}, square on {4, 5, 7, 8}: patch 4 is shared, so it is left out
    circle = ShapeObject("circle", "red", (0.0, 0.0, 20.0, 20.0), False)
    two = scene_of([circle, ShapeObject("square", "blue", (20.0, 20.0, 40.0, 40.0), False)])
    one = scene_of([circle])
    same_colour = scene_of([circle, ShapeObject("square", "red", (30.0, 30.0, 48.0, 48.0), False)])
    r = own_object_patches([one, two, same_colour], grid=3, attribute="colour")
    assert r["scene"].tolist() == [1] * 6  # one object, or both objects red: no rows
    assert r["patch"].tolist() == [0, 1, 3, 5, 7, 8]
    assert r["own"].tolist() == [0, 0, 0, 2, 2, 2] and r["other"].tolist() == [2, 2, 2, 0, 0, 0]  # red 0, blue 2
    s = own_object_patches([same_colour], grid=3, attribute="shape")  # circle {0, 1, 3, 4}, square {4, 5, 7, 8}
    assert s["patch"].tolist() == [0, 1, 3, 5, 7, 8] and s["own"].tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="one of"):
        own_object_patches([two], grid=3, attribute="size")

def test_patch_probe_reads_oracle_features_and_not_noise():
    from course_utils.vlm.oracle import oracle_patch_features
    from course_utils.vlm.probe import linear_probe, patch_probe

    train, test = vlm_scenes("train", 300), vlm_scenes("test", 100)
    f_train, f_test = oracle_patch_features(train, 3, 32), oracle_patch_features(test, 3, 32)
    for attribute in ("colour", "shape"):
        r = patch_probe(f_train, train, f_test, test, attribute, grid=3)
        assert r["own"] == 1.0 and r["other"] == 0.0 and r["n_test"] > 20
    torch.manual_seed(0)
    noise = patch_probe(torch.randn(300, 9, 32), train, torch.randn(100, 9, 32), test, "colour", grid=3)
    assert noise["own"] < noise["guess"] + 0.15
    with pytest.raises(ValueError, match=r"expected features \[100, 9, D\]"):
        patch_probe(f_train, train, f_test[:, :4], test, "colour", grid=3)
    with pytest.raises(ValueError, match=r"y_train must lie in \[0, 3\)"):
        linear_probe(torch.randn(4, 2), torch.tensor([0, 1, 2, 5]), torch.randn(1, 2), n_classes=3)
    # two separable clusters: the probe gets them all
    x = torch.cat([torch.randn(50, 3) + 4, torch.randn(50, 3) - 4])
    y = torch.tensor([0] * 50 + [1] * 50)
    assert torch.equal(linear_probe(x, y, torch.tensor([[4.0, 4, 4], [-4.0, -4, -4]]), 2), torch.tensor([0, 1]))
