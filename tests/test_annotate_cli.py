"""`vton annotate` on a folder of real photos: outputs, rejects, the backend and exit status
it picks when run in the project, and a killed run resuming."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from matplotlib import cbook
from PIL import Image

from vton.formats import openpose
from vton.formats.openpose import Body25 as K
from vton.layout import KINDS, read_jsonl
from vton.qa.agreement import pck

PROJECT = Path(__file__).resolve().parents[1]


def vton(*args: str, **kwargs) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "vton.cli", *args]
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}  # importable from any working folder
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, **kwargs)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    astronaut = skimage.data.astronaut()
    with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as img:
        hopper = np.asarray(img.convert("RGB"))
    Image.fromarray(astronaut).save(folder / "astronaut.jpg")
    Image.fromarray(hopper).save(folder / "hopper.png")
    Image.fromarray(skimage.data.coffee()).save(folder / "coffee_landscape.jpg")  # no person
    two = np.full((512, 1024, 3), 255, np.uint8)  # the astronaut and a smaller Grace Hopper
    two[:, :512] = astronaut
    two[312:, 700:870] = np.asarray(Image.fromarray(hopper).resize((170, 200)))
    Image.fromarray(two).save(folder / "two_people.jpg")
    data = (folder / "astronaut.jpg").read_bytes()
    (folder / "corrupt.jpg").write_bytes(data[: len(data) // 3])
    return folder


def test_annotate_pose_on_a_folder(photos, tmp_path):
    out = tmp_path / "out"
    args = [
        "annotate",
        "pose",
        "--in",
        str(photos),
        "--out",
        str(out),
        "--backend",
        "mediapipe",
        "--workers",
        "0",
        "--cache",
        str(tmp_path / "c"),
    ]
    proc = vton(*args, "--max-reject-rate", "0.5")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["samples"] == 5 and summary["written"] == 3 and summary["rejects"] == 2
    rejects = {r["id"]: r["reason"] for r in read_jsonl(out / "rejects.jsonl")}
    assert rejects == {"corrupt": "corrupt", "coffee_landscape": "no_person"}
    for sid in ("astronaut", "hopper", "two_people"):
        body = openpose.read_keypoints(out / "openpose_json" / f"{sid}_keypoints.json")
        assert body[openpose.Body25.NECK, 2] > 0
        assert (out / "openpose_img" / f"{sid}_rendered.png").exists()
    log = {r["id"]: r for r in read_jsonl(out / "log.jsonl")}
    assert log["two_people"]["provenance"]["people"] == 2
    assert summary["several_people"] == 1
    body = openpose.read_keypoints(out / "openpose_json" / "two_people_keypoints.json")
    assert body[openpose.Body25.NOSE, 0] < 512  # the astronaut, the bigger person, was kept
    with Image.open(out / "openpose_img" / "two_people_rendered.png") as img:
        assert img.size == (1024, 512)  # outputs keep each photo's own size
    # 2 of 5 rejected is above the default limit, params' annotate.max_reject_rate (0.2)
    (out / "rejects.jsonl").unlink()
    proc = vton(*args, cwd=PROJECT)
    assert proc.returncode == 1 and not proc.stdout
    assert "2 of 5 images rejected (40%), above max_reject_rate=0.2" in proc.stderr
    assert len(list(read_jsonl(out / "rejects.jsonl"))) == 2  # written before failing


@pytest.fixture
def project_dir(tmp_path) -> Path:
    """A working folder holding the project's params.yaml, where `vton annotate` finds it
    as it does run in the project (its cache goes below this folder too)."""
    work = tmp_path / "project"
    work.mkdir()
    shutil.copy(PROJECT / "params.yaml", work / "params.yaml")
    return work


def test_plain_photos_in_the_project_run_the_offline_backend(golden, golden_ids, project_dir):
    # params.yaml's pose.backend is `reference`: the source's keypoints, which photos lack
    photos = golden / "test" / "image"
    proc = vton("annotate", "pose", "--in", str(photos), "--out", "out", cwd=project_dir)
    assert proc.returncode == 0, proc.stderr
    assert "running the offline 'mediapipe' backend instead" in proc.stderr
    assert "--backend" in proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["backend"] == "mediapipe"
    assert summary["written"] == len(golden_ids) == 5 and summary["rejects"] == 0
    correct = counted = 0
    for sid in golden_ids:
        name = f"{sid}{KINDS['pose_json'].suffix}"
        body = openpose.read_keypoints(project_dir / "out" / KINDS["pose_json"].folder / name)
        ref = openpose.read_keypoints(golden / "test" / KINDS["pose_json"].folder / name)
        assert body[[K.NECK, K.R_SHOULDER, K.L_SHOULDER, K.R_HIP, K.L_HIP], 2].all(), sid
        right, n = pck(body, ref)
        correct, counted = correct + right, counted + n
    assert correct / counted >= 0.8  # the dataset's own OpenPose agrees


def test_nothing_usable_exits_non_zero(project_dir):
    folder = project_dir / "landscapes"
    folder.mkdir()
    Image.fromarray(skimage.data.coffee()).save(folder / "coffee.jpg")
    Image.fromarray(skimage.data.chelsea()).save(folder / "cat.jpg")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    args = ("annotate", "pose", "--in", "landscapes", "--out", "out")
    proc = vton(*args, cwd=project_dir)
    assert proc.returncode == 1, proc.stderr
    assert "3 of 3 images rejected (100%), above max_reject_rate=0.2" in proc.stderr
    rejects = {r["id"]: r["reason"] for r in read_jsonl(project_dir / "out" / "rejects.jsonl")}
    assert rejects == {"coffee": "no_person", "cat": "no_person", "broken": "corrupt"}
    # even where every reject is allowed, a run that annotated nothing fails
    proc = vton(*args, "--max-reject-rate", "1", cwd=project_dir)
    assert proc.returncode == 1 and json.loads(proc.stdout)["cached"] == 3
    assert "none of the 3 images was annotated (corrupt 1, no_person 2)" in proc.stderr


def test_backend_names_are_checked(photos, project_dir):
    args = ("annotate", "pose", "--in", str(photos), "--out", "out")
    proc = vton(*args, "--backend", "openpose", cwd=project_dir)
    assert proc.returncode == 2
    assert "--backend 'openpose' is not a pose backend; choose one of reference, mediapipe" in (
        proc.stderr
    )
    proc = vton(*args, "--backend", "reference", cwd=project_dir)
    assert proc.returncode == 2 and "a folder of photos has none: choose one of mediapipe" in (
        proc.stderr
    )
    assert not (project_dir / "out").exists()


def test_agnostic_on_plain_photos_reads_the_pose_and_parse_written_beside(golden, project_dir):
    photos = project_dir / "photos"
    photos.mkdir()
    for sid in ("00006_00", "00013_00"):
        shutil.copy(golden / "test" / "image" / f"{sid}.jpg", photos)

    def run(kind):
        return vton("annotate", kind, "--in", "photos", "--out", "out", cwd=project_dir)

    proc = run("agnostic")
    assert proc.returncode == 2
    assert f"out/{KINDS['parse'].folder}, out/{KINDS['pose_json'].folder}" in proc.stderr
    assert "`vton annotate parse --in photos --out out` and `vton annotate pose" in proc.stderr
    for kind in ("pose", "parse"):
        assert run(kind).returncode == 0
    proc = run("agnostic")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["written"] == 2
    for sid in ("00006_00", "00013_00"):
        for name in ("agnostic", "parse_agnostic", "agnostic_mask"):
            path = project_dir / "out" / KINDS[name].folder / f"{sid}{KINDS[name].suffix}"
            assert path.is_file(), path
    log = {r["id"]: r for r in read_jsonl(project_dir / "out" / "log.jsonl")}
    assert log["00006_00"]["provenance"]["category"] == "upper_body"  # no catalog: the default
    assert log["00006_00"]["provenance"]["category_from"] == "default"


def test_a_killed_run_resumes_without_redoing_or_partial_files(photos, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    base = skimage.data.astronaut().astype(np.int16)
    for i in range(40):  # distinct bytes, so distinct cache keys
        shifted = np.clip(base + (i - 20), 0, 255).astype(np.uint8)
        Image.fromarray(shifted).save(folder / f"a{i:02d}.jpg")
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = [sys.executable, "-m", "vton.cli", "annotate", "pose", "--in", str(folder)]
    args += ["--out", str(out), "--backend", "mediapipe", "--workers", "0", "--cache", str(cache)]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = list(cache.glob("*/*/*/meta.json"))
        if len(done) >= 8:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list(cache.glob("*/*/*/meta.json")))
    assert 8 <= finished < 40, "the run should be killed midway"
    # nothing half-written is visible anywhere a reader looks
    assert not [p for p in out.rglob("*") if p.is_file() and p.name.startswith(".")]
    resumed = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["cached"] >= finished and summary["annotated"] == 40 - summary["cached"]
    assert summary["written"] == 40
    for path in (out / "openpose_json").iterdir():
        assert openpose.read_keypoints(path)[openpose.Body25.NECK, 2] > 0
