"""The registry that picks an annotation backend by name (`<kind>.backend` in params.yaml).

Backends are named as `"module:Class"` strings and imported only when chosen. The registry
is kept apart from `vton.annotate.base` (which every backend imports) so that a backend's
code digest (`vton.codegraph`) covers the code it runs, not every other backend.
"""

from __future__ import annotations

import importlib
from typing import Any

from vton.annotate.base import Annotator

# kind -> backend -> "module:Class"; modules are imported only when their backend is chosen.
BACKENDS: dict[str, dict[str, str]] = {
    "pose": {
        "reference": "vton.annotate.reference:ReferenceAnnotator",
        "mediapipe": "vton.annotate.pose:MediaPipePose",
    },
    "parse": {
        "reference": "vton.annotate.reference:ReferenceAnnotator",
        "mediapipe": "vton.annotate.parse.mediapipe:MediaPipeParser",
        "segformer": "vton.annotate.parse.segformer:SegformerParser",
        "schp_onnx": "vton.annotate.parse.schp:SchpOnnxParser",
    },
    "densepose": {
        "reference": "vton.annotate.reference:ReferenceAnnotator",
        "mediapipe": "vton.annotate.densepose.approximate:MediaPipeDensePose",
        "detectron2": "vton.annotate.densepose.detectron2:Detectron2DensePose",
    },
    "cloth_mask": {
        "reference": "vton.annotate.reference:ReferenceAnnotator",
        "background": "vton.annotate.cloth_mask.background:BackgroundClothMask",
        "rembg": "vton.annotate.cloth_mask.rembg:RembgClothMask",
    },
    "agnostic": {
        "reference": "vton.annotate.reference:ReferenceAnnotator",
        "hrviton": "vton.annotate.agnostic:HrVitonAgnostic",
    },
}

OFFLINE: dict[str, str] = {
    "pose": "mediapipe",
    "parse": "mediapipe",
    "densepose": "mediapipe",
    "cloth_mask": "background",
    "agnostic": "hrviton",
}
"""The backend of each kind that annotates plain photos with what is installed (no model
files to fetch): what `vton annotate KIND --in PHOTOS` runs where params name `reference`,
which reads a source's own annotations and so has nothing to read for plain photos."""


def create_annotator(kind: str, section: Any) -> Annotator:
    """The annotator of `kind` that `section.backend` names, built from that params section.

    `section` is `Params.pose`, `Params.parse` or `Params.densepose`; the class receives
    `(kind, section)`.
    """
    if kind not in BACKENDS:
        raise ValueError(f"unknown annotation kind {kind!r}; known: {', '.join(BACKENDS)}")
    backend = section.backend
    if backend not in BACKENDS[kind]:
        raise ValueError(
            f"{kind}.backend {backend!r} is not a {kind} backend; "
            f"choose one of {', '.join(BACKENDS[kind])}"
        )
    module_name, class_name = BACKENDS[kind][backend].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(kind, section)
