"""The Annotator protocol every backend implements, and the registry that picks one by name.

An annotator turns one person photo into annotations:

- `kind`: the annotation group it produces (`pose`, `parse`, `densepose`).
- `name`: the backend (`reference`, `mediapipe`, `segformer`, ...).
- `outputs`: the layout kinds it writes (`("pose_json", "pose_img")` for pose).
- `fingerprint()`: a string that changes whenever results could change (backend, weights
  digest, params); the runner's cache is keyed by (input digest, fingerprint).
- `load()`: heavy imports and model weights, once per worker process.
- `annotate(item) -> Sample`: a `Sample` with the fields of `outputs` filled (pose, parse,
  densepose) and `provenance` notes (e.g. how many people were seen). Raise
  `AnnotationRejected` for an input that cannot be annotated (no person, say).

Constructors take the params section of their kind and do no heavy work, so a stage can
build an annotator, print its fingerprint and fail fast on a missing weights path.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vton.sources.base import Sample

INPUT_KIND: dict[str, str] = {
    "pose": "image",
    "parse": "image",
    "densepose": "image",
    "cloth_mask": "cloth",
    "agnostic": "image",
}
"""The layout kind each annotation kind reads (the person photo, or the garment photo)."""

EXTRA_INPUTS: dict[str, tuple[str, ...]] = {"agnostic": ("parse", "pose_json")}
"""Dataset kinds an annotation kind reads besides its photo (in `Item.inputs`); they are
part of the cache key, so a changed parse re-makes the agnostic images."""

KIND_OUTPUTS: dict[str, tuple[str, ...]] = {
    "pose": ("pose_json", "pose_img"),
    "parse": ("parse",),
    "densepose": ("densepose",),
    "cloth_mask": ("cloth_mask",),
    "agnostic": ("agnostic", "parse_agnostic", "agnostic_mask"),
}
"""Layout kinds each annotation kind writes."""


def outputs_of(annotator: object, kind: str, serves: str) -> tuple[str, ...]:
    """The layout kinds `annotator` writes as the `kind` annotator; a ValueError when its
    class serves another kind (`serves`)."""
    if kind != serves:
        raise ValueError(f"{type(annotator).__name__} produces {serves} annotations, not {kind!r}")
    return KIND_OUTPUTS[kind]


class AnnotationRejected(Exception):
    """This input cannot be annotated; `reason` is a short code, `detail` says why."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class MissingWeights(RuntimeError):
    """A backend needs model files that are not configured or not present."""


@dataclass
class Item:
    """One input to annotate.

    rgb: (H, W, 3) uint8 RGB person photo, already at the dataset size.
    image_path: where it was read from; reference: the source's own annotation files
    (kind -> path) when the source carried them; inputs: the dataset files of the kinds in
    `EXTRA_INPUTS` (e.g. the parse and keypoints the agnostic images are made from).
    """

    id: str
    split: str
    rgb: np.ndarray
    image_path: Path
    reference: dict[str, Path]
    inputs: dict[str, Path] = field(default_factory=dict)


@runtime_checkable
class Annotator(Protocol):
    kind: str
    name: str
    outputs: tuple[str, ...]

    def fingerprint(self) -> str: ...

    def load(self) -> None: ...

    def annotate(self, item: Item) -> Sample: ...


def digest_file(path: str | Path) -> str:
    """sha256 of a file, or of every file below a directory (names and bytes)."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        h.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def make_fingerprint(kind: str, name: str, params: Any = None, **extra: Any) -> str:
    """A stable fingerprint from the backend, its params (a dataclass or dict) and extras."""
    if is_dataclass(params):
        params = asdict(params)
    text = json.dumps(
        {"kind": kind, "backend": name, "params": params, **extra}, sort_keys=True, default=str
    )
    return f"{kind}-{name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


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
        "mediapipe": "vton.annotate.densepose:MediaPipeDensePose",
        "detectron2": "vton.annotate.densepose:Detectron2DensePose",
    },
    "cloth_mask": {
        "reference": "vton.annotate.reference:ReferenceAnnotator",
        "background": "vton.annotate.cloth_mask:BackgroundClothMask",
        "rembg": "vton.annotate.cloth_mask:RembgClothMask",
    },
    "agnostic": {
        "reference": "vton.annotate.reference:ReferenceAnnotator",
        "hrviton": "vton.annotate.agnostic:HrVitonAgnostic",
    },
}


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
