"""The `hrviton` agnostic backend: the three kinds against the shipped VITON-HD files (golden),
at another resolution, on bad input, for the lower-body and dress categories (on synthetic
people), and through the annotator protocol."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vton.annotate.agnostic import (
    GREY,
    HrVitonAgnostic,
    agnostic_image,
    agnostic_mask,
    make_agnostic,
    parse_agnostic,
)
from vton.annotate.base import AnnotationRejected, Annotator, Item
from vton.annotate.registry import create_annotator
from vton.config import AgnosticParams
from vton.formats.labels import VitonLabel as L
from vton.formats.labels import read_parse, write_parse
from vton.formats.masks import read_mask
from vton.formats.openpose import Body25 as K
from vton.formats.openpose import read_keypoints, write_keypoints
from vton.sources.sample import generate_sample

GREY_TOLERANCE = 10  # the shipped agnostic is a JPEG: grey comes back as 128 +- a few


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _greyish(rgb: np.ndarray) -> np.ndarray:
    return (np.abs(rgb.astype(np.int16) - GREY) <= GREY_TOLERANCE).all(axis=2)


@pytest.fixture(scope="module")
def golden_set(golden: Path, golden_ids: list[str]) -> dict[str, dict]:
    """Each golden sample's inputs and shipped agnostic kinds, read once."""
    root = golden / "test"
    out = {}
    for sid in golden_ids:
        out[sid] = {
            "image": _rgb(root / "image" / f"{sid}.jpg"),
            "parse": read_parse(root / "image-parse-v3" / f"{sid}.png"),
            "pose": read_keypoints(root / "openpose_json" / f"{sid}_keypoints.json"),
            "agnostic": _rgb(root / "agnostic-v3.2" / f"{sid}.jpg"),
            "parse_agnostic": read_parse(root / "image-parse-agnostic-v3.2" / f"{sid}.png"),
            "mask": read_mask(root / "agnostic-mask" / f"{sid}_mask.png"),
        }
    return out


# --- golden -------------------------------------------------------------------------------


def test_golden_agreement(golden_set: dict[str, dict]) -> None:
    """Fed the dataset's own parse and keypoints, each kind matches the shipped file."""
    seconds = []
    for sid, g in golden_set.items():
        start = time.perf_counter()
        ours = make_agnostic(g["image"], g["parse"], g["pose"])
        seconds.append(time.perf_counter() - start)
        # Grey region: exact grey in ours, JPEG-grey in theirs; pixels where the photo itself
        # is grey are left out of both (they would be "grey" in theirs either way).
        photo_grey = _greyish(g["image"])
        our_grey = (ours.agnostic == GREY).all(axis=2) & ~photo_grey
        their_grey = _greyish(g["agnostic"]) & ~photo_grey
        grey = float((our_grey == their_grey).mean())
        parse = float((ours.parse_agnostic == g["parse_agnostic"]).mean())
        mask = float((ours.mask == g["mask"]).mean())
        mad = float(np.abs(ours.agnostic.astype(np.int16) - g["agnostic"]).mean())
        print(
            f"\n{sid}: grey region {grey:.5f}  parse-agnostic {parse:.6f} "
            f"({int((ours.parse_agnostic != g['parse_agnostic']).sum())} px)  mask {mask:.6f} "
            f"({int((ours.mask != g['mask']).sum())} px)  agnostic MAD {mad:.3f}  "
            f"{seconds[-1] * 1000:.1f} ms"
        )
        assert grey >= 0.99, f"{sid}: grey region agrees on {grey:.4f}"
        assert parse >= 0.999, f"{sid}: parse-agnostic agrees on {parse:.5f}"
        assert mask >= 0.999, f"{sid}: agnostic-mask agrees on {mask:.5f}"
        assert mad <= 2.0, f"{sid}: agnostic image differs by {mad:.2f} on average"
        # The mask is where the agnostic image is grey, by construction.
        assert np.array_equal(ours.mask, (ours.agnostic == GREY).all(axis=2) & ours.mask)
    print(f"\nmean {np.mean(seconds) * 1000:.1f} ms per 1024x768 sample (all three kinds)")


