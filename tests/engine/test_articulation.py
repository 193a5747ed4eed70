"""Articulation: lips close on p/b/m, round on o/u/w, spread on i/e (issue 15, point 2).

Text jobs take their phones from the TTS (espeak-ng's phoneme events); uploaded speech
from PocketSphinx's phone loop (its en-US model ships in the wheel). Both are checked on
the rendered output, against phone timings the engine did not use: for LibriVox speech a
forced alignment to its transcript, for TTS speech espeak's own events.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import facekit as fk  # noqa: E402
from engine import renderer, tts  # noqa: E402
from engine.visemes import phone_class, shape_track  # noqa: E402

pytest.importorskip("pocketsphinx")


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("articulation")


def test_phone_classes_cover_arpabet_and_espeak():
    assert {phone_class(p) for p in ("P", "B", "M", "m", "b", "p")} == {"pbm"}
    assert phone_class("UW") == phone_class("u:") == "uw" and phone_class("W") == phone_class("w") == "w"
    assert phone_class("IY") == phone_class("i:") == "iy" and phone_class("'aI") == "aa"
    assert phone_class("SIL") == phone_class("_:") == "sil"


def test_shapes_close_on_bilabials_even_when_loud():
    rms = np.full(50, 0.2)  # loud through 1.6 s, then a pause
    rms[40:] = 0.001
    shapes = shape_track(rms, [(0.0, 0.6, "AA"), (0.6, 0.7, "M"), (0.7, 1.2, "UW"), (1.2, 1.6, "IY")])
    assert all(s.close == 1.0 and s.open == 0.0 for s in shapes[15:17])
    assert shapes[8].open > 0.8
    assert shapes[24].round > 0.8 and shapes[24].spread == 0.0
    assert shapes[35].spread > 0.3 and shapes[35].round < 0.1
    assert all(s.open == 0.0 for s in shapes[43:])


@pytest.mark.skipif(not fk.LIBRIVOX.is_dir(), reason="needs Debian's pocketsphinx-testdata")
def test_uploaded_speech_closes_the_lips_on_p_b_m_and_rounds_them_on_o_u_w(work):
    wav, starts = fk.speech_clip(work / "speech.wav", utterances=(3, 4))  # "...married a more amiable..."
    truth = fk.aligned_phones(starts)
    out = work / "ava.mp4"
    renderer.render(fk.character("ava"), "character", wav, out)
    lm = fk.track(fk.decode(out))
    n = lm.shape[0]
    gaps = fk.lip_gap(lm)
    pbm = fk.phone_frames(truth, n, fk.BILABIAL)
    assert pbm.sum() >= 15
    closed = float(np.mean(gaps[pbm] <= 0.08))
    assert closed >= 0.75, f"lips together on only {closed:.0%} of p/b/m frames"
    rounded, spread = fk.phone_frames(truth, n, fk.ROUNDED), fk.phone_frames(truth, n, fk.SPREAD)
    sel = rounded ^ spread
    r = fk.pearson(rounded[sel].astype(float), -fk.mouth_width(lm)[sel])
    assert r >= 0.4, f"the mouth hardly narrows on o/u/w: r={r:.2f}"


def test_text_jobs_shape_the_lips_from_the_tts_phonemes(work):
    speech = tts.synthesize("Bob may buy a moon map. We see three bees.", "alloy", work / "tts.wav")
    assert speech.phones and all(isinstance(p, str) for *_, p in speech.phones)
    out = work / "tts.mp4"
    renderer.render(fk.character("leo"), "character", speech.wav_path, out, visemes=speech.visemes)
    lm = fk.track(fk.decode(out))
    n = lm.shape[0]
    classes = [(a, b, phone_class(p)) for a, b, p in speech.phones]
    pbm = fk.phone_frames([(a, b, "M") for a, b, c in classes if c == "pbm"], n, {"M"})
    vowel = fk.phone_frames([(a, b, "AA") for a, b, c in classes if c in ("aa", "ah", "ao", "eh")], n, {"AA"})
    gaps = fk.lip_gap(lm)
    assert pbm.sum() >= 6 and vowel.sum() >= 6
    assert np.mean(gaps[pbm] <= 0.08) >= 0.8, np.round(gaps[pbm], 3)
    assert np.nanmedian(gaps[vowel]) > 2 * np.nanmedian(gaps[pbm])


def test_the_upper_lip_moves_and_the_open_mouth_shows_teeth_and_tongue():
    import cv2

    from engine import face
    from engine.mouth import MouthRig

    img = cv2.imread(str(fk.character("ava")))  # a closed mouth: the interior must be drawn
    lm = face.LandmarkDetector(static=True).detect_with_fallback(img)
    rig = MouthRig(lm, renderer.RenderParams().checked(), img.shape)
    (x0, y0, x1, y1), pix = rig.render(img, 1.0)  # a bare openness works as before
    out = img.copy()
    out[y0:y1, x0:x1] = pix
    w = np.linalg.norm(lm[61] - lm[291])
    cx = int(round((lm[13, 0] + lm[14, 0]) / 2))
    # the upper lip's own pixels (between its top and its inner edge) change as it rises
    band = np.abs(out.astype(int) - img.astype(int)).max(axis=2)[
        int(lm[0, 1]) + 1:int(lm[13, 1]) - 1, int(lm[61, 0] + 0.3 * w):int(lm[291, 0] - 0.3 * w)]
    assert (band > 12).mean() > 0.2, "the upper lip did not move"
    # down the middle of the opening: light teeth at the top, a darker throat, a red tongue
    re = fk.still_landmarks(out)
    col = out[int(re[13, 1]) + 1:int(re[14, 1]), cx].astype(float)
    g = col.mean(axis=1)
    assert g[: max(2, len(g) // 5)].max() > 1.8 * g.min(), "no teeth under the upper lip"
    lower = col[len(col) // 2:]
    assert (lower[:, 2] > 1.3 * lower[:, 0]).mean() > 0.5, "no tongue near the lower lip"


@pytest.fixture(scope="module")
def reading(work):
    """The five LibriVox sentences (~27 s, 51 frames inside p/b/m), the engine's own
    recognised phones and the forced alignment's (the truth the engine never sees)."""
    from engine.phones import recognise

    wav, starts = fk.speech_clip(work / "reading.wav", utterances=(0, 1, 2, 3, 4))
    return wav, recognise(wav), fk.aligned_phones(starts)


