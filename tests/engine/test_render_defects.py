"""The defects viewers saw on real material (issue 15), each checked on the output video.

Speech is the LibriVox reading in Debian's pocketsphinx-testdata; faces are the built-in
characters' public-domain photos and variants of them. Every measure re-detects the face
in the rendered MP4 (bench/facekit.py), so it judges what a viewer sees.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import facekit as fk  # noqa: E402
from engine import renderer  # noqa: E402
from engine.media import VideoSource  # noqa: E402
from engine.visemes import openness_track  # noqa: E402

pytestmark = pytest.mark.skipif(not fk.LIBRIVOX.is_dir(), reason="needs Debian's pocketsphinx-testdata")


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("defects")


@pytest.fixture(scope="module")
def speech(work):
    """~3.8 s: 0.4 s silence, "he was not an ill disposed young man", 0.4 s silence."""
    wav, starts = fk.speech_clip(work / "speech.wav", utterances=(1,))
    return wav


def render_and_track(visual: Path, kind: str, audio: Path, out: Path, refine: bool = True):
    result = renderer.render(visual, kind, audio, out)
    frames = fk.decode(out)
    assert len(frames) == result.frames
    return frames, fk.track(frames, refine)


def silent(wav: Path, n: int) -> np.ndarray:
    """Frames well inside the pauses (the loudness stays under -50 dBFS for 0.2 s around)."""
    loud = fk.frame_loudness(wav, n)
    quiet = loud < 10 ** (-50 / 20)
    k = 5
    return np.array([quiet[max(0, i - k):i + k + 1].all() for i in range(n)])


@pytest.mark.parametrize("name,frac", [("ava", 0.2), ("sam", 0.28)])
def test_the_mouth_sits_on_the_lips_of_a_16x9_photo(work, speech, name, frac):
    photo = fk.wide_photo(fk.character(name), work / f"wide_{name}.jpg", frac)
    import cv2

    ref = fk.still_landmarks(cv2.imread(str(photo)), refine=False)  # a small face: the plain model
    frames, lm = render_and_track(photo, "image", speech, work / f"wide_{name}.mp4", refine=False)
    gaps = fk.lip_gap(lm)
    open_ = gaps > 0.12
    assert open_.sum() >= 10, "the mouth hardly opened"
    offset = fk.mouth_offset(lm, ref, open_)
    assert offset <= 0.05, f"the drawn mouth is {offset:.2f} mouth widths off the lips"


def test_a_portrait_phone_video_is_turned_upright_and_rendered(work, speech):
    clip = fk.portrait_phone_video(fk.character("ava"), work / "phone.mp4", seconds=2.0)
    src = VideoSource(clip)
    assert (src.width, src.height) == (360, 640)
    first = next(src.frames(1))
    upright = next(fk.drift_frames(fk.decode(clip)[0], 0.04))  # any frame, only its orientation matters
    assert first.shape == (640, 360, 3) and upright.shape[:2] == (360, 640)
    frames, lm = render_and_track(clip, "video", speech, work / "phone_out.mp4")
    assert frames[0].shape[:2] == (640, 360), "the output is not upright"
    gaps = fk.lip_gap(lm)
    assert np.isnan(gaps).mean() < 0.1, "the face was lost in the output"
    r = fk.pearson(gaps, fk.frame_loudness(speech, gaps.size))
    assert r >= 0.5, f"lips follow the speech poorly on a portrait video: r={r:.2f}"


@pytest.mark.parametrize("name", ["leo", "sam"])
def test_silence_closes_a_smiling_mouth_without_moving_the_chin(work, speech, name):
    import cv2

    src = cv2.imread(str(fk.character(name)))
    ref = fk.still_landmarks(src)
    assert fk.lip_gap(ref) > 0.1, "this character should show its teeth at rest"
    frames, lm = render_and_track(fk.character(name), "character", speech, work / f"smile_{name}.mp4")
    quiet = silent(speech, len(frames))
    assert quiet.sum() >= 5
    shift = fk.chin_shift(frames, lm, src, ref, quiet)
    assert shift <= 0.05, f"the chin moved {shift:.0%} of nose-to-chin in silence"
    assert np.nanmedian(fk.lip_gap(lm[quiet])) < 0.5 * fk.lip_gap(ref), "the lips did not close in silence"


def test_quiet_speech_moves_the_mouth_like_the_same_speech_at_full_level(work):
    loud_wav, _ = fk.speech_clip(work / "loud.wav", utterances=(1,))
    quiet_wav, _ = fk.speech_clip(work / "quiet.wav", utterances=(1,), gain_db=-32)
    from engine.media import audio_envelope

    loud_env, quiet_env = audio_envelope(loud_wav)[0], audio_envelope(quiet_wav)[0]
    assert 20 * np.log10(np.percentile(quiet_env, 99)) < -45, "the quiet clip should peak under -45 dBFS"
    a, b = openness_track(loud_env), openness_track(quiet_env)
    assert np.abs(a - b).max() < 0.1, "openness depends on the recording level"
    # and on the output: the lips open with the words and close in the pauses
    frames, lm = render_and_track(fk.character("ava"), "character", quiet_wav, work / "quiet.mp4")
    gaps = fk.lip_gap(lm)
    quiet = silent(loud_wav, len(frames))
    r = fk.pearson(gaps, fk.frame_loudness(loud_wav, gaps.size))
    assert r >= 0.5, f"lips follow quiet speech poorly: r={r:.2f}"
    assert np.nanmax(gaps[quiet]) < 0.05 and np.nanpercentile(gaps, 95) > 0.15, (
        np.nanmax(gaps[quiet]), np.nanpercentile(gaps, 95))


def test_room_tone_alone_keeps_the_mouth_shut(work):
    rng = np.random.default_rng(5)
    hiss = rng.normal(0, 10 ** (-55 / 20), fk.SR * 2)  # -55 dBFS of noise, nothing said
    env = np.sqrt((hiss[: hiss.size // 640 * 640].reshape(-1, 640) ** 2).mean(axis=1))
    assert openness_track(env).max() == 0.0
