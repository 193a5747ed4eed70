"""Mouth/jaw animation on one frame, driven by FaceMesh landmarks and a mouth `Shape`.

Work happens in a face-aligned patch (x along the eye line, y down the face, origin at
the mouth centre). Per column, the upper inner lip moves a little (down when a mouth
that shows its teeth at rest closes, up when the mouth opens wide) inside the upper lip
itself, so nothing above the lip changes. The lower inner lip is given a target below
the upper one: the opening `G * P(x)` (P: 1 at the centre, 0 at the corners), or,
closed, slightly above it so the lips press together. The lower lip moves there rigidly;
when it opens wider than the source, the jaw and chin go with it ("jaw" mode) or only
the lips do ("raw" mode), fading out over the cheeks (cheek widths) and the neck (extra
margin). The jaw never rises above where the source has it: closing a smile is done
by the lips alone, the chin and collar stay where they are. Each field is a pure
vertical shift per column, inverted exactly per column with np.interp. Rounding (o/u/w)
draws the lips toward the centre, spreading (i/e) pulls the corners out.

Between the lips the output keeps the source's own mouth (its teeth) as far as the
source showed it, and below that draws a shaded interior: upper teeth under the upper
lip, lower teeth over the lower lip when the mouth is half open, a tongue that rises
from the lower lip, a dark throat, all scaled to the opening. Closed lips get a soft
dark line where they meet. Everything is feathered and blended back only where
something changed, so untouched pixels stay byte-identical and no seam can show.
"""

from __future__ import annotations

import cv2
import numpy as np

from .face import CHIN, EYE_L, EYE_R, FACE_L, FACE_R, LIP_BOTTOM, LIP_TOP, LOWER_INNER, MOUTH_L, MOUTH_R, UPPER_INNER
from .visemes import Shape

TUCK = 0.6  # closed: the lower lip tucks under the upper by this share of the source's teeth gap
UP_SHARE = 0.1  # closing a mouth that shows teeth, the upper lip covers this share of the gap
LIFT = 0.12  # opening wider than the source, the upper lip rises by this share of the extra gap
UP_CAP = 0.5  # ... but by at most this share of its own thickness
SEAM_DARK = 0.42  # darkness of the line where closed lips meet
MAX_GAP = 0.40  # lip gap at full loudness, as a fraction of mouth width (bbox_shift scales it)
ROUND_NARROW, SPREAD_WIDEN = 0.22, 0.10  # width change at full rounding / spreading
# interior colours, BGR like every frame here
BASE = np.array([38, 40, 112], np.float32)  # near the lips: dark red
THROAT = np.array([12, 11, 40], np.float32)  # deep in the mouth
TONGUE = np.array([100, 112, 196], np.float32)  # pink, lit from the front
TEETH = np.array([182, 206, 228], np.float32)  # ivory


