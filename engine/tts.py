"""Offline text-to-speech with espeak-ng (the library shipped by espeakng-loader).

espeak-ng is driven through ctypes in synchronous mode: the synth callback collects
16-bit samples and phoneme events, which become the WAV file and the viseme track that
the renderer uses to time mouth shapes. espeak-ng keeps global state and is not thread
safe, so it is initialised once per process and every call holds one lock.
"""

from __future__ import annotations

import ctypes
import re
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from navtalk import contract

_STRESS = re.compile(r"^[',%=]+")  # espeak stress and syllable marks

# The 11 voices and their descriptions are NavTalk's (navtalk.contract.VOICES); this
# module only decides how the local engine renders each one with espeak-ng.
VOICES = tuple(contract.VOICES)

# name -> (espeak voice name, rate wpm, pitch 0-100, range 0-100)
_VOICE_SETTINGS: dict[str, tuple[str, int, int, int]] = {
    "alloy": ("en-us+m1", 170, 50, 50),
    "ash": ("en-us+m3", 150, 30, 35),
    "ballad": ("en-gb-x-rp+m2", 140, 55, 90),
    "coral": ("en-us+f2", 172, 58, 60),
    "echo": ("en+m4", 165, 45, 40),
    "fable": ("en-gb-scotland+m6", 150, 50, 75),
    "onyx": ("en-us+m7", 135, 15, 30),
    "nova": ("en-us+f4", 190, 72, 65),
    "sage": ("en-gb-x-rp+f1", 150, 52, 45),
    "shimmer": ("en-us+f5", 178, 85, 95),
    "verse": ("en-029+m5", 185, 48, 70),
}

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EV_LIST_TERMINATED, _EV_END, _EV_MSG_TERMINATED, _EV_PHONEME = 0, 5, 6, 7
_P_RATE, _P_VOLUME, _P_PITCH, _P_RANGE = 1, 2, 3, 4
MAX_TEXT_CHARS = 20000


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class Viseme(tuple):
    """(start_s, end_s, mouth openness 0..1), plus the espeak phoneme it came from in
    `.phone` (the renderer shapes the lips from it: closed p/b/m, round o/u/w, ...)."""

    def __new__(cls, start: float, end: float, openness: float, phone: str = ""):
        self = super().__new__(cls, (start, end, openness))
        self.phone = phone
        return self


@dataclass(frozen=True)
class Speech:
    wav_path: Path
    sample_rate: int
    duration: float
    visemes: list[Viseme]  # (start_s, end_s, mouth openness 0..1), each with its .phone

    @property
    def phones(self) -> list[tuple[float, float, str]]:
        return phones_of(self.visemes)


def phones_of(visemes) -> list[tuple[float, float, str]]:
    """(start, end, espeak phoneme) of visemes that carry one (see `Viseme`)."""
    return [(v[0], v[1], v.phone) for v in visemes or () if getattr(v, "phone", "")]


class _Espeak:
    """The process-wide espeak-ng instance. Used only on the `_EXECUTOR` thread."""

    def __init__(self) -> None:
        import espeakng_loader

        lib = ctypes.CDLL(str(espeakng_loader.get_library_path()))
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        data = str(espeakng_loader.get_data_path()).encode()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INIT_PHONEME_EVENTS)
        if rate <= 0:
            raise RuntimeError(f"espeak-ng failed to initialise (data path {data!r})")
        self.lib, self.sample_rate = lib, rate
        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[int, str]] = []  # (audio ms, phoneme mnemonic)
        self._cb = _CALLBACK(self._on_synth)  # keep a reference: espeak holds the pointer
        lib.espeak_SetSynthCallback(self._cb)

    def _on_synth(self, wav, numsamples, events) -> int:
        if numsamples > 0 and wav:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
        i = 0
        while events[i].type != _EV_LIST_TERMINATED:
            ev = events[i]
            if ev.type == _EV_PHONEME:
                name = bytes(ev.id.string).split(b"\0", 1)[0].decode("ascii", "replace")
                self.events.append((ev.audio_position, name))
            if ev.type in (_EV_END, _EV_MSG_TERMINATED):
                pass
            i += 1
        return 0

    def speak(self, text: str, voice: str) -> tuple[np.ndarray, list[tuple[int, str]]]:
        name, rate, pitch, prange = _VOICE_SETTINGS[voice]
        if self.lib.espeak_SetVoiceByName(name.encode()) != 0:
            raise RuntimeError(f"espeak-ng has no voice {name!r}")
        for param, value in ((_P_RATE, rate), (_P_PITCH, pitch), (_P_RANGE, prange), (_P_VOLUME, 100)):
            self.lib.espeak_SetParameter(param, value, 0)
        self.chunks, self.events = [], []
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        err = self.lib.espeak_Synth(buf, len(buf), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if err != 0:
            raise RuntimeError(f"espeak-ng synthesis failed (error {err})")
        self.lib.espeak_Synchronize()
        samples = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)
        return samples.astype(np.int16), list(self.events)


