"""Plots that show offline: the training-curve PNGs the stages write, and `vton plots`
rendering a real DVC project's plots (workspace, revisions, experiments) to PNG files and a
page that loads nothing remote."""

from __future__ import annotations

import argparse
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.dvc_project import run
from vton import curves, plots

PURPLE = (0x94, 0x67, 0xBD)  # matplotlib's tab:purple, the curves' colour


def _tsv(folder: Path, name: str, values: list[float]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{10 * (i + 1)}\t{v}\n" for i, v in enumerate(values))
    (folder / f"{name}.tsv").write_text(f"step\t{name}\n{rows}")


def _pixels_near(image: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    return int((np.abs(image[..., :3].astype(int) - rgb).sum(axis=-1) < tolerance).sum())


def test_training_curves_png_is_deterministic_and_draws_every_metric(tmp_path):
    live = tmp_path / "live"
    _tsv(live / "plots" / "metrics", "train_loss", [0.9, 0.5, 0.3, 0.25])
    _tsv(live / "plots" / "metrics", "train_l1", [0.2, 0.1, 0.05, 0.04])
    _tsv(live / "plots" / "metrics", "train_mask_l1", [0.3, 0.2, 0.1, 0.05])
    first = curves.write_curves(live, tmp_path / "a.png", title="train_x").read_bytes()
    second = curves.write_curves(live, tmp_path / "b.png", title="train_x").read_bytes()
    assert first == second, "same TSVs, different bytes: the PNG carries a stamp"
    image = np.asarray(Image.open(tmp_path / "a.png").convert("RGB"))
    width, height = (round(x * curves.DPI) for x in curves.PANEL_INCHES)
    assert image.shape == (2 * height, 2 * width, 3)  # three metrics: two rows of two
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20, "a blank image"
    panels = [image[:height, :width], image[:height, width:], image[height:, :width]]
    assert all(_pixels_near(p, PURPLE) > 50 for p in panels), "a metric without its curve"
    assert _pixels_near(image[height:, width:], PURPLE) == 0, "the unused panel is drawn"


def test_curves_of_a_run_that_logged_nothing_say_so(tmp_path):
    out = curves.write_curves(tmp_path / "empty", tmp_path / "c.png", title="train_x")
    assert Image.open(out).size == tuple(round(x * curves.DPI) for x in curves.PANEL_INCHES)


def test_a_malformed_tsv_is_a_clear_error(tmp_path):
    folder = tmp_path / "plots" / "metrics"
    folder.mkdir(parents=True)
    (folder / "loss.tsv").write_text("epoch\n1\n")
    with pytest.raises(ValueError, match=r"loss\.tsv: .*`step`"):
        curves.read_curves(tmp_path)


WRITE = """\
import sys
from pathlib import Path

import yaml
from PIL import Image

rate = yaml.safe_load(open("params.yaml"))["rate"]
Path("m").mkdir(exist_ok=True)
rows = "".join(f"{s}\\t{1 / (1 + rate * s)}\\n" for s in range(1, 21))
Path("m/loss.tsv").write_text("step\\tloss\\n" + rows)
Image.new("RGB", (32, 24), (int(255 * rate), 40, 40)).save("m/grid.png")
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A real git + DVC project whose stage writes a loss curve and an image plot from its
    param `rate`; committed at rate 0.2, then an experiment `fast` at rate 0.8."""
    root = tmp_path_factory.mktemp("plots_project")
    (root / "write.py").write_text(WRITE)
    (root / "params.yaml").write_text("rate: 0.2\n")
    (root / "dvc.yaml").write_text(
        textwrap.dedent(
            """\
            stages:
              train:
                cmd: python write.py
                deps: [write.py]
                params: [rate]
                plots:
                  - m/loss.tsv:
                      x: step
                      cache: false
                  - m/grid.png:
                      cache: false
            """
        )
    )
    run(root, "git", "init", "-q", "-b", "main")
    run(root, "dvc", "init", "-q")
    run(root, "dvc", "repro", "-q")
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-q", "-m", "rate 0.2")
    run(root, "dvc", "exp", "run", "-S", "rate=0.8", "-n", "fast")
    return root


def _page_files(page: Path) -> list[Path]:
    text = page.read_text()
    assert not re.search(r"https?://", text), "the page names a URL"
    assert "<script" not in text and "<link" not in text
    sources = re.findall(r'src="([^"]+)"', text)
    assert sources
    files = [page.parent / s for s in sources]
    assert all(f.is_file() for f in files), "the page names a file it did not write"
    return files


def test_workspace_plots_render_offline(project, tmp_path):
    page = plots.render(project, tmp_path / "out", [])
    files = _page_files(page)
    curve = tmp_path / "out" / "m_loss.tsv.png"
    assert curve in files
    image = np.asarray(Image.open(curve).convert("RGB"))
    assert image.shape[0] > 200 and len(np.unique(image.reshape(-1, 3), axis=0)) > 20
    assert any(f.parent.name == "static" and f.suffix == ".png" for f in files)


def test_experiments_compare_side_by_side(project, tmp_path):
    doc = plots.dvc_plots_json(project, ["main", "fast"], tmp_path / "probe")
    (entry,) = doc["data"]["m/loss.tsv"]
    colours = entry["content"]["encoding"]["color"]["scale"]["range"]
    assert entry["revisions"] == ["main", "fast"]
    page = plots.render(project, tmp_path / "out", ["main", "fast"])
    files = _page_files(page)
    image = np.asarray(Image.open(tmp_path / "out" / "m_loss.tsv.png").convert("RGB"))
    for colour in colours[:2]:  # one line per revision, in DVC's colour for it
        rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        assert _pixels_near(image, rgb, tolerance=30) > 100, f"no curve drawn in {colour}"
    grids = [f for f in files if f.name.endswith("grid.png")]
    assert len(grids) == 2, "one image per revision"
    reds = sorted(np.asarray(Image.open(g).convert("RGB"))[0, 0, 0] for g in grids)
    assert reds == [int(255 * 0.2), int(255 * 0.8)]
    text = page.read_text()
    assert "main" in text and "fast" in text


def test_cli_reports_a_project_without_plots(tmp_path, capsys):
    root = tmp_path / "bare"
    root.mkdir()
    run(root, "git", "init", "-q", "-b", "main")
    run(root, "dvc", "init", "-q")
    parser = argparse.ArgumentParser()
    plots.add_arguments(parser)
    args = parser.parse_args(["--project", str(root), "--out", str(tmp_path / "out")])
    assert plots.run(args) == 1
    assert "no plots to render" in capsys.readouterr().err
