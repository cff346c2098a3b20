"""An HTML contact sheet of a dataset in the VITON-HD layout, readable offline.

```
OUT/index.html                  page 1: the summary (stage counts, kinds, rejects), then samples
OUT/page-2.html ...             more samples, `per_page` a page, prev/next links and a page list
OUT/thumbs/SPLIT/ID.COLUMN.jpg  one JPEG thumbnail per sample and column, `thumb_height` px high
```
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

import html
import json
import math
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image
from tqdm import tqdm

from vton.fileio import atomic_write_bytes
from vton.formats import labels, openpose
from vton.formats.images import write_jpeg
from vton.formats.masks import read_mask
from vton.layout import KINDS, SPLITS, Layout, kind, read_jsonl

STAGES = ("ingest", "pose", "parse", "densepose", "cloth_mask", "agnostic", "publish", "validate")
"""The stages whose `metrics/<stage>.json` the summary shows, in pipeline order."""

THUMBS = "thumbs"
THUMB_QUALITY = 85
MAX_REJECTS = 200  # rows of the rejects table; the rest are counted
EXCLUDED_KINDS = ("image", "cloth")  # thumbnails of an excluded sample, where the file exists
PARSE_ALPHA = 0.6  # weight of the parse colours over the photo
MASK_TINT = np.array([214, 40, 150], np.float32)  # agnostic mask over the photo
MASK_ALPHA = 0.55


class _Missing(Exception):
    """A column's kinds are absent for a sample; `kinds` names them."""

    def __init__(self, kinds: list[str]):
        super().__init__(", ".join(kinds))
        self.kinds = kinds


@dataclass
class _Sample:
    """One sample while its thumbnails are made: which kinds it has, and at what size."""

    layout: Layout
    split: str
    id: str
    present: set[str]
    height: int  # of the person image (or of the first kind present)
    width: int
    thumb: tuple[int, int]  # (width, height) of every thumbnail of this sample
    notes: list[str] = field(default_factory=list)  # kinds a cell was drawn without
    _photo: np.ndarray | None = field(default=None, repr=False)

    def path(self, kind_name: str) -> Path:
        return self.layout.path(self.split, kind_name, self.id)

    def need(self, *kinds: str) -> None:
        absent = [k for k in kinds if k not in self.present]
        if absent:
            raise _Missing(absent)

    def resized(self, kind_name: str) -> np.ndarray:
        """A JPEG/PNG rendering of `kind_name` as (th, tw, 3) uint8 RGB."""
        self.need(kind_name)
        with Image.open(self.path(kind_name)) as img:
            img.draft("RGB", self.thumb)  # JPEG: decode at a reduced scale, much faster
            rgb = img.convert("RGB").resize(self.thumb, Image.Resampling.LANCZOS)
        return np.asarray(rgb, np.uint8)

    def photo(self) -> np.ndarray:
        if self._photo is None:
            self._photo = self.resized("image")
        return self._photo

    def label_map(self, kind_name: str) -> np.ndarray:
        """A parse PNG as (th, tw) VITON ids, resized by nearest neighbour."""
        self.need(kind_name)
        ids = labels.read_parse(self.path(kind_name))
        return np.asarray(Image.fromarray(ids).resize(self.thumb, Image.Resampling.NEAREST))

    def mask(self, kind_name: str) -> np.ndarray:
        self.need(kind_name)
        grey = Image.fromarray(read_mask(self.path(kind_name)).astype(np.uint8) * 255)
        return np.asarray(grey.resize(self.thumb, Image.Resampling.BILINEAR)) >= 128


# --- the columns ---------------------------------------------------------------------------


def _blend(base: np.ndarray, top: np.ndarray, where: np.ndarray, alpha: float) -> np.ndarray:
    out = base.astype(np.float32)
    out[where] = (1 - alpha) * out[where] + alpha * np.asarray(top, np.float32)[where]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _person_parse(s: _Sample) -> np.ndarray:
    if "image" not in s.present and "parse" not in s.present:
        raise _Missing(["image", "parse"])
    if "parse" not in s.present:
        s.notes.append("parse")
        return s.photo()
    ids = s.label_map("parse")
    if "image" not in s.present:
        s.notes.append("image")
        return labels.colorize(ids)
    return _blend(s.photo(), labels.colorize(ids), ids > 0, PARSE_ALPHA)


