"""The neck label for parsers whose label set has none, and the finishing step they share.

VITON-HD's id 10 (`VitonLabel.NECK`) is the visible skin between the chin and the garment's
neckline, the décolleté included (measured on the golden samples: it reaches 0.4-1.0 face
widths below the chin and at most 0.6 face widths either side of the face's centre). LIP and
ATR have no neck label: ATR paints the neck as face (OOTDiffusion recovers its neck as "ATR
face and not LIP face"), LIP leaves it background or folds its edge into the upper garment.
`synthesize_neck` gives those pixels back the neck label; `finish_parse` is what every model
parser runs after its argmax: side midline, mapping to VITON-HD ids, neck synthesis and the
"is there a person at all" check.

Landmarks help both steps and are optional: `find_body_hints` reads the chin from MediaPipe's
face mesh (point 152 lies within a few pixels of the golden parses' face bottom) and the body
midline from the pose's shoulders and hips. Without them the chin and midline are estimated
from the labels, and provenance says which source was used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vton.annotate.base import AnnotationRejected
from vton.annotate.mediapipe_models import MpLandmark
from vton.formats.labels import LABEL_SETS, VitonLabel, to_viton

if TYPE_CHECKING:
    from vton.annotate.mediapipe_models import MediaPipeModels

V = VitonLabel

CHIN_BELOW_WIDEST = 0.65
"""Without landmarks, where the face label runs on down the neck (ATR), the chin is taken
this many face widths below the face's widest row (golden: 0.48-0.78, mean 0.63)."""

FACE_COVERS_NECK = frozenset({"atr"})
"""Label sets whose face label includes the neck (ATR's annotation convention)."""

NECK_DEPTH = 1.3
"""How far below the chin the neck may reach, in face widths (golden: 0.43-1.0)."""

NECK_HALF_WIDTH = (0.75, 1.0)
"""Half-width of the search band around the face centre, in face widths, at the chin and at
the band's bottom (golden necks stay within 0.61; the band is wider for turned heads)."""

JAW_RISE = 0.15
"""Skin beside the jaw, up to this many face widths above the chin, may be neck too (golden:
about 5% of neck pixels lie above the chin row); face-labelled pixels there stay face."""

SKIN_TOLERANCE = 3.0
"""A pixel is skin when its (Cr, Cb) lies within this many robust standard deviations of
the face's own colour."""

MIN_PERSON_FRACTION = 0.005
"""A parse whose person (any non-background label) covers less of the image is a reject."""

# MediaPipe face-mesh point at the bottom of the chin, and the pose landmarks used here
# (ids of `mp.solutions.pose.PoseLandmark`).
_MESH_CHIN = 152
_POSE_EYES = (MpLandmark.LEFT_EYE, MpLandmark.RIGHT_EYE)
_POSE_MOUTH = (MpLandmark.MOUTH_LEFT, MpLandmark.MOUTH_RIGHT)
_POSE_SHOULDERS = (MpLandmark.LEFT_SHOULDER, MpLandmark.RIGHT_SHOULDER)
_POSE_HIPS = (MpLandmark.LEFT_HIP, MpLandmark.RIGHT_HIP)
_MIN_VISIBILITY = 0.5
_CHIN_BELOW_MOUTH = 0.6
"""Chin below the mouth, in eye-to-mouth distances (golden: 0.44-0.76) for the pose fallback."""


def check_rgb(rgb: np.ndarray, what: str) -> None:
    """Raise ValueError unless `rgb` is an (H, W, 3) uint8 array."""
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
        shape = getattr(rgb, "shape", type(rgb).__name__)
        raise ValueError(f"{what}: expected an (H, W, 3) uint8 RGB image, got {shape}")
    if rgb.dtype != np.uint8:
        raise ValueError(f"{what}: expected uint8 RGB, got dtype {rgb.dtype}")


def _largest_component(mask: np.ndarray) -> np.ndarray:
    count, comp, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(mask, dtype=bool)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return comp == biggest


