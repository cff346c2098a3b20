"""Per-sample agnostic category (`agnostic.category: auto`): a DressCode import's lower-body
and dress samples get their own masks through the real annotation path, an explicit
category forces one, and a changed category misses the runner's cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vton.annotate.agnostic import make_agnostic
from vton.annotate.agnostic_categories import CATALOG_CATEGORIES, sample_category
from vton.annotate.items import annotate_dataset, catalog_attributes
from vton.config import parse_params
from vton.formats import labels, masks, openpose
from vton.formats.labels import VitonLabel as L
from vton.layout import (
    DressCodeLayout,
    Layout,
    read_catalog,
    read_jsonl,
    write_catalog,
    write_dresscode_pairs,
)
from vton.sources.ingest import ingest
from vton.sources.sample import generate_sample

HEIGHT, WIDTH = 128, 96
# DressCode id -> its category folder; synthetic people wear a top and pants or a skirt
PEOPLE = {"000001": "upper_body", "000002": "lower_body", "000003": "dresses"}


def _dresscode_root(root: Path) -> Path:
    """A DressCode-layout root: one synthetic person per category, with the parse and the
    keypoints DressCode ships (so the reference backend provides them)."""
    layout = DressCodeLayout(root)
    for index, (dc, category) in enumerate(PEOPLE.items(), start=1):
        s = generate_sample(index, HEIGHT, WIDTH, seed=3)
        for file_name, rgb in (("image", s.person), ("cloth", s.cloth)):
            path = layout.path(category, file_name, dc)
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rgb).save(path, quality=95)
        path = layout.path(category, "label_map", dc)
        path.parent.mkdir(parents=True, exist_ok=True)
        labels.write_label_map(
            path, labels.from_viton(s.parse, "dresscode", WIDTH / 2), "dresscode"
        )
        path = layout.path(category, "keypoints", dc)
        path.parent.mkdir(parents=True, exist_ok=True)
        openpose.write_dresscode_keypoints(path, s.pose, HEIGHT, WIDTH)
        write_dresscode_pairs(layout.pairs_path("train", category=category), [(dc, dc)])
    return root


class Project:
    """Ingest of the DressCode root into dataset/ (candidates in ingest/), then the pose
    and parse stages with the reference backend, as `dvc repro` runs them."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.dataset, self.index, self.reference = tmp / "dataset", tmp / "ingest", tmp / "ref"
        root = _dresscode_root(tmp / "dc")
        self.params = self.with_category("auto", root)
        ingest(
            self.params, self.dataset, reference=self.reference, index=self.index, progress=False
        )
        for kind in ("pose", "parse"):
            self.annotate(kind)

    def with_category(self, category: str, root: Path | None = None):
        root = root or self.tmp / "dc"
        return parse_params(
            {
                "base": {"height": HEIGHT, "width": WIDTH},
                "data": {"source": "dresscode", "dresscode": {"root": str(root)}},
                "agnostic": {"category": category},
                "run": {"annotate_workers": 0, "annotate_cache": str(self.tmp / "cache")},
            }
        )

    def annotate(self, kind: str, params=None) -> dict:
        return annotate_dataset(
            kind,
            params or self.params,
            self.dataset,
            self.reference,
            self.tmp / "reports" / kind,
            catalog=self.index / "catalog.csv",
            progress=False,
        )

    def categories(self) -> dict[str, str]:
        """Sample id -> the DressCode category ingest recorded."""
        rows = read_catalog(self.index / "catalog.csv").to_dict("records")
        return {r["id"]: json.loads(r["provenance"])["category"] for r in rows}

    def log(self) -> dict[str, dict]:
        return {r["id"]: r for r in read_jsonl(self.tmp / "reports" / "agnostic" / "log.jsonl")}

    def mask(self, sid: str) -> np.ndarray:
        return masks.read_mask(Layout(self.dataset).path("train", "agnostic_mask", sid))

    def parse(self, sid: str) -> np.ndarray:
        return labels.read_parse(Layout(self.dataset).path("train", "parse", sid))

    def expected(self, sid: str, category: str) -> np.ndarray:
        """The recipe's mask from the dataset's own parse and keypoints."""
        layout = Layout(self.dataset)
        body = openpose.read_keypoints(layout.path("train", "pose_json", sid))
        return make_agnostic(None, self.parse(sid), body, category).mask


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def _covered(mask: np.ndarray, parse: np.ndarray, labels_: tuple[L, ...]) -> float:
    region = np.isin(parse, labels_)
    assert region.sum() > 20, f"the synthetic person wears no {labels_}"
    return float((mask & region).sum() / region.sum())


