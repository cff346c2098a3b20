"""Drawing a sample's parameters from its own generator, in a fixed order, and the provenance
it records about them."""

from __future__ import annotations

import colorsys
import math
from dataclasses import asdict

import numpy as np

from vton.sources.sample.draw import angle_of
from vton.sources.sample.options import (
    ARM_POSES,
    BACKGROUNDS,
    CLOTH_MAX_LEVEL,
    HAIR_COLORS,
    HAIR_STYLES,
    HAIR_WEIGHTS,
    LOGO_SHAPES,
    LOWER_COLORS,
    LOWER_GARMENTS,
    NECKLINES,
    SHOE_COLORS,
    SIDES,
    SKIN_TONES,
    SLEEVES,
    TEXTURES,
)
from vton.sources.sample.params import (
    ArmParams,
    BodyParams,
    GarmentParams,
    SampleParams,
    SceneParams,
)


def sample_params(rng: np.random.Generator) -> SampleParams:
    """Draw every size-free parameter of one sample from `rng`, in a fixed order."""
    body = _sample_body(rng)
    garment = _sample_garment(rng, body)
    scene = _sample_scene(rng)
    return SampleParams(body, garment, scene)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _pick(rng: np.random.Generator, options, weights=None):
    if weights is None:
        return options[int(rng.integers(len(options)))]
    p = np.asarray(weights, float)
    return options[int(rng.choice(len(options), p=p / p.sum()))]


def _rgb(values) -> tuple[int, int, int]:
    r, g, b = (int(np.clip(round(float(v)), 0, 255)) for v in values)
    return r, g, b


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    return _rgb(255 * np.array(colorsys.hsv_to_rgb(h % 1.0, s, v)))


def _jitter(rng: np.random.Generator, rgb, amount: float) -> tuple[int, int, int]:
    return _rgb(np.array(rgb, float) * (1 + rng.uniform(-amount, amount, 3)))


def _sample_body(rng: np.random.Generator) -> BodyParams:
    full_body = rng.random() < 0.25
    scale = _u(rng, 0.64, 0.8) if full_body else _u(rng, 0.86, 1.04)
    head_rx = _u(rng, 0.068, 0.082)
    shoulder_half = _u(rng, 0.145, 0.185)
    arm_r0 = _u(rng, 0.036, 0.046)
    arm_r = (arm_r0, arm_r0 * _u(rng, 0.72, 0.8), arm_r0 * _u(rng, 0.55, 0.62))
    hip_half = shoulder_half * _u(rng, 0.7, 0.88)
    leg_r = (hip_half * _u(rng, 0.5, 0.58), _u(rng, 0.043, 0.05), _u(rng, 0.027, 0.032))
    dims = {
        "head_rx": head_rx,
        "head_ry": head_rx * _u(rng, 1.22, 1.36),
        "neck_half": head_rx * _u(rng, 0.44, 0.54),
        "neck_len": _u(rng, 0.03, 0.048),
        "shoulder_half": shoulder_half,
        "shoulder_drop": _u(rng, 0.018, 0.034),
        "waist_y": _u(rng, 0.21, 0.25),
        "waist_half": shoulder_half * _u(rng, 0.6, 0.75),
        "hip_y": _u(rng, 0.38, 0.43),
        "hip_half": hip_half,
        "upper_arm": _u(rng, 0.165, 0.19),
        "forearm": _u(rng, 0.145, 0.165),
        "hand_len": _u(rng, 0.065, 0.08),
        "thigh": _u(rng, 0.24, 0.27),
        "shin": _u(rng, 0.23, 0.26),
    }
    arms = {name: _sample_arm(rng, side, dims, arm_r) for name, side in SIDES}
    legs = {}
    for name, _side in SIDES:
        thigh_deg = _u(rng, -1.0, 7.0)
        legs[name] = (thigh_deg, thigh_deg + _u(rng, -5.0, 3.0))
    skin_tone = int(rng.integers(len(SKIN_TONES)))
    hair_style = _pick(rng, HAIR_STYLES, (0.3, 0.25, 0.3, 0.15))
    lower = _pick(rng, LOWER_GARMENTS, (0.55, 0.15, 0.3))
    if lower == "skirt":
        lower_rgb = _pick(rng, [*LOWER_COLORS, None], [1] * len(LOWER_COLORS) + [4])
        lower_rgb = lower_rgb or _hsv(rng.random(), _u(rng, 0.2, 0.7), _u(rng, 0.25, 0.85))
    else:
        lower_rgb = _pick(rng, LOWER_COLORS)
    lower_len = {"pants": 1.0, "shorts": _u(rng, 0.3, 0.6), "skirt": _u(rng, 0.12, 0.32)}[lower]
    # The arm reaching across the body is painted last so it lies in front.
    crossing = [n for n, _ in SIDES if arms[n].kind in ("cross", "chest")]
    arm_order = ("right", "left") if rng.random() < 0.5 else ("left", "right")
    if len(crossing) == 1:
        other = next(n for n, _ in SIDES if n != crossing[0])
        arm_order = (other, crossing[0])
    return BodyParams(
        scale=scale,
        center_x=0.5 + _u(rng, -0.04, 0.04),
        top_margin=_u(rng, 0.025, 0.075),
        lean_deg=float(np.clip(rng.normal(0, 2.0), -5, 5)),
        head_tilt_deg=float(np.clip(rng.normal(0, 3.0), -7, 7)),
        arm_r=arm_r,
        leg_r=leg_r,
        arms=arms,
        legs_deg=legs,
        skin_tone=skin_tone,
        skin=_jitter(rng, SKIN_TONES[skin_tone], 0.04),
        hair_style=hair_style,
        hair=_jitter(rng, _pick(rng, HAIR_COLORS, HAIR_WEIGHTS), 0.08),
        hairline=_u(rng, 0.22, 0.55),
        hair_part=_u(rng, -0.25, 0.25),
        hair_len=_u(rng, 0.02, 0.14),
        lower=lower,
        lower_rgb=_jitter(rng, lower_rgb, 0.05),
        lower_len=lower_len,
        rise=_u(rng, 0.02, 0.07),
        shoe_rgb=_jitter(rng, _pick(rng, SHOE_COLORS), 0.05),
        arm_order=arm_order,
        **dims,
    )


