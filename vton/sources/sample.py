"""The embedded synthetic dataset: seeded stylised people in textured tops, with exact labels.

Sample `index` of stream `seed` is drawn from its own generator,
`np.random.default_rng([seed, index])`, so it does not depend on the samples before it,
and its parameters are drawn in size-free body units, so one index gives the same person at
every image size.

How the pixels and the annotations stay the same thing:

- The person is painted as ordered layers (background, hair, legs, lower garment, neck,
  top, head, arms with sleeves) into one owner map. `parse`, `densepose` and the keypoint
  visibility are read from that map, and each layer computes its colours only at the pixels
  it owns, so a pixel's label is always what is drawn there.
- The top exists once, flat, as panels (a torso panel and sleeves) in garment units with one
  texture field. The cloth image is that texture inside the panel outlines. The worn top
  samples the same texture through a piecewise-affine map from body panels to flat panels
  (the torso's sides foreshortened, the sleeves bent along the arms), then shaded.

Coordinates are pixels with integer centres (OpenPose's convention). "Left" is the person's
left, at larger x in these frontal images; `side` is +1 for the left and -1 for the right.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from vton.formats.densepose import DensePosePart as DP
from vton.formats.labels import VitonLabel as L
from vton.formats.openpose import Body25 as K
from vton.records import Sample

SOURCE = "sample"
TEXTURES = ("solid", "stripes", "checks", "dots", "logo")
SLEEVES = ("none", "short", "long")
NECKLINES = ("crew", "v", "scoop")
ARM_POSES = ("down", "out", "hip", "cross", "chest", "raised")
HAIR_STYLES = ("short", "bob", "long", "bun")
LOWER_GARMENTS = ("pants", "shorts", "skirt")
BACKGROUNDS = ("plain", "gradient", "vignette", "floor")
LOGO_SHAPES = ("circle", "ring", "star", "triangle", "diamond", "text")
MIN_HEIGHT, MIN_WIDTH = 32, 24
NECK_TOP_Y = -0.03  # the top's neck points, body units above the OpenPose neck point
NECK_FIT = 0.92  # worn neck opening over the flat one

SIDES = (("right", -1), ("left", 1))  # the person's sides; the right one is at image left

# Light to dark, roughly the Fitzpatrick range; each sample jitters its tone a little.
SKIN_TONES = (
    (250, 224, 203),
    (241, 200, 170),
    (228, 184, 150),
    (214, 163, 125),
    (196, 140, 100),
    (170, 115, 80),
    (141, 92, 62),
    (112, 72, 48),
    (86, 55, 38),
    (62, 42, 30),
)
HAIR_COLORS = (
    (24, 20, 20),
    (52, 36, 28),
    (92, 60, 38),
    (125, 58, 32),
    (196, 158, 98),
    (226, 210, 165),
    (150, 148, 145),
    (140, 40, 60),
)
HAIR_WEIGHTS = (0.28, 0.22, 0.16, 0.08, 0.1, 0.05, 0.07, 0.04)
LOWER_COLORS = (
    (50, 70, 110),
    (72, 96, 140),
    (122, 146, 180),
    (30, 30, 35),
    (180, 160, 120),
    (120, 120, 125),
    (225, 225, 218),
    (90, 95, 60),
    (100, 70, 50),
    (35, 40, 70),
)
SHOE_COLORS = ((235, 235, 235), (25, 25, 28), (95, 60, 40), (160, 40, 40), (60, 80, 120))
CLOTH_MAX_LEVEL = 235  # garment colours stay below the cloth background (>= 240)


# --- parameters ---------------------------------------------------------------------------


@dataclass
class ArmParams:
    """One arm; angles in degrees from straight down, positive away from the body."""

    kind: str
    upper_deg: float
    fore_deg: float
    hand_deg: float


@dataclass
class BodyParams:
    """The person, in body units (1.0 = the image height at scale 1) and degrees."""

    scale: float
    center_x: float  # neck x as a fraction of the width
    top_margin: float  # top of the hair as a fraction of the height
    lean_deg: float
    head_tilt_deg: float
    head_rx: float
    head_ry: float
    neck_half: float
    neck_len: float
    shoulder_half: float
    shoulder_drop: float
    waist_y: float
    waist_half: float
    hip_y: float
    hip_half: float
    upper_arm: float
    forearm: float
    hand_len: float
    arm_r: tuple[float, float, float]  # radius at shoulder, elbow, wrist
    thigh: float
    shin: float
    leg_r: tuple[float, float, float]  # radius at hip, knee, ankle
    arms: dict[str, ArmParams]
    legs_deg: dict[str, tuple[float, float]]  # thigh and shin angle per side
    skin_tone: int
    skin: tuple[int, int, int]
    hair_style: str
    hair: tuple[int, int, int]
    hairline: float
    hair_part: float
    hair_len: float
    lower: str
    lower_rgb: tuple[int, int, int]
    lower_len: float
    rise: float
    shoe_rgb: tuple[int, int, int]
    arm_order: tuple[str, str]  # painting order, the later arm in front


@dataclass
class GarmentParams:
    """The top: flat-lay shape (garment units = body units), fit on the body, texture."""

    sleeve: str
    neckline: str
    neck_half: float
    neck_depth: float
    back_depth: float
    shoulder_half: float
    shoulder_slope: float
    armpit_y: float
    armpit_half: float
    waist_half: float
    hem_half: float
    length: float
    sleeve_len: float  # flat, along the sleeve
    sleeve_flat_deg: float  # flat sleeve direction from straight down
    sleeve_body_frac: float  # worn sleeve end: of the upper arm (short) or forearm (long)
    sleeve_elbow: float  # where the elbow falls along a flat long sleeve, as a fraction
    sleeve_ease: float
    ease: tuple[float, float, float]  # worn width over body width at armpit, waist, hem
    hem_offset: float  # worn hem below the hip line
    hem_curve: float
    texture: str
    base: tuple[int, int, int]
    secondary: tuple[int, int, int]
    tertiary: tuple[int, int, int]
    period: float
    duty: float
    angle_deg: float
    phase: tuple[float, float]
    stagger: bool
    motif: str
    logo: dict = field(default_factory=dict)
    trim: float = 0.8
    trim_width: float = 0.01


@dataclass
class SceneParams:
    """Photo background, image noise, and the cloth image's layout."""

    background: str
    bg_colors: tuple[tuple[int, int, int], tuple[int, int, int]]
    bg_amount: float
    noise_sigma: float
    light: float  # left-right light gradient on the person
    cloth_bg: tuple[int, int, int]
    cloth_fill: float  # garment height as a fraction of the cloth image height


@dataclass
class SampleParams:
    body: BodyParams
    garment: GarmentParams
    scene: SceneParams


# --- public API ---------------------------------------------------------------------------


