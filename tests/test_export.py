"""Drop-in exports: each flavour written from the embedded sample dataset and read back.

What a round trip keeps, flavour by flavour:

- hr-viton at `size: dataset`: everything, byte for byte (it is our layout).
- viton-hd at `size: dataset`: the six kinds the original loader reads, byte for byte;
  DensePose and the agnostic kinds have no folder there and are left out.
- hr-viton and viton-hd at `size: peer` (the default): 1024x768, what HR-VITON's test loader
  and StableVITON's loader open item by item (their checks restated below).
- dresscode: photos byte for byte; parse ids after mapping, except the four VITON-HD labels
  DressCode has no id for (neck -> face, coat -> upper clothes, glove -> arm, socks -> leg);
  the 18 COCO-18 keypoints (mid-hip comes back as the mean of the hips, the feet missing);
  DensePose part ids and garment masks up to the JPEG re-encode of our own kinds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from annotate_data import sample_dataset
from PIL import Image

from vton.config import parse_params
from vton.export import ExportError, export, export_pack
from vton.formats import densepose, labels, masks, openpose, packs
from vton.formats.images import image_size
from vton.formats.labels import VitonLabel as V
from vton.layout import (
    KINDS,
    VITON_HD_FOLDERS,
    DressCodeLayout,
    Layout,
    detect_flavor,
    dresscode_id,
    read_dresscode_pairs,
    read_pairs,
)
from vton.qa.validate import validate
from vton.sources.ingest import ingest

PROJECT = Path(__file__).resolve().parents[1]
H, W = 64, 48
LOST_IN_DRESSCODE = {V.NECK: V.FACE, V.COAT: V.UPPER_CLOTHES}  # glove/socks: sided, below


def _import(source: str, root, height=H, width=W, **cfg):
    """Params that import `root` with the source `source` at (height, width)."""
    return parse_params(
        {
            "base": {"height": height, "width": width},
            "data": {"source": source, source: {"root": str(root), **cfg}},
        }
    )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The embedded sample dataset at 64x48: 4 train and 2 test samples."""
    return sample_dataset(tmp_path_factory.mktemp("sample") / "ds", height=H, width=W)