def _sample_arm(rng: np.random.Generator, side: int, dims: dict, arm_r) -> ArmParams:
    kind = _pick(rng, ARM_POSES, (0.38, 0.14, 0.16, 0.12, 0.1, 0.1))
    hand_deg = _u(rng, -20, 20)
    if kind == "down":
        upper = _u(rng, 4, 18)
        return ArmParams(kind, upper, upper + _u(rng, -6, 10), hand_deg)
    if kind == "out":
        upper = _u(rng, 25, 50)
        return ArmParams(kind, upper, upper + _u(rng, -15, 15), hand_deg)
    if kind == "raised":
        upper = _u(rng, 100, 160)
        return ArmParams(kind, upper, upper + _u(rng, 0, 70), hand_deg)
    # The rest place the wrist on the body and solve for the elbow.
    if kind == "hip":
        target = (side * (dims["hip_half"] * _u(rng, 0.95, 1.1)), _u(rng, 0.25, 0.33))
    elif kind == "cross":
        target = (-side * _u(rng, 0.02, 0.09), _u(rng, 0.2, 0.3))
    else:  # chest
        target = (side * _u(rng, -0.03, 0.06), _u(rng, 0.08, 0.16))
    shoulder = np.array([side * dims["shoulder_half"], dims["shoulder_drop"]])
    upper, fore = _two_link(shoulder, np.array(target), dims["upper_arm"], dims["forearm"], side)
    return ArmParams(kind, upper, fore, hand_deg * 0.5)


def _two_link(shoulder, target, l1: float, l2: float, side: int) -> tuple[float, float]:
    """Arm angles that put the wrist on `target`, the elbow bent away from the body."""
    to = target - shoulder
    dist = float(np.clip(np.hypot(*to), abs(l1 - l2) + 1e-3, l1 + l2 - 1e-3))
    to_unit = to / max(np.hypot(*to), 1e-9)
    cos_a = (l1 * l1 + dist * dist - l2 * l2) / (2 * l1 * dist)
    a = math.acos(float(np.clip(cos_a, -1, 1)))
    best: tuple[np.ndarray, np.ndarray] | None = None
    for sign in (1, -1):
        c, s_ = math.cos(sign * a), math.sin(sign * a)
        d = np.array([c * to_unit[0] - s_ * to_unit[1], s_ * to_unit[0] + c * to_unit[1]])
        elbow = shoulder + l1 * d
        if best is None or side * elbow[0] > side * best[0][0]:
            best = (elbow, d)
    assert best is not None  # the loop ran
    elbow, d_up = best
    wrist = shoulder + to_unit * dist
    return angle_of(d_up, side), angle_of(wrist - elbow, side)


