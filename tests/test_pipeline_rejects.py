"""Rejects propagate instead of stopping the run: `dvc repro` in a temporary git + DVC repo on
real photos (the folder source, MediaPipe pose/parse/DensePose, the `background` cloth mask).
Two garment photos lie on a busy photo instead of a plain backdrop, one person photo shows
nobody; the run goes through validate, qa and export without them, fails above
`annotate.max_reject_rate`, and a clean garment photo brings its sample back."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import yaml
from dvc_project import make_project, run
from PIL import Image

from vton.formats import packs
from vton.layout import Layout, read_catalog, read_pairs

pytestmark = [pytest.mark.slow, pytest.mark.golden]
BUSY = {"00008_00": skimage.data.coffee, "00034_00": skimage.data.astronaut}
NOBODY = "scene"  # a person photo without a person (pose, parse, densepose reject it)
TARGETS = ("qa", "export")  # through ingest, the annotation stages, publish and validate


def _on_busy_background(golden: Path, sid: str, background: np.ndarray) -> Image.Image:
    """The golden garment pasted, by its own mask, onto a real photo: no plain backdrop."""
    cloth = Image.open(golden / "test" / "cloth" / f"{sid}.jpg").convert("RGB")
    mask = Image.open(golden / "test" / "cloth-mask" / f"{sid}.jpg").convert("L")
    photo = Image.fromarray(background).resize(cloth.size)
    photo.paste(cloth, mask=mask.point(lambda v: 255 if v >= 128 else 0))
    return photo


def _set(repo: Path, key: str, value) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    section, name = key.split(".")
    params[section][name] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def _exported_ids(repo: Path, tmp: Path) -> set[str]:
    """The sample ids in the export stage's pack (the default flavour, hr-viton), unpacked."""
    assert [p.name for p in (repo / "data" / "export").iterdir()] == ["hr-viton.zip"]
    shutil.rmtree(tmp, ignore_errors=True)
    packs.extract(repo / "data" / "export" / "hr-viton.zip", tmp)
    exported = Layout(tmp)
    return {*exported.ids("train"), *exported.ids("test")}


def _metrics(repo: Path, stage: str) -> dict:
    return json.loads((repo / "metrics" / f"{stage}.json").read_text())


@pytest.fixture
def repo(tmp_path: Path, golden: Path, golden_ids: list[str]) -> Path:
    def photos(params: dict) -> None:
        params["base"].update(height=256, width=192)
        params["data"]["source"] = "folder"
        params["data"]["folder"].update(persons="data/raw/persons", garments="data/raw/garments")
        for kind in ("pose", "parse", "densepose"):
            params[kind]["backend"] = "mediapipe"
        params["cloth_mask"]["backend"] = "background"
        params["annotate"]["max_reject_rate"] = 0.5
        params["run"]["annotate_workers"] = 0  # six photos: quicker in the stage's process

    repo = make_project(tmp_path / "repo", photos)
    persons, garments = repo / "data" / "raw" / "persons", repo / "data" / "raw" / "garments"
    persons.mkdir()
    garments.mkdir()
    for sid in golden_ids:
        shutil.copy(golden / "test" / "image" / f"{sid}.jpg", persons / f"{sid}.jpg")
        if sid in BUSY:
            _on_busy_background(golden, sid, BUSY[sid]()).save(garments / f"{sid}.jpg")
        else:
            shutil.copy(golden / "test" / "cloth" / f"{sid}.jpg", garments / f"{sid}.jpg")
    Image.fromarray(skimage.data.coffee()).save(persons / f"{NOBODY}.jpg")
    shutil.copy(golden / "test" / "cloth" / f"{golden_ids[0]}.jpg", garments / f"{NOBODY}.jpg")
    return repo


def test_rejected_samples_are_excluded_the_run_goes_on_and_a_clean_photo_returns(
    repo: Path, golden: Path, tmp_path: Path
):
    start = time.perf_counter()
    run(repo, "dvc", "repro", *TARGETS, timeout=600)
    first = time.perf_counter() - start
    layout = Layout(repo / "data" / "dataset")
    assert _metrics(repo, "ingest")["samples"] == 6
    assert _metrics(repo, "cloth_mask")["rejects_no_backdrop"] == 2
    for kind in ("pose", "parse", "densepose"):
        assert _metrics(repo, kind)["rejects_no_person"] == 1, kind
    agnostic = _metrics(repo, "agnostic")
    assert agnostic["rejects"] == 0 and agnostic["skipped"] == 1  # no keypoints for NOBODY
    published = _metrics(repo, "publish")
    assert published["published"] == 3 and published["excluded"] == 3
    assert published["excluded_cloth_mask_no_backdrop"] == 2
    assert published["excluded_pose_no_person"] == 1

    excluded = {sid for _, sid in layout.excluded()}
    assert excluded == {*BUSY, NOBODY}
    listed = {p for split in ("train", "test") for p, _ in read_pairs(layout.pairs_path(split))}
    unpaired = {
        c for split in ("train", "test") for _, c in read_pairs(layout.pairs_path(split, True))
    }
    assert listed == unpaired and not listed & excluded and len(listed) == 3
    catalog = read_catalog(layout.catalog_path).set_index("id")
    assert catalog.loc["00008_00", "excluded_by"] == "cloth_mask"
    assert catalog.loc["00008_00", "excluded_reason"] == "no_backdrop"
    assert catalog.loc[NOBODY, "excluded_by"] == "pose"
    assert _metrics(repo, "validate")["violations"] == 0
    page = (repo / "data" / "qa" / "index.html").read_text()
    assert "Excluded samples (3)" in page and all(f"excluded-train-{s}" in page for s in excluded)
    assert _exported_ids(repo, tmp_path / "export") == listed
    assert _metrics(repo, "export")["excluded"] == 3

    _set(repo, "annotate.max_reject_rate", 0.3)  # cloth_mask rejects 2 of 6: 33 %
    with pytest.raises(AssertionError, match=r"max_reject_rate=0\.3"):
        run(repo, "dvc", "repro", *TARGETS, timeout=600)
    _set(repo, "annotate.max_reject_rate", 0.5)

    clean = golden / "test" / "cloth" / "00034_00.jpg"
    shutil.copy(clean, repo / "data" / "raw" / "garments" / "00034_00.jpg")
    start = time.perf_counter()
    run(repo, "dvc", "repro", *TARGETS, timeout=600)
    again = time.perf_counter() - start
    assert _metrics(repo, "cloth_mask")["rejects"] == 1
    assert _metrics(repo, "cloth_mask")["annotated"] == 1  # the new photo; the rest cached
    assert _metrics(repo, "publish")["published"] == 4
    assert ("train", "00034_00") not in layout.excluded()
    assert "00034_00" in [p for p, _ in read_pairs(layout.pairs_path("train"))]
    assert "00034_00" in _exported_ids(repo, tmp_path / "export")
    assert _metrics(repo, "validate")["violations"] == 0
    print(f"\nfirst repro {first:.1f} s, after the clean photo {again:.1f} s")
