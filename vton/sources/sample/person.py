"""Painting the person back to front into the owner map (background, hair, legs, lower
garment, neck, top, head, arms with sleeves), then the person image, parse, densepose and
keypoints read from it."""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from vton.formats.densepose import DensePosePart as DP
from vton.formats.labels import VitonLabel as L
from vton.formats.openpose import Body25 as K
from vton.sources.sample.body import (
    Arm,
    Leg,
    Pose,
    face_outline,
    head_points,
    posed_body,
    worn_sleeve,
    worn_torso,
)
from vton.sources.sample.canvas import Canvas, Tag
from vton.sources.sample.draw import (
    Shader,
    capsule,
    ellipse,
    fill_polygon,
    limb_shade,
    perp,
    rotation,
    solid,
    split_dense,
    unit,
    with_dense,
)
from vton.sources.sample.garment import FlatGarment, flat_garment, texture
from vton.sources.sample.mesh import Mesh, map_points, mesh_lookup
from vton.sources.sample.options import NECK_FIT, NECK_TOP_Y, SIDES
from vton.sources.sample.params import BodyParams, GarmentParams, SampleParams, SceneParams


def _background(scene: SceneParams, height: int, width: int) -> np.ndarray:
    first, second = (np.asarray(c, np.float32) for c in scene.bg_colors)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    x = np.linspace(-1, 1, width, dtype=np.float32)[None, :, None]
    if scene.background == "gradient":
        img = first + (second - first) * y
    elif scene.background == "vignette":
        r2 = x * x * 0.6 + ((y - 0.45) * 2) ** 2 * 0.6
        img = first * (1 - 0.18 * scene.bg_amount * r2)
    elif scene.background == "floor":
        horizon = 0.7 + 0.25 * scene.bg_amount
        t = np.clip((y - horizon) / 0.03 + 0.5, 0, 1)
        img = first + (second * 0.95 - first) * t
    else:
        img = first + 0 * y
    return np.broadcast_to(img, (height, width, 3)).astype(np.float32)


def _garment_shader(
    g: GarmentParams,
    flat: FlatGarment,
    mesh: Mesh,
    texel: float,
    dense_of_triangle: Callable | None = None,
) -> Shader:
    """Texture sampled through the mesh, with cylinder shading across the panel and soft
    drape folds (fixed to the fabric, deeper toward the hem)."""
    phase_a, phase_b = (2 * math.pi * p for p in g.phase)

    def run(xs, ys):
        uv, across, tri = mesh_lookup(mesh, xs, ys)
        u, v = uv[:, 0], uv[:, 1]
        color = texture(g, flat, u, v, texel)
        folds = np.sin(u * 70 + v * 8 + phase_a) * np.sin(u * 118 - v * 10 + phase_b)
        depth = 0.02 + 0.05 * np.clip(v / g.length, 0, 1)
        shade = (1 - 0.22 * np.clip(across, -1, 1) ** 2) * (1 - depth * (0.5 + 0.5 * folds))
        dense = None if dense_of_triangle is None else dense_of_triangle(tri)
        return color * shade[:, None], dense

    return run


def _paint_person(
    canvas: Canvas, p: SampleParams, pose: Pose, flat: FlatGarment, wrist_gap_px: float
) -> int:
    """Paint every layer back to front; returns the face layer's id (details go on it)."""
    b, g = p.body, p.garment
    skin = np.asarray(b.skin, np.float32)
    texel = 1.0 / (2 * pose.frame.scale)  # antialiasing width of the texture, garment units
    hair_shade = _hair_shade(pose)
    canvas.add(_back_hair(b, pose), L.HAIR, DP.BACKGROUND, Tag.HAIR, solid(b.hair, hair_shade))
    _paint_legs(canvas, b, pose, skin)
    _paint_lower(canvas, b, pose)
    _paint_neck(canvas, b, g, pose, skin)
    torso = worn_torso(b, g, flat, pose)
    canvas.add(
        [map_points(torso, flat.outline(back=False))],
        L.UPPER_CLOTHES,
        DP.TORSO_FRONT,
        Tag.TORSO,
        _garment_shader(g, flat, torso, texel),
    )
    head_dense = _head_dense(pose)
    rx, ry = pose.head_r
    face_shade = _radial_shade(pose.head_center, max(rx, ry), 0.2)
    face_id = canvas.add(
        [face_outline(pose)],
        L.FACE,
        DP.HEAD_RIGHT,
        Tag.HEAD,
        with_dense(solid(skin, face_shade), head_dense),
    )
    canvas.add(
        _front_hair(b, pose),
        L.HAIR,
        DP.HEAD_RIGHT,
        Tag.HEAD,
        with_dense(solid(b.hair, hair_shade), head_dense),
    )
    for name in b.arm_order:  # the later arm lies in front
        _paint_arm(canvas, g, flat, pose.arms[name], skin, texel, wrist_gap_px)
    return face_id


