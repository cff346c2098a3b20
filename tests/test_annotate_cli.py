"""`vton annotate` on a folder of real photos: outputs, rejects, and a killed run resuming."""

from __future__ import annotations

import json
import os
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
from vton.layout import read_jsonl


def vton(*args: str, **kwargs) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "vton.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)


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
    proc = vton("annotate", "pose", "--in", str(photos), "--out", str(out), "--backend",
                "mediapipe", "--workers", "0", "--cache", str(tmp_path / "c"))  # fmt: skip
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
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip
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
