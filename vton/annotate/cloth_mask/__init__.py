"""Garment masks for `cloth-mask/ID.jpg`, one module per backend:

- `background` (`vton.annotate.cloth_mask.background`): classical segmentation of a
  product photo on a plain backdrop, no weights;
- `rembg` (`vton.annotate.cloth_mask.rembg`): a rembg model from a local .onnx file.

This package holds only what both share, so that importing one backend (and so its code
digest, `vton.codegraph`) does not pull in the other.
"""

from __future__ import annotations

import json

MIN_AREA = 0.02
"""The smallest garment mask either backend accepts, as a share of the image (`empty_mask`)."""

MAX_AREA = 0.95
"""The largest garment mask either backend accepts (`mask_fills_image`)."""

FIT_ATTRIBUTE = "garment_fit"
"""The catalog fact that says where ingest padded a garment photo: the (scale, offset_x,
offset_y) `vton.formats.images.fit_to` returned (folder and scraped sources)."""

SEAM = 2
"""Pixels of the photo's own edge left out beside ingest's padding: the JPEG blocks there
mix the photo with the padding colour."""


def content_box(attributes: dict[str, str], height: int, width: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the photo inside the padding ingest added, at the
    dataset size; the whole image when `attributes` names no fit (VITON-HD, the sample
    source) or the fit added no padding. A ValueError when the fact is malformed."""
    text = attributes.get(FIT_ATTRIBUTE)
    if text is None:
        return 0, height, 0, width
    try:
        _scale, off_x, off_y = (float(v) for v in json.loads(text))
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{FIT_ATTRIBUTE} {text!r} is not [scale, offset_x, offset_y] ({exc}); re-run ingest"
        ) from None
    x, y = int(off_x), int(off_y)
    if not (0 <= 2 * x < width and 0 <= 2 * y < height):
        raise ValueError(f"{FIT_ATTRIBUTE} {text!r} leaves no photo in a {width}x{height} image")
    # fit_to centres the photo: (size - photo) // 2 before it, the rest (one more) after
    top, left = (y + SEAM if y else 0), (x + SEAM if x else 0)
    bottom = height - (y + 1 + SEAM if y else 0)
    right = width - (x + 1 + SEAM if x else 0)
    return top, bottom, left, right
