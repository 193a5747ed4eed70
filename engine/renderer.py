"""Talking-head renderer: a photo, video or built-in character + audio -> MP4.

Pipeline (streaming, one frame at a time):
  audio -> RMS per video frame (25 fps) -> mouth openness relative to the recording's own
           level; phones (the TTS's espeak phonemes, or PocketSphinx on uploaded speech)
           -> a mouth Shape per frame: open, round, spread, closed (engine/visemes.py)
  still -> FaceMesh landmarks (refined on a square crop), MouthRig per shape (cached),
           then blinks, head sway and breathing (engine/motion.py)
  video -> turned upright, FaceMesh tracked + smoothed; a scene cut forgets the face; the
           source's own open mouth is closed from a reference frame (engine/redub.py);
           frames without a face pass through untouched
  frames -> libx264 yuv420p + AAC on an encoder thread, faststart, temp file + os.replace()
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from navtalk import contract

from . import face
from .characters import CHARACTERS, character_image
from .face import NO_FACE_MESSAGE, FaceNotFound, LandmarkSmoother, plausible
from .media import FPS, MediaError, Mp4Writer, VideoSource, audio_envelope, load_image, make_instant_clip, probe
from .motion import LivingStill
from .mouth import MouthRig
from .redub import MouthNeutraliser, SceneCuts
from .visemes import Shape, openness_track, shape_track

__all__ = [
    "CHARACTERS", "FaceNotFound", "MediaError", "RenderParams", "RenderResult", "Shape", "character_image",
    "make_instant_clip", "openness_track", "probe", "render",
]

FACE_SEARCH_FRAMES = 3 * FPS  # a video must show a face within its first 3 s


_P = contract.NUMBER_PARAMS


@dataclass(frozen=True)
class RenderParams:
    """The advanced parameters, with the contract's defaults (navtalk.contract)."""

    bbox_shift: int = _P["bbox_shift"].default  # positive opens the mouth more, negative less
    extra_margin: int = _P["extra_margin"].default  # grows the crop (more chin/neck in the blend)
    parsing_mode: str = contract.PARSING_MODE_DEFAULT  # "jaw": jaw moves with the lips; "raw": only lips
    left_cheek_width: int = _P["left_cheek_width"].default  # width of the blend region, left cheek
    right_cheek_width: int = _P["right_cheek_width"].default  # same, right cheek
    animate: bool = True  # False: no mouth motion at all (quality-control baseline)

    def checked(self) -> RenderParams:
        """Parameters clamped to the contract's ranges."""
        if self.parsing_mode not in contract.PARSING_MODES:
            raise ValueError(f'parsing_mode must be "jaw" or "raw", not {self.parsing_mode!r}')
        values = {name: int(min(p.high, max(p.low, round(float(getattr(self, name)))))) for name, p in _P.items()}
        return RenderParams(parsing_mode=self.parsing_mode, animate=bool(self.animate), **values)


@dataclass(frozen=True)
class RenderResult:
    duration: float
    frames: int
    width: int
    height: int


def _phones_for(audio_path: Path, visemes, phones):
    """Phones to shape the lips: given, from the TTS's visemes, or recognised."""
    if phones is not None:
        return list(phones)
    from .tts import phones_of

    from_tts = phones_of(visemes)
    if from_tts:
        return from_tts
    if visemes:  # legacy visemes without phones: loudness x visemes only
        return []
    from .phones import recognise

    return recognise(audio_path)


def render(visual_path: Path, visual_kind: str, audio_path: Path, out_path: Path,
           params: RenderParams = RenderParams(), visemes=None, phones=None) -> RenderResult:
    """Render `visual_path` speaking `audio_path` into the MP4 `out_path` (atomically).

    `visemes`: the TTS's (start, end, openness) spans (with `.phone`); `phones`:
    [(start, end, label)] to use instead of recognising the speech."""
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
    if params.animate:
        shapes = shape_track(rms, _phones_for(Path(audio_path), visemes, phones), visemes)
    else:
        shapes = [Shape()] * n

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part.mp4")
    writer = None
    try:
        if visual_kind == "video":
            src = VideoSource(visual_path)
            width, height = src.width, src.height
            writer = Mp4Writer(tmp, width, height, Path(audio_path), channels)
            _render_video(src, n, shapes, params, writer)
        else:
            frame = load_image(visual_path)
            height, width = frame.shape[:2]
            lm = face.detector(static=True).detect_with_fallback(frame)
            if lm is None or not plausible(lm, frame.shape):
                raise FaceNotFound(NO_FACE_MESSAGE)
            writer = Mp4Writer(tmp, width, height, Path(audio_path), channels)
            _render_still(frame, lm, n, shapes, params, writer)
        writer.close()
        writer = None
        os.replace(tmp, out_path)
    except BaseException:
        if writer is not None:
            writer.abort()
        tmp.unlink(missing_ok=True)
        raise
    return RenderResult(duration=duration, frames=n, width=width, height=height)


def _render_still(frame, lm, n, shapes, params, writer) -> None:
    if not params.animate:
        for _ in range(n):
            writer.write(frame)
        return
    rig = MouthRig(lm, params, frame.shape)
    life = LivingStill(frame, lm, n)
    cache: dict[Shape, tuple] = {}
    for i in range(n):
        key = shapes[i].quantised()
        if key not in cache:
            cache[key] = rig.render(frame, key)
        (x0, y0, x1, y1), pix = cache[key]
        out = frame.copy()
        out[y0:y1, x0:x1] = pix
        writer.write(life.apply(out, i))


def _render_video(src: VideoSource, n, shapes, params, writer) -> None:
    detector = face.detector(static=False)
    detector.reset()
    smoother = LandmarkSmoother(hold=2)
    cuts, neutral = SceneCuts(), MouthNeutraliser()
    seen_face = False
    for i, frame in enumerate(src.frames(n)):
        if cuts.is_cut(frame):  # a new shot: nothing of the previous face carries over
            detector.reset()
            smoother.reset()
            neutral.reset()
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
        neutral.observe(frame, lm)
        base, closed_lm = neutral.neutralise(frame, lm)
        out = base.copy()
        (x0, y0, x1, y1), pix = MouthRig(closed_lm, params, frame.shape).render(base, shapes[i])
        out[y0:y1, x0:x1] = pix
        writer.write(out)
