"""The renderer's lips on its output video: they follow the loudness of a still photo,
every built-in character and a video; they stay still when not animated; only the mouth
and jaw change; bbox_shift and parsing_mode do what they say.

The quality tests re-detect the lips in the rendered MP4 with mediapipe FaceMesh and
correlate the per-frame lip gap with the audio's per-frame loudness, computed here
independently of the engine (tests/engine/render_support.py). The still-photo criteria
run on every built-in character: two of them smile with their teeth showing, so "closed
in silence" has to be made, not just kept.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from engine import renderer
from engine.renderer import RenderParams
from tests.engine.render_support import (
    AUDIO_SECONDS,
    CHARACTER_NAMES,
    FPS,
    chin_positions,
    frame_loudness,
    lip_gaps,
    make_bursts_wav,
    make_motion_video,
    pearson,
    silent_frames,
)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("engine_render_lips")


@pytest.fixture(scope="module")
def speech_wav(work) -> Path:
    return make_bursts_wav(work / "bursts.wav")


@pytest.fixture(scope="module")
def photo() -> Path:
    return renderer.character_image("navtalk.Ava")  # neutral, closed-mouth portrait


@pytest.fixture(scope="module")
def character_renders(work, speech_wav):
    """name, animate -> (output, result, lip gaps); each rendered and measured once."""
    cache = {}

    def get(name: str, animate: bool = True):
        if (name, animate) not in cache:
            out = work / f"{name}{'' if animate else '_still'}.mp4"
            result = renderer.render(renderer.character_image(name), "character", speech_wav, out,
                                     RenderParams(animate=animate))
            cache[name, animate] = out, result, lip_gaps(out)
        return cache[name, animate]

    return get


@pytest.mark.parametrize("name", CHARACTER_NAMES)
def test_it_moves_the_lips_with_the_loudness_of_a_still_photo(character_renders, name, speech_wav):
    out, result, gaps = character_renders(name)
    loud = frame_loudness(speech_wav, gaps.size)
    r = pearson(gaps, loud)
    assert r >= 0.6, f"lip gap follows loudness poorly on a photo: r={r:.2f}"
    quiet = silent_frames(gaps.size)
    rest = np.nanmedian(character_renders(name, animate=False)[2])  # the photo's own lip gap
    if rest < 0.05:  # a closed mouth at rest
        ratio = np.nanmax(gaps[quiet]) / np.nanmax(gaps)
        assert ratio <= 0.15, f"mouth is not closed in silence: silent gap {ratio:.0%} of the maximum"
    else:
        # a smile that shows its teeth at rest closes with the lips alone (the jaw and chin
        # stay put: tests/engine/test_render_defects.py); this FaceMesh (no refinement) reads
        # such closed lips as a slit of 0.06-0.08 mouth widths whatever the face does, so the
        # silent gap must be well under the photo's own instead of near zero
        typical, worst = np.nanmedian(gaps[quiet]), np.nanmax(gaps[quiet])
        assert typical <= 0.5 * rest and worst <= 0.6 * rest, (
            f"not closed in silence: {typical:.3f}/{worst:.3f}, rest {rest:.3f}")
    assert np.nanmax(gaps) > 0.12, "the mouth barely opens"


@pytest.mark.parametrize("name", CHARACTER_NAMES)
def test_it_keeps_the_mouth_still_when_not_animated(character_renders, name, speech_wav):
    out, result, gaps = character_renders(name, animate=False)
    loud = frame_loudness(speech_wav, gaps.size)
    r = 0.0 if np.nanstd(gaps) < 1e-9 else pearson(gaps, loud)
    assert abs(r) < 0.2, f"mouth moves with the audio although animate=False: r={r:.2f}"


@pytest.fixture(scope="module")
def rigs():
    """name -> (image, landmarks, MouthRig) for the built-in characters."""
    from engine.face import LandmarkDetector
    from engine.media import load_image
    from engine.mouth import MouthRig

    detector = LandmarkDetector(static=True)
    try:
        out = {}
        for name in CHARACTER_NAMES:
            img = load_image(renderer.character_image(name))
            lm = detector.detect_with_fallback(img)
            out[name] = img, lm, MouthRig(lm, RenderParams().checked(), img.shape)
        return out
    finally:
        detector.close()


@pytest.mark.parametrize("name", CHARACTER_NAMES)
def test_only_the_mouth_and_jaw_change_and_the_open_mouth_is_dark_inside(rigs, name):
    import mediapipe as mp

    from engine.face import FACE_L, FACE_R, LOWER_INNER, MOUTH_L, MOUTH_R, UPPER_INNER

    img, lm, rig = rigs[name]
    width = np.linalg.norm(lm[MOUTH_R] - lm[MOUTH_L])
    for openness in (0.0, 0.5, 1.0):
        (x0, y0, x1, y1), pix = rig.render(img, openness)
        out = img.copy()
        out[y0:y1, x0:x1] = pix
        ys, xs = np.nonzero(np.abs(out.astype(int) - img).max(axis=2))
        assert ys.size, f"nothing changed at openness {openness}"
        # the upper lip, nose, eyes and everything beside the face stay byte-identical
        assert ys.min() >= lm[0, 1] - 0.06 * width, (openness, ys.min(), lm[0, 1])
        assert lm[FACE_L, 0] <= xs.min() and xs.max() <= lm[FACE_R, 0], (openness, xs.min(), xs.max())
    # wide open: the re-detected opening is mostly dark (an interior, not skin or a smear)
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as fm:
        p = fm.process(cv2.cvtColor(out, cv2.COLOR_BGR2RGB)).multi_face_landmarks[0].landmark
    pts = np.array([(q.x * out.shape[1], q.y * out.shape[0]) for q in p], np.float32)
    inner = np.zeros(out.shape[:2], np.uint8)
    cv2.fillPoly(inner, [np.round(np.concatenate([pts[UPPER_INNER], pts[LOWER_INNER][::-1]])).astype(np.int32)], 1)
    gray = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).astype(float)
    x, y = np.round(pts[50]).astype(int)  # cheek
    cheek = gray[y - 3:y + 4, x - 3:x + 4].mean()
    dark_half = np.sort(gray[inner.astype(bool)])[: max(1, int(inner.sum()) // 2)].mean()
    assert dark_half < 0.4 * cheek, (dark_half, cheek)


def test_it_moves_the_lips_with_the_loudness_of_a_video(work, photo, speech_wav):
    clip = make_motion_video(photo, work / "motion.mp4")  # shorter than the audio: loops
    out = work / "video.mp4"
    result = renderer.render(clip, "video", speech_wav, out)
    gaps = lip_gaps(out)
    r = pearson(gaps, frame_loudness(speech_wav, gaps.size))
    assert r >= 0.5, f"lip gap follows loudness poorly on a video: r={r:.2f}"
    info = renderer.probe(out)
    assert info["fps"] == 25 and abs(info["duration"] - AUDIO_SECONDS) <= 1 / FPS
    assert result.frames == gaps.size


def test_bbox_shift_opens_the_mouth_more_or_less(work, photo, speech_wav):
    means = {}
    for shift in (-7, 7):
        out = work / f"shift{shift}.mp4"
        renderer.render(photo, "image", speech_wav, out, RenderParams(bbox_shift=shift))
        gaps = lip_gaps(out)
        means[shift] = np.nanmean(gaps[~silent_frames(gaps.size)])
    assert means[7] > means[-7] * 1.25, means


def test_raw_mode_moves_the_chin_less_than_jaw_mode(work, photo, speech_wav):
    travel = {}
    for mode in ("jaw", "raw"):
        out = work / f"{mode}.mp4"
        renderer.render(photo, "image", speech_wav, out, RenderParams(parsing_mode=mode))
        ys = chin_positions(out)
        quiet = silent_frames(ys.size)
        travel[mode] = np.percentile(ys[~quiet], 90) - np.median(ys[quiet])
    assert travel["jaw"] > 2.0, travel
    assert travel["raw"] < 0.5 * travel["jaw"], travel


@pytest.mark.parametrize("name", CHARACTER_NAMES)
def test_each_character_renders(character_renders, name):
    entry = renderer.CHARACTERS[name]
    assert entry["display_name"] and entry["description"]
    assert entry["image"] == renderer.character_image(name) and entry["image"].is_file()
    preview = Path(__file__).resolve().parents[2] / "static" / entry["preview"]
    assert preview.is_file() and max(cv2.imread(str(preview)).shape[:2]) <= 320
    out, result, gaps = character_renders(name)
    assert result.frames == round(AUDIO_SECONDS * FPS) == gaps.size
    assert np.nanmax(gaps) > 3 * max(np.nanmedian(gaps[silent_frames(gaps.size)]), 0.01)
