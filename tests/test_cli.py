"""The `vton` command line, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vton.cli import build_parser

pytestmark = pytest.mark.golden


def vton(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "vton.cli", *args], capture_output=True, text=True, timeout=120
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"vton {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_every_subcommand_has_help():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    expected = {"ingest", "sample", "validate", "annotate", "report", "fidelity", "labels"}
    assert expected | {"pose-convert"} <= set(commands)
    for name in commands:
        out = vton(name, "--help").stdout
        assert out.startswith(f"usage: vton {name}")


def test_validate_golden_and_a_broken_copy(golden, tmp_path):
    ok = vton(
        "validate",
        str(golden),
        "--require",
        "image,cloth,parse,pose_json",
        "--json",
        str(tmp_path / "r.json"),
    )
    assert "all conform" in ok.stdout
    assert json.loads((tmp_path / "r.json").read_text())["violations"] == 0
    bad = vton("validate", str(tmp_path), check=False)
    assert bad.returncode == 1 and "no train/ or test/ folder" in bad.stderr


def test_labels_and_pose_convert(golden, tmp_path):
    out = vton("labels", "fashn").stdout
    assert "ARMS" in out and "split by side" in out
    assert vton("labels", "nope", check=False).returncode == 2
    src = next((golden / "test" / "openpose_json").glob("*.json"))
    vton("pose-convert", str(src), str(tmp_path / "coco.json"), "--to", "coco18")
    doc = json.loads((tmp_path / "coco.json").read_text())
    assert len(doc["people"][0]["pose_keypoints_2d"]) == 54


def test_params_error_is_one_clean_line(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("base:\n  hieght: 10\n")
    proc = vton("ingest", "--params", str(params), "--out", str(tmp_path / "o"), check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error:") and "base.hieght" in proc.stderr
    assert "Traceback" not in proc.stderr
