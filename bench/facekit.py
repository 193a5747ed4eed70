"""Real material and output measures for the talking-head engine (bench/lipsync.py and
tests/engine/ both use these; nothing here imports from tests/).

Material: human speech is the LibriVox reading in Debian's `pocketsphinx-testdata`
(Jane Austen, read by a volunteer, with its transcript); faces are the built-in
characters' public-domain photos and variants made from them (a 16:9 photo, a portrait
phone video with rotation metadata, a video that talks by itself).

Measures re-detect the face in the *output* with mediapipe FaceMesh in tracking mode
(independent of the engine's own detector and its refinement), so they judge what a
viewer sees.
"""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
FPS = 25
SR = 16000

# landmark indices (FaceMesh)
UPPER_IN, LOWER_IN, MOUTH_L, MOUTH_R, NOSE, CHIN = 13, 14, 61, 291, 1, 152
EYES = ((33, 133, 159, 145), (263, 362, 386, 374))  # outer, inner, upper lid, lower lid
BILABIAL, ROUNDED, SPREAD = {"P", "B", "M"}, {"UW", "UH", "OW", "AO", "W", "OY"}, {"IY", "IH", "EY", "EH"}


# ------------------------------------------------------------------ speech

def librivox() -> list[tuple[Path, str]]:
    """(wav, transcript) of the LibriVox utterances, in file order."""
    lines = (LIBRIVOX / "transcription").read_text().splitlines()
    out = []
    for line in lines:
        text, _, name = line.rpartition("(")
        words = text.replace("<s>", "").replace("</s>", "").split()
        out.append((LIBRIVOX / (name.strip(" )") + ".wav"), " ".join(words)))
    return out


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == SR and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768


def write_wav(path: Path, x: np.ndarray, sr: int = SR) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(np.clip(np.round(x * 32768), -32768, 32767).astype("<i2").tobytes())
    return Path(path)


def speech_clip(out: Path, utterances=(1,), gain_db: float = 0.0, gap: float = 0.4) -> tuple[Path, list]:
    """LibriVox utterances (indices) joined by `gap` s of silence and scaled by `gain_db`;
    returns (wav, [(start s, transcript)])."""
    parts, starts, t = [np.zeros(int(gap * SR))], [], gap
    for i in utterances:
        wav, text = librivox()[i]
        x = read_wav(wav)
        starts.append((t, text, wav))
        parts += [x, np.zeros(int(gap * SR))]
        t += (x.size + int(gap * SR)) / SR
    y = np.concatenate(parts) * 10 ** (gain_db / 20)
    write_wav(out, y)
    return Path(out), starts


def aligned_phones(starts) -> list[tuple[float, float, str]]:
    """Forced alignment of each utterance to its transcript (pocketsphinx, en-US model from
    its wheel): the truth that benchmarks score p/b/m and o/u/w frames against."""
    from pocketsphinx import Decoder

    dec = Decoder(loglevel="FATAL")
    phones = []
    for t0, text, wav in starts:
        with wave.open(str(wav)) as w:
            data = w.readframes(w.getnframes())
        dec.set_align_text(text)
        dec.start_utt()
        dec.process_raw(data, full_utt=True)
        dec.end_utt()
        dec.set_alignment()
        dec.start_utt()
        dec.process_raw(data, full_utt=True)
        dec.end_utt()
        for word in dec.get_alignment():
            for p in word:
                phones.append((t0 + p.start / 100, t0 + (p.start + p.duration) / 100, p.name))
    return phones


def phone_frames(phones, n: int, labels: set[str]) -> np.ndarray:
    """Frames whose centre lies in a phone with one of `labels`."""
    t = (np.arange(n) + 0.5) / FPS
    hit = np.zeros(n, bool)
    for a, b, name in phones:
        if name in labels:
            hit |= (t >= a) & (t < b)
    return hit


def frame_loudness(wav: Path, n: int) -> np.ndarray:
    x = read_wav(wav)
    spf = SR // FPS
    x = np.pad(x, (0, max(0, n * spf - x.size)))[: n * spf]
    return np.sqrt((x.reshape(n, spf) ** 2).mean(axis=1))


# ------------------------------------------------------------------ faces

def character(name: str) -> Path:
    return ROOT / "engine" / "characters" / f"{name}.jpg"


