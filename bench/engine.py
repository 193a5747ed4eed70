"""Speed and memory of the local engine's renderer.

Renders, 3 times each, every render in a fresh subprocess:
  photo10  a 10 s clip from a portrait photo (1280x1400 JPEG; the engine downscales to 720p)
  video10  a 10 s clip from a 1280x720 25 fps video of that face with slow zoom and pan
  photo20  a 20 s clip from the photo (memory must stay flat as the clip doubles)
The audio is espeak speech (engine.tts) cut to length. The child times render() alone
(including its lazy mediapipe import) and reports its own peak resident memory: VmHWM
from /proc/self/status, the high-water mark of the child's own address space (ru_maxrss
would not do: Linux carries the parent's peak over into a child, across fork and exec).
Beside the figures: `calib_ms`, the time of a fixed CPU-bound loop, and the load
average, so figures from a busy machine can be told apart.

Prints one line per run, then exactly:
  photo_rtf=… video_rtf=… peak_rss_mb=… rss_20s_over_10s=…   (medians of 3 runs)

Run: .venv/bin/python bench/engine.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import wave
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUNS = 3
TEXT = ("Welcome to the studio. Today we look at how a talking head is made, step by step. "
        "First we find the face, then we listen to the voice, and the mouth follows every word. "
        "Short pauses close the lips again, and louder words open them wider. ")

CHILD = r"""
import json, sys, time
from pathlib import Path
from engine import renderer
visual, kind, audio, out = sys.argv[1:5]
t = time.perf_counter()
res = renderer.render(Path(visual), kind, Path(audio), Path(out))
elapsed = time.perf_counter() - t
status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
print(json.dumps({"elapsed": elapsed, "duration": res.duration, "frames": res.frames,
                  "size": [res.width, res.height], "peak_rss_mb": int(status["VmHWM"].split()[0]) / 1024,
                  "matplotlib": "matplotlib" in sys.modules}))
"""


def calib_ms() -> float:
    """Milliseconds for a fixed CPU-bound loop (pure Python and numpy), best of 3."""
    import time

    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        acc = 0
        for i in range(300_000):
            acc += i * i % 7
        a = np.arange(200_000, dtype=np.float64)
        for _ in range(20):
            a = np.sqrt(a * a + 1.0)
        best = min(best, time.perf_counter() - t)
    return best * 1000


def load() -> str:
    import os

    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def make_audio(work: Path, seconds: float) -> Path:
    from engine import tts

    speech = tts.synthesize(TEXT * 4, "nova", work / "speech_full.wav")
    with wave.open(str(speech.wav_path)) as w:
        sr = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    n = int(seconds * sr)
    x = np.tile(x, n // x.size + 1)[:n]
    out = work / f"speech_{int(seconds)}s.wav"
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(x.tobytes())
    return out


def make_photo(work: Path) -> Path:
    import cv2

    from engine.characters import character_image

    img = cv2.imread(str(character_image("navtalk.Ava")))
    img = cv2.resize(img, (1280, 1400), interpolation=cv2.INTER_CUBIC)
    out = work / "photo.jpg"
    cv2.imwrite(str(out), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return out


def make_video(work: Path, photo: Path, seconds: float = 10.0) -> Path:
    import av
    import cv2

    face = cv2.imread(str(photo))
    face = cv2.resize(face, (int(face.shape[1] * 720 / face.shape[0]), 720), interpolation=cv2.INTER_AREA)
    canvas = cv2.GaussianBlur(cv2.resize(face, (1280, 720)), (0, 0), 25)
    x0 = (1280 - face.shape[1]) // 2
    canvas[:, x0:x0 + face.shape[1]] = face
    out = work / "face720p.mp4"
    with av.open(str(out), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 1280, 720, "yuv420p"
        s.options = {"preset": "veryfast", "crf": "20"}
        n = int(seconds * 25)
        for i in range(n):
            k = i / n
            M = cv2.getRotationMatrix2D((640, 360), 2 * np.sin(2 * np.pi * k), 1.0 + 0.06 * k)
            M[0, 2] += 20 * np.sin(2 * np.pi * k)
            f = av.VideoFrame.from_ndarray(cv2.warpAffine(canvas, M, (1280, 720), borderMode=cv2.BORDER_REFLECT),
                                           format="bgr24")
            f.pts, f.time_base = i, Fraction(1, 25)
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    return out


def run_child(visual: Path, kind: str, audio: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(visual), kind, str(audio), str(out)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"render failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    print(f"calib_ms={calib_ms():.1f} load={load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_engine_") as tmp:
        work = Path(tmp)
        a10, a20 = make_audio(work, 10.0), make_audio(work, 20.0)
        photo = make_photo(work)
        video = make_video(work, photo)
        cases = [("photo10", photo, "image", a10), ("video10", video, "video", a10), ("photo20", photo, "image", a20)]
        results: dict[str, list[dict]] = {name: [] for name, *_ in cases}
        for run in range(1, RUNS + 1):
            for name, visual, kind, audio in cases:
                r = run_child(visual, kind, audio, work / f"{name}.mp4")
                r["rtf"] = r["elapsed"] / r["duration"]
                results[name].append(r)
                print(f"run {run} {name}: {r['size'][0]}x{r['size'][1]} {r['frames']} frames "
                      f"render {r['elapsed']:.2f}s clip {r['duration']:.2f}s rtf={r['rtf']:.3f} "
                      f"peak_rss={r['peak_rss_mb']:.0f}MB", flush=True)
        med = lambda name, key: statistics.median(r[key] for r in results[name])  # noqa: E731
        peak = max(med(name, "peak_rss_mb") for name in results)
        ratio = med("photo20", "peak_rss_mb") / med("photo10", "peak_rss_mb")
        print(f"photo_rtf={med('photo10', 'rtf'):.3f} video_rtf={med('video10', 'rtf'):.3f} "
              f"peak_rss_mb={peak:.0f} rss_20s_over_10s={ratio:.2f} calib_ms={calib_ms():.1f} load={load()}")


if __name__ == "__main__":
    main()
