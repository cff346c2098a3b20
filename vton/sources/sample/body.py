"""The posed body in pixels: the body frame (the upper body turned by the lean), arms, legs and
head, and the top's panels as worn (the torso's sides foreshortened, sleeves bent along
the arms)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vton.sources.sample.draw import capsule, direction, ellipse, perp, rotation, unit
from vton.sources.sample.garment import FlatGarment
from vton.sources.sample.mesh import Mesh
from vton.sources.sample.options import NECK_FIT, NECK_TOP_Y, SIDES
from vton.sources.sample.params import BodyParams, GarmentParams


@dataclass
class Frame:
    """Body units to pixels: the upper body turns by the lean about the mid-hip."""

    origin: np.ndarray
    scale: float
    pivot: np.ndarray
    rot: np.ndarray

    def upper(self, pts) -> np.ndarray:
        pts = np.asarray(pts, float)
        return self.origin + self.scale * ((pts - self.pivot) @ self.rot.T + self.pivot)

    def turn(self, vec) -> np.ndarray:
        return np.asarray(vec, float) @ self.rot.T


@dataclass
class Arm:
    side: int
    shoulder: np.ndarray
    elbow: np.ndarray
    wrist: np.ndarray
    hand: np.ndarray  # polygon
    thumb: np.ndarray  # polygon
    radii: tuple[float, float, float]  # pixels


@dataclass
class Leg:
    side: int
    hip: np.ndarray
    knee: np.ndarray
    ankle: np.ndarray
    foot: np.ndarray  # polygon
    toes: tuple[np.ndarray, np.ndarray, np.ndarray]  # big toe, small toe, heel
    radii: tuple[float, float, float]


@dataclass
class Pose:
    """The posed body in pixels."""

    frame: Frame
    head_center: np.ndarray
    head_deg: float
    head_r: tuple[float, float]
    arms: dict[str, Arm]
    legs: dict[str, Leg]
    neck: np.ndarray
    mid_hip: np.ndarray


def _make_frame(b: BodyParams, height: int, width: int) -> Frame:
    scale = b.scale * height
    pivot = np.array([0.0, b.hip_y])
    rot = rotation(-b.lean_deg)
    head_top = np.array([0.0, -(b.neck_len + 2 * b.head_ry + 0.015)])
    top = (head_top - pivot) @ rot.T + pivot
    neck = (-pivot) @ rot.T + pivot
    origin = np.array(
        [b.center_x * width - scale * neck[0], b.top_margin * height - scale * top[1]]
    )
    return Frame(origin, scale, pivot, rot)


def _scaled(radii: tuple[float, float, float], s: float) -> tuple[float, float, float]:
    a, b, c = radii
    return a * s, b * s, c * s


def posed_body(b: BodyParams, height: int, width: int) -> Pose:
    frame = _make_frame(b, height, width)
    s = frame.scale
    arms = {}
    for name, side in SIDES:
        a = b.arms[name]
        shoulder_l = np.array([side * b.shoulder_half, b.shoulder_drop])
        elbow_l = shoulder_l + b.upper_arm * direction(a.upper_deg, side)
        wrist_l = elbow_l + b.forearm * direction(a.fore_deg, side)
        hand_dir = frame.turn(direction(a.fore_deg + a.hand_deg, side))
        wrist = frame.upper(wrist_l)
        rw = b.arm_r[2] * s
        hand_len = b.hand_len * s
        hand_deg = math.degrees(math.atan2(hand_dir[1], hand_dir[0]))
        hand = ellipse(wrist + hand_dir * hand_len * 0.5, hand_len * 0.55, rw * 1.35, hand_deg, 24)
        inward = -side * perp(hand_dir)  # toward the body's midline when hanging
        thumb_dir = unit(hand_dir + 0.9 * inward)
        thumb_base = wrist + hand_dir * hand_len * 0.2 + inward * rw * 0.8
        thumb = capsule(
            thumb_base, thumb_base + thumb_dir * hand_len * 0.4, rw * 0.42, rw * 0.32, 8
        )
        arms[name] = Arm(
            side,
            frame.upper(shoulder_l),
            frame.upper(elbow_l),
            wrist,
            hand,
            thumb,
            _scaled(b.arm_r, s),
        )
    legs = {}
    for name, side in SIDES:
        hip_l = np.array([side * (b.hip_half - 0.9 * b.leg_r[0]), b.hip_y])
        hip = frame.upper(hip_l)
        thigh_deg, shin_deg = b.legs_deg[name]
        knee = hip + s * b.thigh * direction(thigh_deg, side)
        ankle = knee + s * b.shin * direction(shin_deg, side)
        ra = b.leg_r[2] * s
        foot_c = ankle + np.array([side * ra * 0.35, ra * 1.1])
        foot = ellipse(foot_c, ra * 1.35, ra * 1.25, side * 12, 24)
        toes = (
            foot_c + np.array([-side * ra * 0.55, ra * 0.95]),
            foot_c + np.array([side * ra * 0.7, ra * 0.85]),
            ankle + np.array([0.0, ra * 0.8]),
        )
        legs[name] = Leg(side, hip, knee, ankle, foot, toes, _scaled(b.leg_r, s))
    head_local = np.array([0.0, -(b.neck_len + b.head_ry)])
    return Pose(
        frame=frame,
        head_center=frame.upper(head_local),
        head_deg=-b.lean_deg - b.head_tilt_deg,
        head_r=(b.head_rx * s, b.head_ry * s),
        arms=arms,
        legs=legs,
        neck=frame.upper([0.0, 0.0]),
        mid_hip=frame.upper([0.0, b.hip_y]),
    )


def head_points(pose: Pose, local) -> np.ndarray:
    """Points in head units (multiples of rx, ry from the head centre) to pixels."""
    rx, ry = pose.head_r
    pts = np.asarray(local, float) * (rx, ry)
    return pose.head_center + pts @ rotation(pose.head_deg).T


def face_outline(pose: Pose) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, 48, endpoint=False)
    x, y = np.sin(t), -np.cos(t)
    x = x * (1 - 0.18 * np.clip(y, 0, None) ** 2)  # narrower toward the chin
    return head_points(pose, np.stack([x, y], 1))


def worn_torso(b: BodyParams, g: GarmentParams, flat: FlatGarment, pose: Pose) -> Mesh:
    """The torso panel on the body: the flat grid's matching body points."""
    r = b.arm_r[0]
    top_y = NECK_TOP_Y
    hem_y = b.hip_y + g.hem_offset
    rows = []
    shoulder_in = -0.3 * r if g.sleeve == "none" else 0.1 * r
    outer_top = (b.shoulder_half + shoulder_in, b.shoulder_drop - r)
    neck_in = g.neck_half * NECK_FIT
    rows.append(
        [(-outer_top[0], outer_top[1]), (-neck_in, top_y), (0, top_y), (neck_in, top_y), outer_top]
    )
    for y, half in (
        (b.shoulder_drop + 2.0 * r, (b.shoulder_half - 0.9 * r) * g.ease[0]),
        (b.waist_y, b.waist_half * g.ease[1]),
        (hem_y, b.hip_half * g.ease[2]),
    ):
        rows.append([(-half, y), (-0.62 * half, y), (0, y), (0.62 * half, y), (half, y)])
    local = np.array(rows, float)
    local[3, 1:4, 1] += g.hem_curve * np.array([0.6, 1.0, 0.6])
    across = np.tile(np.array([-1.0, -0.62, 0.0, 0.62, 1.0]), (4, 1))
    return Mesh(flat.torso, pose.frame.upper(local), across)


