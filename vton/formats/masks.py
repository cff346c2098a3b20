"""Binary masks: `cloth-mask/ID.jpg` (greyscale JPEG) and `agnostic-mask/ID_mask.png`.

In memory a mask is `(H, W) bool`. On disk it is 0/255; JPEG masks come back with
compression noise around edges, so reading thresholds at the midpoint.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from vton.formats.images import JPEG_QUALITY, atomic_save


def read_mask(path: str | Path | bytes, threshold: int = 128) -> np.ndarray:
    """Read a mask image of any mode (a file, or its bytes as a pack member) as (H, W) bool
    (True where >= threshold)."""
    with Image.open(io.BytesIO(path) if isinstance(path, bytes) else path) as img:
        grey = np.asarray(img.convert("L"), dtype=np.uint8)
    return grey >= threshold


def write_mask(path: str | Path, mask: np.ndarray, *, rgb: bool = False) -> None:
    """Write an (H, W) bool mask as 0/255, atomically; format from the suffix (.jpg/.png).

    `rgb=True` writes three identical channels, as VITON-HD's `agnostic-mask` PNGs are.
    """
    if mask.ndim != 2:
        raise ValueError(f"mask must be (H, W), got shape {mask.shape}")
    grey = np.where(mask.astype(bool), 255, 0).astype(np.uint8)
    img = Image.fromarray(grey, "L")
    if rgb:
        img = img.convert("RGB")
    suffix = Path(path).suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        atomic_save(img, path, format="JPEG", quality=JPEG_QUALITY)
    elif suffix == ".png":
        atomic_save(img, path, format="PNG")
    else:
        raise ValueError(f"{path}: masks are written as .jpg or .png, not {suffix!r}")
