"""Spoken questions (the seed's stage 3): speech in, text out, then the text goes to the VLM.

The seed transcribes audio with WhisperX and feeds the text as the question.
Offline, this module uses what PyPI packages ship with their models:

* :func:`synthesise` -- eSpeak NG (the ``espeakng-loader`` wheel bundles the
  library and its English voice) speaks a question into 16 kHz audio, so the
  chapter has test audio without recording any;
* :class:`SphinxTranscriber` -- CMU PocketSphinx (the ``pocketsphinx`` wheel
  bundles a US English acoustic model) recognises it, constrained by a JSGF
  grammar of the course's question templates (:func:`question_grammar`): a
  voice-command recogniser, not open dictation;
* :func:`whisper_transcriber` -- Whisper through ``transformers`` on the ``gpu``
  profile with internet (the seed's choice of model family).

Audio is mono int16 at :data:`SAMPLE_RATE` throughout; WAV files go through
the standard library's ``wave``.
"""

from __future__ import annotations

import ctypes
import wave
from pathlib import Path

import numpy as np

from .. import validate
from ..data.shapes import COLOURS, SHAPES

SAMPLE_RATE = 16_000
"""Hz: what PocketSphinx's acoustic model and Whisper expect."""

_ESPEAK: dict = {}


def _espeak():
    """Load and initialise eSpeak NG once (synchronous mode: audio comes back through a callback)."""
    if "lib" not in _ESPEAK:
        try:
            import espeakng_loader
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("speech synthesis needs the espeakng-loader package: pip install espeakng-loader") from e
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
        chunks: list[np.ndarray] = []

        def on_audio(wav, n, events):
            if n > 0 and wav:
                chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        cb = callback_type(on_audio)
        rate = lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0)  # 2: AUDIO_OUTPUT_SYNCHRONOUS
        if rate <= 0:
            raise RuntimeError("eSpeak NG failed to initialise")
        lib.espeak_SetSynthCallback(cb)
        _ESPEAK.update(lib=lib, cb=cb, chunks=chunks, rate=rate, voice=None)
    return _ESPEAK