def _smooth(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def as_shape(openness) -> Shape:
    return openness if isinstance(openness, Shape) else Shape(open=float(openness))


class MouthRig:
    """Geometry of one face (from landmarks) plus the params; renders any mouth shape."""

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
        self.ux = xs
        self.uy, self.ly = np.minimum(uy, ly), np.maximum(uy, ly)
        yu0 = float(np.interp(self.xm, self.ux, self.uy))
        self.g0 = max(0.0, float(np.interp(self.xm, self.ux, self.ly)) - yu0)
        # the upper lip's own thickness per column (its moves stay inside it)
        uo = rel[[61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]]
        order = np.argsort(uo[:, 0])
        self.ox_line, self.oy_line = uo[order, 0], uo[order, 1]
        lip_bottom = float(rel[17, 1]) - yu0
        chin = max(float(rel[CHIN, 1]) - yu0, lip_bottom + 4.0)
        self.gain = max(0.1, 1.0 + 0.07 * params.bbox_shift)
        self.gmax = MAX_GAP * self.W * self.gain
        self.tuck = TUCK * self.g0
        margin = params.extra_margin * s
        self.lip_end = lip_bottom  # the lower lip moves rigidly down to here
        self.lip_fall = max(0.75 * (chin - lip_bottom), 1.6 * self.gmax)  # raw: skin to the chin absorbs it
        self.close_fall = 0.7 * (chin - lip_bottom)  # closing: the skin under the lip, never the chin
        self.chin_end = chin * 1.03
        self.neck_fall = 0.45 * chin + margin
        self.ext_l = max(1.3 * self.hw, self.hw + 0.6 * params.left_cheek_width * s)
        self.ext_r = max(1.3 * self.hw, self.hw + 0.6 * params.right_cheek_width * s)
        self.ramp = max(0.45 * chin, 1.7 * self.gmax)
        self.jaw = params.parsing_mode != "raw"
        self.top_row = float(rel[0, 1]) - 0.04 * self.W  # nothing above this row ever changes
        self.low_row, self.chin_row = float(rel[17, 1]), float(rel[CHIN, 1])
        # patch rectangle in face coords (bbox_shift also moves the crop, as upstream)
        shift = params.bbox_shift * s
        pad = 4.0 + margin
        x0 = self.xm - self.ext_l - pad
        x1 = self.xm + self.ext_r + pad
        y0 = min(yu0 - 0.3 * self.W, self.top_row) - pad + min(shift, 0)
        y1 = yu0 + self.chin_end + self.neck_fall + self.gmax + pad + max(shift, 0)
        self.pw, self.ph = int(np.ceil(x1 - x0)), int(np.ceil(y1 - y0))
        self.ox, self.oy = -x0, -y0  # patch pixel = face coord + (ox, oy)
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

    def _centre_gap(self, gap: float) -> float:
        """Target lower-lip position at the centre. A face that shows its teeth at rest
        closes with the lower lip pressed up under the upper one (a thin closed line
        rather than a slit); the tuck fades out as the mouth opens."""
        if gap >= self.tuck:
            return gap
        return 2.0 * gap - self.tuck

    def lines(self, x, gap: float):
        """Per column x (face coords) for centre gap `gap`: (top, opening, lower, g0, U):
        the source's upper inner lip, the visible opening below its new place, the lower
        inner lip's target below `top` (negative: tucked under), the source's gap, and the
        upper lip's own move (positive: down)."""
        top = np.interp(x, self.ux, self.uy)
        g0 = np.maximum(np.interp(x, self.ux, self.ly) - top, 0.0)
        G = self._centre_gap(gap) * self._profile(x)
        Gp = np.maximum(G, 0.0)
        U = np.where(Gp < g0, UP_SHARE * (g0 - Gp), -LIFT * (Gp - g0))
        thick = np.maximum(top - np.interp(x, self.ox_line, self.oy_line), 0.0)
        U = np.clip(U, -0.3 * thick, UP_CAP * thick) * (self._profile(x) > 0)
        return top, Gp, U + G, g0, U

    def upper_displacement(self, x, y, U, top):
        """Downward move of the upper lip at (x, y): U at its inner edge, fading to 0 at
        its outer edge (`top_row` at the latest)."""
        outer = np.minimum(np.interp(x, self.ox_line, self.oy_line), top - 1.0)
        outer = np.maximum(outer, self.top_row)
        t = _smooth((y - outer) / np.maximum(top - outer, 1.0))
        return np.where(y >= top, U, U * t)

    def displacement(self, x, y, gap: float):
        """Downward displacement of the lower lip/jaw at source face coords (x, y), for
        the points at or below the lower inner lip (closing: negative, the lips meet)."""
        yu, _, lower, g0, _ = self.lines(x, gap)
        yl = np.maximum(y - yu, g0)  # points in the source gap move with the lower lip's edge
        move = lower - g0
        fall = np.where(move < 0, self.close_fall, self.lip_fall)
        lip = move * (1.0 - _smooth((yl - self.lip_end) / fall))
        if not self.jaw:
            return lip
        _, _, low_c, g0_c, _ = self.lines(np.array([self.xm]), gap)
        D = max(float(low_c[0] - g0_c[0]), 0.0)  # the jaw follows an opening, never rises
        if D <= 0:
            return lip
        ramp_len = np.maximum(self.ramp * (1.0 - self._profile(x)), 1.0)
        jaw = self._cheeks(x) * _smooth(yl / ramp_len) * (1.0 - _smooth((yl - self.chin_end) / self.neck_fall))
        return np.where(lip >= 0, np.maximum(lip, D * jaw), lip + D * jaw)

    def _width_field(self, shape: Shape):
        """Horizontal move (pixels, per patch pixel) for rounding / spreading, or None."""
        k = ROUND_NARROW * shape.round - SPREAD_WIDEN * shape.spread
        if abs(k) < 1e-3:
            return None
        fx = np.arange(self.pw, dtype=np.float32) - self.ox
        fy = self.rows - self.oy
        d = fx - self.xm
        wx = 1.0 - _smooth((np.abs(d) - 0.8 * self.hw) / (0.6 * self.hw))
        up = _smooth((fy - self.top_row) / max(-self.top_row * 0.6, 1.0))
        down = 1.0 - _smooth((fy - self.low_row) / max(0.5 * (self.chin_row - self.low_row), 1.0))
        return (-k * d * wx)[None, :] * (up * down)[:, None]

    # --------------------------------------------------------------- render
    def render(self, frame: np.ndarray, openness) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """Returns (bbox, new pixels for frame[bbox]) for a Shape (or a bare openness 0..1).

        Output rows above the upper inner lip's new place are the source (the upper lip
        moved inside itself); below it, the source's own gap (teeth) as far as it reaches,
        then the drawn interior; from the target lower lip down, the displaced lip/jaw."""
        shape = as_shape(openness)
        gap = 0.0 if shape.close >= 0.99 else float(np.clip(shape.open, 0.0, 1.0)) * self.gmax
        bx0, by0, bx1, by1 = self.bbox
        region = frame[by0:by1, bx0:bx1]
        if bx1 - bx0 < 4 or by1 - by0 < 4:
            return self.bbox, region.copy()
        M_inv = cv2.invertAffineTransform(self.M_box)
        patch = cv2.warpAffine(region, self.M_box, (self.pw, self.ph),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        fy = self.rows - self.oy
        X, Y = (self.cols - self.ox)[None, :], fy[:, None]
        top_s, _, _, _, U_s = self.lines(self.cols - self.ox, gap)
        fwd_lo = Y + self.displacement(X, Y, gap)
        fwd_up = Y + self.upper_displacement(X, Y, U_s[None, :], top_s[None, :])
        src_lo, src_up = np.empty_like(fwd_lo), np.empty_like(fwd_up)
        for j in range(fwd_lo.shape[1]):
            src_lo[:, j] = np.interp(fy, np.maximum.accumulate(fwd_lo[:, j]), fy)
            src_up[:, j] = np.interp(fy, np.maximum.accumulate(fwd_up[:, j]), fy)
        size = (self.pw, self.ph)
        lower = cv2.resize(src_lo.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
        upper = cv2.resize(src_up.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
        fx = np.arange(self.pw, dtype=np.float32) - self.ox
        top, opening, _, g0, U = (a.astype(np.float32)[None, :] for a in self.lines(fx, gap))
        Yf = fy[:, None].astype(np.float32)
        new_top = top + U
        map_y = np.where(Yf < new_top, upper, np.where(Yf < new_top + opening, Yf, lower))
        map_y = map_y + np.float32(self.oy)
        map_x = np.broadcast_to(np.arange(self.pw, dtype=np.float32), (self.ph, self.pw)).copy()
        out = cv2.remap(patch, map_x, map_y.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        moved = np.abs(map_y - self.oy - Yf)
        mask = _smooth(moved / 0.6).astype(np.float32)
        out, mask = self._paint_mouth(out, mask, gap, new_top[0], opening[0], (top + g0)[0])
        dx = self._width_field(shape)
        if dx is not None:
            out = cv2.remap(out, map_x - dx.astype(np.float32), np.broadcast_to(
                (self.rows)[:, None], (self.ph, self.pw)).astype(np.float32), cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE)
            mask = np.maximum(cv2.remap(mask, map_x - dx.astype(np.float32), np.broadcast_to(
                self.rows[:, None], (self.ph, self.pw)).astype(np.float32), cv2.INTER_LINEAR),
                _smooth(np.abs(dx) / 0.6).astype(np.float32))
        if not mask.any():
            return self.bbox, region.copy()
        back = cv2.warpAffine(out, M_inv, (bx1 - bx0, by1 - by0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
        m = cv2.warpAffine(mask, M_inv, (bx1 - bx0, by1 - by0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        m = m[..., None]
        blended = region.astype(np.float32) * (1.0 - m) + back.astype(np.float32) * m
        return self.bbox, np.clip(blended + 0.5, 0, 255).astype(np.uint8)

    def _paint_mouth(self, out, mask, gap, top_all, open_all, src_bottom_all):
        """Mouth interior between `top` and `top + open` (patch rows per column); rows down
        to `src_bottom` keep the source's own mouth (its teeth); a dark line where the
        lips meet."""
        xs = np.arange(int(self.xm - self.hw + self.ox) - 2, int(self.xm + self.hw + self.ox) + 3)
        xs = xs[(xs >= 0) & (xs < self.pw)]
        if xs.size < 2:
            return out, mask
        top = top_all[xs] + self.oy
        G = open_all[xs]
        src_bottom = src_bottom_all[xs] + self.oy
        bot = top + G
        seam = self.W / 60.0  # half-height of the dark line where the lips meet
        r0 = int(max(0, np.floor(top.min()) - 3 - 2 * seam))
        r1 = int(min(self.ph, np.ceil(bot.max()) + 4 + 2 * seam))
        if r1 - r0 < 2:
            return out, mask
        rr = np.arange(r0, r1, dtype=np.float32)[:, None]
        xr = np.clip(np.abs(xs - self.ox - self.xm) / self.hw, 0, 1)[None, :]  # 0 centre, 1 corner
        seg = out[r0:r1, xs[0]:xs[-1] + 1].astype(np.float32)
        alpha = np.zeros(seg.shape[:2], np.float32)
        if gap > 0.5:
            seg, alpha = self._interior(seg, rr, xr, top, bot, src_bottom, gap)
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

    def _interior(self, seg, rr, xr, top, bot, src_bottom, gap):
        """Shaded teeth-and-tongue model inside the opening (see the module docstring)."""
        inside = np.clip(rr - top[None, :] + 0.5, 0, 1) * np.clip(bot[None, :] - rr + 0.5, 0, 1)
        h = np.maximum(bot - top, 1e-3)[None, :]
        t = np.clip((rr - top[None, :]) / h, 0, 1)  # 0 at upper lip, 1 at lower lip
        hpx = gap  # opening at the centre, pixels
        # throat: a warm dark red, deepest in the middle of the opening and at the corners
        # (a near-black, nearly grey hole reads as blue-black beside orange skin)
        depth = (1.0 - np.abs(2.0 * t - 1.0)) * (1.0 - 0.5 * xr)
        col = BASE + (THROAT - BASE) * depth[..., None]
        # tongue: rises from the lower lip, its top a soft arch, lit from the front
        arch = 0.52 + 0.25 * xr ** 2
        tongue = _smooth((t - arch) / 0.16) * _smooth((0.85 - xr) / 0.3) * np.clip(hpx / (0.12 * self.W), 0, 1)
        tshade = 0.7 + 0.3 * _smooth((t - arch) / 0.3)
        col += (TONGUE * tshade[..., None] - col) * (0.9 * tongue)[..., None]
        # upper teeth just under the upper lip: an ivory band (incisors show ~0.14 mouth
        # widths) with a crisp lower edge, shaded a little toward its edge and the corners
        teeth_h = np.minimum(0.14 * self.W, 0.4 * h) / h
        teeth = _smooth((teeth_h - t) / np.maximum(teeth_h * 0.25, 1e-3)) * _smooth((0.66 - xr) / 0.22)
        teeth *= np.clip(gap / (0.12 * self.W), 0, 1) * 0.95
        shade = 1.0 - 0.18 * _smooth(t / np.maximum(teeth_h, 1e-3)) - 0.25 * xr
        col += (TEETH * shade[..., None] - col) * teeth[..., None]
        # lower teeth: a thinner band over the lower lip, seen while half open
        low_h = np.minimum(0.06 * self.W, 0.2 * h) / h
        lower = _smooth((t - (1.0 - low_h)) / np.maximum(low_h * 0.5, 1e-3)) * _smooth((0.5 - xr) / 0.2)
        lower *= np.clip(gap / (0.1 * self.W), 0, 1) * np.clip(1.6 - gap / (0.25 * self.W), 0, 1) * 0.7
        col += (TEETH * 0.85 * (1.0 - 0.3 * xr[..., None]) - col) * lower[..., None]
        sigma = 0.5 + self.W / 160.0  # feather: soft edges, but not so wide it greys the teeth
        inside = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), sigma)
        inside *= _smooth((1.0 - xr) / 0.12)  # no dark streaks past the corners
        # where the source already shows its own mouth (teeth), keep it
        f = 1.0 + self.W / 80.0
        keep = np.clip(src_bottom[None, :] - rr, 0, None) / f
        keep = np.clip(keep, 0, 1) * np.clip((src_bottom - top) / f, 0, 1)[None, :]
        alpha = inside * (1.0 - keep)
        return seg * (1 - alpha[..., None]) + col * alpha[..., None], alpha
