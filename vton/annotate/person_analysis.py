"""One MediaPipe person analysis per image, shared by the pose, parse and DensePose backends.

The three offline backends start from the same MediaPipe results on the same person photo:
the pose landmarks, the person silhouette (the pose model's segmentation mask above 0.5, or
the selfie model's where the pose model gives none) and the face boxes (the number of
people). Run as separate DVC stages, each used to compute them again: three pose passes
per photo. Here they are computed once (`analyse`) and kept in the annotation runner's
content-addressed cache, keyed by the decoded pixels and by this module's fingerprint (its
code, `vton.annotate.mediapipe_models`, the mediapipe version), so whichever stage meets a
photo first pays for the models and the others read a few kilobytes:

    <cache>/person-mediapipe-<fingerprint>/<2 hex>/<sha256 of the pixels>.npz

Each backend's outputs are exactly those of running the models itself (the same MediaPipe
graphs, static-image mode, see `tests/test_person_analysis.py`); the cache is an
optimisation only. Without a cache directory (`PersonAnalyser(None)`, a backend used
outside the runner) nothing is written. An unreadable or partial entry is computed again;
entries are written atomically (temporary file, then rename). Size: about 10 kB a 1024x768
photo (the silhouette as packed bits, compressed).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vton.annotate.base import make_fingerprint
from vton.annotate.mediapipe_models import MediaPipeModels
from vton.fileio import atomic_write_bytes

PERSON_THRESHOLD = 0.5
"""Segmentation probability above which a pixel is person (the silhouette)."""


@dataclass
class PersonAnalysis:
    """What MediaPipe saw of the most prominent person in one image, in its pixels.

    landmarks: (33, 4) float32 x, y, z, visibility of the pose model, or None when it
    found nobody; silhouette: (H, W) bool person mask (None with no pose); faces: face boxes
    (x0, y0, x1, y1) of the full-range detector at score 0.6, most confident first.
    """

    landmarks: np.ndarray | None
    silhouette: np.ndarray | None
    faces: list[np.ndarray] = field(default_factory=list)

    @property
    def people(self) -> int:
        """People seen: the faces detected, at least 1."""
        return max(1, len(self.faces))

    def to_bytes(self) -> bytes:
        arrays: dict[str, np.ndarray] = {
            "faces": np.asarray(self.faces, np.float64).reshape(-1, 4),
        }
        if self.landmarks is not None and self.silhouette is not None:
            arrays["landmarks"] = self.landmarks
            arrays["shape"] = np.asarray(self.silhouette.shape, np.int64)
            arrays["silhouette"] = np.packbits(self.silhouette, axis=None)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> PersonAnalysis:
        with np.load(io.BytesIO(data)) as npz:
            faces = list(npz["faces"])
            if "landmarks" not in npz:
                return cls(None, None, faces)
            shape = tuple(int(v) for v in npz["shape"])
            count = shape[0] * shape[1]
            bits = np.unpackbits(npz["silhouette"], count=count).astype(bool)
            return cls(npz["landmarks"], bits.reshape(shape), faces)


def analyse(models: MediaPipeModels, rgb: np.ndarray) -> PersonAnalysis:
    """Run the face detector and the pose model (selfie segmentation where the pose model
    gives no mask of the image's size) on (H, W, 3) uint8 RGB."""
    faces = models.face_boxes(rgb)
    pose = models.pose(rgb, count_people=False)
    if pose is None:
        return PersonAnalysis(None, None, faces)
    seg = pose.segmentation
    if seg is None or seg.shape != rgb.shape[:2]:
        seg = models.selfie(rgb)
    return PersonAnalysis(pose.landmarks, seg > PERSON_THRESHOLD, faces)


def pixels_digest(rgb: np.ndarray) -> str:
    """sha256 of an image's shape and pixels (what the analysis depends on)."""
    h = hashlib.sha256(f"{rgb.shape}{rgb.dtype}".encode())
    h.update(np.ascontiguousarray(rgb).data)
    return h.hexdigest()


class PersonAnalyser:
    """MediaPipe models plus the shared store of analyses (module docstring).

    `store`: the annotation cache directory, or None to compute every time. `computed`
    and `reused` count the analyses made and read in this process.
    """

    def __init__(self, store: Path | None = None) -> None:
        self.models = MediaPipeModels()
        self.store = store
        self.computed = 0
        self.reused = 0
        self._fingerprint: str | None = None

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = make_fingerprint("person", "mediapipe", code=__name__)
        return self._fingerprint

    def entry(self, rgb: np.ndarray) -> Path | None:
        """Where the analysis of `rgb` is kept (None without a store)."""
        if self.store is None:
            return None
        digest = pixels_digest(rgb)
        return Path(self.store) / self.fingerprint() / digest[:2] / f"{digest}.npz"

    def analyse(self, rgb: np.ndarray) -> PersonAnalysis:
        """The analysis of `rgb`: from the store when there, else computed (and stored)."""
        path = self.entry(rgb)
        if path is not None and path.is_file():
            with contextlib.suppress(OSError, ValueError, KeyError, zipfile.BadZipFile):
                found = PersonAnalysis.from_bytes(path.read_bytes())
                if found.silhouette is None or found.silhouette.shape == rgb.shape[:2]:
                    self.reused += 1
                    return found
        result = analyse(self.models, rgb)
        self.computed += 1
        if path is not None:
            atomic_write_bytes(path, result.to_bytes())
        return result

    def close(self) -> None:
        self.models.close()


class AnalysisUser:
    """Base of the backends that read the shared analysis (pose, parse and DensePose
    `mediapipe`): `self.people` holds the models and the store (created lazily, so building
    a backend to read its fingerprint loads nothing); the runner hands it the store."""

    def __init__(self) -> None:
        self.people = PersonAnalyser()

    def share_analyses(self, store: Path) -> None:
        """Read (or keep) MediaPipe's person analyses in `store`, the runner's cache."""
        self.people.store = store

    def close(self) -> None:
        """Release the MediaPipe graphs; a later call builds them again."""
        self.people.close()
