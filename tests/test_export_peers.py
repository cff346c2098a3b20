"""The peer exports load in the peers' own dataset classes, item by item.

`export.size: peer` (the default) writes `hr-viton` and `viton-hd` at 1024x768 from the
embedded sample dataset at 64x48. The checks below restate, in our own code, what each
loader opens and how, read from its source:

- HR-VITON `CPDatasetTest` (sangyun884/HR-VITON, cp_dataset_test.py): reads `data_list` at the
  root, then per line the garment and its mask (paired: the person's own name; unpaired: the
  second column), the photo, `image-parse-v3` and `image-parse-agnostic-v3.2` PNGs (ids
  scattered into 20 channels), `openpose_img/*_rendered.png`, `openpose_json/*_keypoints.json`
  (`people[0]['pose_keypoints_2d']`, reshaped to (-1, 3)), `image-densepose` under the photo's
  name; `get_agnostic` draws arm masks on a fixed 768x1024 canvas and pastes them onto the
  full-size photo, so the photo and the parse must be 768x1024 (PIL's width x height).
- StableVITON `VITONHDDataset` (rlawjdghek/StableVITON, dataset.py): reads `{split}_pairs.txt`
  at the root, then `agnostic-v3.2`, `agnostic-mask/*_mask.png`, `cloth`, `image` and
  `image-densepose` with cv2.imread, resized to its own size; masks thresholded at 128.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from annotate_data import sample_dataset
from PIL import Image

from vton.annotate.items import annotate_dataset
from vton.config import parse_params
from vton.export import ExportError, export
from vton.formats import labels, masks, openpose
from vton.layout import Layout, read_pairs

H, W = 64, 48
PEER = (768, 1024)  # PIL size (width, height) of HR-VITON's canvas


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The embedded sample dataset at 64x48 (4 train, 2 test) with the agnostic kinds."""
    tmp = tmp_path_factory.mktemp("peers")
    run = {"annotate_workers": 0, "annotate_cache": str(tmp / "cache")}
    root = sample_dataset(tmp / "ds", height=H, width=W, run=run)
    params = parse_params({"base": {"height": H, "width": W}, "run": run})
    annotate_dataset("agnostic", params, root, tmp / "reference", tmp / "reports", progress=False)
    return root


