"""course_utils.attribution: hand-computed cases, equivalence with captum, batching and errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils import attribution as A

captum_attr = pytest.importorskip("captum.attr")
pytestmark = pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1), nn.Tanh(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 5),
    ).double().eval()


def linear_model(c: int = 2, h: int = 4, w: int = 5, k: int = 3) -> tuple[nn.Module, torch.Tensor]:
    """logits = W x (no bias): every attribution has a closed form in W."""
    torch.manual_seed(1)
    lin = nn.Linear(c * h * w, k, bias=False).double()
    return nn.Sequential(nn.Flatten(), lin).eval(), lin.weight.detach().view(k, c, h, w)


@pytest.fixture
def batch() -> torch.Tensor:
    return torch.rand(3, 3, 10, 10, generator=torch.Generator().manual_seed(2), dtype=torch.float64)


def test_saliency_of_a_linear_model_is_its_weights():
    model, weight = linear_model()
    x = torch.randn(2, 2, 4, 5, dtype=torch.float64)
    target = torch.tensor([2, 0])
    assert torch.equal(A.saliency(model, x, target, absolute=False), weight[target])
    assert torch.equal(A.saliency(model, x, target), weight[target].abs())


@pytest.mark.parametrize("absolute", [True, False])
def test_saliency_equals_captum_and_batches(batch, absolute):
    model, target = small_cnn(), torch.tensor([0, 3, 4])
    ours = A.saliency(model, batch, target, absolute=absolute)
    theirs = captum_attr.Saliency(model).attribute(batch, target=target, abs=absolute)
    assert ours.shape == batch.shape and torch.allclose(ours, theirs, atol=1e-12)
    one_by_one = torch.cat([A.saliency(model, batch[i:i + 1], int(target[i]), absolute=absolute) for i in range(3)])
    assert torch.allclose(ours, one_by_one, atol=1e-12)


def test_smoothgrad_equals_captum_noise_tunnel_under_one_seed(batch):
    model, batch = small_cnn().float(), batch.float()  # captum draws its noise in float32
    for i, target in enumerate([1, 4, 2]):
        x = batch[i:i + 1]
        sigma = 0.2 * float(x.max() - x.min())  # captum takes the absolute standard deviation
        torch.manual_seed(7)
        ours = A.smoothgrad(model, x, target, n_samples=6, noise_level=0.2, batch_size=4)
        torch.manual_seed(7)
        theirs = captum_attr.NoiseTunnel(captum_attr.Saliency(model)).attribute(
            x, nt_type="smoothgrad", nt_samples=6, stdevs=sigma, target=target)
        assert torch.allclose(ours, theirs, atol=1e-6)


def test_smoothgrad_without_noise_is_saliency_and_uses_the_generator(batch):
    model, target = small_cnn(), torch.tensor([0, 1, 2])
    assert torch.allclose(A.smoothgrad(model, batch, target, n_samples=3, noise_level=0.0),
                          A.saliency(model, batch, target), atol=1e-12)
    a = A.smoothgrad(model, batch, target, n_samples=4, generator=torch.Generator().manual_seed(5))
    b = A.smoothgrad(model, batch, target, n_samples=4, generator=torch.Generator().manual_seed(5))
    c = A.smoothgrad(model, batch, target, n_samples=4, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_occlusion_of_a_linear_model_by_hand():
    model, weight = linear_model()
    x = torch.randn(1, 2, 4, 5, dtype=torch.float64)
    # 1x1 windows, baseline 0: blanking pixel (y, x) drops the score by sum_c W[t, c, y, x] * x[c, y, x]
    per_pixel = (weight[1] * x[0]).sum(0)  # (H, W)
    out = A.occlusion(model, x, 1, window=1, stride=1)
    assert torch.allclose(out[0], per_pixel.expand(2, 4, 5), atol=1e-12)
    # one window over the whole image: the drop is the whole score, everywhere
    whole = A.occlusion(model, x, 1, window=(4, 5), stride=1)
    assert torch.allclose(whole, model(x)[0, 1].expand(1, 2, 4, 5), atol=1e-12)


@pytest.mark.parametrize("window, stride", [(4, 2), (4, 3), ((3, 5), (2, 4)), (10, 1)])
def test_occlusion_equals_captum(batch, window, stride):
    model, batch, target = small_cnn().float(), batch.float(), torch.tensor([4, 0, 2])  # captum's masks are float32
    wh, ww = (window, window) if isinstance(window, int) else window
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ours = A.occlusion(model, batch, target, window=window, stride=stride, baseline=0.25, batch_size=7)
    theirs = captum_attr.Occlusion(model).attribute(
        batch, sliding_window_shapes=(3, wh, ww), strides=(3, sh, sw), baselines=0.25, target=target)
    assert torch.allclose(ours, theirs, atol=1e-5)
    one = A.occlusion(model, batch[1:2], 0, window=window, stride=stride, baseline=0.25)
    assert torch.allclose(one, ours[1:2], atol=1e-6)


def test_class_model_of_a_linear_model_points_along_its_weights():
    model, weight = linear_model()
    image, frames = A.class_model(model, 2, shape=(2, 4, 5), steps=30, lr=0.05, l2=0.0, jitter=0,
                                  blur_every=0, frame_every=10)
    cosine = torch.nn.functional.cosine_similarity(image.flatten(), weight[2].flatten().to(image.dtype), dim=0)
    assert cosine > 0.999 and len(frames) == 3
    scores = [model(f[None].double())[0, 2].item() for f in frames]
    assert scores == sorted(scores)  # the class score only rises


def test_class_model_regularisers_and_bounds():
    model = small_cnn().float()
    gen = torch.Generator().manual_seed(0)
    image, frames = A.class_model(model, 3, shape=(3, 10, 10), steps=20, jitter=1, blur_every=5, bounds=(-1.0, 1.0),
                                  frame_every=0, generator=gen)
    assert image.shape == (3, 10, 10) and frames == []
    assert image.min() >= -1 and image.max() <= 1
    start = model(torch.zeros(1, 3, 10, 10))[0, 3]
    assert model(image[None])[0, 3] > start


def test_gaussian_blur_keeps_constants_and_smooths():
    flat = torch.full((1, 2, 6, 6), 0.7)
    assert torch.allclose(A.gaussian_blur(flat, 1.0), flat, atol=1e-6)
    spike = torch.zeros(1, 1, 9, 9)
    spike[0, 0, 4, 4] = 1.0
    blurred = A.gaussian_blur(spike, 1.0)
    assert blurred[0, 0, 4, 4] < 1 and abs(blurred.sum().item() - 1) < 1e-5
    assert torch.equal(A.gaussian_blur(spike, 0.0), spike)


def test_reduce_channels_and_rank_correlation():
    a = torch.tensor([[[[1.0, -3.0]], [[-2.0, 2.0]]]])  # (1, 2, 1, 2)
    assert A.reduce_channels(a, "max").tolist() == [[[2.0, 3.0]]]
    assert A.reduce_channels(a, "mean").tolist() == [[[1.5, 2.5]]]
    assert A.reduce_channels(a, "sum").tolist() == [[[-1.0, -1.0]]]
    v = torch.randn(50)
    assert A.rank_correlation(v, v.exp()) == pytest.approx(1.0)
    assert A.rank_correlation(v, -v) == pytest.approx(-1.0)


@pytest.mark.parametrize("call, message", [
    (lambda m, x: A.saliency(m, x[0], 0), r"Tensor\[B, C, H, W\]"),
    (lambda m, x: A.saliency(m, x, 5), r"target classes must lie in \[0, 5\)"),
    (lambda m, x: A.saliency(m, x, [0, 1]), r"one class per image \(Tensor\[3\]\)"),
    (lambda m, x: A.smoothgrad(m, x, [0, 1]), r"one class per image"),
    (lambda m, x: A.smoothgrad(m, x, 0, n_samples=0), "n_samples"),
    (lambda m, x: A.occlusion(m, x, 0, window=11), r"window \(11, 11\) must fit"),
    (lambda m, x: A.occlusion(m, x, 0, window=4, stride=5), "stride"),
    (lambda m, x: A.occlusion(m, x, -1), "target classes"),
    (lambda m, x: A.class_model(m, 9, shape=(3, 10, 10), steps=1), "target classes"),
    (lambda m, x: A.class_model(m, 0, shape=(10, 10)), r"\(C, H, W\)"),
    (lambda m, x: A.reduce_channels(x, "median"), "how must be"),
    (lambda m, x: A.rank_correlation(x[0], x[1, :2]), "same shape"),
])
def test_errors(batch, call, message):
    with pytest.raises(ValueError, match=message):
        call(small_cnn(), batch)
