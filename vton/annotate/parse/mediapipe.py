"""The `mediapipe` parse backend: an offline human parser from MediaPipe's bundled models.

No trained parser is involved. The pose model's segmentation mask decides person against
background; the pose landmarks, the face mesh and the hand landmarks lay out where each
body part can be; colour models learnt from the image itself decide what is skin and which
garment a pixel belongs to:

1. Seeds. Skin colour comes from the inner face (face mesh), hair colour from the
   silhouette above and beside the forehead, the top's colour from the middle of the torso
   (between shoulders and hips), the lower garment's from the top of the thighs.
2. Classes. Every person pixel gets a posterior over {skin, hair, upper, lower, shoe,
   background}: a smoothed Lab histogram of each class's seeds times a spatial prior drawn
   from the landmarks (hair around the head and hanging beside it, the top from the collar
   to a little below the hips and on the upper arms as sleeves, the lower garment from the
   waist down, skin on the face, neck, arms, hands and legs, background in the gaps beside
   the limbs that the silhouette takes in, learnt from a band just outside it). The
   posteriors are blurred a little and the largest wins. When top and bottom share their
   colours, a waist line at the hips splits them instead.
3. Parts. Skin splits by geometry: inside the face outline it is face, beside the face hair
   (blonde hair is skin-coloured more often than ears show), elsewhere it goes to the
   nearest of the arm capsules (hands by the hand landmarks), the leg capsules and the
   neck/torso axis. Sleeves are upper clothes, as in VITON-HD. Thin skin-coloured streaks
   on a limb become garment trim, small islands join their neighbours, hair away from the
   head is dropped.

Output ids: background, hair, face, neck, upper clothes, pants (skirt when a garment that
ends between mid-thigh and knee fills the middle between the thighs), left/right arm, leg
and shoe; never hat, glove, sunglasses, dress, coat, socks or scarf. The work happens at
`Tuning.work_side` pixels on the long side (MediaPipe's own mask comes from a 256-pixel
model, so nothing is lost); labels come back to the input size along the smoothly
upsampled silhouette.

A fallback for machines without parser weights: on the five VITON-HD golden samples it
agrees with the dataset's parse at a grouped mIoU of about 0.83 (per-group and per-sample
numbers: `pytest tests/test_annotate_parse_mediapipe.py -s`); its weak spots are arms in
shadow or in skin-coloured sleeves, hair over the shoulders, and any garment that neither
the torso nor the thighs show. A trained parser (segformer, schp_onnx) is the better choice
where weights can be had.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from vton.annotate.base import AnnotationRejected, Item, make_fingerprint, outputs_of
from vton.annotate.mediapipe_models import MpLandmark
from vton.annotate.parse.colour import (
    HAIR,
    LOWER,
    SHOE,
    SKIN,
    UPPER,
    classify,
)
from vton.annotate.parse.regions import (
    chain,
    disk,
    fill_holes,
    hull_mask,
    nearest_fill,
    to_full_size,
)
from vton.annotate.person_analysis import AnalysisUser
from vton.formats.labels import VitonLabel as V
from vton.records import Sample

# MediaPipe pose landmark ids; LEFT/RIGHT are the person's own sides.
NOSE = MpLandmark.NOSE
L_EAR, R_EAR = MpLandmark.LEFT_EAR, MpLandmark.RIGHT_EAR
L_SHOULDER, R_SHOULDER = MpLandmark.LEFT_SHOULDER, MpLandmark.RIGHT_SHOULDER
L_ELBOW, R_ELBOW = MpLandmark.LEFT_ELBOW, MpLandmark.RIGHT_ELBOW
L_WRIST, R_WRIST = MpLandmark.LEFT_WRIST, MpLandmark.RIGHT_WRIST
L_PINKY, R_PINKY = MpLandmark.LEFT_PINKY, MpLandmark.RIGHT_PINKY
L_INDEX, R_INDEX = MpLandmark.LEFT_INDEX, MpLandmark.RIGHT_INDEX
L_THUMB, R_THUMB = MpLandmark.LEFT_THUMB, MpLandmark.RIGHT_THUMB
L_HIP, R_HIP = MpLandmark.LEFT_HIP, MpLandmark.RIGHT_HIP
L_KNEE, R_KNEE = MpLandmark.LEFT_KNEE, MpLandmark.RIGHT_KNEE
L_ANKLE, R_ANKLE = MpLandmark.LEFT_ANKLE, MpLandmark.RIGHT_ANKLE
L_HEEL, R_HEEL = MpLandmark.LEFT_HEEL, MpLandmark.RIGHT_HEEL
L_FOOT, R_FOOT = MpLandmark.LEFT_FOOT_INDEX, MpLandmark.RIGHT_FOOT_INDEX
HEAD_POINTS = tuple(range(11))  # nose, eyes, ears, mouth
HAND_POINTS = ((L_WRIST, L_PINKY, L_INDEX, L_THUMB), (R_WRIST, R_PINKY, R_INDEX, R_THUMB))
MESH_BROWS = 9  # face-mesh point between the eyebrows: below it the face is never hair


@dataclass(frozen=True)
class Tuning:
    """The knobs of the method. Lengths are in body units so they hold at any image size:
    `sw` the shoulder width, `v` the torso coordinate (0 at the shoulders, 1 at the hips),
    `u` the across-torso coordinate in `sw`. Part of the fingerprint."""

    work_side: int = 512  # long side of the working resolution, pixels
    person_threshold: float = 0.5  # segmentation probability that counts as person
    hist_bins: tuple[int, int, int] = (16, 32, 32)  # L, a, b bins of the colour histograms
    hist_smooth: tuple[float, float, float] = (1.5, 1.0, 1.0)  # garment histogram blur, bins
    skin_smooth: tuple[float, float, float] = (2.0, 1.0, 1.0)  # skin: more spread in light
    min_seeds: int = 60  # a class with fewer seed pixels gets no colour model
    blur_sigma: float = 2.0  # posterior blur at the working resolution, pixels
    upper_arm_radius: float = 0.16  # x sw: capsule around shoulder-elbow
    forearm_radius: float = 0.12  # x sw: elbow-wrist
    hand_radius: float = 0.11  # x sw: around the pose hand points
    thigh_radius: float = 0.2  # x sw
    shin_radius: float = 0.13  # x sw
    arm_skin_reach: float = 1.6  # skin is likely up to this many capsule radii from an arm
    neck_half_width: float = 0.2  # |u| within which skin is likely on the neck and neckline
    collar_v: float = -0.22  # tops begin here (their prior ramps up over 0.1 before it)
    hem_v: tuple[float, float] = (1.15, 1.6)  # the top's prior falls from 1 to 0 over this
    waist_v: tuple[float, float] = (0.6, 0.9)  # the lower garment's rises from 0 to 1
    forearm_sleeve: float = 0.5  # sleeve prior on the forearm (1 on the upper arm)
    forehead_hair: float = 0.5  # hair prior on the forehead (fringes)
    long_hair_v: float = 0.55  # hair may hang in front of the chest down to this v
    lower_seed_band: tuple[float, float] = (0.2, 0.5)  # of hip->knee: lower garment seeds
    same_colour: float = 0.5  # histogram overlap above which top and bottom look alike
    waist_split: float = 1.0  # v of the top/bottom boundary when colour cannot tell
    back_prior: float = 0.15  # background prior inside the silhouette (gaps, loose edges)
    skin_floor: float = 0.03  # skin prior away from every skin zone
    trim_width: float = 0.025  # x sw: skin streaks on a limb thinner than twice this are trim
    min_leg: float = 0.06  # x sw^2: smaller leg-skin patches belong to the lower garment
    min_part: float = 0.0015  # x person area: smaller islands join their neighbours
    skirt_fill: float = 0.7  # share of the line between the thighs a skirt covers


@dataclass
class Cues:
    """What the MediaPipe models saw in one image, in pixels of that image.

    landmarks: (33, 4) float32 x, y, z, visibility (MediaPipe pose); segmentation: (H, W)
    float32 person probability in [0, 1] (the backend passes the silhouette, 0 or 1);
    mesh: (468, 3) float32 face mesh or None; hands: (21, 3) float32 landmark arrays;
    people: faces seen.
    """

    landmarks: np.ndarray
    segmentation: np.ndarray
    mesh: np.ndarray | None
    hands: list[np.ndarray]
    people: int = 1


class MediaPipeParser(AnalysisUser):
    """Parse backend built from MediaPipe pose, face mesh, hands and the image's colours.

    `section` (the `parse` params) carries no knobs for this backend; `tuning` exists for
    experiments and tests.
    """

    kind = "parse"
    name = "mediapipe"

    def __init__(self, kind: str = "parse", section: Any = None, tuning: Tuning | None = None):
        self.outputs = outputs_of(self, kind, "parse")
        self.tuning = tuning or Tuning()
        super().__init__()

    def fingerprint(self) -> str:
        return make_fingerprint(self.kind, self.name, asdict(self.tuning), code=__name__)

    def load(self) -> None:
        """Build the MediaPipe face mesh and hand graphs now, not mid-run (they ship in the
        wheel); pose and face detection come with the person analysis."""
        blank = np.zeros((64, 64, 3), np.uint8)
        self.people.models.face_mesh(blank)
        self.people.models.hands(blank)

    def observe(self, rgb: np.ndarray) -> Cues:
        """Run the MediaPipe models on (H, W, 3) uint8 RGB; nobody found is a rejection."""
        seen = self.people.analyse(rgb)
        if seen.landmarks is None or seen.silhouette is None:
            raise AnnotationRejected(
                "no_person",
                f"MediaPipe pose found no person in the {rgb.shape[1]}x{rgb.shape[0]} image; "
                "the parser needs one person, seen from the front",
            )
        models = self.people.models
        hands = [hand.landmarks for hand in models.hands(rgb)]
        mask = seen.silhouette.astype(np.float32)
        return Cues(seen.landmarks, mask, models.face_mesh(rgb), hands)

    def annotate(self, item: Item) -> Sample:
        rgb = item.rgb
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(
                f"{item.id}: expected an (H, W, 3) uint8 RGB image, got {rgb.dtype} {rgb.shape}"
            )
        cues = self.observe(rgb)
        parse, notes = parse_person(rgb, cues, self.tuning)
        notes.update(backend=self.name, people=cues.people, face_mesh=cues.mesh is not None)
        notes["hands"] = len(cues.hands)
        return Sample(id=item.id, split=item.split, parse=parse, provenance=notes)


def parse_person(
    rgb: np.ndarray, cues: Cues, tuning: Tuning | None = None
) -> tuple[np.ndarray, dict]:
    """Label one person photo with VITON-HD ids.

    rgb: (H, W, 3) uint8 RGB; cues: what MediaPipe saw in it. Returns ((H, W) uint8
    `VitonLabel` ids, notes for the provenance). Raises AnnotationRejected("no_person")
    when the silhouette is all but empty.
    """
    tuning = tuning or Tuning()
    big_h, big_w = rgb.shape[:2]
    if cues.segmentation.shape != (big_h, big_w):
        raise ValueError(
            f"segmentation is {cues.segmentation.shape}, the image {(big_h, big_w)}: "
            "cues must come from this image"
        )
    s = min(1.0, tuning.work_side / max(big_h, big_w))
    h, w = max(8, round(big_h * s)), max(8, round(big_w * s))
    small = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    seg = cv2.resize(cues.segmentation.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    lm = cues.landmarks.astype(np.float32).copy()
    lm[:, :2] *= s
    mesh = None if cues.mesh is None else cues.mesh[:, :2] * s
    hands = [pts[:, :2] * s for pts in cues.hands]

    body = Body.measure(lm, mesh)
    person = _main_person(seg > tuning.person_threshold, body)
    if person.sum() < 0.002 * h * w:
        raise AnnotationRejected(
            "no_person",
            f"the person silhouette covers {person.mean():.2%} of the image; the parser "
            "needs one clearly visible person",
        )
    frame = Frame.build(body, mesh, hands, (h, w), tuning)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB)
    cls, notes = classify(lab, person, frame, tuning)
    labels = _parts(cls, person, frame, tuning)
    skirt = _looks_like_skirt(labels, frame, tuning)
    if skirt:
        labels[labels == V.PANTS] = V.SKIRT
    notes["lower"] = "skirt" if skirt else "pants"

    # Back to full size along the work-size silhouette, smoothly upsampled (MediaPipe's own
    # mask is no sharper: its model runs at 256 pixels).
    found = (labels != V.BACKGROUND).astype(np.float32)
    full_person = cv2.resize(found, (big_w, big_h), interpolation=cv2.INTER_LINEAR) > 0.5
    return to_full_size(labels, full_person), notes


# --- geometry ----------------------------------------------------------------------------


@dataclass
class Body:
    """Landmark measurements at the working scale (pixels)."""

    lm: np.ndarray  # (33, 4) x, y, z, visibility
    sw: float  # shoulder width
    tl: float  # shoulder-to-hip length along the torso axis
    mid_sh: np.ndarray  # (2,) between the shoulders
    axis: np.ndarray  # (2,) unit vector, shoulders -> hips
    face_center: np.ndarray  # (2,)
    face_w: float
    face_h: float
    face_top: float  # y of the top of the face outline
    chin: np.ndarray  # (2,)

    @staticmethod
    def measure(lm: np.ndarray, mesh: np.ndarray | None) -> Body:
        pt = lm[:, :2]
        mid_sh = (pt[L_SHOULDER] + pt[R_SHOULDER]) / 2
        mid_hip = (pt[L_HIP] + pt[R_HIP]) / 2
        sw = max(float(np.linalg.norm(pt[L_SHOULDER] - pt[R_SHOULDER])), 4.0)
        down = mid_hip - mid_sh
        tl = float(np.linalg.norm(down))
        if tl < 0.5 * sw:  # hips not placed sensibly: assume an upright torso
            down, tl = np.array([0.0, 1.0]), 1.4 * sw
        axis = down / np.linalg.norm(down)
        if mesh is not None:
            (x0, y0), (x1, y1) = mesh.min(0), mesh.max(0)
            center = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
            chin = mesh[int(np.argmax(mesh[:, 1]))]
            face_w, face_h, top = x1 - x0, y1 - y0, y0
        else:  # no mesh: a face-sized ellipse from the pose's head points
            ears = float(np.linalg.norm(pt[L_EAR] - pt[R_EAR]))
            face_w = max(ears, 0.35 * sw)
            face_h = 1.3 * face_w
            center = pt[list(HEAD_POINTS)].mean(0) + np.array([0.0, 0.1 * face_h])
            top = center[1] - face_h / 2
            chin = center + np.array([0.0, face_h / 2])
        return Body(
            lm, sw, tl, mid_sh, axis, center, float(face_w), float(face_h), float(top), chin
        )


@dataclass
class Frame:
    """Per-pixel body geometry at the working scale.

    Capsule maps hold the distance to a limb's bone chain over the capsule radius (below 1
    inside). `u`, `v`: torso coordinates; `head_r`: elliptic distance from the head (1 at
    about the outline of the hair of a short-haired head).
    """

    body: Body
    xx: np.ndarray
    yy: np.ndarray
    u: np.ndarray
    v: np.ndarray
    face_hull: np.ndarray  # inside the face outline (mesh hull)
    inner_face: np.ndarray  # the face below the brows: face whatever its colour
    face_margin: np.ndarray  # the face outline grown a little
    head_r: np.ndarray
    arm: tuple[np.ndarray, np.ndarray]  # (left, right) whole arm
    upper_arm: tuple[np.ndarray, np.ndarray]  # (left, right) shoulder-elbow only
    leg: tuple[np.ndarray, np.ndarray]  # (left, right) hip-knee-ankle
    hand_zone: np.ndarray
    hand_side: np.ndarray  # +1 the person's left hand, -1 the right
    foot_zone: np.ndarray
    foot_side: np.ndarray
    knee_v: float
    knees_seen: bool

    @property
    def chin_y(self) -> float:
        return float(self.body.chin[1])

    @staticmethod
    def build(body: Body, mesh, hands, shape: tuple[int, int], tuning: Tuning) -> Frame:
        h, w = shape
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        pt, vis, sw = body.lm[:, :2], body.lm[:, 3], body.sw
        inside = (pt[:, 0] >= 0) & (pt[:, 0] < w) & (pt[:, 1] >= 0) & (pt[:, 1] < h)

        rel_x, rel_y = xx - body.mid_sh[0], yy - body.mid_sh[1]
        v = (rel_x * body.axis[0] + rel_y * body.axis[1]) / body.tl
        u = (rel_x * -body.axis[1] + rel_y * body.axis[0]) / sw

        fc, fw, fh = body.face_center, body.face_w, body.face_h
        if mesh is not None:
            face_hull = hull_mask(shape, mesh)
            inner_face = hull_mask(shape, mesh[mesh[:, 1] >= mesh[MESH_BROWS, 1]])
        else:
            face_hull = np.hypot((xx - fc[0]) / (fw / 2), (yy - fc[1]) / (fh / 2)) <= 1
            inner_face = (
                np.hypot((xx - fc[0]) / (fw / 2.4), (yy - fc[1] - 0.1 * fh) / (fh / 2.6)) <= 1
            )
        face_margin = cv2.dilate(face_hull.astype(np.uint8), disk(0.04 * fw)) > 0
        head_r = np.hypot((xx - fc[0]) / (0.85 * fw), (yy - (fc[1] - 0.1 * fh)) / (0.8 * fh))

        def arm(shoulder, elbow, wrist, hand_points):
            r_up, r_fore = tuning.upper_arm_radius * sw, tuning.forearm_radius * sw
            hand_c = pt[list(hand_points)].mean(0)
            upper = chain(xx, yy, [pt[shoulder], pt[elbow]], [r_up, r_fore])
            rest = chain(
                xx, yy, [pt[elbow], pt[wrist], hand_c], [r_fore, r_fore, tuning.hand_radius * sw]
            )
            return np.minimum(upper, rest), upper

        arm_l, upper_l = arm(L_SHOULDER, L_ELBOW, L_WRIST, HAND_POINTS[0])
        arm_r, upper_r = arm(R_SHOULDER, R_ELBOW, R_WRIST, HAND_POINTS[1])

        hand_zone, hand_side = _hand_zones(hands, pt, shape, sw)

        radii = [tuning.thigh_radius * sw, tuning.shin_radius * sw, 0.8 * tuning.shin_radius * sw]
        leg_l = chain(xx, yy, [pt[L_HIP], pt[L_KNEE], pt[L_ANKLE]], radii)
        leg_r = chain(xx, yy, [pt[R_HIP], pt[R_KNEE], pt[R_ANKLE]], radii)
        knees = (L_KNEE, R_KNEE)
        knees_seen = bool(all(inside[k] and vis[k] > 0.5 for k in knees))
        knee_v = float((((pt[L_KNEE] + pt[R_KNEE]) / 2 - body.mid_sh) @ body.axis) / body.tl)
        if not 1.4 < knee_v < 3.0:  # implausible knees: thighs about as long as the torso
            knee_v = 2.0

        foot_zone, foot_side = _foot_zones(xx, yy, pt, inside & (vis > 0.5), sw)

        return Frame(
            body,
            xx,
            yy,
            u,
            v,
            face_hull,
            inner_face,
            face_margin,
            head_r,
            (arm_l, arm_r),
            (upper_l, upper_r),
            (leg_l, leg_r),
            hand_zone,
            hand_side,
            foot_zone,
            foot_side,
            knee_v,
            knees_seen,
        )


def _hand_zones(hands, pt: np.ndarray, shape: tuple[int, int], sw: float):
    """Where the hand landmarks put each hand, and its side (+1 the person's left)."""
    hand_zone = np.zeros(shape, bool)
    hand_side = np.zeros(shape, np.int8)
    for pts in hands:
        # The side is that of the nearer pose wrist: steadier than MediaPipe handedness.
        left = np.linalg.norm(pts[0] - pt[L_WRIST]) <= np.linalg.norm(pts[0] - pt[R_WRIST])
        zone = cv2.dilate(hull_mask(shape, pts).astype(np.uint8), disk(0.04 * sw)) > 0
        hand_zone |= zone
        hand_side[zone] = 1 if left else -1
    return hand_zone, hand_side


def _foot_zones(xx: np.ndarray, yy: np.ndarray, pt: np.ndarray, seen: np.ndarray, sw: float):
    """Capsules around each foot whose toe the pose sees in the frame, and their sides."""
    foot_zone = np.zeros(xx.shape, bool)
    foot_side = np.zeros(xx.shape, np.int8)
    for side, (ankle, heel, toe) in (
        (1, (L_ANKLE, L_HEEL, L_FOOT)),
        (-1, (R_ANKLE, R_HEEL, R_FOOT)),
    ):
        if not seen[toe]:
            continue
        rel = chain(xx, yy, [pt[ankle], pt[heel], pt[toe], pt[ankle]], [0.12 * sw] * 4)
        zone = (rel < 1) & (yy > pt[ankle][1] - 0.05 * sw)
        foot_zone |= zone
        foot_side[zone] = side
    return foot_zone, foot_side


# --- parts -------------------------------------------------------------------------------


def _parts(cls: np.ndarray, person: np.ndarray, f: Frame, tuning: Tuning) -> np.ndarray:
    """VITON-HD ids from colour classes: skin split into body parts by geometry."""
    b, sw = f.body, f.body.sw
    out = np.zeros(cls.shape, np.uint8)
    out[cls == HAIR] = V.HAIR
    out[cls == UPPER] = V.UPPER_CLOTHES
    out[cls == LOWER] = V.PANTS
    shoe = cls == SHOE
    out[shoe] = np.where(f.foot_side[shoe] >= 0, V.LEFT_SHOE, V.RIGHT_SHOE)
    out[~person] = V.BACKGROUND

    # Skin goes to the nearest skeleton: an arm, a leg (below the waist) or the neck/torso
    # axis (neck and neckline skin).
    skin = (cls == SKIN) & person
    neck = chain(f.xx, f.yy, [b.chin, b.mid_sh, b.mid_sh + b.axis * b.tl], [0.25 * sw] * 3)
    below_waist = f.v > 0.9
    reach = np.stack(
        [
            f.arm[0],
            f.arm[1],
            np.where(below_waist, f.leg[0], np.inf),
            np.where(below_waist, f.leg[1], np.inf),
            1.2 * neck,
        ]
    )
    part_ids = np.array([V.LEFT_ARM, V.RIGHT_ARM, V.LEFT_LEG, V.RIGHT_LEG, V.NECK], np.uint8)
    out[skin] = part_ids[np.argmin(reach, 0)[skin]]

    # Thin skin-coloured streaks along a limb are garment trim (stripes), not skin; a small
    # skin-coloured patch on the lower garment is a print, not a bare leg.
    trim = disk(tuning.trim_width * sw)
    for part_id, garment in (
        (V.LEFT_ARM, V.UPPER_CLOTHES),
        (V.RIGHT_ARM, V.UPPER_CLOTHES),
        (V.LEFT_LEG, V.PANTS),
        (V.RIGHT_LEG, V.PANTS),
    ):
        part = (out == part_id) & ~f.hand_zone
        kept = cv2.morphologyEx(part.astype(np.uint8), cv2.MORPH_OPEN, trim) > 0
        out[part & ~kept] = garment
    for part_id in (V.LEFT_LEG, V.RIGHT_LEG):
        _, comp, stats, _ = cv2.connectedComponentsWithStats((out == part_id).astype(np.uint8))
        small = np.nonzero(stats[:, cv2.CC_STAT_AREA] < tuning.min_leg * sw * sw)[0]
        out[np.isin(comp, small[small > 0])] = V.PANTS

    hand = skin & f.hand_zone
    out[hand] = np.where(f.hand_side[hand] > 0, V.LEFT_ARM, V.RIGHT_ARM)
    # Beside the face, above the chin, skin-coloured pixels are (blonde) hair more often
    # than ears.
    out[skin & (f.head_r < 1.3) & (f.yy < f.chin_y) & ~f.face_margin] = V.HAIR
    out[skin & f.face_margin & (f.yy < f.chin_y + 0.03 * b.face_h)] = V.FACE
    out[f.inner_face & person] = V.FACE

    head = (f.head_r < 1.3) & (f.yy < f.chin_y + 0.3 * b.face_h)
    return _clean(out, person, head, tuning)


def _clean(out: np.ndarray, person: np.ndarray, head: np.ndarray, tuning: Tuning) -> np.ndarray:
    """Islands smaller than `min_part` of the person (background gaps in the silhouette
    included), and hair that does not reach the `head` region, take the label of their
    nearest part."""
    min_area = tuning.min_part * max(int(person.sum()), 1)
    drop = np.zeros(out.shape, bool)
    for label in np.unique(out):
        region = (out == label) & person  # background: only the gaps inside the silhouette
        n, comp = cv2.connectedComponents(region.astype(np.uint8), connectivity=4)
        area = np.bincount(comp.ravel(), minlength=n)
        bad = area < min_area
        if label == V.HAIR:
            bad |= np.bincount(comp[head], minlength=n) == 0
        bad[0] = False
        drop |= bad[comp]
    out = nearest_fill(out, drop, ~drop & (out != V.BACKGROUND))
    out[~person] = V.BACKGROUND
    return out


def _looks_like_skirt(labels: np.ndarray, f: Frame, tuning: Tuning) -> bool:
    """Whether the lower garment is a skirt: it ends between mid-thigh and the knees on
    both legs and fills the middle between the thighs down to its hem (shorts part there).
    Anything shorter or longer, and photos without both knees, stay pants."""
    if not f.knees_seen:
        return False
    pt = f.body.lm[:, :2]
    h, w = labels.shape
    t = np.linspace(0.0, 1.0, 21)[:, None]
    legs = [pt[hip] + t * (pt[knee] - pt[hip]) for hip, knee in ((L_HIP, L_KNEE), (R_HIP, R_KNEE))]
    middle = (legs[0] + legs[1]) / 2

    def lower_along(points: np.ndarray) -> np.ndarray:
        x = np.clip(np.round(points[:, 0]).astype(int), 0, w - 1)
        y = np.clip(np.round(points[:, 1]).astype(int), 0, h - 1)
        return labels[y, x] == V.PANTS

    hems = []
    for leg in legs:
        covered = np.nonzero(lower_along(leg))[0]
        if covered.size == 0:
            return False
        hems.append(int(covered.max()))
    hem = min(hems)
    if hem >= len(t) - 2:  # reaches the knees: pants (or a long skirt, left as pants)
        return False
    if hem < len(t) // 2:  # above mid-thigh: shorts and minis look alike; pants
        return False
    start = round(0.3 * (len(t) - 1))
    return bool(lower_along(middle[start:hem]).mean() >= tuning.skirt_fill)


def _main_person(person: np.ndarray, body: Body) -> np.ndarray:
    """The silhouette components holding the torso landmarks, and any other large enough
    to be a cut-off limb; smaller ones are other people's or clutter."""
    n, comp, stats, _ = cv2.connectedComponentsWithStats(person.astype(np.uint8))
    if n <= 2:
        return fill_holes(person)
    h, w = person.shape
    votes = np.zeros(n, int)
    for x, y in body.lm[[L_SHOULDER, R_SHOULDER, L_HIP, R_HIP, NOSE], :2]:
        votes[comp[int(np.clip(y, 0, h - 1)), int(np.clip(x, 0, w - 1))]] += 1
    votes[0] = 0
    area = stats[:, cv2.CC_STAT_AREA]
    main = int(np.argmax(votes)) if votes.max() > 0 else 1 + int(np.argmax(area[1:]))
    keep = (area > 0.02 * area[main]) & (np.arange(n) > 0)
    keep[main] = True
    return fill_holes(keep[comp])