def _skeleton(s: _Sample) -> np.ndarray:
    if "pose_json" not in s.present and "pose_img" not in s.present:
        raise _Missing(["pose_json", "pose_img"])
    tw, th = s.thumb
    if "pose_json" in s.present:
        body = openpose.read_keypoints(s.path("pose_json")).copy()
        body[:, 0] *= tw / s.width
        body[:, 1] *= th / s.height
        drawn = openpose.render_skeleton(body, th, tw, thickness=max(1, round(min(th, tw) / 80)))
    else:  # only the rendering: composite its coloured strokes
        s.notes.append("pose_json")
        drawn = s.resized("pose_img")
    base = s.photo() // 2 if "image" in s.present else np.zeros_like(drawn)
    return np.where((drawn.max(-1) > 24)[..., None], drawn, base)


def _as_is(kind_name: str) -> Callable[[_Sample], np.ndarray]:
    return lambda s: s.resized(kind_name)


def _parse_agnostic(s: _Sample) -> np.ndarray:
    return labels.colorize(s.label_map("parse_agnostic"))


def _agnostic_mask(s: _Sample) -> np.ndarray:
    mask = s.mask("agnostic_mask")
    if "image" not in s.present:
        return np.repeat(mask[..., None].astype(np.uint8) * 255, 3, -1)
    tint = np.broadcast_to(MASK_TINT, (*mask.shape, 3))
    return _blend(s.photo(), tint, mask, MASK_ALPHA)


def _cloth_mask(s: _Sample) -> np.ndarray:
    return np.repeat(s.mask("cloth_mask")[..., None].astype(np.uint8) * 255, 3, -1)


@dataclass(frozen=True)
class Column:
    key: str  # file-name part of its thumbnails
    title: str
    kinds: tuple[str, ...]  # what it shows (the file a click on the thumbnail opens first)
    render: Callable[[_Sample], np.ndarray]


COLUMNS: tuple[Column, ...] = (
    Column("parse", "photo + parse", ("image", "parse"), _person_parse),
    Column("pose", "pose", ("pose_json", "pose_img", "image"), _skeleton),
    Column("densepose", "DensePose", ("densepose",), _as_is("densepose")),
    Column("agnostic", "agnostic", ("agnostic",), _as_is("agnostic")),
    Column("parse_agnostic", "parse agnostic", ("parse_agnostic",), _parse_agnostic),
    Column("agnostic_mask", "agnostic mask", ("agnostic_mask", "image"), _agnostic_mask),
    Column("cloth", "cloth", ("cloth",), _as_is("cloth")),
    Column("cloth_mask", "cloth mask", ("cloth_mask",), _cloth_mask),
)


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
    sources = [(None, Layout(dataset).rejects_path)]
    if Path(annotate_dir).is_dir():
        sources += [(p.name, p / "rejects.jsonl") for p in sorted(Path(annotate_dir).iterdir())]
    for stage, path in sources:
        if path.is_file() and stage not in rejects:
            try:
                records = list(read_jsonl(path))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: a line is not valid JSON ({exc})") from exc
            if stage is None:  # the dataset's: every stage's records once published
                for record in records:
                    rejects.setdefault(record.get("stage", "ingest"), []).append(record)
                rejects.setdefault("ingest", [])
            else:
                rejects[stage] = records
    return metrics, rejects


# --- the report ----------------------------------------------------------------------------


