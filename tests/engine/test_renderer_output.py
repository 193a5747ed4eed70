"""The renderer's output and its refusals: H.264 + AAC at 25 fps as long as the audio
(faststart, no temp file left), a long video cut to the audio with its soundtrack
replaced, the instant clip; "Face not found" for an image or video without a face, a
media error for undecodable inputs, unknown characters and bad parameters refused.
Inputs are generated (tests/engine/render_support.py).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from engine import renderer
from engine.renderer import RenderParams
from tests.engine.render_support import (
    AUDIO_SECONDS,
    FPS,
    add_soundtrack,
    make_bursts_wav,
    make_motion_video,
    to_stereo_mp3,
)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("engine_render_output")


@pytest.fixture(scope="module")
def speech_wav(work) -> Path:
    return make_bursts_wav(work / "bursts.wav")


@pytest.fixture(scope="module")
def photo() -> Path:
    return renderer.character_image("navtalk.Ava")  # neutral, closed-mouth portrait


@pytest.fixture(scope="module")
def photo_render(work, photo, speech_wav):
    out = work / "photo.mp4"
    result = renderer.render(photo, "image", speech_wav, out)
    return out, result


def test_it_writes_h264_aac_at_25_fps_as_long_as_the_audio(photo_render):
    out, result = photo_render
    info = renderer.probe(out)
    assert info["video_codec"] == "h264" and info["audio_codec"] == "aac" and info["has_audio"]
    assert info["fps"] == 25.0
    assert abs(info["duration"] - AUDIO_SECONDS) <= 1 / FPS
    assert abs(result.frames / FPS - AUDIO_SECONDS) <= 1 / FPS
    assert info["width"] % 2 == 0 and info["height"] % 2 == 0
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
    data = out.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat"), "moov atom is not in front (no faststart)"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".photo.mp4")], "temp file left behind"


def test_it_raises_face_not_found_for_an_image_without_a_face(work, speech_wav):
    rng = np.random.default_rng(1)
    gradient = np.linspace(0, 255, 320)[None, :, None] * np.ones((240, 1, 3))
    noise = (gradient * 0.6 + rng.integers(0, 100, (240, 320, 3))).astype(np.uint8)
    img = work / "noface.png"
    cv2.imwrite(str(img), noise)
    out = work / "noface.mp4"
    with pytest.raises(renderer.FaceNotFound, match="Face not found"):
        renderer.render(img, "image", speech_wav, out)
    assert not out.exists()


def test_it_raises_media_error_for_undecodable_inputs(work, photo, speech_wav):
    junk = work / "junk.mp3"
    junk.write_bytes(b"this is not audio" * 100)
    with pytest.raises(renderer.MediaError):
        renderer.render(photo, "image", junk, work / "junk.mp4")
    bad_img = work / "bad.jpg"
    bad_img.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(renderer.MediaError):
        renderer.render(bad_img, "image", speech_wav, work / "junk.mp4")


def test_it_rejects_unknown_characters_and_bad_params(work, photo, speech_wav):
    with pytest.raises(KeyError):
        renderer.character_image("navtalk.Nobody")
    with pytest.raises(ValueError):
        renderer.render(photo, "image", speech_wav, work / "x.mp4", RenderParams(parsing_mode="lips"))
    with pytest.raises(ValueError):
        renderer.render(photo, "painting", speech_wav, work / "x.mp4")


def test_the_instant_clip_is_a_valid_short_mp4(work):
    from engine import media

    renderer.make_instant_clip(work / "warm.mp4")
    built = media._INSTANT
    renderer.make_instant_clip(work / "instant.mp4")
    assert built is not None and media._INSTANT is built  # built once per process, then copied
    assert (work / "instant.mp4").read_bytes() == built
    info = renderer.probe(work / "instant.mp4")
    assert info["video_codec"] == "h264" and info["has_audio"] and 0.9 <= info["duration"] <= 1.2


def test_a_long_video_is_cut_and_its_soundtrack_replaced_by_mp3_audio(work, photo, speech_wav):
    clip = add_soundtrack(make_motion_video(photo, work / "long0.mp4", seconds=5.0), work / "long.mp4")
    mp3 = to_stereo_mp3(speech_wav, work / "speech.mp3")
    out = work / "cut.mp4"
    renderer.render(clip, "video", mp3, out)
    info = renderer.probe(out)
    assert abs(info["duration"] - AUDIO_SECONDS) <= 1 / FPS + 0.06  # mp3 adds encoder padding
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 1 and c.streams.audio[0].codec_context.name == "aac"
        x = np.concatenate([f.to_ndarray().mean(axis=0) for f in c.decode(audio=0)])
        sr = c.streams.audio[0].rate
    # the first 0.4 s are silent in the new audio; the old soundtrack was a loud tone there
    assert np.sqrt((x[int(0.05 * sr):int(0.4 * sr)] ** 2).mean()) < 0.01
    assert np.sqrt((x[int(0.6 * sr):int(1.4 * sr)] ** 2).mean()) > 0.05


def test_it_raises_face_not_found_for_a_video_without_a_face(work, speech_wav):
    rng = np.random.default_rng(3)
    clip = work / "noise.mp4"
    with av.open(str(clip), "w") as c:
        s = c.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = 160, 120, "yuv420p"
        for i in range(FPS):
            f = av.VideoFrame.from_ndarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), format="bgr24")
            f.pts, f.time_base = i, Fraction(1, FPS)
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    with pytest.raises(renderer.FaceNotFound, match="Face not found"):
        renderer.render(clip, "video", speech_wav, work / "noise_out.mp4")
    assert not (work / "noise_out.mp4").exists()
