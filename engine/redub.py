"""Re-dubbing a video: scene cuts, and the source's own mouth closed before a new one is drawn.

- `SceneCuts` flags a frame whose picture differs from the previous one far more than
  motion does (mean absolute difference of small grey thumbnails plus a histogram
  distance); the renderer then forgets the tracked face, so nothing of the previous shot
  (its landmarks, its mouth) is carried into the new one.
- `MouthNeutraliser` keeps, per shot, the frame in which the source's mouth was most
  nearly closed (its lower face and landmarks). When the source mouth is open, that
  closed lower face is mapped onto the current frame (a similarity transform fitted on
  points the jaw does not move: eyes, nose, cheeks), colour-matched on its border and
  feathered in; the rig then draws the new mouth from the closed landmarks. So the
  viewer sees one mouth, the new one, and no second set of lips under it.
"""

from __future__ import annotations

import cv2
import numpy as np

from .face import CHIN, FACE_L, FACE_R, LIP_BOTTOM, LIP_TOP, MOUTH_L, MOUTH_R

STABLE = [33, 133, 263, 362, 168, 6, 197, 195, 5, 4, 1, 98, 327, 50, 280, 234, 454, 93, 323]
# lower-face landmarks (mouth, lips, chin, jaw line) that the closed reference replaces
LOWER = sorted({0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181, 185, 191, 267,
                269, 270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415, 152, 148, 176,
                149, 150, 136, 172, 58, 132, 377, 400, 378, 379, 365, 397, 288, 361, 18, 200, 199, 175, 83, 313,
                201, 421, 208, 428, 32, 262, 140, 369, 171, 396, 170, 395, 169, 394, 135, 364, 138, 367, 204, 424,
                106, 335, 182, 406, 194, 418, 57, 287, 43, 273, 186, 410, 92, 322, 165, 391, 167, 393, 164, 216, 436,
                212, 432, 202, 422, 210, 430, 214, 434})


def lip_gap(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[LIP_BOTTOM] - lm[LIP_TOP]) / (np.linalg.norm(lm[MOUTH_R] - lm[MOUTH_L]) + 1e-6))


class SceneCuts:
    def __init__(self, threshold: float = 0.28):
        self.threshold = threshold
        self.prev = None

    def is_cut(self, frame: np.ndarray) -> bool:
        small = cv2.cvtColor(cv2.resize(frame, (64, 36), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        hist = cv2.calcHist([small], [0], None, [16], [0, 256]).ravel()
        hist /= hist.sum() + 1e-9
        prev, self.prev = self.prev, (small.astype(np.float32), hist)
        if prev is None:
            return False
        mad = float(np.abs(small - prev[0]).mean()) / 255.0
        hd = 0.5 * float(np.abs(hist - prev[1]).sum())
        return mad + hd > self.threshold


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    M, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS)
    return M if M is not None else np.array([[1, 0, 0], [0, 1, 0]], np.float64)


class MouthNeutraliser:
    CLOSED = 0.06  # a source gap below this share of the mouth width needs no neutralising

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.ref_frame = None
        self.ref_lm = None
        self.ref_gap = np.inf

    def observe(self, frame: np.ndarray, lm: np.ndarray) -> None:
        """Remember this frame if its mouth is the most nearly closed of the shot so far."""
        g = lip_gap(lm)
        if g < self.ref_gap - 0.01:
            self.ref_frame, self.ref_lm, self.ref_gap = frame.copy(), lm.copy(), g

    def neutralise(self, frame: np.ndarray, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(frame with the source's mouth closed, landmarks of that closed mouth)."""
        g = lip_gap(lm)
        if self.ref_frame is None or g <= max(self.CLOSED, self.ref_gap + 0.02):
            return frame, lm
        M = _similarity(self.ref_lm[STABLE], lm[STABLE])
        h, w = frame.shape[:2]
        moved_lm = self.ref_lm @ M[:, :2].T + M[:, 2]
        F = float(np.linalg.norm(lm[FACE_R] - lm[FACE_L]))
        # the region: the lower face of both the closed reference and the current (open)
        # frame, with a margin, feathered over a tenth of the face width
        pts = np.concatenate([moved_lm[LOWER], lm[LOWER]])
        hull = cv2.convexHull(pts.astype(np.float32))
        x, y, bw, bh = cv2.boundingRect(hull)
        pad = int(0.2 * F) + 2
        x0, y0, x1, y1 = max(0, x - pad), max(0, y - pad), min(w, x + bw + pad), min(h, y + bh + pad)
        if x1 - x0 < 4 or y1 - y0 < 4:
            return frame, lm
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        grow = max(1, int(0.06 * F))
        cv2.fillConvexPoly(mask, np.round(hull.reshape(-1, 2) - [x0, y0]).astype(np.int32), 1.0)
        mask = cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
        mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.05 * F))
        # the chin's fall below the reference is covered too: extend down by the jaw drop
        drop = max(0.0, float(lm[CHIN, 1] - moved_lm[CHIN, 1]))
        if drop > 1:
            k = int(drop) + grow
            mask = np.maximum(mask, np.pad(mask, ((k, 0), (0, 0)))[: mask.shape[0]])
        T = M.copy()
        T[:, 2] -= [x0, y0]
        ref = cv2.warpAffine(self.ref_frame, T, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT)
        region = frame[y0:y1, x0:x1].astype(np.float32)
        ref = ref.astype(np.float32)
        ring = (mask > 0.05) & (mask < 0.5)
        if ring.sum() > 20:  # light may have changed since the reference: match its colour
            gain = (region[ring].mean(0) + 1.0) / (ref[ring].mean(0) + 1.0)
            ref *= np.clip(gain, 0.8, 1.25)
        out = frame.copy()
        m = mask[..., None]
        out[y0:y1, x0:x1] = np.clip(region * (1 - m) + ref * m + 0.5, 0, 255).astype(np.uint8)
        new_lm = lm.copy()
        new_lm[LOWER] = moved_lm[LOWER]
        return out, new_lm
