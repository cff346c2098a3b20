"""flows/annotate.py for real: Prefect with a Dask LocalCluster against the DVC stages'
outputs byte for byte, and a killed flow that resumes without redoing or partial files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dvc_project import make_project, run

PROJECT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

BACKENDS = {
    "pose": "mediapipe",
    "parse": "mediapipe",
    "densepose": "mediapipe",
    "cloth_mask": "background",
    "agnostic": "hrviton",
}
FLOW_KINDS = list(BACKENDS)
VOLATILE = {"seconds", "images_per_s", "annotated", "cached"}  # timing and cache state


def project(root: Path, n_train: int, n_test: int) -> Path:
    """A copy of the project's pipeline and flows in a fresh git + DVC repo, every annotation
    kind run by a real model (not the reference copies)."""

    def real_models(params: dict) -> None:
        params["data"]["sample"].update(n_train=n_train, n_test=n_test)
        for kind, backend in BACKENDS.items():
            params[kind]["backend"] = backend
        params["annotate"].update(max_reject_rate=0.5)
        params["run"].update(annotate_workers=2, flow_batch=2)

    return make_project(root, real_models, folders=("stages", "vton", "flows"))


def annotation_files(dataset: Path) -> dict[str, bytes]:
    """Every file of the annotation kinds under a dataset root, by relative path."""
    from vton.annotate.base import ANNOTATION_KINDS
    from vton.layout import KINDS

    folders = {KINDS[k].folder for kind in FLOW_KINDS for k in ANNOTATION_KINDS[kind].outputs}
    return {
        str(p.relative_to(dataset)): p.read_bytes()
        for p in sorted(dataset.rglob("*"))
        if p.is_file() and p.parent.name in folders
    }


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> Path:
    """The project after `dvc repro` of ingest and the five annotation stages."""
    root = project(tmp_path_factory.mktemp("staged") / "repo", n_train=6, n_test=2)
    run(root, "dvc", "repro", *FLOW_KINDS)
    return root


def test_dask_flow_is_byte_identical_to_the_dvc_stages(staged, tmp_path, prefect_api):
    from prefect_dask import DaskTaskRunner

    from flows.annotate import annotate_flow, run_flow, task_runner
    from vton.config import load_params

    flowed = tmp_path / "flowed"
    shutil.copytree(staged, flowed, symlinks=True)
    # Keep the photos and the reference; drop every annotation, the cache and the metrics.
    shutil.rmtree(flowed / ".cache")
    shutil.rmtree(flowed / "metrics")
    shutil.rmtree(flowed / "data" / "annotate")
    for name, _ in annotation_files(flowed / "data" / "dataset").items():
        (flowed / "data" / "dataset" / name).unlink()
    assert not annotation_files(flowed / "data" / "dataset")

    runner = task_runner(load_params(flowed / "params.yaml"), "local")
    assert isinstance(runner, DaskTaskRunner)
    assert runner.cluster_kwargs == {"n_workers": 2, "threads_per_worker": 1}
    summaries = run_flow(str(flowed / "params.yaml"), "local", kinds=FLOW_KINDS)
    assert annotate_flow.name == "vton-annotate"

    ours = annotation_files(flowed / "data" / "dataset")
    theirs = annotation_files(staged / "data" / "dataset")
    assert sorted(ours) == sorted(theirs) and len(ours) >= 8 * 5
    differing = [name for name in theirs if ours[name] != theirs[name]]
    assert not differing, f"flow and stage disagree on {differing[:5]}"
    for kind in FLOW_KINDS:
        stage = json.loads((staged / "metrics" / f"{kind}.json").read_text())
        flow = json.loads((flowed / "metrics" / f"{kind}.json").read_text())
        assert {k: v for k, v in flow.items() if k not in VOLATILE} == {
            k: v for k, v in stage.items() if k not in VOLATILE
        }, kind
        assert summaries[kind]["annotated"] == flow["samples"]  # a cold cache: all annotated
        for report in ("rejects.jsonl", "log.jsonl"):
            ours_lines = (flowed / "data" / "annotate" / kind / report).read_text().splitlines()
            theirs_lines = (staged / "data" / "annotate" / kind / report).read_text().splitlines()
            assert len(ours_lines) == len(theirs_lines), (kind, report)

    # The DVC stages, run after the flow, would produce the same files: the cache the flow
    # filled is the stage's cache, so every sample comes from it.
    out = run(
        flowed,
        "python",
        "-m",
        "stages.annotate",
        "parse",
        "--params",
        "params.yaml",
        "--dataset",
        "data/dataset",
        "--reference",
        "data/reference",
        "--metrics",
        "metrics/parse.json",
        "--report-dir",
        "data/annotate/parse",
    )
    assert "(8 from cache)" in out


def test_a_killed_flow_resumes_without_redoing_or_partial_files(tmp_path, prefect_api):
    TOTAL = 64  # enough that a busy machine still kills the flow midway
    root = project(tmp_path / "repo", n_train=TOTAL - 2, n_test=2)
    run(root, "dvc", "repro", "ingest")
    cache = root / ".cache" / "vton" / "annotate"
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "VTON_DASK_ADDRESS": ""}
    args = [sys.executable, "-m", "flows.annotate", "--kinds", "parse"]
    proc = subprocess.Popen(
        args,
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(cache.glob("*/*/*/meta.json"))) >= 4:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the flow, its task-runner processes, everything
    proc.wait()
    finished = len(list(cache.glob("*/*/*/meta.json")))
    assert 4 <= finished < TOTAL, "the flow should be killed midway"
    dataset = root / "data" / "dataset"
    assert not [p for p in dataset.rglob("*") if p.is_file() and p.name.startswith(".")]

    resumed = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads(resumed.stdout[resumed.stdout.index("{") :])["parse"]
    assert summary["cached"] >= finished
    assert summary["annotated"] == TOTAL - summary["cached"]
    assert summary["written"] + summary["rejects"] == TOTAL
    log = [json.loads(line) for line in (root / "data/annotate/parse/log.jsonl").open()]
    assert len(log) == TOTAL and not any("cached" in r for r in log)  # cache state stays out
    assert (
        len(list((dataset / "train" / "image-parse-v3").glob("*.png")))
        + len(list((dataset / "test" / "image-parse-v3").glob("*.png")))
        == summary["written"]
    )
    assert not [p for p in dataset.rglob("*") if p.is_file() and p.name.startswith(".")]
