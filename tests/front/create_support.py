"""Helpers shared by the create-page tests (and others that post the form): real small
files (a PNG, a WAV, an MP4 made here), the form's defaults, posting and reading errors."""

import functools
import html
import io
import re
import wave

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

DEFAULT_SLIDERS = {"bbox_shift": "0", "extra_margin": "10", "parsing_mode": "jaw",
                   "left_cheek_width": "90", "right_cheek_width": "90"}


# --- real small files ----------------------------------------------------------------


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 120, 60)).save(buf, "PNG")
    return buf.getvalue()


def wav_bytes() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 800)
    return buf.getvalue()


@functools.cache
def mp4_bytes(width=64, height=48, frames=5, rate=25) -> bytes:
    """A real, tiny H.264 MP4 (uploads are probed for resolution and duration)."""
    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for _ in range(frames):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24")))
        out.mux(stream.encode(None))
    return buf.getvalue()


def png(name="face.png"):
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def wav(name="speech.wav"):
    return SimpleUploadedFile(name, wav_bytes(), content_type="audio/wav")


def mp4(name="clip.mp4"):
    return SimpleUploadedFile(name, mp4_bytes(), content_type="video/mp4")


# --- helpers -----------------------------------------------------------------------------


def post(client, **data):
    return client.post(reverse("jobs:create"), {**DEFAULT_SLIDERS, **data})


def error_beside(response, name: str) -> str | None:
    """The error text rendered beside field `name` (None when there is none)."""
    match = re.search(rf'<p class="field-error" id="error-{name}">(.*?)</p>', response.content.decode(), re.S)
    return html.unescape(match.group(1)) if match else None


def input_tag(response, name: str, value: str | None = None) -> str:
    tags = re.findall(rf'<input[^>]*name="{name}"[^>]*>', response.content.decode())
    if value is not None:
        tags = [t for t in tags if f'value="{value}"' in t]
    assert tags, f"no input {name}={value!r}"
    return tags[0]


pytestmark = pytest.mark.usefixtures("media_root")  # tests/conftest.py
