"""Copies of the project as real git + DVC repositories in tmp, for the tests that run the
pipeline (`dvc repro`, `dvc exp run`, the Prefect flows) for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]


def run(cwd: Path, *cmd: str, timeout: float = 300) -> str:
    """Run `cmd` in `cwd` with this venv first on PATH (the stages' `python`) and a git
    identity; returns stdout + stderr, raises AssertionError with both on failure."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GIT_AUTHOR_NAME": "vton tests",
        "GIT_AUTHOR_EMAIL": "tests@vton.invalid",
        "GIT_COMMITTER_NAME": "vton tests",
        "GIT_COMMITTER_EMAIL": "tests@vton.invalid",
        "DVC_NO_ANALYTICS": "1",
    }
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc.stdout + proc.stderr


def make_project(
    root: Path,
    edit: Callable[[dict], None] | None = None,
    folders: tuple[str, ...] = ("stages", "vton"),
) -> Path:
    """The pipeline (dvc.yaml, params.yaml after `edit(params)`, `folders`) in a fresh git +
    DVC repository at `root`; nothing committed yet."""
    root.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in folders:
        shutil.copytree(PROJECT / name, root / name, ignore=ignore)
    # data/raw/.gitkeep: the ingest stage depends on data/raw (raw data recorded by dvc add)
    for name in ("dvc.yaml", ".dvcignore", ".gitignore", "data/raw/.gitkeep"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT / name, root / name)
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    if edit is not None:
        edit(params)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(root, "git", "init", "-q", "-b", "main")
    run(root, "dvc", "init", "-q")
    run(root, "dvc", "config", "core.analytics", "false")
    return root