def _head_dense(pose: Pose) -> Callable:
    """DensePose head halves, split along the head's own vertical axis."""
    axis = rotation(pose.head_deg)[:, 0]  # the head's x axis, toward the person's left
    return split_dense(pose.head_center, axis, DP.HEAD_RIGHT, DP.HEAD_LEFT)


def _paint_legs(canvas: Canvas, b: BodyParams, pose: Pose, skin) -> None:
    """Bare legs (flat-topped at the hip line, so none shows beside the top) and shoes."""
    frame = pose.frame
    for name, side in SIDES:
        leg = pose.legs[name]
        r_hip, r_knee, r_ankle = leg.radii
        label = L.LEFT_LEG if side > 0 else L.RIGHT_LEG
        tag = Tag.LEFT_LEG if side > 0 else Tag.RIGHT_LEG
        thigh_part = DP.UPPER_LEG_LEFT_FRONT if side > 0 else DP.UPPER_LEG_RIGHT_FRONT
        shin_part = DP.LOWER_LEG_LEFT_FRONT if side > 0 else DP.LOWER_LEG_RIGHT_FRONT
        shade = limb_shade(
            [(leg.hip, leg.knee, r_hip, r_knee), (leg.knee, leg.ankle, r_knee, r_ankle)]
        )
        hip_out = frame.upper([side * b.hip_half * 0.97, b.hip_y])
        thigh, shin = _leg_tube(leg, hip_out, frame.upper([0.0, b.hip_y]), (r_knee, r_ankle), 2.0)
        canvas.add([thigh], label, thigh_part, tag, solid(skin, shade))
        canvas.add([shin], label, shin_part, tag, solid(skin, shade))
        canvas.add(
            [leg.foot],
            L.LEFT_SHOE if side > 0 else L.RIGHT_SHOE,
            DP.LEFT_FOOT if side > 0 else DP.RIGHT_FOOT,
            tag,
            solid(b.shoe_rgb, _radial_shade(leg.foot.mean(0), r_ankle * 1.4, 0.3)),
        )


def _paint_neck(canvas: Canvas, b: BodyParams, g: GarmentParams, pose: Pose, skin) -> None:
    """Skin seen through the neckline (NECK, on the torso) and the neck itself."""
    frame = pose.frame
    opening = g.neck_half * NECK_FIT
    top, wide = NECK_TOP_Y, g.neck_half + 0.015
    chest = [
        (-b.neck_half, -0.08),
        (-opening - 0.004, top - 0.006),
        (-wide, top + 0.006),
        (-wide, 0.2),
        (0, 0.22),
        (wide, 0.2),
        (wide, top + 0.006),
        (opening + 0.004, top - 0.006),
        (b.neck_half, -0.08),
    ]
    canvas.add([frame.upper(chest)], L.NECK, DP.TORSO_FRONT, Tag.TORSO, solid(skin * 0.93))
    chin = -b.neck_len - 0.3 * b.head_ry
    neck = [
        (-b.neck_half * 0.92, chin),
        (b.neck_half * 0.92, chin),
        (b.neck_half, -0.02),
        (0, 0.01),
        (-b.neck_half, -0.02),
    ]
    neck_top, neck_bottom = frame.upper([0, -b.neck_len])[1], frame.upper([0, 0])[1]

    def shade(xs, ys):  # in the chin's shadow at the top
        t = np.clip((ys - neck_top) / max(neck_bottom - neck_top, 1), 0, 1)
        return 0.72 + 0.2 * t

    canvas.add(
        [frame.upper(neck)],
        L.NECK,
        DP.HEAD_RIGHT,
        Tag.HEAD,
        with_dense(solid(skin, shade), _head_dense(pose)),
    )


