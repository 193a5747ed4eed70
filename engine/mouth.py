"""Mouth/jaw animation on one frame, driven by FaceMesh landmarks.

Work happens in a face-aligned patch (x along the eye line, y down the face, origin at
the mouth centre). The upper lip stays put. Per column the lower inner lip is given a
target below the upper inner lip: the opening `G * P(x)` (P: 1 at the centre, 0 at the
corners), or, closed, slightly above it, so a face that shows its teeth at rest (an open
smile) really closes: the lower lip presses up under the upper one. The lower lip moves
there rigidly, the jaw and chin with it ("jaw" mode) or only the lips ("raw" mode),
fading out over the cheeks (cheek widths) and the neck (extra margin); the field is a
pure vertical shift per column, inverted exactly per column with np.interp. Between the
lips the output keeps the source's own mouth (its upper teeth) as far as the source
showed it, and paints a mouth interior (dark throat, upper-teeth hint, tongue) below
that; closed lips get a soft dark line where they meet. Everything is feathered and the
patch is blended back only where something changed, so untouched pixels stay
byte-identical and no seam can show.
"""

from __future__ import annotations

import cv2
import numpy as np

from .face import CHIN, EYE_L, EYE_R, FACE_L, FACE_R, LIP_BOTTOM, LIP_TOP, LOWER_INNER, MOUTH_L, MOUTH_R, UPPER_INNER

TUCK = 1.0  # closed: the lower lip tucks under the upper by this share of the source's teeth gap
NECK_CLOSE = 1.0  # closing, the rising jaw takes the neck along, fading over this x chin length
SEAM_DARK = 0.42  # darkness of the line where closed lips meet
MAX_GAP = 0.40  # lip gap at full loudness, as a fraction of mouth width (bbox_shift scales it)


