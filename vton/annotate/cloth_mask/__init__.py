"""Garment masks for `cloth-mask/ID.jpg`, one module per backend:

- `background` (`vton.annotate.cloth_mask.background`): classical segmentation of a
  product photo on a plain backdrop, no weights;
- `rembg` (`vton.annotate.cloth_mask.rembg`): a rembg model from a local .onnx file.

This package holds only what both share, so that importing one backend (and so its code
digest, `vton.codegraph`) does not pull in the other.
"""

from __future__ import annotations

MIN_AREA = 0.02
"""The smallest garment mask either backend accepts, as a share of the image (`empty_mask`)."""

MAX_AREA = 0.95
"""The largest garment mask either backend accepts (`mask_fills_image`)."""
