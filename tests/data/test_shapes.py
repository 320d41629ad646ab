"""course_utils.data.shapes: the procedural shapes world -- deterministic, disjoint splits, exact boxes, cached."""

from __future__ import annotations

import pytest
import torch

from course_utils.data.shapes import SHAPES, SPLIT_OFFSETS, make_scene, shapes_split


def test_shapes_world_is_deterministic_and_splits_are_disjoint():
    a, b = make_scene(5, 64), make_scene(5, 64)
    assert torch.equal(a.image, b.image) and a.objects == b.objects
    assert a.image.shape == (3, 64, 64) and a.image.dtype == torch.uint8
    assert SPLIT_OFFSETS["train"] + 10**6 < SPLIT_OFFSETS["val"] < SPLIT_OFFSETS["test"]
    test = shapes_split("test", 3, 48)
    assert test[0].seed == SPLIT_OFFSETS["test"] and test[0].size == 48


def test_shapes_boxes_cover_their_objects():
    for scene in shapes_split("train", 30, 64):
        boxes = scene.boxes
        assert ((boxes >= 0) & (boxes <= 64)).all() and (boxes[:, 2:] > boxes[:, :2]).all()
        assert scene.labels.max() < len(SHAPES)
        bg = scene.image.float().mean()
        assert 0 < bg < 255
        d = scene.describe()
        assert len(d["objects"]) == len(scene.objects) and d["background"] in ("stripes", "checks", "noise")


def test_a_square_is_drawn_exactly_in_its_box():
    # find a scene with one untruncated square and check the colour inside its box
    for seed in range(200):
        s = make_scene(seed, 64, max_objects=1)
        if s.objects and s.objects[0].shape == "square" and not s.objects[0].truncated:
            break
    x0, y0, x1, y1 = map(int, s.objects[0].box)
    from course_utils.data.shapes import COLOURS

    rgb = torch.tensor(COLOURS[s.objects[0].colour], dtype=torch.uint8).view(3, 1, 1)
    assert (s.image[:, y0:y1, x0:x1] == rgb).all()  # every pixel of the box has the colour
    ring = s.image[:, max(y0 - 1, 0):y1 + 1, max(x0 - 1, 0):x1 + 1]
    assert (ring == rgb).all(0).sum() == (y1 - y0) * (x1 - x0)  # and not one pixel more


def test_scenes_without_cuts_or_cover():
    # min_visible=1: no object hides any pixel of another; cut_fraction=0: none is cut by the border
    from course_utils.data.shapes import COLOURS

    checked = 0
    for seed in range(60):
        s = make_scene(seed, 48, max_objects=2, min_size=0.3, cut_fraction=0.0, min_visible=1.0)
        assert not any(o.truncated for o in s.objects)
        for o in s.objects:
            if o.shape in ("square", "rectangle"):  # a box-filling shape: every pixel of its box is its colour
                x0, y0, x1, y1 = map(int, o.box)
                rgb = torch.tensor(COLOURS[o.colour], dtype=torch.uint8).view(3, 1, 1)
                assert (s.image[:, y0:y1, x0:x1] == rgb).all()
                checked += len(s.objects) - 1
    assert checked > 5  # some of those boxes shared a scene with another object
    # the default keeps the chapters' scenes as they were: some cut, some covered
    assert any(o.truncated for seed in range(60) for o in make_scene(seed, 48, max_objects=2, min_size=0.3).objects)


@pytest.mark.parametrize("call, message", [
    (lambda: make_scene(0, 8), "at least 16"),
    (lambda: make_scene(0, 64, cut_fraction=1.5), "cut_fraction and min_visible"),
    (lambda: shapes_split("dev", 3), "unknown split 'dev'"),
    (lambda: make_scene(0, 64, max_objects=0), "max_objects"),
])
def test_shapes_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_large_splits_are_cached_and_reload_identically():
    from course_utils.data import cache_dir

    first = shapes_split("val", 5, 32, cache=True)
    files = list(cache_dir("shapes").glob("val-5-32-*.pt"))
    assert len(files) == 1
    again = shapes_split("val", 5, 32, cache=True)  # loaded from the file
    assert all(torch.equal(a.image, b.image) and a.objects == b.objects and a.describe() == b.describe()
               for a, b in zip(first, again))
    fresh = shapes_split("val", 5, 32, cache=False)
    assert all(torch.equal(a.image, b.image) for a, b in zip(first, fresh))
    shapes_split("val", 5, 32, cache=True, max_objects=1)
    assert len(list(cache_dir("shapes").glob("val-5-32-*.pt"))) == 2  # other arguments, another file
