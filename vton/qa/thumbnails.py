"""The thumbnails of the QA contact sheet, and the sprite sheets that hold them.

A column (`COLUMNS`) renders some kinds of a sample as (th, tw, 3) uint8 RGB: the photo with
its parse overlaid, the skeleton over the photo, the DensePose rendering, the agnostic image,
the agnostic parse, the agnostic mask over the photo, the cloth and the cloth mask. A kind the
sample lacks becomes a "missing" placeholder naming its folder; a file that cannot be read an
"unreadable" placeholder with the error. `sample_row` and `excluded_row` render a row's
thumbnails in memory; `write_sprite` packs the rows of one page into one JPEG (a grid: a row
per sample, a column per thumbnail) and replaces each thumbnail by the HTML of its cell, which
shows the JPEG as its background at the thumbnail's offset. So the report's file count grows
by page, not by sample.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image

from vton.formats import labels, openpose
from vton.formats.images import write_jpeg
from vton.formats.masks import read_mask
from vton.layout import KINDS, Layout, kind

SHEETS = "sheets"  # the sprite JPEGs, in the report folder
THUMB_QUALITY = 85
BLOCK = 16  # a sprite's grid steps in whole JPEG blocks (MCUs at 4:2:0), so no thumbnail's
# compression blocks reach into its neighbour's
MAX_SPRITE_SIDE = 65_500  # JPEG's limit is 65,535 px a side
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


@dataclass
class Thumb:
    """A rendered thumbnail, and the dataset file a click on it opens."""

    rgb: np.ndarray  # (th, tw, 3) uint8 RGB
    href: str  # URL of the file, relative to the report folder
    title: str
    label: str  # what it shows, for screen readers
    tag: str = ""  # HTML laid over it (the kinds it was drawn without)


Cell = Thumb | str
"""A row's cell: a thumbnail, or the HTML of its placeholder."""


@dataclass
class Row:
    split: str
    id: str
    cells: list[Cell]  # one per column
    missing: list[str]
    thumb_width: int


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


def sample_row(
    layout: Layout,
    split: str,
    sid: str,
    have: set[str],
    out: Path,
    thumb_height: int,
) -> Row:
    """Render the thumbnails of one sample, `thumb_height` px high at its aspect; `out` is the
    report folder (links are relative to it)."""
    height, width = _sample_size(layout, split, sid, have)
    thumb = (max(1, round(width * thumb_height / height)), thumb_height)
    sample = _Sample(layout, split, sid, have, height, width, thumb)
    cells: list[Cell] = []
    missing: list[str] = []
    size = f"width: {thumb[0]}px; height: {thumb[1]}px"
    for column in COLUMNS:
        sample.notes = []
        try:
            rgb = column.render(sample)
        except _Missing as gone:
            missing += [k for k in gone.kinds if k not in missing]
            folders = ", ".join(kind(k).folder for k in gone.kinds)
            cells.append(
                f'<div class="cell ph missing" style="{size}">'
                f"<b>missing</b><small>{html.escape(folders)}</small></div>"
            )
            continue
        except Exception as exc:  # a broken file is shown, not fatal: this is a QA tool
            message = f"{type(exc).__name__}: {exc}"
            cells.append(
                f'<div class="cell ph error" style="{size}" '
                f'title="{html.escape(message)}"><b>unreadable</b>'
                f"<small>{html.escape(message[:160])}</small></div>"
            )
            continue
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
        cells.append(Thumb(rgb, _url(href), title, f"{column.title} of {sid}", tag))
    return Row(split, sid, cells, missing, thumb[0])


@dataclass
class Excluded:
    split: str
    id: str
    stage: str
    reason: str
    detail: str
    cells: list[Cell]  # a thumbnail (or placeholder) per `EXCLUDED_KINDS`