def _check_size(height: int, width: int) -> None:
    """Raise ValueError unless height x width is 4:3 (within 1 px) and at least 32 x 24."""
    if height < MIN_HEIGHT or width < MIN_WIDTH:
        raise ValueError(
            f"sample images must be at least {MIN_HEIGHT}x{MIN_WIDTH} (height x width), "
            f"got {height}x{width}; ask for a larger size such as 256x192"
        )
    if abs(width - height * 3 / 4) > 1:
        raise ValueError(
            f"sample images have the VITON-HD 4:3 aspect (height:width), got {height}x{width}; "
            f"for height {height} use width {round(height * 3 / 4)}"
        )


def generate_sample(
    index: int, height: int = 256, width: int = 192, seed: int = 0, split: str = "train"
) -> Sample:
    """Sample number `index` of the stream `seed`; the same arguments give identical arrays.

    person, cloth: (H, W, 3) uint8 RGB; cloth_mask: (H, W) bool; parse: (H, W) uint8
    VITON-HD ids; pose: (25, 3) float32 BODY_25 pixels with confidence 1.0, or (0, 0, 0)
    where a point is outside the image or hidden; densepose: (H, W) uint8 part ids 0..24.
    """
    _check_size(height, width)
    if index < 0 or seed < 0:
        raise ValueError(f"index and seed must be >= 0, got index={index}, seed={seed}")
    params = _sample_params(np.random.default_rng([seed, index]))
    noise_rng = np.random.default_rng([seed, index, 1])  # size-dependent draws go here
    person, parse, dense, pose = _render_person(params, height, width, noise_rng)
    cloth, cloth_mask = _render_cloth(params.garment, params.scene, height, width)
    return Sample(
        id=f"{index:06d}_00",
        split=split,
        person=person,
        cloth=cloth,
        cloth_mask=cloth_mask,
        parse=parse,
        pose=pose,
        densepose=dense,
        source=SOURCE,
        origin=f"sample://seed={seed}/index={index}",
        provenance=_provenance(params, seed, index),
    )


def generate(
    count: int,
    height: int = 256,
    width: int = 192,
    seed: int = 0,
    split: str = "train",
    start: int = 0,
) -> Iterator[Sample]:
    """Samples start..start+count-1 of the stream `seed` (see `generate_sample`).

    The size is checked here, before the first sample is drawn.
    """
    _check_size(height, width)
    return (generate_sample(i, height, width, seed, split) for i in range(start, start + count))


# --- sampling -----------------------------------------------------------------------------


def _sample_params(rng: np.random.Generator) -> SampleParams:
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
    return tuple(int(np.clip(round(float(v)), 0, 255)) for v in values)


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
        arm_order = (*(n for n, _ in SIDES if n != crossing[0]), crossing[0])
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


def _direction(deg: float, side: int) -> np.ndarray:
    """Unit vector `deg` from straight down, turned away from the body on `side`."""
    rad = math.radians(deg)
    return np.array([side * math.sin(rad), math.cos(rad)])


def _angle_of(vec: np.ndarray, side: int) -> float:
    return math.degrees(math.atan2(side * vec[0], vec[1]))


def _two_link(shoulder, target, l1: float, l2: float, side: int) -> tuple[float, float]:
    """Arm angles that put the wrist on `target`, the elbow bent away from the body."""
    to = target - shoulder
    dist = float(np.clip(np.hypot(*to), abs(l1 - l2) + 1e-3, l1 + l2 - 1e-3))
    to_unit = to / max(np.hypot(*to), 1e-9)
    cos_a = (l1 * l1 + dist * dist - l2 * l2) / (2 * l1 * dist)
    a = math.acos(float(np.clip(cos_a, -1, 1)))
    best = None
    for sign in (1, -1):
        c, s_ = math.cos(sign * a), math.sin(sign * a)
        d = np.array([c * to_unit[0] - s_ * to_unit[1], s_ * to_unit[0] + c * to_unit[1]])
        elbow = shoulder + l1 * d
        if best is None or side * elbow[0] > side * best[0][0]:
            best = (elbow, d)
    elbow, d_up = best
    wrist = shoulder + to_unit * dist
    return _angle_of(d_up, side), _angle_of(wrist - elbow, side)


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


def _provenance(p: SampleParams, seed: int, index: int) -> dict:
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


# --- drawing helpers ----------------------------------------------------------------------


def _fill(target: np.ndarray, polygon, value: int) -> None:
    """Fill a polygon (P, 2) in pixel coordinates, 1/16 px precision, no antialiasing."""
    pts = np.round(np.asarray(polygon, np.float64) * 16).astype(np.int32)
    cv2.fillPoly(target, [pts], int(value), lineType=cv2.LINE_8, shift=4)


def _ellipse(center, rx: float, ry: float, deg: float = 0.0, n: int = 40) -> np.ndarray:
    """(n, 2) points around an ellipse with semi-axes rx, ry turned by `deg`."""
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    pts = np.stack([rx * np.cos(t), ry * np.sin(t)], 1)
    return np.asarray(center, float) + pts @ _rot(deg).T


def _rot(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s], [s, c]])


def _perp(d: np.ndarray) -> np.ndarray:
    """`d` turned a quarter: (0, 1) (down) gives (1, 0) (image right)."""
    return np.array([d[1], -d[0]])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.hypot(*v)), 1e-9)


