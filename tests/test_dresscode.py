"""The DressCode formats (label ids, keypoint files, pairs, ids), layout and source."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vton.config import parse_params
from vton.formats import densepose, labels, openpose
from vton.formats.labels import DressCodeLabel as DC
from vton.formats.labels import VitonLabel as V
from vton.layout import (
    DressCodeLayout,
    Layout,
    detect_flavor,
    dresscode_id,
    read_dresscode_pairs,
    read_ids_map,
    write_dresscode_pairs,
    write_ids_map,
)
from vton.sources.ingest import ingest

# The table of the dataset's README (aimagelab/dress-code), id by id.
README_IDS = [
    "background",
    "hat",
    "hair",
    "sunglasses",
    "upper_clothes",
    "skirt",
    "pants",
    "dress",
    "belt",
    "left_shoe",
    "right_shoe",
    "head",
    "left_leg",
    "right_leg",
    "left_arm",
    "right_arm",
    "bag",
    "scarf",
]


def test_dresscode_label_ids_are_the_datasets():
    assert [lab.name.lower() for lab in DC] == README_IDS
    assert [int(lab) for lab in DC] == list(range(18))
    assert "dresscode" in labels.LABEL_SETS


def test_viton_to_dresscode_and_back_folds_only_the_four_missing_labels():
    ids = np.arange(len(V), dtype=np.uint8)[None, :]  # one pixel of each VITON-HD label
    # every label in the image's left half, so sided targets take the person's right side
    dc = labels.from_viton(ids, "dresscode", midline_x=len(V) + 1)
    back = labels.to_viton(dc, "dresscode")
    folded = {V.NECK: V.FACE, V.COAT: V.UPPER_CLOTHES, V.GLOVE: V.RIGHT_ARM, V.SOCKS: V.RIGHT_LEG}
    for label in V:
        assert back[0, label] == folded.get(label, label), label.name
    assert dc[0, V.FACE] == DC.HEAD and dc[0, V.LEFT_LEG] == DC.LEFT_LEG
    # sided targets split at the midline: the person's left lies at the image's right
    gloves = np.full((1, 4), V.GLOVE, np.uint8)
    assert labels.from_viton(gloves, "dresscode", midline_x=2).tolist() == [
        [DC.RIGHT_ARM, DC.RIGHT_ARM, DC.LEFT_ARM, DC.LEFT_ARM]
    ]
    with pytest.raises(ValueError, match=r"VITON-HD ids are 0\.\.19"):
        labels.from_viton(np.array([[25]], np.uint8), "dresscode")
    with pytest.raises(ValueError, match="no table from VITON-HD ids to 'lip'"):
        labels.from_viton(ids, "lip")


def test_label_map_png_holds_the_ids(tmp_path):
    ids = np.array([[0, 4, 11], [14, 15, 17]], np.uint8)
    labels.write_label_map(tmp_path / "a_4.png", ids, "dresscode")
    assert np.array_equal(labels.read_parse(tmp_path / "a_4.png"), ids)
    with pytest.raises(ValueError, match=r"dresscode ids are 0\.\.17"):
        labels.write_label_map(tmp_path / "b.png", ids + 10, "dresscode")


def test_dresscode_keypoints_are_coco18_in_the_384x512_frame(tmp_path):
    height, width = 1024, 768
    body = np.zeros((25, 3), np.float32)
    body[openpose.Body25.NOSE] = (400.5, 100.25, 0.9)
    body[openpose.Body25.R_HIP] = (300, 600, 0.8)
    body[openpose.Body25.L_HIP] = (500, 610, 0.7)
    body[openpose.Body25.L_BIG_TOE] = (480, 1000, 0.6)  # BODY_25 only: dropped
    path = tmp_path / "x_2.json"
    openpose.write_dresscode_keypoints(path, body, height, width)
    rows = json.loads(path.read_text())["keypoints"]
    assert len(rows) == 18 and all(len(r) == 4 for r in rows)
    assert rows[0] == [200.25, 50.125, pytest.approx(0.9), 0.0]  # half size: 384x512 frame
    assert rows[openpose.Coco18.NECK] == [-1.0, -1.0, 0.0, -1.0]
    # the DressCode loader's own scaling gives the pixels back at any size
    x, y = rows[0][0] * width / 384.0, rows[0][1] * height / 512.0
    assert (x, y) == (400.5, 100.25)
    back = openpose.read_dresscode_keypoints(path, height, width)
    coco = openpose.body25_to_coco18(body)
    np.testing.assert_allclose(openpose.body25_to_coco18(back), coco, atol=1e-4)
    assert back[openpose.Body25.MID_HIP].tolist() == pytest.approx([400, 605, 0.7])
    assert not back[openpose.Body25.L_BIG_TOE].any()
    # a point at (0, 0) with a score of 0 (another way of writing "missing") reads as missing
    rows[0] = [0, 0, 0, -1]
    path.write_text(json.dumps({"keypoints": rows}))
    assert not openpose.read_dresscode_keypoints(path, height, width)[0].any()


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"keypoints": [[1, 2, 3, 4]] * 17}, "got 17 entries"),
        ({"people": []}, "got NoneType"),
        ({"keypoints": [[1, 2, 3]] * 18}, "18 COCO-18 rows of 4 numbers"),
        ({"keypoints": [[1, 2, "a", 4]] * 18}, "not a finite number"),
    ],
)
def test_malformed_dresscode_keypoints_say_what_arrived(tmp_path, doc, message):
    path = tmp_path / "bad_2.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(openpose.KeypointError, match=message):
        openpose.read_dresscode_keypoints(path, 64, 48)


def test_skeleton_render_and_part_ids(tmp_path):
    body = np.zeros((25, 3), np.float32)
    body[openpose.Body25.NECK] = (24, 10, 1)
    body[openpose.Body25.R_SHOULDER] = (14, 12, 1)
    body[openpose.Body25.MID_HIP] = (24, 40, 1)  # not in COCO-18: no neck-hip limb drawn
    rgb = openpose.render_coco18(body, 64, 48)
    assert rgb.shape == (64, 48, 3) and rgb[11, 19].any() and not rgb[30, 24].any()
    parts = np.array([[0, 1, 24]], np.uint8)
    densepose.write_part_ids(tmp_path / "d_5.png", parts)
    assert np.array_equal(densepose.read_part_ids(tmp_path / "d_5.png"), parts)
    with pytest.raises(ValueError, match=r"ids 0\.\.24"):
        densepose.write_part_ids(tmp_path / "e.png", parts + 1)


def test_dresscode_ids_pairs_and_layout(tmp_path):
    assert dresscode_id("000123_00") == "000123-00"
    name = f"{dresscode_id('000123_00')}_0.jpg"
    assert name.replace("_0", "_5") == "000123-00_5.jpg"  # the loader's skeleton lookup
    layout = DressCodeLayout(tmp_path)
    assert layout.path("dresses", "keypoints", "7").relative_to(tmp_path).as_posix() == (
        "dresses/keypoints/7_2.json"
    )
    assert layout.pairs_path("test", True, "dresses").name == "test_pairs_unpaired.txt"
    assert layout.pairs_path("train").parent == tmp_path
    with pytest.raises(ValueError, match="no unpaired train"):
        layout.pairs_path("train", unpaired=True)
    with pytest.raises(ValueError, match="category must be one of"):
        layout.category_root("tops")
    write_dresscode_pairs(tmp_path / "p.txt", [("1", "2")])
    assert (tmp_path / "p.txt").read_text() == "1_0.jpg 2_1.jpg\n"
    assert read_dresscode_pairs(tmp_path / "p.txt") == [("1", "2")]
    (tmp_path / "q.txt").write_text("1.jpg 2.jpg\n")
    with pytest.raises(ValueError, match=r"q\.txt:1: expected 'ID_0\.jpg ID_1\.jpg'"):
        read_dresscode_pairs(tmp_path / "q.txt")
    write_ids_map(layout.ids_map_path, {"a-1": "a_1"})
    assert read_ids_map(layout.ids_map_path) == {"a-1": "a_1"}
    assert read_ids_map(tmp_path / "absent.csv") == {}


def test_viton_hd_flavour_is_detected_by_its_folder_names(tmp_path):
    assert detect_flavor(tmp_path) == "hr-viton"
    (tmp_path / "test" / "openpose-json").mkdir(parents=True)
    assert detect_flavor(tmp_path) == "viton-hd"
    (tmp_path / "test" / "image-parse-v3").mkdir()
    assert detect_flavor(tmp_path) == "hr-viton"  # ours wins when both are there
    assert Layout(tmp_path, flavor="viton-hd").folder("test", "pose_img").name == "openpose-img"
    with pytest.raises(KeyError, match="no folder in the viton-hd layout"):
        Layout(tmp_path, flavor="viton-hd").path("test", "densepose", "x")
    with pytest.raises(ValueError, match="DressCodeLayout"):
        Layout(tmp_path, flavor="dresscode")


def _params(root, **cfg):
    return parse_params(
        {
            "base": {"height": 64, "width": 48},
            "data": {"source": "dresscode", "dresscode": {"root": str(root), **cfg}},
        }
    )


def _write_person(layout: DressCodeLayout, category: str, dc: str) -> None:
    from PIL import Image

    for file_name in ("image", "cloth"):
        path = layout.path(category, file_name, dc)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (48, 64), (200, 180, 160)).save(path)


def test_source_reads_splits_from_pairs_and_rejects_what_it_cannot_use(tmp_path):
    root = tmp_path / "dc"
    layout = DressCodeLayout(root)
    _write_person(layout, "upper_body", "1")
    _write_person(layout, "upper_body", "2")
    _write_person(layout, "dresses", "1")  # the same id again in another category
    write_dresscode_pairs(layout.pairs_path("train", category="upper_body"), [("1", "1")])
    write_dresscode_pairs(
        layout.pairs_path("test", unpaired=True, category="upper_body"), [("2", "1"), ("3", "2")]
    )
    write_dresscode_pairs(layout.pairs_path("train", category="dresses"), [("1", "1")])
    label_map = layout.path("upper_body", "label_map", "2")
    label_map.parent.mkdir(parents=True)
    labels.write_label_map(label_map, np.full((64, 48), DC.BELT, np.uint8), "dresscode")
    out = tmp_path / "ds"
    summary = ingest(_params(root, categories=["upper_body", "dresses"]), out, progress=False)
    assert (summary["train"], summary["test"], summary["rejects"]) == (1, 1, 2)
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert sorted(r["reason"] for r in rejects) == ["duplicate_id", "missing_file"]
    assert Layout(out).ids("test") == ["2"]  # test split from the unpaired file's persons
    parse = labels.read_parse(Layout(out).path("test", "parse", "2"))
    assert (parse == V.PANTS).all()  # DressCode's belt is worn with the lower garment


def test_source_config_errors_name_the_key(tmp_path):
    with pytest.raises(ValueError, match=r"data\.dresscode\.root is empty"):
        ingest(_params(""), tmp_path / "o", progress=False)
    with pytest.raises(FileNotFoundError, match="has none of the categories"):
        ingest(_params(tmp_path), tmp_path / "o", progress=False)
    with pytest.raises(ValueError, match="cannot be read from DressCode"):
        ingest(_params(tmp_path, reuse=["agnostic"]), tmp_path / "o", progress=False)
    with pytest.raises(ValueError, match="not in"):
        ingest(_params(tmp_path, categories=["tops"]), tmp_path / "o", progress=False)
