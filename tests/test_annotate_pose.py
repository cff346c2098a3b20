"""The MediaPipe pose backend: converters on synthetic landmarks, real MediaPipe on the photos
that scikit-image and matplotlib ship, several people, and PCK against the golden OpenPose."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest
from annotate_data import astronaut, hopper, loaded_annotator, photo_item
from skimage import data as skimage_data

from vton.annotate.base import AnnotationRejected
from vton.annotate.pose import (
    BODY25_FROM_MEDIAPIPE,
    HIP_WIDEN,
    SHOULDER_NARROW,
    MediaPipePose,
    MpLandmark,
    correct_hips,
    mediapipe_to_body25,
    mediapipe_to_coco18,
)
from vton.config import PoseParams
from vton.formats import openpose
from vton.formats.images import read_rgb
from vton.formats.openpose import Body25, Coco18
from vton.qa.agreement import TORSO_KEYPOINTS, pck, torso_height

# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def annotator() -> Iterator[MediaPipePose]:
    """One loaded MediaPipe annotator for the whole module."""
    yield from loaded_annotator("pose", PoseParams(backend="mediapipe"), MediaPipePose)


_item = photo_item


def _resize_to_height(rgb: np.ndarray, height: int) -> np.ndarray:
    import cv2

    width = round(rgb.shape[1] * height / rgb.shape[0])
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


def _side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two photos standing on a grey floor, bottoms aligned."""
    height = max(left.shape[0], right.shape[0])
    canvas = np.full((height, left.shape[1] + right.shape[1], 3), 200, np.uint8)
    canvas[height - left.shape[0] :, : left.shape[1]] = left
    canvas[height - right.shape[0] :, left.shape[1] :] = right
    return canvas


_astronaut, _hopper = astronaut, hopper


def _synthetic_landmarks(visibility: float = 0.9) -> np.ndarray:
    """A frontal stick figure in a 400x300 image: the person's left is at larger x."""
    lm = np.zeros((33, 4), np.float32)
    lm[:, 3] = visibility
    for mp_id in MpLandmark:
        side = 1 if mp_id.name.startswith("LEFT") else -1 if mp_id.name.startswith("RIGHT") else 0
        lm[mp_id, 0] = 150 + side * (5 + mp_id.value)  # a distinct x per landmark
        lm[mp_id, 1] = 20 + 10 * mp_id.value  # and a distinct y
    lm[MpLandmark.LEFT_SHOULDER, :2] = (190, 100)
    lm[MpLandmark.RIGHT_SHOULDER, :2] = (110, 104)
    lm[MpLandmark.LEFT_HIP, :2] = (180, 250)
    lm[MpLandmark.RIGHT_HIP, :2] = (120, 254)
    return lm


# --- converters -------------------------------------------------------------------------


def test_body25_mapping_neck_and_midhip():
    lm = _synthetic_landmarks()
    body = mediapipe_to_body25(lm, 0.3, hip_correction=False, shoulder_correction=False)
    assert body.shape == (25, 3) and body.dtype == np.float32
    for b25, mp_id in BODY25_FROM_MEDIAPIPE.items():
        np.testing.assert_allclose(body[b25], [lm[mp_id, 0], lm[mp_id, 1], 0.9], rtol=1e-6)
    # The person's left is MediaPipe LEFT_* and BODY_25 L*.
    assert body[Body25.L_SHOULDER, 0] > body[Body25.R_SHOULDER, 0]
    np.testing.assert_allclose(body[Body25.NECK], [150, 102, 0.9], rtol=1e-6)
    np.testing.assert_allclose(body[Body25.MID_HIP], [150, 252, 0.9], rtol=1e-6)
    np.testing.assert_array_equal(body[Body25.L_SMALL_TOE], 0)
    np.testing.assert_array_equal(body[Body25.R_SMALL_TOE], 0)
    np.testing.assert_allclose(body[Body25.L_BIG_TOE, :2], lm[MpLandmark.LEFT_FOOT_INDEX, :2])
    np.testing.assert_allclose(body[Body25.R_HEEL, :2], lm[MpLandmark.RIGHT_HEEL, :2])


