"""DensePose part maps and `image-densepose/ID.jpg`, the colour rendering VITON-HD ships.

A part map is `(H, W) uint8` of DensePose's 24 surface parts (0 = background). The dataset's
images colour part `i` with OpenCV's PARULA colour map at `floor(i * 255 / 24)` and leave the
background black (measured on the VITON-HD files: median distance to that colour 1 level).
"""

from __future__ import annotations

from enum import IntEnum
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from vton.formats.images import JPEG_QUALITY, atomic_save


class DensePosePart(IntEnum):
    BACKGROUND = 0
    TORSO_BACK = 1
    TORSO_FRONT = 2
    RIGHT_HAND = 3
    LEFT_HAND = 4
    LEFT_FOOT = 5
    RIGHT_FOOT = 6
    UPPER_LEG_RIGHT_BACK = 7
    UPPER_LEG_LEFT_BACK = 8
    UPPER_LEG_RIGHT_FRONT = 9
    UPPER_LEG_LEFT_FRONT = 10
    LOWER_LEG_RIGHT_BACK = 11
    LOWER_LEG_LEFT_BACK = 12
    LOWER_LEG_RIGHT_FRONT = 13
    LOWER_LEG_LEFT_FRONT = 14
    UPPER_ARM_LEFT_FRONT = 15
    UPPER_ARM_RIGHT_FRONT = 16
    UPPER_ARM_LEFT_BACK = 17
    UPPER_ARM_RIGHT_BACK = 18
    LOWER_ARM_LEFT_FRONT = 19
    LOWER_ARM_RIGHT_FRONT = 20
    LOWER_ARM_LEFT_BACK = 21
    LOWER_ARM_RIGHT_BACK = 22
    HEAD_RIGHT = 23
    HEAD_LEFT = 24


N_PARTS = 24


@cache
def part_colors() -> np.ndarray:
    """(25, 3) uint8 RGB: the rendering colour of each part id, black for background."""
    import cv2  # heavy import kept local: only rendering needs the colour map

    lut = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_PARULA)
    lut = lut[:, 0, ::-1]  # BGR -> RGB
    colors = lut[(np.arange(N_PARTS + 1) * 255) // N_PARTS].copy()
    colors[0] = 0
    return colors


def colorize(parts: np.ndarray) -> np.ndarray:
    """(H, W) part ids -> (H, W, 3) uint8 RGB rendering."""
    if parts.ndim != 2 or (parts.size and int(parts.max()) > N_PARTS):
        raise ValueError(f"part map must be (H, W) with ids 0..{N_PARTS}, got {parts.shape}")
    return part_colors()[parts]


def decode(rgb: np.ndarray, max_distance: float = 40.0) -> np.ndarray:
    """(H, W, 3) rendering -> (H, W) part ids by nearest colour (JPEG noise tolerated).

    Pixels farther than `max_distance` from every part colour count as background.
    """
    colors = part_colors().astype(np.int32)
    flat = rgb.reshape(-1, 3).astype(np.int32)
    best = np.zeros(len(flat), np.uint8)
    best_d = np.full(len(flat), np.iinfo(np.int32).max, np.int64)
    for part, color in enumerate(colors):
        d = ((flat - color) ** 2).sum(1)
        closer = d < best_d
        best[closer], best_d[closer] = part, d[closer]
    best[best_d > max_distance**2] = 0
    return best.reshape(rgb.shape[:2])


def write_densepose(path: str | Path, parts: np.ndarray) -> None:
    """Write a part map as the dataset's JPEG rendering, atomically."""
    atomic_save(Image.fromarray(colorize(parts)), path, format="JPEG", quality=JPEG_QUALITY)


def read_densepose(path: str | Path) -> np.ndarray:
    """Read an `image-densepose` rendering back to (H, W) part ids."""
    with Image.open(path) as img:
        return decode(np.asarray(img.convert("RGB")))
