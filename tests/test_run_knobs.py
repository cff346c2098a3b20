"""Run-time knobs (`run:` in params.yaml) decide how a run executes, never what it computes:
no DVC stage tracks them and no checkpoint fingerprint holds them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from dvc_project import make_project, run
from tryon_data import write_tiny_dataset

from vton.config import Params, Run, parse_params
from vton.train import train_warp

PROJECT = Path(__file__).resolve().parents[1]
UP_TO_DATE = "Data and pipelines are up to date"


def test_no_stage_lists_the_run_section():
    stages = yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        for entry in stage.get("params", []):
            key = entry if isinstance(entry, str) else next(iter(entry))
            assert key != "run" and not key.startswith("run."), (name, key)


def test_run_knobs_live_only_in_the_run_section():
    """The knobs that moved out of the tracked sections are not back in them."""
    params = parse_params({})
    assert not {"workers", "cache_dir", "dask_address", "batch"} & {
        f.name for f in dataclasses.fields(params.annotate)
    }
    assert "workers" not in {f.name for f in dataclasses.fields(params.train.data)}
    assert {f.name for f in dataclasses.fields(Run)} == {
        "annotate_workers",
        "annotate_cache",
        "dask_address",
        "flow_batch",
        "loader_workers",
    }
    assert "run" in {f.name for f in dataclasses.fields(Params)}


@pytest.mark.slow
def test_changing_run_knobs_reruns_no_stage(tmp_path):
    def tiny(params: dict) -> None:
        params["base"].update(height=64, width=48)
        params["data"]["sample"].update(n_train=3, n_test=1)

    repo = make_project(tmp_path / "repo", tiny)
    run(repo, "dvc", "repro", "pose")
    assert UP_TO_DATE in run(repo, "dvc", "status", "pose")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["run"].update(
        annotate_workers=0, dask_address="tcp://127.0.0.1:8786", flow_batch=1, loader_workers=0
    )
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert UP_TO_DATE in run(repo, "dvc", "status", "pose")
    # A knob that changes results does re-run the stage.
    params["pose"]["min_confidence"] = 0.5
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert "modified:           pose" in run(repo, "dvc", "status", "pose")


def test_changing_loader_workers_resumes_training(tmp_path):
    dataset = write_tiny_dataset(tmp_path / "dataset")
    train = {"device": "cpu", "data": {"height": 64, "width": 48}}
    tiny = {
        "gmm": {
            "steps": 2,
            "batch_size": 2,
            "width": 4,
            "levels": 3,
            "grid": 3,
            "log_every": 1,
            "sample_every": 0,
            "checkpoint_every": 1,
        },
    }
    first = train_warp(
        parse_params({"train": train, "train_warp": tiny, "run": {"loader_workers": 0}}),
        dataset,
        tmp_path / "a",
        checkpoints=tmp_path / "ckpt",
    )
    assert first["step"] == 2 and first["resumed_from"] == 0
    tiny["gmm"]["steps"] = 3
    second = train_warp(
        parse_params({"train": train, "train_warp": tiny, "run": {"loader_workers": 1}}),
        dataset,
        tmp_path / "b",
        checkpoints=tmp_path / "ckpt",
    )
    assert second["resumed_from"] == 2 and second["step"] == 3
