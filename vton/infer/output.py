"""Encoding try-on results: PNG / JPEG / WebP bytes and the labelled strip of intermediates."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
SUFFIXES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


def check_format(fmt: str, quality: int) -> str:
    """Normalise an output format name (png, jpeg/jpg, webp); ValueError names the choices."""
    fmt = fmt.lower().strip()
    fmt = "jpeg" if fmt == "jpg" else fmt
    if fmt not in FORMATS:
        raise ValueError(f"output format {fmt!r} is not one of {', '.join(FORMATS)}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be 1..100, got {quality}")
    return fmt


def encode(rgb: np.ndarray, fmt: str = "png", quality: int = 90) -> bytes:
    """(H, W, 3) uint8 RGB -> image bytes (`quality` applies to jpeg and webp)."""
    fmt = check_format(fmt, quality)
    buf = io.BytesIO()
    options = {} if fmt == "png" else {"quality": quality}
    Image.fromarray(rgb).save(buf, format=FORMATS[fmt], **options)
    return buf.getvalue()


def format_of(path: str | Path) -> str:
    """The output format a file name asks for (.png, .jpg/.jpeg, .webp)."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: write .png, .jpg or .webp, not {suffix or 'no suffix'}")
    return SUFFIXES[suffix]


def strip(images: dict[str, np.ndarray], names: tuple[str, ...] | None = None) -> np.ndarray:
    """The intermediates side by side, each labelled above: (H + band, n * W, 3) uint8."""
    names = names or tuple(images)
    tiles = [images[n] for n in names]
    height, width = tiles[0].shape[:2]
    band = max(12, height // 24)
    canvas = Image.new("RGB", (width * len(tiles), height + band), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for i, (name, tile) in enumerate(zip(names, tiles, strict=True)):
        if tile.shape[:2] != (height, width):
            raise ValueError(f"{name} is {tile.shape[:2]}, the others {(height, width)}")
        canvas.paste(Image.fromarray(tile), (i * width, band))
        draw.text((i * width + 4, 1), name.replace("_", " "), fill=(0, 0, 0))
    return np.asarray(canvas, dtype=np.uint8)


def write_image(path: str | Path, rgb: np.ndarray, quality: int = 90) -> Path:
    """Write an image, its format from the suffix, atomically."""
    from vton.fileio import atomic_write_bytes

    path = Path(path)
    atomic_write_bytes(path, encode(rgb, format_of(path), quality))
    return path