def _smooth(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class MouthRig:
    """Geometry of one face (from landmarks) plus the params; renders any openness."""

    def __init__(self, lm: np.ndarray, params, frame_shape: tuple[int, ...]):
        self.params = params
        c = (lm[LIP_TOP] + lm[LIP_BOTTOM]) / 2.0
        e = lm[EYE_R] - lm[EYE_L]
        v = e / (np.linalg.norm(e) + 1e-6)
        u = np.array([-v[1], v[0]], np.float32)
        rel = (lm - c) @ np.stack([v, u], axis=1)  # (468, 2) face coords
        self.W = float(np.linalg.norm(lm[MOUTH_R] - lm[MOUTH_L]))
        F = float(np.linalg.norm(lm[FACE_R] - lm[FACE_L]))
        s = F / 256.0  # "MuseTalk pixels" (256 px face crop) -> frame pixels
        xl, xr = rel[MOUTH_L, 0], rel[MOUTH_R, 0]
        if xl > xr:
            xl, xr = xr, xl
        self.xm, self.hw = (xl + xr) / 2.0, max((xr - xl) / 2.0, 2.0)
        up, lo = rel[UPPER_INNER], rel[LOWER_INNER]
        ou, ol = np.argsort(up[:, 0]), np.argsort(lo[:, 0])
        xs = np.unique(np.concatenate([up[:, 0], lo[:, 0]]))
        uy = np.interp(xs, up[ou, 0], up[ou, 1])
        ly = np.interp(xs, lo[ol, 0], lo[ol, 1])
        # the cut is the higher of the two inner-lip lines (tracked lips can cross slightly)
        self.ux = self.lx = xs
        self.uy, self.ly = np.minimum(uy, ly), np.maximum(uy, ly)
        yu0 = float(np.interp(self.xm, self.ux, self.uy))
        self.g0 = max(0.0, float(np.interp(self.xm, self.lx, self.ly)) - yu0)
        lip_bottom = float(rel[17, 1]) - yu0
        chin = max(float(rel[CHIN, 1]) - yu0, lip_bottom + 4.0)
        self.gain = max(0.1, 1.0 + 0.07 * params.bbox_shift)
        self.gmax = MAX_GAP * self.W * self.gain
        self.tuck = TUCK * self.g0
        margin = params.extra_margin * s
        self.lip_end = lip_bottom  # the lower lip moves rigidly down to here
        self.lip_fall = max(0.75 * (chin - lip_bottom), 1.6 * self.gmax)  # raw: skin to the chin absorbs it
        self.chin_end = chin * 1.03
        self.neck_fall = 0.45 * chin + margin
        self.neck_fall_close = NECK_CLOSE * chin + margin  # a rising jaw takes the neck along further
        self.ext_l = max(1.3 * self.hw, self.hw + 0.6 * params.left_cheek_width * s)
        self.ext_r = max(1.3 * self.hw, self.hw + 0.6 * params.right_cheek_width * s)
        self.ramp = max(0.45 * chin, 1.7 * self.gmax)
        self.jaw = params.parsing_mode != "raw"
        # patch rectangle in face coords (bbox_shift also moves the crop, as upstream)
        shift = params.bbox_shift * s
        pad = 4.0 + margin
        x0 = self.xm - self.ext_l - pad
        x1 = self.xm + self.ext_r + pad
        y0 = yu0 - 0.3 * self.W - pad + min(shift, 0)
        y1 = yu0 + self.chin_end + max(self.neck_fall, self.neck_fall_close) + self.gmax + pad + max(shift, 0)
        self.pw, self.ph = int(np.ceil(x1 - x0)), int(np.ceil(y1 - y0))
        self.ox, self.oy = -x0, -y0  # patch pixel = face coord + (ox, oy)
        # affine patch -> image
        org = c + x0 * v + y0 * u
        self.M = np.array([[v[0], u[0], org[0]], [v[1], u[1], org[1]]], np.float32)
        corners = np.array([[0, 0, 1], [self.pw, 0, 1], [0, self.ph, 1], [self.pw, self.ph, 1]], np.float32) @ self.M.T
        h, w = frame_shape[:2]
        bx0, by0 = np.floor(corners.min(0)).astype(int)
        bx1, by1 = np.ceil(corners.max(0)).astype(int)
        self.bbox = (max(0, bx0), max(0, by0), min(w, bx1), min(h, by1))
        self.M_box = self.M.copy()
        self.M_box[:, 2] -= np.array(self.bbox[:2], np.float32)
        step = max(1, int(self.W / 28))
        self.cols = np.arange(0, self.pw + step, step, dtype=np.float32)
        self.rows = np.arange(self.ph, dtype=np.float32)

    # --------------------------------------------------------------- field
    def _profile(self, x):
        return np.clip(1.0 - ((x - self.xm) / self.hw) ** 2, 0.0, 1.0) ** 0.85

    def _cheeks(self, x):
        d = x - self.xm
        ext = np.where(d < 0, self.ext_l, self.ext_r)
        core = 0.5 * self.hw
        return 1.0 - _smooth((np.abs(d) - core) / np.maximum(ext - core, 1.0))

    def lines(self, x, gap: float):
        """Per column x (face coords) for centre gap `gap`: (top, opening, lower, g0): the
        upper inner lip (it stays put), the visible opening below it, the lower inner lip's
        target below `top` (negative: tucked under the upper lip), the source's gap."""
        top = np.interp(x, self.ux, self.uy)
        g0 = np.maximum(np.interp(x, self.lx, self.ly) - top, 0.0)
        G = self._centre_gap(gap) * self._profile(x)
        return top, np.maximum(G, 0.0), G, g0

    def _centre_gap(self, gap: float) -> float:
        """Target lower-lip position at the centre. A face that shows its teeth at rest
        closes with the lower lip pressed up under the upper one (a thin closed line
        rather than a slit); the tuck fades out as the mouth opens."""
        if gap >= self.tuck:
            return gap
        return 2.0 * gap - self.tuck

    def displacement(self, x, y, gap: float):
        """Downward displacement of the lower lip/jaw at source face coords (x, y), for
        the points at or below the lower inner lip (closing: negative, the lips meet)."""
        yu, _, lower, g0 = self.lines(x, gap)
        yl = np.maximum(y - yu, g0)  # points in the source gap move with the lower lip's edge
        lipfall = 1.0 - _smooth((yl - self.lip_end) / self.lip_fall)
        lip = (lower - g0) * lipfall
        if not self.jaw:
            return lip
        D = self._centre_gap(gap) - self.g0  # the jaw follows the lower lip's centre
        neck = self.neck_fall
        if D < 0:  # closing: the jaw rises with the lips (the chin reads as closed too)
            neck = self.neck_fall_close
        ramp_len = np.maximum(self.ramp * (1.0 - self._profile(x)), 1.0)
        jaw = self._cheeks(x) * _smooth(yl / ramp_len) * (1.0 - _smooth((yl - self.chin_end) / neck))
        jaw = D * jaw
        if D >= 0:
            return np.where(lip >= 0, np.maximum(lip, jaw), lip + jaw)
        return np.where(lip <= 0, np.minimum(lip, jaw), lip + jaw)

    # --------------------------------------------------------------- render
    def render(self, frame: np.ndarray, openness: float) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """Returns (bbox, new pixels for frame[bbox]) for openness in 0..1.

        Output rows above the upper inner lip are the source; between it and the target
        lower lip they are the source's own gap (teeth) as far as it reaches, the painted
        interior below that; from the target lower lip down, the displaced lower lip/jaw."""
        gap = float(np.clip(openness, 0.0, 1.0)) * self.gmax
        bx0, by0, bx1, by1 = self.bbox
        region = frame[by0:by1, bx0:bx1]
        if bx1 - bx0 < 4 or by1 - by0 < 4:
            return self.bbox, region.copy()
        M_inv = cv2.invertAffineTransform(self.M_box)
        patch = cv2.warpAffine(region, self.M_box, (self.pw, self.ph),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        fy = self.rows - self.oy
        # lower lip/jaw: exact per-column inverse of y -> y + d(x, y) on sparse columns
        X, Y = (self.cols - self.ox)[None, :], fy[:, None]  # broadcast to (ph, ncols)
        fwd = Y + self.displacement(X, Y, gap)
        src = np.empty_like(fwd)
        for j in range(fwd.shape[1]):
            col = np.maximum.accumulate(fwd[:, j])
            src[:, j] = np.interp(fy, col, fy)
        lower = cv2.resize(src.astype(np.float32), (self.pw, self.ph), interpolation=cv2.INTER_LINEAR)
        # per full column: above the target lower lip the rows stay where they are
        fx = np.arange(self.pw, dtype=np.float32) - self.ox
        top, opening, _, g0 = (a.astype(np.float32)[None, :] for a in self.lines(fx, gap))
        Yf = fy[:, None].astype(np.float32)
        map_y = np.where(Yf < top + opening, Yf, lower) + np.float32(self.oy)
        map_x = np.broadcast_to(np.arange(self.pw, dtype=np.float32), (self.ph, self.pw)).copy()
        out = cv2.remap(patch, map_x, map_y.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        moved = np.abs(map_y - self.oy - Yf)
        mask = _smooth(moved / 0.6).astype(np.float32)
        out, mask = self._paint_mouth(out, mask, gap, top[0], opening[0], g0[0])
        if not mask.any():
            return self.bbox, region.copy()
        back = cv2.warpAffine(out, M_inv, (bx1 - bx0, by1 - by0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
        m = cv2.warpAffine(mask, M_inv, (bx1 - bx0, by1 - by0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        m = m[..., None]
        blended = region.astype(np.float32) * (1.0 - m) + back.astype(np.float32) * m
        return self.bbox, np.clip(blended + 0.5, 0, 255).astype(np.uint8)

    def _paint_mouth(self, out, mask, gap, top_all, open_all, g0_all):
        """Mouth interior between `top` and `top + open` (face coords per patch column);
        the first `g0` rows keep the source's own mouth (its teeth); a dark line where the
        lips meet."""
        xs = np.arange(int(self.xm - self.hw + self.ox) - 2, int(self.xm + self.hw + self.ox) + 3)
        xs = xs[(xs >= 0) & (xs < self.pw)]
        if xs.size < 2:
            return out, mask
        fx = xs - self.ox
        top = top_all[xs] + self.oy
        G = open_all[xs]
        g0 = g0_all[xs]
        bot = top + G
        seam = self.W / 60.0  # half-height of the dark line where the lips meet
        r0 = int(max(0, np.floor(top.min()) - 3 - 2 * seam))
        r1 = int(min(self.ph, np.ceil(bot.max()) + 4 + 2 * seam))
        if r1 - r0 < 2:
            return out, mask
        rr = np.arange(r0, r1, dtype=np.float32)[:, None]
        xr = np.clip(np.abs(fx - self.xm) / self.hw, 0, 1)[None, :]  # 0 centre, 1 corner
        seg = out[r0:r1, xs[0]:xs[-1] + 1].astype(np.float32)
        alpha = np.zeros(seg.shape[:2], np.float32)
        if gap > 0.5:
            inside = np.clip(rr - top[None, :] + 0.5, 0, 1) * np.clip(bot[None, :] - rr + 0.5, 0, 1)
            h = np.maximum(bot - top, 1e-3)[None, :]
            t = np.clip((rr - top[None, :]) / h, 0, 1)  # 0 at upper lip, 1 at lower lip
            # interior: dark red-brown, darkest in the middle of the opening, darker at corners
            depth = (1.0 - np.abs(2.0 * t - 1.0)) * (1.0 - 0.5 * xr)
            base = np.array([30, 30, 62], np.float32)
            throat = np.array([10, 9, 20], np.float32)
            col = base + (throat - base) * depth[..., None]
            # upper-teeth hint just under the upper lip, only where the gap is wide enough
            teeth_h = np.minimum(0.1 * self.W, 0.35 * h) / h
            teeth = _smooth((teeth_h - t) / np.maximum(teeth_h * 0.5, 1e-3)) * _smooth((0.62 - xr) / 0.25)
            teeth *= np.clip(gap / (0.15 * self.W), 0, 1) * 0.9
            shade = 1.0 - 0.35 * _smooth(t / np.maximum(teeth_h, 1e-3)) - 0.3 * xr
            col += (np.array([160, 172, 190], np.float32) * shade[..., None] - col) * teeth[..., None]
            # tongue near the lower lip
            tongue = _smooth((t - 0.62) / 0.3) * _smooth((0.8 - xr) / 0.3) * 0.7
            col += (np.array([62, 66, 132], np.float32) - col) * tongue[..., None]
            sigma = 0.6 + self.W / 90.0
            inside = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), sigma)
            inside *= _smooth((1.0 - xr) / 0.12)  # no dark streaks past the corners
            # where the source already shows its own mouth (teeth), keep it
            f = 1.0 + self.W / 80.0
            keep = np.clip((top + g0)[None, :] - rr, 0, None) / f
            keep = np.clip(keep, 0, 1) * np.clip(g0 / f, 0, 1)[None, :]
            alpha = inside * (1.0 - keep)
            seg = seg * (1 - alpha[..., None]) + col * alpha[..., None]
        # closed lips: a soft dark line where they meet, fading as the mouth opens
        close = np.clip(1.0 - G / (0.05 * self.W), 0, 1) * (1.0 - 0.6 * xr[0] ** 2)
        line = np.exp(-(((rr - bot[None, :]) / max(seam, 0.7)) ** 2)) * (SEAM_DARK * close)[None, :]
        line *= _smooth((1.04 - xr) / 0.1)
        seg = seg * (1.0 - line[..., None])
        out = out.copy()
        out[r0:r1, xs[0]:xs[-1] + 1] = np.clip(seg + 0.5, 0, 255).astype(np.uint8)
        mask = mask.copy()
        mask[r0:r1, xs[0]:xs[-1] + 1] = np.maximum(mask[r0:r1, xs[0]:xs[-1] + 1], np.maximum(alpha, line))
        return out, mask
