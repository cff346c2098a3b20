"""Cloth-agnostic person representations: the HR-VITON `agnostic-v3.2` recipe, its parse
counterpart, the binary inpainting mask, and DressCode-style lower-body and dress variants.

What the upper-body recipe does (HR-VITON's dataset loader, which made `agnostic-v3.2`):

1. Sizes. The hips are moved along the hip line, about their midpoint, until the hip
   width equals the shoulder width (OpenPose hips sit inside the body; this widens the torso
   to a garment's outline). Every size is a multiple of the unit `r = int(shoulder / 16) + 1`.
2. Grey shapes along the skeleton: a quad shoulders-hips, lines shoulder->hip (6r wide)
   and hip->hip (12r), an ellipse at each hip (half-axes 3r x 6r); a neck box 10r wide
   from 9r above the neck point down to it; a shoulder line 12r wide with ellipses 5r x 6r;
   each present arm segment (shoulder->elbow, elbow->wrist) a line 10r wide with a circle
   of radius 5r at its end. Segments with a missing end are skipped.
3. Restored from the photo over the grey: the face and sunglasses (not the hair: hair
   lying on the shoulders is greyed), the lower body (pants, skirt, legs, shoes), and each
   arm's pixels outside its arm strip (an ellipse 5r x 6r at the shoulder, 10r lines
   along the arm, 5r at the elbow, a 4r circle at the last joint drawn), i.e. the hands.

`parse_agnostic` sets upper clothes, dress, coat and neck to background and removes the
arm labels inside the same arm strips, so the hands stay. HR-VITON's published
`get_parse_agnostic.py` uses fixed sizes instead (10-px unit: 100-px lines, 150-px joint
circles, 40-px wrist circles); on the five golden samples that agrees with the shipped
`image-parse-agnostic-v3.2` on 99.38-100 % of pixels, the strip above on 99.998-100 %
(the rest are single pixels on circle edges, where Pillow's rasteriser changed since).

`agnostic_mask`: no generator of the shipped `agnostic-mask` files was published. Measured
on the five golden samples they are exactly the grey region of step 2 minus step 3:
100.000 % agreement on every sample (0 differing pixels), against 90-96 % for the grey
shapes alone and 98.3-99.2 % for the older HR-VITON preprocessing variant (7r neck square,
10r shoulder line, no hand restore). Restoring the hair as well (as some re-implementations
do) drops it to 96.6-100 %: hair lying on the shoulders is inside the shipped masks.
`agnostic-v3.2` is the photo with that mask painted grey (128, 128, 128): grey regions
agree on 99.67-99.82 % of pixels (the rest is JPEG ringing at the edges of the shipped
file) and the images differ by 0.36-0.63 grey levels on average.

Other categories (DressCode-style, no golden; their geometry is ours, in the same unit r):

- `lower_body`: a hip line 12r wide, each leg (hip->knee->ankle, from the normalised
  hips) a line 12r wide with circles of radius 6r at its joints, the bounding box of the
  lower garment (pants, skirt) and the garment pixels themselves. Restored: head (hat,
  hair, sunglasses, scarf, face), upper body (upper clothes, coat, neck, arms, gloves) and
  each leg's pixels outside its leg strip (the leg shapes, ending in a 4r circle at the
  last joint), i.e. the feet. Shoes are not restored (a trouser hem may cover them).
  A leg whose knee or ankle is missing (usually out of frame) goes on along its last
  segment, or straight down from the hip, to the image's bottom edge.
  Parse: pants and skirt removed, legs inside the leg strips removed. (DressCode's own
  masks use 20r-wide legs and 20r x 12r hip ellipses, which grey a wide band of
  background at the hips; the garment's bounding box here covers wide skirts instead.)
- `dresses`: the upper-body shapes and the leg shapes together, the garment pixels
  (upper clothes, dress, coat, pants, skirt) and the bounding box of the dress, pants and
  skirt pixels below the top of the hip ellipses. Restored: head, hands, feet. Parse:
  every garment label and the neck removed, arms and legs inside their strips removed.

Per sample (`agnostic.category: auto`, the default): each sample's category is the one its
catalog row names (`provenance["category"]`: the DressCode folder it came from, a scraped
product's top / bottom / dress), mapped by `CATALOG_CATEGORIES`; a sample whose catalog
names none (VITON-HD, a folder of photos) or one the table lacks is `upper_body`. The
category used and where it came from are in each sample's provenance. An explicit
`agnostic.category` forces one category on every sample.

Any resolution: the recipe's sizes are pixels at 768 wide. Here `r` is taken in that frame
and scaled back (`r = (int(shoulder * 768 / W / 16) + 1) * W / 768`), so a 384-wide image
gets the same shapes at half size; at 768 wide the result is the dataset's to the pixel.

Bad input: a missing shoulder, or both hips, is `missing_keypoints` naming the points;
one missing hip is estimated (mirrored through the mid-hip point, or, without it, through
the shoulders' midline) and a missing neck point is the shoulders' midpoint, each noted in
`AgnosticResult.notes` (and the sample's provenance). Missing elbows or wrists drop their
segments, as the recipe does; missing knees or ankles extend the leg (above). Keypoints
whose shoulders lie outside the image (written for another size) are `bad_keypoints`. An
all-background parse is `empty_parse`, a parse of another size than the photo
`size_mismatch`, ids above 19 `bad_parse`; missing or unreadable input files are
`missing_input` / `unreadable`.

Speed: about 13 ms for all three outputs of a 1024x768 image (Pillow drawing, numpy).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from vton.annotate.agnostic_categories import (
    AUTO,
    Category,
    check_category,
    sample_category,
)
from vton.annotate.base import ANNOTATION_KINDS, AnnotationRejected, Item, make_fingerprint
from vton.codegraph import code_digest
from vton.formats.labels import VitonLabel as L
from vton.formats.labels import read_parse
from vton.formats.openpose import Body25 as K
from vton.formats.openpose import read_keypoints
from vton.records import Sample

GREY = 128
"""The fill of the masked region in `agnostic-v3.2` (Pillow's "gray")."""

REFERENCE_WIDTH = 768
"""The width the recipe's pixel sizes are written for (VITON-HD's 1024x768)."""

HEAD = (L.HAT, L.HAIR, L.SUNGLASSES, L.SCARF, L.FACE)
UPPER_GARMENT = (L.UPPER_CLOTHES, L.DRESS, L.COAT)
LOWER_GARMENT = (L.PANTS, L.SKIRT)
LOWER_BODY = (*LOWER_GARMENT, L.LEFT_LEG, L.RIGHT_LEG, L.LEFT_SHOE, L.RIGHT_SHOE)
ARMS = (
    (L.RIGHT_ARM, (K.R_SHOULDER, K.R_ELBOW, K.R_WRIST)),
    (L.LEFT_ARM, (K.L_SHOULDER, K.L_ELBOW, K.L_WRIST)),
)
LEGS = ((L.RIGHT_LEG, (K.R_HIP, K.R_KNEE, K.R_ANKLE)), (L.LEFT_LEG, (K.L_HIP, K.L_KNEE, K.L_ANKLE)))


@dataclass(frozen=True)
class _Rule:
    """What one category masks and keeps.

    removed: labels set to background in the parse (limbs inside their strips besides);
    restored: labels shown from the photo over the grey; garment: labels added to the grey
    region; box_labels: labels whose bounding box is added (rows below the hips only with
    `box_below_hips`); torso/arms/legs: which skeleton shapes are drawn.
    """

    removed: tuple[L, ...]
    restored: tuple[L, ...]
    garment: tuple[L, ...] = ()
    box_labels: tuple[L, ...] = ()
    box_below_hips: bool = False
    torso: bool = False
    arms: bool = False
    legs: bool = False


RULES: dict[str, _Rule] = {
    # The VITON-HD files: only face and sunglasses come back from the head, hair does not.
    "upper_body": _Rule(
        removed=(*UPPER_GARMENT, L.NECK),
        restored=(L.SUNGLASSES, L.FACE, *LOWER_BODY),
        torso=True,
        arms=True,
    ),
    "lower_body": _Rule(
        removed=LOWER_GARMENT,
        restored=(*HEAD, L.GLOVE, L.UPPER_CLOTHES, L.COAT, L.NECK, L.LEFT_ARM, L.RIGHT_ARM),
        garment=LOWER_GARMENT,
        box_labels=LOWER_GARMENT,
        legs=True,
    ),
    "dresses": _Rule(
        removed=(*UPPER_GARMENT, L.NECK, *LOWER_GARMENT),
        restored=HEAD,
        garment=(*UPPER_GARMENT, *LOWER_GARMENT),
        box_labels=(L.DRESS, *LOWER_GARMENT),
        box_below_hips=True,
        torso=True,
        arms=True,
        legs=True,
    ),
}


# --- keypoints --------------------------------------------------------------------------


@dataclass(frozen=True)
class BodyFrame:
    """BODY_25 keypoints made ready for drawing.

    points: (25, 2) float64 pixels, hips moved to the shoulder width about their midpoint,
    estimated points filled in; present: (25,) bool; unit: the recipe's r in pixels;
    notes: what was estimated (empty for complete input).
    """

    points: np.ndarray
    present: np.ndarray
    unit: float
    notes: tuple[str, ...]


def _names(ids) -> str:
    return ", ".join(K(i).name for i in ids)


def body_frame(body25: np.ndarray, height: int, width: int) -> BodyFrame:
    """Check (25, 3) BODY_25 keypoints (x, y, confidence; missing = zero confidence or
    (0, 0)) for an H x W image and prepare them; raises AnnotationRejected when the
    shoulders or both hips are missing."""
    kp = np.asarray(body25, dtype=np.float64)
    if kp.shape != (25, 3):
        raise ValueError(f"keypoints must be (25, 3) BODY_25 x, y, confidence; got {kp.shape}")
    finite = np.isfinite(kp).all(axis=1)
    if not finite.all():
        raise AnnotationRejected(
            "bad_keypoints", f"non-finite coordinates at {_names(np.flatnonzero(~finite))}"
        )
    points = kp[:, :2].copy()
    present = (kp[:, 2] > 0) & ~((points[:, 0] == 0) & (points[:, 1] == 0))
    notes: list[str] = []

    shoulders, hips = (K.R_SHOULDER, K.L_SHOULDER), (K.R_HIP, K.L_HIP)
    missing = [k for k in shoulders if not present[k]]
    if all(not present[k] for k in hips):
        missing += list(hips)
    if missing:
        raise AnnotationRejected(
            "missing_keypoints",
            f"{_names(missing)} not detected; the agnostic shapes are sized by the shoulder "
            "width and the torso ends at the hips. Re-run pose on this image or drop it",
        )
    mid_shoulder = (points[K.R_SHOULDER] + points[K.L_SHOULDER]) / 2
    if not (0 <= mid_shoulder[0] < width and 0 <= mid_shoulder[1] < height):
        raise AnnotationRejected(
            "bad_keypoints",
            f"the shoulders' midpoint {tuple(mid_shoulder.round(1))} lies outside the "
            f"{width}x{height} image; were the keypoints written for another image size?",
        )
    for hip, other in ((K.R_HIP, K.L_HIP), (K.L_HIP, K.R_HIP)):
        if not present[hip]:
            if present[K.MID_HIP]:
                points[hip] = 2 * points[K.MID_HIP] - points[other]
                how = "mirrored through MID_HIP"
            else:
                points[hip] = (2 * mid_shoulder[0] - points[other, 0], points[other, 1])
                how = "mirrored through the shoulders' midline"
            present[hip] = True
            notes.append(f"{K(hip).name} estimated ({how})")
    if not present[K.NECK]:
        points[K.NECK] = mid_shoulder
        present[K.NECK] = True
        notes.append("NECK estimated (shoulders' midpoint)")

    shoulder = float(np.linalg.norm(points[K.L_SHOULDER] - points[K.R_SHOULDER]))
    hip_width = float(np.linalg.norm(points[K.L_HIP] - points[K.R_HIP]))
    if shoulder < 1e-3 or hip_width < 1e-3:
        raise AnnotationRejected(
            "bad_keypoints",
            f"shoulder width {shoulder:.2f} px, hip width {hip_width:.2f} px: the two points "
            "of a pair coincide, so the body has no size",
        )
    # The recipe's hip normalisation, then its unit, taken at the 768-wide reference size.
    centre = (points[K.R_HIP] + points[K.L_HIP]) / 2
    for hip in hips:
        points[hip] = centre + (points[hip] - centre) / hip_width * shoulder
    scale = width / REFERENCE_WIDTH
    unit = (int(shoulder / scale / 16) + 1) * scale
    return BodyFrame(points, present, unit, tuple(notes))


# --- drawing ----------------------------------------------------------------------------


class _Pen:
    """Filled shapes on an H x W binary canvas; sizes in units of r."""

    def __init__(self, height: int, width: int, unit: float):
        self.image = Image.new("L", (width, height), 0)
        self.draw = ImageDraw.Draw(self.image)
        self.unit = unit

    def line(self, a, b, width: float) -> None:
        pixels = max(1, round(width * self.unit))
        self.draw.line([(float(a[0]), float(a[1])), (float(b[0]), float(b[1]))], 255, pixels)

    def ellipse(self, centre, rx: float, ry: float) -> None:
        x, y = float(centre[0]), float(centre[1])
        rx, ry = rx * self.unit, ry * self.unit
        self.draw.ellipse((x - rx, y - ry, x + rx, y + ry), 255, 255)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.draw.rectangle((x0, y0, x1, y1), 255, 255)

    def polygon(self, corners) -> None:
        self.draw.polygon([(float(x), float(y)) for x, y in corners], 255, 255)

    def mask(self) -> np.ndarray:
        return np.asarray(self.image) > 0


@dataclass(frozen=True)
class _Strip:
    """A limb strip's sizes in r: half-axes of the root and inner-joint ellipses, line width."""

    root: tuple[float, float]
    joint: tuple[float, float]
    width: float


ARM_STRIP = _Strip(root=(5, 6), joint=(5, 5), width=10)
LEG_STRIP = _Strip(root=(6, 6), joint=(6, 6), width=12)


def _torso(pen: _Pen, p: np.ndarray) -> None:
    u = pen.unit
    for hip in (K.R_HIP, K.L_HIP):
        pen.ellipse(p[hip], 3, 6)
    pen.line(p[K.R_SHOULDER], p[K.R_HIP], 6)
    pen.line(p[K.L_SHOULDER], p[K.L_HIP], 6)
    pen.line(p[K.R_HIP], p[K.L_HIP], 12)
    pen.polygon(p[[K.R_SHOULDER, K.L_SHOULDER, K.L_HIP, K.R_HIP]])
    x, y = p[K.NECK]
    pen.box(x - 5 * u, y - 9 * u, x + 5 * u, y)


def _arms(pen: _Pen, frame: BodyFrame) -> None:
    p, present = frame.points, frame.present
    pen.line(p[K.R_SHOULDER], p[K.L_SHOULDER], 12)
    for shoulder in (K.R_SHOULDER, K.L_SHOULDER):
        pen.ellipse(p[shoulder], 5, 6)
    for _, chain in ARMS:
        for a, b in pairwise(chain):
            if present[a] and present[b]:
                pen.line(p[a], p[b], 10)
                pen.ellipse(p[b], 5, 5)


def _leg_tail(frame: BodyFrame, chain, height: int) -> tuple[np.ndarray, np.ndarray] | None:
    """A leg whose chain stops early (knee or ankle not detected, usually out of frame) goes
    on along its last segment, or straight down from the hip, to the image's bottom edge."""
    p, present = frame.points, frame.present
    last, direction = chain[0], np.array([0.0, 1.0])
    for a, b in pairwise(chain):
        if not present[b]:
            break
        last, direction = b, p[b] - p[a]
    if last == chain[-1] or direction[1] <= 1e-6:
        return None
    start = p[last]
    if start[1] >= height:
        return None
    return start, start + direction * (height - start[1]) / direction[1]


def _legs(pen: _Pen, frame: BodyFrame) -> None:
    p, present = frame.points, frame.present
    height = pen.image.height
    pen.line(p[K.R_HIP], p[K.L_HIP], 12)
    for _, chain in LEGS:
        pen.ellipse(p[chain[0]], *LEG_STRIP.root)
        for a, b in pairwise(chain):
            if present[a] and present[b]:
                pen.line(p[a], p[b], LEG_STRIP.width)
                pen.ellipse(p[b], *LEG_STRIP.joint)
        tail = _leg_tail(frame, chain, height)
        if tail is not None:
            pen.line(*tail, LEG_STRIP.width)


def _limb_strip(frame: BodyFrame, chain, shape: tuple[int, int], sizes: _Strip) -> np.ndarray:
    """The strip along one limb inside which its label is removed: the root ellipse at the
    first joint, lines along present segments, the joint ellipse at inner joints and a 4r
    circle at the last joint drawn (the recipe's hand cut; the foot cut here)."""
    p, present = frame.points, frame.present
    pen = _Pen(*shape, frame.unit)
    pen.ellipse(p[chain[0]], *sizes.root)
    last = chain[0]
    for a, b in pairwise(chain):
        if not (present[a] and present[b]):
            continue
        pen.line(p[a], p[b], sizes.width)
        last = b
        if b != chain[-1]:
            pen.ellipse(p[b], *sizes.joint)
    pen.ellipse(p[last], 4, 4)
    if sizes is LEG_STRIP:
        tail = _leg_tail(frame, chain, shape[0])
        if tail is not None:
            pen.line(*tail, sizes.width)
    return pen.mask()


def _box_of(labels: np.ndarray, below: float | None) -> tuple[int, int, int, int] | None:
    """Bounding box (x0, y0, x1, y1, inclusive) of True pixels, those at rows >= `below`."""
    if below is not None:
        labels = labels & (np.arange(labels.shape[0])[:, None] >= below)
    ys, xs = np.nonzero(labels)
    if ys.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


# --- the three outputs ------------------------------------------------------------------


@dataclass
class AgnosticResult:
    """agnostic: (H, W, 3) uint8 (None when no photo was given); parse_agnostic: (H, W)
    uint8 VITON ids; mask: (H, W) bool, True where the agnostic image is grey; notes: what
    was estimated from incomplete keypoints."""

    agnostic: np.ndarray | None
    parse_agnostic: np.ndarray
    mask: np.ndarray
    notes: tuple[str, ...]


def _check_parse(parse: np.ndarray, rgb: np.ndarray | None) -> np.ndarray:
    parse = np.asarray(parse)
    if parse.ndim != 2 or not np.issubdtype(parse.dtype, np.integer):
        raise ValueError(
            f"parse must be (H, W) integer VITON ids, got shape {parse.shape} {parse.dtype}"
        )
    if rgb is not None:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"photo must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
        if rgb.shape[:2] != parse.shape:
            raise AnnotationRejected(
                "size_mismatch",
                f"parse is {parse.shape[0]}x{parse.shape[1]}, photo is "
                f"{rgb.shape[0]}x{rgb.shape[1]}; re-run parse at the photo's size",
            )
    if parse.size == 0 or not parse.any():
        raise AnnotationRejected(
            "empty_parse", f"the {parse.shape} parse is all background: no person to mask"
        )
    top = int(parse.max())
    if top >= len(L) or int(parse.min()) < 0:
        raise AnnotationRejected("bad_parse", f"parse holds id {top}; VITON-HD ids are 0..19")
    return parse.astype(np.uint8, copy=False)


def _check_category(category: str) -> _Rule:
    check_category(category)
    return RULES[category]


def make_agnostic(
    rgb: np.ndarray | None,
    parse: np.ndarray,
    body25: np.ndarray,
    category: Category = "upper_body",
) -> AgnosticResult:
    """All three agnostic outputs at once from the photo ((H, W, 3) uint8, or None to skip
    the image), its parse ((H, W) VITON ids) and its (25, 3) BODY_25 keypoints (pixels)."""
    rule = _check_category(category)
    parse = _check_parse(parse, rgb)
    shape = (parse.shape[0], parse.shape[1])
    frame = body_frame(body25, *shape)

    pen = _Pen(*shape, frame.unit)
    if rule.torso:
        _torso(pen, frame.points)
    if rule.arms:
        _arms(pen, frame)
    if rule.legs:
        _legs(pen, frame)
    region = pen.mask()
    if rule.garment:
        region |= np.isin(parse, rule.garment)
    if rule.box_labels:
        hip_top = None
        if rule.box_below_hips:
            hip_top = float(frame.points[[K.R_HIP, K.L_HIP], 1].min()) - 6 * frame.unit
        box = _box_of(np.isin(parse, rule.box_labels), hip_top)
        if box is not None:
            x0, y0, x1, y1 = box
            region[y0 : y1 + 1, x0 : x1 + 1] = True

    restored = np.isin(parse, rule.restored)
    parse_out = parse.copy()
    parse_out[np.isin(parse, rule.removed)] = 0
    limbs = []
    if rule.arms:
        limbs += [(label, chain, ARM_STRIP) for label, chain in ARMS]
    if rule.legs:
        limbs += [(label, chain, LEG_STRIP) for label, chain in LEGS]
    for label, chain, sizes in limbs:
        limb = parse == label
        strip = _limb_strip(frame, chain, shape, sizes)
        restored |= limb & ~strip  # hands and feet stay visible
        parse_out[limb & strip] = 0
    mask = region & ~restored

    agnostic = None
    if rgb is not None:
        agnostic = rgb.copy()
        agnostic[mask] = GREY
    return AgnosticResult(agnostic, parse_out, mask, frame.notes)


def agnostic_image(
    rgb: np.ndarray, parse: np.ndarray, body25: np.ndarray, category: Category = "upper_body"
) -> np.ndarray:
    """The cloth-agnostic photo (`agnostic-v3.2`): (H, W, 3) uint8, masked region grey."""
    image = make_agnostic(rgb, parse, body25, category).agnostic
    assert image is not None  # made whenever the photo is given
    return image


def parse_agnostic(
    parse: np.ndarray, body25: np.ndarray, category: Category = "upper_body"
) -> np.ndarray:
    """The parse without the garment to replace (`image-parse-agnostic-v3.2`): (H, W) uint8."""
    return make_agnostic(None, parse, body25, category).parse_agnostic


def agnostic_mask(
    parse: np.ndarray, body25: np.ndarray, category: Category = "upper_body"
) -> np.ndarray:
    """The inpainting mask (`agnostic-mask`): (H, W) bool, True where the agnostic is grey."""
    return make_agnostic(None, parse, body25, category).mask


# --- the annotator ----------------------------------------------------------------------


class HrVitonAgnostic:
    """The `hrviton` agnostic backend: the three agnostic kinds from the dataset's own parse
    and keypoints (`Item.inputs["parse"]`, `Item.inputs["pose_json"]`), in the category
    `sample_category` gives (`Item.attributes["category"]` with `auto`)."""

    name = "hrviton"

    def __init__(self, kind: str, section: Any = None):
        self.kind = kind
        self.outputs = ANNOTATION_KINDS[kind].outputs
        self.section = section
        self.category = getattr(section, "category", AUTO)
        if self.category != AUTO:
            _check_category(self.category)

    def fingerprint(self) -> str:
        return make_fingerprint(self.kind, self.name, self.section, code=__name__)

    def load(self) -> None:
        """Nothing to load: Pillow and numpy only."""

    def annotate(self, item: Item) -> Sample:
        missing = []
        for kind_name in ("parse", "pose_json"):
            path = item.inputs.get(kind_name)
            if path is None:
                missing.append(kind_name)
            elif not Path(path).exists():
                missing.append(f"{kind_name} ({path})")
        if missing:
            raise AnnotationRejected(
                "missing_input",
                f"{item.id} has no {', '.join(missing)}; run the parse and pose stages first",
            )
        try:
            parse = read_parse(item.inputs["parse"])
        except (OSError, ValueError) as exc:
            raise AnnotationRejected("unreadable", f"parse {item.inputs['parse']}: {exc}") from exc
        try:
            body25 = read_keypoints(item.inputs["pose_json"])
        except (OSError, ValueError) as exc:
            raise AnnotationRejected(
                "unreadable", f"keypoints {item.inputs['pose_json']}: {exc}"
            ) from exc
        listed = item.attributes.get("category")
        category, origin = sample_category(self.category, listed)
        result = make_agnostic(item.rgb, parse, body25, category)
        sample = Sample(id=item.id, split=item.split)
        sample.agnostic = result.agnostic
        sample.parse_agnostic = result.parse_agnostic
        sample.agnostic_mask = result.mask
        sample.provenance = {
            "category": category,
            "category_from": origin,
            "code": code_digest(__name__)[:16],
        }
        if listed is not None:
            sample.provenance["catalog_category"] = listed
        if result.notes:
            sample.provenance["estimated"] = list(result.notes)
        return sample