def synthesise(text: str, *, voice: str = "en-us", words_per_minute: int = 150) -> np.ndarray:
    """Speak ``text`` with eSpeak NG -> mono int16 ``ndarray[T]`` at 16 kHz.

    Raises:
        TypeError: ``text`` or ``voice`` is not a str, or ``words_per_minute`` not an int.
        ValueError: ``text`` is empty, eSpeak NG has no such ``voice``, or ``words_per_minute`` lies outside
            eSpeak's [80, 450].
    """
    from scipy.signal import resample_poly

    validate.instance(text, "text", str)
    validate.instance(voice, "voice", str)
    validate.number(words_per_minute, "words_per_minute", low=80, high=450, integer=True)
    if not text.strip():
        raise ValueError("nothing to say: empty text")
    es = _espeak()
    lib = es["lib"]
    if es["voice"] != voice:
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"eSpeak NG has no voice {voice!r}")
        es["voice"] = voice
    lib.espeak_SetParameter(1, int(words_per_minute), 0)  # 1: espeakRATE
    es["chunks"].clear()
    b = text.encode()
    lib.espeak_Synth(ctypes.c_char_p(b), ctypes.c_size_t(len(b) + 1), 0, 1, 0, 0, None, None)
    lib.espeak_Synchronize()
    audio = np.concatenate(es["chunks"]) if es["chunks"] else np.zeros(0, np.int16)
    g = np.gcd(SAMPLE_RATE, es["rate"])
    out = resample_poly(audio.astype(np.float32), SAMPLE_RATE // g, es["rate"] // g)
    return np.clip(out, -32768, 32767).astype(np.int16)


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Save mono int16 audio (``ndarray[T]``) as a WAV file; returns its path.

    Raises:
        TypeError: ``path`` is not a str or Path, ``audio`` not a NumPy array, or ``sample_rate`` not an int.
        ValueError: ``audio`` is not one channel of int16 samples (float audio in [-1, 1] would turn to
            silence: scale it by 32767 and cast), or ``sample_rate`` is below 1.
    """
    validate.instance(path, "path", (str, Path))
    validate.instance(audio, "audio", np.ndarray, "a NumPy array (mono int16 samples)")
    if audio.ndim != 1 or audio.dtype != np.int16:
        hint = " (scale float audio in [-1, 1] by 32767, then .astype(np.int16))" if audio.dtype.kind == "f" else ""
        raise ValueError(f"audio must be mono int16 ndarray[T], got {audio.dtype} of shape {audio.shape}{hint}")
    validate.positive_int(sample_rate, "sample_rate")
    path = Path(path)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(audio.tobytes())
    return path


def read_wav(source: str | Path | bytes) -> np.ndarray:
    """Read a 16-bit PCM WAV (a path or the file's bytes) -> mono int16 at 16 kHz.

    Stereo is averaged; other sample rates are resampled.

    Raises:
        TypeError: ``source`` is not a path or bytes.
        FileNotFoundError: no file at the path.
        ValueError: not a 16-bit PCM WAV, or a truncated or damaged one (the message names the file).
    """
    import io

    from scipy.signal import resample_poly

    validate.instance(source, "source", (str, Path, bytes, bytearray, memoryview), "a WAV file's path or its bytes")
    source = bytes(source) if isinstance(source, memoryview) else source
    if not isinstance(source, (bytes, bytearray)) and not Path(source).is_file():
        raise FileNotFoundError(f"no WAV file at {source}")
    try:
        handle = wave.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else str(source), "rb")
    except (wave.Error, EOFError) as e:
        raise ValueError(f"cannot read audio from {source if not isinstance(source, bytes) else 'the bytes'}: "
                         f"expected a 16-bit PCM WAV file ({e})") from e
    what = source if not isinstance(source, (bytes, bytearray)) else "the bytes"
    with handle as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"expected 16-bit PCM WAV audio, got {8 * w.getsampwidth()}-bit samples")
        rate, channels = w.getframerate(), w.getnchannels()
        try:
            frames = w.readframes(w.getnframes())
        except (wave.Error, EOFError, ValueError) as e:
            raise ValueError(f"cannot read audio from {what}: a damaged WAV file ({e})") from e
    if rate < 1 or channels < 1 or len(frames) % (2 * channels):
        raise ValueError(f"cannot read audio from {what}: a truncated or damaged WAV file ({len(frames)} bytes of "
                         f"{channels}-channel 16-bit frames at {rate} Hz)")
    audio = np.frombuffer(frames, dtype=np.int16)
    if channels > 1:
        audio = audio.reshape(-1, channels).mean(axis=1)
    if rate != SAMPLE_RATE:
        g = np.gcd(SAMPLE_RATE, rate)
        audio = resample_poly(audio.astype(np.float32), SAMPLE_RATE // g, rate // g)
    return np.clip(audio, -32768, 32767).astype(np.int16)


def question_grammar() -> str:
    """A JSGF grammar of every question the shapes world asks (and "describe the image")."""
    shapes, colours = " | ".join(SHAPES), " | ".join(COLOURS)
    return f"""#JSGF V1.0;
grammar questions;
public <question> = <count> | <colour> | <shape> | <size> | <where> | <describe>;
<shapes> = {shapes};
<colours> = {colours};
<count> = how many shapes are there;
<colour> = what colour is the <shapes>;
<shape> = what shape is the <colours> object;
<size> = how big is the <colours> <shapes>;
<where> = where is the <colours> <shapes>;
<describe> = describe the image;
"""


class SphinxTranscriber:
    """Offline speech recognition with PocketSphinx's bundled US English model.

    ``grammar``: a JSGF grammar to constrain recognition to (default: the course's
    questions, :func:`question_grammar`); None: PocketSphinx's general English
    language model (open vocabulary, much less accurate).

    Raises:
        TypeError: ``grammar`` is not a str or None.
        ValueError: ``grammar`` is not a JSGF grammar PocketSphinx can compile.
    """

    def __init__(self, grammar: str | None = "default") -> None:
        if grammar is not None:
            validate.instance(grammar, "grammar", str, "a JSGF grammar (str), 'default' or None")
            if grammar != "default" and not grammar.lstrip().startswith("#JSGF"):
                # checked here: PocketSphinx's C parser would echo the text to stdout before failing
                raise ValueError(f"grammar is not a JSGF grammar (it must start with '#JSGF'), got "
                                 f"{grammar[:40]!r}; see question_grammar() for one that is")
        try:
            from pocketsphinx import Decoder
        except ImportError as e:  # pragma: no cover
            raise ImportError("offline speech recognition needs pocketsphinx: pip install pocketsphinx") from e
        import logging

        logging.getLogger("pocketsphinx").setLevel(logging.WARNING)
        # FATAL: PocketSphinx's C library writes ERROR lines straight to the process's stderr, for
        # example when an utterance matches no sentence of the grammar, which is an empty transcript
        # here, not a failure. Real failures still raise (a bad grammar, a missing model).
        self.decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        if grammar is not None:
            try:
                self.decoder.add_jsgf_string("questions", question_grammar() if grammar == "default" else grammar)
            except (RuntimeError, ValueError) as e:
                raise ValueError(f"grammar is not a JSGF grammar PocketSphinx can compile ({e}); see "
                                 "question_grammar() for one that is") from e
            self.decoder.activate_search("questions")

    def __call__(self, audio: np.ndarray) -> str:
        """Mono int16 audio at 16 kHz -> the recognised text ("" if nothing)."""
        audio = np.asarray(audio)
        if audio.ndim != 1 or audio.dtype != np.int16:
            raise ValueError(f"expected mono int16 audio ndarray[T] at 16 kHz, got {audio.dtype} {audio.shape}")
        if len(audio) < SAMPLE_RATE // 10:
            raise ValueError(f"audio too short to transcribe: {len(audio)} samples (< 0.1 s at 16 kHz)")
        self.decoder.start_utt()
        self.decoder.process_raw(audio.tobytes(), full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        return hyp.hypstr.strip() if hyp is not None else ""


def whisper_transcriber(model: str = "openai/whisper-small", device: str | int | None = None):
    """Whisper through ``transformers.pipeline`` (needs the internet for the weights): audio -> text.

    Raises:
        TypeError: ``model`` is not a Hub id (str).
        OSError: the weights are neither cached nor downloadable (offline).
    """
    from transformers import pipeline

    validate.instance(model, "model", str, "a Hub id such as 'openai/whisper-small'")

    asr = pipeline("automatic-speech-recognition", model=model, device=device)

    def transcribe(audio: np.ndarray) -> str:
        return asr({"raw": audio.astype(np.float32) / 32768, "sampling_rate": SAMPLE_RATE})["text"].strip()

    return transcribe