def _capsule(a, b, ra: float, rb: float, n: int = 10) -> np.ndarray:
    """The outline of a tapered capsule from a (radius ra) to b (radius rb)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = _unit(b - a)
    base = math.atan2(d[1], d[0])
    t = np.linspace(-math.pi / 2, math.pi / 2, n)
    end_b = b + rb * np.stack([np.cos(base + t), np.sin(base + t)], 1)
    end_a = a + ra * np.stack([np.cos(base + math.pi + t), np.sin(base + math.pi + t)], 1)
    return np.concatenate([end_b, end_a])


def _capsule_across(a, b, ra: float, rb: float, xs, ys) -> np.ndarray:
    """Distance of pixels from the a-b axis over the local radius, in [0, 1]."""
    ab = np.asarray(b, np.float32) - np.asarray(a, np.float32)
    px, py = xs - np.float32(a[0]), ys - np.float32(a[1])
    t = np.clip((px * ab[0] + py * ab[1]) / max(float(ab @ ab), 1e-9), 0, 1)
    dx, dy = px - t * ab[0], py - t * ab[1]
    radius = ra + t * (rb - ra)
    return np.clip(np.sqrt(dx * dx + dy * dy) / np.maximum(radius, 1e-6), 0, 1)


Shader = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray | None]]


def _solid(rgb, shade: Callable | None = None) -> Shader:
    """A shader painting `rgb`, times `shade(xs, ys)` when given."""
    color = np.asarray(rgb, np.float32)

    def run(xs, ys):
        if shade is None:
            return np.broadcast_to(color, (len(xs), 3)), None
        return color[None] * shade(xs, ys)[:, None], None

    return run


def _limb_shade(segments, strength: float = 0.3) -> Callable:
    """Cylinder shading around a chain of tapered segments [(a, b, ra, rb), ...]."""

    def shade(xs, ys):
        across = np.min([_capsule_across(*seg, xs, ys) for seg in segments], axis=0)
        return 1 - strength * across**2

    return shade


def _split_dense(center, axis, right_part: int, left_part: int) -> Callable:
    """Part ids by side of the line through `center` across `axis` (which points to the
    person's left, image right)."""
    cx, cy, nx, ny = float(center[0]), float(center[1]), float(axis[0]), float(axis[1])

    def dense(xs, ys):
        left = (xs - cx) * nx + (ys - cy) * ny >= 0
        return np.where(left, left_part, right_part).astype(np.uint8)

    return dense


def _with_dense(shader: Shader, dense: Callable) -> Shader:
    def run(xs, ys):
        return shader(xs, ys)[0], dense(xs, ys)

    return run


# --- the owner map --------------------------------------------------------------------------


class _Tag:
    """Body regions, for deciding whether a keypoint is seen or hidden."""

    NONE, HEAD, TORSO, RIGHT_ARM, LEFT_ARM, RIGHT_LEG, LEFT_LEG, HAIR = range(8)


@dataclass
class _Layer:
    label: int
    dense: int
    tag: int
    shade: Shader


class _Canvas:
    """Layers painted in order into an owner map (the later layer owns a pixel)."""

    def __init__(self, height: int, width: int):
        self.height, self.width = height, width
        self.owner = np.zeros((height, width), np.uint8)
        self.layers: list[_Layer] = []

    def add(self, polygons, label: int, dense: int, tag: int, shade: Shader) -> int:
        self.layers.append(_Layer(int(label), int(dense), tag, shade))
        layer_id = len(self.layers)
        for poly in polygons:
            _fill(self.owner, poly, layer_id)
        return layer_id

    def compose(self, background: np.ndarray, light: float):
        """Colour every layer at its pixels: (H, W, 3) float32 image, parse, dense, tags."""
        n = len(self.layers) + 1
        labels = np.array([0] + [lay.label for lay in self.layers], np.uint8)
        denses = np.array([0] + [lay.dense for lay in self.layers], np.uint8)
        tags = np.array([_Tag.NONE] + [lay.tag for lay in self.layers], np.uint8)
        parse, dense, tag = labels[self.owner], denses[self.owner], tags[self.owner]
        image = background.reshape(-1, 3).copy()
        flat_owner = self.owner.reshape(-1)
        order = np.argsort(flat_owner, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(flat_owner, minlength=n))])
        dense_flat = dense.reshape(-1)
        for layer_id in range(1, n):
            idx = order[bounds[layer_id] : bounds[layer_id + 1]]
            if idx.size == 0:
                continue
            ys, xs = np.divmod(idx, self.width)
            xs, ys = xs.astype(np.float32), ys.astype(np.float32)
            rgb, parts = self.layers[layer_id - 1].shade(xs, ys)
            gain = 1 + light * (xs / self.width - 0.5) * 2
            image[idx] = rgb * gain[:, None]
            if parts is not None:
                dense_flat[idx] = parts
        return image.reshape(self.height, self.width, 3), parse, dense, tag


# --- piecewise-affine garment panels --------------------------------------------------------


@dataclass
class _Mesh:
    """A panel as a grid of matching points: flat (garment units) and body (pixels).

    flat, body: (R, C, 2); across: (R, C) position across the panel in [-1, 1], for shading.
    """

    flat: np.ndarray
    body: np.ndarray
    across: np.ndarray

    def triangles(self) -> np.ndarray:
        rows, cols = self.flat.shape[:2]
        tris = []
        for i in range(rows - 1):
            for j in range(cols - 1):
                a, b, c, d = (
                    i * cols + j,
                    i * cols + j + 1,
                    (i + 1) * cols + j,
                    (i + 1) * cols + j + 1,
                )
                tris += [(a, b, d), (a, d, c)]
        return np.array(tris)


