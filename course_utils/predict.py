"""Classify one image with a saved checkpoint: ``python -m course_utils.predict``.

    python -m course_utils.predict --checkpoint model.pt --image cat.png [--top-k 3] [--json]

The image may be a file path or an http(s) URL (a URL needs the internet; where
there is none, the command says so and exits with status 2). The image is
converted to the checkpoint's channels, resized to its input size, and
normalised with the checkpoint's statistics, so any photo works.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import nn

from .checkpoint import CheckpointMeta, load_checkpoint
from .data.normalize import normalize


class PredictError(RuntimeError):
    """A problem the user can fix (missing file, no internet, not an image)."""


def read_image(source: str, *, timeout: float = 10.0) -> Image.Image:
    """Open an image from a path or an http(s) URL.

    Raises:
        TypeError: ``source`` is not a str or path.
        PredictError: no file there, not an image, a damaged or truncated image, or a failed download.
    """
    if isinstance(source, Path):
        source = str(source)
    if not isinstance(source, str):
        raise TypeError(f"source must be a path or an http(s) URL (str), got {type(source).__name__}")
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=timeout) as response:  # noqa: S310 (http(s) only)
                data = response.read()
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            raise PredictError(
                f"could not download {source} ({err}); is the internet reachable from here? "
                "Download the image elsewhere and pass its path instead."
            ) from err
        stream = io.BytesIO(data)
    else:
        path = Path(source)
        if not path.is_file():
            raise PredictError(f"no image file at {source}")
        stream = io.BytesIO(path.read_bytes())
    try:
        image = Image.open(stream)
        image.load()
    except UnidentifiedImageError as err:
        raise PredictError(f"{source} is not an image PIL can read") from err
    except (OSError, SyntaxError, ValueError) as err:  # truncated or damaged: PIL read the header, not the pixels
        raise PredictError(f"{source} is a damaged or truncated image ({err})") from err
    return image


def prepare(image: Image.Image, meta: CheckpointMeta) -> torch.Tensor:
    """PIL image -> normalised ``Tensor[1, C, H, W]`` matching the checkpoint's input.

    Raises:
        TypeError: ``image`` is not a PIL image (open files with :func:`read_image`), or ``meta`` not a
            :class:`CheckpointMeta`.
    """
    if not isinstance(image, Image.Image):
        raise TypeError(f"image must be a PIL image (see read_image), got {type(image).__name__}")
    if not isinstance(meta, CheckpointMeta):
        raise TypeError(f"meta must be a CheckpointMeta (load_checkpoint returns it), got {type(meta).__name__}")
    c, h, w = meta.input_size
    image = image.convert("L" if c == 1 else "RGB")
    if image.size != (w, h):
        image = image.resize((w, h), Image.BILINEAR)
    x = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).view(h, w, c)  # (H, W, C)
    x = x.permute(2, 0, 1).float().div(255)  # (C, H, W) in [0, 1]
    return normalize(x, meta.mean, meta.std)[None]


@torch.no_grad()
def predict(model: nn.Module, meta: CheckpointMeta, image: Image.Image, top_k: int = 3) -> list[tuple[str, float]]:
    """The ``top_k`` classes and their probabilities, most likely first.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or ``image``/``meta`` as :func:`prepare`.
        PredictError: ``top_k`` is not an int between 1 and the number of classes.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= len(meta.classes):
        raise PredictError(f"top-k must be between 1 and {len(meta.classes)}, got {top_k}")
    device = next(model.parameters()).device
    probs = F.softmax(model.eval()(prepare(image, meta).to(device)), dim=1)[0].cpu()
    values, indices = probs.topk(top_k)
    return [(meta.classes[i], float(p)) for p, i in zip(values.tolist(), indices.tolist())]


def main(argv: list[str] | None = None) -> int:
    """The CLI: prints the top classes of one image; returns the exit status.

    Raises:
        SystemExit: status 2 from argparse for a missing or unknown option. Bad input files do not
            raise: ``main`` prints one line and returns 2 (1 for a bug), never a traceback.
    """
    parser = argparse.ArgumentParser(prog="python -m course_utils.predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a checkpoint saved by course_utils.checkpoint")
    parser.add_argument("--image", required=True, help="an image file or an http(s) URL")
    parser.add_argument("--top-k", type=int, default=3, help="how many classes to print (default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = parser.parse_args(argv)
    try:
        model, meta = load_checkpoint(args.checkpoint)
        ranked = predict(model, meta, read_image(args.image), args.top_k)
    except (PredictError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # a bug, not bad input: still one line, never a traceback (exit 1)
        print(f"error: unexpected {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"image": args.image, "top_k": [{"class": c, "probability": round(p, 4)} for c, p in ranked]}))
    else:
        for rank, (name, p) in enumerate(ranked, 1):
            print(f"{rank}. {name:<12} {p:6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
