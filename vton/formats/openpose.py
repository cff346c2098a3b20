"""OpenPose JSON 1.3 keypoints (BODY_25 and COCO-18) and the rendered skeleton image.

A keypoint array is `(K, 3) float32` of (x, y, confidence) in pixels; a missing point is
(0, 0, 0), as OpenPose writes it. `openpose_json/ID_keypoints.json` in VITON-HD holds one
person with 75 BODY_25 floats plus face and hand arrays; `read_keypoints` returns the body
and `read_openpose` the whole document, so a read-then-write keeps every field and writes
numbers the way the dataset's files spell them (integers without a decimal point).
"""

from __future__ import annotations

import json
import math
from enum import IntEnum
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vton.fileio import atomic_write_bytes
from vton.formats.images import atomic_save


class Body25(IntEnum):
    NOSE = 0
    NECK = 1
    R_SHOULDER = 2
    R_ELBOW = 3
    R_WRIST = 4
    L_SHOULDER = 5
    L_ELBOW = 6
    L_WRIST = 7
    MID_HIP = 8
    R_HIP = 9
    R_KNEE = 10
    R_ANKLE = 11
    L_HIP = 12
    L_KNEE = 13
    L_ANKLE = 14
    R_EYE = 15
    L_EYE = 16
    R_EAR = 17
    L_EAR = 18
    L_BIG_TOE = 19
    L_SMALL_TOE = 20
    L_HEEL = 21
    R_BIG_TOE = 22
    R_SMALL_TOE = 23
    R_HEEL = 24


class Coco18(IntEnum):
    NOSE = 0
    NECK = 1
    R_SHOULDER = 2
    R_ELBOW = 3
    R_WRIST = 4
    L_SHOULDER = 5
    L_ELBOW = 6
    L_WRIST = 7
    R_HIP = 8
    R_KNEE = 9
    R_ANKLE = 10
    L_HIP = 11
    L_KNEE = 12
    L_ANKLE = 13
    R_EYE = 14
    L_EYE = 15
    R_EAR = 16
    L_EAR = 17


# COCO-18 index -> BODY_25 index (same body point). BODY_25 adds mid-hip and the feet.
COCO18_TO_BODY25: tuple[int, ...] = tuple(int(Body25[c.name]) for c in Coco18)

BODY25_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 8),
    (1, 2),
    (1, 5),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (8, 9),
    (9, 10),
    (10, 11),
    (8, 12),
    (12, 13),
    (13, 14),
    (1, 0),
    (0, 15),
    (15, 17),
    (0, 16),
    (16, 18),
    (14, 19),
    (19, 20),
    (14, 21),
    (11, 22),
    (22, 23),
    (11, 24),
)
"""Limbs of the BODY_25 skeleton, in OpenPose's rendering order."""

BODY25_COLORS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 85),
    (255, 0, 0),
    (255, 85, 0),
    (255, 170, 0),
    (255, 255, 0),
    (170, 255, 0),
    (85, 255, 0),
    (0, 255, 0),
    (255, 0, 0),
    (0, 255, 85),
    (0, 255, 170),
    (0, 255, 255),
    (0, 170, 255),
    (0, 85, 255),
    (0, 0, 255),
    (255, 0, 170),
    (170, 0, 255),
    (255, 0, 255),
    (85, 0, 255),
    (0, 0, 255),
    (0, 0, 255),
    (0, 0, 255),
    (0, 255, 255),
    (0, 255, 255),
    (0, 255, 255),
)
"""OpenPose's per-keypoint BODY_25 colours (RGB); a limb takes its second point's colour."""


class KeypointError(ValueError):
    """A keypoint JSON that does not conform; the message says where and what arrived."""


def _check(points: np.ndarray, count: int, what: str) -> np.ndarray:
    points = np.asarray(points, dtype=np.float32)
    if points.shape != (count, 3):
        raise KeypointError(f"{what} must be ({count}, 3) x, y, confidence; got {points.shape}")
    return points


