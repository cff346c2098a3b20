"""DensePose part maps: an approximation from MediaPipe, or real DensePose through detectron2.

`mediapipe` (the offline default) does NOT run DensePose. It APPROXIMATES DensePose's 24-part
body map from MediaPipe Pose landmarks and the person silhouette that model ships with: every
silhouette pixel goes to the body part whose idealised shape (a capsule around a limb
segment, a polygon for the torso, an ellipse for the head) it lies deepest in, and pixels
far from every part (hair, loose sleeves, bags) are background. Part ids follow what real
DensePose R50-FPN writes on frontal VITON-HD people (the five golden samples):

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

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vton.annotate.base import (
    AnnotationRejected,
    Item,
    MissingWeights,
    make_fingerprint,
    outputs_of,
)
from vton.annotate.mp import MpLandmark
from vton.fileio import tree_digest
from vton.formats.densepose import N_PARTS, DensePosePart
from vton.records import Sample

APPROXIMATION_NOTE = (
    "approximate DensePose: 24 parts assigned to the MediaPipe silhouette by nearest body "
    "shape from MediaPipe Pose landmarks, not the DensePose model"
)

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


def _segment_frame(
    points: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """(N, 2) points in the frame of segment a-b: coordinate along it (0 at a), signed
    offset across it (positive towards (-dy, dx) of a->b) and the segment's length."""
    ab = (b - a).astype(np.float32)
    length = float(np.hypot(ab[0], ab[1]))
    axis = ab / length if length > 1e-6 else np.array([1.0, 0.0], np.float32)
    rel = points - a.astype(np.float32)
    return rel @ axis, rel @ np.array([-axis[1], axis[0]], np.float32), length


def _capsule_distance(
    along: np.ndarray, offset: np.ndarray, length: float, cap_a: float = 1.0, cap_b: float = 1.0
) -> np.ndarray:
    """Distance to a segment whose ends count `cap` times farther beyond them: a cap above 1
    flattens that end, so two segments meeting at a joint split near the joint's plane."""
    over = np.maximum(-along, 0) * cap_a + np.maximum(along - length, 0) * cap_b
    return np.hypot(offset, over)


def _polygon_signed_distance(
    polygon: np.ndarray, shape: tuple[int, int], points: np.ndarray
) -> np.ndarray:
    """Signed distance (negative inside) of integer (N, 2) x, y points to a polygon."""
    import cv2

    inside = np.zeros(shape, np.uint8)
    cv2.fillPoly(inside, [np.round(polygon).astype(np.int32)], 1)
    dist = np.full(len(points), np.inf, np.float32)
    pts = points.astype(np.float32)
    for a, b in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        along, offset, length = _segment_frame(pts, a, b)
        dist = np.minimum(dist, _capsule_distance(along, offset, length))
    return np.where(inside[points[:, 1], points[:, 0]] > 0, -dist, dist)


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


class _Parts:
    """Candidate parts for N pixels: a score each (0 at the part's core, 1 at its nominal
    edge), the label(s) it gives, a priority that lets parts in front (hands, arms) win
    inside their own outline, and the score beyond which it no longer claims a pixel."""

    def __init__(self, n: int):
        self.n = n
        self.scores: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.priorities: list[float] = []
        self.limits: list[float] = []

    def add(
        self, score: np.ndarray, label: np.ndarray | int, priority: float, limit: float
    ) -> None:
        self.scores.append(score.astype(np.float32))
        self.labels.append(np.broadcast_to(np.asarray(label, np.uint8), (self.n,)))
        self.priorities.append(priority)
        self.limits.append(limit)

    def decide(self) -> tuple[np.ndarray, np.ndarray]:
        """The winning label of each pixel, and whether the pixel is body at all (its
        nearest part is within that part's limit)."""
        raw = np.stack(self.scores)
        priority = np.asarray(self.priorities, np.float32)[:, None]
        effective = raw - priority * np.clip(1.0 - raw, 0.0, 1.0)
        idx = np.arange(self.n)
        nearest = raw.argmin(0)
        keep = raw[nearest, idx] <= np.asarray(self.limits, np.float32)[nearest]
        return np.stack(self.labels)[effective.argmin(0), idx], keep


