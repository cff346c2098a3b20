"""The house rules: short units, one formatter, names that say where a thing lives.

`make check` (ruff format, ruff check, mypy) enforces style and types; this test enforces
what they do not: no file of vton/ over 600 lines, no function over 80 lines, no
`fmt: skip`, no two modules of vton/ with the same file name, and pre-commit running the
same checks as `make check`.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CODE = ("vton", "stages", "flows", "scraper", "bench")
MAX_FILE_LINES = 600  # vton/
MAX_FUNCTION_LINES = 80  # everywhere in CODE


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_no_file_of_vton_is_over_600_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in _sources("vton")
        if (n := p.read_text().count("\n")) > MAX_FILE_LINES
    }
    assert not long, f"split these along their seams: {long}"


def test_no_function_is_over_80_lines():
    long = {}
    for path in _sources(*CODE):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = lines
    assert not long, f"split these into named steps: {long}"


def test_the_formatter_needs_no_exceptions():
    marker = re.compile(r"#\s*fmt:\s*(skip|off)")
    marked = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in _sources(*CODE, "tests")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if marker.search(line) and p.name != "test_house.py"
    ]
    assert not marked, f"ruff format at 100 columns needs no fmt markers: {marked}"


def test_module_names_do_not_collide():
    by_name = defaultdict(list)
    for path in _sources("vton"):
        if path.name != "__init__.py":
            by_name[path.stem].append(str(path.relative_to(ROOT)))
    collisions = {name: paths for name, paths in by_name.items() if len(paths) > 1}
    assert not collisions, f"rename so each name says where it lives: {collisions}"


def test_pre_commit_runs_what_make_check_runs():
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    entries = [hook["entry"].replace(".venv/bin/", "$(BIN)/") for hook in hooks]
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ncheck: env\n", 1)[1].split("\n\n", 1)[0]
    commands = [line.strip().removesuffix(" .") for line in recipe.splitlines()]
    assert entries == commands
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci.index("make check") < ci.index("make test"), "CI checks before it tests"
