"""The top laid flat: its panels in garment units, its one texture field, and the cloth image
(that texture inside the panel outlines) with its mask."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vton.sources.sample.draw import direction, fill_polygon, perp
from vton.sources.sample.options import CLOTH_MAX_LEVEL, SIDES
from vton.sources.sample.params import GarmentParams, SceneParams


@dataclass
class FlatGarment:
    """The top laid flat, in garment units (origin at the neck's top centre, y down)."""

    torso: np.ndarray  # (4, 5, 2) grid: rows top, armpit, waist, hem; columns from low x
    sleeves: dict[str, np.ndarray]  # side name -> (R, 2, 2) grid, columns outer, inner
    front_neck: np.ndarray  # (P, 2) front neckline from the right neck point to the left
    back_neck: np.ndarray  # (P, 2) back neckline, same ends

    def outline(self, back: bool) -> np.ndarray:
        """The torso panel's outline, with the back (flat lay) or front (worn) neckline."""
        return _torso_outline(self.torso, self.back_neck if back else self.front_neck)


def _torso_outline(grid: np.ndarray, neck: np.ndarray) -> np.ndarray:
    rim = [grid[0, 1], grid[0, 0], grid[1, 0], grid[2, 0], *grid[3], grid[2, 4], grid[1, 4]]
    rim += [grid[0, 4], grid[0, 3]]
    return np.concatenate([np.array(rim), neck[::-1][1:-1]])


def _neckline(half: float, depth: float, kind: str, n: int = 15) -> np.ndarray:
    t = np.linspace(math.pi, 0, n)
    if kind == "v":
        x = half * np.cos(t)
        return np.stack([x, depth * (1 - np.abs(x) / half) ** 1.1], 1)
    return np.stack([half * np.cos(t), depth * np.sin(t)], 1)


def flat_garment(g: GarmentParams) -> FlatGarment:
    rows: list[list[tuple[float, float]]] = []
    for y, half, inner in (
        (g.shoulder_slope, g.shoulder_half, g.neck_half),
        (g.armpit_y, g.armpit_half, None),
        (g.armpit_y + 0.4 * (g.length - g.armpit_y), g.waist_half, None),
        (g.length, g.hem_half, None),
    ):
        inner = 0.5 * half if inner is None else inner
        y_in = y if rows else 0.0  # the top row's inner points are the neck points
        rows.append([(-half, y), (-inner, y_in), (0, y_in), (inner, y_in), (half, y)])
    torso = np.array(rows, float)
    sleeves = {}
    if g.sleeve != "none":
        for name, side in SIDES:
            col = 4 if side > 0 else 0
            seam = np.array([torso[0, col], torso[1, col]])
            sleeves[name] = _flat_sleeve(seam, g, side)
    return FlatGarment(
        torso=torso,
        sleeves=sleeves,
        front_neck=_neckline(g.neck_half, g.neck_depth, g.neckline),
        back_neck=_neckline(g.neck_half, g.back_depth, "crew"),
    )


def _flat_sleeve(seam: np.ndarray, g: GarmentParams, side: int) -> np.ndarray:
    """A flat sleeve grid (R, 2, 2), columns outer and inner, hung on the armhole `seam`.

    Every row is square to the sleeve, the first one through the armhole's middle, so the
    sleeve's top overlaps the torso panel a little, as a sleeve head does.
    """
    d = direction(g.sleeve_flat_deg, side)
    out = side * perp(d)
    mid = seam.mean(0)
    half0 = float(np.hypot(*(seam[0] - seam[1]))) / 2
    stops: tuple[tuple[float, float], ...]
    if g.sleeve == "long":
        stops = ((0.0, 1.0), (g.sleeve_len * g.sleeve_elbow, 0.78), (g.sleeve_len, 0.6))
    else:
        stops = ((0.0, 1.0), (g.sleeve_len, 0.9))
    rows = []
    for dist, shrink in stops:
        c = mid + d * dist
        rows.append([c + out * half0 * shrink, c - out * half0 * shrink])
    return np.array(rows, float)


def _trim_mask(g: GarmentParams, flat: FlatGarment, u, v) -> np.ndarray:
    """Rib bands at the hem, cuffs and neckline (they darken the texture)."""
    w = g.trim_width
    mask = (v > g.length - w) & (np.abs(u) < g.hem_half * 1.3)
    au = np.abs(u)
    if g.neckline == "v":
        edge = g.neck_depth * np.clip(1 - au / g.neck_half, 0, None) ** 1.1
    else:
        edge = g.neck_depth * np.sqrt(np.clip(1 - (au / g.neck_half) ** 2, 0, None))
    mask |= (au < g.neck_half + w) & (v >= edge - 0.001) & (v < edge + w)
    for name, side in SIDES:
        if name not in flat.sleeves:
            continue
        grid = flat.sleeves[name]
        cuff = grid[-1].mean(0)
        d = direction(g.sleeve_flat_deg, side)
        along = (u - cuff[0]) * d[0] + (v - cuff[1]) * d[1]
        across = (u - cuff[0]) * (side * d[1]) - (v - cuff[1]) * (side * d[0])
        half = float(np.hypot(*(grid[-1, 0] - grid[-1, 1]))) / 2
        mask |= (along > -w * 1.2) & (along < 0.05) & (np.abs(across) < half * 1.3)
    return mask


def _stripe(t, duty: float, period: float, px: float) -> np.ndarray:
    """Antialiased square wave of coordinate t (in periods): 1 inside a stripe."""
    c = t - duty / 2 - np.floor(t - duty / 2 + 0.5)
    dist = (duty / 2 - np.abs(c)) * period
    return np.clip(dist / px + 0.5, 0, 1)


def _logo_alpha(logo: dict, u, v, px: float) -> np.ndarray:
    r = logo["radius"]
    x, y = u - logo["x"], v - logo["y"]
    c, s = math.cos(math.radians(logo["rotation"])), math.sin(math.radians(logo["rotation"]))
    x, y = c * x + s * y, -s * x + c * y
    dist = np.hypot(x, y)
    shape = logo["shape"]
    if shape == "circle":
        sdf = r - dist
    elif shape == "ring":
        sdf = 0.22 * r - np.abs(dist - 0.75 * r)
    elif shape == "diamond":
        sdf = (r - np.abs(x) - np.abs(y)) / math.sqrt(2)
    elif shape == "star":
        ang = np.arctan2(x, -y)
        star = 0.42 + 0.58 * np.abs(np.cos(2.5 * ang)) ** 2.5
        sdf = (r * star - dist) * 0.6
    elif shape == "triangle":
        sdf = np.full_like(dist, np.inf)
        for k in range(3):
            a = math.radians(90 + 120 * k)
            sdf = np.minimum(sdf, 0.5 * r - (x * math.cos(a) + y * math.sin(a)))
    else:  # text: union of blocks in units of r / 2.5
        unit = r / 2.5
        sdf = np.full_like(dist, -np.inf)
        for bx, by, hw, hh in logo["blocks"]:
            inside = np.minimum(
                hw * unit - np.abs(x - bx * unit), hh * unit - np.abs(y - by * unit)
            )
            sdf = np.maximum(sdf, inside)
    return np.clip(sdf / px + 0.5, 0, 1)


def texture(g: GarmentParams, flat: FlatGarment, u, v, px: float) -> np.ndarray:
    """The garment's colour at flat points u, v (garment units): (..., 3) float32."""
    base, sec, ter = (np.asarray(c, np.float32) for c in (g.base, g.secondary, g.tertiary))
    a = math.radians(g.angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    pu, pv = g.phase
    kind = g.texture
    if kind == "stripes":
        t = (v * ca + u * sa) / g.period + pv
        alpha = _stripe(t, g.duty, g.period, px)[..., None]
        odd = (np.floor(t - g.duty / 2 + 0.5) % 2 == 1)[..., None]
        color = base * (1 - alpha) + np.where(odd, ter, sec) * alpha
    elif kind == "checks":
        a1 = _stripe((v * ca + u * sa) / g.period + pv, g.duty, g.period, px)[..., None]
        a2 = _stripe((u * ca - v * sa) / g.period + pu, g.duty, g.period, px)[..., None]
        mid = (base + sec) / 2
        color = base * (1 - a1) * (1 - a2) + mid * (a1 + a2 - 2 * a1 * a2) + sec * a1 * a2
    elif kind == "dots":
        gu, gv = (u * ca + v * sa) / g.period + pu, (v * ca - u * sa) / g.period + pv
        if g.stagger:
            gu = gu + 0.5 * (np.floor(gv) % 2)
        du, dv = gu - np.floor(gu) - 0.5, gv - np.floor(gv) - 0.5
        dist = np.hypot(du, dv)
        radius = g.duty * 1.2
        if g.motif == "flower":
            radius = radius * (0.75 + 0.35 * np.cos(5 * np.arctan2(dv, du)))
        alpha = np.clip((radius - dist) * g.period / px + 0.5, 0, 1)[..., None]
        color = base * (1 - alpha) + sec * alpha
    elif kind == "logo":
        alpha = _logo_alpha(g.logo, u, v, px)[..., None]
        color = base * (1 - alpha) + sec * alpha
    else:
        color = np.broadcast_to(base, (*np.broadcast_shapes(np.shape(u), np.shape(v)), 3))
    trim = _trim_mask(g, flat, u, v)
    return (color * np.where(trim, g.trim, 1.0)[..., None]).astype(np.float32)


@dataclass
class _ClothLayout:
    """Where the flat garment sits in the cloth image: pixel = scale * units + offset."""

    scale: float
    offset: np.ndarray

    def to_px(self, pts) -> np.ndarray:
        return np.asarray(pts, float) * self.scale + self.offset


def _cloth_layout(flat: FlatGarment, fill: float, height: int, width: int) -> _ClothLayout:
    pts = np.concatenate(
        [flat.torso.reshape(-1, 2), *(s.reshape(-1, 2) for s in flat.sleeves.values())]
    )
    lo, hi = pts.min(0), pts.max(0)
    scale = min(fill * height / (hi[1] - lo[1]), 0.97 * width / (hi[0] - lo[0]))
    center = np.array([(width - 1) / 2, (height - 1) / 2])
    return _ClothLayout(scale, center - scale * (lo + hi) / 2)


def render_cloth(g: GarmentParams, scene: SceneParams, height: int, width: int):
    """The flat-lay image (H, W, 3) uint8 and its garment mask (H, W) bool."""
    flat = flat_garment(g)
    layout = _cloth_layout(flat, scene.cloth_fill, height, width)
    polygons = [flat.outline(back=True)]
    for name, side in SIDES:
        if name in flat.sleeves:  # the sleeve, closed over the armhole it hangs on
            col = 4 if side > 0 else 0
            seam = flat.torso[:2, col]
            polygons.append(np.concatenate([seam[:1], _grid_outline(flat.sleeves[name]), seam[1:]]))
    mask8 = np.zeros((height, width), np.uint8)
    for poly in polygons:
        fill_polygon(mask8, layout.to_px(poly), 1)
    inside = np.zeros_like(mask8)  # the inside of the back, seen through the front neckline
    fill_polygon(inside, layout.to_px(np.concatenate([flat.front_neck, flat.back_neck[::-1]])), 1)
    ys, xs = np.nonzero(mask8)
    u = (xs - layout.offset[0]) / layout.scale
    v = (ys - layout.offset[1]) / layout.scale
    color = texture(g, flat, u, v, 1.0 / layout.scale)
    back = inside[ys, xs] > 0
    color[back] = np.asarray(g.base, np.float32) * 0.6
    bg = np.asarray(scene.cloth_bg, np.float32)
    # Soften the outline: border pixels take part of the background, never all of it.
    eroded = cv2.erode(
        mask8, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=(0,)
    )
    edge = (eroded[ys, xs] == 0)[:, None]
    color = np.where(edge, 0.6 * color + 0.4 * bg, color)
    cloth = np.empty((height, width, 3), np.uint8)
    cloth[:] = scene.cloth_bg
    cloth[ys, xs] = np.clip(np.round(color), 0, CLOTH_MAX_LEVEL + 5).astype(np.uint8)
    return cloth, mask8 > 0


def _grid_outline(grid: np.ndarray) -> np.ndarray:
    """Outline of a (R, 2, 2) strip grid: down the first column, back up the second."""
    return np.concatenate([grid[:, 0], grid[::-1, 1]])
