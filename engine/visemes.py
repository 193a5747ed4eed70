"""Mouth shapes per video frame: loudness sets how far the jaw opens, phones set the shape.

A `Shape` is (open, round, spread, close): the lip gap 0..1 of the rig's maximum, lip
rounding (o/u/w: the mouth narrows and the opening rounds), spreading (i/e: the corners
pull out) and closure (p/b/m: the lips press together whatever the loudness says).

Loudness is measured relative to the recording itself (its own peak and noise floor), so
speech recorded 32 dB low moves the mouth like the same speech at full level, while
room tone alone (a few dB of dynamic range) keeps it shut.

Phones come as ARPAbet labels (pocketsphinx) or espeak-ng mnemonics (our TTS); both map
to the same classes (`phone_class`).

A *recognised* W may be a bilabial: PocketSphinx's phone loop hears that the lips make
the sound but not always how (on the LibriVox reading 3 of the 9 W it reported were the
reader's M or B, and those closures stayed open). A bilabial closure damps the sound (an
M's murmur, a B's voice bar, a P's silence), so inside a recognised W the lips close on
the frames where the loudness dips (`LABIAL_DIP` of the loudest within +-80 ms); a real
/w/ brings the lips nearly together there too. The TTS's own phones are exact and are
drawn as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_STRESS = re.compile(r"^[',%=]+")  # espeak stress and syllable marks

FPS = 25
MAYBE_BILABIAL = {"W"}  # recognised (ARPAbet) labels that are often a misheard M/B/P
LABIAL_DIP = 0.6


@dataclass(frozen=True)
class Shape:
    open: float = 0.0
    round: float = 0.0
    spread: float = 0.0
    close: float = 0.0

    def quantised(self, levels: int = 48) -> Shape:
        q = lambda v, n: round(float(np.clip(v, 0.0, 1.0)) * n) / n  # noqa: E731
        return Shape(q(self.open, levels), q(self.round, 4), q(self.spread, 4), q(self.close, 1))


# class -> (openness scale, round, spread, close)
CLASSES: dict[str, tuple[float, float, float, float]] = {
    "sil": (0.0, 0.0, 0.0, 0.6),
    "pbm": (0.0, 0.0, 0.0, 1.0),
    "fv": (0.12, 0.0, 0.1, 0.0),
    "w": (0.2, 1.0, 0.0, 0.0),
    "uw": (0.35, 0.9, 0.0, 0.0),
    "ow": (0.6, 0.7, 0.0, 0.0),
    "ao": (0.8, 0.45, 0.0, 0.0),
    "sh": (0.25, 0.55, 0.0, 0.0),
    "iy": (0.3, 0.0, 1.0, 0.0),
    "ih": (0.45, 0.0, 0.6, 0.0),
    "eh": (0.65, 0.0, 0.5, 0.0),
    "aa": (1.0, 0.0, 0.1, 0.0),
    "ah": (0.75, 0.0, 0.0, 0.0),
    "er": (0.45, 0.35, 0.0, 0.0),
    "cons": (0.35, 0.0, 0.1, 0.0),
    "dental": (0.3, 0.0, 0.25, 0.0),
}

_ARPA = {
    "SIL": "sil", "+SPN+": "sil", "+NSN+": "sil", "P": "pbm", "B": "pbm", "M": "pbm", "F": "fv", "V": "fv",
    "W": "w", "UW": "uw", "UH": "uw", "OW": "ow", "OY": "ow", "AO": "ao", "AW": "ao", "SH": "sh", "ZH": "sh",
    "CH": "sh", "JH": "sh", "IY": "iy", "Y": "iy", "IH": "ih", "EY": "ih", "EH": "eh", "AE": "aa", "AA": "aa",
    "AY": "aa", "AH": "ah", "ER": "er", "R": "er", "TH": "dental", "DH": "dental", "S": "dental", "Z": "dental",
}

# espeak-ng mnemonics (first one or two characters) -> class
_ESPEAK2 = {"aI": "aa", "aU": "ao", "eI": "ih", "oU": "ow", "OI": "ow", "@U": "ow", "u:": "uw", "i:": "iy",
            "e@": "eh", "I@": "ih", "U@": "uw", "3:": "er", "O:": "ao", "A:": "aa", "tS": "sh", "dZ": "sh"}
_ESPEAK1 = {"p": "pbm", "b": "pbm", "m": "pbm", "f": "fv", "v": "fv", "w": "w", "u": "uw", "U": "uw",
            "o": "ow", "O": "ao", "0": "ao", "S": "sh", "Z": "sh", "i": "iy", "j": "iy", "I": "ih", "e": "eh",
            "E": "eh", "a": "aa", "A": "aa", "&": "aa", "V": "ah", "@": "ah", "3": "er", "r": "er", "T": "dental",
            "D": "dental", "s": "dental", "z": "dental"}


def phone_class(label: str) -> str:
    """Viseme class of an ARPAbet label (upper case, e.g. "UW") or espeak mnemonic."""
    name = _STRESS.sub("", (label or "").strip())
    if not name or name.startswith(("_", "#")):
        return "sil"
    if name.isupper() or name.startswith("+"):
        return _ARPA.get(name.rstrip("012"), "cons")
    return _ESPEAK2.get(name[:2]) or _ESPEAK1.get(name[0], "cons")


# ------------------------------------------------------------------ loudness

def openness_track(rms: np.ndarray, visemes=None, fps: int = FPS) -> np.ndarray:
    """Mouth openness 0..1 per frame from the RMS envelope (and (start, end, openness)
    visemes when given)."""
    rms = np.asarray(rms, np.float64)
    voiced = rms[rms > 1e-6]
    if voiced.size == 0:
        return np.zeros_like(rms)
    peak = float(np.percentile(voiced, 95))
    if peak < 1e-4:  # below -80 dBFS: digital silence
        return np.zeros_like(rms)
    floor = float(np.percentile(voiced, 10))  # room tone / the pauses' own level
    # the gate sits 22 dB under the peak, and at least 6 dB over the floor: all relative
    # to this recording, so the same speech 32 dB lower opens the mouth the same way
    gate = max(0.08 * peak, 2.0 * floor)
    if gate >= 0.7 * peak:  # no speech over the noise (room tone): keep the mouth shut
        return np.zeros_like(rms)
    o = np.clip((rms - gate) / (peak - gate), 0.0, 1.0) ** 0.8
    if visemes:
        o = o * (0.35 + 0.65 * _viseme_track(visemes, o.size, fps))
        top = float(np.percentile(o[o > 0], 95)) if np.any(o > 0) else 1.0
        o = np.clip(o / max(top, 1e-6), 0.0, 1.0)
    if o.size >= 3:
        o = np.convolve(np.pad(o, 1, mode="edge"), [0.2, 0.6, 0.2], mode="valid")
    return o


def _viseme_track(visemes, n: int, fps: int = FPS) -> np.ndarray:
    """Mean viseme openness over each frame's interval."""
    acc = np.zeros(n, np.float64)
    for start, end, value in visemes:
        a, b = start * fps, end * fps
        for i in range(max(0, int(a)), min(n, int(np.ceil(b)))):
            overlap = min(b, i + 1) - max(a, i)
            if overlap > 0:
                acc[i] += overlap * float(value)
    return np.clip(acc, 0.0, 1.0)


