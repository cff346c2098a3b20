"""The owner map: layers painted in order, the later one owning a pixel. The parse, the
densepose and keypoint visibility are read from it, and each layer computes its colours only
at the pixels it owns, so a pixel's label is always what is drawn there."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vton.sources.sample.draw import Shader, fill_polygon


class Tag:
    """Body regions, for deciding whether a keypoint is seen or hidden."""

    NONE, HEAD, TORSO, RIGHT_ARM, LEFT_ARM, RIGHT_LEG, LEFT_LEG, HAIR = range(8)


@dataclass
class _Layer:
    label: int
    dense: int
    tag: int
    shade: Shader


class Canvas:
    """Layers painted in order into an owner map (the later layer owns a pixel)."""

    def __init__(self, height: int, width: int):
        self.height, self.width = height, width
        self.owner = np.zeros((height, width), np.uint8)
        self.layers: list[_Layer] = []

    def add(self, polygons, label: int, dense: int, tag: int, shade: Shader) -> int:
        self.layers.append(_Layer(int(label), int(dense), tag, shade))
        layer_id = len(self.layers)
        for poly in polygons:
            fill_polygon(self.owner, poly, layer_id)
        return layer_id

    def compose(self, background: np.ndarray, light: float):
        """Colour every layer at its pixels: (H, W, 3) float32 image, parse, dense, tags."""
        n = len(self.layers) + 1
        labels = np.array([0] + [lay.label for lay in self.layers], np.uint8)
        denses = np.array([0] + [lay.dense for lay in self.layers], np.uint8)
        tags = np.array([Tag.NONE] + [lay.tag for lay in self.layers], np.uint8)
        parse, dense, tag = labels[self.owner], denses[self.owner], tags[self.owner]
        image = background.reshape(-1, 3).copy()
        flat_owner = self.owner.reshape(-1)
        order = np.argsort(flat_owner, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(flat_owner, minlength=n))])
        dense_flat = dense.reshape(-1)
        for layer_id in range(1, n):
            idx = order[bounds[layer_id] : bounds[layer_id + 1]]
            if idx.size == 0:
                continue
            ys, xs = np.divmod(idx, self.width)
            xs, ys = xs.astype(np.float32), ys.astype(np.float32)
            rgb, parts = self.layers[layer_id - 1].shade(xs, ys)
            gain = 1 + light * (xs / self.width - 0.5) * 2
            image[idx] = rgb * gain[:, None]
            if parts is not None:
                dense_flat[idx] = parts
        return image.reshape(self.height, self.width, 3), parse, dense, tag