# espeak-ng keeps global state and is not thread safe; its float arithmetic also follows
# the calling thread's floating-point mode, which libraries such as FFmpeg's encoders may
# change in the threads they run in. Every call therefore runs on one long-lived thread
# of its own: calls are serialised, and each is computed the same way whoever asks.
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="espeak")
_ENGINE: _Espeak | None = None


def _engine() -> _Espeak:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = _Espeak()
    return _ENGINE


# espeak phoneme mnemonic (first letters) -> mouth openness
_OPEN_VOWELS = {"a": 1.0, "A": 1.0, "0": 0.85, "O": 0.8, "V": 0.75, "&": 0.85, "3": 0.55, "@": 0.45,
                "e": 0.6, "E": 0.7, "i": 0.35, "I": 0.4, "u": 0.35, "U": 0.4, "o": 0.65, "y": 0.35, "Y": 0.4}
_CONSONANTS = {"p": 0.0, "b": 0.0, "m": 0.0, "f": 0.12, "v": 0.12, "w": 0.2, "T": 0.25, "D": 0.25,
               "s": 0.2, "z": 0.2, "S": 0.25, "Z": 0.25, "t": 0.25, "d": 0.25, "n": 0.25, "l": 0.3,
               "r": 0.3, "j": 0.3, "k": 0.35, "g": 0.35, "N": 0.3, "h": 0.4, "x": 0.35, "?": 0.1}


def phoneme_openness(name: str) -> float:
    """Mouth openness 0..1 for an espeak phoneme mnemonic; pauses and unknowns are closed."""
    name = _STRESS.sub("", name.strip())
    if not name or name.startswith("_") or name.startswith("#"):
        return 0.0
    for table in (_OPEN_VOWELS, _CONSONANTS):
        if name[0] in table:
            return table[name[0]]
    return 0.2


def _visemes(events: list[tuple[int, str]], duration: float) -> list[Viseme]:
    """Contiguous (start, end, openness) spans from phoneme events, up to `duration`."""
    events = sorted(events, key=lambda e: e[0])
    bounds = [min(ms / 1000.0, duration) for ms, _ in events] + [duration]
    spans = [(0.0, bounds[0], 0.0, "_")] if bounds and bounds[0] > 0 else []
    spans += [(bounds[i], bounds[i + 1], phoneme_openness(name), name) for i, (_, name) in enumerate(events)]
    out: list[Viseme] = []
    for start, end, value, name in spans:
        start, end = round(start, 4), round(end, 4)
        if end > start:
            out.append(Viseme(start, end, value, name or "_"))
    return out


def synthesize(text: str, voice: str, out_wav: Path) -> Speech:
    """Speak `text` with one of VOICES into a 16-bit mono WAV at `out_wav`."""
    if voice not in VOICES:
        raise ValueError(f"Unknown voice {voice!r}; choose one of: {', '.join(VOICES)}")
    text = (text or "").strip()
    if not text:
        raise ValueError("Text is empty: write what the character should say.")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"Text is too long ({len(text)} characters; at most {MAX_TEXT_CHARS}).")
    def speak():
        eng = _engine()
        return eng.speak(text, voice) + (eng.sample_rate,)

    samples, events, rate = _EXECUTOR.submit(speak).result()
    if samples.size == 0:
        raise ValueError("Nothing to say: the text produced no speech.")
    out_wav = Path(out_wav)
    tmp = out_wav.with_name(out_wav.name + ".part")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    tmp.replace(out_wav)
    duration = samples.size / rate
    return Speech(wav_path=out_wav, sample_rate=rate, duration=duration, visemes=_visemes(events, duration))