@dataclass
class _Row:
    split: str
    id: str
    cells: list[str]  # HTML of each column's cell
    missing: list[str]
    thumb_width: int


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
    test, sorted by id. Rerunning replaces the pages and thumbnails, and removes those a
    previous run left that this one did not write.
    """
    if per_page < 1:
        raise ValueError(f"per_page must be at least 1, got {per_page}")
    if thumb_height < 16:
        raise ValueError(f"thumb_height must be at least 16 px, got {thumb_height}")
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
    rows: list[_Row] = []
    for split, sid in tqdm(samples, desc="report", unit="sample", disable=not progress):
        have = {k for k, ids in present[split].items() if sid in ids}
        rows.append(_sample_row(layout, split, sid, have, out, thumb_height, written))

    gone = [
        _excluded_row(layout, key, why, rejects, out, max(16, thumb_height // 2), written)
        for key, why in sorted(excluded.items(), key=lambda e: (SPLITS.index(e[0][0]), e[0][1]))
    ]
    context = _Context(
        dataset, out, samples, present, metrics, rejects, page_of, pages, per_page, gone
    )
    for page in range(1, pages + 1):
        chunk = rows[(page - 1) * per_page : page * per_page]
        atomic_write_bytes(out / _page_name(page), _page_html(context, page, chunk).encode())
    _remove_stale(out, pages, written)
    return out / "index.html"


def _page_name(page: int) -> str:
    return "index.html" if page == 1 else f"page-{page}.html"


def _remove_stale(out: Path, pages: int, written: set[Path]) -> None:
    """Delete pages and thumbnails of an earlier run that this run did not write."""
    for path in out.glob("page-*.html"):
        number = path.stem.removeprefix("page-")
        if not number.isdigit() or int(number) > pages or int(number) < 2:
            path.unlink()
    thumbs = out / THUMBS
    if thumbs.is_dir():
        for path in thumbs.rglob("*.jpg"):
            if path not in written:
                path.unlink()
        for folder in sorted(thumbs.rglob("*"), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def _sample_size(layout: Layout, split: str, sid: str, have: set[str]) -> tuple[int, int]:
    """(height, width) of the sample: its photo's, else that of the first image kind it has."""
    for name in ("image", *(k for k in KINDS if k not in ("image", "pose_json"))):
        if name in have:
            try:
                with Image.open(layout.path(split, name, sid)) as img:
                    return img.size[1], img.size[0]
            except OSError:
                continue
    return 4, 3  # nothing readable: placeholders at the usual 3:4 aspect


def _sample_row(
    layout: Layout,
    split: str,
    sid: str,
    have: set[str],
    out: Path,
    thumb_height: int,
    written: set[Path],
) -> _Row:
    height, width = _sample_size(layout, split, sid, have)
    thumb = (max(1, round(width * thumb_height / height)), thumb_height)
    sample = _Sample(layout, split, sid, have, height, width, thumb)
    cells, missing = [], []
    for column in COLUMNS:
        aspect = f"{thumb[0]} / {thumb[1]}"
        sample.notes = []
        try:
            rgb = column.render(sample)
        except _Missing as gone:
            missing += [k for k in gone.kinds if k not in missing]
            folders = ", ".join(kind(k).folder for k in gone.kinds)
            cells.append(
                f'<div class="cell ph missing" style="aspect-ratio: {aspect}">'
                f"<b>missing</b><small>{html.escape(folders)}</small></div>"
            )
            continue
        except Exception as exc:  # a broken file is shown, not fatal: this is a QA tool
            message = f"{type(exc).__name__}: {exc}"
            cells.append(
                f'<div class="cell ph error" style="aspect-ratio: {aspect}" '
                f'title="{html.escape(message)}"><b>unreadable</b>'
                f"<small>{html.escape(message[:160])}</small></div>"
            )
            continue
        rel = f"{THUMBS}/{split}/{sid}.{column.key}.jpg"
        path = out / rel
        write_jpeg(path, rgb, quality=THUMB_QUALITY)
        written.add(path)
        source = next(k for k in column.kinds if k in have)
        href = os.path.relpath(layout.path(split, source, sid), out)
        title = f"{sid} · {column.title} · {kind(source).folder}"
        tag = ""
        if sample.notes:
            missing += [k for k in sample.notes if k not in missing]
            folders = ", ".join(kind(k).folder for k in sample.notes)
            names = ", ".join(k.replace("_", " ") for k in sample.notes)
            tag = (
                f'<span class="tag missing" title="missing: {html.escape(folders)}">'
                f"no {html.escape(names)}</span>"
            )
        cells.append(
            f'<a class="cell" href="{_url(href)}" title="{html.escape(title)}">'
            f'<img src="{_url(rel)}" width="{thumb[0]}" height="{thumb[1]}" '
            f'alt="{html.escape(column.title)} of {html.escape(sid)}">{tag}</a>'
        )
    return _Row(split, sid, cells, missing, thumb[0])


