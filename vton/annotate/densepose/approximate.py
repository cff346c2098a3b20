"""The `mediapipe` DensePose backend (the offline default), which does NOT run DensePose.

It APPROXIMATES DensePose's 24-part body map from MediaPipe Pose landmarks and the person
silhouette that model ships with: every silhouette pixel goes to the body part whose
idealised shape (a capsule around a limb segment, a polygon for the torso, an ellipse for
the head) it lies deepest in, and pixels far from every part (hair, loose sleeves, bags)
are background. Part ids follow what real DensePose R50-FPN writes on frontal VITON-HD
people (the five golden samples):

- head: HEAD_RIGHT (23) / HEAD_LEFT (24), split at the face midline (through the nose), the
  neck included; hair is not body;
- torso: TORSO_FRONT (2), or TORSO_BACK (1) for a person seen from behind;
- arms: the inner side of each arm segment (towards the body) is FRONT, the outer side
  BACK (upper arms ~70 % front, forearms ~40 %); swapped when seen from behind;
- hands 3/4, upper legs front 9/10, lower legs front 13/14 (back ids from behind), feet 5/6.

Facing (`facing_away`): the person's left shoulder at the smaller x, or a nose MediaPipe
barely sees, means a back view. Left/right come from MediaPipe's own landmark sides, which
can be mirrored on back views.

Shape numbers (`Shape`) are body proportions measured on the five golden VITON-HD samples
(head and torso extents against the MediaPipe landmarks), then adjusted by a coarse search
on the same five. Agreement with their shipped DensePose (printed by the tests): body IoU
0.92, same part on 0.85 of the pixels both call body, same group (head, torso, each arm,
each leg, hands, feet) on 0.90. The main differences: loose sleeves and hair lying on the
shoulders, which DensePose leaves out and the silhouette includes; the arm/torso boundary
of arms hanging against the body; and the torso/thigh line, which follows MediaPipe's hips.
About 40 ms a 1024x768 image on top of MediaPipe Pose (~45 ms). Good enough as a try-on
model's conditioning input; the `detectron2` backend runs the real model where detectron2
is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vton.annotate.base import AnnotationRejected, Item, make_fingerprint, outputs_of
from vton.annotate.densepose.geometry import (
    PartVote,
    capsule_distance,
    polygon_signed_distance,
    segment_frame,
)
from vton.annotate.mediapipe_models import MpLandmark
from vton.annotate.person_analysis import AnalysisUser
from vton.checks import check_rgb
from vton.formats.densepose import DensePosePart
from vton.records import Sample

APPROXIMATION_NOTE = (
    "approximate DensePose: 24 parts assigned to the MediaPipe silhouette by nearest body "
    "shape from MediaPipe Pose landmarks, not the DensePose model"
)

Part = DensePosePart

# MediaPipe Pose landmark ids used here (LEFT/RIGHT are the person's own sides).
M = MpLandmark
_NOSE, _L_EYE, _R_EYE, _L_EAR, _R_EAR = M.NOSE, M.LEFT_EYE, M.RIGHT_EYE, M.LEFT_EAR, M.RIGHT_EAR
_MOUTH_L, _MOUTH_R = M.MOUTH_LEFT, M.MOUTH_RIGHT
_L_SHOULDER, _R_SHOULDER = M.LEFT_SHOULDER, M.RIGHT_SHOULDER
_L_ELBOW, _R_ELBOW, _L_WRIST, _R_WRIST = M.LEFT_ELBOW, M.RIGHT_ELBOW, M.LEFT_WRIST, M.RIGHT_WRIST
_L_PINKY, _R_PINKY, _L_INDEX, _R_INDEX = M.LEFT_PINKY, M.RIGHT_PINKY, M.LEFT_INDEX, M.RIGHT_INDEX
_L_HIP, _R_HIP, _L_KNEE, _R_KNEE = M.LEFT_HIP, M.RIGHT_HIP, M.LEFT_KNEE, M.RIGHT_KNEE
_L_ANKLE, _R_ANKLE = M.LEFT_ANKLE, M.RIGHT_ANKLE
_L_FOOT, _R_FOOT = M.LEFT_FOOT_INDEX, M.RIGHT_FOOT_INDEX


@dataclass(frozen=True)
class Shape:
    """Body proportions of the approximation.

    Lengths are in units of the body scale U (the larger of the shoulder distance and 0.6 x
    the shoulder-to-hip length), of the torso length T, or of the face unit h (eye midpoint
    to mouth midpoint). Head and torso numbers were measured on the golden DensePose maps.
    """

    head_top: float = 1.75  # h above the eye midpoint
    head_chin: float = 1.5  # h below the eye midpoint
    head_half_width: float = 1.27  # h
    neck_radius: float = 0.6  # h
    neck_base_up: float = 0.17  # T above the shoulder midpoint (top of the torso)
    neck_base_half_width: float = 0.35  # U
    shoulder_inset: float = 0.03  # U: the torso's corner sits this far inside the shoulder
    hip_outset: float = 0.35  # x hip distance: the torso's side beyond each hip landmark
    hip_down: float = 0.0  # T: torso's lower corners below the hip landmarks
    crotch_down: float = 0.14  # T: torso's lowest point below the hip midpoint
    torso_margin: float = 0.13  # U: score 1 -> 2 over this distance outside the polygon
    upper_arm_radius: float = 0.12  # U
    lower_arm_radius: float = 0.095  # U
    hand_radius: float = 0.12  # U
    hand_length: float = 1.5  # x (wrist -> mean of index and pinky landmarks)
    leg_start: float = 0.05  # the thigh capsule starts this far down the hip->knee segment
    upper_leg_radius: float = 0.25  # U
    lower_leg_radius: float = 0.17  # U
    foot_radius: float = 0.09  # U
    upper_arm_front: float = 0.45  # split offset (x radius, outwards) front | back
    lower_arm_front: float = -0.3
    joint_cap: float = 3.0  # limb ends that meet another limb count this much farther
    torso_floor: float = 0.35  # the torso's score deep inside (arms in front still win)
    upper_arm_priority: float = 0.2  # how strongly a part wins inside its own outline
    lower_arm_priority: float = 0.4
    hand_priority: float = 0.6
    grid: int = 512  # decide parts on cells of max(H, W) / grid pixels (1 = every pixel)
    max_score: float = 1.3  # silhouette pixels scoring worse for every part are background
    max_head_score: float = 1.12


SHAPE = Shape()


def facing_away(landmarks: np.ndarray) -> bool:
    """Whether the person shows the camera their back.

    The shoulders decide when they are well apart: the person's left shoulder at the
    smaller x means a back view (MediaPipe's sides are the person's own). A side-on person
    counts as seen from behind when the nose is less than half visible; an almost invisible
    nose (< 0.2) means a back view whatever the shoulders say.
    """
    lm = np.asarray(landmarks, np.float32)
    mid_sh = (lm[_L_SHOULDER, :2] + lm[_R_SHOULDER, :2]) / 2
    mid_hip = (lm[_L_HIP, :2] + lm[_R_HIP, :2]) / 2
    torso_len = max(float(np.linalg.norm(mid_hip - mid_sh)), 1.0)
    dx = float(lm[_L_SHOULDER, 0] - lm[_R_SHOULDER, 0]) / torso_len
    nose = float(lm[_NOSE, 3])
    if nose < 0.2 or dx < -0.15:
        return True
    return dx <= 0.15 and nose < 0.5


def _check_inputs(landmarks: np.ndarray, silhouette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(33, 4) float32 landmarks and an (H, W) bool silhouette; ValueError otherwise."""
    lm = np.asarray(landmarks, np.float32)
    if lm.shape != (33, 4) or not np.isfinite(lm).all():
        raise ValueError(f"landmarks must be finite (33, 4) MediaPipe Pose points, got {lm.shape}")
    silhouette = np.asarray(silhouette)
    if silhouette.ndim != 2:
        raise ValueError(
            f"silhouette must be (H, W) bool, got {silhouette.dtype} {silhouette.shape}"
        )
    return lm, silhouette.astype(bool)