def skin_mask(
    rgb: np.ndarray, reference: np.ndarray, tolerance: float = SKIN_TOLERANCE
) -> np.ndarray:
    """(H, W) bool: pixels of `rgb` whose colour matches the skin under the `reference` mask.

    The model is the reference pixels' median (Cr, Cb) with a robust spread (MAD, at least
    3 levels) in 8-bit YCrCb; brightness only has to exceed 30% of the reference median, so
    a neck in the chin's shadow still counts. An empty reference gives an empty mask.
    """
    if not reference.any():
        return np.zeros(rgb.shape[:2], bool)
    ycc = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YCrCb).astype(np.float32)
    ref = ycc[reference]
    med = np.median(ref, axis=0)
    spread = np.maximum(1.4826 * np.median(np.abs(ref - med), axis=0), 3.0)
    d_cr = (ycc[..., 1] - med[1]) / spread[1]
    d_cb = (ycc[..., 2] - med[2]) / spread[2]
    return (d_cr**2 + d_cb**2 <= tolerance**2) & (ycc[..., 0] >= 0.3 * med[0])


def synthesize_neck(
    labels: np.ndarray,
    rgb: np.ndarray,
    *,
    chin_y: float | None = None,
    face_x: float | None = None,
    face_covers_neck: bool = False,
) -> np.ndarray:
    """Label the neck (VITON id 10) in a VITON-HD parse that has none; returns a new array.

    labels: (H, W) uint8 VITON-HD ids; rgb: (H, W, 3) uint8 RGB of the same photo.
    chin_y, face_x: the chin's row and the face's centre column in pixels when landmarks
    know them (see `find_body_hints`); otherwise they come from the face label.
    face_covers_neck: the source set paints the neck as face (ATR), so without `chin_y` the
    face label's bottom is not the chin.

    The rule, with lengths in units of the face label's widest row ("face width"):

    1. A parse that already has neck pixels, or has no face, is returned unchanged.
    2. The face is the largest connected face-labelled region. Without `chin_y` the chin is
       the face's bottom row (LIP's face stops at the chin), or with `face_covers_neck` at
       most `CHIN_BELOW_WIDEST` below the face's widest row among its top face width of
       rows (a rough guess: landmarks do much better).
    3. Skin colour is learnt from the face above the chin (`skin_mask`).
    4. Candidates lie in a band from the chin down `NECK_DEPTH`, within `NECK_HALF_WIDTH` of
       the face centre, and are either face-labelled (ATR's neck) or skin-coloured
       background (LIP's neck). Skin-coloured background beside the jaw, up to `JAW_RISE`
       above the chin, is a candidate too. Garment pixels never are: the golden parses keep
       the neckline's edge as garment, and a skin-coloured top would leak into the neck.
    5. The neck is the candidates connected (8-neighbourhood) to the face above the chin;
       skin-coloured background elsewhere (a beige wall) does not touch the chin. Holes the
       neck encloses (a necklace), if background or face, are neck too.
    """
    _check_neck_inputs(labels, rgb)
    out = labels.copy()
    if (labels == V.NECK).any():
        return out
    face = _largest_component(labels == V.FACE)
    if not face.any():
        return out
    h, w = labels.shape
    rows = np.arange(h)[:, None]
    cols = np.arange(w)[None, :]
    face_rows = np.nonzero(face.any(axis=1))[0]
    top, bottom = int(face_rows[0]), int(face_rows[-1])
    widths = face.sum(axis=1)
    unit = float(widths.max())
    if chin_y is None:
        chin = float(bottom)
        if face_covers_neck:
            upper = widths[top : top + max(1, int(unit))]
            chin = min(chin, top + int(np.argmax(upper)) + CHIN_BELOW_WIDEST * unit)
    else:
        chin = float(np.clip(chin_y, top, h - 1))
    head = face & (rows <= chin)
    if not head.any():
        return out
    cx = float(np.nonzero(head)[1].mean()) if face_x is None else float(face_x)

    depth = NECK_DEPTH * unit
    below = (rows - chin) / depth  # 0 at the chin, 1 at the band's bottom
    half = unit * (
        NECK_HALF_WIDTH[0] + (NECK_HALF_WIDTH[1] - NECK_HALF_WIDTH[0]) * below.clip(0, 1)
    )
    in_columns = np.abs(cols - cx) <= half
    band = in_columns & (rows > chin) & (rows <= chin + depth)
    jaw = in_columns & (rows > chin - JAW_RISE * unit) & (rows <= chin)

    skin_background = skin_mask(rgb, head) & (labels == V.BACKGROUND)
    candidates = (band & ((labels == V.FACE) | skin_background)) | (jaw & skin_background)

    _, comp = cv2.connectedComponents((candidates | head).astype(np.uint8), connectivity=8)
    touching = np.unique(comp[head])
    neck = candidates & np.isin(comp, touching[touching > 0])
    # Holes in the neck (a necklace, a shadow) that are background or face become neck.
    holes = _holes(neck) & np.isin(labels, [int(V.BACKGROUND), int(V.FACE)]) & (rows > chin)
    out[neck | holes] = V.NECK
    return out


