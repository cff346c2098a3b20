"""`vton.codegraph` on a tiny project written into tmp_path, and on the real one."""

from __future__ import annotations

from pathlib import Path

from vton.codegraph import (
    code_digest,
    external_packages,
    module_files,
    project_modules,
    source_digest,
)

FILES = {
    "vton/__init__.py": "",
    "vton/pkg/__init__.py": "from . import sub  # noqa\n",
    "vton/pkg/sub.py": "import numpy as np\n",
    "vton/pkg/mod.py": (
        "from __future__ import annotations\n"
        "import os\n"
        "from .. import config\n"
        "from .sibling import thing\n"
        "from vton.formats import labels, NOT_A_MODULE\n"
        "REGISTRY = {'x': 'vton.plugins.one:Plugin', 'note': 'see: http://x', 'y': 'ab:cd'}\n"
        "def load():\n"
        "    import importlib\n"
        "    import cv2\n"
        "    from vton.late import helper\n"
        "    return importlib.import_module('vton.dynamic')\n"
    ),
    "vton/pkg/sibling.py": "thing = 1\n",
    "vton/config.py": "import yaml\n",
    "vton/formats/__init__.py": "",
    "vton/formats/labels.py": "",
    "vton/formats/unused.py": "import torch\n",
    "vton/plugins/__init__.py": "",
    "vton/plugins/one.py": "from vton.pkg.sibling import thing\n",
    "vton/late.py": "",
    "vton/dynamic.py": "",
    "vton/unrelated.py": "import vton.pkg.mod\n",
    "stages/__init__.py": "",
    "stages/run.py": "from vton.pkg import mod\n",
}


def _tree(root: Path) -> Path:
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_every_kind_of_import_is_followed_and_nothing_else(tmp_path):
    root = _tree(tmp_path)
    assert project_modules("vton.pkg.mod", root) == (
        "vton",
        "vton.config",
        "vton.dynamic",
        "vton.formats",
        "vton.formats.labels",
        "vton.late",
        "vton.pkg",
        "vton.pkg.mod",
        "vton.pkg.sibling",
        "vton.pkg.sub",
        "vton.plugins",
        "vton.plugins.one",
    )
    assert external_packages("vton.pkg.mod", root) == ("cv2", "numpy", "yaml")
    files = module_files("stages.run", root)
    assert root / "stages/run.py" in files and root / "vton/pkg/mod.py" in files
    assert root / "vton/unrelated.py" not in files and root / "vton/formats/unused.py" not in files


def test_the_digest_follows_bytes_and_names_not_location(tmp_path):
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    digest = source_digest(module_files("vton.pkg.mod", a), a)
    assert digest == source_digest(module_files("vton.pkg.mod", b), b)
    (b / "vton/late.py").write_text("# one more line\n")
    assert source_digest(module_files("vton.pkg.mod", b), b) != digest
    (b / "vton/unrelated.py").write_text("# not imported by vton.pkg.mod\n")
    (b / "vton/late.py").write_text("")
    assert source_digest(module_files("vton.pkg.mod", b), b) == digest


def test_the_real_backends_import_what_they_run():
    segformer = project_modules("vton.annotate.parse.segformer")
    assert {"vton.annotate.parse.neck", "vton.annotate.mediapipe_models", "vton.records"} <= set(
        segformer
    )
    assert "vton.annotate.parse.mediapipe" not in segformer  # other backends are not run
    assert {"torch", "transformers"} <= set(external_packages("vton.annotate.parse.segformer"))
    registry = project_modules("vton.annotate.registry")  # the registry names every backend
    assert {"vton.annotate.parse.schp", "vton.annotate.cloth_mask"} <= set(registry)
    assert code_digest("vton.annotate.pose") == code_digest("vton.annotate.pose")
