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

# Colour classes: the rows of the prior, seed and posterior stacks.
SKIN, HAIR, UPPER, LOWER, SHOE, BACK = range(6)
CLASS_NAMES = ("skin", "hair", "upper", "lower", "shoe", "background")


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
    float32 person probability in [0, 1]; mesh: (468, 3) float32 face mesh or None;
    hands: (21, 3) float32 landmark arrays; people: faces seen.
    """

    landmarks: np.ndarray
    segmentation: np.ndarray
    mesh: np.ndarray | None
    hands: list[np.ndarray]
    people: int = 1


class MediaPipeParser:
    """Parse backend built from MediaPipe pose, face mesh, hands and the image's colours.

    `section` (the `parse` params) carries no knobs for this backend; `tuning` exists for
    experiments and tests.
    """

    kind = "parse"
    name = "mediapipe"

    def __init__(self, kind: str = "parse", section: Any = None, tuning: Tuning | None = None):
        self.outputs = outputs_of(self, kind, "parse")
        self.tuning = tuning or Tuning()
        self._models = None

    def fingerprint(self) -> str:
        return make_fingerprint(self.kind, self.name, asdict(self.tuning), code=__name__)

    def load(self) -> None:
        """Create the MediaPipe pose, face mesh and hand models (they ship in the wheel)."""
        if self._models is not None:
            return
        from vton.annotate.mediapipe_models import MediaPipeModels

        models = MediaPipeModels()
        blank = np.zeros((64, 64, 3), np.uint8)  # builds each graph now, not mid-run
        models.pose(blank, count_people=False)
        models.face_mesh(blank)
        models.hands(blank)
        self._models = models

    def close(self) -> None:
        """Release the MediaPipe graphs; a later call loads them again."""
        if self._models is not None:
            self._models.close()
            self._models = None

    def observe(self, rgb: np.ndarray) -> Cues:
        """Run the MediaPipe models on (H, W, 3) uint8 RGB; nobody found is a rejection."""
        self.load()
        models = self._models
        pose = models.pose(rgb, count_people=False)
        if pose is None:
            raise AnnotationRejected(
                "no_person",
                f"MediaPipe pose found no person in the {rgb.shape[1]}x{rgb.shape[0]} image; "
                "the parser needs one person, seen from the front",
            )
        seg = pose.segmentation
        if seg is None or seg.shape != rgb.shape[:2]:
            seg = models.selfie(rgb)
        hands = [hand.landmarks for hand in models.hands(rgb)]
        return Cues(pose.landmarks, seg, models.face_mesh(rgb), hands, pose.people)

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

    body = _Body.measure(lm, mesh)
    person = _main_person(seg > tuning.person_threshold, body)
    if person.sum() < 0.002 * h * w:
        raise AnnotationRejected(
            "no_person",
            f"the person silhouette covers {person.mean():.2%} of the image; the parser "
            "needs one clearly visible person",
        )
    frame = _Frame.build(body, mesh, hands, (h, w), tuning)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB)
    cls, notes = _classify(lab, person, frame, tuning)
    labels = _parts(cls, person, frame, tuning)
    skirt = _looks_like_skirt(labels, frame, tuning)
    if skirt:
        labels[labels == V.PANTS] = V.SKIRT
    notes["lower"] = "skirt" if skirt else "pants"

    # Back to full size along the work-size silhouette, smoothly upsampled (MediaPipe's own
    # mask is no sharper: its model runs at 256 pixels).
    found = (labels != V.BACKGROUND).astype(np.float32)
    full_person = cv2.resize(found, (big_w, big_h), interpolation=cv2.INTER_LINEAR) > 0.5
    return _to_full_size(labels, full_person), notes


# --- geometry ----------------------------------------------------------------------------


@dataclass
class _Body:
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
    def measure(lm: np.ndarray, mesh: np.ndarray | None) -> _Body:
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
        return _Body(
            lm, sw, tl, mid_sh, axis, center, float(face_w), float(face_h), float(top), chin
        )


@dataclass
class _Frame:
    """Per-pixel body geometry at the working scale.

    Capsule maps hold the distance to a limb's bone chain over the capsule radius (below 1
    inside). `u`, `v`: torso coordinates; `head_r`: elliptic distance from the head (1 at
    about the outline of the hair of a short-haired head).
    """

    body: _Body
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
    def build(body: _Body, mesh, hands, shape: tuple[int, int], tuning: Tuning) -> _Frame:
        h, w = shape
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        pt, vis, sw = body.lm[:, :2], body.lm[:, 3], body.sw
        inside = (pt[:, 0] >= 0) & (pt[:, 0] < w) & (pt[:, 1] >= 0) & (pt[:, 1] < h)

        rel_x, rel_y = xx - body.mid_sh[0], yy - body.mid_sh[1]
        v = (rel_x * body.axis[0] + rel_y * body.axis[1]) / body.tl
        u = (rel_x * -body.axis[1] + rel_y * body.axis[0]) / sw

        fc, fw, fh = body.face_center, body.face_w, body.face_h
        if mesh is not None:
            face_hull = _hull_mask(shape, mesh)
            inner_face = _hull_mask(shape, mesh[mesh[:, 1] >= mesh[MESH_BROWS, 1]])
        else:
            face_hull = np.hypot((xx - fc[0]) / (fw / 2), (yy - fc[1]) / (fh / 2)) <= 1
            inner_face = (
                np.hypot((xx - fc[0]) / (fw / 2.4), (yy - fc[1] - 0.1 * fh) / (fh / 2.6)) <= 1
            )
        face_margin = cv2.dilate(face_hull.astype(np.uint8), _disk(0.04 * fw)) > 0
        head_r = np.hypot((xx - fc[0]) / (0.85 * fw), (yy - (fc[1] - 0.1 * fh)) / (0.8 * fh))

        def arm(shoulder, elbow, wrist, hand_points):
            r_up, r_fore = tuning.upper_arm_radius * sw, tuning.forearm_radius * sw
            hand_c = pt[list(hand_points)].mean(0)
            upper = _chain(xx, yy, [pt[shoulder], pt[elbow]], [r_up, r_fore])
            rest = _chain(
                xx, yy, [pt[elbow], pt[wrist], hand_c], [r_fore, r_fore, tuning.hand_radius * sw]
            )
            return np.minimum(upper, rest), upper

        arm_l, upper_l = arm(L_SHOULDER, L_ELBOW, L_WRIST, HAND_POINTS[0])
        arm_r, upper_r = arm(R_SHOULDER, R_ELBOW, R_WRIST, HAND_POINTS[1])

        hand_zone = np.zeros(shape, bool)
        hand_side = np.zeros(shape, np.int8)
        for pts in hands:
            # The side is that of the nearer pose wrist: steadier than MediaPipe handedness.
            left = np.linalg.norm(pts[0] - pt[L_WRIST]) <= np.linalg.norm(pts[0] - pt[R_WRIST])
            zone = cv2.dilate(_hull_mask(shape, pts).astype(np.uint8), _disk(0.04 * sw)) > 0
            hand_zone |= zone
            hand_side[zone] = 1 if left else -1

        radii = [tuning.thigh_radius * sw, tuning.shin_radius * sw, 0.8 * tuning.shin_radius * sw]
        leg_l = _chain(xx, yy, [pt[L_HIP], pt[L_KNEE], pt[L_ANKLE]], radii)
        leg_r = _chain(xx, yy, [pt[R_HIP], pt[R_KNEE], pt[R_ANKLE]], radii)
        knees = (L_KNEE, R_KNEE)
        knees_seen = bool(all(inside[k] and vis[k] > 0.5 for k in knees))
        knee_v = float((((pt[L_KNEE] + pt[R_KNEE]) / 2 - body.mid_sh) @ body.axis) / body.tl)
        if not 1.4 < knee_v < 3.0:  # implausible knees: thighs about as long as the torso
            knee_v = 2.0

        foot_zone = np.zeros(shape, bool)
        foot_side = np.zeros(shape, np.int8)
        for side, (ankle, heel, toe) in (
            (1, (L_ANKLE, L_HEEL, L_FOOT)),
            (-1, (R_ANKLE, R_HEEL, R_FOOT)),
        ):
            if not (inside[toe] and vis[toe] > 0.5):
                continue
            rel = _chain(xx, yy, [pt[ankle], pt[heel], pt[toe], pt[ankle]], [0.12 * sw] * 4)
            zone = (rel < 1) & (yy > pt[ankle][1] - 0.05 * sw)
            foot_zone |= zone
            foot_side[zone] = side

        return _Frame(
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


# --- colour classes ----------------------------------------------------------------------


def _classify(lab: np.ndarray, person: np.ndarray, f: _Frame, tuning: Tuning):
    """(H, W) uint8 colour class per pixel (SKIN..BACK) and notes on the colour models."""
    seeds, skin_dist = _seeds(lab, person, f, tuning)
    prior = _priors(f, tuning)
    model = _ColourModel(lab, tuning.hist_bins)
    hists: dict[int, np.ndarray] = {}
    for c in range(len(CLASS_NAMES)):
        if seeds[c].sum() >= tuning.min_seeds:
            smooth = tuning.skin_smooth if c == SKIN else tuning.hist_smooth
            hists[c] = model.histogram(seeds[c], smooth)
    same = UPPER in hists and LOWER in hists
    if same:  # compared unblurred: blurred histograms of grey and beige overlap already
        raw = [model.histogram(seeds[c], (0.0, 0.0, 0.0)) for c in (UPPER, LOWER)]
        same = _overlap(*raw) > tuning.same_colour
    if same:
        # Top and bottom share their colours: a waist line at the hips splits them.
        hists[UPPER] = hists[LOWER] = (hists[UPPER] + hists[LOWER]) / 2
        waist = _ramp(f.v, tuning.waist_split - 0.05, tuning.waist_split + 0.05)
        in_arm = np.minimum(*f.arm) < 1.0
        prior[LOWER] = np.minimum(prior[LOWER], waist)
        prior[UPPER] = np.minimum(prior[UPPER], np.maximum(1 - waist, in_arm))

    score = np.zeros_like(prior)
    for c, hist in hists.items():
        score[c] = prior[c] * (model.density(hist) + 0.05)
    if SKIN not in hists:  # no face to learn skin from: fall back to the rough Gaussian
        score[SKIN] = prior[SKIN] * 4.0 * np.exp(-0.5 * skin_dist**2)
    post = score / (score.sum(0) + 1e-6)
    k = 2 * round(2.5 * tuning.blur_sigma) + 1
    post = np.stack([cv2.GaussianBlur(p, (k, k), tuning.blur_sigma) for p in post])
    cls = np.argmax(post, 0).astype(np.uint8)
    # Hair below the chin hangs from hair beside the face at chin height: elsewhere it is a
    # dark collar or the like, and the next best class takes it.
    hanging = (cls == HAIR) & (f.yy > f.chin_y)
    if hanging.any():
        band = (f.yy > f.chin_y - 0.25 * f.body.face_h) & (f.yy <= f.chin_y)
        band &= np.abs(f.xx - f.body.face_center[0]) > 0.4 * f.body.face_w
        # (skin-coloured there is hair too: `_parts` labels it so)
        hair_like = (cls == HAIR) | ((cls == SKIN) & ~f.face_margin)
        columns = (hair_like & band & person).any(0)
        width = max(3, round(0.05 * f.body.sw))
        columns = cv2.dilate(columns.astype(np.uint8)[None], np.ones((1, width), np.uint8))[0]
        stray = hanging & ~columns.astype(bool)[None, :]
        post[HAIR][stray] = -1.0
        cls[stray] = np.argmax(post[:, stray], 0)
    cls[f.inner_face] = SKIN
    # A hand is skin unless a sleeve covers it or it is a gap between the fingers.
    cls[f.hand_zone & (cls != UPPER) & (cls != BACK)] = SKIN
    notes = {
        "colour_models": [CLASS_NAMES[c] for c in hists],
        "top_matches_bottom": bool(same),
    }
    return cls, notes


def _seeds(lab: np.ndarray, person: np.ndarray, f: _Frame, tuning: Tuning):
    """(6, H, W) bool seed pixels per class, and every pixel's distance from face skin."""
    b = f.body
    yy, u, v = f.yy, f.u, f.v
    arm_l, arm_r = f.arm
    leg_l, leg_r = f.leg
    seeds = np.zeros((len(CLASS_NAMES), *person.shape), bool)

    # Background: a band just outside the silhouette (which often takes in the gap between
    # the thighs or beside an arm: pixels of these colours).
    r = max(2.0, 0.03 * b.sw)
    grown = cv2.dilate(person.astype(np.uint8), _disk(r)) > 0
    seeds[BACK] = (cv2.dilate(person.astype(np.uint8), _disk(4 * r)) > 0) & ~grown

    # Skin: the inner face without its rim, eyes, brows and lips (the trimmed Gaussian).
    core = cv2.erode(f.inner_face.astype(np.uint8), _disk(0.08 * b.face_w)) > 0
    core &= person
    if core.sum() < 20:
        core = f.inner_face & person
    skin_px = lab[core] if core.sum() >= 20 else np.full((20, 3), (160, 145, 145), np.uint8)
    mean, inv = _robust_gauss(skin_px)
    skin_dist = _mahalanobis(lab, mean, inv)
    skin_like = skin_dist < 3.0
    seeds[SKIN] = (core | f.hand_zone) & person & skin_like

    # Hair: above the forehead whatever its colour (blonde is skin-like), beside the upper
    # face when it is not skin.
    fc, fh = b.face_center, b.face_h
    ring = (f.head_r < 1.0) & ~f.face_margin & (yy < fc[1]) & ~skin_like
    cap = (yy < b.face_top - 0.03 * fh) & (f.head_r < 1.6)
    seeds[HAIR] = person & (ring | cap)

    # Upper: the middle of the torso, away from the arms; the lower garment: the top of
    # the thighs, where pants, shorts and skirts all are.
    torso = (np.abs(u) < 0.3) & (v > 0.2) & (v < 0.7) & (arm_l > 1.2) & (arm_r > 1.2)
    seeds[UPPER] = _drop(person & torso & ~f.hand_zone, skin_like)
    lo, hi = (1.0 + t * (f.knee_v - 1.0) for t in tuning.lower_seed_band)
    thighs = ((leg_l < 0.8) | (leg_r < 0.8)) & (v > lo) & (v < hi)
    thighs &= ~f.hand_zone & (arm_l > 1.3) & (arm_r > 1.3)
    seeds[LOWER] = _drop(person & thighs, skin_like)
    seeds[SHOE] = f.foot_zone & person & ~skin_like
    return seeds, skin_dist