def excluded_row(
    layout: Layout,
    key: tuple[str, str],
    why: tuple[str, str],
    rejects: dict[str, list[dict]],
    out: Path,
    thumb_height: int,
) -> Excluded:
    """An excluded sample: its stage and reason (the detail from that stage's rejects) and
    a thumbnail of each of `EXCLUDED_KINDS` it has."""
    (split, sid), (stage, reason) = key, why
    record = next((r for r in rejects.get(stage, []) if (r.get("split"), r.get("id")) == key), {})
    detail = record.get("detail", "")
    have = {k for k in EXCLUDED_KINDS if layout.path(split, k, sid).is_file()}
    height, width = _sample_size(layout, split, sid, have)
    thumb = (max(1, round(width * thumb_height / height)), thumb_height)
    sample = _Sample(layout, split, sid, have, height, width, thumb)
    cells: list[Cell] = []
    for kind_name in EXCLUDED_KINDS:
        folder = kind(kind_name).folder
        if kind_name not in have:
            cells.append(f'<span class="ph missing">no {html.escape(folder)}</span>')
            continue
        try:
            rgb = sample.resized(kind_name)
        except Exception as exc:  # a broken file is shown, not fatal: this is a QA tool
            cells.append(f'<span class="ph error">{html.escape(type(exc).__name__)}</span>')
            continue
        href = os.path.relpath(layout.path(split, kind_name, sid), out)
        cells.append(Thumb(rgb, _url(href), f"{sid} · {folder}", f"{kind_name} of {sid}"))
    detail = detail if isinstance(detail, str) else json.dumps(detail)
    return Excluded(split, sid, stage, reason, detail, cells)


# --- the sprite sheets ---------------------------------------------------------------------


def sprite_name(page: str) -> str:
    """The sprite of the page file `page` ("index.html" -> "sheets/index.jpg")."""
    return f"{SHEETS}/{Path(page).stem}.jpg"


def write_sprite(out: Path, name: str, grid: Sequence[list[Cell]], css_class: str) -> bool:
    """Pack the thumbnails of `grid` (rows of cells) into the JPEG `out/name`, and replace each
    by the HTML of its cell (an `<a class="{css_class} sprite">` to the dataset file), so the
    pixels are let go. Returns whether there was a thumbnail, hence a JPEG, at all.

    Row r, column c of the grid is the box at (c * step_x, r * step_y) of the JPEG: every box
    has the size of the page's largest thumbnail rounded up to `BLOCK` px, its thumbnail at the
    top-left and black around it. A cell has its thumbnail's size and shows the JPEG as its
    background, shifted by its box's offset (`background-position: -x px -y px`).
    """
    thumbs = [c for row in grid for c in row if isinstance(c, Thumb)]
    if not thumbs:
        return False
    for t in thumbs:
        if t.rgb.dtype != np.uint8 or t.rgb.ndim != 3 or t.rgb.shape[2] != 3:
            raise ValueError(
                f"thumbnail {t.title!r}: expected (th, tw, 3) uint8 RGB, "
                f"got {t.rgb.dtype} {t.rgb.shape}"
            )
    step_x = -(-max(t.rgb.shape[1] for t in thumbs) // BLOCK) * BLOCK
    step_y = -(-max(t.rgb.shape[0] for t in thumbs) // BLOCK) * BLOCK
    width, height = step_x * max(len(row) for row in grid), step_y * len(grid)
    if max(width, height) > MAX_SPRITE_SIDE:
        raise ValueError(
            f"{name}: the page's thumbnails make a {width}x{height} px sprite, over the "
            f"{MAX_SPRITE_SIDE:,} px a side a JPEG can hold; lower the rows a page "
            "(qa.per_page) or the thumbnail height (qa.thumb_height)"
        )
    sheet = np.zeros((height, width, 3), np.uint8)
    url = _url(name)
    for r, row in enumerate(grid):
        for c, cell in enumerate(row):
            if isinstance(cell, str):
                continue
            (th, tw), x, y = cell.rgb.shape[:2], c * step_x, r * step_y
            sheet[y : y + th, x : x + tw] = cell.rgb
            row[c] = (
                f'<a class="{css_class} sprite" href="{cell.href}" '
                f'title="{html.escape(cell.title)}" aria-label="{html.escape(cell.label)}" '
                f'style="width: {tw}px; height: {th}px; background-image: url({url}); '
                f'background-position: {-x}px {-y}px">{cell.tag}</a>'
            )
    write_jpeg(out / name, sheet, quality=THUMB_QUALITY)
    return True


def cell_html(cell: Cell) -> str:
    """The HTML of a cell that `write_sprite` has placed (or of a placeholder)."""
    if isinstance(cell, Thumb):
        raise TypeError(
            f"thumbnail {cell.title!r} was never packed into a sprite: call write_sprite on "
            "its page's rows before writing the page"
        )
    return cell


def _url(relative: str) -> str:
    return quote(Path(relative).as_posix(), safe="/")