def _radial_shade(center, radius: float, strength: float) -> Callable:
    cx, cy = float(center[0]), float(center[1])

    def shade(xs, ys):
        r2 = ((xs - cx) ** 2 + (ys - cy) ** 2) / max(radius * radius, 1e-6)
        return 1 - strength * np.clip(r2, 0, 1)

    return shade


def _hair_shade(pose: Pose) -> Callable:
    cx, cy = pose.head_center
    rx = pose.head_r[0]
    freq = 2 * math.pi / max(rx * 0.18, 1.5)

    def shade(xs, ys):
        r2 = ((xs - cx) ** 2 + (ys - cy) ** 2) / (4 * rx * rx)
        strands = 0.06 * np.sin((xs - cx) * freq + 0.3 * (ys - cy) / max(rx, 1) * 6)
        return 1.0 + strands - 0.25 * np.clip(r2, 0, 1.5)

    return shade


def _back_hair(b: BodyParams, pose: Pose):
    if b.hair_style in ("long", "bob"):
        bottom = 0.85 if b.hair_style == "bob" else (b.neck_len + b.hair_len) / b.head_ry + 1.0
        t = np.linspace(math.pi, 2 * math.pi, 20)
        top = np.stack([1.18 * np.cos(t), 1.12 * np.sin(t)], 1)
        width = 1.22 if b.hair_style == "bob" else 1.3
        lower = [
            (width, 0.2),
            (width, bottom - 0.25),
            (width * 0.8, bottom),
            (-width * 0.8, bottom),
            (-width, bottom - 0.25),
            (-width, 0.2),
        ]
        return [head_points(pose, np.concatenate([top, lower]))]
    t = np.linspace(math.pi - 0.35, 2 * math.pi + 0.35, 24)
    rim = head_points(pose, np.stack([1.1 * np.cos(t), 1.1 * np.sin(t)], 1))
    if b.hair_style == "bun":
        return [rim, head_points(pose, ellipse((0.0, -1.12), 0.5, 0.42, 0, 24))]
    return [rim]


def _front_hair(b: BodyParams, pose: Pose) -> list[np.ndarray]:
    """The hair cap over the top of the face, plus side locks for longer styles."""
    side_drop = 0.05 if b.hair_style in ("short", "bun") else 0.2
    start = math.asin(min(side_drop, 0.9))
    t = np.linspace(math.pi - start, 2 * math.pi + start, 28)
    cap = np.stack([1.08 * np.cos(t), 1.1 * np.sin(t)], 1)
    x = np.linspace(1.0, -1.0, 15)
    line = -b.hairline + 0.18 * x * x + 0.3 * b.hair_part * x
    line = np.minimum(line, side_drop)
    hairline = np.stack([x * 1.02, line], 1)
    polys = [head_points(pose, np.concatenate([cap, hairline]))]
    if b.hair_style in ("bob", "long"):
        for side in (-1, 1):
            lock = [
                (side * 0.78, -0.2),
                (side * 1.12, -0.1),
                (side * 1.16, 0.75),
                (side * 0.98, 0.85),
                (side * 0.86, 0.3),
            ]
            polys.append(head_points(pose, lock))
    return polys


def _leg_tube(leg: Leg, hip_out: np.ndarray, hip_in: np.ndarray, widths, end: float):
    """Trouser-leg quads (thigh, shin) with a flat top from `hip_out` to `hip_in`.

    widths: half widths at knee and cuff (pixels); end: how far down the leg the hem is,
    1.0 at the knee and 2.0 at the ankle.
    """
    n_thigh = leg.side * perp(unit(leg.knee - leg.hip))
    n_shin = leg.side * perp(unit(leg.ankle - leg.knee))
    if end <= 1.0:
        c = leg.hip + (leg.knee - leg.hip) * end
        half = widths[0] * end + float(np.hypot(*(hip_out - hip_in))) / 2 * (1 - end)
        return [np.array([hip_out, c + n_thigh * half * 1.1, c - n_thigh * half * 1.1, hip_in])]
    n_knee = unit(n_thigh + n_shin)
    knee_out, knee_in = leg.knee + n_knee * widths[0], leg.knee - n_knee * widths[0]
    cuff = leg.knee + (leg.ankle - leg.knee) * (end - 1.0)
    return [
        np.array([hip_out, knee_out, knee_in, hip_in]),
        np.array([knee_out, cuff + n_shin * widths[1], cuff - n_shin * widths[1], knee_in]),
    ]


