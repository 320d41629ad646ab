"""course_utils.plotting: figures come back, values are mapped as documented, bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from course_utils.plotting import show_channels, show_images, show_matrix, to_display


def _image_axes(fig: Figure):
    return [ax for ax in fig.axes if ax.images]


def test_show_images_grid_with_titles():
    images = torch.rand(5, 3, 8, 8)
    fig = show_images(images, titles=list("abcde"), ncols=3, suptitle="five")
    assert isinstance(fig, Figure)
    axes = _image_axes(fig)
    assert len(axes) == 5 and [ax.get_title() for ax in axes] == list("abcde")
    assert len(fig.axes) == 6  # 2 rows x 3 columns, the last one blank
    assert fig._suptitle.get_text() == "five"
    assert axes[0].images[0].get_array().shape == (8, 8, 3)  # shown as HWC


@pytest.mark.parametrize("shape", [(1, 1, 6, 6), (1, 6, 6), (6, 6)])
def test_grayscale_shapes_are_accepted(shape):
    fig = show_images(torch.rand(*shape))
    (ax,) = _image_axes(fig)
    assert ax.images[0].get_array().shape == (6, 6)
    assert ax.images[0].get_cmap().name == "gray"


def test_list_of_chw_tensors():
    fig = show_images([torch.rand(3, 4, 4), torch.rand(3, 4, 4)])
    assert len(_image_axes(fig)) == 2


def test_to_display_value_ranges():
    u8 = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 1, 1, 3)
    assert np.allclose(to_display(u8)[0, 0, :, 0], [0, 0.2, 1])
    inside = torch.tensor([0.0, 0.5, 1.0]).view(1, 1, 1, 3)
    assert np.allclose(to_display(inside)[0, 0, :, 0], [0, 0.5, 1])  # already in [0, 1]: untouched
    outside = torch.tensor([-2.0, 0.0, 2.0]).view(1, 1, 1, 3)
    assert np.allclose(to_display(outside)[0, 0, :, 0], [0, 0.5, 1])  # per-image min..max
    clipped = to_display(outside, value_range=(-1, 1))
    assert np.allclose(clipped[0, 0, :, 0], [0, 0.5, 1])
    assert to_display(torch.rand(2, 3, 4, 5)).shape == (2, 4, 5, 3)


def test_to_display_undoes_normalisation():
    x = torch.rand(2, 3, 4, 4)
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    normalised = (x - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
    back = to_display(normalised, mean=mean, std=std, value_range=(0, 1))
    assert np.allclose(back, x.permute(0, 2, 3, 1).numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "images, kwargs, error, message",
    [
        (torch.rand(2, 2, 3, 8, 8), {}, ValueError, "got shape \\(2, 2, 3, 8, 8\\)"),
        (torch.rand(2, 4, 8, 8), {}, ValueError, "1 \\(grayscale\\) or 3 \\(RGB\\) channels"),
        (torch.rand(8, 8, 3), {}, ValueError, "permute\\(2, 0, 1\\)"),
        (torch.rand(2, 3, 8, 8), {"titles": ["one"]}, ValueError, "1 titles for 2 images"),
        (torch.rand(2, 3, 8, 8), {"mean": [0.5] * 3}, ValueError, "both mean and std"),
        (torch.zeros(2, 3, 8, 8, dtype=torch.uint8), {"mean": [0.5] * 3, "std": [0.2] * 3}, ValueError, "uint8"),
        (torch.rand(2, 3, 8, 8), {"value_range": (1, 1)}, ValueError, "high > low"),
        (torch.rand(2, 3, 8, 8), {"ncols": 0}, ValueError, "ncols"),
        (np.zeros((2, 3, 8, 8)), {}, TypeError, "torch.Tensor"),
        ([], {}, ValueError, "no images"),
    ],
)
def test_show_images_rejects_bad_input(images, kwargs, error, message):
    with pytest.raises(error, match=message):
        show_images(images, **kwargs)


def test_show_channels():
    fig = show_channels(torch.rand(3, 5, 5), names=["R", "G", "B"], suptitle="channels")
    axes = _image_axes(fig)
    assert [ax.get_title() for ax in axes] == ["R", "G", "B"]
    assert all(ax.get_xlabel() for ax in axes) and axes[0].get_ylabel() == "y (row)"
    with pytest.raises(ValueError, match="2 names for 3 channels"):
        show_channels(torch.rand(3, 5, 5), names=["R", "G"])
    with pytest.raises(ValueError, match="one image Tensor\\[C, H, W\\]"):
        show_channels(torch.rand(1, 3, 5, 5))


def test_show_matrix_annotates_every_cell():
    values = torch.arange(6).view(2, 3)
    fig = show_matrix(values, title="numbers")
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["0", "1", "2", "3", "4", "5"]
    assert ax.get_title() == "numbers" and ax.get_xlabel() and ax.get_ylabel()
    with pytest.raises(ValueError, match="2-D Tensor"):
        show_matrix(torch.zeros(2, 2, 2))
    with pytest.raises(ValueError, match="too many cells"):
        show_matrix(torch.zeros(40, 40))


def test_each_scales_every_image_to_its_own_range():
    x = torch.tensor([[0.0, 0.1, 0.2], [0.5, 0.5, 1.0]]).view(2, 1, 1, 3)
    out = to_display(x, value_range="each")
    assert np.allclose(out[0, 0, :, 0], [0, 0.5, 1]) and np.allclose(out[1, 0, :, 0], [0, 0, 1])
    with pytest.raises(ValueError, match="'each' or None"):
        to_display(x, value_range="auto")


def test_show_matrices_side_by_side():
    from course_utils.plotting import show_matrices

    fig = show_matrices([torch.zeros(6, 6), torch.ones(3, 3)], ["input", "kernel"], suptitle="conv")
    assert [ax.get_title() for ax in fig.axes] == ["input", "kernel"]
    assert [len(ax.texts) for ax in fig.axes] == [36, 9]
    with pytest.raises(ValueError, match="1 titles for 2 matrices"):
        show_matrices([torch.zeros(2, 2), torch.zeros(2, 2)], ["one"])
    with pytest.raises(ValueError, match="no matrices"):
        show_matrices([])


def test_show_feature_maps_one_panel_per_channel():
    from course_utils.plotting import show_feature_maps

    fig = show_feature_maps(torch.randn(1, 5, 6, 6), ncols=3)
    axes = _image_axes(fig)
    assert [ax.get_title() for ax in axes] == [f"ch {c}" for c in range(5)]
    assert len(_image_axes(show_feature_maps(torch.randn(40, 4, 4), max_maps=8))) == 8
    with pytest.raises(ValueError, match=r"layer output Tensor\[C, H, W\]"):
        show_feature_maps(torch.randn(4, 4))


def test_show_heatmaps_with_boxes():
    from course_utils.plotting import HEATMAP_CMAP, show_heatmaps

    fig = show_heatmaps(torch.rand(2, 8, 8), ["a", "b"], boxes=[(1, 1, 4, 4), None], suptitle="s")
    axes = _image_axes(fig)
    assert [ax.get_title() for ax in axes] == ["a", "b"]
    assert axes[0].images[0].get_cmap().name == HEATMAP_CMAP
    assert len(axes[0].patches) == 1 and len(axes[1].patches) == 0
    (rect,) = axes[0].patches
    assert rect.get_width() == 4 and rect.get_xy() == (0.5, 0.5)  # pixels 1..4 inclusive
    with pytest.raises(ValueError, match="1 boxes for 2 heatmaps"):
        show_heatmaps(torch.rand(2, 8, 8), boxes=[None])
    with pytest.raises(ValueError, match=r"Tensor\[N, H, W\]"):
        show_heatmaps(torch.rand(1, 1, 8, 8))


def test_plot_history():
    from course_utils.plotting import plot_history
    from course_utils.training import History

    h = History(train_loss=[1.0, 0.5], train_acc=[0.6, 0.8], val_loss=[0.9, 0.6], val_acc=[0.65, 0.75], seconds=[1, 1])
    fig = plot_history(h, title="t")
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.lines) == 2 and list(acc_ax.lines[1].get_ydata()) == [65.0, 75.0]
    assert acc_ax.get_ylabel() == "accuracy (%)" and loss_ax.get_xlabel() == "epoch"
    with pytest.raises(ValueError, match="empty"):
        plot_history(History())


def test_plot_history_of_a_loss_only_run_and_of_several_stages():
    from course_utils.plotting import plot_history
    from course_utils.training import History

    detector = History(train_loss=[3.0, 2.0, 1.5], parts=[{"box": 1.0}] * 3, seconds=[1, 1, 1])
    fig = plot_history(detector, log_loss=True)
    (ax,) = fig.axes  # no accuracy panel without accuracies
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "training loss" and ax.get_xlabel() == "epoch"
    stages = {"lm": History(train_loss=[4.0, 3.0, 2.5], unit="step"), "clip": History(train_loss=[5.0, 1.0], unit="step")}
    fig = plot_history(stages, title="per stage")
    assert [a.get_title() for a in fig.axes] == ["lm", "clip"] and fig.axes[1].get_xlabel() == "step"
    assert list(fig.axes[1].lines[0].get_ydata()) == [5.0, 1.0]
    with pytest.raises(TypeError, match="History"):
        plot_history({"lm": [1.0, 0.5]})
    with pytest.raises(ValueError, match="clip is empty"):
        plot_history({"lm": stages["lm"], "clip": History(unit="step")})
    with pytest.raises(ValueError, match="unit must be"):
        History(unit="batch")


def test_plot_confusion_matrix():
    from course_utils.plotting import plot_confusion_matrix

    cm = torch.tensor([[3, 1], [0, 4]])
    fig = plot_confusion_matrix(cm, ["cat", "dog"])
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["0.00", "0.25", "0.75", "1.00"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    counts = plot_confusion_matrix(cm, ["cat", "dog"], normalize=False).axes[0]
    assert sorted(t.get_text() for t in counts.texts) == ["0", "1", "3", "4"]
    with pytest.raises(ValueError, match="3 class names"):
        plot_confusion_matrix(cm, ["a", "b", "c"])


def test_show_attributions_overlays_each_map_on_its_image():
    from course_utils.plotting import HEATMAP_CMAP, show_attributions

    images = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8)
    maps = torch.rand(3, 8, 8) * 5
    fig = show_attributions(images, maps, ["a", "b", "c"], suptitle="s")
    axes = fig.axes
    assert len(axes) == 6 and [ax.get_title() for ax in axes[:3]] == ["a", "b", "c"]
    overlay = axes[3].images[1]
    assert overlay.get_cmap().name == HEATMAP_CMAP
    assert abs(overlay.get_array().max() - 1.0) < 1e-6  # each map scaled to its own maximum
    with pytest.raises(ValueError, match=r"maps must be Tensor\[N, H, W\]"):
        show_attributions(images, torch.rand(2, 8, 8))
    with pytest.raises(ValueError, match="2 titles for 3 images"):
        show_attributions(images, maps, ["a", "b"])


def test_show_detections_draws_one_rectangle_per_box():
    from course_utils.plotting import show_detections

    images = torch.zeros(2, 3, 16, 16, dtype=torch.uint8)
    dets = [{"boxes": torch.tensor([[1.0, 2.0, 5.0, 8.0]]), "labels": torch.tensor([1])},
            {"boxes": torch.tensor([[0.0, 0.0, 4.0, 4.0], [8.0, 8.0, 16.0, 16.0]]), "labels": torch.tensor([0, 1]),
             "scores": torch.tensor([0.9, 0.5])}]
    fig = show_detections(images, dets, ["circle", "square"], titles=["a", "b"])
    axes = [ax for ax in fig.axes if ax.images]
    assert [len(ax.patches) for ax in axes] == [1, 2]
    (rect,) = axes[0].patches
    assert rect.get_xy() == (0.5, 1.5) and rect.get_width() == 4 and rect.get_height() == 6
    assert [t.get_text() for t in axes[1].texts] == ["circle 0.90", "square 0.50"]
    with pytest.raises(ValueError, match="1 detection dicts for 2 images"):
        show_detections(images, dets[:1], ["circle", "square"])
    with pytest.raises(ValueError, match="label 1 outside the 1 class names"):
        show_detections(images, dets, ["circle"])


def test_grouped_bars_positions_and_errors():
    import matplotlib.pyplot as plt

    from course_utils.plotting import grouped_bars

    fig, ax = plt.subplots()
    grouped_bars(ax, {"a": [1.0, 2.0], "b": [3.0, 4.0]}, ["x", "y"])
    bars = sorted(ax.patches, key=lambda b: b.get_x())
    # width 0.8 / 2 = 0.4; series a at 0 and 1, series b at 0.4 and 1.4 (bar centres)
    assert [round(b.get_x() + b.get_width() / 2, 6) for b in bars] == [0.0, 0.4, 1.0, 1.4]
    assert [b.get_height() for b in bars] == [1.0, 3.0, 2.0, 4.0]
    assert list(ax.get_xticks()) == pytest.approx([0.2, 1.2])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y"]
    with pytest.raises(ValueError, match="one value per label"):
        grouped_bars(ax, {"a": [1.0]}, ["x", "y"])
    with pytest.raises(ValueError, match="no series"):
        grouped_bars(ax, {}, ["x"])
    plt.close(fig)