def _barycentric_inverse(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """(T, 3, 3) matrices taking (x, y, 1) to the barycentric coordinates in each triangle."""
    out = np.zeros((len(tris), 3, 3))
    for t, tri in enumerate(tris):
        m = np.vstack([points[tri].T, np.ones(3)])
        if abs(np.linalg.det(m)) < 1e-9:
            out[t, :, 2] = -1e9  # degenerate: never the best triangle
        else:
            out[t] = np.linalg.inv(m)
    return out


def _best_triangle(inv: np.ndarray, xs, ys) -> np.ndarray:
    """For each point, the triangle it lies deepest inside (or nearest to, outside)."""
    lam = inv[:, :, 0, None] * xs + inv[:, :, 1, None] * ys + inv[:, :, 2, None]  # (T, 3, N)
    return np.argmax(lam.min(axis=1), axis=0)


def _map_points(mesh: _Mesh, pts) -> np.ndarray:
    """Carry flat-panel points (P, 2) to the body (pixels) through the mesh's triangles."""
    src, dst = mesh.flat.reshape(-1, 2), mesh.body.reshape(-1, 2)
    tris = mesh.triangles()
    inv = _barycentric_inverse(src, tris)
    pts = np.asarray(pts, float)
    t = _best_triangle(inv, pts[:, 0], pts[:, 1])
    lam = np.einsum("nij,nj->ni", inv[t], np.c_[pts, np.ones(len(pts))])
    return np.einsum("ni,nij->nj", lam, dst[tris[t]])


def _mesh_lookup(mesh: _Mesh, xs, ys):
    """Body pixels -> flat garment coordinates (N, 2), across (N,), triangle index (N,)."""
    body = mesh.body.reshape(-1, 2)
    tris = mesh.triangles()
    inv = _barycentric_inverse(body, tris).astype(np.float32)
    x0, y0 = int(xs.min()), int(ys.min())
    tri_map = np.full((int(ys.max()) - y0 + 1, int(xs.max()) - x0 + 1), -1, np.int16)
    for t, tri in enumerate(tris):
        pts = np.round((body[tri] - (x0, y0)) * 16).astype(np.int32)
        cv2.fillConvexPoly(tri_map, pts, t, lineType=cv2.LINE_8, shift=4)
    t = tri_map[ys.astype(np.int64) - y0, xs.astype(np.int64) - x0].astype(np.int64)
    missing = t < 0  # outline rounding and the round caps: extend the nearest triangle
    if missing.any():
        t[missing] = _best_triangle(inv, xs[missing], ys[missing])
    m = inv[t]
    lam = m[:, :, 0] * xs[:, None] + m[:, :, 1] * ys[:, None] + m[:, :, 2]
    corners = tris[t]
    flat = np.einsum("ni,nij->nj", lam, mesh.flat.reshape(-1, 2)[corners].astype(np.float32))
    across = np.einsum("ni,ni->n", lam, mesh.across.reshape(-1)[corners].astype(np.float32))
    return flat, np.clip(across, -1.2, 1.2), t


# --- the flat garment and its texture -------------------------------------------------------


@dataclass
class _FlatGarment:
    """The top laid flat, in garment units (origin at the neck's top centre, y down)."""

    torso: np.ndarray  # (4, 5, 2) grid: rows top, armpit, waist, hem; columns from low x
    sleeves: dict[str, np.ndarray]  # side name -> (R, 2, 2) grid, columns outer, inner
    front_neck: np.ndarray  # (P, 2) front neckline from the right neck point to the left
    back_neck: np.ndarray  # (P, 2) back neckline, same ends

    def outline(self, back: bool) -> np.ndarray:
        """The torso panel's outline, with the back (flat lay) or front (worn) neckline."""
        return _torso_outline(self.torso, self.back_neck if back else self.front_neck)


def _torso_outline(grid: np.ndarray, neck: np.ndarray) -> np.ndarray:
    rim = [grid[0, 1], grid[0, 0], grid[1, 0], grid[2, 0], *grid[3], grid[2, 4], grid[1, 4]]
    rim += [grid[0, 4], grid[0, 3]]
    return np.concatenate([np.array(rim), neck[::-1][1:-1]])


def _neckline(half: float, depth: float, kind: str, n: int = 15) -> np.ndarray:
    t = np.linspace(math.pi, 0, n)
    if kind == "v":
        x = half * np.cos(t)
        return np.stack([x, depth * (1 - np.abs(x) / half) ** 1.1], 1)
    return np.stack([half * np.cos(t), depth * np.sin(t)], 1)


def _flat_garment(g: GarmentParams) -> _FlatGarment:
    rows = []
    for y, half, inner in (
        (g.shoulder_slope, g.shoulder_half, g.neck_half),
        (g.armpit_y, g.armpit_half, None),
        (g.armpit_y + 0.4 * (g.length - g.armpit_y), g.waist_half, None),
        (g.length, g.hem_half, None),
    ):
        inner = 0.5 * half if inner is None else inner
        y_in = y if rows else 0.0  # the top row's inner points are the neck points
        rows.append([(-half, y), (-inner, y_in), (0, y_in), (inner, y_in), (half, y)])
    torso = np.array(rows, float)
    sleeves = {}
    if g.sleeve != "none":
        for name, side in SIDES:
            col = 4 if side > 0 else 0
            seam = np.array([torso[0, col], torso[1, col]])
            sleeves[name] = _flat_sleeve(seam, g, side)
    return _FlatGarment(
        torso=torso,
        sleeves=sleeves,
        front_neck=_neckline(g.neck_half, g.neck_depth, g.neckline),
        back_neck=_neckline(g.neck_half, g.back_depth, "crew"),
    )


def _flat_sleeve(seam: np.ndarray, g: GarmentParams, side: int) -> np.ndarray:
    """A flat sleeve grid (R, 2, 2), columns outer and inner, hung on the armhole `seam`.

    Every row is square to the sleeve, the first one through the armhole's middle, so the
    sleeve's top overlaps the torso panel a little, as a sleeve head does.
    """
    d = _direction(g.sleeve_flat_deg, side)
    out = side * _perp(d)
    mid = seam.mean(0)
    half0 = float(np.hypot(*(seam[0] - seam[1]))) / 2
    if g.sleeve == "long":
        stops = ((0.0, 1.0), (g.sleeve_len * g.sleeve_elbow, 0.78), (g.sleeve_len, 0.6))
    else:
        stops = ((0.0, 1.0), (g.sleeve_len, 0.9))
    rows = []
    for dist, shrink in stops:
        c = mid + d * dist
        rows.append([c + out * half0 * shrink, c - out * half0 * shrink])
    return np.array(rows, float)


def _trim_mask(g: GarmentParams, flat: _FlatGarment, u, v) -> np.ndarray:
    """Rib bands at the hem, cuffs and neckline (they darken the texture)."""
    w = g.trim_width
    mask = (v > g.length - w) & (np.abs(u) < g.hem_half * 1.3)
    au = np.abs(u)
    if g.neckline == "v":
        edge = g.neck_depth * np.clip(1 - au / g.neck_half, 0, None) ** 1.1
    else:
        edge = g.neck_depth * np.sqrt(np.clip(1 - (au / g.neck_half) ** 2, 0, None))
    mask |= (au < g.neck_half + w) & (v >= edge - 0.001) & (v < edge + w)
    for name, side in SIDES:
        if name not in flat.sleeves:
            continue
        grid = flat.sleeves[name]
        cuff = grid[-1].mean(0)
        d = _direction(g.sleeve_flat_deg, side)
        along = (u - cuff[0]) * d[0] + (v - cuff[1]) * d[1]
        across = (u - cuff[0]) * (side * d[1]) - (v - cuff[1]) * (side * d[0])
        half = float(np.hypot(*(grid[-1, 0] - grid[-1, 1]))) / 2
        mask |= (along > -w * 1.2) & (along < 0.05) & (np.abs(across) < half * 1.3)
    return mask


def _stripe(t, duty: float, period: float, px: float) -> np.ndarray:
    """Antialiased square wave of coordinate t (in periods): 1 inside a stripe."""
    c = t - duty / 2 - np.floor(t - duty / 2 + 0.5)
    dist = (duty / 2 - np.abs(c)) * period
    return np.clip(dist / px + 0.5, 0, 1)


def _logo_alpha(logo: dict, u, v, px: float) -> np.ndarray:
    r = logo["radius"]
    x, y = u - logo["x"], v - logo["y"]
    c, s = math.cos(math.radians(logo["rotation"])), math.sin(math.radians(logo["rotation"]))
    x, y = c * x + s * y, -s * x + c * y
    dist = np.hypot(x, y)
    shape = logo["shape"]
    if shape == "circle":
        sdf = r - dist
    elif shape == "ring":
        sdf = 0.22 * r - np.abs(dist - 0.75 * r)
    elif shape == "diamond":
        sdf = (r - np.abs(x) - np.abs(y)) / math.sqrt(2)
    elif shape == "star":
        ang = np.arctan2(x, -y)
        star = 0.42 + 0.58 * np.abs(np.cos(2.5 * ang)) ** 2.5
        sdf = (r * star - dist) * 0.6
    elif shape == "triangle":
        sdf = np.full_like(dist, np.inf)
        for k in range(3):
            a = math.radians(90 + 120 * k)
            sdf = np.minimum(sdf, 0.5 * r - (x * math.cos(a) + y * math.sin(a)))
    else:  # text: union of blocks in units of r / 2.5
        unit = r / 2.5
        sdf = np.full_like(dist, -np.inf)
        for bx, by, hw, hh in logo["blocks"]:
            inside = np.minimum(
                hw * unit - np.abs(x - bx * unit), hh * unit - np.abs(y - by * unit)
            )
            sdf = np.maximum(sdf, inside)
    return np.clip(sdf / px + 0.5, 0, 1)


def _texture(g: GarmentParams, flat: _FlatGarment, u, v, px: float) -> np.ndarray:
    """The garment's colour at flat points u, v (garment units): (..., 3) float32."""
    base, sec, ter = (np.asarray(c, np.float32) for c in (g.base, g.secondary, g.tertiary))
    a = math.radians(g.angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    pu, pv = g.phase
    kind = g.texture
    if kind == "stripes":
        t = (v * ca + u * sa) / g.period + pv
        alpha = _stripe(t, g.duty, g.period, px)[..., None]
        odd = (np.floor(t - g.duty / 2 + 0.5) % 2 == 1)[..., None]
        color = base * (1 - alpha) + np.where(odd, ter, sec) * alpha
    elif kind == "checks":
        a1 = _stripe((v * ca + u * sa) / g.period + pv, g.duty, g.period, px)[..., None]
        a2 = _stripe((u * ca - v * sa) / g.period + pu, g.duty, g.period, px)[..., None]
        mid = (base + sec) / 2
        color = base * (1 - a1) * (1 - a2) + mid * (a1 + a2 - 2 * a1 * a2) + sec * a1 * a2
    elif kind == "dots":
        gu, gv = (u * ca + v * sa) / g.period + pu, (v * ca - u * sa) / g.period + pv
        if g.stagger:
            gu = gu + 0.5 * (np.floor(gv) % 2)
        du, dv = gu - np.floor(gu) - 0.5, gv - np.floor(gv) - 0.5
        dist = np.hypot(du, dv)
        radius = g.duty * 1.2
        if g.motif == "flower":
            radius = radius * (0.75 + 0.35 * np.cos(5 * np.arctan2(dv, du)))
        alpha = np.clip((radius - dist) * g.period / px + 0.5, 0, 1)[..., None]
        color = base * (1 - alpha) + sec * alpha
    elif kind == "logo":
        alpha = _logo_alpha(g.logo, u, v, px)[..., None]
        color = base * (1 - alpha) + sec * alpha
    else:
        color = np.broadcast_to(base, (*np.broadcast_shapes(np.shape(u), np.shape(v)), 3))
    trim = _trim_mask(g, flat, u, v)
    return (color * np.where(trim, g.trim, 1.0)[..., None]).astype(np.float32)


@dataclass
class _ClothLayout:
    """Where the flat garment sits in the cloth image: pixel = scale * units + offset."""

    scale: float
    offset: np.ndarray

    def to_px(self, pts) -> np.ndarray:
        return np.asarray(pts, float) * self.scale + self.offset


def _cloth_layout(flat: _FlatGarment, fill: float, height: int, width: int) -> _ClothLayout:
    pts = np.concatenate(
        [flat.torso.reshape(-1, 2), *(s.reshape(-1, 2) for s in flat.sleeves.values())]
    )
    lo, hi = pts.min(0), pts.max(0)
    scale = min(fill * height / (hi[1] - lo[1]), 0.97 * width / (hi[0] - lo[0]))
    center = np.array([(width - 1) / 2, (height - 1) / 2])
    return _ClothLayout(scale, center - scale * (lo + hi) / 2)


def _render_cloth(g: GarmentParams, scene: SceneParams, height: int, width: int):
    """The flat-lay image (H, W, 3) uint8 and its garment mask (H, W) bool."""
    flat = _flat_garment(g)
    layout = _cloth_layout(flat, scene.cloth_fill, height, width)
    polygons = [flat.outline(back=True)]
    for name, side in SIDES:
        if name in flat.sleeves:  # the sleeve, closed over the armhole it hangs on
            col = 4 if side > 0 else 0
            seam = flat.torso[:2, col]
            polygons.append(np.concatenate([seam[:1], _grid_outline(flat.sleeves[name]), seam[1:]]))
    mask8 = np.zeros((height, width), np.uint8)
    for poly in polygons:
        _fill(mask8, layout.to_px(poly), 1)
    inside = np.zeros_like(mask8)  # the inside of the back, seen through the front neckline
    _fill(inside, layout.to_px(np.concatenate([flat.front_neck, flat.back_neck[::-1]])), 1)
    ys, xs = np.nonzero(mask8)
    u = (xs - layout.offset[0]) / layout.scale
    v = (ys - layout.offset[1]) / layout.scale
    color = _texture(g, flat, u, v, 1.0 / layout.scale)
    back = inside[ys, xs] > 0
    color[back] = np.asarray(g.base, np.float32) * 0.6
    bg = np.asarray(scene.cloth_bg, np.float32)
    # Soften the outline: border pixels take part of the background, never all of it.
    eroded = cv2.erode(
        mask8, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0
    )
    edge = (eroded[ys, xs] == 0)[:, None]
    color = np.where(edge, 0.6 * color + 0.4 * bg, color)
    cloth = np.empty((height, width, 3), np.uint8)
    cloth[:] = scene.cloth_bg
    cloth[ys, xs] = np.clip(np.round(color), 0, CLOTH_MAX_LEVEL + 5).astype(np.uint8)
    return cloth, mask8 > 0


def _grid_outline(grid: np.ndarray) -> np.ndarray:
    """Outline of a (R, 2, 2) strip grid: down the first column, back up the second."""
    return np.concatenate([grid[:, 0], grid[::-1, 1]])


# --- the posed body -------------------------------------------------------------------------


@dataclass
class _Frame:
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
class _Arm:
    side: int
    shoulder: np.ndarray
    elbow: np.ndarray
    wrist: np.ndarray
    hand: np.ndarray  # polygon
    thumb: np.ndarray  # polygon
    radii: tuple[float, float, float]  # pixels


@dataclass
class _Leg:
    side: int
    hip: np.ndarray
    knee: np.ndarray
    ankle: np.ndarray
    foot: np.ndarray  # polygon
    toes: tuple[np.ndarray, np.ndarray, np.ndarray]  # big toe, small toe, heel
    radii: tuple[float, float, float]


@dataclass
class _Pose:
    """The posed body in pixels."""

    frame: _Frame
    head_center: np.ndarray
    head_deg: float
    head_r: tuple[float, float]
    arms: dict[str, _Arm]
    legs: dict[str, _Leg]
    neck: np.ndarray
    mid_hip: np.ndarray


def _make_frame(b: BodyParams, height: int, width: int) -> _Frame:
    scale = b.scale * height
    pivot = np.array([0.0, b.hip_y])
    rot = _rot(-b.lean_deg)
    head_top = np.array([0.0, -(b.neck_len + 2 * b.head_ry + 0.015)])
    top = (head_top - pivot) @ rot.T + pivot
    neck = (-pivot) @ rot.T + pivot
    origin = np.array(
        [b.center_x * width - scale * neck[0], b.top_margin * height - scale * top[1]]
    )
    return _Frame(origin, scale, pivot, rot)


def _pose(b: BodyParams, height: int, width: int) -> _Pose:
    frame = _make_frame(b, height, width)
    s = frame.scale
    arms = {}
    for name, side in SIDES:
        a = b.arms[name]
        shoulder_l = np.array([side * b.shoulder_half, b.shoulder_drop])
        elbow_l = shoulder_l + b.upper_arm * _direction(a.upper_deg, side)
        wrist_l = elbow_l + b.forearm * _direction(a.fore_deg, side)
        hand_dir = frame.turn(_direction(a.fore_deg + a.hand_deg, side))
        wrist = frame.upper(wrist_l)
        rw = b.arm_r[2] * s
        hand_len = b.hand_len * s
        hand_deg = math.degrees(math.atan2(hand_dir[1], hand_dir[0]))
        hand = _ellipse(wrist + hand_dir * hand_len * 0.5, hand_len * 0.55, rw * 1.35, hand_deg, 24)
        inward = -side * _perp(hand_dir)  # toward the body's midline when hanging
        thumb_dir = _unit(hand_dir + 0.9 * inward)
        thumb_base = wrist + hand_dir * hand_len * 0.2 + inward * rw * 0.8
        thumb = _capsule(
            thumb_base, thumb_base + thumb_dir * hand_len * 0.4, rw * 0.42, rw * 0.32, 8
        )
        arms[name] = _Arm(
            side,
            frame.upper(shoulder_l),
            frame.upper(elbow_l),
            wrist,
            hand,
            thumb,
            tuple(r * s for r in b.arm_r),
        )
    legs = {}
    for name, side in SIDES:
        hip_l = np.array([side * (b.hip_half - 0.9 * b.leg_r[0]), b.hip_y])
        hip = frame.upper(hip_l)
        thigh_deg, shin_deg = b.legs_deg[name]
        knee = hip + s * b.thigh * _direction(thigh_deg, side)
        ankle = knee + s * b.shin * _direction(shin_deg, side)
        ra = b.leg_r[2] * s
        foot_c = ankle + np.array([side * ra * 0.35, ra * 1.1])
        foot = _ellipse(foot_c, ra * 1.35, ra * 1.25, side * 12, 24)
        toes = (
            foot_c + np.array([-side * ra * 0.55, ra * 0.95]),
            foot_c + np.array([side * ra * 0.7, ra * 0.85]),
            ankle + np.array([0.0, ra * 0.8]),
        )
        legs[name] = _Leg(side, hip, knee, ankle, foot, toes, tuple(r * s for r in b.leg_r))
    head_local = np.array([0.0, -(b.neck_len + b.head_ry)])
    return _Pose(
        frame=frame,
        head_center=frame.upper(head_local),
        head_deg=-b.lean_deg - b.head_tilt_deg,
        head_r=(b.head_rx * s, b.head_ry * s),
        arms=arms,
        legs=legs,
        neck=frame.upper([0.0, 0.0]),
        mid_hip=frame.upper([0.0, b.hip_y]),
    )


def _head_points(pose: _Pose, local) -> np.ndarray:
    """Points in head units (multiples of rx, ry from the head centre) to pixels."""
    rx, ry = pose.head_r
    pts = np.asarray(local, float) * (rx, ry)
    return pose.head_center + pts @ _rot(pose.head_deg).T


def _face_outline(pose: _Pose) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, 48, endpoint=False)
    x, y = np.sin(t), -np.cos(t)
    x = x * (1 - 0.18 * np.clip(y, 0, None) ** 2)  # narrower toward the chin
    return _head_points(pose, np.stack([x, y], 1))


def _worn_torso(b: BodyParams, g: GarmentParams, flat: _FlatGarment, pose: _Pose) -> _Mesh:
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
    return _Mesh(flat.torso, pose.frame.upper(local), across)


def _worn_sleeve(g: GarmentParams, flat_grid: np.ndarray, arm: _Arm, wrist_gap_px: float):
    """The sleeve on the arm: a mesh matching `flat_grid`, and its round caps (center, radius).

    Rows are square to the arm: at the shoulder joint, (long) at the elbow, and at the end.
    """
    r_sh, r_el, r_wr = arm.radii
    up = _unit(arm.elbow - arm.shoulder)
    n_up = arm.side * _perp(up)
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
        n_fore = arm.side * _perp(_unit(fore))
        n_el = _unit(n_up + n_fore)
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
    return _Mesh(flat_grid, np.array(rows, float), across), caps


# --- painting the person --------------------------------------------------------------------


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
    flat: _FlatGarment,
    mesh: _Mesh,
    texel: float,
    dense_of_triangle: Callable | None = None,
) -> Shader:
    """Texture sampled through the mesh, with cylinder shading across the panel and soft
    drape folds (fixed to the fabric, deeper toward the hem)."""
    phase_a, phase_b = (2 * math.pi * p for p in g.phase)

    def run(xs, ys):
        uv, across, tri = _mesh_lookup(mesh, xs, ys)
        u, v = uv[:, 0], uv[:, 1]
        color = _texture(g, flat, u, v, texel)
        folds = np.sin(u * 70 + v * 8 + phase_a) * np.sin(u * 118 - v * 10 + phase_b)
        depth = 0.02 + 0.05 * np.clip(v / g.length, 0, 1)
        shade = (1 - 0.22 * np.clip(across, -1, 1) ** 2) * (1 - depth * (0.5 + 0.5 * folds))
        dense = None if dense_of_triangle is None else dense_of_triangle(tri)
        return color * shade[:, None], dense

    return run


