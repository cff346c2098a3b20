"""Which project code a module runs: its transitive imports, found in the source by AST.

A module's imports are every `import x`, `from x import y` (y may be a submodule), relative
import, import inside a function, `importlib.import_module("x")` with a literal name, and
every `"package.module:Name"` string (the form of registries such as
`vton.annotate.registry.BACKENDS`, resolved by importlib at run time). Importing `a.b.c` runs
`a/__init__.py` and `a/b/__init__.py` too, so those count. Only modules of the project's
packages (`PROJECT_PACKAGES`, below `root`) are followed; the others are third-party
packages, whose installed versions `package_versions` reports.

The annotators' cache fingerprints (`vton.annotate.base.make_fingerprint`) are built on
`code_digest`; the test of `dvc.yaml`'s deps on `module_files`.
"""

from __future__ import annotations

import ast
import hashlib
import re
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

PROJECT_PACKAGES = ("vton", "stages", "flows", "scraper")
"""Top-level packages whose modules are project code."""

ROOT = Path(__file__).resolve().parent.parent
"""The directory holding the project's packages (this checkout)."""

_REFERENCE = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):[A-Za-z_]\w*$")
_IMPORTERS = {"import_module", "__import__"}


def module_path(name: str, root: Path = ROOT) -> Path | None:
    """The file of project module `name` below `root` (`a/b.py` or `a/b/__init__.py`), or
    None when `name` is not a project module there."""
    parts = name.split(".")
    if parts[0] not in PROJECT_PACKAGES:
        return None
    base = Path(root).joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_package(name: str, root: Path) -> bool:
    path = module_path(name, root)
    return path is not None and path.name == "__init__.py"


def _resolve(name: str, root: Path) -> str | None:
    """The longest prefix of `name` that is a project module (`vton.config.Params` ->
    `vton.config`), or None."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if module_path(candidate, root) is not None:
            return candidate
        parts.pop()
    return None


def _relative_base(module: str, level: int, package: bool) -> str:
    """The package a `from .` (level dots) import in `module` starts from."""
    parts = module.split(".")
    if not package:
        parts = parts[:-1]
    if level - 1 > len(parts) - 1:
        raise ImportError(f"{module}: relative import of level {level} goes above the top package")
    return ".".join(parts[: len(parts) - (level - 1)])


def _imported_names(module: str, root: Path) -> set[str]:
    """Every absolute module name `module`'s source imports or references (unresolved)."""
    path = module_path(module, root)
    if path is None:
        raise ModuleNotFoundError(
            f"{module!r} is not a module of {', '.join(PROJECT_PACKAGES)} below {root}; "
            "pass a dotted name such as 'vton.annotate.pose' and the directory holding vton/"
        )
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _relative_base(module, node.level, package)
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            names.add(source)
            # `from pkg import sub` imports the submodule pkg.sub when there is one.
            names.update(f"{source}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = _REFERENCE.match(node.value)
            if match and match.group(1).split(".")[0] in PROJECT_PACKAGES:
                names.add(match.group(1))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called in _IMPORTERS and isinstance(first, ast.Constant):
                names.add(str(first.value))
    return names


def _with_parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[: k + 1]) for k in range(len(parts))]


@cache
def _graph(module: str, root: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(project modules, third-party top-level names) `module` runs, both sorted."""
    seen: set[str] = set()
    external: set[str] = set()
    todo = _with_parents(module)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for imported in _imported_names(name, root):
            top = imported.split(".")[0]
            if top in PROJECT_PACKAGES:
                resolved = _resolve(imported, root)
                if resolved is not None:
                    todo.extend(m for m in _with_parents(resolved) if m not in seen)
                # else: a name the project does not hold; importing it fails at run time
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                external.add(top)
    return tuple(sorted(seen)), tuple(sorted(external))


def project_modules(module: str, root: Path = ROOT) -> tuple[str, ...]:
    """`module`, its packages and every project module it imports transitively, sorted."""
    return _graph(module, Path(root).resolve())[0]


def module_files(module: str, root: Path = ROOT) -> tuple[Path, ...]:
    """The source files of `project_modules(module, root)`, sorted."""
    root = Path(root).resolve()
    files = (module_path(name, root) for name in project_modules(module, root))
    return tuple(sorted(f for f in files if f is not None))


def external_packages(module: str, root: Path = ROOT) -> tuple[str, ...]:
    """Top-level names of the third-party packages `module` and its project imports import
    (`cv2`, `numpy`, `PIL`, ...), sorted."""
    return _graph(module, Path(root).resolve())[1]


def source_digest(files: list[Path] | tuple[Path, ...], root: Path = ROOT) -> str:
    """sha256 over each file's path relative to `root` and its bytes, in sorted order, so a
    copy of the tree elsewhere has the same digest."""
    root = Path(root).resolve()
    h = hashlib.sha256()
    for rel, path in sorted((Path(f).resolve().relative_to(root).as_posix(), f) for f in files):
        data = Path(path).read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


@cache
def code_digest(module: str, root: Path = ROOT) -> str:
    """The digest of the source of `module` and every project module it runs (once per
    process: edits after the first call are not seen)."""
    return source_digest(module_files(module, root), root)


@cache
def _distributions() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())


@cache
def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Import name -> the installed distributions providing it with their versions
    (`{"cv2": "opencv-python-headless==4.10.0.84"}`, several joined by ", "), or "absent"."""
    versions = {}
    for name in names:
        dists = sorted(set(_distributions().get(name, [])))
        found = []
        for dist in dists:
            try:
                found.append(f"{dist}=={metadata.version(dist)}")
            except metadata.PackageNotFoundError:
                continue
        versions[name] = ", ".join(found) or "absent"
    return versions
