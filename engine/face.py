"""Face landmarks: mediapipe FaceMesh from the wheel, a Haar cascade as a fallback finder.

Only `mediapipe.python.solutions.face_mesh` is loaded: `import mediapipe` would run the
package's `__init__`, which imports every solution, its drawing utilities and through
them matplotlib (0.5 s and ~500 modules per fresh process for nothing). The two package
`__init__`s are replaced by light stand-ins that load the rest on first use, so other
code that says `mp.solutions.face_mesh` in the same process still works.

The graphs (and their TFLite models) are built once per process and reused by every
render (`detector()`); a video render calls `reset()` so no tracking state leaks from
one job, or one scene, into the next.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
import types

import numpy as np

NO_FACE_MESSAGE = ("Face not found: no face was detected in the image/video. "
                   "Use a photo or video where one face is large, frontal and well lit.")

# FaceMesh indices
UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LOWER_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
UPPER_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LOWER_OUTER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
MOUTH_L, MOUTH_R, LIP_TOP, LIP_BOTTOM, CHIN, NOSE_TIP = 61, 291, 13, 14, 152, 1
FACE_L, FACE_R, EYE_L, EYE_R, FOREHEAD = 234, 454, 33, 263, 10
# eyes: (outer corner, inner corner, upper lid points, lower lid points), image left then right
EYES = (
    (33, 133, [246, 161, 160, 159, 158, 157, 173], [7, 163, 144, 145, 153, 154, 155]),
    (263, 362, [466, 388, 387, 386, 385, 384, 398], [249, 390, 373, 374, 380, 381, 382]),
)


class FaceNotFound(Exception):
    """No usable face in the input."""


def _stub_package(name: str, path: str, lazy: dict[str, str]) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__path__ = [path]
    mod.__spec__ = importlib.util.spec_from_file_location(name, os.path.join(path, "__init__.py"),
                                                          submodule_search_locations=[path])

    def __getattr__(attr: str):
        if attr in lazy:
            return importlib.import_module(lazy[attr])
        try:
            return importlib.import_module(f"{name}.{attr}")
        except ImportError:
            raise AttributeError(attr) from None

    mod.__getattr__ = __getattr__
    return mod


def face_mesh_module():
    """`mediapipe.python.solutions.face_mesh` without the rest of mediapipe (see above)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "mediapipe" not in sys.modules:
        spec = importlib.util.find_spec("mediapipe")
        root = spec.submodule_search_locations[0]
        sys.modules["mediapipe"] = _stub_package(
            "mediapipe", root, {"solutions": "mediapipe.python.solutions", "tasks": "mediapipe.tasks.python"})
        sys.modules["mediapipe.python.solutions"] = _stub_package(
            "mediapipe.python.solutions", os.path.join(root, "python", "solutions"), {})
    return importlib.import_module("mediapipe.python.solutions.face_mesh")


def _to_pixels(face, w: int, h: int) -> np.ndarray:
    pts = np.array([(p.x, p.y) for p in face.landmark[:468]], np.float32)
    return pts * np.array([w, h], np.float32)


