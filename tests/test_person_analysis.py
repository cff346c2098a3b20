"""One MediaPipe person analysis per photo, shared by the pose, parse and DensePose stages
through the annotation cache (`vton.annotate.person_analysis`): the same outputs as each backend
running the models itself, one entry per photo, read (not rewritten) by the later stages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from annotate_data import astronaut, hopper, photo_item

from vton.annotate.items import dataset_dest, dataset_items
from vton.annotate.person_analysis import PersonAnalyser, PersonAnalysis, analyse
from vton.annotate.registry import create_annotator
from vton.annotate.runner import run
from vton.config import parse_params
from vton.formats.images import write_jpeg
from vton.layout import Layout

KINDS = ("pose", "parse", "densepose")
OUTPUTS = {"pose": "pose_json", "parse": "parse", "densepose": "densepose"}


def _photos(root: Path) -> Layout:
    """Two person photos and a photo of nobody (a flat grey card) in a dataset's test split."""
    layout = Layout(root)
    for sid, rgb in (
        ("astronaut", astronaut()),
        ("hopper", hopper()),
        ("nobody", np.full((256, 192, 3), 128, np.uint8)),
    ):
        write_jpeg(layout.path("test", "image", sid), rgb)
    return layout


def _section(kind: str):
    return dataclasses.replace(getattr(parse_params({}), kind), backend="mediapipe")


def _run(kind: str, layout: Layout, cache: Path) -> dict:
    items = dataset_items(kind, layout)
    return run(kind, _section(kind), items, dataset_dest(layout), cache, workers=0, progress=False)


def test_three_stages_share_one_analysis_with_the_same_outputs(tmp_path: Path) -> None:
    shared = _photos(tmp_path / "shared")
    alone = _photos(tmp_path / "alone")
    cache = tmp_path / "cache"
    _run("pose", shared, cache)
    entries = sorted(cache.glob("person-mediapipe-*/*/*.npz"))
    assert len(entries) == 3  # the photo of nobody is remembered too
    stamps = [e.stat().st_mtime_ns for e in entries]
    for kind in ("parse", "densepose"):
        summary = _run(kind, shared, cache)
        assert summary["rejects"] == 1  # nobody in the grey card, for every stage
    # read by parse and DensePose, never computed again
    assert [e.stat().st_mtime_ns for e in sorted(entries)] == stamps
    # each stage alone, each with a cache of its own: byte-identical outputs
    for kind in KINDS:
        _run(kind, alone, tmp_path / f"cache-{kind}")
        for sid in ("astronaut", "hopper"):
            a = shared.path("test", OUTPUTS[kind], sid).read_bytes()
            b = alone.path("test", OUTPUTS[kind], sid).read_bytes()
            assert a == b, (kind, sid)


def test_analysis_round_trip_and_a_broken_entry(tmp_path: Path) -> None:
    analyser = PersonAnalyser(tmp_path)
    rgb = astronaut()
    first = analyser.analyse(rgb)
    assert first.landmarks is not None and first.silhouette is not None
    assert first.silhouette.shape == rgb.shape[:2] and first.silhouette.dtype == bool
    assert 0.05 < first.silhouette.mean() < 0.9 and first.people == 1
    again = analyser.analyse(rgb)
    assert (analyser.computed, analyser.reused) == (1, 1)
    np.testing.assert_array_equal(again.landmarks, first.landmarks)
    np.testing.assert_array_equal(again.silhouette, first.silhouette)
    # the same as the models run directly
    direct = analyse(analyser.models, rgb)
    np.testing.assert_array_equal(direct.landmarks, first.landmarks)
    np.testing.assert_array_equal(direct.silhouette, first.silhouette)
    # a truncated entry (a killed writer on a filesystem without atomic rename) is redone
    entry = analyser.entry(rgb)
    assert entry is not None and entry.stat().st_size < 50_000
    entry.write_bytes(entry.read_bytes()[:100])
    redone = analyser.analyse(rgb)
    assert analyser.computed == 2
    np.testing.assert_array_equal(redone.silhouette, first.silhouette)
    # another image of the same pixels' size is another entry
    assert analyser.entry(rgb[::-1].copy()) != entry
    empty = PersonAnalysis.from_bytes(PersonAnalysis(None, None, []).to_bytes())
    assert empty.landmarks is None and empty.people == 1
    analyser.close()


@pytest.mark.parametrize("kind", KINDS)
def test_without_a_store_nothing_is_written(kind: str, tmp_path: Path, monkeypatch) -> None:
    """A backend used outside the runner (the API, `vton tryon`) keeps no analyses."""
    monkeypatch.chdir(tmp_path)
    annotator = create_annotator(kind, _section(kind))
    annotator.load()
    sample = annotator.annotate(photo_item(astronaut()))
    annotator.close()
    assert getattr(sample, kind) is not None
    assert not list(tmp_path.rglob("*.npz"))