def coco18_to_body25(coco: np.ndarray) -> np.ndarray:
    """(18, 3) COCO-18 -> (25, 3) BODY_25; mid-hip derived from both hips, feet missing."""
    coco = _check(coco, 18, "COCO-18 keypoints")
    body = np.zeros((25, 3), np.float32)
    body[list(COCO18_TO_BODY25)] = coco
    r_hip, l_hip = coco[Coco18.R_HIP], coco[Coco18.L_HIP]
    if r_hip[2] > 0 and l_hip[2] > 0:
        body[Body25.MID_HIP] = [
            (r_hip[0] + l_hip[0]) / 2,
            (r_hip[1] + l_hip[1]) / 2,
            min(r_hip[2], l_hip[2]),
        ]
    return body


def body25_to_coco18(body: np.ndarray) -> np.ndarray:
    """(25, 3) BODY_25 -> (18, 3) COCO-18 (mid-hip and feet dropped)."""
    body = _check(body, 25, "BODY_25 keypoints")
    return body[list(COCO18_TO_BODY25)].copy()


# --- JSON -------------------------------------------------------------------------------


def _empty_person(pose_len: int) -> dict:
    return {
        "person_id": [-1],
        "pose_keypoints_2d": [0] * pose_len,
        "face_keypoints_2d": [],
        "hand_left_keypoints_2d": [],
        "hand_right_keypoints_2d": [],
        "pose_keypoints_3d": [],
        "face_keypoints_3d": [],
        "hand_left_keypoints_3d": [],
        "hand_right_keypoints_3d": [],
    }


def read_openpose(path: str | Path) -> dict:
    """Read and check an OpenPose JSON document; raises KeypointError on malformed input."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise KeypointError(f"{path}: not valid JSON ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise KeypointError(f"{path}: not UTF-8 text ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("people"), list):
        raise KeypointError(f"{path}: expected an object with a 'people' list")
    for i, person in enumerate(doc["people"]):
        pose = person.get("pose_keypoints_2d") if isinstance(person, dict) else None
        if not isinstance(pose, list) or len(pose) not in (54, 75):
            got = len(pose) if isinstance(pose, list) else type(pose).__name__
            raise KeypointError(
                f"{path}: people[{i}].pose_keypoints_2d must hold 75 (BODY_25) or 54 "
                f"(COCO-18) numbers, got {got}"
            )
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in pose):
            raise KeypointError(f"{path}: people[{i}].pose_keypoints_2d holds a non-number")
    return doc


def read_keypoints(path: str | Path, person: int = 0) -> np.ndarray:
    """Read one person's body keypoints as (25, 3) BODY_25 (COCO-18 files are converted).

    A file with no people gives all-missing keypoints.
    """
    doc = read_openpose(path)
    if not doc["people"]:
        return np.zeros((25, 3), np.float32)
    pose = np.asarray(doc["people"][person]["pose_keypoints_2d"], np.float32)
    if pose.size == 54:
        return coco18_to_body25(pose.reshape(18, 3))
    return pose.reshape(25, 3)


def _number(value: float) -> int | float:
    """Spell a coordinate as the dataset does: 0 not 0.0, six significant digits."""
    value = float(value)
    if value == int(value):
        return int(value)
    return float(f"{value:.6g}")


def write_openpose(path: str | Path, doc: dict) -> None:
    """Write an OpenPose document compactly, as the dataset's files are, atomically."""
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    atomic_write_bytes(path, text.encode("utf-8"))