@dataclass
class _Excluded:
    split: str
    id: str
    stage: str
    reason: str
    detail: str
    cells: list[str]  # HTML of a thumbnail (or placeholder) per `EXCLUDED_KINDS`


def _excluded_row(
    layout: Layout,
    key: tuple[str, str],
    why: tuple[str, str],
    rejects: dict[str, list[dict]],
    out: Path,
    thumb_height: int,
    written: set[Path],
) -> _Excluded:
    """An excluded sample: its stage and reason (the detail from that stage's rejects) and
    a thumbnail of each of `EXCLUDED_KINDS` it has."""
    (split, sid), (stage, reason) = key, why
    record = next((r for r in rejects.get(stage, []) if (r.get("split"), r.get("id")) == key), {})
    detail = record.get("detail", "")
    have = {k for k in EXCLUDED_KINDS if layout.path(split, k, sid).is_file()}
    height, width = _sample_size(layout, split, sid, have)
    thumb = (max(1, round(width * thumb_height / height)), thumb_height)
    sample = _Sample(layout, split, sid, have, height, width, thumb)
    cells = []
    for kind_name in EXCLUDED_KINDS:
        if kind_name not in have:
            cells.append(
                f'<span class="ph missing">no {html.escape(kind(kind_name).folder)}</span>'
            )
            continue
        rel = f"{THUMBS}/{split}/{sid}.excluded-{kind_name}.jpg"
        try:
            write_jpeg(out / rel, sample.resized(kind_name), quality=THUMB_QUALITY)
        except Exception as exc:  # a broken file is shown, not fatal: this is a QA tool
            cells.append(f'<span class="ph error">{html.escape(type(exc).__name__)}</span>')
            continue
        written.add(out / rel)
        href = os.path.relpath(layout.path(split, kind_name, sid), out)
        cells.append(
            f'<a href="{_url(href)}"><img src="{_url(rel)}" width="{thumb[0]}" '
            f'height="{thumb[1]}" alt="{kind_name} of {html.escape(sid)}"></a>'
        )
    detail = detail if isinstance(detail, str) else json.dumps(detail)
    return _Excluded(split, sid, stage, reason, detail, cells)


def _url(relative: str) -> str:
    return quote(Path(relative).as_posix(), safe="/")


# --- HTML ----------------------------------------------------------------------------------


@dataclass
class _Context:
    dataset: Path
    out: Path
    samples: list[tuple[str, str]]
    present: dict[str, dict[str, set[str]]]
    metrics: dict[str, dict]
    rejects: dict[str, list[dict]]
    page_of: dict[tuple[str, str], int]
    pages: int
    per_page: int
    excluded: list[_Excluded] = field(default_factory=list)


