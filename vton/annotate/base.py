"""The Annotator protocol every backend implements, and what backends share.

(`vton.annotate.registry` picks a backend by name.)

An annotator turns one person photo into annotations:

- `kind`: the annotation group it produces (`pose`, `parse`, `densepose`).
- `name`: the backend (`reference`, `mediapipe`, `segformer`, ...).
- `outputs`: the layout kinds it writes (`("pose_json", "pose_img")` for pose).
- `fingerprint()`: a string that changes whenever results could change (backend, weights
  digest, params, the code it runs and the packages it uses: `make_fingerprint`); the
  runner's cache is keyed by (input digest, fingerprint).
- `load()`: heavy imports and model weights, once per worker process.
- `annotate(item) -> Sample`: a `Sample` with the fields of `outputs` filled (pose, parse,
  densepose) and `provenance` notes (e.g. how many people were seen). Raise
  `AnnotationRejected` for an input that cannot be annotated (no person, say).

Constructors take the params section of their kind and do no heavy work, so a stage can
build an annotator, print its fingerprint and fail fast on a missing weights path.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vton.codegraph import code_digest, external_packages, package_versions
from vton.records import Sample


@dataclass(frozen=True)
class AnnotationKind:
    """One annotation kind: what it reads and which layout kinds it writes.

    `photo`: the layout kind of the photo it annotates (the person or the garment photo);
    `inputs`: dataset kinds it reads besides (in `Item.inputs`); `attributes`: catalog facts
    about the sample it reads (in `Item.attributes`, when the catalog has them). Inputs and
    attributes are part of the cache key, so a changed parse or category re-makes the agnostic
    images. Its backends are in `vton.annotate.registry`.
    """

    name: str
    photo: str
    outputs: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()


ANNOTATION_KINDS: dict[str, AnnotationKind] = {
    k.name: k
    for k in (
        AnnotationKind("pose", "image", ("pose_json", "pose_img")),
        AnnotationKind("parse", "image", ("parse",)),
        AnnotationKind("densepose", "image", ("densepose",)),
        AnnotationKind("cloth_mask", "cloth", ("cloth_mask",), attributes=("garment_fit",)),
        AnnotationKind(
            "agnostic",
            "image",
            ("agnostic", "parse_agnostic", "agnostic_mask"),
            inputs=("parse", "pose_json"),
            attributes=("category",),
        ),
    )
}
"""Every annotation kind, in pipeline order."""


def outputs_of(annotator: object, kind: str, serves: str) -> tuple[str, ...]:
    """The layout kinds `annotator` writes as the `kind` annotator; a ValueError when its
    class serves another kind (`serves`)."""
    if kind != serves:
        raise ValueError(f"{type(annotator).__name__} produces {serves} annotations, not {kind!r}")
    return ANNOTATION_KINDS[kind].outputs


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
    `AnnotationKind.inputs` (e.g. the parse and keypoints the agnostic images are made from);
    attributes: the catalog's facts in `AnnotationKind.attributes` (e.g. the garment category,
    as the source wrote it), absent when the catalog has none.
    """

    id: str
    split: str
    rgb: np.ndarray
    image_path: Path
    reference: dict[str, Path]
    inputs: dict[str, Path] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Annotator(Protocol):
    kind: str
    name: str
    outputs: tuple[str, ...]

    def fingerprint(self) -> str: ...

    def load(self) -> None: ...

    def annotate(self, item: Item) -> Sample: ...


def make_fingerprint(kind: str, name: str, params: Any = None, *, code: str, **extra: Any) -> str:
    """A stable fingerprint of what an annotator's results depend on.

    It covers the backend, its params (a dataclass or dict), `extra` (weights digests, say),
    and `code`, the backend's module (pass `__name__`): the digest of that module's source
    and of every project module it imports (`vton.codegraph.code_digest`), and the installed
    versions of the third-party packages they import (`package_versions`). Editing any of
    that code or upgrading such a package gives a new fingerprint, so the runner's cache
    never serves results of other code.
    """
    if is_dataclass(params) and not isinstance(params, type):
        params = asdict(params)
    described = {
        "kind": kind,
        "backend": name,
        "params": params,
        "code": code_digest(code),
        "packages": package_versions(external_packages(code)),
        **extra,
    }
    text = json.dumps(described, sort_keys=True, default=str)
    return f"{kind}-{name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
