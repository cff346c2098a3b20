"""Annotator fingerprints follow the code: edit a copy of the package, see what changes.

Each check copies `vton/` into tmp_path, edits the copy's source and runs the copy in a
subprocess (PYTHONPATH pointing at it), so the fingerprints and the runner are those of the
edited code, with nothing of this process's imports or caches in between.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vton

PACKAGE = Path(vton.__file__).resolve().parent

# Builds one annotator per backend that needs no downloaded weights (a dummy SCHP file and
# an unresolved hub id are enough to fingerprint), prints their fingerprints; with
# PHOTOS DEST CACHE it also runs the `background` cloth-mask backend on PHOTOS.
SCRIPT = r"""
import json, sys
from pathlib import Path

import vton
from vton.annotate.items import folder_dest, folder_items
from vton.annotate.registry import create_annotator
from vton.annotate.runner import run
from vton.config import (AgnosticParams, ClothMaskParams, DensePoseParams, ParseParams,
                         PoseParams, SchpParams, SegformerParams)

schp = Path(sys.argv[1])
sections = {
    "pose-reference": ("pose", PoseParams()),
    "pose-mediapipe": ("pose", PoseParams(backend="mediapipe")),
    "parse-mediapipe": ("parse", ParseParams(backend="mediapipe")),
    "parse-segformer": ("parse", ParseParams(
        backend="segformer", segformer=SegformerParams(model="nobody-here/no-model"))),
    "parse-schp_onnx": ("parse", ParseParams(
        backend="schp_onnx", schp_onnx=SchpParams(model=str(schp)))),
    "densepose-mediapipe": ("densepose", DensePoseParams(backend="mediapipe")),
    "cloth_mask-background": ("cloth_mask", ClothMaskParams(backend="background")),
    "agnostic-hrviton": ("agnostic", AgnosticParams(backend="hrviton")),
}
out = {
    "vton": vton.__file__,
    "fingerprints": {k: create_annotator(*v).fingerprint() for k, v in sections.items()},
}
if len(sys.argv) > 2:
    photos, dest, cache = map(Path, sys.argv[2:5])
    out["run"] = run("cloth_mask", sections["cloth_mask-background"][1], folder_items(photos),
                     folder_dest(dest), cache, workers=0, progress=False)
print(json.dumps(out))
"""


Edit = tuple[str, str | None, str]
"""(file, old text, new text); old None appends the new text."""


def copy_package(root: Path, edits: list[Edit] = ()) -> Path:
    """A copy of the vton package below `root`, with each edit applied."""
    shutil.copytree(PACKAGE, root / "vton", ignore=shutil.ignore_patterns("__pycache__"))
    for rel, old, new in edits:
        path = root / rel
        text = path.read_text()
        if old is None:
            text += new
        else:
            assert text.count(old) == 1, f"{rel} no longer holds {old!r} once; update this test"
            text = text.replace(old, new)
        path.write_text(text)
    return root


def run_copy(root: Path, schp: Path, *run_args: Path) -> dict:
    """Run SCRIPT with the copy at `root` first on the path; its JSON output."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(schp), *map(str, run_args)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(out["vton"]).resolve().is_relative_to(root.resolve()), "ran the wrong tree"
    return out


@pytest.fixture(scope="module")
def schp(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "parsing_lip.onnx"
    path.write_bytes(b"not a model; only its digest is part of the fingerprint")
    return path


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, schp) -> dict[str, str]:
    """The fingerprints of an unedited copy."""
    return run_copy(copy_package(tmp_path_factory.mktemp("base")), schp)["fingerprints"]


UNRELATED = [
    ("vton/models/gmm.py", None, "\n# edited: no annotator runs this module\n"),
    ("vton/qa/report.py", None, "\nEDITED = True\n"),
]

PARSE_BACKENDS = {"parse-mediapipe", "parse-segformer", "parse-schp_onnx"}
EDITS = {
    "parse/mediapipe.py threshold": (
        [("vton/annotate/parse/mediapipe.py", "sum() < 0.002 * h * w", "sum() < 0.003 * h * w")],
        {"parse-mediapipe"},
    ),
    "neck.py finish_parse": (
        [("vton/annotate/parse/neck.py", "round(float(midline), 1)", "round(float(midline), 2)")],
        {"parse-segformer", "parse-schp_onnx"},
    ),
    "mediapipe_models.py model complexity": (
        [
            (
                "vton/annotate/mediapipe_models.py",
                "complexity=1, enable_seg",
                "complexity=2, enable_seg",
            )
        ],
        {"pose-mediapipe", "densepose-mediapipe", *PARSE_BACKENDS},
    ),
    "unrelated modules": (UNRELATED, set()),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_an_edit_changes_exactly_the_fingerprints_of_the_backends_that_run_it(
    name, tmp_path, schp, baseline
):
    edits, expected = EDITS[name]
    edited = run_copy(copy_package(tmp_path, edits), schp)["fingerprints"]
    changed = {k for k in baseline if edited[k] != baseline[k]}
    assert changed == expected


def _garments(folder: Path) -> Path:
    """Two 64x48 garment photos on a plain backdrop (the `background` backend's input)."""
    folder.mkdir()
    for name, colour, box in (
        ("red", (180, 30, 40), (16, 50, 10, 38)),
        ("blue", (20, 60, 160), (12, 54, 8, 40)),
    ):
        rgb = np.full((64, 48, 3), 240, np.uint8)
        rgb[box[0] : box[1], box[2] : box[3]] = colour
        Image.fromarray(rgb).save(folder / f"{name}.png")
    return folder


def test_the_runner_serves_no_cache_entry_of_edited_code(tmp_path, schp):
    photos, cache = _garments(tmp_path / "photos"), tmp_path / "cache"
    base = copy_package(tmp_path / "base")
    first = run_copy(base, schp, photos, tmp_path / "out1", cache)["run"]
    assert (first["annotated"], first["cached"], first["rejects"]) == (2, 0, 0)
    again = run_copy(base, schp, photos, tmp_path / "out2", cache)["run"]
    assert (again["annotated"], again["cached"]) == (0, 2)

    # An edit of code the backend does not run keeps the fingerprint and the cache.
    unrelated = copy_package(tmp_path / "unrelated", UNRELATED)
    kept = run_copy(unrelated, schp, photos, tmp_path / "out3", cache)["run"]
    assert kept["annotator"] == first["annotator"]
    assert (kept["annotated"], kept["cached"]) == (0, 2)

    # An inline threshold of `background_mask`: not a param, yet a new fingerprint, and
    # every image is annotated again although the old entries are still in the cache.
    edit = ("vton/annotate/cloth_mask/background.py", "blur * diag >= 0.3:", "blur * diag >= 0.25:")
    edited = copy_package(tmp_path / "edited", [edit])
    fresh = run_copy(edited, schp, photos, tmp_path / "out4", cache)["run"]
    assert fresh["annotator"] != first["annotator"]
    assert (fresh["annotated"], fresh["cached"], fresh["written"]) == (2, 0, 2)
    assert (cache / first["annotator"]).is_dir()
    for out in ("out1", "out4"):
        assert sorted(p.name for p in (tmp_path / out / "cloth-mask").iterdir()) == [
            "blue.jpg",
            "red.jpg",
        ]