def approximate_densepose(
    landmarks: np.ndarray, silhouette: np.ndarray, shape: Shape = SHAPE
) -> tuple[np.ndarray, dict]:
    """An approximate DensePose part map from MediaPipe Pose.

    landmarks: (33, 4) float x, y (pixels), z, visibility; silhouette: (H, W) bool person
    mask. Returns the (H, W) uint8 part map (ids 0..24, only inside the silhouette) and
    notes (facing, body scale in pixels).
    """
    lm = np.asarray(landmarks, np.float32)
    if lm.shape != (33, 4) or not np.isfinite(lm).all():
        raise ValueError(f"landmarks must be finite (33, 4) MediaPipe Pose points, got {lm.shape}")
    silhouette = np.asarray(silhouette)
    if silhouette.ndim != 2:
        raise ValueError(
            f"silhouette must be (H, W) bool, got {silhouette.dtype} {silhouette.shape}"
        )
    silhouette = silhouette.astype(bool)
    H, W = silhouette.shape
    back = facing_away(lm)
    notes = {"facing": "back" if back else "front"}
    # Parts are decided on a grid of `step`-pixel cells (any silhouette pixel makes a cell
    # body) and painted back at full size: 4x less work at 1024x768, boundaries 2 px coarse.
    step = max(1, round(max(H, W) / shape.grid))
    hs, ws = -(-H // step), -(-W // step)
    padded = np.zeros((hs * step, ws * step), bool)
    padded[:H, :W] = silhouette
    cells = padded.reshape(hs, step, ws, step).any(axis=(1, 3))
    ys, xs = np.nonzero(cells)
    if len(xs) == 0:
        return np.zeros((H, W), np.uint8), notes
    points = np.stack([xs, ys], 1).astype(np.float32) * step + (step - 1) / 2
    P = lm[:, :2]
    Part = DensePosePart

    mid_sh = (P[_L_SHOULDER] + P[_R_SHOULDER]) / 2
    mid_hip = (P[_L_HIP] + P[_R_HIP]) / 2
    torso_len = float(np.linalg.norm(mid_hip - mid_sh))
    # image down when the landmarks are degenerate (hips on the shoulders)
    down = (mid_hip - mid_sh) / torso_len if torso_len >= 1 else np.array([0, 1], np.float32)
    torso_len = max(torso_len, 1.0)
    shoulder_dist = float(np.linalg.norm(P[_L_SHOULDER] - P[_R_SHOULDER]))
    U = max(shoulder_dist, 0.6 * torso_len, 8.0)
    notes["body_scale_px"] = round(U, 1)

    # Face frame: h = eye midpoint -> mouth midpoint, floored by the ears and the body scale
    # so that a tilted or turned face keeps a sensible head size.
    eye = (P[_L_EYE] + P[_R_EYE]) / 2
    mouth = (P[_MOUTH_L] + P[_MOUTH_R]) / 2
    h_raw = float(np.linalg.norm(mouth - eye))
    face_down = (mouth - eye) / h_raw if h_raw > 1e-3 else down
    if float(face_down @ down) < 0.3:  # an implausible face direction: trust the body
        face_down = down
    h = max(h_raw, float(np.linalg.norm(P[_L_EAR] - P[_R_EAR])) / 1.9, U / 5.5)
    across = np.array([-face_down[1], face_down[0]], np.float32)

    cand = _Parts(len(xs))

    # Head: an ellipse over face and skull plus the neck down to the torso,
    # split left/right at the line through the nose along the face's down direction.
    center = eye + (shape.head_chin - shape.head_top) / 2 * h * face_down
    rel = points - center
    head = np.hypot(
        rel @ across / (shape.head_half_width * h),
        rel @ face_down / ((shape.head_chin + shape.head_top) / 2 * h),
    )
    neck_base = mid_sh - shape.neck_base_up * torso_len * down
    chin = eye + (shape.head_chin - 0.5) * h * face_down
    along, offset, length = _segment_frame(points, chin, neck_base)
    neck = _capsule_distance(along, offset, length) / (shape.neck_radius * h)
    left_ref = (P[_L_EYE] + P[_L_EAR]) / 2 - (P[_R_EYE] + P[_R_EAR]) / 2
    left_sign = np.sign(float(left_ref @ across)) or 1.0
    is_left = np.sign((points - P[_NOSE]) @ across) == left_sign
    head_label = np.where(is_left, Part.HEAD_LEFT, Part.HEAD_RIGHT)
    # hair is not body: the head is held to a tighter outline than the rest
    cand.add(np.minimum(head, neck), head_label, 0.0, shape.max_head_score)

    # Torso: a polygon from the shoulders up to the neck base and down past the hips. Deep
    # inside it the score stays at a floor, so an arm in front of it can still win.
    e = (P[_L_SHOULDER] - P[_R_SHOULDER]) / max(shoulder_dist, 1e-3)
    hip_vec = P[_L_HIP] - P[_R_HIP]
    neck_up = shape.neck_base_up * torso_len * down
    polygon = np.array(
        [
            P[_R_SHOULDER] + shape.shoulder_inset * U * e,
            mid_sh - shape.neck_base_half_width * U * e - neck_up,
            mid_sh + shape.neck_base_half_width * U * e - neck_up,
            P[_L_SHOULDER] - shape.shoulder_inset * U * e,
            P[_L_HIP] + shape.hip_outset * hip_vec + shape.hip_down * torso_len * down,
            mid_hip + shape.crotch_down * torso_len * down,
            P[_R_HIP] - shape.hip_outset * hip_vec + shape.hip_down * torso_len * down,
        ],
        np.float32,
    )
    sd = _polygon_signed_distance(
        (polygon - (step - 1) / 2) / step, (hs, ws), np.stack([xs, ys], 1)
    )
    sd *= step
    torso = np.maximum(1.0 + sd / (shape.torso_margin * U), shape.torso_floor)
    cand.add(torso, Part.TORSO_BACK if back else Part.TORSO_FRONT, 0.0, shape.max_score)

    def limb(
        a: np.ndarray, b: np.ndarray, radius: float, caps: tuple[float, float]
    ) -> tuple[np.ndarray, np.ndarray]:
        along, offset, length = _segment_frame(points, a, b)
        r = radius * U
        return _capsule_distance(along, offset, length, *caps) / r, offset / r

    # Arms: the inner side (towards the spine) is DensePose's front, the outer side its back.
    joint = shape.joint_cap
    for (j0, j1), radius, split, caps, front, rear, priority in (
        (
            (_L_SHOULDER, _L_ELBOW),
            shape.upper_arm_radius,
            shape.upper_arm_front,
            (1.0, joint),
            Part.UPPER_ARM_LEFT_FRONT,
            Part.UPPER_ARM_LEFT_BACK,
            shape.upper_arm_priority,
        ),
        (
            (_R_SHOULDER, _R_ELBOW),
            shape.upper_arm_radius,
            shape.upper_arm_front,
            (1.0, joint),
            Part.UPPER_ARM_RIGHT_FRONT,
            Part.UPPER_ARM_RIGHT_BACK,
            shape.upper_arm_priority,
        ),
        (
            (_L_ELBOW, _L_WRIST),
            shape.lower_arm_radius,
            shape.lower_arm_front,
            (joint, joint),
            Part.LOWER_ARM_LEFT_FRONT,
            Part.LOWER_ARM_LEFT_BACK,
            shape.lower_arm_priority,
        ),
        (
            (_R_ELBOW, _R_WRIST),
            shape.lower_arm_radius,
            shape.lower_arm_front,
            (joint, joint),
            Part.LOWER_ARM_RIGHT_FRONT,
            Part.LOWER_ARM_RIGHT_BACK,
            shape.lower_arm_priority,
        ),
    ):
        p0, p1 = P[j0], P[j1]
        score, offset = limb(p0, p1, radius, caps)
        # `offset` grows towards (-dy, dx) of p0->p1; flip it to point away from the spine.
        mid = (p0 + p1) / 2
        t = np.clip(float((mid - mid_sh) @ down) / torso_len, 0.0, 1.0)
        seg = p1 - p0
        if float(np.array([-seg[1], seg[0]]) @ (mid - (mid_sh + t * torso_len * down))) < 0:
            offset = -offset
        inner = offset < split
        first, second = (rear, front) if back else (front, rear)
        cand.add(score, np.where(inner, first, second), priority, shape.max_score)

    for wrist, index, pinky, label in (
        (_L_WRIST, _L_INDEX, _L_PINKY, Part.LEFT_HAND),
        (_R_WRIST, _R_INDEX, _R_PINKY, Part.RIGHT_HAND),
    ):
        tip = P[wrist] + shape.hand_length * ((P[index] + P[pinky]) / 2 - P[wrist])
        score, _ = limb(P[wrist], tip, shape.hand_radius, (joint, 1.0))
        cand.add(score, label, shape.hand_priority, shape.max_score)

    # Legs: DensePose shows the front of both legs on a frontal person.
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
        thigh, _ = limb(start, P[knee], shape.upper_leg_radius, (1.0, joint))
        shin, _ = limb(P[knee], P[ankle], shape.lower_leg_radius, (joint, joint))
        foot_score, _ = limb(P[ankle], P[foot], shape.foot_radius, (joint, 1.0))
        cand.add(thigh, upper[int(back)], 0.0, shape.max_score)
        cand.add(shin, lower[int(back)], 0.0, shape.max_score)
        cand.add(foot_score, foot_label, 0.0, shape.max_score)

    chosen, keep = cand.decide()
    grid = np.zeros((hs, ws), np.uint8)
    grid[ys[keep], xs[keep]] = chosen[keep]
    parts = np.repeat(np.repeat(grid, step, 0), step, 1)[:H, :W]
    parts[~silhouette] = 0
    return np.ascontiguousarray(parts), notes


class MediaPipeDensePose:
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
        self._models = None

    def fingerprint(self) -> str:
        return make_fingerprint(self.kind, self.name, self.shape, code=__name__)

    def load(self) -> None:
        from vton.annotate.mp import MediaPipeModels

        if self._models is None:
            self._models = MediaPipeModels()

    def close(self) -> None:
        if self._models is not None:
            self._models.close()
            self._models = None

    def annotate(self, item: Item) -> Sample:
        """An approximate part map of the most prominent person in `item.rgb`.

        Raises AnnotationRejected `no_person` when MediaPipe finds nobody.
        """
        rgb = item.rgb
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(
                f"{item.id}: expected (H, W, 3) uint8 RGB, got {rgb.dtype} {rgb.shape}"
            )
        self.load()
        result = self._models.pose(rgb)
        size = f"{rgb.shape[1]}x{rgb.shape[0]}"
        if result is None:
            raise AnnotationRejected(
                "no_person", f"MediaPipe Pose found nobody in {item.id} ({size})"
            )
        seg = result.segmentation
        if seg is None:
            seg = self._models.selfie(rgb)
        if seg.shape != rgb.shape[:2]:
            import cv2

            seg = cv2.resize(seg, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
        silhouette = seg > 0.5
        parts, notes = approximate_densepose(result.landmarks, silhouette, self.shape)
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
            "people": result.people,
            **notes,
        }
        return Sample(id=item.id, split=item.split, densepose=parts, provenance=provenance)


# --- detectron2 ------------------------------------------------------------------------

_CONFIG_KEY = "densepose.detectron2.config"
_WEIGHTS_KEY = "densepose.detectron2.weights"
_CONFIG_HINT = "detectron2/projects/DensePose/configs/densepose_rcnn_R_50_FPN_s1x.yaml"
_WEIGHTS_URL = (
    "https://dl.fbaipublicfiles.com/densepose/densepose_rcnn_R_50_FPN_s1x/165712039/"
    "model_final_162be9.pkl"
)

INSTALL_STEPS = f"""\
detectron2 and its DensePose project are not on PyPI; install them from source into this
environment (torch first; building needs a C++ compiler, and CUDA for GPU inference):
  git clone https://github.com/facebookresearch/detectron2
  pip install -e detectron2
  pip install -e detectron2/projects/DensePose
(or, without keeping a clone: pip install 'git+https://github.com/facebookresearch/detectron2.git'
 then pip install 'git+https://github.com/facebookresearch/detectron2@main#subdirectory=projects/DensePose',
 and fetch the two config files below from that repository).
Then download the DensePose R50-FPN config and weights and set them in params.yaml:
  {_CONFIG_KEY}: {_CONFIG_HINT}
      (Base-DensePose-RCNN-FPN.yaml, which it includes, must sit beside it)
  {_WEIGHTS_KEY}: model_final_162be9.pkl, from
      {_WEIGHTS_URL}
Or set densepose.backend to mediapipe for an offline approximation."""


class Detectron2NotInstalled(MissingWeights):
    """detectron2 or its DensePose project cannot be imported; the message says how to fix."""


def paste_box_labels(labels: np.ndarray, box_xywh: tuple[int, int, int, int], shape) -> np.ndarray:
    """Place a box-sized (h, w) label map at its integer box in an (H, W) uint8 part map.

    box_xywh: x, y, w, h in pixels (as DensePose's converters round them); the parts of the
    box outside the image are cut off. labels larger than the box are cropped, smaller ones
    resized to it (nearest), so the map always covers exactly the box.
    """
    import cv2

    H, W = shape
    x, y, w, h = (int(v) for v in box_xywh)
    w, h = max(w, 1), max(h, 1)
    labels = np.asarray(labels).astype(np.uint8)
    if labels.shape != (h, w):
        labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
    if int(labels.max(initial=0)) > N_PARTS:
        raise ValueError(f"DensePose labels must be 0..{N_PARTS}, got max {labels.max()}")
    out = np.zeros((H, W), np.uint8)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = labels[y0 - y : y1 - y, x0 - x : x1 - x]
    return out


class Detectron2DensePose:
    """DensePose R50-FPN through detectron2's DensePose project (installed by the user).

    `densepose.detectron2.config` is the model's yaml inside a detectron2 clone and
    `densepose.detectron2.weights` its .pkl. The highest-scoring person is kept; its fine
    segmentation (the I channel), resampled to its box, is pasted into a full-size map.
    """

    name = "detectron2"

    def __init__(self, kind: str = "densepose", section: Any = None):
        self.kind = kind
        self.outputs = outputs_of(self, kind, "densepose")
        params = getattr(section, "detectron2", None)
        config = str(getattr(params, "config", "") or "")
        weights = str(getattr(params, "weights", "") or "")
        empty = [
            key for key, value in ((_CONFIG_KEY, config), (_WEIGHTS_KEY, weights)) if not value
        ]
        if empty:
            raise MissingWeights(
                f"densepose.backend is detectron2 but {' and '.join(empty)} "
                f"{'is' if len(empty) == 1 else 'are'} empty in params.yaml; set "
                f"{_CONFIG_KEY} to the DensePose R50-FPN config ({_CONFIG_HINT}) and "
                f"{_WEIGHTS_KEY} to its weights ({_WEIGHTS_URL}), or set densepose.backend "
                "to mediapipe"
            )
        for key, value in ((_CONFIG_KEY, config), (_WEIGHTS_KEY, weights)):
            if not Path(value).is_file():
                raise MissingWeights(
                    f"{key} = {value!r} is not a file; download it (config: {_CONFIG_HINT} "
                    f"in a detectron2 clone, weights: {_WEIGHTS_URL}) and fix params.yaml"
                )
        self.config = Path(config)
        self.weights = Path(weights)
        self._predictor = None
        self._converter = None
        self._digest: str | None = None

    def fingerprint(self) -> str:
        if self._digest is None:
            self._digest = tree_digest(self.weights)
        return make_fingerprint(
            self.kind,
            self.name,
            {"config": tree_digest(self.config), "weights": self._digest},
            code=__name__,
        )

    def load(self) -> None:
        if self._predictor is not None:
            return
        try:
            import torch
            from densepose import add_densepose_config
            from densepose.converters import ToChartResultConverter
            from detectron2.config import get_cfg
            from detectron2.engine import DefaultPredictor
        except ImportError as exc:
            raise Detectron2NotInstalled(
                f"the detectron2 DensePose backend cannot import {exc.name or exc}.\n"
                + INSTALL_STEPS
            ) from exc
        # Registers the chart converters (densepose/__init__ does too in newer versions).
        with contextlib.suppress(ImportError):
            import densepose.converters.builtin  # noqa: F401
        cfg = get_cfg()
        add_densepose_config(cfg)
        cfg.merge_from_file(str(self.config))
        cfg.MODEL.WEIGHTS = str(self.weights)
        cfg.MODEL.DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
        cfg.freeze()
        self._predictor = DefaultPredictor(cfg)
        self._converter = ToChartResultConverter

    def annotate(self, item: Item) -> Sample:
        """DensePose part ids of the highest-scoring person in `item.rgb`.

        Raises AnnotationRejected `no_person` when DensePose detects nobody.
        """
        import torch

        rgb = item.rgb
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(
                f"{item.id}: expected (H, W, 3) uint8 RGB, got {rgb.dtype} {rgb.shape}"
            )
        self.load()
        with torch.no_grad():
            # DefaultPredictor takes BGR (cfg.INPUT.FORMAT) and returns image-sized boxes.
            instances = self._predictor(np.ascontiguousarray(rgb[:, :, ::-1]))["instances"]
        if len(instances) == 0 or not instances.has("pred_densepose"):
            raise AnnotationRejected(
                "no_person",
                f"DensePose detected nobody in {item.id} ({rgb.shape[1]}x{rgb.shape[0]})",
            )
        best = int(instances.scores.argmax())
        person = instances[best : best + 1].to("cpu")
        result = self._converter.convert(person.pred_densepose, person.pred_boxes)
        x0, y0, x1, y1 = person.pred_boxes.tensor[0].tolist()
        # The converter resamples to the integer box (x, y, w, h truncated), as here.
        box = (int(x0), int(y0), int(x1 - x0), int(y1 - y0))
        labels = result.labels.cpu().numpy()
        parts = paste_box_labels(labels, box, rgb.shape[:2])
        provenance = {
            "backend": self.name,
            "people": len(instances),
            "score": round(float(instances.scores[best]), 3),
            "box_xywh": list(box),
        }
        return Sample(id=item.id, split=item.split, densepose=parts, provenance=provenance)