def write_keypoints(
    path: str | Path, body25: np.ndarray, *, coco18: bool = False, extra: dict | None = None
) -> None:
    """Write (25, 3) BODY_25 keypoints as OpenPose 1.3 JSON (or as COCO-18 with `coco18`).

    `extra` adds or replaces per-person fields (face or hand keypoints) of the document.
    """
    body25 = _check(body25, 25, "BODY_25 keypoints")
    points = body25_to_coco18(body25) if coco18 else body25
    person = _empty_person(points.size)
    person["pose_keypoints_2d"] = [_number(v) for v in points.reshape(-1)]
    if extra:
        person.update(extra)
    write_openpose(path, {"version": 1.3, "people": [person]})


def reformat_numbers(doc: dict) -> dict:
    """Respell every 2-D keypoint list of a document with `_number` (stable round trips)."""
    for person in doc.get("people", []):
        for key, values in person.items():
            if key.endswith("_2d") and isinstance(values, list):
                person[key] = [_number(v) for v in values]
    return doc


# --- rendering --------------------------------------------------------------------------


def render_skeleton(
    body25: np.ndarray, height: int, width: int, *, thickness: int | None = None
) -> np.ndarray:
    """Draw BODY_25 keypoints in OpenPose's colours on black: (H, W, 3) uint8 RGB.

    Line width and joint radius scale with the image (4 px at 1024x768, as in the
    dataset's `openpose_img` renders).
    """
    body25 = _check(body25, 25, "BODY_25 keypoints")
    if thickness is None:
        thickness = _thickness(height, width)
    limb_colors = [BODY25_COLORS[b] for _, b in BODY25_PAIRS]  # a limb takes its end's colour
    return _draw(body25, BODY25_PAIRS, limb_colors, BODY25_COLORS, height, width, thickness)


def _thickness(height: int, width: int) -> int:
    return max(1, round(4 * min(height, width) / 768))


def _draw(points, pairs, limb_colors, joint_colors, height, width, thickness) -> np.ndarray:
    """Limbs (darkened colours, 2x `thickness` wide) then joints (circles of radius
    `thickness`) of the present points on black: (H, W, 3) uint8 RGB."""
    canvas = Image.new("RGB", (width, height), (0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    present = points[:, 2] > 0
    for (a, b), limb_color in zip(pairs, limb_colors, strict=True):
        if present[a] and present[b]:
            color = tuple(int(c * 0.6) for c in limb_color)
            draw.line([tuple(points[a, :2]), tuple(points[b, :2])], fill=color, width=thickness * 2)
    for k in np.flatnonzero(present):
        x, y = points[k, :2]
        draw.ellipse(
            [x - thickness, y - thickness, x + thickness, y + thickness], fill=joint_colors[k]
        )
    return np.asarray(canvas, dtype=np.uint8).copy()


def write_rendered(path: str | Path, body25: np.ndarray, height: int, width: int) -> None:
    """Write `render_skeleton` as `openpose_img/ID_rendered.png`, atomically."""
    atomic_save(Image.fromarray(render_skeleton(body25, height, width)), path, format="PNG")


# --- DressCode keypoint files and skeletons -------------------------------------------------

DRESSCODE_FRAME: tuple[int, int] = (512, 384)
"""(height, width) of the frame DressCode's keypoints are stored in, whatever the image size:
its loaders scale x by width/384 and y by height/512 (aimagelab/dress-code `data/dataset.py`,
LaDI-VTON's `dresscode.py`); the 1024x768 images were posed at 512x384."""

DRESSCODE_MISSING: tuple[float, float, float, float] = (-1.0, -1.0, 0.0, -1.0)
"""How we write a missing point. The loaders draw a point only where x > 1 and y > 1 (after
scaling), so any point at or below 1 reads as missing to them. Assumption: the dataset's own
files follow pytorch-openpose, whose "no candidate" marker is -1."""

COCO18_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 2),
    (1, 5),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (1, 8),
    (8, 9),
    (9, 10),
    (1, 11),
    (11, 12),
    (12, 13),
    (1, 0),
    (0, 14),
    (14, 16),
    (0, 15),
    (15, 17),
)
"""The 17 limbs OpenPose draws for COCO-18 (the ear-shoulder links are not drawn)."""