CSS = """
:root { --fg: #1d2330; --muted: #667085; --line: #e3e6ec; --bg: #f6f7f9; --card: #fff;
  --accent: #2f5bd3; --bad: #c0352b; --bad-bg: #fdf0ef; --warn-bg: #fff7e6; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
main { max-width: var(--sheet-width); margin: 0 auto; padding: 0 16px 32px; }
header.top { background: #1d2330; color: #fff; padding: 14px 0; }
header.top .in { max-width: var(--sheet-width); margin: 0 auto; padding: 0 16px; }
header.top h1 { margin: 0; font-size: 20px; font-weight: 600; }
header.top p { margin: 2px 0 0; color: #c6cbd6; font-size: 13px; }
h2 { font-size: 16px; margin: 22px 0 8px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: 12.5px; }
nav.pager { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; margin: 14px 0; }
nav.pager a, nav.pager span { padding: 3px 9px; border-radius: 6px; border: 1px solid var(--line);
  background: var(--card); min-width: 32px; text-align: center; }
nav.pager .current { background: var(--accent); color: #fff; border-color: var(--accent); }
nav.pager .disabled { color: #b4bac6; }
nav.pager .gap { border: none; background: none; min-width: 0; }
nav.pager .jump { margin-left: auto; border: none; background: none; color: var(--muted); }
table { border-collapse: collapse; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; overflow: hidden; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { background: #eef0f4; font-weight: 600; font-size: 12.5px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.bad, .other .bad { color: var(--bad); font-weight: 600; }
td.short { background: var(--warn-bg); color: var(--bad); }
td.detail { max-width: 640px; overflow-wrap: anywhere; color: #394150; }
.other { color: var(--muted); font-size: 12px; max-width: 360px; }
.more { color: var(--muted); margin: 6px 0 0; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 11.5px;
  font-weight: 600; color: #fff; background: #6b7280; vertical-align: 1px; }
.badge.train { background: #2f7d4f; } .badge.test { background: #8a4fc2; }
.summary-grid { display: flex; flex-wrap: wrap; gap: 0 28px; align-items: flex-start; }
details.legend { margin: 8px 0; color: var(--muted); }
details.legend summary { cursor: pointer; }
.chips { display: flex; flex-wrap: wrap; gap: 4px 10px; margin-top: 6px; }
.chip { display: inline-flex; align-items: center; gap: 5px; font-size: 12px; color: var(--fg); }
.chip i { width: 12px; height: 12px; border-radius: 3px; border: 1px solid #0002; }
.sheet { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  width: fit-content; max-width: 100%; }
.row { display: grid; gap: 6px; padding: 6px 8px; border-bottom: 1px solid var(--line);
  grid-template-columns: 7.5rem repeat(var(--cols), minmax(0, var(--thumb-width))); }
.row:last-child { border-bottom: none; }
.row:target { background: #fff6cc; }
.row.head { position: sticky; top: 0; z-index: 1; background: #eef0f4; font-weight: 600;
  font-size: 12px; color: #394150; border-radius: 8px 8px 0 0; }
.row.head div { overflow-wrap: break-word; line-height: 1.25; font-size: 11.5px; }
.rid { display: flex; flex-direction: column; gap: 3px; font-size: 12.5px; min-width: 0; }
.rid .mono { overflow-wrap: anywhere; font-weight: 600; }
.rid .gone { color: var(--bad); font-size: 11.5px; }
.cell { display: block; position: relative; min-width: 0; border-radius: 4px; overflow: hidden;
  background: #000; }
.tag { position: absolute; left: 3px; bottom: 3px; right: 3px; padding: 1px 5px;
  border-radius: 4px; background: #c0352be6; color: #fff; font-size: 10.5px; font-weight: 600;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.cell img { display: block; width: 100%; height: auto; }
.ph { display: flex; flex-direction: column; align-items: center; justify-content: center;
  gap: 2px; text-align: center; padding: 4px; background: repeating-linear-gradient(45deg,
  var(--bad-bg), var(--bad-bg) 8px, #fbe3e1 8px, #fbe3e1 16px);
  border: 1px dashed #e3a6a1; color: var(--bad); }
.ph b { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.ph small { font-size: 10.5px; color: #8c3b35; overflow-wrap: anywhere; }
.ph.error { background: var(--warn-bg); border-color: #e0b45c; color: #8a5a00; }
.empty { color: var(--muted); padding: 24px; text-align: center; }
table.excluded td.thumb { padding: 3px; }
table.excluded img { display: block; border-radius: 4px; }
table.excluded .ph { min-width: 72px; min-height: 48px; font-size: 11px; }
footer { color: var(--muted); font-size: 12px; margin-top: 18px; }
"""