def _garment_color(rng: np.random.Generator) -> tuple[int, int, int]:
    if rng.random() < 0.3:
        rgb = _pick(
            rng,
            ((232, 232, 230), (30, 30, 34), (128, 128, 130), (34, 42, 78), (200, 190, 170)),
        )
        rgb = _jitter(rng, rgb, 0.03)
    else:
        rgb = _hsv(rng.random(), _u(rng, 0.25, 0.85), _u(rng, 0.3, 0.92))
    return _cap_level(rgb)


def _cap_level(rgb) -> tuple[int, int, int]:
    top = max(rgb)
    if top <= CLOTH_MAX_LEVEL:
        return _rgb(rgb)
    return _rgb(np.array(rgb, float) * CLOTH_MAX_LEVEL / top)


def _contrast_color(rng: np.random.Generator, base) -> tuple[int, int, int]:
    """A second colour that stands out from `base` in brightness or hue."""
    h, s, v = colorsys.rgb_to_hsv(*(np.array(base) / 255))
    roll = rng.random()
    if roll < 0.35:
        rgb = (230, 230, 228) if v < 0.6 else (28, 28, 32)
    elif roll < 0.7:
        rgb = _hsv(h + _u(rng, 0.25, 0.75), _u(rng, 0.35, 0.9), _u(rng, 0.35, 0.9))
    else:
        v2 = v - 0.45 if v > 0.55 else v + 0.45
        rgb = _hsv(h + _u(rng, -0.08, 0.08), min(1.0, s + _u(rng, -0.2, 0.2)), v2)
    return _cap_level(rgb)


def _sample_garment(rng: np.random.Generator, body: BodyParams) -> GarmentParams:
    sleeve = _pick(rng, SLEEVES, (0.2, 0.5, 0.3))
    neckline = _pick(rng, NECKLINES, (0.5, 0.3, 0.2))
    depth_range = {"crew": (0.03, 0.05), "scoop": (0.06, 0.1), "v": (0.09, 0.15)}[neckline]
    arm_r = body.arm_r[0]
    armpit_half = (body.shoulder_half - 0.9 * arm_r) * _u(rng, 1.08, 1.25)
    hem_offset = _u(rng, -0.05, 0.05)
    if sleeve == "short":
        flat_deg, flat_len = _u(rng, 35, 55), _u(rng, 0.06, 0.095)
        body_frac, ease = _u(rng, 0.35, 0.65), _u(rng, 1.2, 1.45)
    elif sleeve == "long":
        body_frac, ease = _u(rng, 0.84, 0.92), _u(rng, 1.15, 1.35)
        flat_deg = _u(rng, 12, 22)
        flat_len = (body.upper_arm + body.forearm * body_frac) * _u(rng, 0.95, 1.05)
    else:
        flat_deg, flat_len, body_frac, ease = 0.0, 0.0, 0.0, 1.0
    texture = _pick(rng, TEXTURES)
    base = _garment_color(rng)
    secondary = _contrast_color(rng, base)
    tertiary = _contrast_color(rng, base) if rng.random() < 0.3 else secondary
    period_range = {"stripes": (0.018, 0.06), "checks": (0.025, 0.07)}.get(texture, (0.03, 0.07))
    if texture == "stripes":
        angle = _pick(rng, (0.0, 90.0, 45.0, -45.0), (0.6, 0.25, 0.075, 0.075))
    elif texture == "checks":
        angle = _pick(rng, (0.0, 45.0), (0.8, 0.2))
    else:
        angle = _u(rng, -20, 20) if texture == "dots" else 0.0
    duty_range = {"stripes": (0.25, 0.6), "checks": (0.3, 0.5)}.get(texture, (0.18, 0.34))
    return GarmentParams(
        sleeve=sleeve,
        neckline=neckline,
        neck_half=body.neck_half * _u(rng, 1.35, 1.7),
        neck_depth=_u(rng, *depth_range),
        back_depth=_u(rng, 0.008, 0.018),
        shoulder_half=body.shoulder_half * (_u(rng, 0.98, 1.08) if sleeve != "none" else 0.92),
        shoulder_slope=_u(rng, 0.02, 0.035),
        armpit_y=_u(rng, 0.13, 0.16),
        armpit_half=armpit_half,
        waist_half=armpit_half * _u(rng, 0.9, 1.0),
        hem_half=armpit_half * _u(rng, 0.96, 1.1),
        length=(body.hip_y + hem_offset + 0.035) * _u(rng, 1.0, 1.05),
        sleeve_len=flat_len,
        sleeve_flat_deg=flat_deg,
        sleeve_body_frac=body_frac,
        sleeve_elbow=body.upper_arm / (body.upper_arm + body.forearm * max(body_frac, 0.1)),
        sleeve_ease=ease,
        ease=(_u(rng, 1.0, 1.06), _u(rng, 1.05, 1.2), _u(rng, 1.07, 1.18)),
        hem_offset=hem_offset,
        hem_curve=_u(rng, -0.004, 0.012),
        texture=texture,
        base=base,
        secondary=secondary,
        tertiary=tertiary,
        period=_u(rng, *period_range),
        duty=_u(rng, *duty_range),
        angle_deg=angle,
        phase=(float(rng.random()), float(rng.random())),
        stagger=bool(rng.random() < 0.5),
        motif=_pick(rng, ("polka", "flower"), (0.65, 0.35)),
        logo=_sample_logo(rng),
        trim=_u(rng, 0.68, 0.9),
        trim_width=_u(rng, 0.007, 0.014),
    )


