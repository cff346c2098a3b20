"""Colour classes of the MediaPipe parser: seeds, spatial _priors, colour models and the
posterior over {skin, hair, upper, lower, shoe, background} (step 2 of
`vton.annotate.parse.mediapipe`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import cv2
import numpy as np

from vton.annotate.parse.regions import disk, ramp

if TYPE_CHECKING:
    from vton.annotate.parse.mediapipe import Frame, Tuning

# Colour classes: the rows of the prior, seed and posterior stacks.
SKIN, HAIR, UPPER, LOWER, SHOE, BACK = range(6)
CLASS_NAMES = ("skin", "hair", "upper", "lower", "shoe", "background")


def classify(lab: np.ndarray, person: np.ndarray, f: Frame, tuning: Tuning):
    """(H, W) uint8 colour class per pixel (SKIN..BACK) and notes on the colour models."""
    seeds, skin_dist = _seed_pixels(lab, person, f, tuning)
    prior = _priors(f, tuning)
    model = _ColourModel(lab, tuning.hist_bins)
    hists: dict[int, np.ndarray] = {}
    for c in range(len(CLASS_NAMES)):
        if seeds[c].sum() >= tuning.min_seeds:
            smooth = tuning.skin_smooth if c == SKIN else tuning.hist_smooth
            hists[c] = model.histogram(seeds[c], smooth)
    same = UPPER in hists and LOWER in hists
    if same:  # compared unblurred: blurred histograms of grey and beige _overlap already
        raw = [model.histogram(seeds[c], (0.0, 0.0, 0.0)) for c in (UPPER, LOWER)]
        same = _overlap(*raw) > tuning.same_colour
    if same:
        # Top and bottom share their colours: a waist line at the hips splits them.
        hists[UPPER] = hists[LOWER] = (hists[UPPER] + hists[LOWER]) / 2
        waist = ramp(f.v, tuning.waist_split - 0.05, tuning.waist_split + 0.05)
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


def _seed_pixels(lab: np.ndarray, person: np.ndarray, f: Frame, tuning: Tuning):
    """(6, H, W) bool seed pixels per class, and every pixel's distance from face skin."""
    b = f.body
    yy, u, v = f.yy, f.u, f.v
    arm_l, arm_r = f.arm
    leg_l, leg_r = f.leg
    seeds = np.zeros((len(CLASS_NAMES), *person.shape), bool)

    # Background: a band just outside the silhouette (which often takes in the gap between
    # the thighs or beside an arm: pixels of these colours).
    r = max(2.0, 0.03 * b.sw)
    grown = cv2.dilate(person.astype(np.uint8), disk(r)) > 0
    seeds[BACK] = (cv2.dilate(person.astype(np.uint8), disk(4 * r)) > 0) & ~grown

    # Skin: the inner face without its rim, eyes, brows and lips (the trimmed Gaussian).
    core = cv2.erode(f.inner_face.astype(np.uint8), disk(0.08 * b.face_w)) > 0
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


def _priors(f: Frame, tuning: Tuning) -> np.ndarray:
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
    upper = ramp(v, tuning.collar_v - 0.1, tuning.collar_v) * ramp(v, *tuning.hem_v[::-1])
    upper = np.where(in_arm & ~in_upper_arm, tuning.forearm_sleeve, np.maximum(upper, in_upper_arm))
    upper[(yy < chin_y) & (head_r < 1.3)] = 0.0
    prior[UPPER] = upper

    lower = ramp(v, *tuning.waist_v)
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
        out = cast(np.ndarray, sum(float(wk) * padded[i : i + n] for i, wk in enumerate(k)))
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