def _page_html(ctx: _Context, page: int, rows: list[_Row]) -> str:
    counts = {s: sum(1 for split, _ in ctx.samples if split == s) for s in SPLITS}
    split_text = ", ".join(f"{counts[s]} {s}" for s in SPLITS if counts[s])
    first = (page - 1) * ctx.per_page + 1
    thumb_width = _column_width(rows)
    nav = _pager(ctx, page)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>vton report · {html.escape(ctx.dataset.name)} · page {page} of "
        f"{ctx.pages}</title>",
        f"<style>{CSS}</style></head>",
        f'<body style="--cols: {len(COLUMNS)}; --thumb-width: {thumb_width}px; '
        f'--sheet-width: {max(960, 150 + len(COLUMNS) * (thumb_width + 6) + 48)}px">',
        '<header class="top"><div class="in">',
        f"<h1>Dataset report: {html.escape(ctx.dataset.name)}</h1>",
        f"<p><code>{html.escape(str(ctx.dataset))}</code> · {len(ctx.samples)} samples"
        f"{f' ({split_text})' if split_text else ''} · page {page} of {ctx.pages}</p>",
        "</div></header><main>",
        nav,
    ]
    if page == 1:
        parts.append(_summary_html(ctx))
    parts.append(_legend_html())
    if not rows:
        parts.append('<div class="sheet"><p class="empty">No samples in this dataset.</p></div>')
    for split in SPLITS:
        split_rows = [r for r in rows if r.split == split]
        if not split_rows:
            continue
        index = first + rows.index(split_rows[0])
        parts.append(
            f'<section class="split" id="split-{split}"><h2><span class="badge {split}">'
            f"{split}</span> samples {index}–{index + len(split_rows) - 1} of "
            f"{len(ctx.samples)}</h2>"
        )
        parts.append('<div class="sheet"><div class="row head"><div>sample</div>')
        parts += [f"<div>{html.escape(c.title)}</div>" for c in COLUMNS]
        parts.append("</div>")
        for row in split_rows:
            gone = ""
            if row.missing:
                gone = f'<span class="gone">missing {len(row.missing)} kind'
                gone += f"{'s' if len(row.missing) > 1 else ''}</span>"
            parts.append(
                f'<div class="row" id="{_anchor(row.split, row.id)}"><div class="rid">'
                f'<span class="mono">{html.escape(row.id)}</span>'
                f'<span><span class="badge {row.split}">{row.split}</span></span>{gone}</div>'
                + "".join(row.cells)
                + "</div>"
            )
        parts.append("</div></section>")
    parts += [
        nav,
        "<footer>Written by <code>vton.qa.report</code>. Click a thumbnail to open the "
        "dataset file it shows. Placeholders name the layout folder that lacks the sample."
        "</footer>",
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _column_width(rows: list[_Row]) -> int:
    """The widest thumbnail on the page (px), so columns line up at natural size."""
    return max((row.thumb_width for row in rows), default=192)


def _anchor(split: str, sid: str) -> str:
    return html.escape(f"{split}-{sid}", quote=True)


def _pager(ctx: _Context, page: int) -> str:
    """prev · 1 … 4 5 [6] 7 8 … 20 · next, plus where each split starts."""
    if ctx.pages == 1 and not ctx.samples:
        return ""
    items = []
    if page > 1:
        items.append(f'<a rel="prev" href="{_page_name(page - 1)}">‹ prev</a>')
    else:
        items.append('<span class="disabled">‹ prev</span>')
    shown = sorted({1, ctx.pages, *range(max(1, page - 3), min(ctx.pages, page + 3) + 1)})
    last = 0
    for n in shown:
        if n > last + 1:
            items.append('<span class="gap">…</span>')
        if n == page:
            items.append(f'<span class="current" aria-current="page">{n}</span>')
        else:
            items.append(f'<a href="{_page_name(n)}">{n}</a>')
        last = n
    if page < ctx.pages:
        items.append(f'<a rel="next" href="{_page_name(page + 1)}">next ›</a>')
    else:
        items.append('<span class="disabled">next ›</span>')
    starts = []
    for split in SPLITS:
        first = next((s for s in ctx.samples if s[0] == split), None)
        if first is not None:
            target = f"{_page_name(ctx.page_of[first])}#split-{split}"
            starts.append(f'<a href="{target}">{split}</a>')
    jump = f'<span class="jump">jump to: {" · ".join(starts)}</span>' if starts else ""
    return f'<nav class="pager">{"".join(items)}{jump}</nav>'


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:,.0f}"
    return str(value)


