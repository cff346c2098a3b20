"""The learning stages inside the real DVC pipeline: an experiment on the TOM learning rate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dvc_project import run
from test_pipeline import repo  # the tmp git + DVC repo with tiny params

pytestmark = pytest.mark.slow
__all__ = ["repo"]


def test_exp_run_on_the_tom_learning_rate_shows_beside_the_baseline(repo: Path):
    run(repo, "dvc", "repro")
    evaluation = json.loads((repo / "metrics" / "evaluate.json").read_text())
    assert {"ssim", "l1", "baseline_paste_ssim", "baseline_agnostic_l1"} <= set(evaluation)
    assert evaluation["lpips"].startswith("absent")
    assert (repo / "data" / "models" / "tom" / "config.json").is_file()
    assert (repo / "data" / "evaluate" / "grid.png").is_file()
    assert json.loads((repo / "metrics" / "train_tom" / "metrics.json").read_text())["step"] == 4
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "baseline")

    out = run(repo, "dvc", "exp", "run", "-S", "train.tom.lr=0.005", "-n", "tom-lr")
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    assert ran == {"train_tom", "evaluate"}  # the data and the GMM are reused
    rows = {}  # rev name -> (train.tom.lr, evaluate SSIM, TOM training loss)
    for entry in json.loads(run(repo, "dvc", "exp", "show", "--json")):
        for rev in [entry] + [r for e in entry.get("experiments") or [] for r in e["revs"]]:
            data = rev["data"]
            metrics = {path: m["data"] for path, m in data["metrics"].items()}
            rows[rev.get("name") or rev["rev"]] = (
                data["params"]["params.yaml"]["data"]["train"]["tom"]["lr"],
                metrics["metrics/evaluate.json"]["ssim"],
                metrics["metrics/train_tom/metrics.json"]["train_loss"],
            )
    assert rows["tom-lr"][0] == 0.005 and rows["main"][0] == 0.001
    assert rows["tom-lr"][1] != rows["main"][1] and rows["tom-lr"][2] != rows["main"][2]
    assert all(0 < ssim <= 1 and loss > 0 for _, ssim, loss in rows.values())
    # The same table as `dvc exp show` prints it: both runs side by side.
    table = run(repo, "dvc", "exp", "show", "--csv")
    assert "tom-lr" in table and "0.005" in table
