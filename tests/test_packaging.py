"""`pip install .` gives a working install: what the code imports is what pyproject declares.

Every third-party package a module of vton/, stages/, flows/ or scraper/ imports is a declared
dependency (core or an extra); what the default `dvc repro` imports at module level is core, so
`pip install .` without extras runs the pipeline; the wheel holds every package and data file.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
import zipfile
from functools import cache
from importlib import metadata

import pytest
import yaml
from packaging.requirements import Requirement

from tests.test_deps import command_modules
from vton.codegraph import PROJECT_PACKAGES, ROOT, module_path, project_modules

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

NOT_ON_PYPI = {
    "detectron2": "the detectron2 DensePose backend; detectron2 installs from its source",
    "densepose": "detectron2's DensePose project, installed with detectron2 from source",
}
"""Imports no distribution on PyPI provides: their backends say how to install them."""


def _name(requirement: str) -> str:
    return Requirement(requirement).name.lower().replace("_", "-")


CORE = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
EXTRAS = {
    extra: {_name(r) for r in reqs if not r.startswith("vton[")}
    for extra, reqs in PYPROJECT["project"]["optional-dependencies"].items()
}


@cache
def _distributions() -> dict[str, set[str]]:
    return {
        top: {d.lower().replace("_", "-") for d in dists}
        for top, dists in metadata.packages_distributions().items()
    }


def _modules() -> list[str]:
    names = []
    for package in PROJECT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _third_party(module: str, top_level_only: bool) -> set[str]:
    """Top-level names of the third-party packages `module` imports (at module level only,
    or anywhere in the file)."""
    path = module_path(module)
    assert path is not None, module
    tree = ast.parse(path.read_bytes())
    nodes = []
    todo = list(tree.body) if top_level_only else [tree]
    while todo:  # module level: also inside top-level if / try, never inside def or class
        node = todo.pop()
        nodes.append(node)
        if top_level_only:
            if isinstance(node, ast.If | ast.Try):
                todo.extend(ast.iter_child_nodes(node))
        else:
            todo.extend(ast.iter_child_nodes(node))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    project = set(PROJECT_PACKAGES) | {"__future__"}
    return {name for name in found if name not in project and name not in sys.stdlib_module_names}


def test_every_import_is_a_declared_dependency():
    declared = CORE.union(*EXTRAS.values())
    undeclared = {}
    for module in _modules():
        for top in _third_party(module, top_level_only=False):
            if top in NOT_ON_PYPI:
                continue
            dists = _distributions().get(top)
            assert dists, f"{module} imports {top!r}, which no installed distribution provides"
            if not dists & declared:
                undeclared.setdefault(top, []).append(module)
    assert not undeclared, f"imported but not in pyproject.toml: {undeclared}"


def test_the_default_pipeline_needs_only_the_core_dependencies():
    stages = yaml_stages()
    needs_extra = {}
    for module in stages:
        for name in project_modules(module):
            if module_path(name) is None:
                continue
            for top in _third_party(name, top_level_only=True):
                if not _distributions().get(top, set()) & CORE:
                    needs_extra.setdefault(module, set()).add(f"{name} imports {top}")
    assert not needs_extra, (
        "a stage imports a package of an extra at module level (import it where it is used, "
        f"or make it core): {needs_extra}"
    )


def yaml_stages() -> list[str]:

    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    modules = {m for stage in stages.values() for m in command_modules(stage["cmd"])}
    assert modules, "dvc.yaml has no python stages"
    return sorted(modules)


def test_every_declared_dependency_is_installed_at_a_satisfying_version():
    requirements = [*PYPROJECT["project"]["dependencies"]]
    for reqs in PYPROJECT["project"]["optional-dependencies"].values():
        requirements += [r for r in reqs if not r.startswith("vton[")]
    for text in requirements:
        requirement = Requirement(text)
        version = metadata.version(requirement.name)
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{requirement} is declared, but requirements.lock installs {version}"
        )


_pycache = shutil.ignore_patterns("__pycache__", "*.pyc")


@pytest.mark.slow
def test_the_wheel_holds_every_package_and_data_file(tmp_path):
    source = tmp_path / "src"  # a copy: setuptools writes build/ beside the sources
    for folder in ("vton", "scraper"):
        shutil.copytree(ROOT / folder, source / folder, ignore=_pycache)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"),
            *("-q", "--disable-pip-version-check", "-w", str(tmp_path), str(source)),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("vton-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("vton", "scraper"):
        for path in (ROOT / package).rglob("*.py"):
            assert path.relative_to(ROOT).as_posix() in names, f"{path} is not in the wheel"
    for pattern in ("vton/infer/web/*.html", "scraper/sites/*.yaml"):
        files = list(ROOT.glob(pattern))
        assert files, pattern
        for path in files:
            assert path.relative_to(ROOT).as_posix() in names, f"{path} is not in the wheel"
    metadata_file = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata_file).decode()
    requires = {
        _name(line.split(":", 1)[1].split(";")[0])
        for line in text.splitlines()
        if line.startswith("Requires-Dist:")
    }
    assert requires >= CORE
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "vton = vton.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()