def _paint_person(
    canvas: _Canvas, p: SampleParams, pose: _Pose, flat: _FlatGarment, wrist_gap_px: float
) -> int:
    """Paint every layer back to front; returns the face layer's id (details go on it)."""
    b, g = p.body, p.garment
    skin = np.asarray(b.skin, np.float32)
    texel = 1.0 / (2 * pose.frame.scale)  # antialiasing width of the texture, garment units
    hair_shade = _hair_shade(pose)
    canvas.add(_back_hair(b, pose), L.HAIR, DP.BACKGROUND, _Tag.HAIR, _solid(b.hair, hair_shade))
    _paint_legs(canvas, b, pose, skin)
    _paint_lower(canvas, b, pose)
    _paint_neck(canvas, b, g, pose, skin)
    torso = _worn_torso(b, g, flat, pose)
    canvas.add(
        [_map_points(torso, flat.outline(back=False))],
        L.UPPER_CLOTHES,
        DP.TORSO_FRONT,
        _Tag.TORSO,
        _garment_shader(g, flat, torso, texel),
    )
    head_dense = _head_dense(pose)
    rx, ry = pose.head_r
    face_shade = _radial_shade(pose.head_center, max(rx, ry), 0.2)
    face_id = canvas.add(
        [_face_outline(pose)],
        L.FACE,
        DP.HEAD_RIGHT,
        _Tag.HEAD,
        _with_dense(_solid(skin, face_shade), head_dense),
    )
    canvas.add(
        _front_hair(b, pose),
        L.HAIR,
        DP.HEAD_RIGHT,
        _Tag.HEAD,
        _with_dense(_solid(b.hair, hair_shade), head_dense),
    )
    for name in b.arm_order:  # the later arm lies in front
        _paint_arm(canvas, g, flat, pose.arms[name], skin, texel, wrist_gap_px)
    return face_id


