"""Image grids for sample previews and the evaluation plot."""

from __future__ import annotations

import numpy as np
import torch


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] or (1, H, W) in [0, 1] -> (H, W, 3) uint8."""
    x = x.detach().float().cpu()
    if x.shape[0] == 1:
        x = x.clamp(0, 1).expand(3, -1, -1) * 2 - 1
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()


def image_grid(columns: list[torch.Tensor], rows: int | None = None, pad: int = 2) -> np.ndarray:
    """Columns of batches (each (B, C, H, W)) -> one (H', W', 3) uint8 image, a row per sample."""
    count = columns[0].shape[0] if rows is None else min(rows, columns[0].shape[0])
    height, width = columns[0].shape[-2:]
    canvas = np.full(
        (count * (height + pad) + pad, len(columns) * (width + pad) + pad, 3), 255, np.uint8
    )
    for r in range(count):
        for c, column in enumerate(columns):
            y, x = pad + r * (height + pad), pad + c * (width + pad)
            canvas[y : y + height, x : x + width] = to_uint8(column[r])
    return canvas
