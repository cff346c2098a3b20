"""Geometry and shading helpers: polygons, ellipses, capsules, directions, and the shaders
the layers paint with.

Coordinates are pixels with integer centres; `side` is +1 for the person's left (image right)
and -1 for the right."""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np


def direction(deg: float, side: int) -> np.ndarray:
    """Unit vector `deg` from straight down, turned away from the body on `side`."""
    rad = math.radians(deg)
    return np.array([side * math.sin(rad), math.cos(rad)])


def angle_of(vec: np.ndarray, side: int) -> float:
    return math.degrees(math.atan2(side * vec[0], vec[1]))


def fill_polygon(target: np.ndarray, polygon, value: int) -> None:
    """Fill a polygon (P, 2) in pixel coordinates, 1/16 px precision, no antialiasing."""
    pts = np.round(np.asarray(polygon, np.float64) * 16).astype(np.int32)
    cv2.fillPoly(target, [pts], (int(value),), lineType=cv2.LINE_8, shift=4)


def ellipse(center, rx: float, ry: float, deg: float = 0.0, n: int = 40) -> np.ndarray:
    """(n, 2) points around an ellipse with semi-axes rx, ry turned by `deg`."""
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    pts = np.stack([rx * np.cos(t), ry * np.sin(t)], 1)
    return np.asarray(center, float) + pts @ rotation(deg).T


def rotation(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s], [s, c]])


def perp(d: np.ndarray) -> np.ndarray:
    """`d` turned a quarter: (0, 1) (down) gives (1, 0) (image right)."""
    return np.array([d[1], -d[0]])


def unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.hypot(*v)), 1e-9)


def capsule(a, b, ra: float, rb: float, n: int = 10) -> np.ndarray:
    """The outline of a tapered capsule from a (radius ra) to b (radius rb)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = unit(b - a)
    base = math.atan2(d[1], d[0])
    t = np.linspace(-math.pi / 2, math.pi / 2, n)
    end_b = b + rb * np.stack([np.cos(base + t), np.sin(base + t)], 1)
    end_a = a + ra * np.stack([np.cos(base + math.pi + t), np.sin(base + math.pi + t)], 1)
    return np.concatenate([end_b, end_a])


def _capsule_across(a, b, ra: float, rb: float, xs, ys) -> np.ndarray:
    """Distance of pixels from the a-b axis over the local radius, in [0, 1]."""
    ab = np.asarray(b, np.float32) - np.asarray(a, np.float32)
    px, py = xs - np.float32(a[0]), ys - np.float32(a[1])
    t = np.clip((px * ab[0] + py * ab[1]) / max(float(ab @ ab), 1e-9), 0, 1)
    dx, dy = px - t * ab[0], py - t * ab[1]
    radius = ra + t * (rb - ra)
    return np.clip(np.sqrt(dx * dx + dy * dy) / np.maximum(radius, 1e-6), 0, 1)


Shader = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray | None]]


def solid(rgb, shade: Callable | None = None) -> Shader:
    """A shader painting `rgb`, times `shade(xs, ys)` when given."""
    color = np.asarray(rgb, np.float32)

    def run(xs, ys):
        if shade is None:
            return np.broadcast_to(color, (len(xs), 3)), None
        return color[None] * shade(xs, ys)[:, None], None

    return run


def limb_shade(segments, strength: float = 0.3) -> Callable:
    """Cylinder shading around a chain of tapered segments [(a, b, ra, rb), ...]."""

    def shade(xs, ys):
        across = np.min([_capsule_across(*seg, xs, ys) for seg in segments], axis=0)
        return 1 - strength * across**2

    return shade


def split_dense(center, axis, right_part: int, left_part: int) -> Callable:
    """Part ids by side of the line through `center` across `axis` (which points to the
    person's left, image right)."""
    cx, cy, nx, ny = float(center[0]), float(center[1]), float(axis[0]), float(axis[1])

    def dense(xs, ys):
        left = (xs - cx) * nx + (ys - cy) * ny >= 0
        return np.where(left, left_part, right_part).astype(np.uint8)

    return dense


def with_dense(shader: Shader, dense: Callable) -> Shader:
    def run(xs, ys):
        return shader(xs, ys)[0], dense(xs, ys)

    return run
