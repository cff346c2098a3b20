"""Shared test inputs for the annotation backends: items from photos, the real photos that
scikit-image and matplotlib ship, one loaded offline annotator, and the embedded sample dataset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import cbook
from skimage import data as skimage_data

from vton.annotate.base import Item
from vton.annotate.registry import create_annotator
from vton.config import parse_params
from vton.formats.images import read_rgb
from vton.sources.ingest import ingest


def photo_item(rgb: np.ndarray, name: str = "photo", reference: dict | None = None) -> Item:
    """A test-split item of one photo, as the runner builds it (inputs: `reference`)."""
    return Item(
        id=name, split="test", rgb=rgb, image_path=Path(f"{name}.jpg"), reference=reference or {}
    )


def astronaut() -> np.ndarray:
    """scikit-image's astronaut photo (512x512, a person from the waist up)."""
    return skimage_data.astronaut()


def hopper() -> np.ndarray:
    """matplotlib's Grace Hopper portrait (600x512)."""
    return read_rgb(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def loaded_annotator(kind: str, section: Any, cls: type) -> Iterator[Any]:
    """Build the `section`'s backend for `kind`, check it is a `cls`, load it, yield it and
    close it: the body of a module-scoped fixture (MediaPipe takes about a second to load)."""
    annotator = create_annotator(kind, section)
    assert isinstance(annotator, cls), type(annotator)
    annotator.load()
    yield annotator
    annotator.close()


def sample_dataset(
    root: Path,
    n_train: int = 4,
    n_test: int = 2,
    height: int = 64,
    width: int = 48,
    reference: Path | None = None,
    **sections: dict,
) -> Path:
    """The embedded sample source ingested into `root` (its exact annotations in `reference`
    when given); `sections` are extra params sections (e.g. run={...})."""
    params = parse_params(
        {
            "base": {"height": height, "width": width},
            "data": {"sample": {"n_train": n_train, "n_test": n_test}},
            **sections,
        }
    )
    ingest(params, root, reference=reference, progress=False)
    return root
