"""The DVC pipeline, run for real in a temporary git + DVC repository."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from dvc_project import make_project, run
from model_data import TINY_PARALLEL_UNET

from vton.formats import packs
from vton.layout import KINDS, Layout, read_pairs

PROJECT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
TINY_UNETS = TINY_PARALLEL_UNET | {"steps": 4, "sample_every": 2}  # tryondiffusion, SR
TINY_TRAIN = {  # params section -> (sub-section or None) -> values
    "train": {None: {"device": "cpu"}, "data": {"height": 64, "width": 48, "augment": True}},
    "train_warp": {
        "gmm": {"steps": 4, "width": 4, "levels": 3, "grid": 3, "sample_every": 2},
        "tocg": {"steps": 4, "ngf": 4, "levels": 4, "sample_every": 2},
    },
    "train_generator": {
        "tom": {"steps": 4, "width": 4, "depth": 3, "sample_every": 2},
        "unet_sa": {"steps": 4, "ngf": 4, "downsamplings": 3, "res_blocks": 1, "d_ndf": 4},
        "spade": {"steps": 4, "ngf": 4, "hidden": 8, "injection": 4, "d_ndf": 4},
        "ldm": {"steps": 4, "width": 8, "levels": 2, "sample_steps": 4, "sample_every": 2},
        "tryondiffusion": {"sample_steps": 4} | TINY_UNETS,
    },
    "train_vae": {None: {"steps": 4, "width": 8, "sample_every": 2}},
    "train_sr": {None: {"sample_steps": 2} | TINY_UNETS},
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the project's pipeline in a fresh git + DVC repo, with a tiny dataset."""

    def tiny(params: dict) -> None:
        params["base"].update(height=64, width=48)
        params["data"]["sample"].update(n_train=4, n_test=2)
        params["run"]["loader_workers"] = 0
        for section, parts in TINY_TRAIN.items():  # train_warp, _generator, evaluate in seconds
            for key, value in parts.items():
                target = params[section] if key is None else params[section][key]
                target.update(value)

    return make_project(tmp_path / "repo", tiny)


def test_repro_builds_the_layout_then_is_a_no_op_and_exp_run_shows_the_change(repo: Path):
    run(repo, "dvc", "repro")
    layout = Layout(repo / "data" / "dataset")
    assert len(layout.ids("train")) == 4 and len(layout.ids("test")) == 2
    for split in ("train", "test"):
        for kind_name in yaml.safe_load((repo / "params.yaml").read_text())["validate"]["required"]:
            assert layout.ids(split, kind_name) == layout.ids(split), (split, kind_name)
            assert layout.folder(split, kind_name).name == KINDS[kind_name].folder
        assert [p for p, _ in read_pairs(layout.pairs_path(split))] == layout.ids(split)
        assert layout.pairs_path(split, unpaired=True).exists()
    ingest = json.loads((repo / "metrics" / "ingest.json").read_text())
    assert ingest["samples"] == 6 and ingest["rejects"] == 0
    assert json.loads((repo / "metrics" / "validate.json").read_text())["violations"] == 0
    for kind in ("pose", "parse", "densepose", "cloth_mask"):
        summary = json.loads((repo / "metrics" / f"{kind}.json").read_text())
        assert summary["written"] == 6 and summary["backend"] == "reference"
    # The source's annotations are DVC-tracked as one pack per split, and the `reference`
    # backend copied them from it byte for byte.
    reference = repo / "data" / "reference"
    assert sorted(p.name for p in reference.iterdir()) == ["test.zip", "train.zip"]
    for split in ("train", "test"):
        pack = packs.Reader(reference / f"{split}.zip")
        for sid in layout.ids(split):
            for kind_name in ("parse", "pose_json", "cloth_mask"):
                member = f"{KINDS[kind_name].folder}/{layout.path(split, kind_name, sid).name}"
                assert pack.read(member) == layout.path(split, kind_name, sid).read_bytes()

    again = run(repo, "dvc", "repro")
    assert "didn't change" in again and "Running stage" not in again

    # A hand-edited dataset file is named (the stage's output folder; the file itself by
    # `dvc data status --granular`) and re-made; the stages that read the dataset through
    # validate's manifest see the same bytes and do not run.
    edited = layout.path("train", "parse", layout.ids("train")[0])
    original = edited.read_bytes()
    edited.write_bytes(original + b"hand-edited")
    status = run(repo, "dvc", "status")
    assert "parse:" in status and "modified:           data/dataset/train/image-parse-v3" in status
    assert str(edited.relative_to(repo)) in run(repo, "dvc", "data", "status", "--granular")
    remade = run(repo, "dvc", "repro")  # parse runs, or DVC's run cache restores its outputs
    assert "'parse' is cached" in remade or "Running stage 'parse'" in remade, remade
    assert edited.read_bytes() == original
    assert "Running stage 'validate'" not in remade and "Running stage 'train_" not in remade
    assert "Running stage" not in run(repo, "dvc", "repro")

    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "baseline")
    run(repo, "dvc", "exp", "run", "-S", "data.sample.n_train=5", "-n", "more-train")
    table = list(csv.DictReader(io.StringIO(run(repo, "dvc", "exp", "show", "--csv"))))
    experiment = next(row for row in table if row["Experiment"] == "more-train")
    assert experiment["data.sample.n_train"] == "5"
    assert experiment["metrics/ingest.json:samples"] == "7"
    baseline = next(row for row in table if row["rev"] == "master" or row["rev"] == "main")
    assert baseline["data.sample.n_train"] == "4" and baseline["metrics/ingest.json:samples"] == "6"
