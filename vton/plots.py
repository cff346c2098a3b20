"""`vton plots`: the DVC plots as PNG files and an HTML page that need no network.

`dvc plots show` writes a page that loads Vega from a CDN, so offline its training curves
are blank. This runs `dvc plots show --json` (or `dvc plots diff REVS... --json` to compare
revisions and experiments), renders every Vega-Lite plot to PNG locally with vl-convert (no
URL may be fetched), copies the image plots, and writes `index.html` that references only
those files: no script, no stylesheet, nothing remote. Revisions side by side: a curve plot
draws every revision in one chart (one colour each), an image plot shows one image per
revision in a row.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vton.fileio import atomic_write_bytes, atomic_write_text

DEFAULT_OUT = Path("dvc_plots_offline")


class PlotsError(RuntimeError):
    """DVC could not give the plots, or there are none to render."""


@dataclass
class Plot:
    """One plot of the page: its DVC id and the PNG files (relative to the page) with the
    revisions each shows."""

    name: str
    images: list[tuple[str, str]] = field(default_factory=list)  # (file, revisions)


def dvc_plots_json(project: Path, revisions: list[str], static: Path) -> dict[str, Any]:
    """DVC's plots of the workspace (no revisions) or of `revisions` as JSON; the image
    plots are copied into `static` by DVC itself."""
    verb = ["diff", *revisions] if revisions else ["show"]
    command = [sys.executable, "-m", "dvc", "plots", *verb, "--json", "--out", str(static)]
    proc = subprocess.run(command, cwd=project, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PlotsError(f"`dvc plots {' '.join(verb)}` failed: {proc.stderr.strip()}")
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise PlotsError(f"`dvc plots {verb[0]} --json` printed no JSON: {exc}") from exc
    return doc if "data" in doc else {"data": doc, "errors": []}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "plot"


def render_vega(spec: dict[str, Any], scale: float) -> bytes:
    """A Vega-Lite spec (with its data inline, as DVC gives it) as PNG bytes, offline."""
    import vl_convert

    return bytes(vl_convert.vegalite_to_png(spec, scale=scale, allowed_base_urls=[]))


def render(project: Path, out: Path, revisions: list[str], scale: float = 1.0) -> Path:
    """Render the plots of `project` into `out`; returns the page's path."""
    static = out / "static"
    doc = dvc_plots_json(project, revisions, static)
    plots = []
    for name, entries in doc["data"].items():
        plot = Plot(name)
        for entry in entries:
            shown = ", ".join(entry.get("revisions", []))
            if entry.get("type") == "vega":
                file = f"{_slug(name)}.png"
                atomic_write_bytes(out / file, render_vega(entry["content"], scale))
                plot.images.append((file, shown))
            elif entry.get("type") == "image" and entry.get("url"):
                file = Path(entry["url"]).resolve().relative_to(out.resolve()).as_posix()
                plot.images.append((file, shown))
        if plot.images:
            plots.append(plot)
    errors = [f"{e.get('name')} ({e.get('rev')}): {e.get('msg')}" for e in doc.get("errors", [])]
    if not plots:
        detail = "; ".join(errors) or "dvc.yaml declares none"
        raise PlotsError(f"no plots to render: {detail}")
    page = out / "index.html"
    atomic_write_text(page, _page(plots, errors, revisions))
    return page


def _page(plots: list[Plot], errors: list[str], revisions: list[str]) -> str:
    shown = ", ".join(revisions) if revisions else "workspace"
    parts = [
        "<!doctype html>",
        '<html><head><meta charset="utf-8"><title>vton plots</title></head>',
        '<body style="font-family: sans-serif">',
        f"<h1>DVC plots: {html.escape(shown)}</h1>",
    ]
    for plot in plots:
        parts.append(f"<h2>{html.escape(plot.name)}</h2>")
        parts.append('<div style="display: flex; flex-wrap: wrap; gap: 16px">')
        for file, revs in plot.images:
            parts.append(
                f'<figure style="margin: 0"><img src="{html.escape(file)}" '
                f'alt="{html.escape(plot.name)}" style="max-width: 720px">'
                f"<figcaption>{html.escape(revs)}</figcaption></figure>"
            )
        parts.append("</div>")
    if errors:
        parts.append("<h2>Not loaded</h2><ul>")
        parts.extend(f"<li>{html.escape(e)}</li>" for e in errors)
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "revisions",
        nargs="*",
        help="git revisions or experiment names to compare (`dvc plots diff`); none: the workspace",
    )
    parser.add_argument("--project", type=Path, default=Path("."), help="the DVC project")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write")
    parser.add_argument("--scale", type=float, default=1.0, help="PNG scale of the curves")


def run(args: argparse.Namespace) -> int:
    try:
        page = render(args.project, args.out, list(args.revisions), args.scale)
    except PlotsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"plots: {page} (open it in a browser; it needs no network)")
    return 0
