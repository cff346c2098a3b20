"""The `mediapipe` pose backend: MediaPipe Pose landmarks written as OpenPose BODY_25.

MediaPipe's 33 landmarks map onto BODY_25 by name; "left" is the person's own left in
both (MediaPipe LEFT_SHOULDER = BODY_25 LShoulder, at the larger x in a frontal photo).
Neck is the midpoint of the shoulders and MidHip the midpoint of the hips, as OpenPose
places them; big toes are MediaPipe's foot index points, heels its heels; small toes have
no MediaPipe counterpart and are written missing. Confidence is MediaPipe's visibility.

Hip correction, measured on the five golden VITON-HD samples (1024x768) against the
dataset's own OpenPose BODY_25 JSON, in units of the reference torso height (neck to
mid-hip, 364-508 px). Decomposed in the body frame (axis = MediaPipe shoulder midpoint
-> hip midpoint):

- along the axis, OpenPose hips sit -0.007 +- 0.045 MediaPipe torso lengths (mean +- sd
  of 10 hips) further down than MediaPipe's: no systematic offset, so none is corrected;
- across the axis, the OpenPose hip width over MediaPipe's is 1.13, 0.97, 1.16, 1.29,
  1.04 per sample (mean 1.12, sd 0.12): OpenPose hips are wider.

So `hip_correction` moves both hips away from their midpoint by `HIP_WIDEN` = 1.12 (one
parameter, the mean ratio; the midpoint stays). Mean hip error on the golden set goes from
0.057 to 0.050 torso heights (00017, the 1.29 outlier: 0.085 -> 0.073); leave-one-out
(factor from the other four samples) gives 0.057 -> 0.052, better on four of five. Every
hip is within PCK@0.1 either way, so PCK@0.1 over neck, shoulders, elbows, wrists and hips
is 39/45 = 0.867 with or without it (39/42 over reference points of confidence >= 0.3).

Shoulder correction, measured the same way and for the agnostic mask's sake (its every size
is a multiple of the shoulder width, so a shoulder 5 % too far out widens every grey shape):
the OpenPose shoulder width over MediaPipe's is 0.933, 0.887, 0.974, 1.046, 0.930 per
sample (mean 0.954): OpenPose shoulders sit further in. `shoulder_correction` moves both
shoulders towards their midpoint (the neck stays) by `SHOULDER_NARROW` = 0.95. End to end
(`vton.qa.end_to_end`: our pose and parse, the HR-VITON recipe, against the shipped
`agnostic-mask`) the mean IoU goes from 0.896 to 0.909; leave-one-out (the factor from the
other four samples' mean ratio) 0.902.

Confidence: MediaPipe's visibility is "is this point seen", not OpenPose's "where is it":
OpenPose writes points it can place behind a pocket or sleeve at confidence 0.05-0.3, and
the agnostic recipe drops a whole forearm strip for a missing wrist. So the default
`min_confidence` is 0.05: on the golden set it keeps the two wrists of the hands in
pockets (visibility 0.09, 0.05) and adds no point the dataset's OpenPose lacks; end to end
mean IoU 0.917 (00017: 0.871 -> 0.908).

Other points, mean |offset| in torso heights after conversion: nose 0.020, eyes 0.022,
shoulders 0.032 (before their correction), neck 0.030, ears 0.039 (MediaPipe ears ~0.07
closer together), elbows 0.073 (MediaPipe elbows 0.04 lower), wrists 0.10 (driven by
three reference wrists and elbows of confidence <= 0.39 that sit mid-forearm, and one
MediaPipe elbow at a sleeve edge). These are left as they are: only the hips and
shoulders are corrected.

Several people: MediaPipe Pose returns one person, not always the biggest. The face
detector counts people; with two or more faces the pose is kept only when its nose lies
in the largest face's box, otherwise the other faces are painted out and pose runs again.
A pose that still belongs to someone else is rejected (`multiple_people`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vton.annotate.base import AnnotationRejected, Item, make_fingerprint, outputs_of
from vton.annotate.mediapipe_models import MpLandmark
from vton.annotate.person_analysis import AnalysisUser
from vton.formats.openpose import Body25, body25_to_coco18
from vton.records import Sample

HIP_WIDEN = 1.12
"""OpenPose hip width / MediaPipe hip width, measured on the golden set (module docstring)."""

SHOULDER_NARROW = 0.95
"""OpenPose shoulder width / MediaPipe shoulder width, measured on the golden set (ibid.)."""

FACE_MARGIN = 0.25
"""Face boxes grow by this fraction of their size per side when matched or painted out."""


BODY25_FROM_MEDIAPIPE: dict[Body25, MpLandmark] = {
    Body25.NOSE: MpLandmark.NOSE,
    Body25.R_SHOULDER: MpLandmark.RIGHT_SHOULDER,
    Body25.R_ELBOW: MpLandmark.RIGHT_ELBOW,
    Body25.R_WRIST: MpLandmark.RIGHT_WRIST,
    Body25.L_SHOULDER: MpLandmark.LEFT_SHOULDER,
    Body25.L_ELBOW: MpLandmark.LEFT_ELBOW,
    Body25.L_WRIST: MpLandmark.LEFT_WRIST,
    Body25.R_HIP: MpLandmark.RIGHT_HIP,
    Body25.R_KNEE: MpLandmark.RIGHT_KNEE,
    Body25.R_ANKLE: MpLandmark.RIGHT_ANKLE,
    Body25.L_HIP: MpLandmark.LEFT_HIP,
    Body25.L_KNEE: MpLandmark.LEFT_KNEE,
    Body25.L_ANKLE: MpLandmark.LEFT_ANKLE,
    Body25.R_EYE: MpLandmark.RIGHT_EYE,
    Body25.L_EYE: MpLandmark.LEFT_EYE,
    Body25.R_EAR: MpLandmark.RIGHT_EAR,
    Body25.L_EAR: MpLandmark.LEFT_EAR,
    Body25.L_BIG_TOE: MpLandmark.LEFT_FOOT_INDEX,
    Body25.L_HEEL: MpLandmark.LEFT_HEEL,
    Body25.R_BIG_TOE: MpLandmark.RIGHT_FOOT_INDEX,
    Body25.R_HEEL: MpLandmark.RIGHT_HEEL,
}
"""BODY_25 point -> the MediaPipe landmark it is read from. Neck and MidHip are derived;
the small toes have no counterpart and stay missing."""

# BODY_25 point derived as the midpoint of two others (both must be present).
_MIDPOINTS = {
    Body25.NECK: (Body25.R_SHOULDER, Body25.L_SHOULDER),
    Body25.MID_HIP: (Body25.R_HIP, Body25.L_HIP),
}


def _check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    landmarks = np.asarray(landmarks, dtype=np.float32)
    if landmarks.shape != (33, 4):
        raise ValueError(
            f"MediaPipe landmarks must be (33, 4) x, y (pixels), z, visibility; "
            f"got {landmarks.shape}"
        )
    if not np.isfinite(landmarks).all():
        raise ValueError("MediaPipe landmarks hold NaN or infinite values")
    return landmarks


def _scale_pair(landmarks: np.ndarray, left: int, right: int, factor: float) -> np.ndarray:
    """A copy of (33, 4) landmarks with the `left` and `right` points `factor` x as far
    apart, about their midpoint."""
    out = _check_landmarks(landmarks).copy()
    a, b = out[left, :2], out[right, :2]
    mid = (a + b) / 2
    out[left, :2] = mid + factor * (a - mid)
    out[right, :2] = mid + factor * (b - mid)
    return out


def correct_hips(landmarks: np.ndarray, widen: float = HIP_WIDEN) -> np.ndarray:
    """Move MediaPipe's hips to where OpenPose puts them: `widen` x apart, same midpoint.

    landmarks: (33, 4) float32 as MediaPipe gives them; returns a corrected copy.
    """
    return _scale_pair(landmarks, MpLandmark.LEFT_HIP, MpLandmark.RIGHT_HIP, widen)


def correct_shoulders(landmarks: np.ndarray, narrow: float = SHOULDER_NARROW) -> np.ndarray:
    """Move MediaPipe's shoulders to where OpenPose puts them: `narrow` x apart, same
    midpoint (so the same neck). Returns a corrected copy."""
    return _scale_pair(landmarks, MpLandmark.LEFT_SHOULDER, MpLandmark.RIGHT_SHOULDER, narrow)


def mediapipe_to_body25(
    landmarks: np.ndarray,
    min_confidence: float,
    hip_correction: bool = True,
    image_size: tuple[int, int] | None = None,
    shoulder_correction: bool = True,
) -> np.ndarray:
    """MediaPipe Pose landmarks -> (25, 3) float32 BODY_25 x, y (pixels), confidence.

    landmarks: (33, 4) x, y (pixels), z, visibility in [0, 1]. A point whose visibility is
    below `min_confidence` (or zero), or that falls outside `image_size` = (height, width)
    when given, is written missing (0, 0, 0). Neck and MidHip are midpoints of the two
    shoulders / hips when both are present, with the smaller confidence.
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
    landmarks = _check_landmarks(landmarks)
    if hip_correction:
        landmarks = correct_hips(landmarks)
    if shoulder_correction:
        landmarks = correct_shoulders(landmarks)
    body = np.zeros((25, 3), np.float32)
    for b25, mp_id in BODY25_FROM_MEDIAPIPE.items():
        x, y, _, visibility = landmarks[mp_id]
        if visibility <= 0 or visibility < min_confidence:
            continue
        if image_size is not None and not (0 <= x < image_size[1] and 0 <= y < image_size[0]):
            continue
        body[b25] = (x, y, visibility)
    for target, (a, b) in _MIDPOINTS.items():
        if body[a, 2] > 0 and body[b, 2] > 0:
            body[target, :2] = (body[a, :2] + body[b, :2]) / 2
            body[target, 2] = min(body[a, 2], body[b, 2])
    return body


