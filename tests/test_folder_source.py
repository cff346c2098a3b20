"""The folder source: bad inputs become counted rejects with reasons; the rest is built."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from vton.config import parse_params
from vton.formats.images import ImageRejected, load_photo, read_rgb
from vton.layout import Layout, read_catalog, read_jsonl
from vton.qa.validate import validate
from vton.sources.ingest import IngestError, ingest


def _photo(width=90, height=120, color=(200, 30, 40)) -> Image.Image:
    img = Image.new("RGB", (width, height), (240, 240, 240))
    img.paste(Image.new("RGB", (width // 2, height // 2), color), (width // 4, height // 4))
    return img


def _jpeg_bytes(img: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", **kwargs)
    return buf.getvalue()


@pytest.fixture
def photo_folders(tmp_path):
    persons, garments = tmp_path / "persons", tmp_path / "garments"
    persons.mkdir()
    garments.mkdir()
    _photo().save(persons / "good_a.jpg")
    _photo(color=(20, 90, 200)).save(persons / "good_b.png")
    # A photo stored landscape with EXIF orientation 6 (display rotated 90 degrees clockwise).
    stored = _photo(width=120, height=90)
    stored.paste(Image.new("RGB", (30, 90), (0, 255, 0)), (0, 0))  # green band on stored left
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(persons / "rotated.jpg", exif=exif)
    _photo().convert("CMYK").save(persons / "cmyk.jpg")
    wide = (np.linspace(0, 65535, 90 * 120).reshape(120, 90)).astype(np.uint16)
    Image.fromarray(wide).save(persons / "deep16.png")
    full = _jpeg_bytes(_photo(200, 300))
    (persons / "corrupt.jpg").write_bytes(full[: len(full) // 2])  # truncated mid-scan
    (persons / "garbage.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg" * 10)
    _photo(2, 2).save(persons / "tiny.png")
    (persons / "notes.txt").write_text("not an image")
    _photo(400, 400).save(persons / "huge.png")
    (persons / "lonely.jpg").write_bytes(_jpeg_bytes(_photo()))  # no garment of that name
    for stem in (
        "good_a",
        "good_b",
        "rotated",
        "cmyk",
        "deep16",
        "corrupt",
        "garbage",
        "tiny",
        "notes",
        "huge",
    ):
        _photo(80, 100, color=(10, 10, 10)).save(garments / f"{stem}.jpg")
    return persons, garments


def _params(persons, garments, **folder):
    return parse_params(
        {
            "base": {"height": 64, "width": 48},
            "data": {
                "source": "folder",
                "max_reject_rate": 0.9,
                "folder": {
                    "persons": str(persons),
                    "garments": str(garments),
                    "test_fraction": 0.0,
                    "max_pixels": 100_000,
                    **folder,
                },
            },
        }
    )


def test_bad_inputs_are_counted_rejects_and_the_rest_is_built(photo_folders, tmp_path):
    out = tmp_path / "dataset"
    summary = ingest(_params(*photo_folders), out, progress=False)
    rejects = {r["id"]: r for r in read_jsonl(Layout(out).rejects_path)}
    assert {k: v["reason"] for k, v in rejects.items()} == {
        "corrupt": "corrupt",
        "garbage": "corrupt",  # JPEG magic, then nonsense
        "tiny": "too_small",
        "notes": "not_an_image",
        "huge": "too_large",
        "lonely": "no_garment",
    }
    assert all(r["detail"] for r in rejects.values())
    assert "2x2" in rejects["tiny"]["detail"]
    assert summary["rejects"] == 6 and summary["samples"] == 5
    assert summary["rejects_not_an_image"] == 1 and summary["rejects_corrupt"] == 2
    layout = Layout(out)
    assert layout.ids("train") == ["cmyk", "deep16", "good_a", "good_b", "rotated"]
    for sid in layout.ids("train"):
        assert read_rgb(layout.path("train", "image", sid)).shape == (64, 48, 3)
    assert validate(out, required=("image", "cloth"), progress=False).ok
    catalog = read_catalog(layout.catalog_path).set_index("id")
    conversions = {
        sid: json.loads(catalog.loc[sid, "provenance"])["conversions"] for sid in catalog.index
    }
    assert conversions["cmyk"] == ["CMYK to RGB"]
    assert conversions["deep16"] and "8-bit" in conversions["deep16"][0]
    assert conversions["rotated"] == ["EXIF orientation 6 applied"]
    assert conversions["good_a"] == []
    assert len(catalog.loc["good_a", "sha256_image"]) == 64


def test_exif_rotation_gives_an_upright_photo(photo_folders):
    persons, _ = photo_folders
    photo = load_photo(persons / "rotated.jpg")
    assert photo.rgb.shape == (120, 90, 3)  # stored 120 wide, 90 high; shown portrait
    # The green band on the stored left edge is at the top after a 90-degree clockwise turn.
    top, bottom = photo.rgb[:10].astype(int), photo.rgb[-10:].astype(int)
    assert top[..., 1].mean() > 200 and top[..., 0].mean() < 60
    assert bottom[..., 1].mean() < 250 and not (bottom[..., 0].mean() < 60)


def test_sixteen_bit_keeps_its_range(photo_folders):
    persons, _ = photo_folders
    photo = load_photo(persons / "deep16.png")
    assert photo.rgb.dtype == np.uint8
    assert photo.rgb.min() <= 2 and photo.rgb.max() >= 253  # full range, not clipped to white


def test_convert_false_rejects_what_would_need_conversion(photo_folders, tmp_path):
    summary = ingest(_params(*photo_folders, convert=False), tmp_path / "d", progress=False)
    rejects = {r["id"]: r for r in read_jsonl(Layout(tmp_path / "d").rejects_path)}
    for sid in ("cmyk", "deep16", "rotated"):
        assert rejects[sid]["reason"] == "needs_conversion"
        assert "convert param" in rejects[sid]["detail"]
    assert summary["samples"] == 2


def test_reject_rate_above_the_limit_fails_after_writing(photo_folders, tmp_path):
    params = _params(*photo_folders)
    params = parse_params(
        {
            "base": {"height": 64, "width": 48},
            "data": {
                "source": "folder",
                "max_reject_rate": 0.1,
                "folder": {
                    "persons": str(photo_folders[0]),
                    "garments": str(photo_folders[1]),
                    "max_pixels": 100_000,
                },
            },
        }
    )
    with pytest.raises(IngestError, match="max_reject_rate"):
        ingest(params, tmp_path / "d", progress=False)
    assert (tmp_path / "d" / "rejects.jsonl").read_text().count("\n") == 6


def test_load_photo_errors_are_typed():
    with pytest.raises(ImageRejected) as info:
        load_photo(b"plain text")
    assert info.value.reason == "not_an_image"


def test_paths_inside_the_project_are_recorded_relative_to_it(photo_folders, tmp_path):
    """The catalog and rejects of one pipeline are the same in every clone of it."""
    persons, garments = photo_folders
    root = persons.parent
    params = _params(persons.relative_to(root), garments.relative_to(root))
    out = tmp_path / "dataset"
    ingest(params, out, base=root, progress=False)
    catalog = read_catalog(Layout(out).catalog_path).set_index("id")
    assert catalog.loc["good_a", "origin"] == str(persons.relative_to(root) / "good_a.jpg")
    provenance = json.loads(catalog.loc["good_a", "provenance"])
    assert not provenance["person"].startswith("/") and not provenance["garment"].startswith("/")
    rejects = list(read_jsonl(Layout(out).rejects_path))
    assert rejects and not any(str(root) in json.dumps(r) for r in rejects)
