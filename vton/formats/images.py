"""Photos in and out: robust decoding of arbitrary input images, atomic writes of outputs.

`load_photo` is the one entry point for images that come from outside (a folder of photos,
a scrape). It decodes fully (so truncation is caught here, not later), applies the EXIF
orientation, converts every colour mode to 8-bit RGB and reports each conversion, and raises
`ImageRejected` with a reason a person can act on when the file is unusable.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vton.fileio import atomic_write_bytes

JPEG_QUALITY = 95  # the quality VITON-HD-style datasets are saved at; keeps re-encode loss low


class ImageRejected(ValueError):
    """An input image that cannot be used; `reason` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class Photo:
    """A decoded input photo: (H, W, 3) uint8 RGB plus what was done to get there."""

    rgb: np.ndarray
    source_mode: str
    conversions: list[str] = field(default_factory=list)


def load_photo(
    source: str | Path | bytes,
    *,
    min_side: int = 16,
    max_pixels: int = 64_000_000,
    convert: bool = True,
) -> Photo:
    """Decode an image file (or bytes) to 8-bit RGB, upright.

    `convert=False` rejects inputs that would need a lossy or geometric conversion (CMYK,
    16-bit, alpha, EXIF rotation) instead of converting them; the reason names the param.
    Raises `ImageRejected` for non-images, corrupt or truncated files, images smaller than
    `min_side` or larger than `max_pixels`.
    """
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    data = source if isinstance(source, bytes) else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data) if data is not None else source)
            width, height = img.size
            if width * height > max_pixels:
                raise ImageRejected(
                    "too_large",
                    f"{name} is {width}x{height} = {width * height} pixels, above the limit "
                    f"of {max_pixels} (param max_pixels)",
                )
            img.load()  # decode everything now: truncated or corrupt data fails here
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        raise ImageRejected(
            "not_an_image", f"{name} is not an image file Pillow can read"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("too_large", f"{name}: {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected("corrupt", f"{name} could not be decoded: {exc}") from exc
    if min(img.size) < min_side:
        raise ImageRejected(
            "too_small", f"{name} is {img.size[0]}x{img.size[1]}, below {min_side} px a side"
        )
    mode = img.mode
    conversions: list[str] = []

    def needs(what: str) -> None:
        if not convert:
            raise ImageRejected(
                "needs_conversion",
                f"{name} needs {what}; set the source's convert param to true to allow it",
            )
        conversions.append(what)

    orientation = img.getexif().get(0x0112, 1)
    if orientation not in (1, None):
        needs(f"EXIF orientation {orientation} applied")
        img = ImageOps.exif_transpose(img)
    if mode in ("I;16", "I;16B", "I;16L", "I", "I;16N"):
        needs(f"{mode} to 8-bit")
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        img = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif mode == "F":
        needs("float to 8-bit")
        arr = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(
            np.clip(arr * (255.0 if arr.max() <= 1 else 1), 0, 255).astype(np.uint8)
        )
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        needs(f"{mode} alpha composited on white")
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(canvas, rgba)
    if img.mode == "CMYK":
        needs("CMYK to RGB")
    elif img.mode not in ("RGB", "L", "P", "RGBA"):
        needs(f"{img.mode} to RGB")
    rgb = np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    return Photo(rgb=rgb, source_mode=mode, conversions=conversions)


def fit_to(rgb: np.ndarray, height: int, width: int, fill: tuple[int, int, int] = (255, 255, 255)):
    """Resize (H, W, 3) uint8 to fit (height, width), keeping aspect, padding with `fill`.

    Returns the padded image and the (scale, offset_x, offset_y) that maps source pixel
    coordinates into it, so keypoints can follow the image.
    """
    h, w = rgb.shape[:2]
    scale = min(height / h, width / w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resized = Image.fromarray(rgb).resize((new_w, new_h), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (width, height), fill)
    off_x, off_y = (width - new_w) // 2, (height - new_h) // 2
    canvas.paste(resized, (off_x, off_y))
    return np.asarray(canvas, dtype=np.uint8).copy(), (scale, off_x, off_y)


def atomic_save(img: Image.Image, path: str | Path, **save_kwargs) -> None:
    """Save a PIL image atomically (encode to memory, then `atomic_write_bytes`)."""
    buf = io.BytesIO()
    img.save(buf, **save_kwargs)
    atomic_write_bytes(path, buf.getvalue())


def write_jpeg(path: str | Path, rgb: np.ndarray, quality: int = JPEG_QUALITY) -> None:
    """Write (H, W, 3) or (H, W) uint8 as a baseline JPEG, atomically."""
    if rgb.dtype != np.uint8 or rgb.ndim not in (2, 3):
        raise ValueError(f"expected (H, W[, 3]) uint8, got {rgb.dtype} {rgb.shape}")
    atomic_save(Image.fromarray(rgb), path, format="JPEG", quality=quality)


def write_png(path: str | Path, array: np.ndarray) -> None:
    """Write (H, W, 3) or (H, W) uint8 as PNG, atomically."""
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise ValueError(f"expected (H, W[, 3]) uint8, got {array.dtype} {array.shape}")
    atomic_save(Image.fromarray(array), path, format="PNG")


def read_rgb(path: str | Path | bytes) -> np.ndarray:
    """Read a dataset image (one we or the dataset wrote; a file, or its bytes as a pack
    member) as (H, W, 3) uint8 RGB."""
    with Image.open(io.BytesIO(path) if isinstance(path, bytes) else path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) of an image file, read from its header only."""
    with Image.open(path) as img:
        return img.size[1], img.size[0]
