"""The HTML pages of the QA contact sheet: summary, sample rows, pager, inline CSS.

Pages hold inline CSS and relative links only (no scripts, fonts or network), so the report
folder can be copied and opened anywhere. A thumbnail is a cell at its natural size that shows
its part of the page's sprite sheet as a CSS background (`vton.qa.thumbnails.write_sprite`),
so the sheet's columns are as wide as the page's widest thumbnail, and a window narrower than
the sheet scrolls sideways.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from vton.formats import labels
from vton.layout import KINDS, SPLITS, kind
from vton.qa.thumbnails import COLUMNS, EXCLUDED_KINDS, Excluded, Row, cell_html

STAGES = ("ingest", "pose", "parse", "densepose", "cloth_mask", "agnostic", "publish", "validate")
"""The stages whose `metrics/<stage>.json` the summary shows, in pipeline order."""

MAX_REJECTS = 200  # rows of the rejects table; the rest are counted


def page_name(page: int) -> str:
    return "index.html" if page == 1 else f"page-{page}.html"


@dataclass
class PageContext:
    dataset: Path
    out: Path
    samples: list[tuple[str, str]]
    present: dict[str, dict[str, set[str]]]
    metrics: dict[str, dict]
    rejects: dict[str, list[dict]]
    page_of: dict[tuple[str, str], int]
    pages: int
    per_page: int
    excluded: list[Excluded] = field(default_factory=list)


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
  width: fit-content; }
.row { display: grid; gap: 6px; padding: 6px 8px; border-bottom: 1px solid var(--line);
  grid-template-columns: 7.5rem repeat(var(--cols), var(--thumb-width)); }
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
.sprite { background-repeat: no-repeat; }
.ph { display: flex; flex-direction: column; align-items: center; justify-content: center;
  gap: 2px; text-align: center; padding: 4px; background: repeating-linear-gradient(45deg,
  var(--bad-bg), var(--bad-bg) 8px, #fbe3e1 8px, #fbe3e1 16px);
  border: 1px dashed #e3a6a1; color: var(--bad); }
.ph b { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.ph small { font-size: 10.5px; color: #8c3b35; overflow-wrap: anywhere; }
.ph.error { background: var(--warn-bg); border-color: #e0b45c; color: #8a5a00; }
.empty { color: var(--muted); padding: 24px; text-align: center; }
table.excluded td.thumb { padding: 3px; }
table.excluded .shot { display: block; border-radius: 4px; }
table.excluded .ph { min-width: 72px; min-height: 48px; font-size: 11px; }
footer { color: var(--muted); font-size: 12px; margin-top: 18px; }
"""


def page_html(ctx: PageContext, page: int, rows: list[Row]) -> str:
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
                + "".join(cell_html(cell) for cell in row.cells)
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


def _column_width(rows: list[Row]) -> int:
    """The widest thumbnail on the page (px), so columns line up at natural size."""
    return max((row.thumb_width for row in rows), default=192)


def _anchor(split: str, sid: str) -> str:
    return html.escape(f"{split}-{sid}", quote=True)


def _pager(ctx: PageContext, page: int) -> str:
    """prev · 1 … 4 5 [6] 7 8 … 20 · next, plus where each split starts."""
    if ctx.pages == 1 and not ctx.samples:
        return ""
    items = []
    if page > 1:
        items.append(f'<a rel="prev" href="{page_name(page - 1)}">‹ prev</a>')
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
            items.append(f'<a href="{page_name(n)}">{n}</a>')
        last = n
    if page < ctx.pages:
        items.append(f'<a rel="next" href="{page_name(page + 1)}">next ›</a>')
    else:
        items.append('<span class="disabled">next ›</span>')
    starts = []
    for split in SPLITS:
        first = next((s for s in ctx.samples if s[0] == split), None)
        if first is not None:
            target = f"{page_name(ctx.page_of[first])}#split-{split}"
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


def _summary_html(ctx: PageContext) -> str:
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


def _kinds_html(ctx: PageContext) -> str:
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


def _excluded_html(ctx: PageContext) -> str:
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
            + "".join(f'<td class="thumb">{cell_html(cell)}</td>' for cell in row.cells)
            + "</tr>"
        )
    parts.append("</tbody></table>")
    return "".join(parts)


def _rejects_html(ctx: PageContext) -> str:
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
            target = f"{page_name(ctx.page_of[(split, sid)])}#{_anchor(split, sid)}"
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
