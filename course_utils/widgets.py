"""Interactive explorers for Jupyter and Colab (ipywidgets); each has a static twin for the website.

The widgets only wire controls to the same computing and plotting functions a
chapter uses for its static figures, so what the website shows is what the
explorer draws for the same settings.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor

from . import validate
from .conv import conv_output_size, named_kernels


def uploaded_files(upload) -> list[tuple[str, bytes]]:
    """``[(file name, content)]`` of an ipywidgets ``FileUpload``, on ipywidgets 7 and 8 alike.

    The two versions keep uploads differently, and Colab runs 7 (7.7.1) while a local
    install gets 8:

    * ipywidgets 8: ``value`` is a tuple of dicts, ``{"name", "type", "size", "content",
      "last_modified"}``, with ``content`` a ``memoryview``;
    * ipywidgets 7: ``value`` is a dict keyed by file name, ``{name: {"metadata": {...},
      "content": bytes}}``.

    Raises:
        TypeError: ``upload`` has no ``value`` in either shape.
    """
    value = getattr(upload, "value", None)
    if isinstance(value, dict):  # ipywidgets 7
        items = [(name, entry.get("content") if isinstance(entry, dict) else None) for name, entry in value.items()]
    elif isinstance(value, (tuple, list)):  # ipywidgets 8
        items = [(entry.get("name", ""), entry.get("content")) if isinstance(entry, dict) else ("", None)
                 for entry in value]
    else:
        raise TypeError(f"expected an ipywidgets FileUpload, whose value is a tuple (ipywidgets 8) or a dict "
                        f"(ipywidgets 7), got {type(upload).__name__} with value {type(value).__name__}")
    bad = [name for name, content in items if not isinstance(content, (bytes, bytearray, memoryview))]
    if bad:
        raise TypeError(f"upload entries {bad} carry no bytes 'content'; expected FileUpload's own value shapes")
    return [(name, bytes(content)) for name, content in items]


def convolve_image(image: Tensor, kernel: Tensor, stride: int = 1, padding: int = 0, relu: bool = False) -> Tensor:
    """Convolve one grayscale ``Tensor[H, W]`` with one ``Tensor[kH, kW]`` kernel -> ``Tensor[H_out, W_out]``.

    Raises:
        TypeError: ``image`` or ``kernel`` is not a tensor.
        ValueError: either is not 2-dimensional, the stride or padding is not an int in range, or the kernel
            spans more than the padded image.
    """
    validate.tensor(image, "image", ndim=2, hint="(one grayscale Tensor[H, W])")
    validate.tensor(kernel, "kernel", ndim=2, hint="(one Tensor[kH, kW])")
    for size, k in zip(image.shape, kernel.shape):
        conv_output_size(int(size), int(k), stride, padding)  # raises for a bad stride, padding or kernel size
    out = F.conv2d(image[None, None].float(), kernel[None, None].float(), stride=stride, padding=padding)[0, 0]
    return out.clamp_min(0) if relu else out


def conv_figure(image: Tensor, kernel: Tensor, output: Tensor, *, title: str = "") -> Figure:
    """Input, kernel (annotated) and output side by side, each with its shape.

    Raises:
        TypeError: ``image``, ``kernel`` or ``output`` is not a tensor.
        ValueError: one of them is not 2-dimensional.
    """
    for name, t in (("image", image), ("kernel", kernel), ("output", output)):
        validate.tensor(t, name, ndim=2)
    fig, axes = plt.subplots(1, 3, figsize=(8.5, 3.2), gridspec_kw={"width_ratios": [4, 2, 4]})
    image, kernel, output = (t.detach().cpu().float().numpy() for t in (image, kernel, output))
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title(f"input {tuple(image.shape)}", fontsize=10)
    vmax = float(abs(kernel).max()) or 1.0
    axes[1].imshow(kernel, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    for i in range(kernel.shape[0]):
        for j in range(kernel.shape[1]):
            axes[1].text(j, i, f"{float(kernel[i, j]):.2g}", ha="center", va="center", fontsize=8)
    axes[1].set_title(f"kernel {tuple(kernel.shape)}", fontsize=10)
    axes[2].imshow(output, cmap="gray")
    axes[2].set_title(f"output {tuple(output.shape)}", fontsize=10)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


class ConvExplorer:
    """Edit a 3x3 kernel, the stride, the padding and ReLU; see the convolved image.

    ``ConvExplorer(image).widget`` is the ipywidgets box to display; ``.output``
    holds the last computed ``Tensor[H_out, W_out]`` (so tests and readers can
    inspect it).

    Raises:
        TypeError: ``image`` is not a tensor.
        ValueError: ``image`` is not one grayscale ``Tensor[H, W]``, or ``preset`` is not a named kernel.
        ImportError: ipywidgets is not installed.
    """

    def __init__(self, image: Tensor, preset: str = "vertical edge") -> None:
        import ipywidgets as W  # imported here: optional for everything else

        validate.tensor(image, "image", ndim=2, hint="(the explorer takes one grayscale Tensor[H, W])")
        self.image = image.float()
        self.presets = named_kernels()
        if preset not in self.presets:
            raise ValueError(f"unknown preset {preset!r}; valid: {sorted(self.presets)}")
        self.cells = [W.FloatText(value=0.0, layout=W.Layout(width="70px")) for _ in range(9)]
        self.preset = W.Dropdown(options=sorted(self.presets), value=preset, description="preset")
        self.stride = W.IntSlider(value=1, min=1, max=4, description="stride")
        self.padding = W.IntSlider(value=0, min=0, max=4, description="padding")
        self.relu = W.Checkbox(value=False, description="ReLU after")
        self.plot = W.Output()
        self._load_preset()
        self.preset.observe(lambda _: (self._load_preset(), self.update()), names="value")
        for control in [*self.cells, self.stride, self.padding, self.relu]:
            control.observe(lambda _: self.update(), names="value")
        grid = W.GridBox(self.cells, layout=W.Layout(grid_template_columns="repeat(3, 75px)"))
        controls = W.VBox([self.preset, W.Label("kernel (edit any value)"), grid, self.stride, self.padding, self.relu])
        self.widget = W.HBox([controls, self.plot])
        self.output = torch.empty(0)
        self.update()

    def _load_preset(self) -> None:
        for cell, value in zip(self.cells, self.presets[self.preset.value].flatten().tolist()):
            cell.value = round(value, 4)

    @property
    def kernel(self) -> Tensor:
        return torch.tensor([c.value for c in self.cells], dtype=torch.float32).view(3, 3)

    def update(self) -> None:
        """Recompute the output and redraw it."""
        from IPython.display import display

        self.output = convolve_image(self.image, self.kernel, self.stride.value, self.padding.value, self.relu.value)
        self.plot.clear_output(wait=True)
        with self.plot:
            fig = conv_figure(self.image, self.kernel, self.output,
                              title=f"stride {self.stride.value}, padding {self.padding.value}"
                              + (", ReLU" if self.relu.value else ""))
            display(fig)
            plt.close(fig)