def _check_neck_inputs(labels: np.ndarray, rgb: np.ndarray) -> None:
    if labels.ndim != 2 or labels.dtype != np.uint8:
        raise ValueError(
            f"labels must be (H, W) uint8 VITON ids, got {labels.dtype} {labels.shape}"
        )
    if rgb.shape != (*labels.shape, 3) or rgb.dtype != np.uint8:
        raise ValueError(
            f"rgb must be (H, W, 3) uint8 matching labels {labels.shape}, "
            f"got {rgb.dtype} {rgb.shape}"
        )


def _holes(mask: np.ndarray) -> np.ndarray:
    """Pixels outside `mask` that the mask encloses (not reachable from the image border)."""
    padded = np.pad(~mask, 1, constant_values=True).astype(np.uint8)
    _, comp = cv2.connectedComponents(padded, connectivity=4)
    outside = comp[0, 0]
    return ((comp != outside) & (padded > 0))[1:-1, 1:-1]


def estimate_midline(source_labels: np.ndarray) -> float | None:
    """Mean column of the non-background pixels (source id 0 is background in every set)."""
    cols = np.nonzero(source_labels)[1]
    return float(cols.mean()) if cols.size else None


@dataclass
class BodyHints:
    """Positions from landmarks, in pixels of the image; None where not found.

    chin_y: the chin's row; face_x: the face's centre column; midline_x: the body's vertical
    midline (for splitting side-less labels). `source` says where each came from.
    """

    chin_y: float | None = None
    face_x: float | None = None
    midline_x: float | None = None
    source: dict[str, str] = field(default_factory=dict)


def _visible(lm: np.ndarray, ids: tuple[int, int]) -> np.ndarray | None:
    pts = lm[list(ids)]
    return pts[:, :2].mean(axis=0) if (pts[:, 3] >= _MIN_VISIBILITY).all() else None


