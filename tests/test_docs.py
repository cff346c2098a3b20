"""The README stays short and true, and the documentation's links resolve.

The README's table of kinds is checked against `vton.layout.KINDS`, `dvc.yaml`, the annotation
registry and the files it names; its pipeline graph against the stages' deps and outs; every
relative link of the README and `docs/` must reach a file, and every `#anchor` a heading of
that file (GitHub's slugs).
"""

from __future__ import annotations

import re
from itertools import pairwise, product
from pathlib import Path

import pytest
import yaml

from vton.annotate.base import ANNOTATION_KINDS
from vton.annotate.registry import BACKENDS
from vton.layout import KINDS, SPLITS

PROJECT = Path(__file__).resolve().parents[1]
README = PROJECT / "README.md"
MAX_README_LINES = 160
DOCS = sorted(
    [
        README,
        *(PROJECT / "docs").glob("*.md"),
        *(PROJECT / d / "README.md" for d in ("scraper", "flows")),
    ]
)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`[^`]*`")
TABLE_HEADING = "## Where each kind comes from"


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def fenced_block(text: str, language: str) -> list[str]:
    """The lines of the first fenced block of `language`."""
    lines = text.splitlines()
    start = lines.index(f"```{language}") + 1
    return lines[start : lines.index("```", start)]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: its text, lowercased, without punctuation but `-` and `_`,
    spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").replace("*", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings, with GitHub's `-1`, `-2` for repeats."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(path.read_text()):
        match = re.match(r"#{1,6} (.+)", line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(path: Path) -> list[str]:
    """The link targets of a Markdown file that are not URLs (code left out)."""
    targets = []
    for line in prose_lines(path.read_text()):
        for target in LINK.findall(CODE_SPAN.sub("", line)):
            if not re.match(r"[a-z][a-z0-9+.-]*:", target):
                targets.append(target)
    return targets


def test_readme_is_short():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines, the limit is {MAX_README_LINES}: move reference "
        "material to docs/ and link it"
    )


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(PROJECT)))
def test_links_resolve(doc: Path):
    broken = []
    for target in relative_links(doc):
        file_part, _, anchor = target.partition("#")
        path = (doc.parent / file_part).resolve() if file_part else doc
        if not path.exists():
            broken.append(f"{target}: no file {path.relative_to(PROJECT)}")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading with anchor #{anchor} in {path.name}")
    assert not broken, f"{doc.relative_to(PROJECT)}: " + "; ".join(broken)


def test_slugs_follow_github():
    assert slug("Refresh on a schedule (`flows/refresh.py`)") == (
        "refresh-on-a-schedule-flowsrefreshpy"
    )
    assert slug("`vton annotate`: photos outside the pipeline") == (
        "vton-annotate-photos-outside-the-pipeline"
    )
    assert slug("Cloth-agnostic kinds, [linked](x.md)") == "cloth-agnostic-kinds-linked"


def kind_table() -> list[list[str]]:
    """The rows of the README's table of kinds, as cells."""
    lines = README.read_text().splitlines()
    start = lines.index(TABLE_HEADING)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("| `"):
            rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    assert rows, f"no table under {TABLE_HEADING!r} in README.md"
    return rows


def code(cell: str) -> list[str]:
    return [span.strip("`") for span in CODE_SPAN.findall(cell)]


def dvc_stages() -> dict:
    return yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]


def test_table_names_every_kind_with_its_folder_and_stage():
    rows = kind_table()
    stages = dvc_stages()
    kinds = [code(row[0])[0] for row in rows]
    assert kinds == list(KINDS), "the table lists the kinds of vton.layout.KINDS, in order"
    for row in rows:
        kind, folder, stage = code(row[0])[0], code(row[1])[0], code(row[2])[0]
        assert folder == KINDS[kind].folder, f"{kind}: folder {folder!r}"
        assert stage in stages, f"{kind}: {stage!r} is not a dvc.yaml stage"
        annotated_by = [k for k, a in ANNOTATION_KINDS.items() if kind in a.outputs]
        assert [stage] == (annotated_by or ["ingest"]), f"{kind}: stage {stage!r}"
        outs = [p for p in stages[stage].get("outs", []) if isinstance(p, str)]
        for split in SPLITS:
            assert f"data/dataset/{split}/{folder}" in outs, f"{stage} does not write {folder}"


def test_table_paths_exist_and_cover_the_backends():
    rows = kind_table()
    missing = [p for row in rows for cell in row[3:] for p in code(cell) if "/" in p]
    missing = [p for p in missing if not (PROJECT / p).exists()]
    assert not missing, f"README.md's table names missing paths: {missing}"
    for row in rows:
        assert all(p.startswith("vton/formats/") for p in code(row[4])), row[0]
    named = {p for row in rows for p in code(row[3])}
    for kind, backends in BACKENDS.items():
        for name, target in backends.items():
            path = target.split(":")[0].replace(".", "/") + ".py"
            if name != "reference":
                assert path in named, f"{kind} backend {name} ({path}) is not in the table"
    assert "`vton/annotate/reference.py`" in README.read_text()


def stage_paths(stage: dict, key: str) -> list[str]:
    """A stage's deps or outs; outs include its metrics and plots."""
    keys = ["deps"] if key == "deps" else ["outs", "metrics", "plots"]
    paths = []
    for entry in (e for k in keys for e in stage.get(k, [])):
        paths.append(entry if isinstance(entry, str) else next(iter(entry)))
    return paths


def overlap(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def closure(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    closed = set(edges)
    while True:
        more = {(a, d) for (a, b), (c, d) in product(closed, closed) if b == c} - closed
        if not more:
            return closed
        closed |= more


def test_readme_pipeline_graph_is_dvcs():
    stages = dvc_stages()
    dvc_edges = {
        (a, b)
        for a, b in product(stages, stages)
        if a != b
        and any(
            overlap(d, o)
            for d in stage_paths(stages[b], "deps")
            for o in stage_paths(stages[a], "outs")
        )
    }
    readme_edges = set()
    for line in fenced_block(README.read_text(), "mermaid")[1:]:
        groups = [[n.strip() for n in part.split("&")] for part in line.split("-->")]
        for left, right in pairwise(groups):
            readme_edges |= set(product(left, right))
    assert {n for edge in readme_edges for n in edge} == set(stages)
    assert closure(readme_edges) == closure(dvc_edges), (
        "README.md's pipeline graph and dvc.yaml's stages connect different stages"
    )
