"""Human-parsing label sets, their mappings to VITON-HD ids, and the parse PNG format.

`image-parse-v3/ID.png` in VITON-HD is an 8-bit palette PNG whose pixel values are
`VitonLabel` ids. Its palette is the LIP palette (with 254 where LIP has 255) for ids 0-19,
followed by the grey ramp (i, i, i) for i = 20..255; `write_parse` writes exactly that, so
a file we write is read by every VITON-HD/HR-VITON loader as the dataset's own.

"Left" and "right" are the person's own sides: in a frontal photo the left arm is on the
image's right (checked against the VITON-HD files and their BODY_25 keypoints).

Mapping tables map a source label set to VITON-HD ids. An entry may be a pair
`(left_id, right_id)` for a source label that does not distinguish sides (fashn's "arms");
`to_viton` splits such pixels at a vertical midline that the caller supplies (from pose).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from pathlib import Path

import numpy as np
from PIL import Image

from vton.formats.images import atomic_save


class VitonLabel(IntEnum):
    """VITON-HD parse ids (LIP's 20 labels with 10 "jumpsuits" reused as neck)."""

    BACKGROUND = 0
    HAT = 1
    HAIR = 2
    GLOVE = 3
    SUNGLASSES = 4
    UPPER_CLOTHES = 5
    DRESS = 6
    COAT = 7
    SOCKS = 8
    PANTS = 9
    NECK = 10
    SCARF = 11
    SKIRT = 12
    FACE = 13
    LEFT_ARM = 14
    RIGHT_ARM = 15
    LEFT_LEG = 16
    RIGHT_LEG = 17
    LEFT_SHOE = 18
    RIGHT_SHOE = 19


class LipLabel(IntEnum):
    """LIP (Look Into Person) 20 labels, as SCHP-LIP predicts them."""

    BACKGROUND = 0
    HAT = 1
    HAIR = 2
    GLOVE = 3
    SUNGLASSES = 4
    UPPER_CLOTHES = 5
    DRESS = 6
    COAT = 7
    SOCKS = 8
    PANTS = 9
    JUMPSUITS = 10
    SCARF = 11
    SKIRT = 12
    FACE = 13
    LEFT_ARM = 14
    RIGHT_ARM = 15
    LEFT_LEG = 16
    RIGHT_LEG = 17
    LEFT_SHOE = 18
    RIGHT_SHOE = 19


class AtrLabel(IntEnum):
    """ATR 18 labels (SCHP-ATR, `mattmdjaga/segformer_b2_clothes`)."""

    BACKGROUND = 0
    HAT = 1
    HAIR = 2
    SUNGLASSES = 3
    UPPER_CLOTHES = 4
    SKIRT = 5
    PANTS = 6
    DRESS = 7
    BELT = 8
    LEFT_SHOE = 9
    RIGHT_SHOE = 10
    FACE = 11
    LEFT_LEG = 12
    RIGHT_LEG = 13
    LEFT_ARM = 14
    RIGHT_ARM = 15
    BAG = 16
    SCARF = 17


class HumanParse24Label(IntEnum):
    """The 24-label SegFormer human-parse set (`yolo12138/segformer-b2-human-parse-24`)."""

    BACKGROUND = 0
    HAT = 1
    HAIR = 2
    GLOVE = 3
    GLASSES = 4
    UPPER_ONLY_TORSO_REGION = 5
    DRESSES_ONLY_TORSO_REGION = 6
    COAT_ONLY_TORSO_REGION = 7
    SOCKS = 8
    LEFT_PANTS = 9
    RIGHT_PATNS = 10  # sic: the checkpoint's own spelling, matched by name
    SKIN_AROUND_NECK_REGION = 11
    SCARF = 12
    SKIRTS = 13
    FACE = 14
    LEFT_ARM = 15
    RIGHT_ARM = 16
    LEFT_LEG = 17
    RIGHT_LEG = 18
    LEFT_SHOE = 19
    RIGHT_SHOE = 20
    LEFT_SLEEVE_FOR_UPPER = 21
    RIGHT_SLEEVE_FOR_UPPER = 22
    BAG = 23


class FashnLabel(IntEnum):
    """The 18-label fashn set (`fashn-ai/fashn-human-parser`); no left/right distinction."""

    BACKGROUND = 0
    FACE = 1
    HAIR = 2
    TOP = 3
    DRESS = 4
    SKIRT = 5
    PANTS = 6
    BELT = 7
    BAG = 8
    HAT = 9
    SCARF = 10
    GLASSES = 11
    ARMS = 12
    HANDS = 13
    LEGS = 14
    FEET = 15
    TORSO = 16
    JEWELRY = 17


class DressCodeLabel(IntEnum):
    """DressCode's 18 label-map ids (`label_maps/ID_4.png`, greyscale PNG of these values).

    SCHP trained on ATR produced them, so the ids are ATR's; the dataset's README calls
    ATR's "face" "head" (ids from aimagelab/dress-code's README and the loaders' label_map).
    """

    BACKGROUND = 0
    HAT = 1
    HAIR = 2
    SUNGLASSES = 3
    UPPER_CLOTHES = 4
    SKIRT = 5
    PANTS = 6
    DRESS = 7
    BELT = 8
    LEFT_SHOE = 9
    RIGHT_SHOE = 10
    HEAD = 11
    LEFT_LEG = 12
    RIGHT_LEG = 13
    LEFT_ARM = 14
    RIGHT_ARM = 15
    BAG = 16
    SCARF = 17


V = VitonLabel
Target = VitonLabel | tuple[VitonLabel, VitonLabel]

LIP_TO_VITON: dict[LipLabel, Target] = {
    **{lab: V(int(lab)) for lab in LipLabel if lab != LipLabel.JUMPSUITS},
    # VITON-HD reuses id 10 for the neck; a jumpsuit is a one-piece garment like a dress.
    LipLabel.JUMPSUITS: V.DRESS,
}

ATR_TO_VITON: dict[AtrLabel, Target] = {
    AtrLabel.BACKGROUND: V.BACKGROUND,
    AtrLabel.HAT: V.HAT,
    AtrLabel.HAIR: V.HAIR,
    AtrLabel.SUNGLASSES: V.SUNGLASSES,
    AtrLabel.UPPER_CLOTHES: V.UPPER_CLOTHES,
    AtrLabel.SKIRT: V.SKIRT,
    AtrLabel.PANTS: V.PANTS,
    AtrLabel.DRESS: V.DRESS,
    AtrLabel.BELT: V.PANTS,  # worn at the waist: kept with the lower garment
    AtrLabel.LEFT_SHOE: V.LEFT_SHOE,
    AtrLabel.RIGHT_SHOE: V.RIGHT_SHOE,
    AtrLabel.FACE: V.FACE,
    AtrLabel.LEFT_LEG: V.LEFT_LEG,
    AtrLabel.RIGHT_LEG: V.RIGHT_LEG,
    AtrLabel.LEFT_ARM: V.LEFT_ARM,
    AtrLabel.RIGHT_ARM: V.RIGHT_ARM,
    AtrLabel.BAG: V.BACKGROUND,  # VITON-HD has no bag label
    AtrLabel.SCARF: V.SCARF,
}

HP24 = HumanParse24Label
HUMAN_PARSE_24_TO_VITON: dict[HumanParse24Label, Target] = {
    HP24.BACKGROUND: V.BACKGROUND,
    HP24.HAT: V.HAT,
    HP24.HAIR: V.HAIR,
    HP24.GLOVE: V.GLOVE,
    HP24.GLASSES: V.SUNGLASSES,
    HP24.UPPER_ONLY_TORSO_REGION: V.UPPER_CLOTHES,
    HP24.DRESSES_ONLY_TORSO_REGION: V.DRESS,
    HP24.COAT_ONLY_TORSO_REGION: V.COAT,
    HP24.SOCKS: V.SOCKS,
    HP24.LEFT_PANTS: V.PANTS,
    HP24.RIGHT_PATNS: V.PANTS,
    HP24.SKIN_AROUND_NECK_REGION: V.NECK,
    HP24.SCARF: V.SCARF,
    HP24.SKIRTS: V.SKIRT,
    HP24.FACE: V.FACE,
    HP24.LEFT_ARM: V.LEFT_ARM,
    HP24.RIGHT_ARM: V.RIGHT_ARM,
    HP24.LEFT_LEG: V.LEFT_LEG,
    HP24.RIGHT_LEG: V.RIGHT_LEG,
    HP24.LEFT_SHOE: V.LEFT_SHOE,
    HP24.RIGHT_SHOE: V.RIGHT_SHOE,
    # VITON-HD labels sleeves as part of the upper garment.
    HP24.LEFT_SLEEVE_FOR_UPPER: V.UPPER_CLOTHES,
    HP24.RIGHT_SLEEVE_FOR_UPPER: V.UPPER_CLOTHES,
    HP24.BAG: V.BACKGROUND,
}

FASHN_TO_VITON: dict[FashnLabel, Target] = {
    FashnLabel.BACKGROUND: V.BACKGROUND,
    FashnLabel.FACE: V.FACE,
    FashnLabel.HAIR: V.HAIR,
    FashnLabel.TOP: V.UPPER_CLOTHES,
    FashnLabel.DRESS: V.DRESS,
    FashnLabel.SKIRT: V.SKIRT,
    FashnLabel.PANTS: V.PANTS,
    FashnLabel.BELT: V.PANTS,
    FashnLabel.BAG: V.BACKGROUND,
    FashnLabel.HAT: V.HAT,
    FashnLabel.SCARF: V.SCARF,
    FashnLabel.GLASSES: V.SUNGLASSES,
    FashnLabel.ARMS: (V.LEFT_ARM, V.RIGHT_ARM),
    FashnLabel.HANDS: (V.LEFT_ARM, V.RIGHT_ARM),  # VITON-HD arms include the hands
    FashnLabel.LEGS: (V.LEFT_LEG, V.RIGHT_LEG),
    FashnLabel.FEET: (V.LEFT_SHOE, V.RIGHT_SHOE),
    FashnLabel.TORSO: V.NECK,  # visible skin of the torso: VITON-HD's neck region
    FashnLabel.JEWELRY: V.BACKGROUND,
}

DC = DressCodeLabel
# DressCode's ids are ATR's (its "head" is ATR's "face"), so its mapping is ATR's.
DRESSCODE_TO_VITON: dict[DressCodeLabel, Target] = {
    lab: ATR_TO_VITON[AtrLabel(int(lab))] for lab in DressCodeLabel
}

VITON_TO_DRESSCODE: dict[VitonLabel, DressCodeLabel | tuple[DressCodeLabel, DressCodeLabel]] = {
    V.BACKGROUND: DC.BACKGROUND,
    V.HAT: DC.HAT,
    V.HAIR: DC.HAIR,
    V.GLOVE: (DC.LEFT_ARM, DC.RIGHT_ARM),  # ATR has no glove; its arms include the hands
    V.SUNGLASSES: DC.SUNGLASSES,
    V.UPPER_CLOTHES: DC.UPPER_CLOTHES,
    V.DRESS: DC.DRESS,
    V.COAT: DC.UPPER_CLOTHES,  # ATR has no coat: SCHP-ATR labels coats upper clothes
    V.SOCKS: (DC.LEFT_LEG, DC.RIGHT_LEG),  # ATR has no socks: the legs they cover
    V.PANTS: DC.PANTS,
    # ATR has no neck. Assumption: the neck's skin belongs with the head (ATR's "face"),
    # the region DressCode's loaders keep with the head.
    V.NECK: DC.HEAD,
    V.SCARF: DC.SCARF,
    V.SKIRT: DC.SKIRT,
    V.FACE: DC.HEAD,
    V.LEFT_ARM: DC.LEFT_ARM,
    V.RIGHT_ARM: DC.RIGHT_ARM,
    V.LEFT_LEG: DC.LEFT_LEG,
    V.RIGHT_LEG: DC.RIGHT_LEG,
    V.LEFT_SHOE: DC.LEFT_SHOE,
    V.RIGHT_SHOE: DC.RIGHT_SHOE,
}
"""VITON-HD ids -> DressCode ids. Lossy: glove, coat, socks and neck have no DressCode label
(a round trip gives arm, upper clothes, leg and face); sided pairs split at the body midline."""

LABEL_SETS: dict[str, tuple[type[IntEnum], Mapping]] = {
    "viton": (VitonLabel, {lab: lab for lab in VitonLabel}),
    "lip": (LipLabel, LIP_TO_VITON),
    "atr": (AtrLabel, ATR_TO_VITON),
    "human_parse_24": (HumanParse24Label, HUMAN_PARSE_24_TO_VITON),
    "fashn": (FashnLabel, FASHN_TO_VITON),
    "dresscode": (DressCodeLabel, DRESSCODE_TO_VITON),
}

FROM_VITON: dict[str, tuple[type[IntEnum], Mapping]] = {
    "dresscode": (DressCodeLabel, VITON_TO_DRESSCODE),
}
"""Label sets we write (exports), with their tables from VITON-HD ids."""


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def identify_label_set(id2label: Mapping[int | str, str]) -> str:
    """Name the label set whose names match a checkpoint's `id2label` (order included).

    Raises ValueError naming the closest set when nothing matches exactly.
    """
    names = [_norm(id2label[k]) for k in sorted(id2label, key=int)]
    best, best_hits = "", -1
    for set_name, (enum, _) in LABEL_SETS.items():
        expected = [_norm(lab.name) for lab in enum]
        if names == expected:
            return set_name
        hits = sum(a == b for a, b in zip(names, expected, strict=False))
        if hits > best_hits:
            best, best_hits = set_name, hits
    raise ValueError(
        f"id2label with {len(names)} labels ({', '.join(names[:6])}, ...) matches no known "
        f"label set exactly (closest: {best!r}, {best_hits} names agree). Known sets: "
        f"{', '.join(LABEL_SETS)}. Set the parse label_set param to one of them explicitly."
    )


def lookup_table(label_set: str, left_is_low_x: bool = False) -> np.ndarray:
    """A 256-entry uint8 table: source id -> VITON id, sided entries resolved to one side.

    Sided entries take the side that lies at high x (`left_is_low_x=False`, the person's
    left in a frontal photo) or at low x.
    """
    _, table = LABEL_SETS[label_set]
    lut = np.zeros(256, np.uint8)
    for src, dst in table.items():
        if isinstance(dst, tuple):
            dst = dst[1] if left_is_low_x else dst[0]
        lut[int(src)] = int(dst)
    return lut


def to_viton(label_map: np.ndarray, label_set: str, midline_x: float | None = None) -> np.ndarray:
    """Map an (H, W) integer label map of `label_set` to VITON-HD ids, (H, W) uint8.

    Sided pairs (fashn's arms, legs, feet) split at `midline_x`: pixels left of the midline
    in the image are the person's right. Without a midline the image centre is used.
    """
    if label_map.ndim != 2:
        raise ValueError(f"label map must be (H, W), got shape {label_map.shape}")
    enum, _ = LABEL_SETS[label_set]
    top = int(label_map.max(initial=0))
    if top >= len(enum):
        raise ValueError(
            f"label map holds id {top}, but label set {label_set!r} has ids 0..{len(enum) - 1}"
        )
    at_image_right = lookup_table(label_set)[label_map]  # person's left side
    at_image_left = lookup_table(label_set, left_is_low_x=True)[label_map]
    if midline_x is None:
        midline_x = label_map.shape[1] / 2
    columns = np.arange(label_map.shape[1])[None, :]
    return np.where(columns < midline_x, at_image_left, at_image_right).astype(np.uint8)


def from_viton(labels: np.ndarray, label_set: str, midline_x: float | None = None) -> np.ndarray:
    """Map (H, W) VITON-HD ids to `label_set` ids (a `FROM_VITON` set), (H, W) uint8.

    Sided targets split at `midline_x` (the image centre without one): pixels left of it in
    the image are the person's right.
    """
    if labels.ndim != 2:
        raise ValueError(f"label map must be (H, W), got shape {labels.shape}")
    if label_set not in FROM_VITON:
        raise ValueError(f"no table from VITON-HD ids to {label_set!r}; known: {list(FROM_VITON)}")
    if labels.size and int(labels.max()) >= len(VitonLabel):
        raise ValueError(f"label map holds id {int(labels.max())}; VITON-HD ids are 0..19")
    _, table = FROM_VITON[label_set]
    at_image_left, at_image_right = np.zeros(256, np.uint8), np.zeros(256, np.uint8)
    for src, dst in table.items():
        left, right = dst if isinstance(dst, tuple) else (dst, dst)
        at_image_right[int(src)] = int(left)  # the person's left is at the image's right
        at_image_left[int(src)] = int(right)
    if midline_x is None:
        midline_x = labels.shape[1] / 2
    columns = np.arange(labels.shape[1])[None, :]
    return np.where(columns < midline_x, at_image_left[labels], at_image_right[labels])


def write_label_map(path: str | Path, ids: np.ndarray, label_set: str) -> None:
    """Write (H, W) ids of `label_set` as a greyscale PNG of the ids, atomically (DressCode's
    `label_maps`: one channel holding the label value)."""
    enum, _ = LABEL_SETS[label_set]
    if ids.ndim != 2:
        raise ValueError(f"label map must be (H, W), got shape {ids.shape}")
    if ids.size and int(ids.max()) >= len(enum):
        raise ValueError(
            f"label map holds id {int(ids.max())}; {label_set} ids are 0..{len(enum) - 1}"
        )
    atomic_save(Image.fromarray(ids.astype(np.uint8), "L"), path, format="PNG")


# --- the palette and the parse PNG --------------------------------------------------------

VITON_COLORS: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0),
    (128, 0, 0),
    (254, 0, 0),
    (0, 85, 0),
    (169, 0, 51),
    (254, 85, 0),
    (0, 0, 85),
    (0, 119, 220),
    (85, 85, 0),
    (0, 85, 85),
    (85, 51, 0),
    (52, 86, 128),
    (0, 128, 0),
    (0, 0, 254),
    (51, 169, 220),
    (0, 254, 254),
    (85, 254, 169),
    (169, 254, 85),
    (254, 254, 0),
    (254, 169, 0),
)