def wide_photo(src: Path, out: Path, face_frac: float, size=(1280, 720)) -> Path:
    """A 16:9 photo: the person scaled so forehead-to-chin is `face_frac` of the height,
    the picture's edges extended sideways (as a letterboxed or cropped wide shot)."""
    import cv2

    im = cv2.imread(str(src))
    lm = still_landmarks(im)
    W, H = size
    s = face_frac * H / (lm[CHIN, 1] - lm[10, 1])
    cx, cy = lm[:, 0].mean(), (lm[CHIN, 1] + lm[10, 1]) / 2
    M = np.array([[s, 0, W / 2 - s * cx], [0, s, H / 2 - s * cy]], np.float32)
    img = cv2.warpAffine(im, M, (W, H), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    cv2.imwrite(str(out), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return Path(out)


def write_video(out: Path, frames, rotation: int = 0, fps: int = FPS) -> Path:
    """H.264 MP4 from BGR frames; `rotation` (counter-clockwise degrees) is stored as the
    display matrix, the way phones store portrait video."""
    import av

    frames = list(frames)
    h, w = frames[0].shape[:2]
    with av.open(str(out), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "18"}
        if rotation:
            s.set_display_rotation(rotation)
        for i, fr in enumerate(frames):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(fr), format="bgr24")
            f.pts, f.time_base = i, Fraction(1, fps)
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    return Path(out)


def drift_frames(img: np.ndarray, seconds: float, fps: int = FPS):
    """A still made into a clip with a slow zoom and a gentle sway."""
    import cv2

    h, w = img.shape[:2]
    n = int(seconds * fps)
    for i in range(n):
        k = i / max(1, n - 1)
        M = cv2.getRotationMatrix2D((w / 2, h / 2), 1.5 * np.sin(2 * np.pi * k), 1.0 + 0.05 * k)
        M[0, 2] += 0.01 * w * np.sin(2 * np.pi * k)
        yield cv2.warpAffine(img, M, (w, h), borderMode=cv2.BORDER_REFLECT)


def portrait_phone_video(src: Path, out: Path, seconds: float = 2.0, size=(360, 640)) -> Path:
    """Upright portrait frames stored sideways (rotated 90° clockwise) with a display
    matrix that turns them back, as a phone records portrait video."""
    import cv2

    im = cv2.imread(str(src))
    w, h = size
    s = max(w / im.shape[1], h / im.shape[0])
    im = cv2.resize(im, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    y0, x0 = (im.shape[0] - h) // 2, (im.shape[1] - w) // 2
    upright = im[y0:y0 + h, x0:x0 + w]
    return write_video(out, (np.rot90(f, k=-1) for f in drift_frames(upright, seconds)), rotation=90)


def decode(video: Path) -> list[np.ndarray]:
    import av

    with av.open(str(video)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


# ------------------------------------------------------------------ measures

def _mesh(static: bool, refine: bool = True):
    from mediapipe.python.solutions import face_mesh

    return face_mesh.FaceMesh(static_image_mode=static, max_num_faces=1, refine_landmarks=refine,
                              min_detection_confidence=0.3)


def _points(res, shape) -> np.ndarray | None:
    if not res.multi_face_landmarks:
        return None
    p = res.multi_face_landmarks[0].landmark
    return np.array([(q.x * shape[1], q.y * shape[0]) for q in p[:468]], np.float64)


def still_landmarks(bgr: np.ndarray, repeats: int = 4, refine: bool = True) -> np.ndarray:
    """Landmarks of a still by tracking it as a short video (the tracking graph re-frames
    the face from its own landmarks, which the issue found reliable at any aspect ratio)."""
    import cv2

    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    with _mesh(False, refine) as fm:
        for _ in range(repeats):
            lm = _points(fm.process(rgb), bgr.shape)
    if lm is None:
        raise AssertionError("no face in the still")
    return lm


def track(frames, refine: bool = True) -> np.ndarray:
    """(n, 468, 2) landmarks per frame (tracking mode), NaN where no face was found.
    `refine`: FaceMesh's attention model (better lids and lips; misses small faces)."""
    import cv2

    out = []
    with _mesh(False, refine) as fm:
        for fr in frames:
            lm = _points(fm.process(cv2.cvtColor(fr, cv2.COLOR_BGR2RGB)), fr.shape)
            out.append(np.full((468, 2), np.nan) if lm is None else lm)
    return np.array(out)


def lip_gap(lm: np.ndarray) -> np.ndarray:
    """Inner-lip gap / mouth width (works on (468,2) or (n,468,2))."""
    d = lambda a, b: np.linalg.norm(lm[..., a, :] - lm[..., b, :], axis=-1)  # noqa: E731
    return d(UPPER_IN, LOWER_IN) / d(MOUTH_L, MOUTH_R)


def mouth_width(lm: np.ndarray) -> np.ndarray:
    """Mouth width / inter-ocular distance (scale free)."""
    d = lambda a, b: np.linalg.norm(lm[..., a, :] - lm[..., b, :], axis=-1)  # noqa: E731
    return d(MOUTH_L, MOUTH_R) / d(33, 263)


def eye_openness(lm: np.ndarray) -> np.ndarray:
    """Mean lid gap / eye width over both eyes."""
    d = lambda a, b: np.linalg.norm(lm[..., a, :] - lm[..., b, :], axis=-1)  # noqa: E731
    return np.mean([d(u, lo) / d(o, i) for o, i, u, lo in EYES], axis=0)


def blinks(eye: np.ndarray, drop: float = 0.6) -> int:
    """Blink count: dips of eye openness below `drop` x its median, counted once each."""
    base = np.nanmedian(eye)
    closed = np.nan_to_num(eye, nan=base) < drop * base
    return int(np.sum(closed[1:] & ~closed[:-1]) + (1 if closed.size and closed[0] else 0))


def pearson(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < 3 or np.std(a[ok]) < 1e-12 or np.std(b[ok]) < 1e-12:
        return 0.0
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def chin_shift(frames, lm: np.ndarray, src: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> float:
    """95th percentile over the `mask` frames of how far the chin moved from where the
    source (`src` image, its landmarks `ref`) has it, as a share of nose-to-chin.

    The chin is found in each output frame by matching the source's chin-and-jaw-line patch
    near the place the re-detected eyes and nose put it (the head's own sway removed).
    Pixels, not the landmark: FaceMesh guesses the chin partly from the lips, so its chin
    point rises when lips close even over an unchanged chin."""
    import cv2

    nc = float(np.linalg.norm(ref[CHIN] - ref[NOSE]))
    hw, hh = int(0.45 * nc), int(0.18 * nc)
    cx, cy = np.round(ref[CHIN]).astype(int)
    tpl = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY)[cy - hh:cy + hh, cx - hw:cx + hw]
    sy, sx = int(0.4 * nc), int(0.12 * nc)
    anchor = [33, 133, 263, 362, 168, 6]
    out = []
    for f in np.flatnonzero(mask):
        if np.isnan(lm[f][anchor]).any():
            continue
        shift = (lm[f][anchor] - ref[anchor]).mean(axis=0)
        px, py = np.round(ref[CHIN] + shift).astype(int)
        gray = cv2.cvtColor(frames[f], cv2.COLOR_BGR2GRAY)
        y0, x0 = max(0, py - hh - sy), max(0, px - hw - sx)
        win = gray[y0:py + hh + sy, x0:px + hw + sx]
        if win.shape[0] <= tpl.shape[0] or win.shape[1] <= tpl.shape[1]:
            continue
        res = cv2.matchTemplate(win, tpl, cv2.TM_CCOEFF_NORMED)
        _, _, _, (bx, by) = cv2.minMaxLoc(res)
        found = np.array([x0 + bx + hw, y0 + by + hh], float)
        out.append(np.linalg.norm(found - (ref[CHIN] + shift)) / nc)
    return float(np.percentile(out, 95)) if out else float("nan")


def mouth_offset(lm: np.ndarray, ref: np.ndarray, frames: np.ndarray) -> float:
    """Median distance of the re-detected upper inner lip (which the engine keeps in place)
    from the source's own, over open `frames`, in mouth widths."""
    w = np.linalg.norm(ref[MOUTH_R] - ref[MOUTH_L])
    d = [np.linalg.norm(lm[f, UPPER_IN] - ref[UPPER_IN]) for f in np.flatnonzero(frames)
         if not np.isnan(lm[f, UPPER_IN]).any()]
    return float(np.median(d) / w) if d else float("nan")


def mouths_seen(frame: np.ndarray, lm: np.ndarray) -> int:
    """How many separate dark openings lie on the line from the upper lip to the chin
    (through the mouth's centre): 0 closed, 1 open, 2 or more a mouth drawn over another."""
    import cv2

    if np.isnan(lm).any():
        return 0
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(float)
    top, chin = lm[0], lm[CHIN]
    w = np.linalg.norm(lm[MOUTH_R] - lm[MOUTH_L])
    ts = np.linspace(0, 1, int(np.linalg.norm(chin - top)) + 1)
    runs = 0
    for dx in (-0.12, 0.0, 0.12):  # three lines near the centre; the most runs counts
        pts = top + (chin - top) * ts[:, None] + np.array([dx * w, 0])
        xs = np.clip(np.round(pts[:, 0]).astype(int), 0, frame.shape[1] - 1)
        ys = np.clip(np.round(pts[:, 1]).astype(int), 0, frame.shape[0] - 1)
        line = cv2.GaussianBlur(gray[ys, xs].reshape(-1, 1), (1, 5), 0).ravel()
        skin = np.median(gray[int(lm[NOSE, 1]) - 3:int(lm[NOSE, 1]) + 4, int(lm[50, 0]) - 3:int(lm[50, 0]) + 4])
        dark = line < 0.42 * skin
        edges = np.flatnonzero(np.diff(np.concatenate([[0], dark.astype(int), [0]])))
        spans = [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= max(2, int(0.02 * w))]
        runs = max(runs, len(spans))
    return runs