def _head_dense(pose: _Pose) -> Callable:
    """DensePose head halves, split along the head's own vertical axis."""
    axis = _rot(pose.head_deg)[:, 0]  # the head's x axis, toward the person's left
    return _split_dense(pose.head_center, axis, DP.HEAD_RIGHT, DP.HEAD_LEFT)


def _paint_legs(canvas: _Canvas, b: BodyParams, pose: _Pose, skin) -> None:
    """Bare legs (flat-topped at the hip line, so none shows beside the top) and shoes."""
    frame = pose.frame
    for name, side in SIDES:
        leg = pose.legs[name]
        r_hip, r_knee, r_ankle = leg.radii
        label = L.LEFT_LEG if side > 0 else L.RIGHT_LEG
        tag = _Tag.LEFT_LEG if side > 0 else _Tag.RIGHT_LEG
        thigh_part = DP.UPPER_LEG_LEFT_FRONT if side > 0 else DP.UPPER_LEG_RIGHT_FRONT
        shin_part = DP.LOWER_LEG_LEFT_FRONT if side > 0 else DP.LOWER_LEG_RIGHT_FRONT
        shade = _limb_shade(
            [(leg.hip, leg.knee, r_hip, r_knee), (leg.knee, leg.ankle, r_knee, r_ankle)]
        )
        hip_out = frame.upper([side * b.hip_half * 0.97, b.hip_y])
        thigh, shin = _leg_tube(leg, hip_out, frame.upper([0.0, b.hip_y]), (r_knee, r_ankle), 2.0)
        canvas.add([thigh], label, thigh_part, tag, _solid(skin, shade))
        canvas.add([shin], label, shin_part, tag, _solid(skin, shade))
        canvas.add(
            [leg.foot],
            L.LEFT_SHOE if side > 0 else L.RIGHT_SHOE,
            DP.LEFT_FOOT if side > 0 else DP.RIGHT_FOOT,
            tag,
            _solid(b.shoe_rgb, _radial_shade(leg.foot.mean(0), r_ankle * 1.4, 0.3)),
        )