def test_golden_functions_agree_with_make_agnostic(golden_set: dict[str, dict]) -> None:
    g = next(iter(golden_set.values()))
    both = make_agnostic(g["image"], g["parse"], g["pose"])
    assert np.array_equal(agnostic_image(g["image"], g["parse"], g["pose"]), both.agnostic)
    assert np.array_equal(parse_agnostic(g["parse"], g["pose"]), both.parse_agnostic)
    assert np.array_equal(agnostic_mask(g["parse"], g["pose"]), both.mask)
    assert both.notes == ()


def _down(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(a).resize(size, Image.Resampling.NEAREST))


def test_golden_any_resolution(golden_set: dict[str, dict]) -> None:
    """At 512x384 (image, nearest parse, halved keypoints) the outputs match the 1024x768
    ones downscaled."""
    for sid, g in golden_set.items():
        height, width = g["parse"].shape
        small = (width // 2, height // 2)
        rgb = np.asarray(Image.fromarray(g["image"]).resize(small, Image.Resampling.BOX))
        parse = np.asarray(Image.fromarray(g["parse"]).resize(small, Image.Resampling.NEAREST))
        pose = g["pose"].copy()
        pose[:, :2] *= 0.5
        low = make_agnostic(rgb, parse, pose)
        full = make_agnostic(g["image"], g["parse"], g["pose"])

        mask = float((low.mask == _down(full.mask.astype(np.uint8), small).astype(bool)).mean())
        labels = float((low.parse_agnostic == _down(full.parse_agnostic, small)).mean())
        print(f"\n{sid} at 512x384: mask {mask:.5f}  parse-agnostic {labels:.5f}")
        assert mask >= 0.99 and labels >= 0.99


def test_golden_categories(golden_set: dict[str, dict]) -> None:
    """On the real photos: lower_body masks the pants and not the face or the top; dresses
    masks top and pants."""
    for sid, g in golden_set.items():
        parse = g["parse"]
        lower = make_agnostic(g["image"], parse, g["pose"], "lower_body")
        dress = make_agnostic(g["image"], parse, g["pose"], "dresses")
        pants, face, top = parse == L.PANTS, parse == L.FACE, parse == L.UPPER_CLOTHES
        assert lower.mask[pants].all() and not lower.mask[face | top].any(), sid
        assert dress.mask[pants | top].all() and not dress.mask[face].any(), sid
        assert not np.isin(lower.parse_agnostic, [L.PANTS, L.SKIRT]).any()


# --- categories on synthetic people --------------------------------------------------------


@pytest.fixture(scope="module")
def people() -> list:
    """Synthetic 256x192 people with exact parses and keypoints: pants, shorts and skirts."""
    return [generate_sample(i, 256, 192) for i in range(8)]


def _cover(mask: np.ndarray, region: np.ndarray) -> float:
    return float(mask[region].mean()) if region.any() else 1.0


def test_upper_body_covers_the_top_not_the_rest(people: list) -> None:
    for s in people:
        r = make_agnostic(s.person, s.parse, s.pose, "upper_body")
        assert _cover(r.mask, s.parse == L.UPPER_CLOTHES) >= 0.9, s.id
        assert not r.mask[np.isin(s.parse, [L.FACE, L.PANTS, L.SKIRT])].any(), s.id
        assert not np.isin(r.parse_agnostic, [L.UPPER_CLOTHES, L.NECK]).any()
        # Everything masked is grey in the image and nothing else changed.
        assert (r.agnostic[r.mask] == GREY).all()
        assert np.array_equal(r.agnostic[~r.mask], s.person[~r.mask])


def test_lower_body_covers_pants_and_legs_not_face_or_top(people: list) -> None:
    seen_legs = 0
    for s in people:
        r = make_agnostic(s.person, s.parse, s.pose, "lower_body")
        garment = np.isin(s.parse, [L.PANTS, L.SKIRT])
        legs = np.isin(s.parse, [L.LEFT_LEG, L.RIGHT_LEG])
        assert garment.any()
        assert r.mask[garment].all(), s.id
        keep = np.isin(s.parse, [L.FACE, L.HAIR, L.UPPER_CLOTHES, L.LEFT_ARM, L.RIGHT_ARM])
        assert not r.mask[keep].any(), s.id
        if legs.sum() > 200:
            seen_legs += 1
            assert _cover(r.mask, legs) >= 0.8, (s.id, _cover(r.mask, legs))
        assert not np.isin(r.parse_agnostic, [L.PANTS, L.SKIRT]).any()
        assert np.array_equal(r.parse_agnostic == L.FACE, s.parse == L.FACE)
    assert seen_legs >= 2


def test_dresses_cover_upper_and_lower_garment(people: list) -> None:
    for s in people:
        r = make_agnostic(s.person, s.parse, s.pose, "dresses")
        garment = np.isin(s.parse, [L.UPPER_CLOTHES, L.DRESS, L.COAT, L.PANTS, L.SKIRT])
        assert r.mask[garment].all(), s.id
        assert not r.mask[np.isin(s.parse, [L.FACE, L.HAIR])].any(), s.id
        removed = [L.UPPER_CLOTHES, L.DRESS, L.COAT, L.NECK, L.PANTS, L.SKIRT]
        assert not np.isin(r.parse_agnostic, removed).any()
        upper = make_agnostic(None, s.parse, s.pose, "upper_body")
        assert r.mask.sum() > upper.mask.sum()


def test_unknown_category_is_an_error(people: list) -> None:
    s = people[0]
    with pytest.raises(ValueError, match="upper_body"):
        make_agnostic(s.person, s.parse, s.pose, "shoes")  # type: ignore[arg-type]


# --- bad input ----------------------------------------------------------------------------


def _without(pose: np.ndarray, *points: K) -> np.ndarray:
    pose = pose.copy()
    pose[list(points)] = 0
    return pose


def _reason(call) -> AnnotationRejected:
    with pytest.raises(AnnotationRejected) as info:
        call()
    return info.value


def test_missing_shoulder_or_both_hips_rejects_naming_them(people: list) -> None:
    s = people[1]
    exc = _reason(lambda: make_agnostic(s.person, s.parse, _without(s.pose, K.L_SHOULDER)))
    assert exc.reason == "missing_keypoints" and "L_SHOULDER" in exc.detail
    assert "R_SHOULDER" not in exc.detail
    exc = _reason(lambda: agnostic_mask(s.parse, _without(s.pose, K.R_HIP, K.L_HIP)))
    assert exc.reason == "missing_keypoints" and "R_HIP, L_HIP" in exc.detail
    exc = _reason(lambda: parse_agnostic(s.parse, np.zeros((25, 3), np.float32)))
    assert exc.reason == "missing_keypoints"


def test_one_missing_hip_is_estimated(people: list) -> None:
    s = people[1]
    full = make_agnostic(s.person, s.parse, s.pose)
    # With the mid-hip point the mirror is exact.
    mirrored = make_agnostic(s.person, s.parse, _without(s.pose, K.L_HIP))
    assert mirrored.notes == ("L_HIP estimated (mirrored through MID_HIP)",)
    assert float((mirrored.mask == full.mask).mean()) >= 0.999
    # Without it, across the shoulders' midline: close, not exact.
    rough = make_agnostic(s.person, s.parse, _without(s.pose, K.R_HIP, K.MID_HIP))
    assert "R_HIP estimated (mirrored through the shoulders' midline)" in rough.notes
    assert float((rough.mask == full.mask).mean()) >= 0.95


def test_missing_neck_elbow_wrist_degrade(people: list) -> None:
    s = people[1]
    full = make_agnostic(s.person, s.parse, s.pose)
    no_neck = make_agnostic(s.person, s.parse, _without(s.pose, K.NECK))
    assert no_neck.notes == ("NECK estimated (shoulders' midpoint)",)
    assert float((no_neck.mask == full.mask).mean()) >= 0.98
    no_arm = make_agnostic(s.person, s.parse, _without(s.pose, K.R_ELBOW, K.L_WRIST))
    assert no_arm.notes == ()  # the recipe simply skips the segments
    assert no_arm.mask.sum() < full.mask.sum()


def test_bad_parse_and_sizes_reject(people: list) -> None:
    s = people[2]
    exc = _reason(lambda: make_agnostic(s.person, np.zeros_like(s.parse), s.pose))
    assert exc.reason == "empty_parse"
    exc = _reason(lambda: make_agnostic(s.person[:-8], s.parse, s.pose))
    assert exc.reason == "size_mismatch" and "256x192" in exc.detail
    bad = s.parse.copy()
    bad[0, 0] = 40
    assert _reason(lambda: parse_agnostic(bad, s.pose)).reason == "bad_parse"
    nan = s.pose.copy()
    nan[K.NOSE, 0] = np.nan
    assert _reason(lambda: agnostic_mask(s.parse, nan)).reason == "bad_keypoints"
    big = s.pose.copy()
    big[:, :2] *= 4  # keypoints of a 1024x768 image on a 256x192 parse
    exc = _reason(lambda: agnostic_mask(s.parse, big))
    assert exc.reason == "bad_keypoints" and "another image size" in exc.detail
    same = s.pose.copy()
    same[K.L_SHOULDER] = same[K.R_SHOULDER]
    assert _reason(lambda: agnostic_mask(s.parse, same)).reason == "bad_keypoints"
    with pytest.raises(ValueError, match=r"\(25, 3\)"):
        agnostic_mask(s.parse, s.pose[:18])


# --- the annotator ------------------------------------------------------------------------


def _item(tmp_path: Path, sample, pose: np.ndarray | None = None) -> Item:
    parse_path, pose_path = tmp_path / f"{sample.id}.png", tmp_path / f"{sample.id}.json"
    write_parse(parse_path, sample.parse)
    write_keypoints(pose_path, sample.pose if pose is None else pose)
    return Item(
        sample.id,
        "test",
        sample.person,
        tmp_path / f"{sample.id}.jpg",
        {},
        {"parse": parse_path, "pose_json": pose_path},
    )


def test_annotator_protocol_and_outputs(tmp_path: Path, people: list) -> None:
    annotator = create_annotator("agnostic", AgnosticParams(backend="hrviton"))
    assert isinstance(annotator, HrVitonAgnostic) and isinstance(annotator, Annotator)
    assert annotator.outputs == ("agnostic", "parse_agnostic", "agnostic_mask")
    annotator.load()
    s = people[3]
    out = annotator.annotate(_item(tmp_path, s))
    ref = make_agnostic(s.person, s.parse, s.pose)
    assert out.agnostic.shape == (256, 192, 3) and out.agnostic.dtype == np.uint8
    assert out.parse_agnostic.dtype == np.uint8 and out.agnostic_mask.dtype == bool
    # JSON keypoints are rounded to six digits; the result barely moves.
    assert float((out.agnostic_mask == ref.mask).mean()) >= 0.999
    assert out.provenance["category"] == "upper_body"
    degraded = annotator.annotate(_item(tmp_path, s, _without(s.pose, K.NECK)))
    assert degraded.provenance["estimated"] == ["NECK estimated (shoulders' midpoint)"]


def test_annotator_fingerprint_follows_category() -> None:
    prints = {
        c: HrVitonAgnostic("agnostic", AgnosticParams(category=c)).fingerprint()
        for c in ("auto", "upper_body", "lower_body", "dresses")
    }
    assert len(set(prints.values())) == 4
    again = HrVitonAgnostic("agnostic", AgnosticParams()).fingerprint()
    assert again == prints["auto"]  # the default: each sample's category from the catalog


def test_annotator_rejects_missing_or_bad_inputs(tmp_path: Path, people: list) -> None:
    annotator = HrVitonAgnostic("agnostic", AgnosticParams())
    s = people[4]
    item = _item(tmp_path, s)
    del item.inputs["pose_json"]
    exc = _reason(lambda: annotator.annotate(item))
    assert exc.reason == "missing_input" and "has no pose_json;" in exc.detail
    item = _item(tmp_path, s)
    item.inputs["parse"] = tmp_path / "absent.png"
    exc = _reason(lambda: annotator.annotate(item))
    assert exc.reason == "missing_input" and "absent.png" in exc.detail
    item = _item(tmp_path, s)
    item.inputs["pose_json"].write_text("{not json")
    assert _reason(lambda: annotator.annotate(item)).reason == "unreadable"
    item = _item(tmp_path, s, _without(s.pose, K.R_SHOULDER))
    exc = _reason(lambda: annotator.annotate(item))
    assert exc.reason == "missing_keypoints" and "R_SHOULDER" in exc.detail
