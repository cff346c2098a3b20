"""A sample's parameters: drawn once in size-free body units (`sampling`), so one index
gives the same person at every image size."""

from __future__ import annotations

from dataclasses import dataclass, field


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
