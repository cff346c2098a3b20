"""An HTML contact sheet of a dataset in the VITON-HD layout, readable offline.

```
OUT/index.html             page 1: the summary (stage counts, kinds, rejects), then samples
OUT/page-2.html ...        more samples, `per_page` a page, prev/next links and a page list
OUT/sheets/index.jpg       the thumbnails of index.html's samples, one JPEG (a sprite sheet)
OUT/sheets/page-2.jpg ...  those of page-2.html's, ...
OUT/sheets/excluded-1.jpg  thumbnails of the excluded samples (index.html), `per_page` a JPEG
```
A sprite is a grid, a row per sample and a column per thumbnail (`thumb_height` px high, the
sample's aspect); each cell of a page shows its thumbnail as the sprite's background
(`vton.qa.thumbnails.write_sprite`). So the report holds about two files per `per_page`
samples, whatever the dataset's size, and one page's thumbnails are in memory at a time.
Every sample is a row with one cell per column (`COLUMNS`): the photo with its parse
overlaid, the skeleton over the photo, the DensePose rendering, the agnostic image, the
agnostic parse, the agnostic mask over the photo, the cloth and the cloth mask. A kind the
dataset lacks is a "missing" placeholder naming its folder; a file that cannot be read is an
"unreadable" placeholder with the error. The rows are the published samples; page 1 lists
every sample the catalog marks excluded (`Layout.excluded`) with the stage, its reason and
detail, and thumbnails of its photo and garment. Pages hold inline CSS and relative links only (no
scripts, fonts or network), so the folder can be copied and opened anywhere.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from tqdm import tqdm

from vton.fileio import atomic_write_bytes
from vton.layout import SPLITS, Layout, read_jsonl
from vton.qa.pages import MAX_REJECTS, STAGES, PageContext, page_html, page_name
from vton.qa.thumbnails import (
    BLOCK,
    COLUMNS,
    MAX_SPRITE_SIDE,
    SHEETS,
    Excluded,
    excluded_row,
    sample_row,
    sprite_name,
    write_sprite,
)

__all__ = ["COLUMNS", "MAX_REJECTS", "STAGES", "load_stage_reports", "write_report"]


# --- stage reports -------------------------------------------------------------------------


def load_stage_reports(
    metrics_dir: Path, annotate_dir: Path, dataset: Path
) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    """Collect what the stages left behind, for `write_report`.

    Returns (metrics, rejects): `metrics[stage]` is `metrics_dir/<stage>.json` for each of
    `STAGES` that exists; `rejects[stage]` the records of the dataset's `rejects.jsonl` whose
    `stage` it is (records without one are ingest's, as in a dataset not yet published), then
    `annotate_dir/<kind>/rejects.jsonl` for each kind the dataset's file does not cover.
    Absent files are left out.
    """
    metrics: dict[str, dict] = {}
    for stage in STAGES:
        path = Path(metrics_dir) / f"{stage}.json"
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: not valid JSON ({exc}); rerun its stage") from exc
            if not isinstance(data, dict):
                raise ValueError(f"{path}: expected a JSON object of metrics, got {type(data)}")
            metrics[stage] = data
    rejects: dict[str, list[dict]] = {}
    sources: list[tuple[str | None, Path]] = [(None, Layout(dataset).rejects_path)]
    if Path(annotate_dir).is_dir():
        sources += [(p.name, p / "rejects.jsonl") for p in sorted(Path(annotate_dir).iterdir())]
    for owner, path in sources:
        if path.is_file() and owner not in rejects:
            try:
                records = list(read_jsonl(path))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: a line is not valid JSON ({exc})") from exc
            if owner is None:  # the dataset's: every stage's records once published
                for record in records:
                    rejects.setdefault(record.get("stage", "ingest"), []).append(record)
                rejects.setdefault("ingest", [])
            else:
                rejects[owner] = records
    return metrics, rejects


def write_report(
    dataset: Path,
    out: Path,
    *,
    metrics: dict[str, dict] | None = None,
    rejects: dict[str, list[dict]] | None = None,
    per_page: int = 24,
    thumb_height: int = 256,
    progress: bool = True,
) -> Path:
    """Write the contact sheet of `dataset` into `out`; returns `out/index.html`.

    `metrics` maps a stage to its flat metrics dict and `rejects` a stage to its reject
    records (see `load_stage_reports`). Samples are every id with any kind, train before
    test, sorted by id. Rerunning replaces the pages and sprites, and removes those a
    previous run left that this one did not write (and the per-sample thumbnails of `thumbs/`
    that reports before the sprites wrote).
    """
    if per_page < 1:
        raise ValueError(f"per_page must be at least 1, got {per_page}")
    if thumb_height < 16:
        raise ValueError(f"thumb_height must be at least 16 px, got {thumb_height}")
    sprite_height = per_page * -(-thumb_height // BLOCK) * BLOCK  # rows in whole blocks
    if sprite_height > MAX_SPRITE_SIDE:
        raise ValueError(
            f"per_page {per_page} x thumb_height {thumb_height} px make a page's thumbnails "
            f"{sprite_height:,} px high, over the {MAX_SPRITE_SIDE:,} px a side of the one "
            "JPEG that holds them; lower per_page or thumb_height"
        )
    dataset, out = Path(dataset), Path(out)
    if not dataset.is_dir():
        raise FileNotFoundError(f"no dataset at {dataset}; pass the root of a VITON-HD layout")
    layout = Layout(dataset)
    metrics, rejects = metrics or {}, rejects or {}
    out.mkdir(parents=True, exist_ok=True)

    excluded = layout.excluded()
    present: dict[str, dict[str, set[str]]] = {
        split: {
            k: {sid for sid in layout.ids(split, k) if (split, sid) not in excluded}
            for k in layout.kinds_present(split)
        }
        for split in layout.splits_present()
    }
    samples = [
        (split, sid)
        for split in SPLITS
        if split in present
        for sid in sorted(set().union(*present[split].values()))
    ]
    pages = max(1, math.ceil(len(samples) / per_page))
    page_of = {s: i // per_page + 1 for i, s in enumerate(samples)}

    written: set[Path] = set()
    gone = _excluded_rows(layout, excluded, rejects, out, per_page, thumb_height, written)
    context = PageContext(
        dataset, out, samples, present, metrics, rejects, page_of, pages, per_page, gone
    )
    bar = tqdm(total=len(samples), desc="report", unit="sample", disable=not progress)
    for page in range(1, pages + 1):  # one page's thumbnails in memory at a time
        rows = []
        for split, sid in samples[(page - 1) * per_page : page * per_page]:
            have = {k for k, ids in present[split].items() if sid in ids}
            rows.append(sample_row(layout, split, sid, have, out, thumb_height))
            bar.update()
        name = sprite_name(page_name(page))
        if write_sprite(out, name, [row.cells for row in rows], "cell"):
            written.add(out / name)
        atomic_write_bytes(out / page_name(page), page_html(context, page, rows).encode())
    bar.close()
    _remove_stale(out, pages, written)
    return out / "index.html"


def _excluded_rows(
    layout: Layout,
    excluded: dict[tuple[str, str], tuple[str, str]],
    rejects: dict[str, list[dict]],
    out: Path,
    per_page: int,
    thumb_height: int,
    written: set[Path],
) -> list[Excluded]:
    """The excluded samples, train before test, sorted by id; their thumbnails (half
    `thumb_height`) in a sprite per `per_page` of them, `sheets/excluded-N.jpg`."""
    order = sorted(excluded.items(), key=lambda e: (SPLITS.index(e[0][0]), e[0][1]))
    rows: list[Excluded] = []
    for start in range(0, len(order), per_page):  # a page's worth in memory, as for samples
        chunk = [
            excluded_row(layout, key, why, rejects, out, max(16, thumb_height // 2))
            for key, why in order[start : start + per_page]
        ]
        name = f"{SHEETS}/excluded-{start // per_page + 1}.jpg"
        if write_sprite(out, name, [row.cells for row in chunk], "shot"):
            written.add(out / name)
        rows += chunk
    return rows


def _remove_stale(out: Path, pages: int, written: set[Path]) -> None:
    """Delete pages and sprites of an earlier run that this run did not write, and the
    thumbnails of `thumbs/` (one JPEG per sample and column) of reports before the sprites."""
    for path in out.glob("page-*.html"):
        number = path.stem.removeprefix("page-")
        if not number.isdigit() or int(number) > pages or int(number) < 2:
            path.unlink()
    for folder in (out / SHEETS, out / "thumbs"):
        if folder.is_dir():
            for path in folder.rglob("*.jpg"):
                if path not in written:
                    path.unlink()
            for sub in [*sorted(folder.rglob("*"), reverse=True), folder]:
                if sub.is_dir() and not any(sub.iterdir()):
                    sub.rmdir()
