"""What a sample is drawn from: the option names, the palettes, and the fixed proportions
the body and the garment share."""

from __future__ import annotations

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
