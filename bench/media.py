"""Small media made on the spot, shared by the benchmarks and the end-to-end tests."""

import io
import wave

import numpy as np


def speech_wav(seconds: float = 1.6) -> bytes:
    """Speech-like bursts: a 180 Hz buzz with a syllable envelope, 16 kHz mono."""
    rate = 16000
    t = np.arange(int(rate * seconds)) / rate
    envelope = np.clip(np.sin(2 * np.pi * 3 * t), 0, None)
    signal = (0.5 * envelope * np.sign(np.sin(2 * np.pi * 180 * t)) * 32767).astype(np.int16)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(signal.tobytes())
    return buf.getvalue()
