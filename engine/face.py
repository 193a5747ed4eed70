"""Face landmarks (mediapipe FaceMesh from the wheel, Haar cascade as a fallback finder)."""

from __future__ import annotations

import os

import numpy as np

NO_FACE_MESSAGE = ("Face not found: no face was detected in the image/video. "
                   "Use a photo or video where one face is large, frontal and well lit.")

# FaceMesh indices
UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LOWER_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
LOWER_OUTER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
MOUTH_L, MOUTH_R, LIP_TOP, LIP_BOTTOM, CHIN = 61, 291, 13, 14, 152
FACE_L, FACE_R, EYE_L, EYE_R = 234, 454, 33, 263


class FaceNotFound(Exception):
    """No usable face in the input."""


class LandmarkDetector:
    """468 FaceMesh landmarks in pixels. Create once per render; `close()` when done.

    static=True for a still image (full detection), False for video (mediapipe tracks the
    face between frames, which is both faster and steadier)."""

    def __init__(self, static: bool):
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import mediapipe as mp  # lazy: heavy import, only the renderer needs it

        self._mp = mp
        self.mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static, max_num_faces=1, refine_landmarks=False,
            min_detection_confidence=0.5, min_tracking_confidence=0.5)
        self._static_mesh = None
        self._haar = None

    def detect(self, bgr: np.ndarray) -> np.ndarray | None:
        import cv2

        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        res = self.mesh.process(rgb)
        if res.multi_face_landmarks:
            return _to_pixels(res.multi_face_landmarks[0], bgr.shape[1], bgr.shape[0])
        return None

    def detect_with_fallback(self, bgr: np.ndarray) -> np.ndarray | None:
        """FaceMesh on the frame; failing that, Haar finds a (small) face and FaceMesh
        runs on an enlarged crop around it."""
        lm = self.detect(bgr)
        if lm is not None:
            return lm
        import cv2

        if self._haar is None:
            self._haar = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
            self._static_mesh = self._mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=1, refine_landmarks=False, min_detection_confidence=0.4)
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
        res = self._static_mesh.process(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
        if not res.multi_face_landmarks:
            return None
        lm = _to_pixels(res.multi_face_landmarks[0], crop.shape[1], crop.shape[0])
        return lm / scale + np.array([x0, y0], np.float32)

    def close(self) -> None:
        self.mesh.close()
        if self._static_mesh is not None:
            self._static_mesh.close()


def _to_pixels(face, w: int, h: int) -> np.ndarray:
    pts = np.array([(p.x, p.y) for p in face.landmark[:468]], np.float32)
    return pts * np.array([w, h], np.float32)


def plausible(lm: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Reject degenerate detections (tiny faces, mouths outside the frame)."""
    h, w = shape[:2]
    fw = np.linalg.norm(lm[FACE_R] - lm[FACE_L])
    mouth = (lm[LIP_TOP] + lm[LIP_BOTTOM]) / 2
    return bool(fw >= 24 and np.linalg.norm(lm[MOUTH_R] - lm[MOUTH_L]) >= 6
                and 0 <= mouth[0] < w and 0 <= mouth[1] < h)


class LandmarkSmoother:
    """Exponential smoothing of landmarks across video frames; holds the last good
    landmarks for a few frames when tracking drops out."""

    def __init__(self, alpha: float = 0.6, hold: int = 12):
        self.alpha, self.hold = alpha, hold
        self.state: np.ndarray | None = None
        self.missing = 0

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