# ------------------------------------------------------------------ phones -> shapes

def _class_curves(phones, n: int, fps: int, rate: int = 200) -> dict[str, np.ndarray]:
    """Per-class targets on a fine grid (rate Hz), smoothed a little (coarticulation)."""
    m = int(np.ceil(n * rate / fps)) + 1
    cur = {k: np.zeros(m) for k in ("open", "round", "spread", "close", "labial")}
    cur["open"][:] = CLASSES["sil"][0]
    cur["close"][:] = CLASSES["sil"][3]
    for start, end, label in phones:
        a, b = int(max(0, start) * rate), int(np.ceil(max(start, end) * rate))
        if b <= a:
            continue
        o, r, s, c = CLASSES[phone_class(label)]
        if c >= 1.0:  # lips shut a little before the burst and open with it
            a = max(0, a - int(0.02 * rate))
        for key, val in (("open", o), ("round", r), ("spread", s), ("close", c)):
            cur[key][a:b] = val
        cur["labial"][a:b] = 1.0 if (label or "").strip() in MAYBE_BILABIAL else 0.0
    k = np.exp(-0.5 * (np.arange(-12, 13) / (0.03 * rate)) ** 2)  # ~30 ms
    k /= k.sum()
    return {key: np.convolve(np.pad(v, 12, mode="edge"), k, mode="valid") if key not in ("close", "labial")
            else v for key, v in cur.items()}


def shape_track(rms: np.ndarray, phones=None, visemes=None, fps: int = FPS) -> list[Shape]:
    """A Shape per frame. `phones`: [(start s, end s, label)]; without them only the
    loudness drives the jaw (legacy `visemes` still scale it)."""
    energy = openness_track(rms, visemes, fps)
    n = energy.size
    if not phones:
        return [Shape(open=float(e)) for e in energy]
    curves = _class_curves(phones, n, fps)
    rate = 200
    rms = np.asarray(rms, np.float64)
    local = np.array([rms[max(0, i - 2):i + 3].max() for i in range(n)])  # loudest within +-80 ms
    shapes = []
    for i in range(n):
        a, b = int(i * rate / fps), int((i + 1) * rate / fps)
        sl = slice(a, max(a + 1, b))
        close = float(curves["close"][sl].max())  # a closure anywhere in the frame shows
        if curves["labial"][sl].max() >= 0.99 and rms[i] <= LABIAL_DIP * local[i]:
            close = 1.0  # a recognised W whose sound dips: the lips close (module docstring)
        o = float(curves["open"][sl].mean())
        r, s = float(curves["round"][sl].mean()), float(curves["spread"][sl].mean())
        opening = energy[i] * (0.45 + 0.55 * o)
        if close >= 0.99:
            opening = 0.0
        shapes.append(Shape(open=opening, round=r, spread=s * min(1.0, 0.5 + energy[i]),
                            close=close if close >= 0.99 else 0.0))
    top = np.percentile([s.open for s in shapes], 97) if shapes else 1.0
    if top > 1e-6:
        shapes = [Shape(min(1.0, s.open / top), s.round, s.spread, s.close) for s in shapes]
    return shapes
