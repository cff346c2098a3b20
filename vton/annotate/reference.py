"""The `reference` backend: reuse the annotations the source already carries.

The sample generator and the VITON-HD import write their annotations beside the photos
(`data/reference` in the pipeline); this backend reads them back, so the embedded default
pipeline stays fast and exact. A sample without a reference file is a reject that names the
params key to change.
"""

from __future__ import annotations

from typing import Any

from vton.annotate.base import KIND_OUTPUTS, AnnotationRejected, Item, make_fingerprint
from vton.formats import densepose, labels, masks, openpose
from vton.sources.base import Sample

# The reference file each annotation kind is read from.
_SOURCE_KIND = {
    "pose": "pose_json",
    "parse": "parse",
    "densepose": "densepose",
    "cloth_mask": "cloth_mask",
}
_READERS = {
    "parse": labels.read_parse,
    "densepose": densepose.read_densepose,
    "cloth_mask": masks.read_mask,
}


class ReferenceAnnotator:
    name = "reference"

    def __init__(self, kind: str, section: Any = None):
        self.kind = kind
        self.outputs = KIND_OUTPUTS[kind]

    def fingerprint(self) -> str:
        return make_fingerprint(self.kind, self.name, version=1)

    def load(self) -> None:
        """Nothing to load."""

    def annotate(self, item: Item) -> Sample:
        source_kind = _SOURCE_KIND[self.kind]
        path = item.reference.get(source_kind)
        if path is None or not path.exists():
            raise AnnotationRejected(
                "no_reference",
                f"the source carries no {source_kind} for {item.id}; set {self.kind}.backend "
                "in params.yaml to a model backend (e.g. mediapipe)",
            )
        sample = Sample(id=item.id, split=item.split, provenance={"reference": str(path)})
        # Files are copied verbatim (no re-encoding); they are read here only to check them.
        sample.files[source_kind] = path
        shape = item.rgb.shape[:2]
        if self.kind == "pose":
            try:
                sample.pose = openpose.read_keypoints(path)
            except (OSError, ValueError) as exc:
                raise AnnotationRejected("unreadable", f"reference {path}: {exc}") from exc
            rendered = item.reference.get("pose_img")
            if rendered is not None and rendered.exists():
                sample.files["pose_img"] = rendered
            return sample
        try:
            array = _READERS[self.kind](path)
        except (OSError, ValueError) as exc:
            raise AnnotationRejected("unreadable", f"reference {path}: {exc}") from exc
        if array.shape != shape:
            raise AnnotationRejected(
                "size_mismatch", f"reference {path.name} is {array.shape}, image is {shape}"
            )
        return sample