COCO18_COLORS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0),
    (255, 85, 0),
    (255, 170, 0),
    (255, 255, 0),
    (170, 255, 0),
    (85, 255, 0),
    (0, 255, 0),
    (0, 255, 85),
    (0, 255, 170),
    (0, 255, 255),
    (0, 170, 255),
    (0, 85, 255),
    (0, 0, 255),
    (85, 0, 255),
    (170, 0, 255),
    (255, 0, 255),
    (255, 0, 170),
    (255, 0, 85),
)
"""OpenPose's COCO-18 colours (RGB): joint k and limb k take colour k."""


def write_dresscode_keypoints(path: str | Path, body25: np.ndarray, height: int, width: int):
    """Write (25, 3) BODY_25 pixels of a (height, width) image as a DressCode keypoint file.

    `{"keypoints": [[x, y, score, id], ...]}`: the 18 COCO-18 points in the 384x512 frame
    (`DRESSCODE_FRAME`), `id` the point's index; missing points are `DRESSCODE_MISSING`.
    Mid-hip and the feet have no COCO-18 point and are dropped. Coordinates keep 4 decimals.
    """
    coco = body25_to_coco18(body25)
    sy, sx = DRESSCODE_FRAME[0] / height, DRESSCODE_FRAME[1] / width
    rows = []
    for k, (x, y, score) in enumerate(coco):
        if score > 0:
            rows.append([round(float(x) * sx, 4), round(float(y) * sy, 4), float(score), float(k)])
        else:
            rows.append(list(DRESSCODE_MISSING))
    atomic_write_bytes(path, json.dumps({"keypoints": rows}).encode("utf-8"))


def read_dresscode_keypoints(path: str | Path, height: int, width: int) -> np.ndarray:
    """Read a DressCode keypoint file as (25, 3) BODY_25 pixels of a (height, width) image.

    A point with a score of 0 or a negative coordinate is missing (0, 0, 0). Mid-hip is
    derived from the hips, the feet are missing (COCO-18 has neither). The fourth value of a
    row (an id) is not used. Raises KeypointError on anything but 18 rows of 4 numbers.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KeypointError(f"{path}: not a JSON document ({exc})") from exc
    rows = doc.get("keypoints") if isinstance(doc, dict) else None
    if (
        not isinstance(rows, list)
        or len(rows) != 18
        or not all(isinstance(r, list) and len(r) == 4 for r in rows)
    ):
        got = f"{len(rows)} entries" if isinstance(rows, list) else type(rows).__name__
        raise KeypointError(
            f"{path}: a DressCode keypoint file holds {{'keypoints': [[x, y, score, id], ...]}} "
            f"with 18 COCO-18 rows of 4 numbers; got {got}"
        )
    values = [v for r in rows for v in r]
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
        raise KeypointError(f"{path}: 'keypoints' holds a value that is not a finite number")
    coco = np.asarray(rows, np.float32)[:, :3]
    missing = (coco[:, 2] <= 0) | (coco[:, 0] < 0) | (coco[:, 1] < 0)
    coco[:, 0] *= width / DRESSCODE_FRAME[1]
    coco[:, 1] *= height / DRESSCODE_FRAME[0]
    coco[missing] = 0
    return coco18_to_body25(coco)


def render_coco18(body25: np.ndarray, height: int, width: int) -> np.ndarray:
    """Draw the COCO-18 points of BODY_25 keypoints in OpenPose's COCO colours on black:
    (H, W, 3) uint8 RGB, as DressCode's `skeletons` show them (line width as
    `render_skeleton`)."""
    coco = body25_to_coco18(body25)
    limb_colors = COCO18_COLORS[: len(COCO18_PAIRS)]  # a limb takes the colour of its index
    thickness = _thickness(height, width)
    return _draw(coco, COCO18_PAIRS, limb_colors, COCO18_COLORS, height, width, thickness)
