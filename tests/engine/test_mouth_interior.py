"""The drawn mouth interior on a closed-mouth source (issue 15, point 2's last clause).

Grace Hopper's photo (the character Ava) has her lips closed at rest, so a loud frame's
interior is the engine's shaded teeth-and-tongue model. Measured on the output with the
lips re-detected by FaceMesh (bench/facekit.py), independently of the engine's geometry:
a warm interior, and an ivory band of upper teeth under the upper lip that follows the
opening (it was a 2-3 px grey line that read as part of a blue-black hole).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import facekit as fk  # noqa: E402
from engine import face, renderer  # noqa: E402
from engine.face import LOWER_INNER, MOUTH_L, MOUTH_R, UPPER_INNER  # noqa: E402
from engine.mouth import MouthRig  # noqa: E402


@pytest.fixture(scope="module")
def hopper():
    """name -> the source image, for Ava as shipped and at the 720p video's scale."""
    img = cv2.imread(str(fk.character("ava")))
    big = cv2.resize(img, (1280, 1400), interpolation=cv2.INTER_CUBIC)  # bench/engine.py's photo ...
    big = cv2.resize(big, (658, 720), interpolation=cv2.INTER_AREA)  # ... in its 720p video
    return {"ava": img, "ava_720p": big}


def render(img, openness):
    lm = face.LandmarkDetector(static=True).detect_with_fallback(img)
    rig = MouthRig(lm, renderer.RenderParams().checked(), img.shape)
    (x0, y0, x1, y1), pix = rig.render(img, openness)
    out = img.copy()
    out[y0:y1, x0:x1] = pix
    return out, fk.still_landmarks(out)


def luminance(bgr):
    return bgr[..., 0] * 0.114 + bgr[..., 1] * 0.587 + bgr[..., 2] * 0.299


def teeth_rows(out, re):
    """Rows of the upper half of the re-detected opening, centre fifth of the mouth, that
    are as light as the cheek and not lip-red (ivory: R < 1.5 B)."""
    w = float(np.linalg.norm(re[MOUTH_R] - re[MOUTH_L]))
    cx = (re[13, 0] + re[14, 0]) / 2
    top, bot = re[13, 1], re[14, 1]
    rows = out[int(round(top)):int(round(top + 0.5 * (bot - top))) + 1,
               int(round(cx - 0.1 * w)):int(round(cx + 0.1 * w)) + 1].astype(float).mean(axis=1)
    cheek = out[int(re[50, 1]) - 3:int(re[50, 1]) + 4, int(re[50, 0]) - 3:int(re[50, 0]) + 4].astype(float)
    light = (luminance(rows) >= 0.9 * luminance(cheek.reshape(-1, 3).mean(0))) & (rows[:, 2] < 1.5 * rows[:, 0])
    return int(light.sum()), w, luminance(rows).round(0)


@pytest.mark.parametrize("name", ["ava", "ava_720p"])
def test_a_loud_frame_shows_a_band_of_upper_teeth_that_follows_the_opening(hopper, name):
    for openness, share in ((1.0, 0.08), (0.5, 0.03)):
        out, re = render(hopper[name], openness)
        n, w, lum = teeth_rows(out, re)
        # upper incisors show ~0.14 mouth widths on a wide-open mouth: at least 0.08 here
        assert n >= share * w, (openness, n, round(share * w, 1), lum)


@pytest.mark.parametrize("name", ["ava", "ava_720p"])
def test_the_interior_of_a_loud_frame_is_warm(hopper, name):
    out, re = render(hopper[name], 1.0)
    inner = np.zeros(out.shape[:2], np.uint8)
    cv2.fillPoly(inner, [np.round(np.concatenate([re[UPPER_INNER], re[LOWER_INNER][::-1]])).astype(np.int32)], 1)
    px = out[inner.astype(bool)].astype(float)
    assert px.shape[0] > 300
    b, g, r = px.mean(axis=0)
    assert r > b + 40 and r > g + 40, (b, g, r)
    # its dark part (throat) is a dark red, not a grey that reads blue-black beside skin
    dark = px[np.argsort(luminance(px))[: px.shape[0] // 3]].mean(axis=0)
    assert dark[2] > 2.5 * dark[1] and dark[2] > 2.5 * dark[0], dark