def _paint_lower(canvas: Canvas, b: BodyParams, pose: Pose) -> None:
    """Pants, shorts or a skirt: its top hides under the top's hem."""
    frame = pose.frame
    color = np.asarray(b.lower_rgb, np.float32)
    waist = b.waist_y + b.rise
    top = b.waist_half + (b.hip_half - b.waist_half) * b.rise / (b.hip_y - b.waist_y)
    mid = pose.mid_hip
    if b.lower == "skirt":
        legs = pose.legs
        knee_y = (legs["left"].knee[1] + legs["right"].knee[1]) / 2
        hem = b.hip_y + b.lower_len
        flare = b.hip_half * (1.1 + 2.0 * b.lower_len)
        t = np.linspace(0, 1, 9)
        hem_pts = [(flare * (1 - 2 * k), hem + 0.012 * math.sin(math.pi * k)) for k in t]
        poly = [
            (-top, waist),
            (top, waist),
            (b.hip_half * 1.03, b.hip_y),
            *hem_pts,
            (-b.hip_half * 1.03, b.hip_y),
        ]
        cx = float(mid[0])

        def dense(xs, ys):
            left = xs >= cx
            upper = np.where(left, DP.UPPER_LEG_LEFT_FRONT, DP.UPPER_LEG_RIGHT_FRONT)
            lower = np.where(left, DP.LOWER_LEG_LEFT_FRONT, DP.LOWER_LEG_RIGHT_FRONT)
            return np.where(ys < knee_y, upper, lower).astype(np.uint8)

        def shade(xs, ys):
            folds = 0.06 * np.cos((xs - cx) / max(flare * frame.scale, 1) * 14)
            return 0.92 + folds

        canvas.add(
            [frame.upper(poly)], L.SKIRT, 0, Tag.TORSO, with_dense(solid(color, shade), dense)
        )
        return
    hip_out = b.hip_half * 1.03
    block = [
        (-top, waist),
        (top, waist),
        (hip_out, b.hip_y),
        (0.0, b.hip_y + 0.07),
        (-hip_out, b.hip_y),
    ]
    body_axis = frame.turn([1.0, 0.0])
    hip_dense = split_dense(mid, body_axis, DP.UPPER_LEG_RIGHT_FRONT, DP.UPPER_LEG_LEFT_FRONT)
    canvas.add(
        [frame.upper(block)],
        L.PANTS,
        0,
        Tag.TORSO,
        with_dense(solid(color, lambda xs, ys: np.full(len(xs), 0.95, np.float32)), hip_dense),
    )
    for name, side in SIDES:
        leg = pose.legs[name]
        r_hip, r_knee, r_ankle = leg.radii
        tag = Tag.LEFT_LEG if side > 0 else Tag.RIGHT_LEG
        thigh_part = DP.UPPER_LEG_LEFT_FRONT if side > 0 else DP.UPPER_LEG_RIGHT_FRONT
        shin_part = DP.LOWER_LEG_LEFT_FRONT if side > 0 else DP.LOWER_LEG_RIGHT_FRONT
        outer = frame.upper([side * hip_out, b.hip_y])
        inner = frame.upper([-side * 0.004, b.hip_y])
        end = (
            b.lower_len
            if b.lower == "shorts"
            else 2.0 + 0.3 * r_ankle / max(float(np.hypot(*(leg.ankle - leg.knee))), 1e-6)
        )
        quads = _leg_tube(leg, outer, inner, (r_knee * 1.45, r_ankle * 1.9), end)
        shade = limb_shade(
            [
                (leg.hip, leg.knee, r_hip * 1.15, r_knee * 1.45),
                (leg.knee, leg.ankle, r_knee * 1.45, r_ankle * 1.9),
            ],
            0.25,
        )
        canvas.add(quads[:1], L.PANTS, thigh_part, tag, solid(color, shade))
        if len(quads) > 1:
            canvas.add(quads[1:], L.PANTS, shin_part, tag, solid(color, shade))


