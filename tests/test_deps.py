"""Every project file a `dvc.yaml` stage's command imports is covered by that stage's deps.

The command module of `python -m stages.X` (or `python path/to/file.py`) and everything it
imports transitively (`vton.codegraph`) must each be a dep, or lie below a dep that is a
folder; otherwise editing that file would re-run nothing.
"""

from __future__ import annotations

import shlex
from pathlib import Path, PurePosixPath

import yaml

from vton.codegraph import PROJECT_PACKAGES, ROOT, module_files


def command_modules(cmd: str | list[str]) -> list[str]:
    """The Python modules a stage's cmd runs (`-m stages.x`, or `path/x.py` as a module)."""
    modules = []
    for line in [cmd] if isinstance(cmd, str) else cmd:
        words = shlex.split(line)
        for k, word in enumerate(words):
            if word == "-m" and k + 1 < len(words):
                modules.append(words[k + 1])
            elif word.endswith(".py") and k and Path(words[k - 1]).name.startswith("python"):
                modules.append(str(PurePosixPath(word).with_suffix("")).replace("/", "."))
    return modules


def _covered(path: str, deps: list[str]) -> bool:
    return any(path == dep or path.startswith(dep + "/") for dep in deps)


def uncovered_deps(dvc_yaml: Path, root: Path = ROOT) -> dict[str, list[str]]:
    """Stage -> the project files (relative to `root`, where the stages run) its command
    imports but its deps do not cover; stages without gaps are left out."""
    stages = yaml.safe_load(Path(dvc_yaml).read_text())["stages"]
    violations = {}
    for name, stage in stages.items():
        if "cmd" not in stage:
            violations[name] = ["<no cmd: foreach/matrix stages are not checked>"]
            continue
        modules = command_modules(stage["cmd"])
        foreign = [m for m in modules if m.split(".")[0] not in PROJECT_PACKAGES]
        if not modules or foreign:
            what = f"runs {', '.join(foreign)}" if foreign else "runs no python module"
            violations[name] = [f"<cmd {what} of {', '.join(PROJECT_PACKAGES)}: cannot check>"]
            continue
        deps = [
            str(PurePosixPath(d if isinstance(d, str) else next(iter(d)))).rstrip("/")
            for d in stage.get("deps", [])
        ]
        wdir = PurePosixPath(stage.get("wdir", "."))
        files = {
            str(wdir / f.relative_to(root).as_posix())
            for m in modules
            for f in module_files(m, root)
        }
        missing = sorted(f for f in files if not _covered(f, deps))
        if missing:
            violations[name] = missing
    return violations


def test_dvc_stages_depend_on_every_project_file_they_import():
    gaps = uncovered_deps(ROOT / "dvc.yaml")
    report = "\n".join(f"  {stage}: {', '.join(files)}" for stage, files in gaps.items())
    assert not gaps, f"dvc.yaml deps miss files the stages import; add them:\n{report}"


def test_a_stage_that_drops_an_imported_file_fails_the_check(tmp_path):
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    stage = dict(stages["parse"])
    stage["deps"] = [d for d in stage["deps"] if d != "vton/layout.py"]
    scratch = tmp_path / "dvc.yaml"
    scratch.write_text(yaml.safe_dump({"stages": {"parse": stage}}))
    assert uncovered_deps(scratch) == {"parse": ["vton/layout.py"]}
    stage["deps"] = ["stages", "vton"]  # folders cover everything below them
    scratch.write_text(yaml.safe_dump({"stages": {"parse": stage}}))
    assert uncovered_deps(scratch) == {}
    stage["deps"] = ["stages", "vton/annotate"]
    scratch.write_text(yaml.safe_dump({"stages": {"parse": stage}}))
    assert "vton/config.py" in uncovered_deps(scratch)["parse"]


def test_command_modules_reads_the_forms_stages_use():
    cmd = "python -m stages.annotate pose --params params.yaml && python tools/check.py --x 1"
    assert command_modules(cmd) == ["stages.annotate", "tools.check"]
    assert command_modules(["python3 -m flows.refresh"]) == ["flows.refresh"]
