"""Talking-head renderer: a photo, video or built-in character + audio -> MP4.

Pipeline (streaming, one frame at a time):
  audio -> RMS per video frame (25 fps) -> smoothed, gated, normalised mouth openness
           (shaped by espeak visemes when the audio came from our TTS)
  frames -> FaceMesh landmarks (once for a still, tracked + smoothed for a video)
         -> MouthRig warps lower lip/jaw and paints the mouth interior (engine/mouth.py)
         -> libx264 yuv420p + AAC, faststart, written to a temp file then os.replace()
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .characters import CHARACTERS, character_image
from .face import NO_FACE_MESSAGE, FaceNotFound, LandmarkDetector, LandmarkSmoother, plausible
from .media import FPS, MediaError, Mp4Writer, VideoSource, audio_envelope, load_image, make_instant_clip, probe
from .mouth import MouthRig

__all__ = [
    "CHARACTERS", "FaceNotFound", "MediaError", "RenderParams", "RenderResult", "character_image",
    "make_instant_clip", "openness_track", "probe", "render",
]

LEVELS = 48  # openness quantisation for the still-image cache
FACE_SEARCH_FRAMES = 3 * FPS  # a video must show a face within its first 3 s


@dataclass(frozen=True)
class RenderParams:
    bbox_shift: int = 0  # [-9, 9]; positive opens the mouth more, negative less
    extra_margin: int = 10  # [0, 50]; grows the crop (more chin/neck take part in the blend)
    parsing_mode: str = "jaw"  # "jaw": jaw moves with the lips; "raw": only the lips move
    left_cheek_width: int = 90  # [50, 150]; width of the blend region on the left cheek
    right_cheek_width: int = 90  # [50, 150]; same, right cheek
    animate: bool = True  # False: no mouth motion at all (quality-control baseline)

    def checked(self) -> "RenderParams":
        if self.parsing_mode not in ("jaw", "raw"):
            raise ValueError(f'parsing_mode must be "jaw" or "raw", not {self.parsing_mode!r}')
        clamp = lambda v, lo, hi: int(min(hi, max(lo, round(float(v)))))  # noqa: E731
        return RenderParams(
            bbox_shift=clamp(self.bbox_shift, -9, 9), extra_margin=clamp(self.extra_margin, 0, 50),
            parsing_mode=self.parsing_mode, left_cheek_width=clamp(self.left_cheek_width, 50, 150),
            right_cheek_width=clamp(self.right_cheek_width, 50, 150), animate=bool(self.animate))


@dataclass(frozen=True)
class RenderResult:
    duration: float
    frames: int
    width: int
    height: int


def _viseme_track(visemes, n: int, fps: int = FPS) -> np.ndarray:
    """Mean viseme openness over each frame's interval."""
    acc = np.zeros(n, np.float64)
    for start, end, value in visemes:
        a, b = start * fps, end * fps
        for i in range(max(0, int(a)), min(n, int(np.ceil(b)))):
            overlap = min(b, i + 1) - max(a, i)
            if overlap > 0:
                acc[i] += overlap * float(value)
    return np.clip(acc, 0.0, 1.0)


def openness_track(rms: np.ndarray, visemes=None, fps: int = FPS) -> np.ndarray:
    """Mouth openness 0..1 per frame from the RMS envelope (and visemes when given)."""
    rms = np.asarray(rms, np.float64)
    voiced = rms[rms > 1e-5]
    if voiced.size == 0:
        return np.zeros_like(rms)
    peak = float(np.percentile(voiced, 95))
    if peak < 1e-4:  # below -80 dBFS: silence
        return np.zeros_like(rms)
    o = np.clip(rms / peak, 0.0, 1.0)
    gate = max(0.08, 10 ** (-50 / 20) / peak)  # relative gate, and -50 dBFS absolute
    o = np.clip((o - gate) / (1.0 - gate), 0.0, 1.0) ** 0.8
    if visemes:
        o = o * (0.35 + 0.65 * _viseme_track(visemes, o.size, fps))
        top = float(np.percentile(o[o > 0], 95)) if np.any(o > 0) else 1.0
        o = np.clip(o / max(top, 1e-6), 0.0, 1.0)
    if o.size >= 3:
        o = np.convolve(np.pad(o, 1, mode="edge"), [0.2, 0.6, 0.2], mode="valid")
    return o


def render(visual_path: Path, visual_kind: str, audio_path: Path, out_path: Path,
           params: RenderParams = RenderParams(), visemes=None) -> RenderResult:
    """Render `visual_path` speaking `audio_path` into the MP4 `out_path` (atomically)."""
    if visual_kind not in ("image", "video", "character"):
        raise ValueError(f'visual_kind must be "image", "video" or "character", not {visual_kind!r}')
    params = params.checked()
    visual_path, out_path = Path(visual_path), Path(out_path)
    if not visual_path.is_file():
        raise MediaError(f"The {visual_kind} file is missing.")
    if not Path(audio_path).is_file():
        raise MediaError("The audio file is missing.")
    rms, duration, channels = audio_envelope(Path(audio_path))
    n = rms.size
    track = openness_track(rms, visemes) if params.animate else np.zeros(n)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part.mp4")
    detector = LandmarkDetector(static=visual_kind != "video")
    writer = None
    try:
        if visual_kind == "video":
            src = VideoSource(visual_path)
            width, height = src.width, src.height
            writer = Mp4Writer(tmp, width, height, Path(audio_path), channels)
            _render_video(src, n, track, params, detector, writer)
        else:
            frame = load_image(visual_path)
            height, width = frame.shape[:2]
            lm = detector.detect_with_fallback(frame)
            if lm is None or not plausible(lm, frame.shape):
                raise FaceNotFound(NO_FACE_MESSAGE)
            writer = Mp4Writer(tmp, width, height, Path(audio_path), channels)
            _render_still(frame, lm, n, track, params, writer)
        writer.close()
        writer = None
        os.replace(tmp, out_path)
    except BaseException:
        if writer is not None:
            writer.abort()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        detector.close()
    return RenderResult(duration=duration, frames=n, width=width, height=height)


def _render_still(frame, lm, n, track, params, writer) -> None:
    out = frame.copy()
    if not params.animate:
        for _ in range(n):
            writer.write(out)
        return
    rig = MouthRig(lm, params, frame.shape)
    cache: dict[int, tuple] = {}
    for i in range(n):
        level = int(round(float(track[i]) * LEVELS))
        if level not in cache:
            cache[level] = rig.render(frame, level / LEVELS)
        (x0, y0, x1, y1), pix = cache[level]
        out[y0:y1, x0:x1] = pix
        writer.write(out)


def _render_video(src: VideoSource, n, track, params, detector, writer) -> None:
    smoother = LandmarkSmoother()
    seen_face = False
    for i, frame in enumerate(src.frames(n)):
        lm = detector.detect(frame)
        if lm is None and (not seen_face or i % 10 == 0):
            lm = detector.detect_with_fallback(frame)
        if lm is not None and not plausible(lm, frame.shape):
            lm = None
        lm = smoother.update(lm)
        if lm is None:
            if not seen_face and i + 1 >= min(n, FACE_SEARCH_FRAMES):
                raise FaceNotFound(NO_FACE_MESSAGE)
            writer.write(frame)
            continue
        seen_face = True
        if not params.animate:
            writer.write(frame)
            continue
        out = frame.copy()
        (x0, y0, x1, y1), pix = MouthRig(lm, params, frame.shape).render(frame, float(track[i]))
        out[y0:y1, x0:x1] = pix
        writer.write(out)