@pytest.mark.skipif(not fk.LIBRIVOX.is_dir(), reason="needs Debian's pocketsphinx-testdata")
def test_a_misheard_bilabial_still_closes_the_lips(reading):
    """PocketSphinx's phone loop hears some of the reader's M and B as W ("married",
    "amiable"); the lips must close there all the same (engine/visemes.py)."""
    from engine.media import audio_envelope

    wav, recognised, truth = reading
    shapes = shape_track(audio_envelope(wav)[0], recognised)
    pbm = fk.phone_frames(truth, len(shapes), fk.BILABIAL)
    closed = np.array([s.close >= 1.0 for s in shapes])
    assert closed[pbm].mean() >= 0.85, f"closed on {closed[pbm].mean():.0%} of p/b/m frames"
    assert closed.mean() <= 0.2, f"closed on {closed.mean():.0%} of all frames: too often"


@pytest.mark.skipif(not fk.LIBRIVOX.is_dir(), reason="needs Debian's pocketsphinx-testdata")
def test_a_smiling_character_reading_closes_its_lips_on_nine_in_ten_p_b_m_frames(work, reading):
    """bench/lipsync.py's closure_on_pbm on Leo (a smile with teeth at rest), re-detected."""
    wav, _, truth = reading
    out = work / "leo_reading.mp4"
    renderer.render(fk.character("leo"), "character", wav, out)
    gaps = fk.lip_gap(fk.track(fk.decode(out)))
    pbm = fk.phone_frames(truth, gaps.size, fk.BILABIAL)
    assert pbm.sum() >= 45
    closed = float(np.mean(gaps[pbm] <= 0.08))
    assert closed >= 0.9, f"lips together on only {closed:.1%} of {pbm.sum()} p/b/m frames"


@pytest.mark.skipif(not fk.LIBRIVOX.is_dir(), reason="needs Debian's pocketsphinx-testdata")
def test_the_same_speech_gets_the_same_phones_whatever_the_worker_recognised_before(work, reading):
    from engine import phones

    wav, _, _ = reading
    other, _ = fk.speech_clip(work / "other.wav", utterances=(3, 4), gain_db=-12)
    phones._DECODER = None  # as in a fresh worker process
    fresh = phones.recognise(wav)
    phones.recognise(other)
    assert phones.recognise(wav) == fresh
