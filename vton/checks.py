"""Checks at module boundaries: an image array, a model tensor. The error shows what arrived.

`torch` is imported only when a tensor is checked, so the array check stays cheap for the
annotators and the data tools that never load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch


def _describe(x: Any) -> str:
    return f"{x.dtype} {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__


def check_rgb(rgb: Any, what: str) -> np.ndarray:
    """`rgb` when it is an (H, W, 3) uint8 array; a ValueError naming `what` otherwise."""
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"{what}: expected an (H, W, 3) uint8 RGB image, got {_describe(rgb)}")
    if rgb.dtype != np.uint8:
        raise ValueError(f"{what}: expected uint8 RGB, got {_describe(rgb)}")
    return rgb


def check_labels(labels: Any, what: str) -> np.ndarray:
    """`labels` when it is an (H, W) uint8 array (a label map or a mask); a ValueError otherwise."""
    if not isinstance(labels, np.ndarray) or labels.ndim != 2 or labels.dtype != np.uint8:
        raise ValueError(f"{what}: expected an (H, W) uint8 array, got {_describe(labels)}")
    return labels


def check_tensor(
    x: Any,
    name: str,
    channels: int | None = None,
    *,
    ndim: int = 4,
    size: tuple[int, ...] | None = None,
    batch: int | None = None,
) -> torch.Tensor:
    """Check a `(B, C, H, W)` floating tensor at a module boundary; the error shows what arrived."""
    import torch

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    expected = f"({'B' if batch is None else batch}, {channels or 'C'}, H, W)"
    if x.ndim != ndim or (channels is not None and x.shape[1] != channels):
        raise ValueError(f"{name} must be {expected} float, got shape {tuple(x.shape)}")
    if batch is not None and x.shape[0] != batch:
        raise ValueError(f"{name} must have batch {batch} like the other inputs, got {x.shape[0]}")
    if size is not None and tuple(x.shape[-2:]) != tuple(size):
        raise ValueError(
            f"{name} must be {size[0]}x{size[1]} like the other inputs, got "
            f"{x.shape[-2]}x{x.shape[-1]}"
        )
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating tensor, got {x.dtype}")
    return x