def _inside(ids: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels whose 3x3 neighbourhood holds one id (away from boundaries)."""
    pad = np.pad(ids, 1, mode="edge")
    h, w = ids.shape
    same = np.ones((h, w), bool)
    for dy in range(3):
        for dx in range(3):
            same &= pad[dy : dy + h, dx : dx + w] == ids
    return same


def _files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_hr_viton_round_trip_is_byte_identical(dataset, tmp_path):
    out = tmp_path / "hr"
    summary = export(dataset, out, "hr-viton", progress=False, size="dataset")
    assert summary["samples"] == 6 and summary["kinds_left_out"] == ""
    assert summary["linked"] + summary["copied"] == summary["files"] > 0
    assert detect_flavor(out) == "hr-viton"
    back = tmp_path / "back"
    ingest(_import("vitonhd", out), back, progress=False)
    ours, theirs = Layout(dataset), Layout(back)
    for split in ("train", "test"):
        assert theirs.ids(split) == ours.ids(split)
        assert theirs.kinds_present(split) == ours.kinds_present(split)
        for kind_name in ours.kinds_present(split):
            for sid in ours.ids(split):
                a = ours.path(split, kind_name, sid).read_bytes()
                assert theirs.path(split, kind_name, sid).read_bytes() == a, (kind_name, sid)
        # the release's convention: test_pairs.txt lists the unpaired garments; the import
        # rebuilds our paired and unpaired lists, the same ones at the same seed
        unpaired = ours.pairs_path(split, unpaired=True).read_text()
        exported = (out / ours.pairs_path(split).name).read_text()
        assert exported == (unpaired if split == "test" else ours.pairs_path(split).read_text())
        for flag in (False, True):
            assert theirs.pairs_path(split, flag).read_text() == (
                ours.pairs_path(split, flag).read_text()
            )


def test_files_are_hard_links_on_one_filesystem(dataset, tmp_path):
    out = tmp_path / "hr"
    summary = export(dataset, out, "hr-viton", progress=False, size="dataset")
    assert summary["copied"] == 0
    sid = Layout(dataset).ids("train")[0]
    src, dst = Layout(dataset).path("train", "parse", sid), Layout(out).path("train", "parse", sid)
    assert os.stat(src).st_ino == os.stat(dst).st_ino


def test_viton_hd_round_trip_keeps_the_six_kinds_it_reads(dataset, tmp_path):
    out = tmp_path / "vh"
    summary = export(dataset, out, "viton-hd", progress=False, size="dataset")
    assert summary["kinds_left_out"] == "densepose"
    assert sorted(p.name for p in (out / "train").iterdir()) == sorted(VITON_HD_FOLDERS.values())
    assert {"image-parse", "openpose-json", "openpose-img"} <= set(VITON_HD_FOLDERS.values())
    assert detect_flavor(out) == "viton-hd"
    # the original loader's own path arithmetic finds every file of every pairs line
    for person, cloth in read_pairs(out / "train_pairs.txt"):
        split = out / "train"
        assert (split / "cloth" / f"{cloth}.jpg").exists()
        assert (split / "cloth-mask" / f"{cloth}.jpg").exists()
        assert (split / "openpose-img" / f"{person}_rendered.png").exists()
        assert (split / "openpose-json" / f"{person}_keypoints.json").exists()
        assert (split / "image-parse" / f"{person}.png").exists()
    back = tmp_path / "back"
    ingest(_import("vitonhd", out), back, progress=False)
    ours, theirs = Layout(dataset), Layout(back)
    for split in ("train", "test"):
        assert theirs.kinds_present(split) == list(VITON_HD_FOLDERS)
        for kind_name in VITON_HD_FOLDERS:
            for sid in ours.ids(split):
                a = ours.path(split, kind_name, sid).read_bytes()
                assert theirs.path(split, kind_name, sid).read_bytes() == a, (kind_name, sid)
    assert validate(back, required=tuple(VITON_HD_FOLDERS), progress=False).ok


def test_dresscode_export_is_what_the_dresscode_loaders_open(dataset, tmp_path):
    out = tmp_path / "dc"
    summary = export(dataset, out, "dresscode", category="upper_body", progress=False)
    assert summary["samples"] == 6 and summary["category"] == "upper_body"
    cat = out / "upper_body"
    lines = {name: read_dresscode_pairs(cat / name) for name in ("train_pairs.txt",)}
    lines["test_pairs_paired.txt"] = read_dresscode_pairs(cat / "test_pairs_paired.txt")
    lines["test_pairs_unpaired.txt"] = read_dresscode_pairs(cat / "test_pairs_unpaired.txt")
    assert [len(v) for v in lines.values()] == [4, 2, 2]
    for name in lines:  # the root's files list every category's lines (here, one)
        assert (out / name).read_text() == (cat / name).read_text()
    for raw in (cat / "train_pairs.txt").read_text().splitlines():
        im_name, c_name = raw.split()
        # exactly the string arithmetic of aimagelab/dress-code's and LaDI-VTON's loaders
        assert (cat / "images" / im_name).exists() and (cat / "images" / c_name).exists()
        assert (cat / "masks" / c_name.replace(".jpg", ".png")).exists()
        assert (cat / "skeletons" / im_name.replace("_0", "_5")).exists()
        assert (cat / "label_maps" / im_name.replace("_0.jpg", "_4.png")).exists()
        keypoints = json.loads(
            (cat / "keypoints" / im_name.replace("_0.jpg", "_2.json")).read_text()
        )
        pose = np.array(keypoints["keypoints"]).reshape((-1, 4))
        assert pose.shape == (18, 4)
        with Image.open(cat / "dense" / im_name.replace("_0.jpg", "_5.png")) as img:
            assert img.mode == "L" and int(np.array(img).max()) <= 24
        with Image.open(cat / "label_maps" / im_name.replace("_0.jpg", "_4.png")) as img:
            assert img.mode == "L" and int(np.array(img).max()) < 18
        assert not (cat / "dense" / im_name.replace("_0.jpg", "_5_uv.npz")).exists()
    # ids lost their "_" (the loaders' replace("_0", "_5") would hit it), mapped back here
    assert (out / "vton_ids.csv").read_text().splitlines()[1] == "000000-00,000000_00"


def test_dresscode_round_trip_keeps_what_dresscode_can_hold(dataset, tmp_path):
    out = tmp_path / "dc"
    export(dataset, out, "dresscode", progress=False)
    back = tmp_path / "back"
    summary = ingest(_import("dresscode", out, categories=["upper_body"]), back, progress=False)
    assert summary["rejects"] == 0 and summary["samples"] == 6
    ours, theirs = Layout(dataset), Layout(back)
    lossy_seen = set()
    for split in ("train", "test"):
        assert theirs.ids(split) == ours.ids(split)
        assert [p for p, _ in read_pairs(theirs.pairs_path(split))] == ours.ids(split)
        for sid in ours.ids(split):
            for kind_name in ("image", "cloth"):
                a = ours.path(split, kind_name, sid).read_bytes()
                assert theirs.path(split, kind_name, sid).read_bytes() == a

            before = labels.read_parse(ours.path(split, "parse", sid))
            after = labels.read_parse(theirs.path(split, "parse", sid))
            expected = before.copy()
            for lost, kept in LOST_IN_DRESSCODE.items():
                expected[before == lost] = kept
                lossy_seen |= {int(lost)} if (before == lost).any() else set()
            sided = np.isin(before, [V.GLOVE, V.SOCKS])
            assert np.array_equal(after[~sided], expected[~sided]), sid
            assert np.isin(after[before == V.GLOVE], [V.LEFT_ARM, V.RIGHT_ARM]).all()
            assert np.isin(after[before == V.SOCKS], [V.LEFT_LEG, V.RIGHT_LEG]).all()

            body = openpose.read_keypoints(ours.path(split, "pose_json", sid))
            again = openpose.read_keypoints(theirs.path(split, "pose_json", sid))
            coco, coco_again = openpose.body25_to_coco18(body), openpose.body25_to_coco18(again)
            np.testing.assert_allclose(coco_again[:, :2], coco[:, :2], atol=1e-3)
            assert np.array_equal(coco_again[:, 2], coco[:, 2])
            feet = [int(k) for k in openpose.Body25 if k >= openpose.Body25.L_BIG_TOE]
            assert not again[feet].any()  # COCO-18 has no feet
            hips = again[[openpose.Body25.R_HIP, openpose.Body25.L_HIP]]
            if (hips[:, 2] > 0).all():
                np.testing.assert_allclose(
                    again[openpose.Body25.MID_HIP, :2], hips[:, :2].mean(0), atol=1e-3
                )

            # DensePose and garment masks go through one JPEG re-encode of our own kinds:
            # part ids agree inside the parts; only their one-pixel boundaries may move
            parts = densepose.read_densepose(ours.path(split, "densepose", sid))
            parts_again = densepose.read_densepose(theirs.path(split, "densepose", sid))
            inside = _inside(parts)
            assert (parts == parts_again)[inside].mean() > 0.99
            mask = masks.read_mask(ours.path(split, "cloth_mask", sid))
            mask_again = masks.read_mask(theirs.path(split, "cloth_mask", sid))
            assert (mask == mask_again).mean() > 0.99
    assert int(V.NECK) in lossy_seen  # the sample people have necks: the fold is exercised
    required = ("image", "cloth", "cloth_mask", "parse", "pose_json", "pose_img", "densepose")
    assert validate(back, required=required, progress=False).ok


def test_dresscode_import_resamples_to_another_size(dataset, tmp_path):
    out = tmp_path / "dc"
    export(dataset, out, "dresscode", progress=False)
    back = tmp_path / "big"
    ingest(_import("dresscode", out, 2 * H, 2 * W, limit=1), back, progress=False)
    sid = Layout(dataset).ids("train")[0]
    body = openpose.read_keypoints(Layout(dataset).path("train", "pose_json", sid))
    big = openpose.read_keypoints(Layout(back).path("train", "pose_json", sid))
    present = openpose.body25_to_coco18(body)[:, 2] > 0
    coco, coco_big = openpose.body25_to_coco18(body), openpose.body25_to_coco18(big)
    np.testing.assert_allclose(coco_big[present, :2], 2 * coco[present, :2], atol=1e-3)
    parse = labels.read_parse(Layout(back).path("train", "parse", sid))
    assert parse.shape == (2 * H, 2 * W)
    assert validate(back, required=("image", "cloth", "parse", "pose_json"), progress=False).ok


def test_export_replaces_out_whole_and_a_failed_export_keeps_the_old_one(dataset, tmp_path):
    out = tmp_path / "out"
    export(dataset, out, "dresscode", progress=False)
    (out / "stale.txt").write_text("from an earlier run")
    export(dataset, out, "viton-hd", progress=False, size="dataset")
    assert not (out / "stale.txt").exists() and (out / "train" / "image-parse").is_dir()
    before = _files(out)
    clash = tmp_path / "clash"  # two ids that become one DressCode id
    Layout(clash).folder("train", "image").mkdir(parents=True)
    Layout(clash).folder("test", "image").mkdir(parents=True)
    Image.new("RGB", (W, H)).save(Layout(clash).path("train", "image", "a_1"))
    Image.new("RGB", (W, H)).save(Layout(clash).path("test", "image", "a-1"))
    with pytest.raises(ExportError, match="both become DressCode id 'a-1'"):
        export(clash, out, "dresscode", progress=False)
    assert _files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clash", "out"]  # no temp left
    # what a killed export left behind (a process id that no longer runs) is cleared
    (tmp_path / ".out.export-999999999").mkdir()
    export(dataset, out, "hr-viton", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clash", "out"]


def test_export_errors_name_the_problem(dataset, tmp_path):
    with pytest.raises(FileNotFoundError, match="no train/ or test/ folder"):
        export(tmp_path, tmp_path / "out", "hr-viton", progress=False)
    with pytest.raises(ValueError, match="flavor must be one of"):
        export(dataset, tmp_path / "out", "viton", progress=False)
    with pytest.raises(ValueError, match="outside the dataset"):
        export(dataset, dataset / "export", "hr-viton", progress=False)
    with pytest.raises(ValueError, match=r"export\.size must be one of peer, dataset"):
        export(dataset, tmp_path / "out", "hr-viton", progress=False, size="1024")


def test_stage_writes_one_pack_of_exactly_what_vton_export_writes(dataset, tmp_path):
    (tmp_path / "params.yaml").write_text("export:\n  flavor: viton-hd\n  size: dataset\n")
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "stages.export", "--params", str(tmp_path / "params.yaml")),
            *("--dataset", str(dataset), "--out", str(tmp_path / "export")),
            *("--metrics", str(tmp_path / "export.json")),
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in (tmp_path / "export").iterdir()] == ["viton-hd.zip"]  # no temp left
    metrics = json.loads((tmp_path / "export.json").read_text())
    assert metrics["flavor"] == "viton-hd" and metrics["samples"] == 6
    assert metrics["kinds_left_out"] == "densepose"
    loose = tmp_path / "loose"
    export(dataset, loose, "viton-hd", progress=False, size="dataset")
    reader = packs.Reader(tmp_path / "export" / "viton-hd.zip")
    files = {p.relative_to(loose).as_posix(): p for p in loose.rglob("*") if p.is_file()}
    assert "README.md" in files and any(n.startswith("test/image-parse/") for n in files)
    assert reader.names() == sorted(files)
    for name, path in files.items():
        assert reader.read(name) == path.read_bytes(), name
    # a failed export leaves neither a pack nor its staging folder
    with pytest.raises(ValueError, match="flavor must be one of"):
        export_pack(dataset, tmp_path / "failed" / "x.zip", "viton", progress=False)
    assert list((tmp_path / "failed").iterdir()) == []


def test_cli_export(dataset, tmp_path):
    def vton(*args):
        return subprocess.run(
            [sys.executable, "-m", "vton.cli", *args], capture_output=True, text=True, timeout=120
        )

    proc = vton("export", str(dataset), str(tmp_path / "dc"), "--flavor", "dresscode")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["flavor"] == "dresscode"
    ours = Layout(dataset).ids("train") + Layout(dataset).ids("test")
    assert DressCodeLayout(tmp_path / "dc").ids("upper_body") == [dresscode_id(s) for s in ours]
    bad = vton("export", str(tmp_path / "nothing"), str(tmp_path / "x"))
    assert bad.returncode == 2 and "no train/ or test/ folder" in bad.stderr
    sid = Layout(dataset).ids("test")[0]
    for size, expected in (
        ("dataset", image_size(Layout(dataset).path("test", "image", sid))),
        ("peer", (1024, 768)),
    ):
        out = tmp_path / f"hr-{size}"
        proc = vton("export", str(dataset), str(out), "--flavor", "hr-viton", "--size", size)
        assert proc.returncode == 0, proc.stderr
        assert image_size(Layout(out).path("test", "image", sid)) == expected
        readme = (out / "README.md").read_text()
        assert (
            f"- Size: {expected[0]}x{expected[1]} (height x width), `export.size: {size}`" in readme
        )
    wrong = vton("export", str(dataset), str(tmp_path / "w"), "--size", "1024")
    assert wrong.returncode == 2 and "invalid choice" in wrong.stderr


@pytest.mark.golden
def test_golden_hr_viton_export_keeps_all_ten_kinds(golden, golden_ids, tmp_path):
    out = tmp_path / "hr"
    summary = export(golden, out, "hr-viton", progress=False)
    assert summary["kinds_left_out"] == "" and summary["files"] == 5 * len(KINDS) + 1
    for sid in golden_ids:
        for kind_name in KINDS:
            a = Layout(golden).path("test", kind_name, sid).read_bytes()
            assert Layout(out).path("test", kind_name, sid).read_bytes() == a
    assert validate(out, required=tuple(KINDS), progress=False).ok


@pytest.mark.golden
def test_golden_exported_to_viton_hd_and_back_validates_clean(golden, golden_ids, tmp_path):
    out = tmp_path / "vh"
    summary = export(golden, out, "viton-hd", progress=False)
    assert summary["kinds_left_out"] == "agnostic,agnostic_mask,densepose,parse_agnostic"
    back = tmp_path / "back"
    ingest(_import("vitonhd", out, 1024, 768), back, progress=False)
    report = validate(back, required=tuple(VITON_HD_FOLDERS), progress=False)
    assert report.ok, [str(v) for v in report.violations]
    assert report.samples["test"] == 5
    for sid in golden_ids:
        for kind_name in VITON_HD_FOLDERS:
            a = Layout(golden).path("test", kind_name, sid).read_bytes()
            assert Layout(back).path("test", kind_name, sid).read_bytes() == a


@pytest.mark.golden
def test_golden_exported_to_dresscode_and_back_validates_clean(golden, golden_ids, tmp_path):
    out = tmp_path / "dc"
    export(golden, out, "dresscode", progress=False)
    assert DressCodeLayout(out).ids("upper_body") == [dresscode_id(s) for s in golden_ids]
    back = tmp_path / "back"
    ingest(_import("dresscode", out, 1024, 768, categories=["upper_body"]), back, progress=False)
    required = ("image", "cloth", "cloth_mask", "parse", "pose_json", "pose_img", "densepose")
    report = validate(back, required=required, progress=False)
    assert report.ok, [str(v) for v in report.violations]
    for sid in golden_ids:
        before = labels.read_parse(Layout(golden).path("test", "parse", sid))
        after = labels.read_parse(Layout(back).path("test", "parse", sid))
        keep = ~np.isin(before, [V.NECK, V.COAT, V.GLOVE, V.SOCKS])
        assert np.array_equal(after[keep], before[keep])
        assert (after[before == V.NECK] == V.FACE).all()