def test_points_below_min_confidence_are_missing():
    lm = _synthetic_landmarks()
    lm[MpLandmark.LEFT_SHOULDER, 3] = 0.2
    lm[MpLandmark.RIGHT_WRIST, 3] = 0.29
    lm[MpLandmark.RIGHT_HIP, 3] = 0.5
    body = mediapipe_to_body25(lm, 0.3)
    for k in (Body25.L_SHOULDER, Body25.R_WRIST, Body25.NECK):
        np.testing.assert_array_equal(body[k], 0, err_msg=k.name)
    # MidHip takes the smaller confidence of the two hips.
    assert body[Body25.MID_HIP, 2] == pytest.approx(0.5)
    # A threshold of 0 keeps everything but a zero visibility.
    lm[MpLandmark.NOSE, 3] = 0
    body = mediapipe_to_body25(lm, 0.0)
    assert body[Body25.L_SHOULDER, 2] == pytest.approx(0.2)
    np.testing.assert_array_equal(body[Body25.NOSE], 0)


def test_points_outside_the_image_are_missing():
    lm = _synthetic_landmarks()
    lm[MpLandmark.LEFT_ANKLE, :2] = (160, 450)  # below a 400-high image
    lm[MpLandmark.RIGHT_WRIST, :2] = (-3, 200)
    body = mediapipe_to_body25(lm, 0.3, image_size=(400, 300))
    np.testing.assert_array_equal(body[Body25.L_ANKLE], 0)
    np.testing.assert_array_equal(body[Body25.R_WRIST], 0)
    assert body[Body25.R_ANKLE, 2] > 0
    assert mediapipe_to_body25(lm, 0.3)[Body25.L_ANKLE, 2] > 0  # no size, no check


def test_hip_correction_widens_about_the_midpoint():
    lm = _synthetic_landmarks()
    plain = mediapipe_to_body25(lm, 0.3, hip_correction=False)
    fixed = mediapipe_to_body25(lm, 0.3, hip_correction=True)
    np.testing.assert_allclose(fixed[Body25.MID_HIP], plain[Body25.MID_HIP], atol=1e-4)
    width = fixed[Body25.L_HIP, :2] - fixed[Body25.R_HIP, :2]
    np.testing.assert_allclose(width, HIP_WIDEN * np.array([60, -4]), rtol=1e-5)
    np.testing.assert_array_equal(
        np.delete(fixed, [Body25.R_HIP, Body25.L_HIP], 0),
        np.delete(plain, [Body25.R_HIP, Body25.L_HIP], 0),
    )
    # The corrected copy leaves the input alone.
    assert correct_hips(lm)[MpLandmark.LEFT_HIP, 0] != lm[MpLandmark.LEFT_HIP, 0]


def test_shoulder_correction_narrows_about_the_neck():
    lm = _synthetic_landmarks()
    plain = mediapipe_to_body25(lm, 0.3, shoulder_correction=False)
    fixed = mediapipe_to_body25(lm, 0.3)
    np.testing.assert_allclose(fixed[Body25.NECK], plain[Body25.NECK], atol=1e-4)
    width = fixed[Body25.L_SHOULDER, :2] - fixed[Body25.R_SHOULDER, :2]
    np.testing.assert_allclose(width, SHOULDER_NARROW * np.array([80, -4]), rtol=1e-5)
    moved = [Body25.R_SHOULDER, Body25.L_SHOULDER]
    np.testing.assert_array_equal(np.delete(fixed, moved, 0), np.delete(plain, moved, 0))
    assert lm[MpLandmark.LEFT_HIP, 0] == 180


def test_coco18_order():
    lm = _synthetic_landmarks()
    body = mediapipe_to_body25(lm, 0.3)
    coco = mediapipe_to_coco18(lm, 0.3)
    assert coco.shape == (18, 3)
    for point in Coco18:
        np.testing.assert_array_equal(coco[point], body[Body25[point.name]], err_msg=point.name)
    assert coco[Coco18.L_HIP, 0] > coco[Coco18.R_HIP, 0]


def test_converter_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(33, 4\).*got \(33, 3\)"):
        mediapipe_to_body25(np.zeros((33, 3)), 0.3)
    with pytest.raises(ValueError, match="NaN"):
        mediapipe_to_body25(np.full((33, 4), np.nan), 0.3)
    with pytest.raises(ValueError, match="min_confidence"):
        mediapipe_to_body25(_synthetic_landmarks(), 1.5)
    with pytest.raises(ValueError, match="min_confidence"):
        MediaPipePose("pose", PoseParams(backend="mediapipe", min_confidence=-0.1))