def viton_palette() -> list[int]:
    """The 768-entry palette of the VITON-HD parse PNGs: 20 LIP colours, then a grey ramp."""
    flat = [c for rgb in VITON_COLORS for c in rgb]
    for i in range(len(VITON_COLORS), 256):
        flat += [i, i, i]
    return flat


def read_parse(path: str | Path) -> np.ndarray:
    """Read a parse PNG as (H, W) uint8 label ids.

    A palette PNG gives its indices; a greyscale PNG its values. An RGB rendering is
    decoded by exact palette colour, and any other colour is an error.
    """
    with Image.open(path) as img:
        if img.mode in ("P", "L"):
            return np.array(img, dtype=np.uint8)
        if img.mode == "RGB":
            return _decode_colors(np.array(img), path)
        raise ValueError(f"{path}: parse must be a palette, greyscale or RGB PNG, got {img.mode}")


def _decode_colors(rgb: np.ndarray, path: str | Path) -> np.ndarray:
    code = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    out = np.full(code.shape, 255, np.uint8)
    for label, (r, g, b) in enumerate(VITON_COLORS):
        out[code == ((r << 16) | (g << 8) | b)] = label
    if (out == 255).any():
        bad = tuple(int(v) for v in rgb[out == 255][0])
        raise ValueError(f"{path}: colour {bad} is not a VITON-HD parse colour")
    return out