def find_body_hints(
    models: MediaPipeModels, rgb: np.ndarray, *, chin: bool, midline: bool
) -> BodyHints:
    """Chin (face mesh, else pose mouth and eyes) and body midline (pose shoulders and hips).

    Only what is asked for is computed; models run lazily (the pose at most once).
    """
    hints = BodyHints()
    pose_cache: list = []

    def pose():
        if not pose_cache:
            pose_cache.append(models.pose(rgb, count_people=False))
        return pose_cache[0]

    if chin:
        mesh = models.face_mesh(rgb)
        if mesh is not None:
            hints.chin_y = float(mesh[_MESH_CHIN, 1])
            hints.face_x = float(mesh[:, 0].mean())
            hints.source["chin"] = "face_mesh"
        elif (found := pose()) is not None:
            eyes = _visible(found.landmarks, _POSE_EYES)
            mouth = _visible(found.landmarks, _POSE_MOUTH)
            if eyes is not None and mouth is not None:
                hints.chin_y = float(mouth[1] + _CHIN_BELOW_MOUTH * (mouth[1] - eyes[1]))
                hints.face_x = float(mouth[0])
                hints.source["chin"] = "pose"
    if midline and (found := pose()) is not None:
        centres = [
            c
            for c in (
                _visible(found.landmarks, _POSE_SHOULDERS),
                _visible(found.landmarks, _POSE_HIPS),
            )
            if c is not None
        ]
        if centres:
            hints.midline_x = float(np.mean([c[0] for c in centres]))
            hints.source["midline"] = "pose"
    return hints


def label_set_has_neck(label_set: str) -> bool:
    """Whether some label of `label_set` maps to the VITON-HD neck."""
    _, table = LABEL_SETS[label_set]
    return any(not isinstance(dst, tuple) and dst == V.NECK for dst in table.values())


def sided_ids(label_set: str) -> list[int]:
    """Source ids of `label_set` that map to a (left, right) pair and need a midline."""
    _, table = LABEL_SETS[label_set]
    return [int(src) for src, dst in table.items() if isinstance(dst, tuple)]


def finish_parse(
    source_labels: np.ndarray,
    label_set: str,
    rgb: np.ndarray,
    models: MediaPipeModels | None = None,
) -> tuple[np.ndarray, dict]:
    """Source-set argmax -> (H, W) uint8 VITON-HD parse and provenance notes.

    source_labels: (H, W) integer ids of `label_set`; rgb: (H, W, 3) uint8 of the photo;
    models: MediaPipe for chin and midline landmarks, or None to estimate both from labels.
    Sided labels split at the body midline; a set without a neck gets `synthesize_neck`.
    Raises AnnotationRejected("no_person") when the person covers under
    `MIN_PERSON_FRACTION` of the image.
    """
    if source_labels.shape != rgb.shape[:2]:
        raise ValueError(f"label map {source_labels.shape} and image {rgb.shape} differ in size")
    person = float(np.count_nonzero(source_labels)) / source_labels.size
    if person < MIN_PERSON_FRACTION:
        raise AnnotationRejected(
            "no_person",
            f"the parser labelled {person:.2%} of the image as a person "
            f"(at least {MIN_PERSON_FRACTION:.1%} needed)",
        )
    need_midline = bool(np.isin(source_labels, sided_ids(label_set)).any())
    synthesize = not label_set_has_neck(label_set)
    notes: dict = {"label_set": label_set}

    hints = BodyHints()
    if models is not None and need_midline:
        hints = find_body_hints(models, rgb, chin=False, midline=True)
    midline = hints.midline_x
    if need_midline:
        if midline is None:
            midline = estimate_midline(source_labels)
            hints.source.setdefault("midline", "labels")
        assert midline is not None  # the person check above leaves labelled pixels
        notes["midline_x"] = round(float(midline), 1)
    labels = to_viton(source_labels, label_set, midline)

    if synthesize and (labels == V.FACE).any():
        if models is not None:
            found = find_body_hints(models, rgb, chin=True, midline=False)
            hints.chin_y, hints.face_x = found.chin_y, found.face_x
            hints.source.update(found.source)
        hints.source.setdefault("chin", "labels")
        labels = synthesize_neck(
            labels,
            rgb,
            chin_y=hints.chin_y,
            face_x=hints.face_x,
            face_covers_neck=label_set in FACE_COVERS_NECK,
        )
        notes["neck"] = f"synthesized ({int((labels == V.NECK).sum())} px)"
    else:
        notes["neck"] = "from model" if not synthesize else "no face"
    notes.update({f"{key}_from": value for key, value in hints.source.items()})
    return labels, notes
