"""Piecewise-affine garment panels: a grid of matching flat (garment units) and body (pixel)
points, mapped either way through its triangles."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Mesh:
    """A panel as a grid of matching points: flat (garment units) and body (pixels).

    flat, body: (R, C, 2); across: (R, C) position across the panel in [-1, 1], for shading.
    """

    flat: np.ndarray
    body: np.ndarray
    across: np.ndarray

    def triangles(self) -> np.ndarray:
        rows, cols = self.flat.shape[:2]
        tris = []
        for i in range(rows - 1):
            for j in range(cols - 1):
                a, b, c, d = (
                    i * cols + j,
                    i * cols + j + 1,
                    (i + 1) * cols + j,
                    (i + 1) * cols + j + 1,
                )
                tris += [(a, b, d), (a, d, c)]
        return np.array(tris)


def _barycentric_inverse(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """(T, 3, 3) matrices taking (x, y, 1) to the barycentric coordinates in each triangle."""
    out = np.zeros((len(tris), 3, 3))
    for t, tri in enumerate(tris):
        m = np.vstack([points[tri].T, np.ones(3)])
        if abs(np.linalg.det(m)) < 1e-9:
            out[t, :, 2] = -1e9  # degenerate: never the best triangle
        else:
            out[t] = np.linalg.inv(m)
    return out


def _best_triangle(inv: np.ndarray, xs, ys) -> np.ndarray:
    """For each point, the triangle it lies deepest inside (or nearest to, outside)."""
    lam = inv[:, :, 0, None] * xs + inv[:, :, 1, None] * ys + inv[:, :, 2, None]  # (T, 3, N)
    return np.argmax(lam.min(axis=1), axis=0)


def map_points(mesh: Mesh, pts) -> np.ndarray:
    """Carry flat-panel points (P, 2) to the body (pixels) through the mesh's triangles."""
    src, dst = mesh.flat.reshape(-1, 2), mesh.body.reshape(-1, 2)
    tris = mesh.triangles()
    inv = _barycentric_inverse(src, tris)
    pts = np.asarray(pts, float)
    t = _best_triangle(inv, pts[:, 0], pts[:, 1])
    lam = np.einsum("nij,nj->ni", inv[t], np.c_[pts, np.ones(len(pts))])
    return np.einsum("ni,nij->nj", lam, dst[tris[t]])


def mesh_lookup(mesh: Mesh, xs, ys):
    """Body pixels -> flat garment coordinates (N, 2), across (N,), triangle index (N,)."""
    body = mesh.body.reshape(-1, 2)
    tris = mesh.triangles()
    inv = _barycentric_inverse(body, tris).astype(np.float32)
    x0, y0 = int(xs.min()), int(ys.min())
    tri_map = np.full((int(ys.max()) - y0 + 1, int(xs.max()) - x0 + 1), -1, np.int16)
    for t, tri in enumerate(tris):
        pts = np.round((body[tri] - (x0, y0)) * 16).astype(np.int32)
        cv2.fillConvexPoly(tri_map, pts, (t,), lineType=cv2.LINE_8, shift=4)
    t = tri_map[ys.astype(np.int64) - y0, xs.astype(np.int64) - x0].astype(np.int64)
    missing = t < 0  # outline rounding and the round caps: extend the nearest triangle
    if missing.any():
        t[missing] = _best_triangle(inv, xs[missing], ys[missing])
    m = inv[t]
    lam = m[:, :, 0] * xs[:, None] + m[:, :, 1] * ys[:, None] + m[:, :, 2]
    corners = tris[t]
    flat = np.einsum("ni,nij->nj", lam, mesh.flat.reshape(-1, 2)[corners].astype(np.float32))
    across = np.einsum("ni,ni->n", lam, mesh.across.reshape(-1)[corners].astype(np.float32))
    return flat, np.clip(across, -1.2, 1.2), t