def _paint_arm(
    canvas: Canvas,
    g: GarmentParams,
    flat: FlatGarment,
    arm: Arm,
    skin,
    texel: float,
    wrist_gap_px: float,
) -> None:
    """Upper arm, forearm and hand (skin), then the sleeve over them."""
    side = arm.side
    label = L.LEFT_ARM if side > 0 else L.RIGHT_ARM
    tag = Tag.LEFT_ARM if side > 0 else Tag.RIGHT_ARM
    upper_part = DP.UPPER_ARM_LEFT_FRONT if side > 0 else DP.UPPER_ARM_RIGHT_FRONT
    lower_part = DP.LOWER_ARM_LEFT_FRONT if side > 0 else DP.LOWER_ARM_RIGHT_FRONT
    hand_part = DP.LEFT_HAND if side > 0 else DP.RIGHT_HAND
    r_sh, r_el, r_wr = arm.radii
    shade = limb_shade([(arm.shoulder, arm.elbow, r_sh, r_el), (arm.elbow, arm.wrist, r_el, r_wr)])
    canvas.add(
        [capsule(arm.shoulder, arm.elbow, r_sh, r_el)], label, upper_part, tag, solid(skin, shade)
    )
    canvas.add(
        [capsule(arm.elbow, arm.wrist, r_el, r_wr)], label, lower_part, tag, solid(skin, shade)
    )
    hand_shade = _radial_shade(arm.hand.mean(0), r_wr * 2.5, 0.25)
    canvas.add([arm.hand, arm.thumb], label, hand_part, tag, solid(skin * 0.97, hand_shade))
    name = "left" if side > 0 else "right"
    if name not in flat.sleeves:
        return
    mesh, caps = worn_sleeve(g, flat.sleeves[name], arm, wrist_gap_px)
    corners = mesh.body.reshape(-1, 2)
    polys = [corners[tri] for tri in mesh.triangles()]
    polys += [ellipse(c, r, r, 0, 24) for c, r in caps]
    upper_triangles = 2  # the first quad runs from the shoulder to the elbow (or sleeve end)

    def dense_of_triangle(tri):
        return np.where(tri < upper_triangles, upper_part, lower_part).astype(np.uint8)

    canvas.add(
        polys,
        L.UPPER_CLOTHES,
        upper_part,
        tag,
        _garment_shader(g, flat, mesh, texel, dense_of_triangle),
    )


def _paint_face_details(
    image: np.ndarray, owner: np.ndarray, face_id: int, pose: Pose, b: BodyParams
) -> None:
    """Eyes, brows, nose and mouth: colour only, inside the face's own pixels."""
    rx, ry = pose.head_r
    if rx < 6:  # below ~6 px a face is too small for features: they would read as a mask
        return
    detail = np.zeros(owner.shape, np.uint8)
    for side in (-1, 1):
        eye = head_points(pose, [(side * 0.38, -0.05)])[0]
        fill_polygon(
            detail, ellipse(eye, max(rx * 0.12, 0.6), max(ry * 0.055, 0.5), pose.head_deg, 12), 1
        )
        brow = head_points(
            pose,
            [(side * 0.22, -0.2), (side * 0.55, -0.22), (side * 0.55, -0.17), (side * 0.22, -0.15)],
        )
        fill_polygon(detail, brow, 2)
    fill_polygon(
        detail,
        head_points(pose, [(-0.06, 0.08), (0.0, 0.3), (0.06, 0.08), (0.1, 0.3), (-0.1, 0.3)]),
        3,
    )
    fill_polygon(
        detail, head_points(pose, [(-0.22, 0.52), (0.22, 0.52), (0.14, 0.6), (-0.14, 0.6)]), 4
    )
    skin = np.asarray(b.skin, np.float32)
    colors = {
        1: (30, 25, 25),
        2: np.asarray(b.hair, np.float32) * 0.8,
        3: skin * 0.8,
        4: skin * np.array([0.78, 0.55, 0.55]),
    }
    on_face = owner == face_id
    for key, color in colors.items():
        sel = (detail == key) & on_face
        image[sel] = np.asarray(color, np.float32)


