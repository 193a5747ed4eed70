"""Material and output measures shared by the renderer's tests (test_renderer_lips.py,
test_renderer_output.py): generated speech-like bursts with silent gaps, a video made
from a character photo with a slow zoom and pan, and the lips re-detected in an output
MP4 with mediapipe FaceMesh, independently of the engine."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from engine import renderer

FPS = 25
SR = 16000
# (start s, end s) of the "speech" bursts in the test audio; silence elsewhere
BURSTS = [(0.5, 1.5), (2.1, 3.1)]
AUDIO_SECONDS = 3.6


def make_bursts_wav(path: Path, seconds: float = AUDIO_SECONDS, bursts=BURSTS, seed: int = 7) -> Path:
    """Voice-like bursts: a 140 Hz harmonic buzz whose loudness rises and falls per
    syllable (random 3-6 Hz, random peaks), separated by true silence."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    buzz = sum((0.7 ** k) * np.sin(2 * np.pi * 140 * k * t + k) for k in range(1, 12))
    env = np.zeros_like(t)
    for a, b in bursts:
        cur = a
        while cur < b - 0.08:
            dur = min(rng.uniform(0.16, 0.32), b - cur)
            m = (t >= cur) & (t < cur + dur)
            env[m] = rng.uniform(0.3, 1.0) * np.sin(np.pi * (t[m] - cur) / dur) ** 2
            cur += dur
    x = buzz / np.abs(buzz).max() * env * 0.6
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((x * 32767).astype("<i2").tobytes())
    return path


def frame_loudness(wav: Path, n: int) -> np.ndarray:
    with wave.open(str(wav)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768
        sr = w.getframerate()
    spf = sr // FPS
    x = np.pad(x, (0, max(0, n * spf - x.size)))[: n * spf]
    return np.sqrt((x.reshape(n, spf) ** 2).mean(axis=1))


def make_motion_video(image: Path, out: Path, seconds: float = 2.4, fps: int = FPS) -> Path:
    """A short clip from a still: slow zoom (1.0 -> 1.08) and a gentle sideways drift."""
    img = cv2.imread(str(image))
    h, w = img.shape[:2]
    with av.open(str(out), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"preset": "ultrafast"}
        n = int(seconds * fps)
        for i in range(n):
            k = i / max(1, n - 1)
            z = 1.0 + 0.08 * k
            M = cv2.getRotationMatrix2D((w / 2, h / 2), 1.5 * np.sin(2 * np.pi * k), z)
            M[0, 2] += 6 * np.sin(2 * np.pi * k)
            fr = cv2.warpAffine(img, M, (w, h), borderMode=cv2.BORDER_REFLECT)
            f = av.VideoFrame.from_ndarray(fr, format="bgr24")
            f.pts, f.time_base = i, Fraction(1, fps)
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    return out


def lip_gaps(video: Path) -> np.ndarray:
    """Inner-lip gap / mouth width per frame, re-detected with FaceMesh (NaN if no face)."""
    import mediapipe as mp

    gaps = []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1) as fm, av.open(str(video)) as c:
        for f in c.decode(video=0):
            rgb = f.to_ndarray(format="rgb24")
            res = fm.process(rgb)
            if not res.multi_face_landmarks:
                gaps.append(np.nan)
                continue
            p = res.multi_face_landmarks[0].landmark
            height, width = rgb.shape[:2]
            xy = {i: np.array([p[i].x * width, p[i].y * height]) for i in (13, 14, 61, 291)}
            gaps.append(np.linalg.norm(xy[13] - xy[14]) / np.linalg.norm(xy[61] - xy[291]))
    return np.array(gaps)


def chin_positions(video: Path) -> np.ndarray:
    import mediapipe as mp

    ys = []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1) as fm, av.open(str(video)) as c:
        for f in c.decode(video=0):
            rgb = f.to_ndarray(format="rgb24")
            p = fm.process(rgb).multi_face_landmarks[0].landmark
            ys.append(p[152].y * rgb.shape[0])
    return np.array(ys)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = ~(np.isnan(a) | np.isnan(b))
    assert ok.mean() > 0.9, "the face was lost in too many output frames"
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def silent_frames(n: int) -> np.ndarray:
    t = (np.arange(n) + 0.5) / FPS
    speech = np.zeros(n, bool)
    for a, b in BURSTS:
        speech |= (t > a - 0.12) & (t < b + 0.12)  # keep clear of the smoothing at the edges
    return ~speech


def to_stereo_mp3(wav: Path, out: Path) -> Path:
    with av.open(str(wav)) as src, av.open(str(out), "w") as dst:
        stream = dst.add_stream("libmp3lame", rate=44100, layout="stereo")
        res = av.AudioResampler(format="s16p", layout="stereo", rate=44100)
        for frame in src.decode(audio=0):
            for f in res.resample(frame):
                dst.mux(stream.encode(f))
        for f in res.resample(None):
            dst.mux(stream.encode(f))
        dst.mux(stream.encode(None))
    return out


def add_soundtrack(video: Path, out: Path) -> Path:
    """Copy of `video` with a loud 440 Hz soundtrack that must not survive rendering."""
    with av.open(str(video)) as src, av.open(str(out), "w") as dst:
        v = dst.add_stream("libx264", rate=FPS)
        cc = src.streams.video[0].codec_context
        v.width, v.height, v.pix_fmt = cc.width, cc.height, "yuv420p"
        a = dst.add_stream("aac", rate=SR, layout="mono")
        for i, f in enumerate(src.decode(video=0)):
            f.pts, f.time_base = i, Fraction(1, FPS)
            dst.mux(v.encode(f))
            tone = 0.8 * np.sin(2 * np.pi * 440 * (np.arange(SR // FPS) + i * SR // FPS) / SR)
            af = av.AudioFrame.from_ndarray(tone[None].astype(np.float32), format="fltp", layout="mono")
            af.sample_rate, af.pts, af.time_base = SR, i * SR // FPS, Fraction(1, SR)
            dst.mux(a.encode(af))
        dst.mux(v.encode(None))
        dst.mux(a.encode(None))
    return out


CHARACTER_NAMES = sorted(renderer.CHARACTERS)  # Leo and Sam smile with their teeth showing
