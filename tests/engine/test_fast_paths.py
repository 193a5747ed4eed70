"""No matplotlib in a render's process, and the landmark model built once per process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, wave
from pathlib import Path
import numpy as np
from engine import face, renderer
work = Path(sys.argv[1])
t = np.arange(16000) / 16000
x = (0.3 * np.sin(2 * np.pi * 150 * t) * (np.sin(2 * np.pi * 3 * t) > 0) * 32767).astype("<i2")
with wave.open(str(work / "a.wav"), "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000); w.writeframes(x.tobytes())
renderer.render(renderer.character_image("navtalk.Ava"), "character", work / "a.wav", work / "1.mp4")
first = face.detector(static=True)
renderer.render(renderer.character_image("navtalk.Ava"), "character", work / "a.wav", work / "2.mp4")
mpl = "matplotlib" in sys.modules
import mediapipe as mp  # other code may still ask for the whole package afterwards
ok = mp.solutions.face_mesh.FaceMesh is not None
print(json.dumps({"matplotlib": mpl, "same_detector": face.detector(static=True) is first, "mp_ok": ok}))
"""


def test_a_render_does_not_import_matplotlib_and_reuses_its_detector(tmp_path):
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {"matplotlib": False, "same_detector": True, "mp_ok": True}
    assert (tmp_path / "2.mp4").stat().st_size > 1000
