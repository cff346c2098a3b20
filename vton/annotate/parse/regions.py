"""Region helpers of the MediaPipe parser: capsules around bone chains, polygons and hulls
as masks, hole filling, and bringing labels back to the photo's size."""

from __future__ import annotations

import cv2
import numpy as np

from vton.formats.labels import VitonLabel as V


def _segment_distance(xx, yy, a, b, ra: float, rb: float) -> np.ndarray:
    """Distance of every grid point to segment a-b over the capsule radius there (radius
    ra at a, rb at b, linear between)."""
    ax, ay = float(a[0]), float(a[1])
    dx, dy = float(b[0]) - ax, float(b[1]) - ay
    t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / max(dx * dx + dy * dy, 1e-6), 0.0, 1.0)
    return np.hypot(xx - (ax + t * dx), yy - (ay + t * dy)) / (ra + (rb - ra) * t)


def chain(xx: np.ndarray, yy: np.ndarray, points, radii) -> np.ndarray:
    """(H, W) float32 normalised distance to a chain of capsules (below 1 inside)."""
    best = np.full(xx.shape, np.inf, np.float32)
    for i in range(len(points) - 1):
        rel = _segment_distance(xx, yy, points[i], points[i + 1], radii[i], radii[i + 1])
        np.minimum(best, rel, out=best)
    return best


def ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 at lo, 1 at hi, linear between and flat outside (falling when hi < lo)."""
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def _fill_polygon(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(polygon).astype(np.int32).reshape(-1, 1, 2)], (1,))
    return mask.astype(bool)


def hull_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    hull = cv2.convexHull(np.asarray(points[:, :2], np.float32))
    return _fill_polygon(shape, hull.reshape(-1, 2))


def disk(radius: float) -> np.ndarray:
    r = max(1, round(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """The mask with every background region that does not reach the border filled."""
    flood = np.pad(mask.astype(np.uint8), 1)
    cv2.floodFill(flood, None, (0, 0), (1,))
    return mask | (flood[1:-1, 1:-1] == 0)


def to_full_size(labels: np.ndarray, person: np.ndarray) -> np.ndarray:
    """Work-size labels brought to the size of the full-resolution `person` mask: nearest
    upsampling, then silhouette pixels the small map missed take their nearest part."""
    big_h, big_w = person.shape
    up = cv2.resize(labels, (big_w, big_h), interpolation=cv2.INTER_NEAREST)
    up = nearest_fill(up, person & (up == V.BACKGROUND), up != V.BACKGROUND)
    up[~person] = V.BACKGROUND
    return up


def nearest_fill(labels: np.ndarray, holes: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """`labels` with every `holes` pixel set to the label of its nearest `sources` pixel."""
    if not holes.any() or not sources.any():
        return labels
    # The zero pixels of the input are the sources, numbered from 1 in scan order, the
    # order boolean indexing walks them in too.
    _, idx = cv2.distanceTransformWithLabels(
        (~sources).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    out = labels.copy()
    out[holes] = labels[sources][idx[holes] - 1]
    return out
