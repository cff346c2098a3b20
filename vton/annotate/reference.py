"""The `reference` backend: reuse the annotations the source already carries.

The sample generator and the VITON-HD import write their annotations beside the photos
(`data/reference` in the pipeline); this backend reads them back, so the embedded default
pipeline stays fast and exact. A sample without a reference file is a reject that names the
params key to change.
"""

from __future__ import annotations

from typing import Any

from vton.annotate.base import ANNOTATION_KINDS, AnnotationRejected, Item, make_fingerprint
from vton.formats.codecs import CODECS
from vton.formats.images import image_size
from vton.records import Sample

# The kinds whose reference file is decoded (by its codec) before it is copied: those whose
# content can be wrong (label ids, keypoints); the others have their header read.
_DECODED = ("pose_json", "parse", "parse_agnostic", "densepose", "cloth_mask")


class ReferenceAnnotator:
    name = "reference"

    def __init__(self, kind: str, section: Any = None):
        self.kind = kind
        self.outputs = ANNOTATION_KINDS[kind].outputs

    def fingerprint(self) -> str:
        return make_fingerprint(self.kind, self.name, code=__name__)

    def load(self) -> None:
        """Nothing to load."""

    def annotate(self, item: Item) -> Sample:
        sample = Sample(id=item.id, split=item.split)
        shape = item.rgb.shape[:2]
        for kind_name in self.outputs:
            path = item.reference.get(kind_name)
            if path is None or not path.exists():
                if kind_name == "pose_img":  # drawn from the keypoints instead
                    continue
                raise AnnotationRejected(
                    "no_reference",
                    f"the source carries no {kind_name} for {item.id}; set {self.kind}.backend "
                    "in params.yaml to a model backend",
                )
            try:
                if kind_name in _DECODED:
                    array = CODECS[kind_name].read(path)
                    size = shape if kind_name == "pose_json" else array.shape[:2]
                else:
                    size = image_size(path)
            except (OSError, ValueError) as exc:
                raise AnnotationRejected("unreadable", f"reference {path}: {exc}") from exc
            if size != shape:
                raise AnnotationRejected(
                    "size_mismatch", f"reference {path.name} is {size}, image is {shape}"
                )
            # Copied verbatim (no re-encoding); read above only to check it.
            sample.files[kind_name] = path
            if kind_name == "pose_json":
                sample.pose = array
        # below the reference's split, so the record does not depend on where it was read
        # (a packed reference is read from a view in the annotation cache)
        sample.provenance = {
            "reference": sorted(f"{p.parent.name}/{p.name}" for p in sample.files.values())
        }
        return sample