def _sample_logo(rng: np.random.Generator) -> dict:
    small = rng.random() < 0.2  # a small chest logo on the person's left
    logo = {
        "shape": _pick(rng, LOGO_SHAPES),
        "radius": _u(rng, 0.018, 0.028) if small else _u(rng, 0.04, 0.075),
        "x": 0.075 if small else _u(rng, -0.02, 0.02),
        "y": _u(rng, 0.1, 0.13) if small else _u(rng, 0.12, 0.17),
        "rotation": _u(rng, -15, 15),
        "blocks": [],
    }
    if logo["shape"] == "text":  # rows of letter-like blocks
        rows = int(rng.integers(1, 3))
        for row in range(rows):
            n = int(rng.integers(3, 7))
            widths = rng.uniform(0.5, 1.0, n)
            x = -0.5 * (widths.sum() + 0.3 * (n - 1))
            for wdt in widths:
                logo["blocks"].append(
                    [x + wdt / 2, (row - (rows - 1) / 2) * 1.6, wdt / 2, _u(rng, 0.45, 0.6)]
                )
                x += wdt + 0.3
    return logo


def _sample_scene(rng: np.random.Generator) -> SceneParams:
    kind = _pick(rng, BACKGROUNDS, (0.4, 0.3, 0.15, 0.15))
    hue = rng.random()
    first = _hsv(hue, _u(rng, 0.0, 0.12), _u(rng, 0.82, 0.98))
    second = _hsv(hue + _u(rng, -0.1, 0.1), _u(rng, 0.0, 0.15), _u(rng, 0.75, 0.95))
    level = int(rng.integers(242, 256))
    return SceneParams(
        background=kind,
        bg_colors=(first, second),
        bg_amount=_u(rng, 0.3, 0.85),
        noise_sigma=_u(rng, 0.0, 2.5),
        light=_u(rng, -0.08, 0.08),
        cloth_bg=(level, level, max(240, level - int(rng.integers(0, 4)))),
        cloth_fill=_u(rng, 0.62, 0.8),
    )


def sample_provenance(p: SampleParams, seed: int, index: int) -> dict:
    b, g, s = p.body, p.garment, p.scene

    def r(x):
        return round(float(x), 4)

    return {
        "generator": "vton.sources.sample",
        "seed": seed,
        "index": index,
        "texture": g.texture,
        "texture_params": {
            "period": r(g.period),
            "duty": r(g.duty),
            "angle_deg": r(g.angle_deg),
            "phase": [r(v) for v in g.phase],
            "motif": g.motif if g.texture == "dots" else None,
            "logo": g.logo["shape"] if g.texture == "logo" else None,
        },
        "garment": {
            "sleeve": g.sleeve,
            "neckline": g.neckline,
            "colors": [list(g.base), list(g.secondary), list(g.tertiary)],
        },
        "skin_tone": b.skin_tone,
        "skin_rgb": list(b.skin),
        "hair": {"style": b.hair_style, "rgb": list(b.hair)},
        "pose": {
            "arms": {
                name: {k: (v if isinstance(v, str) else r(v)) for k, v in asdict(a).items()}
                for name, a in b.arms.items()
            },
            "legs_deg": {name: [r(v) for v in legs] for name, legs in b.legs_deg.items()},
            "lean_deg": r(b.lean_deg),
            "head_tilt_deg": r(b.head_tilt_deg),
        },
        "body": {
            "scale": r(b.scale),
            "shoulder_half": r(b.shoulder_half),
            "waist_half": r(b.waist_half),
            "hip_half": r(b.hip_half),
        },
        "lower": {"kind": b.lower, "rgb": list(b.lower_rgb)},
        "background": {"kind": s.background, "colors": [list(c) for c in s.bg_colors]},
    }
