"""Re-dubbing a video that talks by itself, and a video with a scene cut (issue 15, 5).

The source is a real render of a built-in character reading LibriVox speech (it moves
its mouth, sways and blinks); it is re-dubbed with another LibriVox sentence.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import facekit as fk  # noqa: E402
from engine import renderer  # noqa: E402

pytestmark = pytest.mark.skipif(not fk.LIBRIVOX.is_dir(), reason="needs Debian's pocketsphinx-testdata")


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("redub")


@pytest.fixture(scope="module")
def talking(work) -> Path:
    """Ava reading "had he married a more amiable woman..." (6.9 s)."""
    wav, _ = fk.speech_clip(work / "source.wav", utterances=(3,))
    out = work / "talking.mp4"
    renderer.render(fk.character("ava"), "character", wav, out)
    return out


@pytest.fixture(scope="module")
def new_speech(work) -> Path:
    return fk.speech_clip(work / "new.wav", utterances=(1,), gap=0.8)[0]


@pytest.fixture(scope="module")
def redubbed(work, talking, new_speech) -> Path:
    out = work / "redub.mp4"
    renderer.render(talking, "video", new_speech, out)
    return out


def test_a_redub_follows_the_new_speech_and_closes_in_its_pauses(redubbed, talking, new_speech):
    frames = fk.decode(redubbed)
    n = len(frames)
    src_gaps = fk.lip_gap(fk.track(fk.decode(talking)[:n]))
    gaps = fk.lip_gap(fk.track(frames))
    loud = fk.frame_loudness(new_speech, n)
    r_new, r_old = fk.pearson(gaps, loud), fk.pearson(gaps, src_gaps)
    assert r_new >= 0.6, f"lips follow the new speech poorly: r={r_new:.2f}"
    assert r_new > r_old + 0.3, f"lips still follow the source's speech: r={r_old:.2f} vs new {r_new:.2f}"
    # where the new audio is silent but the source's mouth was open, one closed mouth shows
    silent = np.array([loud[max(0, i - 4):i + 5].max() < 10 ** (-50 / 20) for i in range(n)])
    clash = silent & (src_gaps > 0.15)
    assert clash.sum() >= 3, "the material should have the source talking in the new audio's pauses"
    assert np.nanmax(gaps[clash]) < 0.08, f"a second mouth shows: gap {np.nanmax(gaps[clash]):.2f}"


def test_closed_lips_over_the_sources_open_mouth_sit_on_the_sources_closed_jaw(redubbed, talking):
    """Where the new mouth is closed but the source's was open, the viewer must see the
    source's *closed* lower face, not closed lips drawn over the source's dropped jaw (a
    second mouth: a stretched lower lip, the chin left low and smeared). The chin is found
    by its pixels (facekit.chin_shift: the chin-and-jaw patch of the source's most closed
    frame), as a share of nose-to-chin; the source's own closed frames give the baseline."""
    src = fk.decode(talking)
    src_lm = fk.track(src)
    src_gaps = fk.lip_gap(src_lm)
    ref = int(np.nanargmin(src_gaps))
    frames = fk.decode(redubbed)
    n = len(frames)
    lm = fk.track(frames)
    over = (fk.lip_gap(lm) < 0.06) & (src_gaps[:n] > 0.15)  # closed now, open in the source
    assert over.sum() >= 10, "the material should have the new mouth closed over an open one"
    baseline = fk.chin_shift(src[:n], src_lm[:n], src[ref], src_lm[ref], src_gaps[:n] < 0.06)
    shift = fk.chin_shift(frames, lm, src[ref], src_lm[ref], over)
    assert shift <= max(0.08, 1.5 * baseline), f"the source's open jaw shows under the closed lips: {shift:.3f}"


def test_after_a_scene_cut_frames_without_a_face_pass_through_untouched(work, talking, new_speech):
    face_frames = fk.decode(talking)[:30]
    h, w = face_frames[0].shape[:2]
    flag = cv2.imread(str(fk.character("ava")))[0:200, 0:180]  # the flag behind her: no face
    empty = [cv2.resize(flag, (w, h), interpolation=cv2.INTER_CUBIC)] * 40
    clip = fk.write_video(work / "cut.mp4", face_frames + empty)
    src = fk.decode(clip)
    out = work / "cut_out.mp4"
    renderer.render(clip, "video", new_speech, out)
    frames = fk.decode(out)
    lm = fk.track(src[:30])
    x0, y0 = np.nanmin(lm[:, 61:292, :], axis=(0, 1)).astype(int)  # wherever the face was
    x1, y1 = np.nanmax(lm[:, 61:292, :], axis=(0, 1)).astype(int)
    for i in range(30, 70):
        diff = np.abs(frames[i][y0:y1, x0:x1].astype(int) - src[i][y0:y1, x0:x1].astype(int)).max(axis=2)
        assert np.percentile(diff, 99.5) < 30, f"frame {i} after the cut was drawn on (diff {diff.max()})"
