"""vton.qa.report: the offline HTML contact sheet, its pages and their sprite sheets,
placeholders and summary, and a real render in headless Chromium."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from annotate_data import sample_dataset
from PIL import Image

from vton.formats.images import read_rgb, write_jpeg
from vton.formats.labels import VitonLabel, read_parse, write_parse
from vton.formats.masks import write_mask
from vton.layout import Layout
from vton.qa.report import COLUMNS, MAX_REJECTS, load_stage_reports, write_report
from vton.qa.thumbnails import THUMB_QUALITY, Thumb, sample_row

THUMB = 96
PER_PAGE = 12
N_TRAIN, N_TEST = 24, 6
WITH_AGNOSTIC = 8  # the first train samples get the agnostic kinds; the rest lack them
NO_PARSE = ("train", "000002_00")  # has agnostic kinds but no parse
WIDE = ("train", "000014_00")  # a square photo (the others are 64x48): page 2's widest thumbnail
BLOCK = 16  # a sprite's grid step, in px

METRICS = {
    "ingest": {
        "source": "sample",
        "samples": 30,
        "rejects": 3,
        "reject_rate": 0.0909,
        "seconds": 0.97,
        "samples_per_s": 30.9,
        "train": 24,
        "test": 6,
    },
    "pose": {
        "kind": "pose",
        "backend": "mediapipe",
        "samples": 30,
        "written": 29,
        "cached": 7,
        "annotated": 23,
        "rejects": 1,
        "reject_rate": 0.0333,
        "seconds": 12.5,
        "images_per_s": 1.84,
        "rejects_no_person": 1,
    },
}
REJECTS = {
    "ingest": [
        {"id": f"bad_{i}", "reason": "too_small", "detail": f"bad_{i}.jpg is 8x8, below 16 px"}
        for i in range(3)
    ],
    "pose": [{"id": "000005_00", "split": "train", "reason": "no_person", "detail": "no <person>"}],
}


def add_agnostic(layout: Layout, split: str, sid: str) -> None:
    """Write agnostic, parse-agnostic and agnostic-mask from the sample's parse (upper body)."""
    parse = read_parse(layout.path(split, "parse", sid))
    upper = np.isin(parse, [VitonLabel.UPPER_CLOTHES, VitonLabel.LEFT_ARM, VitonLabel.RIGHT_ARM])
    rgb = read_rgb(layout.path(split, "image", sid))
    rgb[upper] = 128
    write_jpeg(layout.path(split, "agnostic", sid), rgb)
    write_parse(layout.path(split, "parse_agnostic", sid), np.where(upper, 0, parse))
    write_mask(layout.path(split, "agnostic_mask", sid), upper, rgb=True)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = sample_dataset(tmp_path_factory.mktemp("qa") / "dataset", N_TRAIN, N_TEST)
    layout = Layout(root)
    for sid in layout.ids("train")[:WITH_AGNOSTIC]:
        add_agnostic(layout, "train", sid)
    layout.path(*NO_PARSE[:1], "parse", NO_PARSE[1]).unlink()
    photo = layout.path(*WIDE[:1], "image", WIDE[1])
    write_jpeg(photo, np.asarray(Image.fromarray(read_rgb(photo)).resize((64, 64))))
    return root