def _paint_neck(canvas: _Canvas, b: BodyParams, g: GarmentParams, pose: _Pose, skin) -> None:
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
    canvas.add([frame.upper(chest)], L.NECK, DP.TORSO_FRONT, _Tag.TORSO, _solid(skin * 0.93))
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
        _Tag.HEAD,
        _with_dense(_solid(skin, shade), _head_dense(pose)),
    )


def _radial_shade(center, radius: float, strength: float) -> Callable:
    cx, cy = float(center[0]), float(center[1])

    def shade(xs, ys):
        r2 = ((xs - cx) ** 2 + (ys - cy) ** 2) / max(radius * radius, 1e-6)
        return 1 - strength * np.clip(r2, 0, 1)

    return shade


def _hair_shade(pose: _Pose) -> Callable:
    cx, cy = pose.head_center
    rx = pose.head_r[0]
    freq = 2 * math.pi / max(rx * 0.18, 1.5)

    def shade(xs, ys):
        r2 = ((xs - cx) ** 2 + (ys - cy) ** 2) / (4 * rx * rx)
        strands = 0.06 * np.sin((xs - cx) * freq + 0.3 * (ys - cy) / max(rx, 1) * 6)
        return 1.0 + strands - 0.25 * np.clip(r2, 0, 1.5)

    return shade


def _back_hair(b: BodyParams, pose: _Pose):
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
        return [_head_points(pose, np.concatenate([top, lower]))]
    t = np.linspace(math.pi - 0.35, 2 * math.pi + 0.35, 24)
    rim = _head_points(pose, np.stack([1.1 * np.cos(t), 1.1 * np.sin(t)], 1))
    if b.hair_style == "bun":
        return [rim, _head_points(pose, _ellipse((0.0, -1.12), 0.5, 0.42, 0, 24))]
    return [rim]


def _front_hair(b: BodyParams, pose: _Pose) -> list[np.ndarray]:
    """The hair cap over the top of the face, plus side locks for longer styles."""
    side_drop = 0.05 if b.hair_style in ("short", "bun") else 0.2
    start = math.asin(min(side_drop, 0.9))
    t = np.linspace(math.pi - start, 2 * math.pi + start, 28)
    cap = np.stack([1.08 * np.cos(t), 1.1 * np.sin(t)], 1)
    x = np.linspace(1.0, -1.0, 15)
    line = -b.hairline + 0.18 * x * x + 0.3 * b.hair_part * x
    line = np.minimum(line, side_drop)
    hairline = np.stack([x * 1.02, line], 1)
    polys = [_head_points(pose, np.concatenate([cap, hairline]))]
    if b.hair_style in ("bob", "long"):
        for side in (-1, 1):
            lock = [
                (side * 0.78, -0.2),
                (side * 1.12, -0.1),
                (side * 1.16, 0.75),
                (side * 0.98, 0.85),
                (side * 0.86, 0.3),
            ]
            polys.append(_head_points(pose, lock))
    return polys


def _leg_tube(leg: _Leg, hip_out: np.ndarray, hip_in: np.ndarray, widths, end: float):
    """Trouser-leg quads (thigh, shin) with a flat top from `hip_out` to `hip_in`.

    widths: half widths at knee and cuff (pixels); end: how far down the leg the hem is,
    1.0 at the knee and 2.0 at the ankle.
    """
    n_thigh = leg.side * _perp(_unit(leg.knee - leg.hip))
    n_shin = leg.side * _perp(_unit(leg.ankle - leg.knee))
    if end <= 1.0:
        c = leg.hip + (leg.knee - leg.hip) * end
        half = widths[0] * end + float(np.hypot(*(hip_out - hip_in))) / 2 * (1 - end)
        return [np.array([hip_out, c + n_thigh * half * 1.1, c - n_thigh * half * 1.1, hip_in])]
    n_knee = _unit(n_thigh + n_shin)
    knee_out, knee_in = leg.knee + n_knee * widths[0], leg.knee - n_knee * widths[0]
    cuff = leg.knee + (leg.ankle - leg.knee) * (end - 1.0)
    return [
        np.array([hip_out, knee_out, knee_in, hip_in]),
        np.array([knee_out, cuff + n_shin * widths[1], cuff - n_shin * widths[1], knee_in]),
    ]