def _soften_edges(image: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Blur colour (never labels) at layer boundaries: a cheap stand-in for antialiasing."""
    edge = np.zeros(owner.shape, bool)
    edge[:, 1:] |= owner[:, 1:] != owner[:, :-1]
    edge[:, :-1] |= owner[:, 1:] != owner[:, :-1]
    edge[1:] |= owner[1:] != owner[:-1]
    edge[:-1] |= owner[1:] != owner[:-1]
    blurred = cv2.blur(image, (3, 3), borderType=cv2.BORDER_REPLICATE)
    return np.where(edge[..., None], blurred, image)


def _keypoints(pose: Pose, tags: np.ndarray, height: int, width: int) -> np.ndarray:
    """BODY_25 keypoints with visibility from the owner map's body regions."""
    pts = np.zeros((25, 2))
    allowed: dict[int, tuple[int, ...]] = {}
    face = [(0.0, 0.2), (-0.38, -0.05), (0.38, -0.05), (-0.9, 0.02), (0.9, 0.02)]
    for key, local in zip((K.NOSE, K.R_EYE, K.L_EYE, K.R_EAR, K.L_EAR), face, strict=True):
        pts[key] = head_points(pose, [local])[0]
        allowed[key] = (Tag.HEAD,)
    pts[K.NECK], allowed[K.NECK] = pose.neck, (Tag.HEAD, Tag.TORSO)
    pts[K.MID_HIP] = pose.mid_hip
    allowed[K.MID_HIP] = (Tag.TORSO, Tag.LEFT_LEG, Tag.RIGHT_LEG)
    for name, side in SIDES:
        arm, leg = pose.arms[name], pose.legs[name]
        right = side < 0
        arm_tag = Tag.RIGHT_ARM if right else Tag.LEFT_ARM
        leg_tag = Tag.RIGHT_LEG if right else Tag.LEFT_LEG
        shoulder, elbow, wrist = (
            (K.R_SHOULDER, K.R_ELBOW, K.R_WRIST) if right else (K.L_SHOULDER, K.L_ELBOW, K.L_WRIST)
        )
        hip, knee, ankle = (
            (K.R_HIP, K.R_KNEE, K.R_ANKLE) if right else (K.L_HIP, K.L_KNEE, K.L_ANKLE)
        )
        feet = (
            (K.R_BIG_TOE, K.R_SMALL_TOE, K.R_HEEL)
            if right
            else (K.L_BIG_TOE, K.L_SMALL_TOE, K.L_HEEL)
        )
        pts[shoulder], allowed[shoulder] = arm.shoulder, (Tag.TORSO, arm_tag)
        pts[elbow], allowed[elbow] = arm.elbow, (arm_tag,)
        pts[wrist], allowed[wrist] = arm.wrist, (arm_tag,)
        pts[hip], allowed[hip] = leg.hip, (Tag.TORSO, leg_tag)
        for key, xy in ((knee, leg.knee), (ankle, leg.ankle), *zip(feet, leg.toes, strict=True)):
            pts[key], allowed[key] = xy, (Tag.TORSO, leg_tag)
    out = np.zeros((25, 3), np.float32)
    for index in range(25):
        x, y = pts[index]
        col, row = round(float(x)), round(float(y))
        inside = 0 <= x <= width - 1 and 0 <= y <= height - 1
        if inside and tags[row, col] in allowed[index]:
            out[index] = (x, y, 1.0)
    return out


def render_person(p: SampleParams, height: int, width: int, noise_rng: np.random.Generator):
    """Person (H, W, 3) uint8, parse (H, W) uint8, densepose (H, W) uint8, pose (25, 3)."""
    pose = posed_body(p.body, height, width)
    flat = flat_garment(p.garment)
    canvas = Canvas(height, width)
    wrist_gap_px = 1.5 + 0.01 * pose.frame.scale
    face_id = _paint_person(canvas, p, pose, flat, wrist_gap_px)
    background = _background(p.scene, height, width)
    image, parse, dense, tags = canvas.compose(background, p.scene.light)
    _paint_face_details(image, canvas.owner, face_id, pose, p.body)
    image = _soften_edges(image, canvas.owner)
    if p.scene.noise_sigma > 0:
        image = image + noise_rng.standard_normal(image.shape, np.float32) * p.scene.noise_sigma
    person = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return person, parse, dense, _keypoints(pose, tags, height, width)
