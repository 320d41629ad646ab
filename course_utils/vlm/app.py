"""The chat app: image + typed or spoken question -> answer (the course's Gradio counterpart).

:func:`ask` is the computation; :class:`ChatApp` wires ipywidgets to it, so the
website's static example (the chapter calls :func:`ask` directly) and the live
app in Jupyter or Colab give the same answers.
"""

from __future__ import annotations

import io
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from .. import validate
from ..widgets import uploaded_files
from .audio import read_wav
from .model import VisionLanguageModel
from .vision import encode_images


def load_image(data: bytes) -> Tensor:
    """An uploaded image file (PNG, JPEG, ...) -> ``Tensor[3, H, W]`` uint8 RGB.

    Raises:
        TypeError: ``data`` is not the file's bytes (a path, a string, an array).
        ValueError: the bytes are not an image PIL can read, or a damaged or truncated one.
    """
    from PIL import Image, UnidentifiedImageError

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be the uploaded file's bytes, got {validate.describe(data)}"
                        + (" (open the file and pass f.read())" if isinstance(data, str) else ""))
    try:
        img = Image.open(io.BytesIO(data))
        img.load()  # PIL reads the header lazily: decode now, so a truncated file fails here
        img = img.convert("RGB")
    except UnidentifiedImageError as e:
        raise ValueError("cannot read the uploaded file as an image (expected PNG, JPEG, ...)") from e
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as e:
        raise ValueError(f"the uploaded image is damaged or truncated ({e})") from e
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)


def ask(vlm: VisionLanguageModel, image: Tensor | None = None, question: str | None = None, *,
        audio: np.ndarray | None = None, transcriber: Callable[[np.ndarray], str] | None = None,
        max_new_tokens: int = 40) -> dict:
    """Answer a question about an image, as the seed's app: image, text, audio, or any mix.

    The prompt is ``[image][EOI][spoken question][typed question][EOQ]`` (the parts
    present). ``image`` is a uint8 ``Tensor[3, H, W]`` (resized to the tower's size);
    ``audio`` is mono int16 at 16 kHz, transcribed by ``transcriber``.

    Returns ``{"transcript", "question", "answer"}``.

    Raises:
        TypeError: ``vlm`` is not a :class:`VisionLanguageModel`; ``question`` is not a str or None;
            ``image`` is not a tensor; ``transcriber`` is not callable; ``max_new_tokens`` is not an int.
        ValueError: the model has no vision tower; ``image`` is not uint8 Tensor[3, H, W]; audio without a
            transcriber; neither an image nor a question; ``max_new_tokens`` below 1.
    """
    validate.instance(vlm, "vlm", VisionLanguageModel)
    if vlm.vision is None:
        raise ValueError("the model has no vision tower attached (VisionLanguageModel(..., vision=...))")
    if question is not None and not isinstance(question, str):
        raise TypeError(f"question must be a str or None, got {validate.describe(question)}")
    validate.positive_int(max_new_tokens, "max_new_tokens")
    if image is not None:
        validate.tensor(image, "image", hint="(uint8 Tensor[3, H, W], e.g. from load_image)")
        if image.ndim not in (3, 4) or image.shape[-3] != 3 or image.dtype != torch.uint8:
            raise ValueError(f"image must be a uint8 Tensor[3, H, W], got {validate.describe(image)}")
    transcript = ""
    if audio is not None:
        if transcriber is None:
            raise ValueError("audio given but no transcriber (e.g. audio.SphinxTranscriber())")
        if not callable(transcriber):
            raise TypeError(f"transcriber must be a function of audio -> text, got {validate.describe(transcriber)}")
        transcript = transcriber(audio)
    text = " ".join(t for t in (transcript, (question or "").strip()) if t) or None
    if image is None and text is None:
        raise ValueError("ask needs an image, a question, or both")
    features = None
    if image is not None:
        features = encode_images(vlm.vision, image[None] if image.ndim == 3 else image, vlm.cfg, resize=True)
    answer = vlm.generate(features, [text], max_new_tokens=max_new_tokens)[0]
    return {"transcript": transcript, "question": text, "answer": answer}


class ChatApp:
    """An ipywidgets chat: pick a test scene or upload an image, type or upload a spoken question.

    ``ChatApp(vlm, images).widget`` is the box to display; ``images`` is a
    ``Tensor[N, 3, H, W]`` uint8 of scenes to choose from. ``history`` keeps every
    exchange (what :func:`ask` returned).

    Raises:
        TypeError: ``vlm`` is not a :class:`VisionLanguageModel`, ``images`` not a tensor, or ``transcriber``
            not callable.
        ValueError: ``images`` is not a non-empty uint8 Tensor[N, 3, H, W].
    """

    def __init__(self, vlm: VisionLanguageModel, images: Tensor, *,
                 transcriber: Callable[[np.ndarray], str] | None = None) -> None:
        import ipywidgets as W

        validate.instance(vlm, "vlm", VisionLanguageModel)
        validate.tensor(images, "images", ndim=4, hint="(the scenes to choose from: uint8 Tensor[N, 3, H, W])")
        if images.dtype != torch.uint8 or images.shape[1] != 3 or len(images) == 0:
            raise ValueError(f"images must be a non-empty uint8 Tensor[N, 3, H, W], got {validate.describe(images)}")
        if transcriber is not None and not callable(transcriber):
            raise TypeError(f"transcriber must be a function of audio -> text, got {validate.describe(transcriber)}")
        self.vlm, self.images, self.transcriber = vlm, images, transcriber
        self.history: list[dict] = []
        self._read_wav = read_wav
        self.scene = W.Dropdown(options=list(range(len(images))), value=0, description="scene")
        self.image_upload = W.FileUpload(accept="image/*", multiple=False, description="image")
        self.audio_upload = W.FileUpload(accept=".wav", multiple=False, description="spoken (.wav)")
        self.question = W.Text(placeholder="what colour is the circle?", description="question")
        self.button = W.Button(description="Ask", button_style="primary")
        self.output = W.Output()
        self.button.on_click(lambda _: self.submit())
        self.widget = W.VBox([W.HBox([self.scene, self.image_upload]), W.HBox([self.question, self.audio_upload]),
                              self.button, self.output])

    def current_image(self) -> Tensor:
        """The uploaded image if there is one (the latest), else the chosen test scene."""
        files = uploaded_files(self.image_upload)  # ipywidgets 7 (Colab) and 8 keep uploads differently
        if files:
            return load_image(files[-1][1])
        return self.images[self.scene.value]

    def submit(self) -> dict:
        """What the Ask button does: answer, record in ``history``, print to the output area."""
        audio = None
        spoken = uploaded_files(self.audio_upload)
        if spoken:
            audio = self._read_wav(spoken[-1][1])
        result = ask(self.vlm, self.current_image(), self.question.value or None, audio=audio,
                     transcriber=self.transcriber)
        self.history.append(result)
        with self.output:
            if result["transcript"]:
                print(f"heard: {result['transcript']}")
            print(f"you: {result['question'] or '(image only)'}")
            print(f"model: {result['answer']}")
        return result