_STAGE_COLUMNS = (
    ("samples", "samples"),
    ("written", "written"),
    ("rejects", "rejects"),
    ("reject_rate", "reject rate"),
)
# How a run went rather than what it made (timings, cache hits): left off the sheet, so its
# bytes are a function of the dataset and data/qa hashes the same in every run of the same
# inputs. They stay in metrics/<stage>.json (`dvc metrics show`).
_RUN_STATE = {"seconds", "images_per_s", "samples_per_s", "cached", "annotated"}


def _summary_html(ctx: _Context) -> str:
    parts = ['<section id="summary">', '<div class="summary-grid"><div>']
    parts.append("<h2>Pipeline stages</h2>")
    if ctx.metrics:
        parts.append('<table class="stages"><thead><tr><th>stage</th><th>backend</th>')
        parts += [f'<th class="num">{title}</th>' for _, title in _STAGE_COLUMNS]
        parts.append("<th>other</th></tr></thead><tbody>")
        order = [s for s in STAGES if s in ctx.metrics]
        order += sorted(s for s in ctx.metrics if s not in STAGES)
        for stage in order:
            parts.append(_stage_row(stage, ctx.metrics[stage]))
        parts.append("</tbody></table>")
    else:
        parts.append('<p class="more">No stage metrics were given.</p>')
    parts.append("</div><div>")
    parts.append(_kinds_html(ctx))
    parts.append("</div></div>")
    parts.append(_excluded_html(ctx))
    parts.append(_rejects_html(ctx))
    parts.append("</section>")
    return "\n".join(parts)


def _stage_row(stage: str, data: dict) -> str:
    used = {key for key, _ in _STAGE_COLUMNS} | {"backend", "source", "annotator", "kind"}
    used |= _RUN_STATE
    values = dict(data)
    backend = values.get("backend", values.get("source"))
    title = f' title="{html.escape(str(values["annotator"]))}"' if "annotator" in values else ""
    cells = [
        f"<td><b>{html.escape(stage)}</b></td>",
        f"<td{title}>{html.escape(_fmt(backend))}</td>",
    ]
    for key, _ in _STAGE_COLUMNS:
        value = values.get(key)
        if key == "reject_rate" and isinstance(value, int | float):
            text = f"{value:.1%}"
        else:
            text = _fmt(value)
        bad = key in ("rejects", "reject_rate") and isinstance(value, int | float) and value > 0
        cells.append(f'<td class="num{" bad" if bad else ""}">{html.escape(text)}</td>')
    other = ", ".join(_other_item(k, v) for k, v in sorted(values.items()) if k not in used)
    cells.append(f'<td class="other">{other}</td>')
    return f'<tr data-stage="{html.escape(stage)}">{"".join(cells)}</tr>'


def _other_item(key: str, value) -> str:
    text = f"{html.escape(str(key))}={html.escape(_fmt(value))}"
    problem = key == "violations" or key.startswith("rejects_")
    if problem and isinstance(value, int | float) and value > 0:
        return f'<b class="bad">{text}</b>'
    return text