def _drop(region: np.ndarray, unlikely: np.ndarray) -> np.ndarray:
    """`region` without its `unlikely` pixels, unless they are most of it (a skin-coloured
    garment)."""
    kept = region & ~unlikely
    return kept if kept.sum() > 0.4 * max(int(region.sum()), 1) else region


def _priors(f: _Frame, tuning: Tuning) -> np.ndarray:
    """(6, H, W) float32 spatial prior of each colour class, in [0, 1]."""
    b = f.body
    xx, yy, u, v, head_r = f.xx, f.yy, f.u, f.v, f.head_r
    chin_y, fc, fw, fh = f.chin_y, b.face_center, b.face_w, b.face_h
    arm = np.minimum(*f.arm)
    in_arm, in_upper_arm = arm < 1.0, np.minimum(*f.upper_arm) < 1.0
    prior = np.zeros((len(CLASS_NAMES), *xx.shape), np.float32)

    skin_zone = (
        f.face_hull
        | ((np.abs(u) < tuning.neck_half_width) & (v < 0.35) & (yy > chin_y - 0.2 * fh))
        | (arm < tuning.arm_skin_reach)
        | f.hand_zone
        | (((f.leg[0] < 1.0) | (f.leg[1] < 1.0)) & (v > 0.9))
    )
    skin = np.where(skin_zone, 1.0, tuning.skin_floor).astype(np.float32)
    midriff = (v > 0.2) & (v < 1.0) & (np.abs(u) < 0.5)
    skin[midriff] = np.maximum(skin[midriff], 0.3)  # a bare midriff, with little trust
    skin[(head_r < 1.3) & (yy < chin_y) & ~f.face_margin] = 0.3  # beside the face: hair
    prior[SKIN] = skin

    hair = ((head_r < 1.25) | (yy < b.face_top)).astype(np.float32)
    hair[yy > chin_y] = 0.0
    long_hair = (
        (v < tuning.long_hair_v) & (yy >= chin_y) & (np.abs(xx - fc[0]) < 0.55 * b.sw + 0.5 * fw)
    )
    hair[long_hair] = 0.5
    hair[f.face_hull] = tuning.forehead_hair
    hair[f.inner_face] = 0.0
    prior[HAIR] = hair

    # The top: from the collar to a little below the hips, and sleeves: likely on the upper
    # arm, less so on the forearm (long sleeves still win there by colour).
    upper = _ramp(v, tuning.collar_v - 0.1, tuning.collar_v) * _ramp(v, *tuning.hem_v[::-1])
    upper = np.where(in_arm & ~in_upper_arm, tuning.forearm_sleeve, np.maximum(upper, in_upper_arm))
    upper[(yy < chin_y) & (head_r < 1.3)] = 0.0
    prior[UPPER] = upper

    lower = _ramp(v, *tuning.waist_v)
    lower[arm < 0.9] *= 0.2  # hands and sleeves hang beside the hips
    prior[LOWER] = lower
    prior[SHOE] = f.foot_zone
    # Background inside the silhouette: gaps beside the limbs and loose edges, never in the
    # middle of a limb or the torso (white trim there is not a hole).
    solid = f.face_hull | (arm < 0.7) | (np.minimum(*f.leg) < 0.7)
    solid |= (np.abs(u) < 0.4) & (v > -0.5) & (v < 1.0)
    prior[BACK] = np.where(solid, 0.0, tuning.back_prior)
    return prior