def _paint_lower(canvas: _Canvas, b: BodyParams, pose: _Pose) -> None:
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
            [frame.upper(poly)], L.SKIRT, 0, _Tag.TORSO, _with_dense(_solid(color, shade), dense)
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
    hip_dense = _split_dense(mid, body_axis, DP.UPPER_LEG_RIGHT_FRONT, DP.UPPER_LEG_LEFT_FRONT)
    canvas.add(
        [frame.upper(block)],
        L.PANTS,
        0,
        _Tag.TORSO,
        _with_dense(_solid(color, lambda xs, ys: np.full(len(xs), 0.95, np.float32)), hip_dense),
    )
    for name, side in SIDES:
        leg = pose.legs[name]
        r_hip, r_knee, r_ankle = leg.radii
        tag = _Tag.LEFT_LEG if side > 0 else _Tag.RIGHT_LEG
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
        shade = _limb_shade(
            [
                (leg.hip, leg.knee, r_hip * 1.15, r_knee * 1.45),
                (leg.knee, leg.ankle, r_knee * 1.45, r_ankle * 1.9),
            ],
            0.25,
        )
        canvas.add(quads[:1], L.PANTS, thigh_part, tag, _solid(color, shade))
        if len(quads) > 1:
            canvas.add(quads[1:], L.PANTS, shin_part, tag, _solid(color, shade))


def _paint_arm(
    canvas: _Canvas,
    g: GarmentParams,
    flat: _FlatGarment,
    arm: _Arm,
    skin,
    texel: float,
    wrist_gap_px: float,
) -> None:
    """Upper arm, forearm and hand (skin), then the sleeve over them."""
    side = arm.side
    label = L.LEFT_ARM if side > 0 else L.RIGHT_ARM
    tag = _Tag.LEFT_ARM if side > 0 else _Tag.RIGHT_ARM
    upper_part = DP.UPPER_ARM_LEFT_FRONT if side > 0 else DP.UPPER_ARM_RIGHT_FRONT
    lower_part = DP.LOWER_ARM_LEFT_FRONT if side > 0 else DP.LOWER_ARM_RIGHT_FRONT
    hand_part = DP.LEFT_HAND if side > 0 else DP.RIGHT_HAND
    r_sh, r_el, r_wr = arm.radii
    shade = _limb_shade([(arm.shoulder, arm.elbow, r_sh, r_el), (arm.elbow, arm.wrist, r_el, r_wr)])
    canvas.add(
        [_capsule(arm.shoulder, arm.elbow, r_sh, r_el)], label, upper_part, tag, _solid(skin, shade)
    )
    canvas.add(
        [_capsule(arm.elbow, arm.wrist, r_el, r_wr)], label, lower_part, tag, _solid(skin, shade)
    )
    hand_shade = _radial_shade(arm.hand.mean(0), r_wr * 2.5, 0.25)
    canvas.add([arm.hand, arm.thumb], label, hand_part, tag, _solid(skin * 0.97, hand_shade))
    name = "left" if side > 0 else "right"
    if name not in flat.sleeves:
        return
    mesh, caps = _worn_sleeve(g, flat.sleeves[name], arm, wrist_gap_px)
    corners = mesh.body.reshape(-1, 2)
    polys = [corners[tri] for tri in mesh.triangles()]
    polys += [_ellipse(c, r, r, 0, 24) for c, r in caps]
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
    image: np.ndarray, owner: np.ndarray, face_id: int, pose: _Pose, b: BodyParams
) -> None:
    """Eyes, brows, nose and mouth: colour only, inside the face's own pixels."""
    rx, ry = pose.head_r
    if rx < 6:  # below ~6 px a face is too small for features: they would read as a mask
        return
    detail = np.zeros(owner.shape, np.uint8)
    for side in (-1, 1):
        eye = _head_points(pose, [(side * 0.38, -0.05)])[0]
        _fill(
            detail, _ellipse(eye, max(rx * 0.12, 0.6), max(ry * 0.055, 0.5), pose.head_deg, 12), 1
        )
        brow = _head_points(
            pose,
            [(side * 0.22, -0.2), (side * 0.55, -0.22), (side * 0.55, -0.17), (side * 0.22, -0.15)],
        )
        _fill(detail, brow, 2)
    _fill(
        detail,
        _head_points(pose, [(-0.06, 0.08), (0.0, 0.3), (0.06, 0.08), (0.1, 0.3), (-0.1, 0.3)]),
        3,
    )
    _fill(detail, _head_points(pose, [(-0.22, 0.52), (0.22, 0.52), (0.14, 0.6), (-0.14, 0.6)]), 4)
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


def _keypoints(pose: _Pose, tags: np.ndarray, height: int, width: int) -> np.ndarray:
    """BODY_25 keypoints with visibility from the owner map's body regions."""
    pts = np.zeros((25, 2))
    allowed: dict[int, tuple[int, ...]] = {}
    face = [(0.0, 0.2), (-0.38, -0.05), (0.38, -0.05), (-0.9, 0.02), (0.9, 0.02)]
    for key, xy in zip((K.NOSE, K.R_EYE, K.L_EYE, K.R_EAR, K.L_EAR), face, strict=True):
        pts[key] = _head_points(pose, [xy])[0]
        allowed[key] = (_Tag.HEAD,)
    pts[K.NECK], allowed[K.NECK] = pose.neck, (_Tag.HEAD, _Tag.TORSO)
    pts[K.MID_HIP] = pose.mid_hip
    allowed[K.MID_HIP] = (_Tag.TORSO, _Tag.LEFT_LEG, _Tag.RIGHT_LEG)
    for name, side in SIDES:
        arm, leg = pose.arms[name], pose.legs[name]
        right = side < 0
        arm_tag = _Tag.RIGHT_ARM if right else _Tag.LEFT_ARM
        leg_tag = _Tag.RIGHT_LEG if right else _Tag.LEFT_LEG
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
        pts[shoulder], allowed[shoulder] = arm.shoulder, (_Tag.TORSO, arm_tag)
        pts[elbow], allowed[elbow] = arm.elbow, (arm_tag,)
        pts[wrist], allowed[wrist] = arm.wrist, (arm_tag,)
        pts[hip], allowed[hip] = leg.hip, (_Tag.TORSO, leg_tag)
        for key, xy in ((knee, leg.knee), (ankle, leg.ankle), *zip(feet, leg.toes, strict=True)):
            pts[key], allowed[key] = xy, (_Tag.TORSO, leg_tag)
    out = np.zeros((25, 3), np.float32)
    for key in range(25):
        x, y = pts[key]
        col, row = round(float(x)), round(float(y))
        inside = 0 <= x <= width - 1 and 0 <= y <= height - 1
        if inside and tags[row, col] in allowed[key]:
            out[key] = (x, y, 1.0)
    return out


def _render_person(p: SampleParams, height: int, width: int, noise_rng: np.random.Generator):
    """Person (H, W, 3) uint8, parse (H, W) uint8, densepose (H, W) uint8, pose (25, 3)."""
    pose = _pose(p.body, height, width)
    flat = _flat_garment(p.garment)
    canvas = _Canvas(height, width)
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