def write_parse(path: str | Path, labels: np.ndarray) -> None:
    """Write (H, W) uint8 VITON-HD ids as the dataset's palette PNG, atomically."""
    if labels.ndim != 2:
        raise ValueError(f"parse must be (H, W), got shape {labels.shape}")
    if labels.size and int(labels.max()) >= len(VitonLabel):
        raise ValueError(f"parse holds id {int(labels.max())}; VITON-HD ids are 0..19")
    img = Image.fromarray(labels.astype(np.uint8), mode="P")
    img.putpalette(viton_palette())
    atomic_save(img, path, format="PNG")


def colorize(labels: np.ndarray) -> np.ndarray:
    """(H, W) VITON ids -> (H, W, 3) uint8 RGB in the dataset's colours (for previews)."""
    lut = np.array(viton_palette(), np.uint8).reshape(256, 3)
    return lut[labels]


# --- the 13-channel grouping used by the VITON-HD and HR-VITON loaders ----------------------

PARSE_GROUPS: tuple[tuple[str, tuple[VitonLabel, ...]], ...] = (
    ("background", (V.BACKGROUND, V.NECK)),
    ("hair", (V.HAT, V.HAIR)),
    ("face", (V.SUNGLASSES, V.FACE)),
    ("upper", (V.UPPER_CLOTHES, V.DRESS, V.COAT)),
    ("bottom", (V.PANTS, V.SKIRT)),
    ("left_arm", (V.LEFT_ARM,)),
    ("right_arm", (V.RIGHT_ARM,)),
    ("left_leg", (V.LEFT_LEG,)),
    ("right_leg", (V.RIGHT_LEG,)),
    ("left_shoe", (V.LEFT_SHOE,)),
    ("right_shoe", (V.RIGHT_SHOE,)),
    ("socks", (V.SOCKS,)),
    ("noise", (V.GLOVE, V.SCARF)),
)
"""The 13 groups the downstream loaders build (the neck joins the background there)."""

GROUP_OF_LABEL: np.ndarray = np.zeros(256, np.uint8)
for _group, (_name, _labels) in enumerate(PARSE_GROUPS):
    for _label in _labels:
        GROUP_OF_LABEL[int(_label)] = _group


def group13(labels: np.ndarray) -> np.ndarray:
    """(H, W) VITON ids -> (H, W) uint8 group ids 0..12 (see `PARSE_GROUPS`)."""
    return GROUP_OF_LABEL[labels]


def one_hot13(labels: np.ndarray) -> np.ndarray:
    """(H, W) VITON ids -> (13, H, W) float32 one-hot of the 13 groups."""
    groups = group13(labels)
    return (groups[None] == np.arange(len(PARSE_GROUPS))[:, None, None]).astype(np.float32)
