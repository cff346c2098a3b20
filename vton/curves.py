"""Training curves as a PNG: the image plot that shows offline in `dvc plots show`.

DVC draws the DVCLive TSVs (`<live>/plots/metrics/**/*.tsv`) with Vega-Lite, which its HTML
page loads from a CDN: offline those curves are blank. The training stages therefore also
write `<live>/curves.png`, one panel per metric against the step, declared in dvc.yaml as an
image plot. The PNG is deterministic: a fixed size and dpi, matplotlib's bundled font, and no
version stamp in its metadata, so the same TSVs give the same bytes.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from vton.fileio import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PANEL_INCHES = (4.0, 2.6)  # width, height of one metric's panel
DPI = 100
COLUMNS = 2


def read_curves(live_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Every DVCLive metric under `live_dir`: name (its TSV path under plots/metrics, without
    the suffix) -> a frame of `step` and the metric's value, in file-name order."""
    folder = Path(live_dir) / "plots" / "metrics"
    curves = {}
    for path in sorted(folder.rglob("*.tsv")):
        frame = pd.read_csv(path, sep="\t")
        if "step" not in frame.columns or not set(frame.columns) - {"step", "timestamp"}:
            raise ValueError(f"{path}: a DVCLive metric TSV has `step` and a value column")
        name = path.relative_to(folder).with_suffix("").as_posix()
        value = next(c for c in frame.columns if c not in ("step", "timestamp"))
        curves[name] = frame[["step", value]].rename(columns={value: "value"})
    return curves


def render_curves(curves: dict[str, pd.DataFrame], title: str) -> bytes:
    """One panel per metric (value against step), two columns, as PNG bytes; a run that
    logged no metric yet (fewer steps than its `log_every`) gets one panel saying so."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    if not curves:
        figure = Figure(figsize=PANEL_INCHES, dpi=DPI)
        figure.suptitle(title)
        figure.text(0.5, 0.5, "no metric logged yet (fewer steps than log_every)", ha="center")
        return _png(figure)
    rows = math.ceil(len(curves) / COLUMNS)
    columns = min(COLUMNS, len(curves))
    figure = Figure(figsize=(PANEL_INCHES[0] * columns, PANEL_INCHES[1] * rows), dpi=DPI)
    figure.suptitle(title)
    axes = figure.subplots(rows, columns, squeeze=False)
    for ax, (name, frame) in zip(axes.flat, curves.items(), strict=False):
        ax.plot(frame["step"], frame["value"], color="tab:purple", linewidth=1.5)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(curves) :]:
        ax.set_visible(False)
    figure.tight_layout()
    return _png(figure)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def write_curves(live_dir: str | Path, out: str | Path, title: str) -> Path:
    """Render the DVCLive metrics under `live_dir` to the PNG `out` (atomically)."""
    atomic_write_bytes(out, render_curves(read_curves(live_dir), title))
    return Path(out)