def worn_sleeve(g: GarmentParams, flat_grid: np.ndarray, arm: Arm, wrist_gap_px: float):
    """The sleeve on the arm: a mesh matching `flat_grid`, and its round caps (center, radius).

    Rows are square to the arm: at the shoulder joint, (long) at the elbow, and at the end.
    """
    r_sh, r_el, r_wr = arm.radii
    up = unit(arm.elbow - arm.shoulder)
    n_up = arm.side * perp(up)
    r0 = r_sh * 1.03
    rows = [[arm.shoulder + n_up * r0, arm.shoulder - n_up * r0]]
    caps = [(arm.shoulder, r0)]
    upper_len = float(np.hypot(*(arm.elbow - arm.shoulder)))
    if g.sleeve == "short":
        f = g.sleeve_body_frac
        c = arm.shoulder + up * upper_len * f
        rad = (r_sh + f * (r_el - r_sh)) * g.sleeve_ease
        rows.append([c + n_up * rad, c - n_up * rad])
    else:
        fore = arm.wrist - arm.elbow
        fore_len = float(np.hypot(*fore))
        n_fore = arm.side * perp(unit(fore))
        n_el = unit(n_up + n_fore)
        miter = 1 / max(float(n_el @ n_up), 0.75)
        rad_el = r_el * g.sleeve_ease
        rows.append([arm.elbow + n_el * rad_el * miter, arm.elbow - n_el * rad_el * miter])
        caps.append((arm.elbow, rad_el))
        # Keep the cuff clear of the wrist keypoint, even at tiny sizes.
        f = max(min(g.sleeve_body_frac, 1 - wrist_gap_px / max(fore_len, 1e-6)), 0.3)
        c = arm.elbow + fore * f
        rad = (r_el + f * (r_wr - r_el)) * g.sleeve_ease
        rows.append([c + n_fore * rad, c - n_fore * rad])
    across = np.tile(np.array([-1.0, 1.0]), (len(rows), 1))
    return Mesh(flat_grid, np.array(rows, float), across), caps
