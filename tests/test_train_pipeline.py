"""The learning stages inside the real DVC pipeline: an experiment on the generator's
learning rate, and the families side by side in `dvc exp show` (the diffusion families ldm
and tryondiffusion with their sampling time)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dvc_project import run
from test_pipeline import repo  # the tmp git + DVC repo with tiny params

pytestmark = pytest.mark.slow
__all__ = ["repo"]


def _ran(out: str) -> set[str]:
    return {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}


def _rows(repo: Path) -> dict[str, dict]:
    """rev name -> {params, evaluate metrics, generator training metrics} of `dvc exp show`."""
    rows = {}
    for entry in json.loads(run(repo, "dvc", "exp", "show", "--json")):
        for rev in [entry] + [r for e in entry.get("experiments") or [] for r in e["revs"]]:
            data = rev["data"]
            metrics = {path: m["data"] for path, m in data["metrics"].items()}
            rows[rev.get("name") or rev["rev"]] = {
                "params": data["params"]["params.yaml"]["data"],
                "evaluate": metrics["metrics/evaluate.json"],
                "generator": metrics["metrics/train_generator/metrics.json"],
            }
    return rows


def test_exp_runs_switch_the_family_and_show_side_by_side(repo: Path):
    run(repo, "dvc", "repro")
    evaluation = json.loads((repo / "metrics" / "evaluate.json").read_text())
    assert {"ssim", "l1", "baseline_paste_ssim", "baseline_agnostic_l1"} <= set(evaluation)
    assert evaluation["family"] == "gmm+tom" and evaluation["lpips"].startswith("absent")
    assert (
        json.loads((repo / "data" / "models" / "generator" / "config.json").read_text())["kind"]
        == "tom"
    )
    assert (repo / "data" / "evaluate" / "grid.png").is_file()
    steps = json.loads((repo / "metrics" / "train_generator" / "metrics.json").read_text())
    assert steps["step"] == 4
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "baseline")

    # A generator knob re-runs the generator and the evaluation only.
    out = run(repo, "dvc", "exp", "run", "-S", "train_generator.tom.lr=0.005", "-n", "tom-lr")
    assert _ran(out) == {"train_generator", "evaluate"}  # the data and the warp are reused
    # Each family as an experiment (hrviton at 64x32: SPADE's 5 upsamplings divide it).
    run(repo, "dvc", "exp", "run", "-S", "train.family=unet_sa", "-n", "unet-sa")
    hrviton = ("-S", "train.family=hrviton", "-S", "train.data.width=32")
    out = run(repo, "dvc", "exp", "run", *hrviton, "-n", "hrviton")
    assert {"train_warp", "train_generator", "evaluate"} <= _ran(out)
    # ldm from the baseline's workspace (an experiment leaves its params and outputs there):
    # its VAE is reused (train_vae does not read the family) and train_warp, which reads
    # `train`, re-runs from the baseline's finished gmm checkpoint without training and saves
    # the same weights, so warp_cloth's garments are reused too
    run(repo, "git", "checkout", "--", ".")
    run(repo, "dvc", "checkout", "--force")
    out = run(repo, "dvc", "exp", "run", "-S", "train.family=ldm", "-n", "ldm")
    assert _ran(out) == {"train_warp", "train_sr", "train_generator", "evaluate"}
    warp_log = out.split("Running stage 'train_warp'")[1].split("Running stage")[0]
    assert "at step 4 of 4" in warp_log  # resumed at its end: nothing trained
    # tryondiffusion: the none warp, its SR model (train_sr) and base, one cascade evaluated
    run(repo, "git", "checkout", "--", ".")
    run(repo, "dvc", "checkout", "--force")
    out = run(repo, "dvc", "exp", "run", "-S", "train.family=tryondiffusion", "-n", "tryon-diff")
    assert {"train_warp", "train_sr", "train_generator", "evaluate"} <= _ran(out)
    assert "train_sr: step 4" in out and "train_generator: step 4" in out

    rows = _rows(repo)
    family = {name: row["evaluate"]["family"] for name, row in rows.items()}
    assert family["main"] == family["tom-lr"] == "gmm+tom"
    assert (family["unet-sa"], family["hrviton"]) == ("gmm+unet_sa", "tocg+spade")
    assert family["ldm"] == "gmm+ldm" and family["tryon-diff"] == "none+tryondiffusion"
    seconds = {name: row["evaluate"]["seconds_per_image"] for name, row in rows.items()}
    assert all(v > 0 for v in seconds.values()) and seconds["ldm"] > seconds["main"]
    assert seconds["tryon-diff"] > seconds["main"]
    lr = {name: row["params"]["train_generator"]["tom"]["lr"] for name, row in rows.items()}
    assert lr["tom-lr"] == 0.005 and lr["main"] == 0.001
    ssim = {name: row["evaluate"]["ssim"] for name, row in rows.items()}
    assert ssim["tom-lr"] != ssim["main"]
    for name, row in rows.items():
        assert 0 < row["evaluate"]["ssim"] <= 1 and row["generator"]["train_loss"] > 0, name
    # The same table as `dvc exp show` prints it: every run side by side.
    table = run(repo, "dvc", "exp", "show", "--csv")
    names = ("tom-lr", "unet-sa", "hrviton", "tocg+spade", "ldm", "gmm+ldm", "tryon-diff")
    names += ("none+tryondiffusion", "seconds_per_image")
    assert all(name in table for name in names)
