"""Shapes the DensePose approximation scores pixels against: capsules around segments, a
polygon's signed distance, and the vote that gives each pixel its part."""

from __future__ import annotations

import numpy as np


def segment_frame(
    points: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """(N, 2) points in the frame of segment a-b: coordinate along it (0 at a), signed
    offset across it (positive towards (-dy, dx) of a->b) and the segment's length."""
    ab = (b - a).astype(np.float32)
    length = float(np.hypot(ab[0], ab[1]))
    axis = ab / length if length > 1e-6 else np.array([1.0, 0.0], np.float32)
    rel: np.ndarray = points - a.astype(np.float32)
    return rel @ axis, rel @ np.array([-axis[1], axis[0]], np.float32), length


def capsule_distance(
    along: np.ndarray, offset: np.ndarray, length: float, cap_a: float = 1.0, cap_b: float = 1.0
) -> np.ndarray:
    """Distance to a segment whose ends count `cap` times farther beyond them: a cap above 1
    flattens that end, so two segments meeting at a joint split near the joint's plane."""
    over = np.maximum(-along, 0) * cap_a + np.maximum(along - length, 0) * cap_b
    return np.hypot(offset, over)


def polygon_signed_distance(
    polygon: np.ndarray, shape: tuple[int, int], points: np.ndarray
) -> np.ndarray:
    """Signed distance (negative inside) of integer (N, 2) x, y points to a polygon."""
    import cv2

    inside = np.zeros(shape, np.uint8)
    cv2.fillPoly(inside, [np.round(polygon).astype(np.int32)], (1,))
    dist = np.full(len(points), np.inf, np.float32)
    pts = points.astype(np.float32)
    for a, b in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        along, offset, length = segment_frame(pts, a, b)
        dist = np.minimum(dist, capsule_distance(along, offset, length))
    return np.where(inside[points[:, 1], points[:, 0]] > 0, -dist, dist)


class PartVote:
    """Candidate parts for N pixels: a score each (0 at the part's core, 1 at its nominal
    edge), the label(s) it gives, a priority that lets parts in front (hands, arms) win
    inside their own outline, and the score beyond which it no longer claims a pixel."""

    def __init__(self, n: int):
        self.n = n
        self.scores: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.priorities: list[float] = []
        self.limits: list[float] = []

    def add(
        self, score: np.ndarray, label: np.ndarray | int, priority: float, limit: float
    ) -> None:
        self.scores.append(score.astype(np.float32))
        self.labels.append(np.broadcast_to(np.asarray(label, np.uint8), (self.n,)))
        self.priorities.append(priority)
        self.limits.append(limit)

    def decide(self) -> tuple[np.ndarray, np.ndarray]:
        """The winning label of each pixel, and whether the pixel is body at all (its
        nearest part is within that part's limit)."""
        raw = np.stack(self.scores)
        priority = np.asarray(self.priorities, np.float32)[:, None]
        effective = raw - priority * np.clip(1.0 - raw, 0.0, 1.0)
        idx = np.arange(self.n)
        nearest = raw.argmin(0)
        keep = raw[nearest, idx] <= np.asarray(self.limits, np.float32)[nearest]
        return np.stack(self.labels)[effective.argmin(0), idx], keep
