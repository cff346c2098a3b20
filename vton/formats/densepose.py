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


_QUANT_BITS = 6  # colours are looked up at 6 bits a channel: at most 2 levels off


@cache
def _nearest_part_lut(max_distance: float) -> np.ndarray:
    """(64**3,) uint8: the nearest part of each quantised colour (0 beyond max_distance)."""
    step = 1 << (8 - _QUANT_BITS)
    levels = np.arange(0, 256, step, dtype=np.int32) + step // 2
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    colors = part_colors().astype(np.int32)
    d = ((grid[:, None, :] - colors[None]) ** 2).sum(-1)
    lut = d.argmin(1).astype(np.uint8)
    lut[d.min(1) > max_distance**2] = 0
    return lut


def decode(rgb: np.ndarray, max_distance: float = 40.0) -> np.ndarray:
    """(H, W, 3) rendering -> (H, W) part ids by nearest colour (JPEG noise tolerated).

    Pixels farther than `max_distance` from every part colour count as background.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8 RGB, got {rgb.dtype} {rgb.shape}")
    shift = 8 - _QUANT_BITS
    q = rgb >> shift
    index = (
        (q[..., 0].astype(np.int32) << (2 * _QUANT_BITS))
        | (q[..., 1].astype(np.int32) << _QUANT_BITS)
        | q[..., 2]
    )
    return _nearest_part_lut(float(max_distance))[index]


def write_densepose(path: str | Path, parts: np.ndarray) -> None:
    """Write a part map as the dataset's JPEG rendering, atomically."""
    atomic_save(Image.fromarray(colorize(parts)), path, format="JPEG", quality=JPEG_QUALITY)


def read_densepose(path: str | Path) -> np.ndarray:
    """Read an `image-densepose` rendering back to (H, W) part ids."""
    with Image.open(path) as img:
        return decode(np.asarray(img.convert("RGB")))


def write_part_ids(path: str | Path, parts: np.ndarray) -> None:
    """Write (H, W) part ids 0..24 as a greyscale PNG of the ids, atomically (DressCode's
    `dense/ID_5.png`, DensePose's I channel)."""
    if parts.ndim != 2 or (parts.size and int(parts.max()) > N_PARTS):
        raise ValueError(f"part map must be (H, W) with ids 0..{N_PARTS}, got {parts.shape}")
    atomic_save(Image.fromarray(parts.astype(np.uint8), "L"), path, format="PNG")


def read_part_ids(path: str | Path) -> np.ndarray:
    """Read a greyscale PNG of part ids (`write_part_ids`) as (H, W) uint8; ValueError when it
    is not one channel or holds an id above 24."""
    with Image.open(path) as img:
        if img.mode not in ("L", "P"):
            raise ValueError(f"{path}: part ids must be a one-channel PNG, got mode {img.mode}")
        parts = np.array(img, dtype=np.uint8)
    if parts.size and int(parts.max()) > N_PARTS:
        raise ValueError(f"{path}: holds part id {int(parts.max())}; DensePose ids are 0..24")
    return parts
