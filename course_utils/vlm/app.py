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
    """An uploaded image file (PNG, JPEG, ...) -> ``Tensor[3, H, W]`` uint8 RGB."""
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data)).convert("RGB")
    except UnidentifiedImageError as e:
        raise ValueError("cannot read the uploaded file as an image (expected PNG, JPEG, ...)") from e
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)


def ask(vlm: VisionLanguageModel, image: Tensor | None = None, question: str | None = None, *,
        audio: np.ndarray | None = None, transcriber: Callable[[np.ndarray], str] | None = None,
        max_new_tokens: int = 40) -> dict:
    """Answer a question about an image, as the seed's app: image, text, audio, or any mix.

    The prompt is ``[image][EOI][spoken question][typed question][EOQ]`` (the parts
    present). ``image`` is a uint8 ``Tensor[3, H, W]`` (resized to the tower's size);
    ``audio`` is mono int16 at 16 kHz, transcribed by ``transcriber``.

    Returns ``{"transcript", "question", "answer"}``.
    """
    if vlm.vision is None:
        raise ValueError("the model has no vision tower attached (VisionLanguageModel(..., vision=...))")
    if question is not None and not isinstance(question, str):
        raise TypeError(f"question must be a str or None, got {validate.describe(question)}")
    if image is not None:
        validate.tensor(image, "image", dtype="int", hint="(uint8 Tensor[3, H, W], e.g. from load_image)")
        if image.ndim not in (3, 4) or image.shape[-3] != 3:
            raise ValueError(f"image must be a uint8 Tensor[3, H, W], got {validate.describe(image)}")
    transcript = ""
    if audio is not None:
        if transcriber is None:
            raise ValueError("audio given but no transcriber (e.g. audio.SphinxTranscriber())")
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
    """

    def __init__(self, vlm: VisionLanguageModel, images: Tensor, *,
                 transcriber: Callable[[np.ndarray], str] | None = None) -> None:
        import ipywidgets as W

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
