"""Publishing: samples an annotation stage rejects leave the pairs files, are marked in the
catalog and listed in the rejects; validate, the QA sheet, export and the refresh's sample
count follow; a later run that accepts the sample publishes it again. Real components: the
sample source, the runner with the `reference` and `hrviton` backends, tiny 64x48 images."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image

from vton.annotate.items import annotate_dataset
from vton.annotate.runner import AnnotationFailed
from vton.config import parse_params
from vton.export import export
from vton.layout import (
    EXCLUDED,
    KINDS,
    PUBLISHED,
    SPLITS,
    Layout,
    read_catalog,
    read_jsonl,
    read_pairs,
    split_pairs,
    write_jsonl,
)
from vton.publish import PublishError, publish, read_report
from vton.qa.report import load_stage_reports, write_report
from vton.qa.thumbnails import EXCLUDED_KINDS, Thumb, excluded_row
from vton.qa.validate import validate
from vton.sources.ingest import ingest
from vton.versioning import catalog_ids

STAGES = ("pose", "parse", "densepose", "cloth_mask", "agnostic")
REQUIRED = tuple(KINDS)  # every kind


class Project:
    """A tiny pipeline run in tmp: ingest (candidates in `index`), the annotation stages
    with the reference backend (hrviton for agnostic), publish."""

    def __init__(self, root: Path, max_reject_rate: float = 0.5):
        self.root = root
        self.dataset, self.index = root / "dataset", root / "ingest"
        self.reference, self.reports = root / "reference", root / "annotate"
        self.params = parse_params(
            {
                "base": {"height": 64, "width": 48},
                "data": {"sample": {"n_train": 4, "n_test": 2}},
                "annotate": {"max_reject_rate": max_reject_rate},
                "run": {"annotate_workers": 0, "annotate_cache": str(root / "cache")},
            }
        )
        ingest(
            self.params, self.dataset, reference=self.reference, index=self.index, progress=False
        )

    def annotate(self, *kinds: str) -> dict[str, dict]:
        return {
            kind: annotate_dataset(
                kind, self.params, self.dataset, self.reference, self.reports / kind, progress=False
            )
            for kind in kinds or STAGES
        }

    def publish(self) -> dict:
        return publish(self.index, self.dataset, [self.reports / k for k in STAGES], seed=0)

    def drop_reference(self, kind_name: str, split: str, sid: str) -> Path:
        """Take the source's annotation away, so the reference backend rejects the sample;
        returns where its bytes were kept."""
        path = Layout(self.reference).path(split, kind_name, sid)
        kept = self.root / "kept" / path.name
        kept.parent.mkdir(exist_ok=True)
        path.rename(kept)
        return kept


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def _ids(project: Project, split: str) -> list[str]:
    return Layout(project.dataset).ids(split)


def test_without_rejects_publish_reproduces_ingests_listing_byte_for_byte(project):
    project.annotate()
    summary = project.publish()
    assert summary["candidates"] == summary["published"] == 6 and summary["excluded"] == 0
    assert all(summary[f"excluded_{k}"] == 0 for k in STAGES)
    ours, theirs = Layout(project.dataset), Layout(project.index)
    for split in SPLITS:
        for unpaired in (False, True):
            assert (
                ours.pairs_path(split, unpaired).read_bytes()
                == theirs.pairs_path(split, unpaired).read_bytes()
            )
    catalog = read_catalog(ours.catalog_path)
    assert set(catalog["status"]) == {PUBLISHED} and set(catalog["excluded_by"]) == {""}
    assert validate(project.dataset, required=REQUIRED, progress=False).ok


def test_a_rejected_sample_leaves_the_published_dataset_and_the_run_goes_on(project):
    train = _ids(project, "train")
    bad_cloth, bad_pose = train[1], train[2]
    project.drop_reference("cloth_mask", "train", bad_cloth)
    project.drop_reference("pose_json", "train", bad_pose)
    summaries = project.annotate()
    assert summaries["cloth_mask"]["rejects"] == 1 and summaries["pose"]["rejects"] == 1
    # agnostic reads the keypoints pose did not write: skipped, not its own reject
    agnostic = summaries["agnostic"]
    assert agnostic["rejects"] == 0 and agnostic["skipped"] == 1 and agnostic["written"] == 5
    skipped = [
        r
        for r in read_jsonl(project.reports / "agnostic" / "log.jsonl")
        if r["status"] == "skipped"
    ]
    assert [(r["id"], r["reason"]) for r in skipped] == [(bad_pose, "missing_input")]
    assert "pose_json" in skipped[0]["detail"]

    summary = project.publish()
    assert summary["published"] == 4 and summary["published_train"] == 2
    assert summary["excluded"] == 2 and summary["excluded_pose"] == 1
    assert summary["excluded_cloth_mask"] == 1 and summary["excluded_agnostic"] == 0
    assert summary["excluded_cloth_mask_no_reference"] == 1

    layout = Layout(project.dataset)
    published = [i for i in train if i not in (bad_cloth, bad_pose)]
    assert read_pairs(layout.pairs_path("train")) == [(i, i) for i in published]
    unpaired = read_pairs(layout.pairs_path("train", unpaired=True))
    assert unpaired == split_pairs(published, 0, "train")[1]
    assert {c for _, c in unpaired} == set(published) and all(p != c for p, c in unpaired)
    assert layout.published_ids("train") == published
    assert layout.excluded() == {
        ("train", bad_cloth): ("cloth_mask", "no_reference"),
        ("train", bad_pose): ("pose", "no_reference"),
    }
    catalog = read_catalog(layout.catalog_path).set_index("id")
    assert len(catalog) == 6 and catalog.loc[bad_cloth, "status"] == EXCLUDED
    assert catalog.loc[bad_cloth, "excluded_by"] == "cloth_mask"
    assert catalog.loc[train[0], "status"] == PUBLISHED
    rejects = [(r["stage"], r["id"], r["status"]) for r in read_jsonl(layout.rejects_path)]
    assert rejects == [("pose", bad_pose, "rejected"), ("cloth_mask", bad_cloth, "rejected")]
    assert all("cached" not in r for r in read_jsonl(layout.rejects_path))

    # validate checks the published samples; the excluded ones' files are no orphans
    report = validate(project.dataset, required=REQUIRED, progress=False)
    assert report.ok, report.violations
    assert report.metrics()["samples_train"] == 2 and report.metrics()["excluded_train"] == 2
    assert catalog_ids(project.dataset) == {i for s in SPLITS for i in layout.published_ids(s)}


def test_the_clean_photo_brings_the_sample_back(project):
    sid = _ids(project, "test")[0]
    kept = project.drop_reference("cloth_mask", "test", sid)
    project.annotate()
    assert project.publish()["excluded_cloth_mask"] == 1
    assert sid not in catalog_ids(project.dataset)
    kept.rename(Layout(project.reference).path("test", "cloth_mask", sid))
    assert project.annotate("cloth_mask")["cloth_mask"]["rejects"] == 0
    summary = project.publish()
    assert summary["published"] == 6 and summary["excluded"] == 0
    layout = Layout(project.dataset)
    assert sid in [p for p, _ in read_pairs(layout.pairs_path("test"))]
    assert sid in catalog_ids(project.dataset) and not layout.excluded()


def test_a_skip_without_an_upstream_reject_is_the_exclusion(project):
    sid = _ids(project, "train")[0]
    project.annotate("pose", "parse", "densepose", "cloth_mask")
    Layout(project.dataset).path("train", "parse", sid).unlink()  # lost, not rejected
    project.annotate("agnostic")
    summary = project.publish()
    assert summary["excluded"] == 1 and summary["excluded_agnostic_missing_input"] == 1
    (record,) = read_jsonl(Layout(project.dataset).rejects_path)
    assert (record["stage"], record["status"], record["id"]) == ("agnostic", "skipped", sid)


def test_above_max_reject_rate_the_stage_fails(tmp_path):
    project = Project(tmp_path, max_reject_rate=0.2)
    for sid in _ids(project, "train")[:2]:  # 2 of 6: 33 %
        project.drop_reference("cloth_mask", "train", sid)
    with pytest.raises(AnnotationFailed, match=r"max_reject_rate=0\.2"):
        project.annotate("cloth_mask")


def test_a_stage_whose_every_input_is_missing_fails(project):
    with pytest.raises(AnnotationFailed, match="lack the files it reads"):
        project.annotate("agnostic")  # parse and pose have not run


def test_reports_that_disagree_with_the_candidates_are_errors(project):
    project.annotate()
    log = project.reports / "pose" / "log.jsonl"
    lines = list(read_jsonl(log))
    write_jsonl(log, lines[1:])
    with pytest.raises(PublishError, match="rerun pose"):
        project.publish()
    write_jsonl(log, lines)
    write_jsonl(
        project.reports / "parse" / "rejects.jsonl",
        [{"id": "nobody", "split": "train", "reason": "x", "detail": "y"}],
    )
    with pytest.raises(PublishError, match="no candidate"):
        project.publish()
    with pytest.raises(FileNotFoundError, match="report folder"):
        read_report(project.root / "missing")


def test_nothing_left_to_publish_is_an_error(tmp_path):
    project = Project(tmp_path, max_reject_rate=1.0)
    for split in SPLITS:
        for sid in _ids(project, split):
            project.drop_reference("cloth_mask", split, sid)
    project.annotate()
    with pytest.raises(PublishError, match="every one of 6 samples was excluded"):
        project.publish()


def test_qa_sheet_lists_the_excluded_and_export_leaves_them_out(project):
    sid = _ids(project, "train")[3]
    project.drop_reference("cloth_mask", "train", sid)
    project.annotate()
    project.publish()
    _, rejects = load_stage_reports(project.root / "metrics", project.reports, project.dataset)
    assert [r["id"] for r in rejects["cloth_mask"]] == [sid] and rejects["ingest"] == []
    out = project.root / "qa"
    index = write_report(project.dataset, out, rejects=rejects, progress=False)
    page = index.read_text()
    assert "Excluded samples (1)" in page and f'id="excluded-train-{sid}"' in page
    assert "no_reference" in page and "cloth_mask" in page
    assert f'id="train-{sid}"' not in page  # not a sample row
    assert "5 samples" in page
    # its photo and garment: side by side in the excluded samples' sprite, each a link to the
    # dataset file, showing the thumbnail `excluded_row` renders (half the sheet's height)
    assert sorted(p.name for p in (out / "sheets").iterdir()) == ["excluded-1.jpg", "index.jpg"]
    row = page.split(f'id="excluded-train-{sid}"')[1].split("</tr>")[0]
    cells = re.findall(
        r'<a class="shot sprite" href="([^"]+)" [^>]*style="width: (\d+)px; height: (\d+)px; '
        r"background-image: url\(sheets/excluded-1\.jpg\); background-position: "
        r'(-?\d+)px (-?\d+)px">',
        row,
    )
    gone = excluded_row(
        Layout(project.dataset), ("train", sid), ("cloth_mask", "no_reference"), {}, out, 128
    )
    sprite = np.asarray(Image.open(out / "sheets" / "excluded-1.jpg").convert("RGB"), np.int16)
    assert sprite.shape[0] == 128 and len(cells) == len(EXCLUDED_KINDS) == len(gone.cells)
    for (href, w, h, x, y), kind_name, thumb in zip(cells, EXCLUDED_KINDS, gone.cells, strict=True):
        assert isinstance(thumb, Thumb) and thumb.rgb.shape == (int(h), int(w), 3)
        assert (out / unquote(href)).resolve() == Layout(project.dataset).path(
            "train", kind_name, sid
        )
        box = sprite[-int(y) : -int(y) + int(h), -int(x) : -int(x) + int(w)]
        assert np.abs(box - thumb.rgb).mean() < 4
    step = -(-max(int(w) for _, w, *_ in cells) // 16) * 16  # boxes in whole JPEG blocks
    assert [(int(x), int(y)) for *_, x, y in cells] == [(0, 0), (-step, 0)]

    summary = export(project.dataset, project.root / "export", progress=False)
    assert summary["samples"] == 5 and summary["excluded"] == 1
    exported = Layout(project.root / "export")
    assert sid not in exported.ids("train") and len(exported.ids("train")) == 3
    assert sid not in {p for p, _ in read_pairs(exported.pairs_path("train"))}
