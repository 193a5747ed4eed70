"""Caps on what a media file costs to render, checked by its content: image pixels,
video resolution and duration, audio duration. Used at upload (front.uploads) and by
the local engine on the inputs it downloads, so one person cannot hold the render slot
with a 13000×13000 px picture or an hour of audio.

Only headers are read: Pillow's `open` reads the size without decoding pixels (and its
MAX_IMAGE_PIXELS decompression-bomb guard is set to our cap), PyAV's probe reads the
container's streams. `check(path_or_file, kind, caps)` returns None when within the
caps, else a sentence for a person.
"""

import warnings
from dataclasses import dataclass

from PIL import Image


@dataclass(frozen=True)
class Caps:
    image_pixels: int = 40_000_000
    video_pixels: int = 3840 * 2160
    video_seconds: float = 120.0
    audio_seconds: float = 300.0

    @classmethod
    def from_settings(cls) -> "Caps":
        from django.conf import settings

        return cls(image_pixels=settings.MEDIA_MAX_IMAGE_PIXELS, video_pixels=settings.MEDIA_MAX_VIDEO_PIXELS,
                   video_seconds=settings.MEDIA_MAX_VIDEO_SECONDS, audio_seconds=settings.MEDIA_MAX_AUDIO_SECONDS)


UNREADABLE_IMAGE = "The picture could not be read. Use a JPG, PNG or WebP image."


def _mp(pixels: float) -> str:
    return f"{pixels / 1e6:.1f} MP"


def image_problem(source, caps: Caps) -> str | None:
    """`source`: a path or a file object. Never decodes the pixels."""
    Image.MAX_IMAGE_PIXELS = caps.image_pixels  # Pillow's own bomb guard, for every later open too
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we say it better below
            with Image.open(source) as image:
                width, height = image.size
    except Image.DecompressionBombError:  # over twice the cap: Pillow refuses before we see the size
        return (f"The picture has over {_mp(2 * caps.image_pixels)}; the limit is {_mp(caps.image_pixels)}. "
                "Use a smaller picture.")
    except Exception:  # Pillow raises many types for broken or hostile files
        return UNREADABLE_IMAGE
    if width * height > caps.image_pixels:
        return (f"The picture is {width}×{height} px ({_mp(width * height)}); the limit is "
                f"{_mp(caps.image_pixels)}. Use a smaller picture.")
    return None


def _probe(source):
    import av

    with av.open(source) as container:
        duration = container.duration / 1_000_000 if container.duration else None
        video = next(iter(container.streams.video), None)
        size = (video.codec_context.width, video.codec_context.height) if video is not None else None
        if video is not None and duration is None and video.duration and video.time_base:
            duration = float(video.duration * video.time_base)
        audio = next(iter(container.streams.audio), None)
        if audio is not None and duration is None and audio.duration and audio.time_base:
            duration = float(audio.duration * audio.time_base)
    return size, duration


def video_problem(source, caps: Caps) -> str | None:
    try:
        size, duration = _probe(source)
    except Exception:
        return "The video could not be read. Use an MP4 or MOV video."
    if size is None:
        return "The file has no video track. Use an MP4 or MOV video."
    width, height = size
    if width * height > caps.video_pixels:
        return (f"The video is {width}×{height} px; the limit is {_mp(caps.video_pixels)} "
                "(e.g. 3840×2160). Use a smaller video.")
    if duration is not None and duration > caps.video_seconds:
        return f"The video is {duration:.0f} s long; the limit is {caps.video_seconds:g} s. Use a shorter clip."
    return None


def audio_problem(source, caps: Caps) -> str | None:
    try:
        _size, duration = _probe(source)
    except Exception:
        return "The audio could not be read. Use an MP3 or WAV file."
    if duration is not None and duration > caps.audio_seconds:
        return f"The audio is {duration:.0f} s long; the limit is {caps.audio_seconds:g} s. Use a shorter clip."
    return None


def duration(source) -> float | None:
    """A media file's length in seconds from its headers, or None when it cannot be read."""
    try:
        return _probe(source)[1]
    except Exception:
        return None


def check(source, kind: str, caps: Caps) -> str | None:
    """kind: 'image', 'video' or 'audio'."""
    return {"image": image_problem, "video": video_problem, "audio": audio_problem}[kind](source, caps)