class _ColourModel:
    """Smoothed 3-D Lab histograms of seed pixels, read back as densities per pixel."""

    def __init__(self, lab: np.ndarray, bins: tuple[int, int, int]):
        self.bins = tuple(bins)
        q = (lab.astype(np.int32) * np.array(bins)) >> 8
        self.index = (q[..., 0] * bins[1] + q[..., 1]) * bins[2] + q[..., 2]

    def histogram(self, seeds: np.ndarray, sigma: tuple[float, float, float]) -> np.ndarray:
        """Blurred histogram of the colours under (H, W) bool `seeds`, summing to 1."""
        size = int(np.prod(self.bins))
        hist = np.bincount(self.index[seeds], minlength=size).astype(np.float32)
        hist = _blur3(hist.reshape(self.bins), sigma).ravel()
        return hist / max(float(hist.sum()), 1e-9)

    def density(self, hist: np.ndarray) -> np.ndarray:
        """(H, W) float32 density of each pixel's colour under `hist` (1 = uniform)."""
        return hist[self.index] * hist.size


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya coefficient of two normalised histograms (1: the same colours)."""
    return float(np.sqrt(a * b).sum())


def _blur3(volume: np.ndarray, sigma) -> np.ndarray:
    """Separable Gaussian blur of a small 3-D array (zero padding)."""
    volume = volume.astype(np.float32)
    for axis, s in enumerate(sigma):
        if s <= 0:
            continue
        r = max(1, int(np.ceil(2.5 * s)))
        k = np.exp(-0.5 * (np.arange(-r, r + 1) / s) ** 2)
        k /= k.sum()
        pad = [(0, 0)] * volume.ndim
        pad[axis] = (r, r)
        padded = np.moveaxis(np.pad(volume, pad), axis, 0)
        n = volume.shape[axis]
        out = sum(float(wk) * padded[i : i + n] for i, wk in enumerate(k))
        volume = np.moveaxis(out, 0, axis).astype(np.float32)
    return volume


def _robust_gauss(lab: np.ndarray, keep: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """Mean and inverse covariance of the `keep` share of (N, 3) Lab pixels nearest their
    median (drops eyes, brows and lips from face pixels)."""
    x = lab.reshape(-1, 3).astype(np.float32)
    d = np.abs(x - np.median(x, 0)).sum(1)
    x = x[d <= np.quantile(d, keep)]
    cov = np.cov(x.T) + np.diag([25.0, 4.0, 4.0])  # a floor for flat patches
    return x.mean(0), np.linalg.inv(cov)


def _mahalanobis(lab: np.ndarray, mean: np.ndarray, inv: np.ndarray) -> np.ndarray:
    d = lab.astype(np.float32) - mean
    return np.sqrt(np.einsum("...i,ij,...j->...", d, inv, d))


# --- parts -------------------------------------------------------------------------------


def _parts(cls: np.ndarray, person: np.ndarray, f: _Frame, tuning: Tuning) -> np.ndarray:
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
    neck = _chain(f.xx, f.yy, [b.chin, b.mid_sh, b.mid_sh + b.axis * b.tl], [0.25 * sw] * 3)
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
    trim = _disk(tuning.trim_width * sw)
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
    out = _nearest_fill(out, drop, ~drop & (out != V.BACKGROUND))
    out[~person] = V.BACKGROUND
    return out


def _looks_like_skirt(labels: np.ndarray, f: _Frame, tuning: Tuning) -> bool:
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


# --- helpers -----------------------------------------------------------------------------


def _segment_distance(xx, yy, a, b, ra: float, rb: float) -> np.ndarray:
    """Distance of every grid point to segment a-b over the capsule radius there (radius
    ra at a, rb at b, linear between)."""
    ax, ay = float(a[0]), float(a[1])
    dx, dy = float(b[0]) - ax, float(b[1]) - ay
    t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / max(dx * dx + dy * dy, 1e-6), 0.0, 1.0)
    return np.hypot(xx - (ax + t * dx), yy - (ay + t * dy)) / (ra + (rb - ra) * t)


def _chain(xx: np.ndarray, yy: np.ndarray, points, radii) -> np.ndarray:
    """(H, W) float32 normalised distance to a chain of capsules (below 1 inside)."""
    best = np.full(xx.shape, np.inf, np.float32)
    for i in range(len(points) - 1):
        rel = _segment_distance(xx, yy, points[i], points[i + 1], radii[i], radii[i + 1])
        np.minimum(best, rel, out=best)
    return best


def _ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 at lo, 1 at hi, linear between and flat outside (falling when hi < lo)."""
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def _fill_polygon(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(polygon).astype(np.int32).reshape(-1, 1, 2)], 1)
    return mask.astype(bool)