@pytest.fixture(scope="module")
def hr_viton(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "hr"
    return out, export(dataset, out, "hr-viton", progress=False)


def _pairs(root, split):
    """The loaders' (person, garment) file names of `data_list` = {split}_pairs.txt."""
    lines = (root / f"{split}_pairs.txt").read_text().split("\n")
    return [tuple(line.strip().split()) for line in lines if line.strip()]


def test_hr_viton_export_is_written_at_the_loaders_size(hr_viton):
    out, summary = hr_viton
    assert (summary["height"], summary["width"]) == (1024, 768)
    assert summary["resampled"] == summary["samples"] == 6
    readme = (out / "README.md").read_text()
    assert "1024x768 (height x width)" in readme and "768x1024 canvas" in readme


@pytest.mark.parametrize("split", ["train", "test"])
def test_hr_viton_test_loader_opens_every_item(hr_viton, split):
    out, _ = hr_viton
    data = out / split
    pairs = _pairs(out, split)
    assert pairs and all(len(p) == 2 and p[0].endswith(".jpg") for p in pairs)
    for im_name, unpaired in pairs:
        for c_name in (im_name, unpaired):  # c_names['paired'], c_names['unpaired']
            assert Image.open(data / "cloth" / c_name).convert("RGB").size == PEER
            cm = np.asarray(Image.open(data / "cloth-mask" / c_name).convert("L"))
            assert cm.shape == PEER[::-1] and (cm >= 128).any()
        photo = Image.open(data / "image" / im_name)
        parse_name = im_name.replace(".jpg", ".png")
        parse = Image.open(data / "image-parse-v3" / parse_name)
        parse_agnostic = Image.open(data / "image-parse-agnostic-v3.2" / parse_name)
        # get_agnostic pastes L masks of a 768x1024 canvas onto the photo with the parse
        assert photo.size == parse.size == parse_agnostic.size == PEER
        for ids in (np.asarray(parse), np.asarray(parse_agnostic)):
            assert ids.ndim == 2 and ids.max() < 20  # scatter_ into 20 channels
        assert (data / "openpose_img" / im_name.replace(".jpg", "_rendered.png")).is_file()
        doc = json.loads(
            (data / "openpose_json" / im_name.replace(".jpg", "_keypoints.json")).read_text()
        )
        points = np.asarray(doc["people"][0]["pose_keypoints_2d"]).reshape((-1, 3))
        assert points.shape == (25, 3)
        seen = points[points[:, 2] > 0]
        assert (seen[:, 0] < PEER[0]).all() and (seen[:, 1] < PEER[1]).all()
        densepose_name = im_name.replace("image", "image-densepose")
        assert Image.open(data / "image-densepose" / densepose_name).size == PEER


@pytest.mark.parametrize("split", ["train", "test"])
def test_stableviton_loader_opens_every_item(hr_viton, split):
    out, _ = hr_viton
    for im_name, c_name in _pairs(out, split):
        files = {
            "agnostic-v3.2": im_name,
            "agnostic-mask": im_name.replace(".jpg", "_mask.png"),
            "cloth": c_name,
            "image": im_name,
            "image-densepose": im_name,
        }
        for folder, name in files.items():
            image = cv2.imread(str(out / split / folder / name))
            assert image is not None, f"cv2 cannot read {folder}/{name}"
            assert image.shape == (1024, 768, 3), (folder, name)
        mask = cv2.cvtColor(
            cv2.imread(str(out / split / "agnostic-mask" / files["agnostic-mask"])),
            cv2.COLOR_BGR2GRAY,
        )
        assert set(np.unique(mask)) <= {0, 255} and (mask >= 128).any()


def test_resampling_keeps_ids_and_scales_keypoints(dataset, hr_viton):
    out, _ = hr_viton
    ours, theirs = Layout(dataset), Layout(out)
    factor = 1024 / H
    for split in ("train", "test"):
        for sid in ours.ids(split):
            for kind_name in ("parse", "parse_agnostic"):
                before = labels.read_parse(ours.path(split, kind_name, sid))
                after = labels.read_parse(theirs.path(split, kind_name, sid))
                assert after.shape == (1024, 768)
                # nearest neighbour: every label of the export is one of the dataset's, and
                # block (i, j) of the export holds the dataset's pixel (i, j)
                assert set(np.unique(after)) <= set(np.unique(before))
                assert (after[8::16, 8::16] == before).mean() > 0.97
            mask = masks.read_mask(theirs.path(split, "agnostic_mask", sid))
            assert mask.dtype == bool and mask.shape == (1024, 768)
            a = openpose.read_keypoints(ours.path(split, "pose_json", sid))
            b = openpose.read_keypoints(theirs.path(split, "pose_json", sid))
            np.testing.assert_allclose(b[:, :2], a[:, :2] * factor, atol=0.01)
            np.testing.assert_array_equal(b[:, 2], a[:, 2])


def test_viton_hd_export_is_written_at_1024x768(dataset, tmp_path):
    out = tmp_path / "vh"
    summary = export(dataset, out, "viton-hd", progress=False)
    assert (summary["height"], summary["width"]) == (1024, 768)
    for person, cloth in read_pairs(out / "train_pairs.txt"):
        assert Image.open(out / "train" / "image" / f"{person}.jpg").size == PEER
        assert Image.open(out / "train" / "image-parse" / f"{person}.png").size == PEER
        assert Image.open(out / "train" / "openpose-img" / f"{person}_rendered.png").size == PEER
        assert Image.open(out / "train" / "cloth-mask" / f"{cloth}.jpg").size == PEER


def test_another_aspect_is_refused_naming_the_param(tmp_path):
    root = tmp_path / "square"  # a hand-made dataset: params only build 3:4 ones
    for kind_name in ("image", "cloth"):
        path = Layout(root).path("train", kind_name, "a_00")
        path.parent.mkdir(parents=True)
        Image.new("RGB", (48, 48), (90, 120, 150)).save(path)
    with pytest.raises(
        ExportError, match=r"reads 1024x768 \(height x width\) only.*export\.size: dataset"
    ):
        export(root, tmp_path / "out", "hr-viton", progress=False)
    assert not (tmp_path / "out").exists()
    summary = export(root, tmp_path / "out", "hr-viton", progress=False, size="dataset")
    assert (summary["height"], summary["width"]) == (48, 48) and summary["resampled"] == 0
