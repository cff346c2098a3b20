"""Dataset versions: raw data recorded with DVC, the pipeline reproduced, the result committed
to git and pushed to the DVC remote. The refresh flow (`flows/refresh.py`) composes these.

Every function runs the real `git` / `dvc` command line in the project root and raises
`VersioningError` with the command's own output when it fails. A version is a git commit
whose `dvc.lock` and `.dvc` files pin the data; `dvc checkout` at that commit restores it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from vton.layout import EXCLUDED, Layout, read_catalog


class VersioningError(RuntimeError):
    """A git or dvc command failed; the message has the command and what it printed."""


def _tool(name: str) -> str:
    # The dvc of the interpreter running us (the project's venv), else the one on PATH.
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def sh(root: Path, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `cmd` in `root` (dvc and git resolved next to this interpreter first)."""
    argv = [_tool(cmd[0]), *cmd[1:]]
    # Stages run `python -m stages...`: the interpreter running us (the project's venv),
    # even when the venv is not activated.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": path}
    proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise VersioningError(
            f"`{' '.join(cmd)}` failed in {root} (exit {proc.returncode}):\n"
            f"{(proc.stdout + proc.stderr).strip()[-4000:]}"
        )
    return proc


def head(root: Path) -> str | None:
    """The current git commit, or None in a repository without one."""
    proc = sh(root, "git", "rev-parse", "--verify", "-q", "HEAD", check=False)
    return proc.stdout.strip() or None


def track(root: Path, path: str) -> bool:
    """Record `path` (relative to root) with `dvc add`; True when its content changed."""
    dvc_file = root / f"{path}.dvc"
    before = dvc_file.read_text() if dvc_file.exists() else None
    sh(root, "dvc", "add", "-q", path)
    return dvc_file.read_text() != before


def repro(root: Path, targets: list[str] | tuple[str, ...] = ()) -> str:
    """`dvc repro [targets]`; returns its output."""
    proc = sh(root, "dvc", "repro", *targets)
    return proc.stdout + proc.stderr


def push(root: Path, remote: str | None = None) -> str:
    """`dvc push` to `remote` (or the default remote); returns its output."""
    proc = sh(root, "dvc", "push", *(["-r", remote] if remote else []))
    return proc.stdout + proc.stderr


def has_remote(root: Path) -> bool:
    return bool(sh(root, "dvc", "remote", "list").stdout.strip())


def commit(root: Path, message: str) -> str | None:
    """Commit what DVC and the pipeline changed (dvc.lock, .dvc files, metrics, .gitignore);
    returns the new commit, or None when nothing changed."""
    sh(
        root,
        "git",
        "add",
        "-A",
        "--",
        "dvc.lock",
        "metrics",
        ":(glob)**/*.dvc",
        ":(glob)**/.gitignore",
    )
    if not sh(root, "git", "diff", "--cached", "--name-only").stdout.strip():
        return None
    sh(root, "git", "commit", "-q", "-m", message)
    return head(root)


def restore(root: Path, rev: str | None, *targets: str) -> None:
    """Put the work tree back to version `rev` (after a failed refresh): git's tracked files
    and the data DVC pins there (only `targets`' data when given: .dvc files or stages).
    Without a previous version, nothing to restore."""
    if rev is None:
        return
    sh(root, "git", "reset", "-q", "--hard", rev)
    sh(root, "dvc", "checkout", "-q", "--force", *targets)


def metrics_diff(root: Path, rev: str | None) -> dict:
    """`dvc metrics diff` between `rev` and the work tree: {file: {metric: {old, new, diff}}}."""
    if rev is None:
        return {}
    proc = sh(root, "dvc", "metrics", "diff", "--json", rev)
    text = proc.stdout.strip()
    return json.loads(text) if text else {}


def catalog_ids(dataset: Path) -> set[str]:
    """Ids of the published samples in a dataset's catalog (empty before the first build):
    a sample an annotation stage excluded is not counted until a later run publishes it."""
    path = Layout(dataset).catalog_path
    if not path.exists():
        return set()
    frame = read_catalog(path)
    if "status" in frame.columns:
        frame = frame[frame["status"] != EXCLUDED]
    return set(frame["id"])
