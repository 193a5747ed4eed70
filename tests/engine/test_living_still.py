"""A living still: blinks at natural intervals, small head motion and breathing, and a
background that does not warp (issue 15, point 3)."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import facekit as fk  # noqa: E402
from engine import renderer  # noqa: E402
from engine.face import LandmarkDetector  # noqa: E402
from engine.motion import LivingStill  # noqa: E402


@pytest.mark.skipif(not fk.LIBRIVOX.is_dir(), reason="needs Debian's pocketsphinx-testdata")
def test_a_photo_blinks_at_a_natural_rate(tmp_path):
    wav, _ = fk.speech_clip(tmp_path / "speech.wav", utterances=(0, 1, 4))  # ~15 s
    out = tmp_path / "leo.mp4"
    result = renderer.render(fk.character("leo"), "character", wav, out)
    eye = fk.eye_openness(fk.track(fk.decode(out)))
    per_min = fk.blinks(eye) * 60 / result.duration
    assert 8 <= per_min <= 30, f"{per_min:.1f} blinks a minute"
    assert np.nanmin(eye) < 0.6 * np.nanmedian(eye)


def test_the_head_sways_and_breathes_without_warping_the_background():
    img = cv2.imread(str(fk.character("leo")))
    lm = LandmarkDetector(static=True).detect_with_fallback(img)
    life = LivingStill(img, lm, 200, blink=False)
    x0, y0, x1, y1 = life.box
    outside = np.ones(img.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    noses, biggest = [], 0.0
    for i in range(0, 200, 20):
        out = life.apply(img.copy(), i)
        assert np.array_equal(out[outside], img[outside]), "pixels outside the person's region changed"
        dx, dy = life.displacement(i)
        biggest = max(biggest, float(np.hypot(dx, dy).max()))
        # where the person's region ends inside the picture, nothing moves any more (at the
        # picture's own edges the person is cut by the frame and may move)
        d = np.hypot(dx, dy)
        h, w = img.shape[:2]
        edges = [d[:, 0] if x0 > 0 else [], d[:, -1] if x1 < w else [], d[0, :] if y0 > 0 else []]
        assert np.concatenate([np.zeros(1), *edges]).max() < 0.02
        noses.append(fk.still_landmarks(out)[1])
    assert biggest < 0.04 * life.F, f"moves up to {biggest:.1f} px: more than a sway"
    spread = np.ptp(np.array(noses), axis=0)
    assert spread.max() > 1.0, f"the head does not move: nose spread {spread}"