def test_fingerprint_follows_params():
    base = MediaPipePose("pose", PoseParams(backend="mediapipe")).fingerprint()
    assert base == MediaPipePose("pose", PoseParams(backend="mediapipe")).fingerprint()
    assert base.startswith("pose-mediapipe-")
    changes = ({"min_confidence": 0.5}, {"hip_correction": False}, {"shoulder_correction": False})
    for change in changes:
        other = MediaPipePose("pose", PoseParams(backend="mediapipe", **change)).fingerprint()
        assert other != base, change


# --- real MediaPipe ---------------------------------------------------------------------


def _check_anatomy(body: np.ndarray, height: int, width: int) -> None:
    present = body[:, 2] > 0
    for k in (Body25.NOSE, Body25.NECK, Body25.R_SHOULDER, Body25.L_SHOULDER):
        assert present[k], f"{k.name} missing"
    nose, neck = body[Body25.NOSE], body[Body25.NECK]
    r_sh, l_sh = body[Body25.R_SHOULDER], body[Body25.L_SHOULDER]
    assert nose[1] < neck[1], "nose below the neck"
    assert r_sh[0] < neck[0] < l_sh[0], "neck not between the shoulders"
    # A frontal photo: the person's left shoulder is on the image's right.
    assert l_sh[0] > r_sh[0]
    shoulders = float(np.linalg.norm(l_sh[:2] - r_sh[:2]))
    assert 0.15 * min(height, width) < shoulders < 0.95 * min(height, width), shoulders
    for eye in (Body25.R_EYE, Body25.L_EYE):
        assert present[eye], f"{eye.name} missing"
        assert np.linalg.norm(body[eye, :2] - nose[:2]) < 0.35 * shoulders
    assert body[Body25.R_EYE, 0] < body[Body25.L_EYE, 0]
    xs, ys = body[present, 0], body[present, 1]
    assert (xs >= 0).all() and (xs < width).all() and (ys >= 0).all() and (ys < height).all()
    np.testing.assert_array_equal(body[~present], 0)


@pytest.mark.parametrize("photo", [_astronaut, _hopper], ids=["astronaut", "grace_hopper"])
def test_real_photo(annotator, photo, tmp_path):
    rgb = photo()
    sample = annotator.annotate(_item(rgb, photo.__name__.strip("_")))
    body = sample.pose
    assert body.shape == (25, 3) and body.dtype == np.float32
    _check_anatomy(body, *rgb.shape[:2])
    assert sample.provenance["people"] == 1 and sample.provenance["kept"] == "single"
    assert 0.3 < sample.provenance["mean_visibility"] <= 1
    path = tmp_path / "photo_keypoints.json"
    openpose.write_keypoints(path, body)
    np.testing.assert_allclose(openpose.read_keypoints(path), body, rtol=1e-5, atol=1e-3)


def test_landscape_canvas_maps_back_to_its_pixels(annotator):
    rgb = _astronaut()
    wide = np.full((512, 1100, 3), 200, np.uint8)
    wide[:, 300:812] = rgb
    plain = annotator.annotate(_item(rgb)).pose
    moved = annotator.annotate(_item(wide)).pose
    _check_anatomy(moved, 512, 1100)
    moved[:, 0] -= 300
    # The face does not move with the framing; a half-length portrait's shoulders do
    # (MediaPipe guesses the hidden hips differently on a wider canvas), but by far less
    # than any mix-up of width and height would.
    shoulders = np.linalg.norm(plain[Body25.L_SHOULDER, :2] - plain[Body25.R_SHOULDER, :2])
    for k in (Body25.NOSE, Body25.R_EYE, Body25.L_EYE):
        assert np.linalg.norm(moved[k, :2] - plain[k, :2]) < 0.05 * shoulders, k.name
    for k in (Body25.R_SHOULDER, Body25.L_SHOULDER):
        assert np.linalg.norm(moved[k, :2] - plain[k, :2]) < 0.5 * shoulders, k.name


@pytest.mark.parametrize("name", ["coffee", "rocket", "chelsea"])
def test_no_person_is_rejected(annotator, name):
    rgb = getattr(skimage_data, name)()
    with pytest.raises(AnnotationRejected) as err:
        annotator.annotate(_item(rgb, name))
    assert err.value.reason == "no_person"
    assert name in err.value.detail


