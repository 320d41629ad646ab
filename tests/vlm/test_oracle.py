"""course_utils.vlm.oracle features."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.data.shapes import Scene, ShapeObject  # noqa: E402


def test_oracle_patch_features_by_hand():
    from course_utils.vlm.oracle import oracle_layout, oracle_patch_features

    img = torch.zeros(3, 48, 48, dtype=torch.uint8)
    # a 20x20 red circle at the top left (overlaps patches 0, 1, 3, 4; centre (10, 10) in patch 0)
    # and a 10x30 blue rectangle in the right column (patches 5 and 8; centre (41, 33) in patch 8)
    objs = [ShapeObject("circle", "red", (0.0, 0.0, 20.0, 20.0), False),
            ShapeObject("rectangle", "blue", (36.0, 18.0, 46.0, 48.0), False)]
    sc = Scene(image=img, objects=objs, background="noise", seed=0, size=48)
    f = oracle_patch_features([sc], grid=3, width=40)
    lay = oracle_layout(9)
    assert f.shape == (1, 9, 40) and lay["patch"] == slice(15, 24)
    shape, colour, size = f[0, :, lay["shape"]], f[0, :, lay["colour"]], f[0, :, lay["size"]]
    # circle = shape 0, red = colour 0, rectangle = shape 3, blue = colour 2; 400 / 2304 px is "large",
    # 300 / 2304 is "large" too (> 0.12 of the image)
    assert shape[:, 0].tolist() == [1, 1, 0, 1, 1, 0, 0, 0, 0]
    assert shape[:, 3].tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 1]
    assert colour[:, 0].tolist() == shape[:, 0].tolist() and colour[:, 2].tolist() == shape[:, 3].tolist()
    assert (size[:, 2] == shape.sum(1)).all() and size[:, :2].sum() == 0
    assert f[0, :, lay["centre"]].flatten().tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert torch.equal(f[0, :, lay["patch"]], torch.eye(9)) and f[0, :, 24:].abs().sum() == 0
    # overlapping objects add up in a shared patch
    both = Scene(image=img, objects=objs[:1] + [ShapeObject("square", "red", (10.0, 10.0, 30.0, 30.0), False)],
                 background="noise", seed=0, size=48)
    g = oracle_patch_features([both], grid=3, width=24)
    assert g[0, 4, lay["colour"]][0] == 2 and g[0, 4, lay["shape"]].tolist() == [1, 1, 0, 0, 0]
    with pytest.raises(ValueError, match="width >= 24"):
        oracle_patch_features([sc], grid=3, width=16)