def mediapipe_to_coco18(
    landmarks: np.ndarray,
    min_confidence: float,
    hip_correction: bool = True,
    image_size: tuple[int, int] | None = None,
    shoulder_correction: bool = True,
) -> np.ndarray:
    """MediaPipe Pose landmarks -> (18, 3) float32 COCO-18 (see `mediapipe_to_body25`)."""
    return body25_to_coco18(
        mediapipe_to_body25(
            landmarks, min_confidence, hip_correction, image_size, shoulder_correction
        )
    )


# --- several people --------------------------------------------------------------------


def _box_area(box: np.ndarray) -> float:
    return float(max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1]))


def _grow(box: np.ndarray, margin: float = FACE_MARGIN) -> np.ndarray:
    w, h = box[2] - box[0], box[3] - box[1]
    return np.array(
        [box[0] - margin * w, box[1] - margin * h, box[2] + margin * w, box[3] + margin * h]
    )


def _nose_in(landmarks: np.ndarray, box: np.ndarray) -> bool:
    x, y = landmarks[MpLandmark.NOSE, :2]
    x0, y0, x1, y1 = _grow(box)
    return bool(x0 <= x <= x1 and y0 <= y <= y1)


def hide_faces(rgb: np.ndarray, boxes: list[np.ndarray]) -> np.ndarray:
    """A copy of `rgb` (H, W, 3) uint8 with each face box (grown by FACE_MARGIN) filled
    with the image's median colour, so the pose detector, which starts from a face,
    skips those people."""
    out = rgb.copy()
    fill = np.median(rgb.reshape(-1, 3), axis=0).astype(np.uint8)
    h, w = rgb.shape[:2]
    for box in boxes:
        x0, y0, x1, y1 = np.round(_grow(box)).astype(int)
        out[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)] = fill
    return out