@pytest.mark.parametrize(
    "left_height, right_height, photo",
    [(512, 420, _hopper), (420, 512, _astronaut), (512, 300, _hopper)],
    ids=["hopper-512-420", "astronaut-420-512", "hopper-512-300"],
)
def test_two_people_keep_the_bigger(annotator, left_height, right_height, photo):
    left, right = (_resize_to_height(photo(), h) for h in (left_height, right_height))
    rgb = _side_by_side(left, right)
    sample = annotator.annotate(_item(rgb, "pair"))
    print(f"\n{left_height}+{right_height}: {sample.provenance}")
    assert sample.provenance["people"] == 2
    assert sample.provenance["kept"] in ("largest_face", "largest_face_others_hidden")
    body = sample.pose
    _check_anatomy(body, *rgb.shape[:2])
    # Nose and both shoulders belong to the photo that was pasted larger.
    big_on_left = left_height > right_height
    for k in (Body25.NOSE, Body25.R_SHOULDER, Body25.L_SHOULDER):
        x = body[k, 0]
        assert (x < left.shape[1]) == big_on_left, (k.name, x, left.shape[1])


# --- golden: agreement with the dataset's own OpenPose -----------------------------------


@pytest.mark.golden
def test_golden_pck_against_dataset_openpose(annotator, golden, golden_ids):
    hips = (Body25.R_HIP, Body25.L_HIP)
    totals = {False: [0, 0], True: [0, 0]}
    sure = [0, 0]  # corrected, counting only reference points of confidence >= 0.3
    hip_error = {False: [], True: []}
    seconds = []
    print("\nsample    PCK@0.1 raw  corrected  hip error raw -> corrected (torso heights)")
    for sid in golden_ids:
        rgb = read_rgb(golden / "test" / "image" / f"{sid}.jpg")
        ref = openpose.read_keypoints(golden / "test" / "openpose_json" / f"{sid}_keypoints.json")
        start = time.perf_counter()
        sample = annotator.annotate(_item(rgb, sid))
        seconds.append(time.perf_counter() - start)
        landmarks, _, _ = annotator.find_person(rgb, sid)
        scale = torso_height(ref)
        line = f"{sid}"
        for corrected in (False, True):
            # raw: MediaPipe's points at visibility >= 0.3; corrected: the defaults
            # (hips and shoulders moved, points down to visibility 0.05)
            threshold = PoseParams().min_confidence if corrected else 0.3
            body = mediapipe_to_body25(
                landmarks, threshold, corrected, rgb.shape[:2], shoulder_correction=corrected
            )
            correct, counted = pck(body, ref)
            totals[corrected][0] += correct
            totals[corrected][1] += counted
            err = [float(np.linalg.norm(body[k, :2] - ref[k, :2])) / scale for k in hips]
            hip_error[corrected] += err
            line += f"  {correct}/{counted}={correct / counted:.3f} hips {err[0]:.3f},{err[1]:.3f}"
        print(line)
        confident = ref.copy()
        confident[[k for k in TORSO_KEYPOINTS if k != Body25.NECK and ref[k, 2] < 0.3]] = 0
        sure = [a + b for a, b in zip(sure, pck(body, confident), strict=True)]
        np.testing.assert_allclose(sample.pose, body)  # annotate == find_person + convert
    raw, fixed = (totals[c][0] / totals[c][1] for c in (False, True))
    hip_raw, hip_fixed = np.mean(hip_error[False]), np.mean(hip_error[True])
    print(f"overall PCK@0.1 raw {raw:.3f} corrected {fixed:.3f}")
    print(f"corrected, reference points of confidence >= 0.3 only: {sure[0]}/{sure[1]}")
    print(f"mean hip error raw {hip_raw:.4f} corrected {hip_fixed:.4f} torso heights")
    print(f"seconds per {rgb.shape[1]}x{rgb.shape[0]} image: {np.median(seconds):.3f} (median)")
    # 39/45: of the six misses, three are reference points of confidence <= 0.22 lying
    # mid-forearm, two are hands in pockets (MediaPipe visibility 0.05-0.09: kept by the
    # default min_confidence, one 80 px off, the other just outside 0.1 torso heights).
    assert fixed >= 0.85
    assert sure[0] / sure[1] >= 0.9
    assert hip_fixed < hip_raw
