"""Import of a VITON-HD-layout root, and `validate` on the real dataset files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from vton.config import parse_params
from vton.formats import labels, openpose
from vton.layout import KINDS, Layout, read_catalog, read_jsonl, read_pairs
from vton.qa.validate import validate
from vton.sources.ingest import ingest

pytestmark = pytest.mark.golden
ALL_KINDS = tuple(KINDS)  # the dataset ships every kind


def _params(root, height, width, **vitonhd):
    return parse_params(
        {
            "base": {"height": height, "width": width},
            "data": {"source": "vitonhd", "vitonhd": {"root": str(root), **vitonhd}},
        }
    )


def test_golden_samples_validate_clean(golden):
    report = validate(golden, required=ALL_KINDS, progress=False)
    assert report.ok, [str(v) for v in report.violations]
    assert report.samples == {"test": 5}
    assert report.checked_files == 50


def test_native_size_import_copies_files_byte_for_byte(golden, golden_ids, tmp_path):
    out = tmp_path / "ds"
    summary = ingest(_params(golden, 1024, 768), out, progress=False)
    assert summary["samples"] == 5 and summary["test"] == 5 and summary["rejects"] == 0
    layout, theirs = Layout(out), Layout(golden)
    for sid in golden_ids:
        for kind_name in ALL_KINDS:
            ours = layout.path("test", kind_name, sid).read_bytes()
            assert ours == theirs.path("test", kind_name, sid).read_bytes(), (sid, kind_name)
    assert read_pairs(layout.pairs_path("test")) == [(i, i) for i in golden_ids]
    unpaired = read_pairs(layout.pairs_path("test", unpaired=True))
    assert sorted(p for p, _ in unpaired) == golden_ids
    assert all(p != c for p, c in unpaired) and sorted(c for _, c in unpaired) == golden_ids
    catalog = read_catalog(layout.catalog_path)
    assert list(catalog["source"].unique()) == ["vitonhd"]
    assert validate(out, required=ALL_KINDS, progress=False).ok


def test_resized_import_keeps_annotations_exact(golden, golden_ids, tmp_path):
    out = tmp_path / "small"
    ingest(
        _params(
            golden,
            256,
            192,
            limit=2,
            reuse=["parse", "pose_json", "pose_img", "densepose", "cloth_mask"],
        ),
        out,
        progress=False,
    )
    layout = Layout(out)
    assert layout.ids("test") == golden_ids[:2]
    assert validate(out, required=("image", "cloth", "parse", "pose_json"), progress=False).ok
    for sid in golden_ids[:2]:
        big = labels.read_parse(golden / "test" / "image-parse-v3" / f"{sid}.png")
        small = labels.read_parse(layout.path("test", "parse", sid))
        assert small.shape == (256, 192)
        assert set(np.unique(small)) <= set(np.unique(big))
        theirs = openpose.read_keypoints(
            golden / "test" / "openpose_json" / f"{sid}_keypoints.json"
        )
        ours = openpose.read_keypoints(layout.path("test", "pose_json", sid))
        present = theirs[:, 2] > 0
        np.testing.assert_allclose(ours[present, :2] * 4, theirs[present, :2], atol=0.01)
        assert np.array_equal(ours[:, 2], theirs[:, 2])
        doc = json.loads(layout.path("test", "pose_json", sid).read_text())
        assert len(doc["people"][0]["face_keypoints_2d"]) == 210  # face and hands kept, scaled
    assert not layout.folder("test", "agnostic").exists()  # not asked to reuse


def test_broken_files_are_rejects(golden, golden_ids, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(golden, root)
    (root / "test" / "cloth" / f"{golden_ids[0]}.jpg").unlink()
    (root / "test" / "openpose_json" / f"{golden_ids[1]}_keypoints.json").write_text("{oops")
    out = tmp_path / "ds"
    summary = ingest(_params(root, 1024, 768), out, progress=False)
    reasons = {r["id"]: r["reason"] for r in read_jsonl(Layout(out).rejects_path)}
    assert reasons == {golden_ids[0]: "missing_file", golden_ids[1]: "unreadable"}
    assert summary["samples"] == 3


def test_validate_reports_each_violation(golden, golden_ids, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(golden, root)
    test = root / "test"
    (test / "image-densepose" / f"{golden_ids[0]}.jpg").unlink()
    labels_bad = labels.read_parse(test / "image-parse-v3" / f"{golden_ids[1]}.png")
    from PIL import Image

    bad = Image.fromarray(np.where(labels_bad == 5, 42, labels_bad).astype(np.uint8), "P")
    bad.putpalette(labels.viton_palette())
    bad.save(test / "image-parse-v3" / f"{golden_ids[1]}.png")
    Image.new("RGB", (100, 100)).save(test / "cloth-mask" / f"{golden_ids[2]}.jpg")
    doc = json.loads((test / "openpose_json" / f"{golden_ids[3]}_keypoints.json").read_text())
    doc["people"][0]["pose_keypoints_2d"][0] = 5000
    (test / "openpose_json" / f"{golden_ids[3]}_keypoints.json").write_text(json.dumps(doc))
    (test / "agnostic-mask" / "99999_00_mask.png").write_bytes(b"")
    with open(root / "test_pairs.txt", "a") as fh:
        fh.write("12345_00.jpg 00006_00.jpg\n")
    report = validate(root, required=ALL_KINDS, progress=False)
    checks = sorted((v.check, v.id) for v in report.violations)
    assert checks == sorted(
        [
            ("missing", golden_ids[0]),
            ("label_range", golden_ids[1]),
            ("size", golden_ids[2]),
            ("keypoints", golden_ids[3]),
            ("orphan", "99999_00"),
            ("pairs", "12345_00"),
        ]
    )
    assert report.metrics()["violations"] == 6
    text = "\n".join(str(v) for v in report.violations)
    assert "holds label id 42" in text and "NOSE" in text
