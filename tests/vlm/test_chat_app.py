"""The chat app's uploads on ipywidgets 7 (Colab's 7.7.1) and 8 (the pinned lane's).

A browser fills a ``FileUpload`` through comm messages, and the two versions use different
ones: ipywidgets 8 sends ``value``, a list of ``{name, type, size, content, last_modified}``;
ipywidgets 7 sends ``metadata`` and ``data`` lists and bumps ``_counter``, from which the widget
builds ``value`` as a dict keyed by file name. These tests send the installed version's own
messages through ``set_state`` (the method the comm calls), press Ask, and check what reached
:func:`ask`. The pinned lane runs them on 8, the Colab lane (.ci/colab/run) on 7; the
version-free tests below run both shapes everywhere.
"""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

ipywidgets = pytest.importorskip("ipywidgets")
app_module = pytest.importorskip("course_utils.vlm.app")
from course_utils.vlm.audio import SAMPLE_RATE, write_wav  # noqa: E402
from course_utils.widgets import uploaded_files  # noqa: E402

IPYWIDGETS_MAJOR = int(ipywidgets.__version__.split(".")[0])


def png_bytes(colour=(200, 30, 40), size=(20, 12)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def wav_bytes(tmp_path, seconds: float = 0.5) -> bytes:
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    path = write_wav(tmp_path / "q.wav", (3000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))
    return path.read_bytes()


def browser_upload(widget, name: str, content: bytes, mime: str) -> None:
    """What the installed ipywidgets' front end sends when a file is chosen (binary buffers
    reach the kernel as memoryviews)."""
    buffer = memoryview(content)
    if IPYWIDGETS_MAJOR >= 8:
        widget.set_state({"value": [{"name": name, "type": mime, "size": len(content), "content": buffer,
                                     "last_modified": 1_700_000_000_000}]})
    else:
        widget.set_state({"metadata": [{"name": name, "type": mime, "size": len(content),
                                        "lastModified": 1_700_000_000_000}],
                          "data": [buffer], "_counter": widget._counter + 1})


@pytest.fixture
def app(monkeypatch):
    """A ChatApp whose model is replaced by a recorder: only the widgets' wiring is under test."""
    calls = []

    def fake_ask(vlm, image=None, question=None, *, audio=None, transcriber=None, max_new_tokens=40):
        calls.append({"image": image, "question": question, "audio": audio})
        return {"transcript": "heard" if audio is not None else "", "question": question, "answer": "red"}

    monkeypatch.setattr(app_module, "ask", fake_ask)
    scenes = torch.zeros(2, 3, 16, 16, dtype=torch.uint8)
    stand_in = app_module.VisionLanguageModel.__new__(app_module.VisionLanguageModel)  # never called: ask is faked
    chat = app_module.ChatApp(stand_in, scenes, transcriber=lambda audio: "heard")
    chat.calls = calls
    return chat


def test_image_upload_and_ask_button_on_the_installed_ipywidgets(app):
    browser_upload(app.image_upload, "scene.png", png_bytes(), "image/png")
    app.question.value = "what colour is the square?"
    app.button.click()  # what pressing Ask does
    (call,) = app.calls
    assert call["image"].shape == (3, 12, 20) and call["image"].dtype == torch.uint8
    assert call["image"][:, 0, 0].tolist() == [200, 30, 40], "the uploaded pixels reached ask()"
    assert call["question"] == "what colour is the square?" and call["audio"] is None
    assert app.history[-1]["answer"] == "red"


def test_audio_upload_on_the_installed_ipywidgets(app, tmp_path):
    browser_upload(app.audio_upload, "q.wav", wav_bytes(tmp_path), "audio/wav")
    app.button.click()
    (call,) = app.calls
    assert call["audio"].dtype == np.int16 and len(call["audio"]) == SAMPLE_RATE // 2
    assert torch.equal(call["image"], app.images[0]), "no image uploaded: the chosen scene is asked about"


def test_without_uploads_the_chosen_scene_is_used(app):
    app.images[1] += 7
    app.scene.value = 1
    app.button.click()
    assert torch.equal(app.calls[0]["image"], app.images[1]) and app.calls[0]["audio"] is None


@pytest.mark.parametrize("version", [7, 8])
def test_chat_app_reads_both_versions_value_shapes(app, tmp_path, version):
    """Both shapes through ChatApp, whichever ipywidgets is installed (Colab's 7 broke with KeyError: 0)."""
    image, audio = png_bytes((1, 2, 3)), wav_bytes(tmp_path, 0.25)
    if version == 7:
        value_img = {"a.png": {"metadata": {"name": "a.png", "type": "image/png"}, "content": image}}
        value_wav = {"q.wav": {"metadata": {"name": "q.wav", "type": "audio/wav"}, "content": audio}}
    else:
        value_img = ({"name": "a.png", "type": "image/png", "size": len(image), "content": memoryview(image)},)
        value_wav = ({"name": "q.wav", "type": "audio/wav", "size": len(audio), "content": memoryview(audio)},)
    app.image_upload, app.audio_upload = SimpleNamespace(value=value_img), SimpleNamespace(value=value_wav)
    result = app.submit()
    assert app.calls[0]["image"][:, 0, 0].tolist() == [1, 2, 3]
    assert len(app.calls[0]["audio"]) == SAMPLE_RATE // 4 and result["transcript"] == "heard"


def test_uploaded_files_shapes_and_errors():
    assert uploaded_files(SimpleNamespace(value={})) == [] == uploaded_files(SimpleNamespace(value=()))
    v7 = {"x.bin": {"metadata": {"name": "x.bin"}, "content": b"\x01\x02"}}
    v8 = ({"name": "x.bin", "content": memoryview(b"\x01\x02")},)
    assert uploaded_files(SimpleNamespace(value=v7)) == [("x.bin", b"\x01\x02")] == uploaded_files(
        SimpleNamespace(value=v8))
    with pytest.raises(TypeError, match="expected an ipywidgets FileUpload"):
        uploaded_files(SimpleNamespace(value="x.bin"))
    with pytest.raises(TypeError, match="carry no bytes 'content'"):
        uploaded_files(SimpleNamespace(value=({"name": "x.bin"},)))
