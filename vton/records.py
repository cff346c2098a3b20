"""The records the pipeline passes around: samples (a person, a garment and any annotations
it carries), which sources yield and annotators fill, and rejects (an input that could not
be used, with a reason)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Sample:
    """One person/garment pair in memory, at the target size.

    person, cloth: (H, W, 3) uint8 RGB.
    cloth_mask: (H, W) bool, True on the garment.
    parse: (H, W) uint8 VITON-HD label ids (`vton.formats.labels.VitonLabel`).
    pose: (25, 3) float32 BODY_25 x, y (pixels), confidence; missing points (0, 0, 0).
    pose_doc: the full OpenPose document when the source has one (keeps face/hand arrays).
    densepose: (H, W) uint8 DensePose part ids 0..24 (`vton.formats.densepose`).
    agnostic: (H, W, 3) uint8; parse_agnostic: (H, W) uint8 ids; agnostic_mask: (H, W) bool.
    files: kind -> an existing file to copy verbatim instead of re-encoding (same size only).
    """

    id: str
    split: str
    person: np.ndarray | None = None
    cloth: np.ndarray | None = None
    cloth_mask: np.ndarray | None = None
    parse: np.ndarray | None = None
    pose: np.ndarray | None = None
    pose_doc: dict | None = None
    densepose: np.ndarray | None = None
    agnostic: np.ndarray | None = None
    parse_agnostic: np.ndarray | None = None
    agnostic_mask: np.ndarray | None = None
    files: dict[str, Path] = field(default_factory=dict)
    source: str = ""
    origin: str = ""
    provenance: dict = field(default_factory=dict)


@dataclass
class Reject:
    """An input a source could not turn into a sample.

    reason: a short code (`corrupt`, `not_an_image`, `too_small`, `no_garment`, ...).
    detail: what happened and how to fix it, for a person to read.
    """

    id: str
    origin: str
    reason: str
    detail: str
    source: str = ""