def test_auto_takes_each_samples_category_from_the_catalog(project: Project) -> None:
    summary = project.annotate("agnostic")
    assert summary["written"] == 3 and summary["rejects"] == 0
    log, by_category = project.log(), {c: s for s, c in project.categories().items()}
    assert sorted(by_category) == ["dresses", "lower_body", "upper_body"]
    for sid, category in project.categories().items():
        provenance = log[sid]["provenance"]
        assert provenance["category"] == category and provenance["category_from"] == "catalog"
        assert np.array_equal(project.mask(sid), project.expected(sid, category)), sid
    upper, lower, dress = (by_category[c] for c in ("upper_body", "lower_body", "dresses"))
    top, bottom = (L.UPPER_CLOTHES,), (L.PANTS, L.SKIRT)
    # upper_body: the top is masked, the pants or skirt stay
    assert _covered(project.mask(upper), project.parse(upper), top) > 0.9
    assert _covered(project.mask(upper), project.parse(upper), bottom) == 0
    # lower_body: the legs' garment is masked, the upper torso is not
    assert _covered(project.mask(lower), project.parse(lower), bottom) > 0.9
    assert _covered(project.mask(lower), project.parse(lower), top) == 0
    # dresses: both
    assert _covered(project.mask(dress), project.parse(dress), top) > 0.9
    assert _covered(project.mask(dress), project.parse(dress), bottom) > 0.9


def test_an_explicit_category_is_forced_on_every_sample(project: Project) -> None:
    project.annotate("agnostic", project.with_category("lower_body"))
    log = project.log()
    for sid in project.categories():
        assert log[sid]["provenance"]["category"] == "lower_body"
        assert log[sid]["provenance"]["category_from"] == "params"
        assert np.array_equal(project.mask(sid), project.expected(sid, "lower_body")), sid


def test_a_changed_category_misses_the_cache(project: Project) -> None:
    first = project.annotate("agnostic")
    assert first["annotated"] == 3
    assert project.annotate("agnostic")["cached"] == 3
    sid = next(s for s, c in project.categories().items() if c == "upper_body")
    before = project.mask(sid)
    # the sample now carries another category (re-ingested from the dresses folder, say)
    catalog = project.index / "catalog.csv"
    rows = read_catalog(catalog).to_dict("records")
    for row in rows:
        if row["id"] == sid:
            row["provenance"] = json.dumps({**json.loads(row["provenance"]), "category": "dresses"})
    write_catalog(catalog, rows)
    again = project.annotate("agnostic")
    assert (again["annotated"], again["cached"]) == (1, 2)
    assert project.log()[sid]["provenance"]["category"] == "dresses"
    after = project.mask(sid)
    assert after.sum() > before.sum() and np.array_equal(after, project.expected(sid, "dresses"))


def test_catalog_categories_map_through_one_table(tmp_path: Path) -> None:
    # DressCode folders and scraped product categories; unknown or absent: upper_body
    assert {k: sample_category("auto", k)[0] for k in ("top", "bottom", "dress")} == {
        "top": "upper_body",
        "bottom": "lower_body",
        "dress": "dresses",
    }
    assert all(sample_category("auto", v) == (v, "catalog") for v in CATALOG_CATEGORIES.values())
    assert sample_category("auto", None) == ("upper_body", "default")
    assert sample_category("auto", "shoes") == ("upper_body", "default")
    assert sample_category("dresses", "top") == ("dresses", "params")
    with pytest.raises(ValueError, match="is not one of upper_body"):
        sample_category("tops", None)
    rows = [
        {
            "id": "a",
            "split": "train",
            "source": "scraped",
            "origin": "",
            "kinds": "",
            "provenance": json.dumps({"category": "bottom", "site": "x"}),
        },
        {
            "id": "b",
            "split": "test",
            "source": "folder",
            "origin": "",
            "kinds": "",
            "provenance": "{}",
        },
    ]
    write_catalog(tmp_path / "catalog.csv", rows)
    found = catalog_attributes(tmp_path / "catalog.csv", ("category",))
    assert found == {("train", "a"): {"category": "bottom"}}
    with pytest.raises(FileNotFoundError, match="run ingest first"):
        catalog_attributes(tmp_path / "absent.csv", ("category",))
