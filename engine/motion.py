"""A living still: blinks, a little head motion and breathing for photos and characters.

- Blinks come at natural, irregular intervals (gamma-distributed, mean ~3.6 s: about 16 a
  minute, never closer than 1.8 s), each ~0.3 s: the upper lid slides down over the eye
  (its skin stretches, the eye beneath is squeezed into the lid line), then opens again.
- The head sways by well under a degree and a few pixels, and the chest rises and falls
  at ~15 breaths a minute; both are smooth sums of slow sines.
- Only a soft region around the head and the shoulders moves, with a falloff a third of
  a face wide, so the background moves by at most a pixel or two where it touches the
  person and not at all elsewhere (pixels outside that region stay byte-identical).

Everything is seeded from the picture, so a still renders the same way every time.
"""

from __future__ import annotations

import cv2
import numpy as np

from .face import CHIN, EYES, FACE_L, FACE_R, FOREHEAD, NOSE_TIP


def _smooth(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def blink_curve(n: int, fps: int, rng: np.random.Generator) -> np.ndarray:
    """Lid closure 0..1 per frame."""
    c = np.zeros(n)
    t = rng.uniform(0.8, 2.2)
    shape = np.array([0.35, 0.8, 1.0, 1.0, 0.75, 0.45, 0.2, 0.07])  # 25 fps frames of one blink
    while t * fps < n:
        i0 = int(t * fps)
        seg = shape[: max(0, min(shape.size, n - i0))]
        c[i0:i0 + seg.size] = np.maximum(c[i0:i0 + seg.size], seg)
        t += max(1.8, rng.gamma(3.5, 1.0))
    return c


class LivingStill:
    """Per-frame life for a still `frame` with landmarks `lm`."""

    def __init__(self, frame: np.ndarray, lm: np.ndarray, n: int, fps: int = 25, blink: bool = True,
                 sway: bool = True):
        self.frame, self.lm, self.n, self.fps = frame, lm, n, fps
        seed = int(np.abs(lm).sum() * 1000) % (2 ** 32)
        rng = np.random.default_rng(seed)
        self.closure = blink_curve(n, fps, rng) if blink else np.zeros(n)
        self.F = float(np.linalg.norm(lm[FACE_R] - lm[FACE_L]))
        self.eyes = [self._eye_geometry(e) for e in EYES] if blink else []
        self.sway = sway
        if sway:
            self._head_fields(frame.shape)
            t = np.arange(n) / fps
            ph = rng.uniform(0, 2 * np.pi, 6)
            wave = lambda hz, k: np.sin(2 * np.pi * hz * t + ph[k])  # noqa: E731
            self.angle = np.deg2rad(0.7 * wave(0.11, 0) + 0.35 * wave(0.23, 1))
            self.tx = self.F * (0.008 * wave(0.09, 2) + 0.004 * wave(0.19, 3))
            self.ty = self.F * 0.005 * wave(0.13, 4)
            self.breath = self.F * 0.012 * wave(0.25, 5)

    # ----------------------------------------------------------- head and breathing
    STEP = 4  # the sway fields are smooth: computed on a coarse grid, then upsampled

    def _head_fields(self, shape) -> None:
        lm, F, s = self.lm, self.F, self.STEP
        h, w = shape[:2]
        top, chin = lm[FOREHEAD], lm[CHIN]
        centre = (lm[FACE_L] + lm[FACE_R] + top + chin) / 4.0
        fall = 0.35 * F
        rx, ry = 0.75 * F, 0.62 * np.linalg.norm(chin - top) + 0.1 * F
        x0, x1 = int(max(0, centre[0] - 1.9 * F)), int(min(w, centre[0] + 1.9 * F))
        y0 = int(max(0, centre[1] - ry - fall - 0.3 * F))
        y1 = h
        self.box = (x0, y0, x1, y1)
        X, Y = np.meshgrid(np.arange(x0, x1 + s, s, dtype=np.float32), np.arange(y0, y1 + s, s, dtype=np.float32))
        # head: a soft ellipse over face and hair, its lower half reaching down to the neck
        d = np.sqrt(((X - centre[0]) / rx) ** 2 + ((Y - centre[1] + 0.1 * F) / (ry + 0.15 * F)) ** 2)
        self.w_head = (1.0 - _smooth((d - 1.0) * min(rx, ry) / fall)).astype(np.float32)
        # torso: everything below the neck within the shoulders' reach
        neck_y = chin[1] + 0.35 * F
        side = 1.0 - _smooth((np.abs(X - centre[0]) - 1.2 * F) / (0.5 * F))
        self.w_body = (side * _smooth((Y - neck_y) / (0.5 * F))).astype(np.float32)
        self.pivot = chin + 0.4 * (chin - lm[NOSE_TIP])
        self.dx, self.dy = X - self.pivot[0], Y - self.pivot[1]
        gx, gy = np.meshgrid(np.arange(x1 - x0, dtype=np.float32), np.arange(y1 - y0, dtype=np.float32))
        self.gx, self.gy = gx, gy

    def displacement(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(dx, dy) pixel moves over `box` at frame i."""
        a, tx, ty, b = self.angle[i], self.tx[i], self.ty[i], self.breath[i]
        ca, sa = np.cos(a) - 1.0, np.sin(a)
        dispx = self.w_head * (ca * self.dx - sa * self.dy + tx)
        dispy = self.w_head * (sa * self.dx + ca * self.dy + ty) + self.w_body * b
        x0, y0, x1, y1 = self.box
        size, s = (x1 - x0, y1 - y0), self.STEP
        up = lambda a: cv2.resize(a, (a.shape[1] * s, a.shape[0] * s), interpolation=cv2.INTER_LINEAR)[  # noqa: E731
            : size[1], : size[0]]
        return up(dispx), up(dispy)

    def _sway(self, out: np.ndarray, i: int) -> None:
        # where the weights are 0 the maps are exact integers, and bilinear sampling at an
        # integer position returns that very pixel: the background there stays byte-identical
        dispx, dispy = self.displacement(i)
        x0, y0, x1, y1 = self.box
        m1, m2 = cv2.convertMaps(self.gx - dispx, self.gy - dispy, cv2.CV_16SC2)
        out[y0:y1, x0:x1] = cv2.remap(out[y0:y1, x0:x1], m1, m2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    # ----------------------------------------------------------- eyes
    def _eye_geometry(self, eye):
        outer, inner, upper, lower = eye
        lm = self.lm
        a, b = lm[outer], lm[inner]
        v = (b - a) / (np.linalg.norm(b - a) + 1e-6)
        u = np.array([-v[1], v[0]], np.float32)
        if u[1] < 0:
            u = -u
        c = (a + b) / 2.0
        ew = float(np.linalg.norm(b - a))
        rel = lambda idx: (lm[idx] - c) @ np.stack([v, u], axis=1)  # noqa: E731
        up, lo = rel(upper), rel(lower)
        up, lo = up[np.argsort(up[:, 0])], lo[np.argsort(lo[:, 0])]
        x0, x1, y0, y1 = -0.75 * ew, 0.75 * ew, -0.55 * ew, 0.45 * ew
        pw, ph = int(np.ceil(x1 - x0)), int(np.ceil(y1 - y0))
        org = c + x0 * v + y0 * u
        M = np.array([[v[0], u[0], org[0]], [v[1], u[1], org[1]]], np.float32)
        corners = np.array([[0, 0, 1], [pw, 0, 1], [0, ph, 1], [pw, ph, 1]], np.float32) @ M.T
        h, w = self.frame.shape[:2]
        bx0, by0 = np.floor(corners.min(0)).astype(int)
        bx1, by1 = np.ceil(corners.max(0)).astype(int)
        bbox = (max(0, bx0), max(0, by0), min(w, bx1), min(h, by1))
        M_box = M.copy()
        M_box[:, 2] -= np.array(bbox[:2], np.float32)
        fx = np.arange(pw, dtype=np.float32) + x0
        yu = np.interp(fx, up[:, 0], up[:, 1])
        yl = np.maximum(np.interp(fx, lo[:, 0], lo[:, 1]), yu)
        half = max(abs(up[0, 0]), abs(up[-1, 0]), 1.0)
        prof = np.clip(1.0 - (fx / (0.5 * ew)) ** 2, 0.0, 1.0) ** 0.6 * (np.abs(fx) <= half)
        return dict(M=M_box, bbox=bbox, pw=pw, ph=ph, y0=y0, yu=yu, yl=yl, prof=prof, ew=ew)

    def _blink(self, out: np.ndarray, c: float) -> None:
        for g in self.eyes:
            bx0, by0, bx1, by1 = g["bbox"]
            if bx1 - bx0 < 4 or by1 - by0 < 4:
                continue
            region = out[by0:by1, bx0:bx1]
            patch = cv2.warpAffine(region, g["M"], (g["pw"], g["ph"]), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                   borderMode=cv2.BORDER_REPLICATE)
            Y = (np.arange(g["ph"], dtype=np.float32) + g["y0"])[:, None]
            yu, yl = g["yu"][None, :], g["yl"][None, :]
            k = c * g["prof"][None, :]
            yn = yu + 0.97 * k * (yl - yu)  # the upper lid's new edge
            ytop = np.float32(g["y0"])
            src = np.where(Y <= yn, ytop + (Y - ytop) * (yu - ytop) / np.maximum(yn - ytop, 1e-3),
                           np.where(Y <= yl, yu + (Y - yn) * (yl - yu) / np.maximum(yl - yn, 1e-3), Y))
            map_x = np.broadcast_to(np.arange(g["pw"], dtype=np.float32), src.shape)
            res = cv2.remap(patch, map_x, (src - g["y0"]).astype(np.float32), cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
            lash = 1.0 - 0.45 * k * np.exp(-(((Y - yn) / max(0.04 * g["ew"], 0.8)) ** 2))
            res *= lash[..., None]
            mask = _smooth(np.maximum(np.abs(src - Y) / 0.6, (1.0 - lash) * 8)).astype(np.float32)
            M_inv = cv2.invertAffineTransform(g["M"])
            size = (bx1 - bx0, by1 - by0)
            back = cv2.warpAffine(np.clip(res, 0, 255).astype(np.uint8), M_inv, size,
                                  flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
            m = cv2.warpAffine(mask, M_inv, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)[..., None]
            out[by0:by1, bx0:bx1] = np.clip(region * (1.0 - m) + back * m + 0.5, 0, 255).astype(np.uint8)

    # ----------------------------------------------------------- per frame
    def apply(self, out: np.ndarray, i: int) -> np.ndarray:
        """Blink and sway frame `i` in place (`out` already carries the mouth)."""
        if self.eyes and self.closure[i] > 0.01:
            self._blink(out, float(self.closure[i]))
        if self.sway:
            self._sway(out, i)
        return out