@pytest.fixture(scope="module")
def report(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("qa") / "report"
    index = write_report(
        dataset,
        out,
        metrics=METRICS,
        rejects=REJECTS,
        per_page=PER_PAGE,
        thumb_height=THUMB,
        progress=False,
    )
    assert index == out / "index.html"
    return out


def pages(out: Path) -> list[Path]:
    return [out / "index.html", *sorted(out.glob("page-*.html"))]


def rows(page_html: str) -> dict[str, str]:
    """The HTML of each sample row, by anchor ("split-id")."""
    parts = page_html.split('<div class="row" id="')[1:]
    return {p[: p.index('"')]: p for p in parts}


def local_refs(page: Path, attribute: str) -> list[str]:
    return re.findall(rf'{attribute}="([^"#][^"]*)"', page.read_text())


@dataclass
class SpriteCell:
    href: str
    width: int
    height: int
    sprite: str  # URL of the JPEG
    x: int  # the thumbnail's offset in it
    y: int


SPRITE_CELL = re.compile(
    r'<a class="(?:cell|shot) sprite" href="([^"]+)" title="[^"]*" aria-label="[^"]*" '
    r'style="width: (\d+)px; height: (\d+)px; background-image: url\(([^)]+)\); '
    r'background-position: (-?\d+)px (-?\d+)px">'
)


def row_cells(row_html: str) -> list[SpriteCell | None]:
    """A sample row's cells in column order: a thumbnail's place in its sprite, or None for a
    placeholder."""
    found: list[SpriteCell | None] = []
    for cell in re.split(r'(?=<(?:a|div) class="cell[ "])', row_html)[1:]:
        match = SPRITE_CELL.match(cell)
        if match is None:
            assert cell.startswith('<div class="cell ph'), cell[:120]
            found.append(None)
            continue
        href, w, h, sprite, x, y = match.groups()
        found.append(SpriteCell(href, int(w), int(h), sprite, -int(x), -int(y)))
    assert len(found) == len(COLUMNS), row_html[:200]
    return found


def step(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def thumbnail(dataset: Path, out: Path, split: str, sid: str, column: str) -> np.ndarray:
    """What `vton.qa.thumbnails` renders for one cell, as (th, tw, 3) uint8."""
    layout = Layout(dataset)
    have = {k for k in layout.kinds_present(split) if sid in layout.ids(split, k)}
    cell = sample_row(layout, split, sid, have, out, THUMB).cells[
        [c.key for c in COLUMNS].index(column)
    ]
    assert isinstance(cell, Thumb)
    return cell.rgb


# --- structure --------------------------------------------------------------------------------


def test_pages_exist_and_link_to_each_other(report):
    found = pages(report)
    assert [p.name for p in found] == ["index.html", "page-2.html", "page-3.html"]
    names = {p.name for p in found}
    for page in found:
        text = page.read_text()
        assert text.startswith("<!doctype html>")
        linked = {unquote(h).split("#")[0] for h in local_refs(page, "href")}
        assert names - {page.name} <= linked, f"{page.name} does not link every other page"
    assert 'rel="next" href="page-2.html"' in (report / "index.html").read_text()
    last = (report / "page-3.html").read_text()
    assert 'rel="prev" href="page-2.html"' in last and 'rel="next"' not in last


def test_offline_and_every_link_resolves(report):
    for page in pages(report):
        text = page.read_text()
        assert "http://" not in text and "https://" not in text, page.name
        assert "<script" not in text and "<link" not in text and 'src="//' not in text
        assert not local_refs(page, "src"), "thumbnails are in the sprite, not <img> files"
        images = set(re.findall(r"url\(([^)]+)\)", text))
        assert images == {f"sheets/{page.stem}.jpg"}, page.name
        for src in images:
            path = report / unquote(src)
            assert path.is_file(), f"{page.name}: sprite {src} does not exist"
            with Image.open(path) as img:
                assert img.format == "JPEG"
        for href in local_refs(page, "href"):
            assert (report / unquote(href).split("#")[0]).exists(), f"{page.name}: {href}"


def test_one_sprite_per_page_in_a_grid_of_its_rows(report):
    files = sorted(p.relative_to(report).as_posix() for p in report.rglob("*") if p.is_file())
    assert files == [
        "index.html",
        "page-2.html",
        "page-3.html",
        "sheets/index.jpg",
        "sheets/page-2.jpg",
        "sheets/page-3.jpg",
    ]
    widths = {}
    for page in pages(report):
        found = [row_cells(r) for r in rows(page.read_text()).values()]
        thumbs = [c for row in found for c in row if c is not None]
        step_x, step_y = step(max(c.width for c in thumbs)), step(THUMB)
        widths[page.name] = step_x
        with Image.open(report / f"sheets/{page.stem}.jpg") as img:
            assert img.size == (len(COLUMNS) * step_x, len(found) * step_y)
        for r, row in enumerate(found):
            for c, cell in enumerate(row):
                if cell is not None:
                    assert (cell.x, cell.y, cell.height) == (c * step_x, r * step_y, THUMB)
                    assert cell.sprite == f"sheets/{page.stem}.jpg"
    # thumbnails are THUMB px high at their sample's aspect: 72 px wide for 64x48, 96 for the
    # square photo on page 2, whose boxes are all 96 px wide
    assert widths == {"index.html": step(72), "page-2.html": 96, "page-3.html": step(72)}
    page2 = rows((report / "page-2.html").read_text())
    assert {c.width for c in row_cells(page2["-".join(WIDE)]) if c} == {96}
    assert {c.width for c in row_cells(page2["train-000013_00"]) if c} == {72}


@pytest.mark.parametrize(
    "sample, column, page",
    [
        (WIDE, "cloth", "page-2.html"),  # a 96 px thumbnail
        (("train", "000013_00"), "pose", "page-2.html"),  # a 72 px one in a 96 px box
        (("test", "000024_00"), "parse", "page-3.html"),
        (NO_PARSE, "agnostic", "index.html"),
    ],
)
def test_a_cell_shows_its_thumbnail_from_the_sprite(dataset, report, sample, column, page):
    split, sid = sample
    found = {k: row_cells(r) for k, r in rows((report / page).read_text()).items()}
    cell = found[f"{split}-{sid}"][[c.key for c in COLUMNS].index(column)]
    assert cell is not None
    expected = thumbnail(dataset, report, split, sid, column)
    assert expected.shape == (cell.height, cell.width, 3)
    sprite = np.asarray(Image.open(report / cell.sprite).convert("RGB"), np.int16)
    step_x = step(max(c.width for row in found.values() for c in row if c))
    error = {
        (x, y): np.abs(sprite[y : y + cell.height, x : x + cell.width] - expected).mean()
        for y in range(0, sprite.shape[0], step(THUMB))
        for x in range(0, sprite.shape[1] - cell.width + 1, step_x)
    }
    # the cell's box is the thumbnail, as faithful as a JPEG of it alone (the boxes are whole
    # JPEG blocks, so no neighbour bleeds in), and no other box of the page is as close
    alone = io.BytesIO()
    Image.fromarray(expected).save(alone, format="JPEG", quality=THUMB_QUALITY)
    baseline = np.abs(np.asarray(Image.open(alone), np.int16) - expected).mean()
    assert error[(cell.x, cell.y)] <= baseline + 0.1, (error[(cell.x, cell.y)], baseline)
    assert min(error, key=error.__getitem__) == (cell.x, cell.y)
    # a click opens the dataset file the column shows
    shown = next(c for c in COLUMNS if c.key == column).kinds[0]
    assert (report / unquote(cell.href)).resolve() == Layout(dataset).path(split, shown, sid)


def test_same_inputs_same_bytes(dataset, report, tmp_path):
    again = tmp_path / "report"  # as deep as `report`: the relative links are the same
    write_report(
        dataset,
        again,
        metrics=METRICS,
        rejects=REJECTS,
        per_page=PER_PAGE,
        thumb_height=THUMB,
        progress=False,
    )
    ours = sorted(p.relative_to(report) for p in report.rglob("*") if p.is_file())
    assert ours == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for path in ours:
        assert (report / path).read_bytes() == (again / path).read_bytes(), path


def test_a_page_too_tall_for_one_jpeg_is_refused(dataset, tmp_path):
    with pytest.raises(ValueError, match="lower per_page or thumb_height"):
        write_report(dataset, tmp_path, per_page=300, thumb_height=256, progress=False)
    assert not list(tmp_path.iterdir())


def test_every_sample_once_split_sections_in_order(report):
    seen = []
    for page in pages(report):
        seen += list(rows(page.read_text()))
    expected = [f"train-{i:06d}_00" for i in range(N_TRAIN)]
    expected += [f"test-{i:06d}_00" for i in range(N_TRAIN, N_TRAIN + N_TEST)]
    assert seen == expected
    last = (report / "page-3.html").read_text()  # samples 25-30: all test
    assert 'id="split-test"' in last and 'id="split-train"' not in last


def test_missing_kinds_are_placeholders(report):
    index = rows((report / "index.html").read_text())
    full = index["train-000000_00"]
    assert None not in row_cells(full) and "missing" not in full
    bare = index["train-000010_00"]  # no agnostic kinds
    assert bare.count('class="cell ph missing"') == 3
    for folder in ("agnostic-v3.2", "image-parse-agnostic-v3.2", "agnostic-mask"):
        assert folder in bare
    keys = [c.key for c in COLUMNS]
    holes = [keys[i] for i, c in enumerate(row_cells(bare)) if c is None]
    assert holes == ["agnostic", "parse_agnostic", "agnostic_mask"]
    assert 'style="width: 72px; height: 96px"' in bare  # a placeholder is a thumbnail's size
    assert "missing 3 kinds" in bare
    # no parse: the photo still shows, tagged; the parse-agnostic column is unaffected
    no_parse = index["-".join(NO_PARSE)]
    assert 'title="missing: image-parse-v3">no parse</span></a>' in no_parse
    assert None not in row_cells(no_parse)


def test_unreadable_file_is_a_cell_not_an_error(dataset, tmp_path):
    broken = tmp_path / "dataset"
    shutil.copytree(dataset, broken)
    Layout(broken).path("test", "densepose", "000024_00").write_bytes(b"not a jpeg")
    out = tmp_path / "report"
    write_report(broken, out, per_page=100, thumb_height=THUMB, progress=False)
    row = rows((out / "index.html").read_text())["test-000024_00"]
    assert 'class="cell ph error"' in row and "unreadable" in row
    assert row_cells(row)[[c.key for c in COLUMNS].index("densepose")] is None


def test_summary_counts_and_rejects(report):
    text = (report / "index.html").read_text()
    stage = re.search(r'<tr data-stage="pose">(.*?)</tr>', text).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", stage)
    assert cells == [
        "<b>pose</b>",
        "mediapipe",
        "30",
        "29",
        "1",
        "3.3%",
        '<b class="bad">rejects_no_person=1</b>',
    ]
    ingest_row = re.search(r'<tr data-stage="ingest">(.*?)</tr>', text).group(1)
    assert "sample" in ingest_row and "test=6, train=24" in ingest_row
    # Timings and cache hits describe the run, not the dataset: not on the sheet (data/qa is
    # a DVC output that hashes the same in every run of the same inputs).
    assert "30.9" not in ingest_row and "12.5" not in stage and "annotated" not in stage
    assert "<h2>Rejects (4)</h2>" in text
    for record in REJECTS["ingest"]:
        assert record["id"] in text and record["detail"] in text
    assert "no &lt;person&gt;" in text  # escaped
    # a reject of a sample on the sheet links to its row
    assert 'href="index.html#train-000005_00">000005_00</a>' in text
    # kinds table: the agnostic folders are short
    assert f'data-kind="agnostic">{WITH_AGNOSTIC} / {N_TRAIN}</td>' in text
    assert "page-2.html" in text and "Pipeline stages" not in (report / "page-2.html").read_text()


def test_rejects_are_capped(dataset, tmp_path):
    many = {"parse": [{"id": f"x{i}", "reason": "r", "detail": "d"} for i in range(250)]}
    write_report(dataset, tmp_path, rejects=many, per_page=100, thumb_height=32, progress=False)
    text = (tmp_path / "index.html").read_text()
    table = text.split('<table class="rejects">')[1].split("</table>")[0]
    assert table.count("<tr>") == MAX_REJECTS + 1  # + the header
    assert f"and {250 - MAX_REJECTS} more rejects" in text


def test_rerun_overwrites_and_removes_stale_files(dataset, tmp_path):
    data = tmp_path / "dataset"
    shutil.copytree(dataset, data)
    out = tmp_path / "report"
    write_report(data, out, per_page=PER_PAGE, thumb_height=THUMB, progress=False)
    assert (out / "page-3.html").exists()
    layout = Layout(data)
    for kind_name in layout.kinds_present("test"):
        layout.path("test", kind_name, "000029_00").unlink(missing_ok=True)
    # what a report before the sprites left: a thumbnail per sample and column
    old = out / "thumbs" / "train"
    old.mkdir(parents=True)
    write_jpeg(old / "000000_00.parse.jpg", np.zeros((THUMB, 72, 3), np.uint8))
    (old / ".keep").write_text("not ours")
    (out / "sheets" / ".keep").write_text("not ours")
    write_report(data, out, per_page=100, thumb_height=THUMB, progress=False)
    assert [p.name for p in pages(out)] == ["index.html"]
    assert sorted(p.name for p in (out / "sheets").iterdir()) == [".keep", "index.jpg"]
    assert [p.name for p in old.iterdir()] == [".keep"]  # only our JPEGs are removed
    assert not list(out.rglob("*.tmp"))
    assert "000029_00" not in (out / "index.html").read_text()


def test_load_stage_reports(dataset, tmp_path):
    metrics_dir, annotate_dir = tmp_path / "metrics", tmp_path / "annotate"
    metrics_dir.mkdir()
    for stage in ("ingest", "pose", "fidelity"):
        (metrics_dir / f"{stage}.json").write_text(json.dumps({"samples": 3}))
    (annotate_dir / "pose").mkdir(parents=True)
    (annotate_dir / "pose" / "rejects.jsonl").write_text(json.dumps(REJECTS["pose"][0]) + "\n")
    (annotate_dir / "pose" / "log.jsonl").write_text("")
    (annotate_dir / "parse").mkdir()  # no rejects file: left out
    metrics, rejects = load_stage_reports(metrics_dir, annotate_dir, dataset)
    assert list(metrics) == ["ingest", "pose"]  # fidelity is no stage of the sheet
    assert rejects == {"ingest": [], "pose": REJECTS["pose"]}
    (metrics_dir / "pose.json").write_text("{")
    with pytest.raises(ValueError, match=r"pose\.json"):
        load_stage_reports(metrics_dir, annotate_dir, dataset)


@pytest.mark.golden
def test_golden_report_has_every_cell(golden, golden_ids, tmp_path):
    write_report(golden, tmp_path, per_page=24, thumb_height=128, progress=False)
    text = (tmp_path / "index.html").read_text()
    found = rows(text)
    assert sorted(found) == [f"test-{i}" for i in golden_ids]
    assert "cell ph" not in text and "tag missing" not in text
    assert all(None not in row_cells(r) for r in found.values())
    with Image.open(tmp_path / "sheets" / "index.jpg") as img:
        assert img.size[1] == len(golden_ids) * 128


# --- a real browser ---------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Path, png: Path, profile: Path) -> np.ndarray:
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--hide-scrollbars",
        f"--screenshot={png}",
        "--window-size=1280,2000",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert png.is_file(), f"chromium wrote no screenshot (rc {done.returncode}): {done.stderr}"
    return np.asarray(Image.open(png).convert("RGB")).astype(np.int16)


def colours(region: np.ndarray) -> int:
    return len(np.unique(region.reshape(-1, 3), axis=0))


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)",
)
def test_renders_in_headless_chromium(report, tmp_path):
    shot = screenshot(report / "index.html", tmp_path / "index.png", tmp_path / "profile")
    assert shot.shape == (2000, 1280, 3)
    assert shot.std() > 25 and colours(shot) > 10_000, "the index page rendered blank"
    # page 2 has no summary: the sheet starts near the top; its thumbnail area is photos,
    # not a flat colour and not broken-image icons (they would be few colours)
    shot = screenshot(report / "page-2.html", tmp_path / "page2.png", tmp_path / "profile")
    sheet = shot[300:1200, 150:1100]
    # (measured: about 90,000 colours rendered, 1,400 with every thumbnail missing)
    assert sheet.std() > 30 and colours(sheet) > 10_000, "thumbnails did not render"
    dark_header = shot[5:40, :, :].mean()
    assert dark_header < 80, "the page header is not styled (CSS not applied?)"