# --- the annotator ---------------------------------------------------------------------


class MediaPipePose(AnalysisUser):
    """BODY_25 keypoints from MediaPipe Pose (full model, bundled with the wheel)."""

    name = "mediapipe"

    def __init__(self, kind: str, section: Any):
        self.kind = kind
        self.outputs = outputs_of(self, kind, "pose")
        if not 0.0 <= section.min_confidence <= 1.0:
            raise ValueError(
                f"pose.min_confidence must be in [0, 1], got {section.min_confidence}; "
                "fix it in params.yaml"
            )
        self.params = section
        super().__init__()

    def fingerprint(self) -> str:
        return make_fingerprint(self.kind, self.name, self.params, code=__name__)

    def load(self) -> None:
        """MediaPipe's models are created on first use, once per process."""

    def find_person(self, rgb: np.ndarray, what: str = "the image") -> tuple[np.ndarray, int, str]:
        """MediaPipe landmarks of the most prominent person in `rgb` ((H, W, 3) uint8, any
        size): (33, 4) float32, the number of people seen (faces, at least 1) and how the
        one returned was kept (`single`, `largest_face`, `largest_face_others_hidden`).

        Raises AnnotationRejected `no_person` or `multiple_people`; `what` names the input
        in those messages.
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"{what}: expected (H, W, 3) uint8 RGB, got {rgb.dtype} {rgb.shape}")
        seen = self.people.analyse(rgb)
        faces = sorted(seen.faces, key=_box_area, reverse=True)
        if len(faces) < 2:
            if seen.landmarks is None:
                raise AnnotationRejected(
                    "no_person",
                    f"MediaPipe Pose found nobody in {what} ({rgb.shape[1]}x{rgb.shape[0]})",
                )
            return seen.landmarks, 1, "single"
        if seen.landmarks is not None and _nose_in(seen.landmarks, faces[0]):
            return seen.landmarks, len(faces), "largest_face"
        # The pose went to a smaller person: paint the other faces out and look again.
        result = self.people.models.pose(hide_faces(rgb, faces[1:]), count_people=False)
        if result is None or not _nose_in(result.landmarks, faces[0]):
            raise AnnotationRejected(
                "multiple_people",
                f"{len(faces)} faces in {what} and no pose of the largest one (even with the "
                "others painted out); crop the photo to one person",
            )
        return result.landmarks, len(faces), "largest_face_others_hidden"

    def annotate(self, item: Item) -> Sample:
        """BODY_25 keypoints of the most prominent person in `item.rgb` (any size).

        Provenance: `people` (faces seen, at least 1), `kept` (see `find_person`) and
        `mean_visibility` of the landmarks BODY_25 reads.
        """
        landmarks, people, kept = self.find_person(item.rgb, item.id)
        body = mediapipe_to_body25(
            landmarks,
            self.params.min_confidence,
            self.params.hip_correction,
            image_size=(item.rgb.shape[0], item.rgb.shape[1]),
            shoulder_correction=self.params.shoulder_correction,
        )
        if not (body[:, 2] > 0).any():
            raise AnnotationRejected(
                "no_person",
                f"a pose was found in {item.id} but no keypoint reached pose.min_confidence="
                f"{self.params.min_confidence}",
            )
        mapped = [int(m) for m in BODY25_FROM_MEDIAPIPE.values()]
        provenance = {
            "backend": self.name,
            "people": people,
            "kept": kept,
            "mean_visibility": round(float(landmarks[mapped, 3].mean()), 3),
        }
        return Sample(id=item.id, split=item.split, pose=body, provenance=provenance)