class LandmarkDetector:
    """468 FaceMesh landmarks in pixels.

    static=True for a still image (full detection), False for video (mediapipe tracks the
    face between frames, which is both faster and steadier). A still's landmarks are
    refined like a tracked video frame's: FaceMesh runs again on a square, upright crop
    centred on the first landmarks, so the model sees the face at the scale and framing
    it was trained on whatever the picture's aspect ratio."""

    CROP = 320  # side of the square refinement crop (the landmark model itself takes 192)

    def __init__(self, static: bool):
        fm = face_mesh_module()
        self.static = static
        self._fm = fm
        self.mesh = fm.FaceMesh(static_image_mode=static, max_num_faces=1, refine_landmarks=False,
                                min_detection_confidence=0.5, min_tracking_confidence=0.5)
        self._static_mesh = None
        self._haar = None

    def _still_mesh(self):
        if self.static:
            return self.mesh
        if self._static_mesh is None:
            self._static_mesh = self._fm.FaceMesh(static_image_mode=True, max_num_faces=1,
                                                  refine_landmarks=False, min_detection_confidence=0.4)
        return self._static_mesh

    def reset(self) -> None:
        """Forget the tracked face (a new job or a scene cut)."""
        if not self.static:
            self.mesh.reset()

    def _process(self, mesh, bgr: np.ndarray) -> np.ndarray | None:
        import cv2

        res = mesh.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        if res.multi_face_landmarks:
            return _to_pixels(res.multi_face_landmarks[0], bgr.shape[1], bgr.shape[0])
        return None

    def detect(self, bgr: np.ndarray) -> np.ndarray | None:
        lm = self._process(self.mesh, bgr)
        if lm is not None and self.static:
            lm = self.refine(bgr, lm)
        return lm

    def refine(self, bgr: np.ndarray, lm: np.ndarray, passes: int = 2) -> np.ndarray:
        """Re-run FaceMesh on a square crop around `lm`, aligned with the eye line, scaled
        so the landmarks span the middle ~60 % (as the tracking graph frames its ROI)."""
        import cv2

        for _ in range(passes):
            e = lm[EYE_R] - lm[EYE_L]
            angle = float(np.arctan2(e[1], e[0]))
            c = (lm.min(0) + lm.max(0)) / 2.0
            ca, sa = np.cos(angle), np.sin(angle)
            rel = (lm - c) @ np.array([[ca, -sa], [sa, ca]], np.float32)
            side = 1.6 * float(max(np.ptp(rel[:, 0]), np.ptp(rel[:, 1])))
            if side < 16:
                return lm
            s = self.CROP / side
            # crop pixel q = s * R(-angle) (p - c) + CROP/2
            A = s * np.array([[ca, sa], [-sa, ca]], np.float32)
            M = np.hstack([A, (self.CROP / 2.0 - A @ c)[:, None]]).astype(np.float32)
            crop = cv2.warpAffine(bgr, M, (self.CROP, self.CROP), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT)
            got = self._process(self._still_mesh(), crop)
            if got is None:
                return lm
            new = (got - M[:, 2]) @ np.linalg.inv(A).T
            done = np.abs(new - lm).max() < 0.5
            lm = new.astype(np.float32)
            if done:
                break
        return lm

    def detect_with_fallback(self, bgr: np.ndarray) -> np.ndarray | None:
        """FaceMesh on the frame; failing that, Haar finds a (small) face and FaceMesh
        runs on an enlarged crop around it (then refined like any still)."""
        lm = self.detect(bgr)
        if lm is not None:
            return lm
        import cv2

        if self._haar is None:
            self._haar = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        faces = self._haar.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=6, minSize=(32, 32))
        if len(faces) == 0:
            return None
        x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
        m = int(0.6 * max(w, h))
        x0, y0 = max(0, x - m), max(0, y - m)
        x1, y1 = min(bgr.shape[1], x + w + m), min(bgr.shape[0], y + h + m)
        crop = bgr[y0:y1, x0:x1]
        scale = 384.0 / max(crop.shape[:2])
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        lm = self._process(self._still_mesh(), crop)
        if lm is None:
            return None
        return self.refine(bgr, lm / scale + np.array([x0, y0], np.float32))

    def close(self) -> None:
        """Shared detectors (see `detector()`) stay open for the next render."""
        if getattr(self, "_shared", False):
            return
        self.mesh.close()
        if self._static_mesh is not None:
            self._static_mesh.close()


_DETECTORS: dict[bool, LandmarkDetector] = {}
_DETECTORS_LOCK = threading.Lock()


def detector(static: bool) -> LandmarkDetector:
    """The process's detector of that kind, built on first use (renders in one process run
    one at a time; each video render starts with `reset()`)."""
    with _DETECTORS_LOCK:
        det = _DETECTORS.get(static)
        if det is None:
            det = _DETECTORS[static] = LandmarkDetector(static)
            det._shared = True
        return det


def plausible(lm: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Reject degenerate detections (tiny faces, mouths outside the frame)."""
    h, w = shape[:2]
    fw = np.linalg.norm(lm[FACE_R] - lm[FACE_L])
    mouth = (lm[LIP_TOP] + lm[LIP_BOTTOM]) / 2
    return bool(fw >= 24 and np.linalg.norm(lm[MOUTH_R] - lm[MOUTH_L]) >= 6
                and 0 <= mouth[0] < w and 0 <= mouth[1] < h)


class LandmarkSmoother:
    """Exponential smoothing of landmarks across video frames; holds the last good
    landmarks for a few frames when tracking drops out, never across a scene cut."""

    def __init__(self, alpha: float = 0.6, hold: int = 12):
        self.alpha, self.hold = alpha, hold
        self.state: np.ndarray | None = None
        self.missing = 0

    def reset(self) -> None:
        self.state, self.missing = None, 0

    def update(self, lm: np.ndarray | None) -> np.ndarray | None:
        if lm is None:
            self.missing += 1
            if self.missing > self.hold:
                self.state = None
            return self.state
        self.missing = 0
        if self.state is None:
            self.state = lm.copy()
        else:
            # a big jump (cut, fast move) resets instead of smearing
            jump = np.linalg.norm(lm[LIP_TOP] - self.state[LIP_TOP])
            scale = np.linalg.norm(lm[FACE_R] - lm[FACE_L]) + 1e-6
            if jump > 0.25 * scale:
                self.state = lm.copy()
            else:
                self.state = self.alpha * lm + (1 - self.alpha) * self.state
        return self.state