def _hull_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    hull = cv2.convexHull(np.asarray(points[:, :2], np.float32))
    return _fill_polygon(shape, hull.reshape(-1, 2))


def _disk(radius: float) -> np.ndarray:
    r = max(1, round(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """The mask with every background region that does not reach the border filled."""
    flood = np.pad(mask.astype(np.uint8), 1)
    cv2.floodFill(flood, None, (0, 0), 1)
    return mask | (flood[1:-1, 1:-1] == 0)


def _main_person(person: np.ndarray, body: _Body) -> np.ndarray:
    """The silhouette components holding the torso landmarks, and any other large enough
    to be a cut-off limb; smaller ones are other people's or clutter."""
    n, comp, stats, _ = cv2.connectedComponentsWithStats(person.astype(np.uint8))
    if n <= 2:
        return _fill_holes(person)
    h, w = person.shape
    votes = np.zeros(n, int)
    for x, y in body.lm[[L_SHOULDER, R_SHOULDER, L_HIP, R_HIP, NOSE], :2]:
        votes[comp[int(np.clip(y, 0, h - 1)), int(np.clip(x, 0, w - 1))]] += 1
    votes[0] = 0
    area = stats[:, cv2.CC_STAT_AREA]
    main = int(np.argmax(votes)) if votes.max() > 0 else 1 + int(np.argmax(area[1:]))
    keep = (area > 0.02 * area[main]) & (np.arange(n) > 0)
    keep[main] = True
    return _fill_holes(keep[comp])


def _to_full_size(labels: np.ndarray, person: np.ndarray) -> np.ndarray:
    """Work-size labels brought to the size of the full-resolution `person` mask: nearest
    upsampling, then silhouette pixels the small map missed take their nearest part."""
    big_h, big_w = person.shape
    up = cv2.resize(labels, (big_w, big_h), interpolation=cv2.INTER_NEAREST)
    up = _nearest_fill(up, person & (up == V.BACKGROUND), up != V.BACKGROUND)
    up[~person] = V.BACKGROUND
    return up


def _nearest_fill(labels: np.ndarray, holes: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """`labels` with every `holes` pixel set to the label of its nearest `sources` pixel."""
    if not holes.any() or not sources.any():
        return labels
    # The zero pixels of the input are the sources, numbered from 1 in scan order, the
    # order boolean indexing walks them in too.
    _, idx = cv2.distanceTransformWithLabels(
        (~sources).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    out = labels.copy()
    out[holes] = labels[sources][idx[holes] - 1]
    return out
