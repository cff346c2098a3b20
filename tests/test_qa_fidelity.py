"""vton.qa.fidelity: a dataset against itself scores 1; perturbing one kind lowers its score
only; missing, unreadable and mismatched files are counted, not fatal."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vton.config import parse_params
from vton.formats import densepose
from vton.formats.images import read_rgb, write_jpeg
from vton.formats.labels import VitonLabel, read_parse, write_parse
from vton.formats.masks import read_mask, write_mask
from vton.formats.openpose import Body25, read_keypoints, write_keypoints
from vton.layout import Layout
from vton.qa.fidelity import COMPARED, compare, fidelity, fidelity_per_sample
from vton.sources.ingest import ingest

N_TRAIN, N_TEST = 6, 2
N = N_TRAIN + N_TEST

SCORES = {  # the headline score of each compared kind: 1.0 when identical
    "pose_json": "pose_pck",
    "parse": "parse_miou13",
    "parse_agnostic": "parse_agnostic_miou13",
    "densepose": "densepose_part_agreement",
    "cloth_mask": "cloth_mask_iou",
    "agnostic_mask": "agnostic_mask_iou",
    "agnostic": "agnostic_pixel_agreement",
}
PERFECT = {  # every score that is 1.0 when identical, by the kind it measures
    "pose_json": ["pose_pck"],
    "parse": ["parse_miou13", "parse_miou13_mean", "parse_pixel_acc", "parse_iou_upper"],
    "parse_agnostic": [
        "parse_agnostic_miou13",
        "parse_agnostic_miou13_mean",
        "parse_agnostic_pixel_acc",
    ],
    "densepose": ["densepose_part_agreement", "densepose_body_iou", "densepose_body_iou_mean"],
    "cloth_mask": ["cloth_mask_iou", "cloth_mask_iou_pooled"],
    "agnostic_mask": ["agnostic_mask_iou", "agnostic_mask_iou_pooled"],
    "agnostic": ["agnostic_pixel_agreement"],
}
ZERO = {"pose_json": ["pose_mean_error"], "agnostic": ["agnostic_mean_abs_diff"]}
UPPER = [VitonLabel.UPPER_CLOTHES, VitonLabel.LEFT_ARM, VitonLabel.RIGHT_ARM]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """A synthetic dataset with every kind (agnostic kinds derived from the parse)."""
    root = tmp_path_factory.mktemp("fidelity") / "ref"
    params = {
        "base": {"height": 64, "width": 48},
        "data": {"sample": {"n_train": N_TRAIN, "n_test": N_TEST}},
    }
    ingest(parse_params(params), root, progress=False)
    layout = Layout(root)
    for split in layout.splits_present():
        for sid in layout.ids(split):
            parse = read_parse(layout.path(split, "parse", sid))
            upper = np.isin(parse, UPPER)
            rgb = read_rgb(layout.path(split, "image", sid))
            rgb[upper] = 128
            write_jpeg(layout.path(split, "agnostic", sid), rgb)
            write_parse(layout.path(split, "parse_agnostic", sid), np.where(upper, 0, parse))
            write_mask(layout.path(split, "agnostic_mask", sid), upper, rgb=True)
    return root


@pytest.fixture
def ours(reference, tmp_path) -> Path:
    copy = tmp_path / "ours"
    shutil.copytree(reference, copy)
    return copy


def each_sample(root: Path):
    layout = Layout(root)
    for split in layout.splits_present():
        for sid in layout.ids(split):
            yield layout, split, sid


def assert_perfect(scores: dict, except_kind: str | None = None) -> None:
    """Every score of every kind but `except_kind` is perfect."""
    for kind_name, keys in PERFECT.items():
        if kind_name != except_kind:
            assert {k: scores[k] for k in keys} == dict.fromkeys(keys, 1.0), kind_name
    for kind_name, keys in ZERO.items():
        if kind_name != except_kind:
            assert {k: scores[k] for k in keys} == dict.fromkeys(keys, 0.0), kind_name


def test_dataset_against_itself_is_perfect(reference):
    scores = fidelity(reference, reference, progress=False)
    assert_perfect(scores)
    assert scores["samples_compared"] == scores["samples_ref"] == scores["samples_ours"] == N
    for kind_name in COMPARED:
        assert scores[f"compared_{kind_name}"] == N
        assert scores[f"missing_ours_{kind_name}"] == scores[f"missing_ref_{kind_name}"] == 0
        assert scores[f"unreadable_{kind_name}"] == scores[f"size_mismatch_{kind_name}"] == 0
    assert scores["pose_keypoints"] > 0 and scores["pose_skipped_no_torso"] == 0
    # flat numbers only: it is a DVC metrics file
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in scores.values())


# --- perturb one kind: its score drops, the others stay at 1 ---------------------------------


def shift_keypoints(layout, split, sid):
    path = layout.path(split, "pose_json", sid)
    body = read_keypoints(path)
    body[body[:, 2] > 0, 0] += 6  # torso ~20 px high: 6 px is beyond PCK@0.1
    write_keypoints(path, body)


def relabel_parse(layout, split, sid):
    if sid != layout.ids(split)[0]:
        return
    path = layout.path(split, "parse", sid)
    parse = read_parse(path)
    parse[parse == VitonLabel.UPPER_CLOTHES] = VitonLabel.PANTS
    write_parse(path, parse)


def relabel_parse_agnostic(layout, split, sid):
    path = layout.path(split, "parse_agnostic", sid)
    parse = read_parse(path)
    parse[parse == VitonLabel.FACE] = VitonLabel.HAIR
    write_parse(path, parse)


def erode(mask: np.ndarray) -> np.ndarray:
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return inner


def erode_mask(kind_name: str):
    def perturb(layout, split, sid):
        path = layout.path(split, kind_name, sid)
        write_mask(path, erode(erode(read_mask(path))), rgb=kind_name == "agnostic_mask")

    return perturb


def swap_densepose_parts(layout, split, sid):
    path = layout.path(split, "densepose", sid)
    parts = densepose.read_densepose(path)
    front = parts == densepose.DensePosePart.TORSO_FRONT
    parts[front] = densepose.DensePosePart.TORSO_BACK
    densepose.write_densepose(path, parts)


def brighten_agnostic(layout, split, sid):
    path = layout.path(split, "agnostic", sid)
    rgb = read_rgb(path).astype(np.int16)
    rgb[: rgb.shape[0] // 2] = np.clip(rgb[: rgb.shape[0] // 2] + 80, 0, 255)
    write_jpeg(path, rgb.astype(np.uint8))


PERTURBATIONS: dict[str, Callable] = {
    "pose_json": shift_keypoints,
    "parse": relabel_parse,
    "parse_agnostic": relabel_parse_agnostic,
    "densepose": swap_densepose_parts,
    "cloth_mask": erode_mask("cloth_mask"),
    "agnostic_mask": erode_mask("agnostic_mask"),
    "agnostic": brighten_agnostic,
}


@pytest.mark.parametrize("kind_name", list(PERTURBATIONS))
def test_perturbing_one_kind_lowers_only_its_score(reference, ours, kind_name):
    for layout, split, sid in each_sample(ours):
        PERTURBATIONS[kind_name](layout, split, sid)
    scores = fidelity(reference, ours, progress=False)
    assert scores[SCORES[kind_name]] < 0.99, scores[SCORES[kind_name]]
    assert_perfect(scores, except_kind=kind_name)
    assert scores["samples_compared"] == N


def test_details_of_the_perturbed_scores(reference, ours):
    relabel_parse(*next(each_sample(ours)))
    result = compare(reference, ours, progress=False)
    s = result.summary
    assert s["parse_iou_upper"] < 1 and s["parse_iou_bottom"] < 1 and s["parse_iou_face"] == 1
    assert s["parse_pixel_acc"] < 1
    # one sample of eight differs: the per-sample mean is above the pooled value's floor
    rows = pd.DataFrame(result.rows)
    assert len(rows) == N and (rows["parse_miou13"] < 1).sum() == 1
    assert rows.loc[rows["parse_miou13"] < 1, "id"].item() == next(each_sample(ours))[2]
    assert s["parse_miou13_mean"] == pytest.approx(rows["parse_miou13"].mean(), abs=1e-6)


def test_agnostic_tolerance_absorbs_small_noise(reference, ours):
    for layout, split, sid in each_sample(ours):
        path = layout.path(split, "agnostic", sid)
        write_jpeg(path, np.clip(read_rgb(path).astype(np.int16) + 6, 0, 255).astype(np.uint8))
    scores = fidelity(reference, ours, progress=False)
    assert scores["agnostic_pixel_agreement"] > 0.99
    assert 3 < scores["agnostic_mean_abs_diff"] < 10
    strict = fidelity(reference, ours, tolerance=0, progress=False)
    assert strict["agnostic_pixel_agreement"] < 0.5 and strict["tolerance"] == 0


# --- what cannot be compared is counted ------------------------------------------------------


def test_missing_files_are_counted(reference, ours, tmp_path):
    layout = Layout(ours)
    layout.path("train", "parse", "000000_00").unlink()
    layout.path("train", "parse", "000001_00").unlink()
    ref = tmp_path / "ref"
    shutil.copytree(reference, ref)
    Layout(ref).path("test", "densepose", "000007_00").unlink()
    scores = fidelity(ref, ours, progress=False)
    assert scores["missing_ours_parse"] == 2 and scores["missing_ref_parse"] == 0
    assert scores["missing_ref_densepose"] == 1 and scores["missing_ours_densepose"] == 0
    assert scores["compared_parse"] == N - 2 and scores["compared_densepose"] == N - 1
    assert scores["samples_compared"] == N
    assert_perfect(scores)
    rows = {r["id"]: r for r in fidelity_per_sample(ref, ours, progress=False)}
    assert rows["000000_00"]["missing_ours"] == "parse"
    assert rows["000007_00"]["missing_ref"] == "densepose"
    assert "parse_miou13" not in rows["000000_00"]


def test_unreadable_and_mismatched_files_are_counted(reference, ours):
    layout = Layout(ours)
    layout.path("train", "parse", "000003_00").write_bytes(b"\x89PNG broken")
    layout.path("test", "pose_json", "000006_00").write_text("{not json")
    small = Image.new("L", (24, 32))
    small.save(layout.path("train", "cloth_mask", "000004_00"), format="JPEG")
    result = compare(reference, ours, progress=False)
    s = result.summary
    assert s["unreadable_parse"] == 1 and s["compared_parse"] == N - 1
    assert s["unreadable_pose_json"] == 1 and s["compared_pose_json"] == N - 1
    assert s["size_mismatch_cloth_mask"] == 1 and s["compared_cloth_mask"] == N - 1
    assert_perfect(s)  # what was compared still agrees
    problems = {r["id"]: r["problems"] for r in result.rows}
    assert "parse" in problems["000003_00"] and "cloth_mask" in problems["000004_00"]


def test_reference_without_torso_is_skipped_and_counted(reference, ours, tmp_path):
    ref = tmp_path / "ref"
    shutil.copytree(reference, ref)
    path = Layout(ref).path("train", "pose_json", "000000_00")
    body = read_keypoints(path)
    body[Body25.NECK] = 0
    write_keypoints(path, body)
    scores = fidelity(ref, ours, progress=False)
    assert scores["pose_skipped_no_torso"] == 1 and scores["pose_pck"] == 1.0


def test_no_dataset_is_an_error(reference, tmp_path):
    with pytest.raises(FileNotFoundError, match="no our dataset"):
        fidelity(reference, tmp_path / "absent", progress=False)


@pytest.mark.golden
def test_golden_against_itself_is_perfect(golden, golden_ids):
    scores = fidelity(golden, golden, progress=False)
    assert_perfect(scores)
    assert scores["samples_compared"] == len(golden_ids)
    assert all(scores[f"compared_{k}"] == len(golden_ids) for k in COMPARED)