def _kinds_html(ctx: _Context) -> str:
    """Per split: how many samples have each kind (short counts highlighted)."""
    if not ctx.present:
        return ""
    parts = ['<h2>Kinds</h2><table class="kinds"><thead><tr><th>folder</th>']
    splits = [s for s in SPLITS if s in ctx.present]
    parts += [f'<th class="num"><span class="badge {s}">{s}</span></th>' for s in splits]
    parts.append("</tr></thead><tbody>")
    totals = {s: sum(1 for split, _ in ctx.samples if split == s) for s in splits}
    for name, k in KINDS.items():
        parts.append(f"<tr><td><code>{html.escape(k.folder)}</code></td>")
        for s in splits:
            n = len(ctx.present[s].get(name, ()))
            short = " short" if n < totals[s] else ""
            parts.append(f'<td class="num{short}" data-kind="{name}">{n} / {totals[s]}</td>')
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def _excluded_html(ctx: _Context) -> str:
    """Every sample left out of the published dataset, with why and what it looked like."""
    parts = [f'<h2 id="excluded">Excluded samples ({len(ctx.excluded)})</h2>']
    if not ctx.excluded:
        parts.append('<p class="more">Every sample is published.</p>')
        return "".join(parts)
    by_stage = Counter(row.stage for row in ctx.excluded)
    parts.append(
        '<p class="more">Left out of the pairs files by the stage that rejected them first: '
        f"{html.escape(', '.join(f'{s}: {n}' for s, n in by_stage.items()))}.</p>"
    )
    parts.append(
        '<table class="excluded"><thead><tr><th>id</th><th>split</th><th>stage</th>'
        "<th>reason</th><th>detail</th>"
        + "".join(f"<th>{html.escape(kind(k).folder)}</th>" for k in EXCLUDED_KINDS)
        + "</tr></thead><tbody>"
    )
    for row in ctx.excluded:
        parts.append(
            f'<tr id="excluded-{_anchor(row.split, row.id)}"><td class="mono">'
            f"{html.escape(row.id)}</td><td>{html.escape(row.split)}</td>"
            f"<td>{html.escape(row.stage)}</td><td><code>{html.escape(row.reason)}</code></td>"
            f'<td class="detail">{html.escape(row.detail)}</td>'
            + "".join(f'<td class="thumb">{cell}</td>' for cell in row.cells)
            + "</tr>"
        )
    parts.append("</tbody></table>")
    return "".join(parts)


def _rejects_html(ctx: _Context) -> str:
    records = [(stage, r) for stage, rs in ctx.rejects.items() for r in rs]
    parts = [f"<h2>Rejects ({len(records)})</h2>"]
    if not records:
        parts.append('<p class="more">No stage rejected anything.</p>')
        return "".join(parts)
    by_stage = ", ".join(f"{stage}: {len(rs)}" for stage, rs in ctx.rejects.items() if rs)
    parts.append(f'<p class="more">{html.escape(by_stage)}</p>')
    parts.append(
        '<table class="rejects"><thead><tr><th>id</th><th>split</th><th>stage</th>'
        "<th>reason</th><th>detail</th></tr></thead><tbody>"
    )
    for stage, record in records[:MAX_REJECTS]:
        sid, split = str(record.get("id", "")), str(record.get("split", ""))
        ident = html.escape(sid)
        if (split, sid) in ctx.page_of:
            target = f"{_page_name(ctx.page_of[(split, sid)])}#{_anchor(split, sid)}"
            ident = f'<a href="{target}">{ident}</a>'
        elif any((row.split, row.id) == (split, sid) for row in ctx.excluded):
            ident = f'<a href="index.html#excluded-{_anchor(split, sid)}">{ident}</a>'
        detail = record.get("detail", "")
        detail = detail if isinstance(detail, str) else json.dumps(detail)
        parts.append(
            f'<tr><td class="mono">{ident}</td><td>{html.escape(split) or "—"}</td>'
            f"<td>{html.escape(stage)}</td>"
            f"<td><code>{html.escape(str(record.get('reason', '')))}</code></td>"
            f'<td class="detail">{html.escape(detail)}</td></tr>'
        )
    parts.append("</tbody></table>")
    if len(records) > MAX_REJECTS:
        parts.append(
            f'<p class="more">… and {len(records) - MAX_REJECTS} more rejects, not listed '
            "(see each stage's rejects.jsonl).</p>"
        )
    return "".join(parts)


def _legend_html() -> str:
    chips = "".join(
        f'<span class="chip"><i style="background: rgb{labels.VITON_COLORS[lab]}"></i>'
        f"{lab.name.lower().replace('_', ' ')}</span>"
        for lab in labels.VitonLabel
    )
    return (
        '<details class="legend"><summary>Parse colours (VITON-HD labels)</summary>'
        f'<div class="chips">{chips}</div></details>'
    )
