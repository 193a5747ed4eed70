"""Phones of uploaded or linked speech, found offline by PocketSphinx.

The `pocketsphinx` wheel (PyPI, BSD-2-Clause) carries its US-English acoustic model and
a phone language model (`model/en-us/en-us`, `en-us-phone.lm.bin`), so phone-loop
("allphone") recognition runs with nothing downloaded at run time, in about 3 % of real
time on one core. It needs no transcript, which an uploaded file does not have; the
labels are ARPAbet ("M", "UW", "IY", ...), 10 ms frames. Phone-loop recognition is not
perfect (it confuses close phones, e.g. M/N), but the mouth only needs the viseme
class, and the jaw's opening still follows loudness.

Without the package (or for a language it does not model) this returns no phones and
the mouth follows loudness alone.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

RATE = 16000
_LOCK = threading.Lock()
_DECODER = None


def available() -> bool:
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return False
    return True


def _decoder():
    """The process's phone-loop decoder (model loaded once, ~0.1 s)."""
    global _DECODER
    if _DECODER is None:
        import os

        from pocketsphinx import Decoder, get_model_path

        model = get_model_path()
        _DECODER = Decoder(hmm=os.path.join(model, "en-us", "en-us"),
                           allphone=os.path.join(model, "en-us", "en-us-phone.lm.bin"),
                           lw=2.0, pip=0.3, loglevel="FATAL")
    return _DECODER


def pcm16k(path: Path) -> np.ndarray:
    """The audio as 16 kHz mono int16 (PyAV decodes any format the renderer accepts)."""
    import av

    out = []
    res = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    with av.open(str(path)) as c:
        for frame in c.decode(c.streams.audio[0]):
            out += [f.to_ndarray().reshape(-1) for f in res.resample(frame)]
        out += [f.to_ndarray().reshape(-1) for f in res.resample(None)]
    return np.concatenate(out).astype(np.int16) if out else np.zeros(0, np.int16)


def recognise(path: Path, gain_to: float = 0.3) -> list[tuple[float, float, str]]:
    """[(start s, end s, ARPAbet phone)] for the speech in `path`; [] if unavailable.

    The signal is scaled so its loud parts sit near `gain_to` of full scale first: the
    acoustic model is level-sensitive and a quiet recording is still speech."""
    if not available():
        return []
    try:
        x = pcm16k(path).astype(np.float32)
    except Exception:  # the renderer reports undecodable audio itself
        return []
    if x.size < RATE // 10:
        return []
    frames = x[: x.size // 160 * 160].reshape(-1, 160)
    rms = np.sqrt((frames ** 2).mean(axis=1))
    loud = np.percentile(rms, 95) if rms.size else 0.0
    if loud < 3.0:  # digital silence
        return []
    x = x * (gain_to * 32767 / 1.4 / loud)
    # a little dither: digital silence (exact zeros) has no spectrum, and the decoder's
    # feature normalisation derails on it (it then hears one phone for the rest)
    x += np.random.default_rng(0).normal(0.0, 3.0, x.size)
    x = np.clip(x, -32768, 32767).astype(np.int16)
    with _LOCK:
        dec = _decoder()
        # a fresh front end per file: its state (the cepstral mean and more) otherwise
        # carries over from the last file this process recognised, and the same speech
        # got other phones in a busy worker (on the LibriVox reading, p/b/m frames drawn
        # closed fell from 88 % to 84 % after one other recording); costs nothing measurable
        dec.reinit_feat()
        dec.start_utt()
        dec.process_raw(x.tobytes(), full_utt=True)
        dec.end_utt()
        segs = [(s.start_frame / 100.0, (s.end_frame + 1) / 100.0, s.word) for s in dec.seg()]
    return [(a, b, w) for a, b, w in segs if b > a]
