"""The embedded synthetic source: determinism, array contracts, label consistency, variety."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vton.formats.densepose import DensePosePart as DP
from vton.formats.labels import VitonLabel as L
from vton.formats.openpose import Body25 as K
from vton.sources.sample import TEXTURES, generate, generate_sample

CROSSING = ("cross", "chest")  # arm poses that reach across the body


@pytest.fixture(scope="module")
def small() -> list:
    return list(generate(40, 64, 48))


@pytest.fixture(scope="module")
def medium() -> list:
    return list(generate(16, 256, 192))


def _arrays(sample) -> dict[str, np.ndarray]:
    names = ("person", "cloth", "cloth_mask", "parse", "pose", "densepose")
    return {name: getattr(sample, name) for name in names}


def _arms_apart(sample) -> bool:
    return not any(a["kind"] in CROSSING for a in sample.provenance["pose"]["arms"].values())


# --- determinism ----------------------------------------------------------------------------


def test_same_arguments_give_identical_arrays():
    first, second = generate_sample(7, 64, 48, seed=3), generate_sample(7, 64, 48, seed=3)
    for name, array in _arrays(first).items():
        assert np.array_equal(array, getattr(second, name)), name
    assert first.provenance == second.provenance


def test_index_and_seed_change_the_sample():
    base = generate_sample(0, 64, 48)
    assert not np.array_equal(base.person, generate_sample(1, 64, 48).person)
    assert not np.array_equal(base.person, generate_sample(0, 64, 48, seed=1).person)


def test_a_sample_does_not_depend_on_start():
    run = list(generate(3, 64, 48, start=5))
    alone = generate_sample(6, 64, 48)
    assert run[1].id == alone.id == "000006_00"
    for name, array in _arrays(alone).items():
        assert np.array_equal(array, getattr(run[1], name)), name


def test_identity_fields(small):
    sample = small[12]
    assert sample.id == "000012_00"
    assert sample.split == "train"
    assert sample.source == "sample"
    assert sample.origin == "sample://seed=0/index=12"
    json.dumps(sample.provenance)  # JSON-able
    assert sample.provenance["texture"] in TEXTURES
    assert generate_sample(0, 64, 48, split="test").split == "test"


# --- array contracts ------------------------------------------------------------------------


@pytest.mark.parametrize(("height", "width"), [(64, 48), (512, 384)])
def test_fields_have_the_documented_shapes(height, width):
    s = generate_sample(2, height, width)
    for name in ("person", "cloth"):
        arr = getattr(s, name)
        assert arr.shape == (height, width, 3) and arr.dtype == np.uint8, name
    assert s.cloth_mask.shape == (height, width) and s.cloth_mask.dtype == bool
    assert s.parse.shape == (height, width) and s.parse.dtype == np.uint8
    assert int(s.parse.max()) <= 19
    assert s.densepose.shape == (height, width) and s.densepose.dtype == np.uint8
    assert int(s.densepose.max()) <= 24
    assert s.pose.shape == (25, 3) and s.pose.dtype == np.float32
    assert set(np.unique(s.pose[:, 2])) <= {0.0, 1.0}


@pytest.mark.parametrize(("height", "width"), [(256, 256), (100, 50), (192, 256), (16, 12)])
def test_bad_sizes_are_refused(height, width):
    with pytest.raises(ValueError, match=r"4:3|at least"):
        generate_sample(0, height, width)
    with pytest.raises(ValueError):
        generate(1, height, width)


def test_sizes_within_a_pixel_of_4_3_are_accepted():
    assert generate_sample(0, 65, 48).person.shape == (65, 48, 3)
    assert generate_sample(0, 32, 24).person.shape == (32, 24, 3)


def test_the_same_person_at_every_size():
    low, high = generate_sample(4, 64, 48), generate_sample(4, 256, 192)
    assert low.provenance == high.provenance
    both = (low.pose[:, 2] > 0) & (high.pose[:, 2] > 0)
    assert both.sum() >= 10
    assert np.abs(low.pose[both, :2] * 4 - high.pose[both, :2]).max() < 6


# --- labels agree with the pixels -----------------------------------------------------------


def test_parse_has_the_body_parts(small, medium):
    for s in small + medium:
        present = set(np.unique(s.parse).tolist())
        assert present <= set(range(20))
        assert {L.UPPER_CLOTHES, L.FACE, L.HAIR} <= present, s.id
        assert present & {L.PANTS, L.SKIRT}, s.id
        assert present & {L.LEFT_ARM, L.RIGHT_ARM}, s.id
    for s in medium:  # at 64x48 hair or the chin can hide the few neck pixels
        assert L.NECK in set(np.unique(s.parse).tolist()), s.id


def test_left_means_the_persons_left(small, medium):
    apart = 0
    for s in small + medium:
        pose = s.pose
        assert pose[K.L_SHOULDER, 0] > pose[K.R_SHOULDER, 0] > 0, s.id
        left, right = s.parse == L.LEFT_ARM, s.parse == L.RIGHT_ARM
        if _arms_apart(s) and left.any() and right.any():
            apart += 1
            assert np.nonzero(left)[1].mean() > np.nonzero(right)[1].mean(), s.id
            dp_left = np.isin(s.densepose, [DP.UPPER_ARM_LEFT_FRONT, DP.LOWER_ARM_LEFT_FRONT])
            dp_right = np.isin(s.densepose, [DP.UPPER_ARM_RIGHT_FRONT, DP.LOWER_ARM_RIGHT_FRONT])
            assert np.nonzero(dp_left)[1].mean() > np.nonzero(dp_right)[1].mean(), s.id
    assert apart >= 20


def test_keypoints_lie_on_what_they_name(small, medium):
    wrists = 0
    for s in small + medium:
        h, w = s.parse.shape
        seen = s.pose[:, 2] > 0
        xs, ys = s.pose[seen, 0], s.pose[seen, 1]
        assert ((xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)).all(), s.id
        assert not s.pose[~seen].any(), s.id
        assert seen[K.NECK] and seen[K.NOSE], s.id
        x, y = np.round(s.pose[K.NECK, :2]).astype(int)
        window = s.parse[max(y - 2, 0) : y + 3, max(x - 2, 0) : x + 3]
        assert np.isin(window, [L.NECK, L.UPPER_CLOTHES]).any(), s.id
        for key, label in ((K.L_WRIST, L.LEFT_ARM), (K.R_WRIST, L.RIGHT_ARM)):
            if seen[key]:
                wrists += 1
                x, y = np.round(s.pose[key, :2]).astype(int)
                assert s.parse[y, x] == label, (s.id, key.name)
        x, y = np.round(s.pose[K.NOSE, :2]).astype(int)
        assert s.parse[y, x] in (L.FACE, L.LEFT_ARM, L.RIGHT_ARM), s.id
    assert wrists >= 80


def test_densepose_matches_the_parse(small, medium):
    for s in small + medium:
        dp, parse = s.densepose, s.parse
        torso = np.isin(dp, [DP.TORSO_BACK, DP.TORSO_FRONT])
        assert torso.any(), s.id
        assert np.isin(parse[torso], [L.UPPER_CLOTHES, L.NECK]).all(), s.id
        assert (dp[parse == L.BACKGROUND] == 0).all(), s.id
        assert np.isin(parse[dp == 0], [L.BACKGROUND, L.HAIR]).all(), s.id
        head = np.isin(dp, [DP.HEAD_LEFT, DP.HEAD_RIGHT])
        assert (head[parse == L.FACE]).all(), s.id
        if (parse == L.UPPER_CLOTHES).sum() > 50:
            assert torso[parse == L.UPPER_CLOTHES].mean() > 0.5, s.id


# --- the cloth image ------------------------------------------------------------------------


def test_cloth_mask_is_exactly_the_garment(small, medium):
    for s in small + medium:
        h, w = s.cloth_mask.shape
        background = s.cloth[0, 0]
        assert (s.cloth[~s.cloth_mask] == background).all(), s.id
        assert (s.cloth[s.cloth_mask] != background).any(axis=1).all(), s.id
        rows = np.nonzero(s.cloth_mask.any(axis=1))[0]
        cols = np.nonzero(s.cloth_mask.any(axis=0))[0]
        assert 0.45 <= (rows[-1] - rows[0] + 1) / h <= 0.85, s.id
        assert abs((rows[0] + rows[-1]) / 2 - (h - 1) / 2) <= 2, s.id  # centred
        assert abs((cols[0] + cols[-1]) / 2 - (w - 1) / 2) <= 2, s.id
        assert 0.15 <= s.cloth_mask.mean() <= 0.75, s.id
        assert background.min() >= 240  # a light plain background


def _dominant_colors(pixels: np.ndarray, share: float) -> np.ndarray:
    colors, counts = np.unique(pixels, axis=0, return_counts=True)
    return colors[counts >= share * len(pixels)].astype(float)


def _matches(pixels: np.ndarray, color: np.ndarray) -> np.ndarray:
    """Pixels equal to `color` up to shading: same hue direction, brightness 0.55-1.15x."""
    p = pixels.astype(float) + 1
    c = color + 1
    cos = (p @ c) / (np.linalg.norm(p, axis=1) * np.linalg.norm(c))
    ratio = np.linalg.norm(p, axis=1) / np.linalg.norm(c)
    return (cos > np.cos(0.12)) & (ratio > 0.55) & (ratio < 1.15)


def test_the_worn_texture_is_the_cloths_texture():
    checked = 0
    for index in range(60):
        s = generate_sample(index, 256, 192)
        if s.provenance["texture"] not in ("stripes", "checks"):
            continue
        dominant = _dominant_colors(s.cloth[s.cloth_mask], 0.08)
        assert len(dominant) >= 2, s.id
        worn = s.person[s.parse == L.UPPER_CLOTHES]
        hits = np.stack([_matches(worn, c) for c in dominant])
        assert hits.any(axis=0).mean() > 0.6, s.id
        assert (hits.mean(axis=1) > 0.04).all(), s.id  # every cloth colour shows on the body
        checked += 1
        if checked == 4:
            break
    assert checked == 4


def test_the_logo_sits_on_the_chest():
    """The flat logo is carried through the torso warp: it lands between the shoulders."""
    checked = 0
    for index in range(80):
        s = generate_sample(index, 256, 192)
        if s.provenance["texture"] != "logo" or not _arms_apart(s):
            continue
        secondary = np.array(s.provenance["garment"]["colors"][1], float)
        base = np.array(s.provenance["garment"]["colors"][0], float)
        if np.abs(secondary - base).max() < 60:
            continue
        worn = s.parse == L.UPPER_CLOTHES
        ys, xs = np.nonzero(worn)
        logo = _matches(s.person[worn], secondary) & ~_matches(s.person[worn], base)
        if logo.sum() < 30:
            continue
        pose = s.pose
        x, y = xs[logo].mean(), ys[logo].mean()
        assert pose[K.R_SHOULDER, 0] < x < pose[K.L_SHOULDER, 0], s.id
        assert pose[K.NECK, 1] < y < pose[K.MID_HIP, 1], s.id
        checked += 1
    assert checked >= 3


# --- variety --------------------------------------------------------------------------------


def test_samples_vary(small):
    assert {s.provenance["texture"] for s in small} == set(TEXTURES)
    assert len({s.provenance["skin_tone"] for s in small}) >= 6
    assert {s.provenance["garment"]["sleeve"] for s in small} == {"none", "short", "long"}
    face_levels = [s.person[s.parse == L.FACE].mean() for s in small if (s.parse == L.FACE).any()]
    assert max(face_levels) - min(face_levels) > 80  # light to dark skin
    wrists = np.array([s.pose[K.L_WRIST, :2] for s in small if s.pose[K.L_WRIST, 2] > 0])
    assert wrists[:, 0].std() > 3 and wrists[:, 1].std() > 3
    corners = {tuple(s.person[0, 0] // 4) for s in small}
    assert len(corners) >= 20
    assert len({s.provenance["lower"]["kind"] for s in small}) >= 2
