"""Lip-sync quality and speed of the local engine, measured on its output.

Speech: the LibriVox reading in Debian's pocketsphinx-testdata (five sentences, ~27 s
with pauses). The engine gets the audio alone, as an upload (it recognises phones with
PocketSphinx's phone loop); the benchmark's truth is a forced alignment of the same audio
to its transcript. Every quality figure re-detects the face in the rendered MP4 with
FaceMesh in tracking mode (bench/facekit.py).

  r_open_loudness     lip gap vs the audio's own per-frame RMS (Ava, closed mouth at rest)
  closure_on_pbm      share of p/b/m frames whose lips are together (gap <= 0.08 mouth
                      widths), mean over Ava and Leo                      target >= 0.9
  rounding_r          over frames inside o/u/w (UW UH OW AO OY W) or i/e (IY IH EY EH)
                      phones: correlation of "rounded" with a narrower mouth  target >= 0.5
  chin_shift_silence  chin displacement in the pauses, share of nose-chin, found by
                      matching the source's chin patch (Leo and Sam smile with their teeth
                      at rest; the worse of the two)                      target <= 0.05
  mouth_offset        on a 16:9 1280x720 photo where the person fills the height: the
                      upper inner lip's distance from the source's, open frames, in mouth
                      widths                                              target <= 0.05
  blinks_per_min      on the Ava render (eye openness dips below 60 % of its median) 8-30
  photo_rtf video_rtf peak_rss_mb   a 10 s clip from the 16:9 photo and from a 1280x720
                      25 fps video, each render in a fresh process (bench/engine.py's
                      child; VmHWM), medians of 3
Quality figures are deterministic (the renders are), so they are measured once; times
are medians of 3. `calib_ms` and the load average are printed beside them.

Run: .venv/bin/python bench/lipsync.py [--sheets DIR]   (contact sheets: loud, quiet,
p/b/m and o/u frames for a photo, a character and a video)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import facekit as fk  # noqa: E402
from bench.engine import calib_ms, load, make_photo, make_video, run_child  # noqa: E402

UTTERANCES = (0, 1, 2, 3, 4)
TOGETHER = 0.08


def render(visual: Path, kind: str, wav: Path, out: Path, refine: bool = True):
    from engine import renderer

    renderer.render(visual, kind, wav, out)
    frames = fk.decode(out)
    return frames, fk.track(frames, refine)


def pauses(wav: Path, n: int) -> np.ndarray:
    quiet = fk.frame_loudness(wav, n) < 10 ** (-50 / 20)
    return np.array([quiet[max(0, i - 5):i + 6].all() for i in range(n)])


def rounding_r(lm: np.ndarray, phones) -> float:
    n = lm.shape[0]
    rounded = fk.phone_frames(phones, n, fk.ROUNDED)
    spread = fk.phone_frames(phones, n, fk.SPREAD)
    sel = rounded ^ spread
    return fk.pearson(rounded[sel].astype(float), -fk.mouth_width(lm)[sel])


def sheet(frames, lm, wav, phones, out: Path, label: str) -> None:
    import cv2

    n = len(frames)
    loud = fk.frame_loudness(wav, n)
    pbm, ou = fk.phone_frames(phones, n, fk.BILABIAL), fk.phone_frames(phones, n, fk.ROUNDED)
    picks = [("loud", int(np.argmax(loud))), ("quiet", int(np.flatnonzero(pauses(wav, n))[len(np.flatnonzero(
        pauses(wav, n))) // 2])), ("p/b/m", int(np.flatnonzero(pbm)[len(np.flatnonzero(pbm)) // 2])),
        ("o/u", int(np.flatnonzero(ou & (loud > np.median(loud)))[0]))]
    tiles = []
    for name, i in picks:
        ok = lm[i] if not np.isnan(lm[i]).any() else np.nanmean(lm, axis=0)
        c, F = ok[[13, 14]].mean(0), np.linalg.norm(ok[234] - ok[454])
        x0, y0 = int(max(0, c[0] - 0.75 * F)), int(max(0, c[1] - 0.95 * F))
        im = cv2.resize(frames[i][y0:int(y0 + 1.5 * F), x0:int(x0 + 1.5 * F)], (320, 320), interpolation=cv2.INTER_AREA)
        cv2.putText(im, f"{label} {name} #{i}", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (40, 255, 40), 1)
        tiles.append(im)
    cv2.imwrite(str(out), np.hstack(tiles))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sheets", type=Path, help="write contact sheets (PNG) here")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(f"calib_ms={calib_ms():.1f} load={load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_lipsync_") as tmp:
        work = Path(tmp)
        wav, starts = fk.speech_clip(work / "speech.wav", UTTERANCES)
        phones = fk.aligned_phones(starts)
        import cv2

        fig: dict[str, float] = {}
        closures, shifts = [], []
        for name in ("ava", "leo", "sam"):
            frames, lm = render(fk.character(name), "character", wav, work / f"{name}.mp4")
            n = len(frames)
            gaps = fk.lip_gap(lm)
            pbm = fk.phone_frames(phones, n, fk.BILABIAL)
            closure = float(np.mean(gaps[pbm] <= TOGETHER))
            src = cv2.imread(str(fk.character(name)))
            shift = fk.chin_shift(frames, lm, src, fk.still_landmarks(src), pauses(wav, n))
            r = fk.pearson(gaps, fk.frame_loudness(wav, n))
            print(f"{name}: r_open_loudness={r:.3f} closure_on_pbm={closure:.3f} ({pbm.sum()} frames) "
                  f"rounding_r={rounding_r(lm, phones):.3f} chin_shift_silence={shift:.3f} "
                  f"blinks_per_min={fk.blinks(fk.eye_openness(lm)) * 60 * 25 / n:.1f}", flush=True)
            if name == "ava":
                fig["r_open_loudness"] = r
                fig["rounding_r"] = rounding_r(lm, phones)
                fig["blinks_per_min"] = fk.blinks(fk.eye_openness(lm)) * 60 * 25 / n
            if name in ("ava", "leo"):
                closures.append(closure)
            if name in ("leo", "sam"):
                shifts.append(shift)
            if args.sheets and name == "leo":
                args.sheets.mkdir(parents=True, exist_ok=True)
                sheet(frames, lm, wav, phones, args.sheets / "character_leo.png", "Leo")
        fig["closure_on_pbm"] = float(np.mean(closures))
        fig["chin_shift_silence"] = float(max(shifts))
        wide = fk.wide_photo(fk.character("ava"), work / "wide.jpg", 0.2)
        frames, lm = render(wide, "image", wav, work / "wide.mp4", refine=False)  # a small face
        ref = fk.still_landmarks(cv2.imread(str(wide)), refine=False)
        fig["mouth_offset"] = fk.mouth_offset(lm, ref, fk.lip_gap(lm) > 0.12)
        if args.sheets:
            sheet(frames, lm, wav, phones, args.sheets / "photo_16x9.png", "photo")
        photo = make_photo(work)
        video = make_video(work, photo)
        if args.sheets:
            frames, lm = render(video, "video", wav, work / "video.mp4")
            sheet(frames, lm, wav, phones, args.sheets / "video_720p.png", "video")
        # speed and memory: 10 s clips, fresh processes
        a10 = work / "speech10.wav"
        fk.write_wav(a10, fk.read_wav(wav)[: 10 * fk.SR])
        times: dict[str, list[float]] = {"photo": [], "video": []}
        peaks = []
        for run in range(args.runs):
            for key, visual, kind in (("photo", wide, "image"), ("video", video, "video")):
                r = run_child(visual, kind, a10, work / f"t_{key}.mp4")
                times[key].append(r["elapsed"] / r["duration"])
                peaks.append(r["peak_rss_mb"])
                print(f"run {run + 1} {key}: {r['size'][0]}x{r['size'][1]} rtf={times[key][-1]:.3f} "
                      f"peak_rss={r['peak_rss_mb']:.0f}MB matplotlib={r['matplotlib']} load={load()}", flush=True)
        fig["photo_rtf"] = statistics.median(times["photo"]) if peaks else float("nan")
        fig["video_rtf"] = statistics.median(times["video"]) if peaks else float("nan")
        fig["peak_rss_mb"] = max(peaks, default=float("nan"))
        order = ["r_open_loudness", "closure_on_pbm", "rounding_r", "chin_shift_silence", "mouth_offset",
                 "blinks_per_min", "photo_rtf", "video_rtf", "peak_rss_mb"]
        print(" ".join(f"{k}={fig[k]:.3f}" if k != "peak_rss_mb" else f"{k}={fig[k]:.0f}" for k in order)
              + f" calib_ms={calib_ms():.1f} load={load()}")


if __name__ == "__main__":
    main()
