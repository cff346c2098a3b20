"""vton.formats: byte-faithful round trips on the real dataset files, conversions, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from vton.formats import densepose, labels, masks, openpose
from vton.formats.labels import FashnLabel, VitonLabel

pytestmark = pytest.mark.golden


def test_openpose_json_round_trip_is_byte_identical(golden, golden_ids, tmp_path):
    for sid in golden_ids:
        src = golden / "test" / "openpose_json" / f"{sid}_keypoints.json"
        out = tmp_path / src.name
        openpose.write_openpose(out, openpose.read_openpose(src))
        assert out.read_bytes() == src.read_bytes(), sid


def test_keypoints_read_write_keeps_points(golden, golden_ids, tmp_path):
    for sid in golden_ids:
        src = golden / "test" / "openpose_json" / f"{sid}_keypoints.json"
        body = openpose.read_keypoints(src)
        assert body.shape == (25, 3) and body.dtype == np.float32
        out = tmp_path / "k.json"
        openpose.write_keypoints(out, body)
        again = json.loads(out.read_text())["people"][0]["pose_keypoints_2d"]
        theirs = json.loads(src.read_text())["people"][0]["pose_keypoints_2d"]
        np.testing.assert_allclose(again, theirs, rtol=1e-5, atol=1e-4)
        # Missing points stay exactly (0, 0, 0), written as integers like the dataset's.
        assert [again[i] for i, v in enumerate(theirs) if v == 0] == [0] * theirs.count(0)


def test_coco18_body25_conversion(golden, golden_ids, tmp_path):
    body = openpose.read_keypoints(
        golden / "test" / "openpose_json" / f"{golden_ids[0]}_keypoints.json"
    )
    coco = openpose.body25_to_coco18(body)
    assert coco.shape == (18, 3)
    assert np.array_equal(coco[openpose.Coco18.L_WRIST], body[openpose.Body25.L_WRIST])
    back = openpose.coco18_to_body25(coco)
    named = [int(openpose.Body25[c.name]) for c in openpose.Coco18]
    assert np.array_equal(back[named], body[named])
    assert np.array_equal(back[19:], np.zeros((6, 3)))  # feet: no COCO equivalent
    # mid-hip is derived from both hips when COCO has them
    assert back[openpose.Body25.MID_HIP, 2] > 0
    np.testing.assert_allclose(
        back[8, :2], (body[openpose.Body25.R_HIP, :2] + body[openpose.Body25.L_HIP, :2]) / 2
    )
    # a COCO-18 file reads back as BODY_25
    path = tmp_path / "coco.json"
    openpose.write_keypoints(path, body, coco18=True)
    assert len(json.loads(path.read_text())["people"][0]["pose_keypoints_2d"]) == 54
    np.testing.assert_allclose(openpose.read_keypoints(path)[named], body[named], atol=1e-3)


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "not valid JSON"),
        ('{"people": 3}', "'people' list"),
        ('{"people": [{"pose_keypoints_2d": [1, 2]}]}', r"75 \(BODY_25\) or 54"),
        ('{"people": [{"pose_keypoints_2d": [' + ",".join(["1"] * 74) + ',"x"]}]}', "non-number"),
    ],
)
def test_malformed_keypoint_json_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "bad_keypoints.json"
    path.write_text(text)
    with pytest.raises(openpose.KeypointError, match=message):
        openpose.read_keypoints(path)


def test_empty_people_reads_as_all_missing(tmp_path):
    path = tmp_path / "none.json"
    path.write_text('{"version":1.3,"people":[]}')
    assert not openpose.read_keypoints(path).any()


def test_parse_png_round_trip_is_byte_identical(golden, golden_ids, tmp_path):
    for folder in ("image-parse-v3", "image-parse-agnostic-v3.2"):
        for sid in golden_ids:
            src = golden / "test" / folder / f"{sid}.png"
            ids = labels.read_parse(src)
            assert ids.dtype == np.uint8 and ids.max() < len(VitonLabel)
            out = tmp_path / f"{folder}-{sid}.png"
            labels.write_parse(out, ids)
            with Image.open(out) as ours, Image.open(src) as theirs:
                assert ours.mode == theirs.mode == "P"
                assert ours.getpalette() == theirs.getpalette()
                assert np.array_equal(np.asarray(ours), np.asarray(theirs))
            assert out.read_bytes() == src.read_bytes(), (folder, sid)


def test_parse_palette_and_rgb_decoding(tmp_path):
    ids = np.arange(20, dtype=np.uint8).repeat(3).reshape(6, 10)
    rgb_path = tmp_path / "parse_rgb.png"
    Image.fromarray(labels.colorize(ids)).save(rgb_path)
    assert np.array_equal(labels.read_parse(rgb_path), ids)
    with pytest.raises(ValueError, match=r"ids are 0\.\.19"):
        labels.write_parse(tmp_path / "x.png", np.full((4, 4), 20, np.uint8))


def test_neck_is_label_10_and_left_is_person_left(golden, golden_ids):
    assert VitonLabel.NECK == 10
    for sid in golden_ids:
        ids = labels.read_parse(golden / "test" / "image-parse-v3" / f"{sid}.png")
        body = openpose.read_keypoints(golden / "test" / "openpose_json" / f"{sid}_keypoints.json")
        left_x = np.nonzero(ids == VitonLabel.LEFT_ARM)[1].mean()
        right_x = np.nonzero(ids == VitonLabel.RIGHT_ARM)[1].mean()
        assert left_x > right_x
        assert body[openpose.Body25.L_SHOULDER, 0] > body[openpose.Body25.R_SHOULDER, 0]


def test_mapping_tables_cover_every_label():
    for name, (enum, table) in labels.LABEL_SETS.items():
        assert set(table) == set(enum), name
        lut = labels.lookup_table(name)
        assert lut[: len(enum)].max() < len(VitonLabel)


@pytest.mark.parametrize(
    "names, expected",
    [
        (
            [
                "Background",
                "Hat",
                "Hair",
                "Sunglasses",
                "Upper-clothes",
                "Skirt",
                "Pants",
                "Dress",
                "Belt",
                "Left-shoe",
                "Right-shoe",
                "Face",
                "Left-leg",
                "Right-leg",
                "Left-arm",
                "Right-arm",
                "Bag",
                "Scarf",
            ],
            "atr",
        ),
        ([lab.name.lower() for lab in labels.HumanParse24Label], "human_parse_24"),
        ([lab.name.lower() for lab in FashnLabel], "fashn"),
        ([lab.name.replace("_", "-").title() for lab in labels.LipLabel], "lip"),
    ],
)
def test_identify_label_set_from_id2label(names, expected):
    assert labels.identify_label_set({str(i): n for i, n in enumerate(names)}) == expected


def test_identify_label_set_unknown_names_the_param():
    with pytest.raises(ValueError, match="label_set param"):
        labels.identify_label_set({0: "sky", 1: "road"})


def test_to_viton_maps_and_splits_sides():
    atr = np.array([[labels.AtrLabel.UPPER_CLOTHES, labels.AtrLabel.BAG, labels.AtrLabel.SKIRT]])
    assert labels.to_viton(atr, "atr").tolist() == [[5, 0, 12]]
    arms = np.full((2, 8), FashnLabel.ARMS, np.uint8)
    mapped = labels.to_viton(arms, "fashn", midline_x=4)
    # image left of the midline is the person's right arm
    assert set(mapped[:, :4].ravel()) == {VitonLabel.RIGHT_ARM}
    assert set(mapped[:, 4:].ravel()) == {VitonLabel.LEFT_ARM}
    with pytest.raises(ValueError, match=r"has ids 0\.\.17"):
        labels.to_viton(np.array([[30]]), "fashn")


def test_group13_matches_downstream_loaders():
    ids = np.arange(20, dtype=np.uint8)[None]
    groups = labels.group13(ids)[0].tolist()
    assert groups[VitonLabel.NECK] == groups[VitonLabel.BACKGROUND] == 0
    assert (
        groups[VitonLabel.UPPER_CLOTHES] == groups[VitonLabel.DRESS] == groups[VitonLabel.COAT] == 3
    )
    assert groups[VitonLabel.GLOVE] == groups[VitonLabel.SCARF] == 12
    one_hot = labels.one_hot13(ids)
    assert one_hot.shape == (13, 1, 20) and np.array_equal(one_hot.sum(0), np.ones((1, 20)))


def test_densepose_colours_match_the_dataset(golden, golden_ids, tmp_path):
    for sid in golden_ids:
        src = golden / "test" / "image-densepose" / f"{sid}.jpg"
        rgb = np.asarray(Image.open(src).convert("RGB"))
        parts = densepose.read_densepose(src)
        redrawn = densepose.colorize(parts).astype(int)
        close = (np.abs(redrawn - rgb).max(-1) <= 24).mean()
        assert close > 0.99, (sid, close)
        out = tmp_path / f"{sid}.jpg"
        densepose.write_densepose(out, parts)
        again = densepose.read_densepose(out)
        # Neighbouring parts have close PARULA colours, so JPEG noise flips a few edge pixels.
        assert (again == parts).mean() > 0.99
        assert ((again > 0) == (parts > 0)).mean() > 0.999


def test_densepose_clean_part_map_round_trips(tmp_path):
    # Part regions as large as in a real render; JPEG (4:2:0) only blurs their borders.
    parts = np.zeros((256, 192), np.uint8)
    for part in range(1, 25):
        row, col = divmod(part - 1, 4)
        parts[row * 40 : row * 40 + 40, col * 48 : col * 48 + 48] = part
    densepose.write_densepose(tmp_path / "d.jpg", parts)
    assert (densepose.read_densepose(tmp_path / "d.jpg") == parts).mean() > 0.95
    assert set(np.unique(densepose.read_densepose(tmp_path / "d.jpg"))) == set(range(25))


def test_masks_round_trip(golden, golden_ids, tmp_path):
    for sid in golden_ids:
        agn = masks.read_mask(golden / "test" / "agnostic-mask" / f"{sid}_mask.png")
        out = tmp_path / f"{sid}_mask.png"
        masks.write_mask(out, agn, rgb=True)
        with Image.open(out) as img:
            assert img.mode == "RGB"
        assert np.array_equal(masks.read_mask(out), agn)
        cloth = masks.read_mask(golden / "test" / "cloth-mask" / f"{sid}.jpg")
        out = tmp_path / f"{sid}.jpg"
        masks.write_mask(out, cloth)
        assert (masks.read_mask(out) == cloth).mean() > 0.999