@dataclass(frozen=True)
class _Cells:
    """The silhouette on a grid of `step`-pixel cells (any silhouette pixel makes a cell
    body): rows x cols cells; xs, ys: (N,) int body cells; points: (N, 2) float32 their
    centres in pixels."""

    step: int
    rows: int
    cols: int
    xs: np.ndarray
    ys: np.ndarray
    points: np.ndarray


def _cells(silhouette: np.ndarray, grid: int) -> _Cells:
    """Parts are decided on cells and painted back at full size: 4x less work at 1024x768,
    boundaries 2 px coarse."""
    H, W = silhouette.shape
    step = max(1, round(max(H, W) / grid))
    hs, ws = -(-H // step), -(-W // step)
    padded = np.zeros((hs * step, ws * step), bool)
    padded[:H, :W] = silhouette
    cells = padded.reshape(hs, step, ws, step).any(axis=(1, 3))
    ys, xs = np.nonzero(cells)
    points = np.stack([xs, ys], 1).astype(np.float32) * step + (step - 1) / 2
    return _Cells(step, hs, ws, xs, ys, points)


@dataclass(frozen=True)
class _Body:
    """The body frame of the landmarks. P: (33, 2) float32 pixels; mid_sh, mid_hip: the
    shoulder and hip midpoints; down: unit vector from the one to the other (image down
    when they coincide); torso_len: their distance (at least 1 px); unit: the body scale U;
    back: seen from behind."""

    P: np.ndarray
    mid_sh: np.ndarray
    mid_hip: np.ndarray
    down: np.ndarray
    torso_len: float
    shoulder_dist: float
    unit: float
    back: bool


def _body(lm: np.ndarray, back: bool) -> _Body:
    P = lm[:, :2]
    mid_sh = (P[_L_SHOULDER] + P[_R_SHOULDER]) / 2
    mid_hip = (P[_L_HIP] + P[_R_HIP]) / 2
    torso_len = float(np.linalg.norm(mid_hip - mid_sh))
    # image down when the landmarks are degenerate (hips on the shoulders)
    down = (mid_hip - mid_sh) / torso_len if torso_len >= 1 else np.array([0, 1], np.float32)
    torso_len = max(torso_len, 1.0)
    shoulder_dist = float(np.linalg.norm(P[_L_SHOULDER] - P[_R_SHOULDER]))
    U = max(shoulder_dist, 0.6 * torso_len, 8.0)
    return _Body(P, mid_sh, mid_hip, down, torso_len, shoulder_dist, U, back)


def _head(points: np.ndarray, body: _Body, shape: Shape) -> tuple[np.ndarray, np.ndarray]:
    """The head's score (an ellipse over face and skull plus the neck down to the torso)
    and labels (split left/right at the line through the nose along the face's down
    direction) at `points`."""
    P, down = body.P, body.down
    # Face frame: h = eye midpoint -> mouth midpoint, floored by the ears and the body scale
    # so that a tilted or turned face keeps a sensible head size.
    eye = (P[_L_EYE] + P[_R_EYE]) / 2
    mouth = (P[_MOUTH_L] + P[_MOUTH_R]) / 2
    h_raw = float(np.linalg.norm(mouth - eye))
    face_down = (mouth - eye) / h_raw if h_raw > 1e-3 else down
    if float(face_down @ down) < 0.3:  # an implausible face direction: trust the body
        face_down = down
    h = max(h_raw, float(np.linalg.norm(P[_L_EAR] - P[_R_EAR])) / 1.9, body.unit / 5.5)
    across = np.array([-face_down[1], face_down[0]], np.float32)

    center = eye + (shape.head_chin - shape.head_top) / 2 * h * face_down
    rel = points - center
    head = np.hypot(
        rel @ across / (shape.head_half_width * h),
        rel @ face_down / ((shape.head_chin + shape.head_top) / 2 * h),
    )
    neck_base = body.mid_sh - shape.neck_base_up * body.torso_len * down
    chin = eye + (shape.head_chin - 0.5) * h * face_down
    along, offset, length = segment_frame(points, chin, neck_base)
    neck = capsule_distance(along, offset, length) / (shape.neck_radius * h)
    left_ref = (P[_L_EYE] + P[_L_EAR]) / 2 - (P[_R_EYE] + P[_R_EAR]) / 2
    left_sign = np.sign(float(left_ref @ across)) or 1.0
    is_left = np.sign((points - P[_NOSE]) @ across) == left_sign
    return np.minimum(head, neck), np.where(is_left, Part.HEAD_LEFT, Part.HEAD_RIGHT)


def _torso(cells: _Cells, body: _Body, shape: Shape) -> np.ndarray:
    """The torso's score: a polygon from the shoulders up to the neck base and down past
    the hips. Deep inside it the score stays at a floor, so an arm in front of it can
    still win."""
    P, U, down, torso_len = body.P, body.unit, body.down, body.torso_len
    mid_sh, step = body.mid_sh, cells.step
    e = (P[_L_SHOULDER] - P[_R_SHOULDER]) / max(body.shoulder_dist, 1e-3)
    hip_vec = P[_L_HIP] - P[_R_HIP]
    neck_up = shape.neck_base_up * torso_len * down
    polygon = np.array(
        [
            P[_R_SHOULDER] + shape.shoulder_inset * U * e,
            mid_sh - shape.neck_base_half_width * U * e - neck_up,
            mid_sh + shape.neck_base_half_width * U * e - neck_up,
            P[_L_SHOULDER] - shape.shoulder_inset * U * e,
            P[_L_HIP] + shape.hip_outset * hip_vec + shape.hip_down * torso_len * down,
            body.mid_hip + shape.crotch_down * torso_len * down,
            P[_R_HIP] - shape.hip_outset * hip_vec + shape.hip_down * torso_len * down,
        ],
        np.float32,
    )
    sd = polygon_signed_distance(
        (polygon - (step - 1) / 2) / step,
        (cells.rows, cells.cols),
        np.stack([cells.xs, cells.ys], 1),
    )
    sd *= step
    return np.maximum(1.0 + sd / (shape.torso_margin * U), shape.torso_floor)


def _limb(
    points: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    radius: float,
    unit: float,
    caps: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """The score of a capsule of `radius` body units along a-b, and the offset across it
    (in radii)."""
    along, offset, length = segment_frame(points, a, b)
    r = radius * unit
    return capsule_distance(along, offset, length, *caps) / r, offset / r


def _add_arms(cand: PartVote, points: np.ndarray, body: _Body, shape: Shape) -> None:
    """Upper and lower arms: the inner side (towards the spine) is DensePose's front, the
    outer side its back; then the hands."""
    P, mid_sh, down, torso_len = body.P, body.mid_sh, body.down, body.torso_len
    joint = shape.joint_cap
    upper, lower = shape.upper_arm_radius, shape.lower_arm_radius
    for (j0, j1), radius, split, caps, front, rear, priority in (
        (
            (_L_SHOULDER, _L_ELBOW),
            upper,
            shape.upper_arm_front,
            (1.0, joint),
            Part.UPPER_ARM_LEFT_FRONT,
            Part.UPPER_ARM_LEFT_BACK,
            shape.upper_arm_priority,
        ),
        (
            (_R_SHOULDER, _R_ELBOW),
            upper,
            shape.upper_arm_front,
            (1.0, joint),
            Part.UPPER_ARM_RIGHT_FRONT,
            Part.UPPER_ARM_RIGHT_BACK,
            shape.upper_arm_priority,
        ),
        (
            (_L_ELBOW, _L_WRIST),
            lower,
            shape.lower_arm_front,
            (joint, joint),
            Part.LOWER_ARM_LEFT_FRONT,
            Part.LOWER_ARM_LEFT_BACK,
            shape.lower_arm_priority,
        ),
        (
            (_R_ELBOW, _R_WRIST),
            lower,
            shape.lower_arm_front,
            (joint, joint),
            Part.LOWER_ARM_RIGHT_FRONT,
            Part.LOWER_ARM_RIGHT_BACK,
            shape.lower_arm_priority,
        ),
    ):
        p0, p1 = P[j0], P[j1]
        score, offset = _limb(points, p0, p1, radius, body.unit, caps)
        # `offset` grows towards (-dy, dx) of p0->p1; flip it to point away from the spine.
        mid = (p0 + p1) / 2
        t = np.clip(float((mid - mid_sh) @ down) / torso_len, 0.0, 1.0)
        seg = p1 - p0
        if float(np.array([-seg[1], seg[0]]) @ (mid - (mid_sh + t * torso_len * down))) < 0:
            offset = -offset
        inner = offset < split
        first, second = (rear, front) if body.back else (front, rear)
        cand.add(score, np.where(inner, first, second), priority, shape.max_score)

    for wrist, index, pinky, label in (
        (_L_WRIST, _L_INDEX, _L_PINKY, Part.LEFT_HAND),
        (_R_WRIST, _R_INDEX, _R_PINKY, Part.RIGHT_HAND),
    ):
        tip = P[wrist] + shape.hand_length * ((P[index] + P[pinky]) / 2 - P[wrist])
        score, _ = _limb(points, P[wrist], tip, shape.hand_radius, body.unit, (joint, 1.0))
        cand.add(score, label, shape.hand_priority, shape.max_score)


def _add_legs(cand: PartVote, points: np.ndarray, body: _Body, shape: Shape) -> None:
    """Thighs, shins and feet: DensePose shows the front of both legs on a frontal person."""
    P, U, joint, back = body.P, body.unit, shape.joint_cap, int(body.back)
    for hip, knee, ankle, foot, upper, lower, foot_label in (
        (
            _L_HIP,
            _L_KNEE,
            _L_ANKLE,
            _L_FOOT,
            (Part.UPPER_LEG_LEFT_FRONT, Part.UPPER_LEG_LEFT_BACK),
            (Part.LOWER_LEG_LEFT_FRONT, Part.LOWER_LEG_LEFT_BACK),
            Part.LEFT_FOOT,
        ),
        (
            _R_HIP,
            _R_KNEE,
            _R_ANKLE,
            _R_FOOT,
            (Part.UPPER_LEG_RIGHT_FRONT, Part.UPPER_LEG_RIGHT_BACK),
            (Part.LOWER_LEG_RIGHT_FRONT, Part.LOWER_LEG_RIGHT_BACK),
            Part.RIGHT_FOOT,
        ),
    ):
        start = P[hip] + shape.leg_start * (P[knee] - P[hip])
        thigh, _ = _limb(points, start, P[knee], shape.upper_leg_radius, U, (1.0, joint))
        shin, _ = _limb(points, P[knee], P[ankle], shape.lower_leg_radius, U, (joint, joint))
        foot_score, _ = _limb(points, P[ankle], P[foot], shape.foot_radius, U, (joint, 1.0))
        cand.add(thigh, upper[back], 0.0, shape.max_score)
        cand.add(shin, lower[back], 0.0, shape.max_score)
        cand.add(foot_score, foot_label, 0.0, shape.max_score)


def approximate_densepose(
    landmarks: np.ndarray, silhouette: np.ndarray, shape: Shape = SHAPE
) -> tuple[np.ndarray, dict]:
    """An approximate DensePose part map from MediaPipe Pose.

    landmarks: (33, 4) float x, y (pixels), z, visibility; silhouette: (H, W) bool person
    mask. Returns the (H, W) uint8 part map (ids 0..24, only inside the silhouette) and
    notes (facing, body scale in pixels).
    """
    lm, silhouette = _check_inputs(landmarks, silhouette)
    H, W = silhouette.shape
    back = facing_away(lm)
    notes: dict = {"facing": "back" if back else "front"}
    cells = _cells(silhouette, shape.grid)
    if len(cells.xs) == 0:
        return np.zeros((H, W), np.uint8), notes
    body = _body(lm, back)
    notes["body_scale_px"] = round(body.unit, 1)

    points = cells.points
    cand = PartVote(len(cells.xs))
    # hair is not body: the head is held to a tighter outline than the rest
    head, head_label = _head(points, body, shape)
    cand.add(head, head_label, 0.0, shape.max_head_score)
    torso_label = Part.TORSO_BACK if back else Part.TORSO_FRONT
    cand.add(_torso(cells, body, shape), torso_label, 0.0, shape.max_score)
    _add_arms(cand, points, body, shape)
    _add_legs(cand, points, body, shape)

    chosen, keep = cand.decide()
    grid = np.zeros((cells.rows, cells.cols), np.uint8)
    grid[cells.ys[keep], cells.xs[keep]] = chosen[keep]
    parts = np.repeat(np.repeat(grid, cells.step, 0), cells.step, 1)[:H, :W]
    parts[~silhouette] = 0
    return np.ascontiguousarray(parts), notes


class MediaPipeDensePose(AnalysisUser):
    """APPROXIMATE DensePose part maps from MediaPipe Pose (see the module docstring).

    Not the DensePose model: parts are assigned to the MediaPipe silhouette from the pose
    landmarks. Every sample says so in its provenance (`approximation: True`).
    """

    name = "mediapipe"
    approximation = True  # the runner marks the stage summary with it

    def __init__(self, kind: str = "densepose", section: Any = None, shape: Shape = SHAPE):
        self.kind = kind
        self.outputs = outputs_of(self, kind, "densepose")
        self.shape = shape
        super().__init__()

    def fingerprint(self) -> str:
        return make_fingerprint(self.kind, self.name, self.shape, code=__name__)

    def load(self) -> None:
        """MediaPipe's models are created on first use, once per process."""

    def annotate(self, item: Item) -> Sample:
        """An approximate part map of the most prominent person in `item.rgb`.

        Raises AnnotationRejected `no_person` when MediaPipe finds nobody.
        """
        rgb = check_rgb(item.rgb, item.id)
        seen = self.people.analyse(rgb)
        size = f"{rgb.shape[1]}x{rgb.shape[0]}"
        if seen.landmarks is None or seen.silhouette is None:
            raise AnnotationRejected(
                "no_person", f"MediaPipe Pose found nobody in {item.id} ({size})"
            )
        parts, notes = approximate_densepose(seen.landmarks, seen.silhouette, self.shape)
        if not parts.any():
            raise AnnotationRejected(
                "no_person",
                f"MediaPipe Pose found landmarks in {item.id} ({size}) but no body pixels "
                "near them in its person mask",
            )
        provenance = {
            "backend": self.name,
            "approximation": True,
            "note": APPROXIMATION_NOTE,
            "people": seen.people,
            **notes,
        }
        return Sample(id=item.id, split=item.split, densepose=parts, provenance=provenance)
