"""The annotation runner with the `reference` backend: cache, resume, rejects, publishing."""

from __future__ import annotations

import json
import shutil

import pytest
from annotate_data import sample_dataset

from vton.annotate.items import dataset_dest, dataset_items, folder_dest, folder_items
from vton.annotate.runner import AnnotationFailed, entry_dir, input_digest, run
from vton.config import PoseParams, parse_params
from vton.layout import Layout, read_jsonl
from vton.qa.validate import validate


@pytest.fixture
def dataset(tmp_path):
    """Photos in tmp/dataset, the generator's exact annotations in tmp/reference."""
    sample_dataset(tmp_path / "dataset", reference=tmp_path / "reference")
    return Layout(tmp_path / "dataset"), Layout(tmp_path / "reference")


def _run(kind, dataset, reference, cache, **kwargs):
    section = getattr(parse_params({}), kind)
    return run(
        kind,
        section,
        dataset_items(kind, dataset, reference),
        dataset_dest(dataset),
        cache,
        workers=kwargs.pop("workers", 0),
        progress=False,
        **kwargs,
    )


def test_ingest_keeps_source_annotations_apart(dataset):
    layout, reference = dataset
    assert layout.kinds_present("train") == ["image", "cloth"]
    assert set(reference.kinds_present("train")) == {
        "cloth_mask",
        "parse",
        "pose_json",
        "pose_img",
        "densepose",
    }


def test_reference_backend_copies_byte_for_byte_then_caches(dataset, tmp_path):
    layout, reference = dataset
    cache = tmp_path / "cache"
    for kind in ("pose", "parse", "densepose", "cloth_mask"):
        summary = _run(kind, layout, reference, cache)
        assert summary["written"] == 6 and summary["annotated"] == 6 and summary["rejects"] == 0
    for split in ("train", "test"):
        for sid in layout.ids(split):
            for kind_name in ("pose_json", "pose_img", "parse", "densepose", "cloth_mask"):
                ours = layout.path(split, kind_name, sid).read_bytes()
                assert ours == reference.path(split, kind_name, sid).read_bytes()
    required = ("image", "cloth", "cloth_mask", "parse", "pose_json", "pose_img", "densepose")
    assert validate(layout.root, required=required, progress=False).ok
    again = _run("pose", layout, reference, cache)
    assert again["annotated"] == 0 and again["cached"] == 6 and again["written"] == 6


def test_only_new_or_changed_inputs_are_annotated(dataset, tmp_path):
    layout, reference = dataset
    cache = tmp_path / "cache"
    _run("parse", layout, reference, cache)
    # a new sample arrives (copied under a new id) and one reference annotation changes
    for kind_name in ("image", "cloth"):
        shutil.copy(
            layout.path("train", kind_name, "000000_00"), layout.path("train", kind_name, "new_00")
        )
    shutil.copy(
        reference.path("train", "parse", "000000_00"), reference.path("train", "parse", "new_00")
    )
    shutil.copy(
        reference.path("train", "parse", "000002_00"), reference.path("train", "parse", "000001_00")
    )
    summary = _run("parse", layout, reference, cache)
    assert summary["samples"] == 7 and summary["annotated"] == 2 and summary["cached"] == 5
    assert (
        layout.path("train", "parse", "000001_00").read_bytes()
        == reference.path("train", "parse", "000002_00").read_bytes()
    )


def test_rejects_are_recorded_cached_and_gate_the_stage(dataset, tmp_path):
    layout, reference = dataset
    reference.path("train", "pose_json", "000001_00").write_text("{broken")
    reference.path("test", "pose_json", "000005_00").unlink()
    rejects = tmp_path / "rejects.jsonl"
    summary = _run("pose", layout, reference, tmp_path / "cache", rejects_path=rejects)
    reasons = {r["id"]: r["reason"] for r in read_jsonl(rejects)}
    assert reasons == {"000001_00": "unreadable", "000005_00": "no_reference"}
    assert summary["rejects_no_reference"] == 1 and summary["written"] == 4
    assert not layout.path("train", "pose_json", "000001_00").exists()
    record = next(r for r in read_jsonl(rejects) if r["id"] == "000005_00")
    assert "pose.backend" in record["detail"]  # names the params key to change
    with pytest.raises(AnnotationFailed, match=r"max_reject_rate=0\.1"):
        _run(
            "pose", layout, reference, tmp_path / "cache", max_reject_rate=0.1, rejects_path=rejects
        )
    assert len(list(read_jsonl(rejects))) == 2  # written before failing


def test_worker_processes_give_identical_outputs(dataset, tmp_path):
    layout, reference = dataset
    _run("densepose", layout, reference, tmp_path / "c1", workers=2)
    first = {p.name: p.read_bytes() for p in layout.folder("train", "densepose").iterdir()}
    shutil.rmtree(layout.folder("train", "densepose"))
    _run("densepose", layout, reference, tmp_path / "c2", workers=0)
    second = {p.name: p.read_bytes() for p in layout.folder("train", "densepose").iterdir()}
    assert first == second and len(first) == 4


def test_leftover_temp_entries_are_not_results(dataset, tmp_path):
    layout, reference = dataset
    cache = tmp_path / "cache"
    items = dataset_items("parse", layout, reference)
    section = parse_params({}).parse
    from vton.annotate.registry import create_annotator

    fingerprint = create_annotator("parse", section).fingerprint()
    entry = entry_dir(cache, fingerprint, input_digest(items[0]))
    partial = entry.with_name(f".{entry.name}.999.tmp")  # what a killed worker leaves
    partial.mkdir(parents=True)
    (partial / "parse.png").write_bytes(b"half a png")
    summary = _run("parse", layout, reference, cache)
    assert summary["annotated"] == 6
    assert json.loads((entry / "meta.json").read_text())["outputs"] == ["parse"]


def test_folder_items_and_outputs(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a b.jpg", "a b.png", ".hidden.jpg", "c.txt"):
        (folder / name).write_bytes(b"x")
    items = folder_items(folder)
    assert [i.id for i in items] == ["a-b", "a-b_", "c"]
    dest = folder_dest(tmp_path / "out")
    assert dest("pose_json", items[0]) == tmp_path / "out" / "openpose_json" / "a-b_keypoints.json"
    with pytest.raises(FileNotFoundError):
        folder_items(tmp_path / "nope")


def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match="choose one of reference, mediapipe"):
        run("pose", PoseParams(backend="openpose"), [], lambda k, i: None, ".")  # type: ignore[arg-type]


def test_the_densepose_approximation_says_so_in_the_summary(dataset, tmp_path):
    layout, _ = dataset
    section = parse_params({"densepose": {"backend": "mediapipe"}}).densepose
    items = dataset_items("densepose", layout)[:2]
    summary = run(
        "densepose", section, items, dataset_dest(layout), tmp_path / "c", workers=0, progress=False
    )
    assert summary["approximation"] is True and summary["backend"] == "mediapipe"
