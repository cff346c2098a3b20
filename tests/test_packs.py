"""Packs (vton.formats.packs): deterministic zips of a folder, read back and viewed."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from vton.formats import packs


def _tree(root: Path) -> dict[str, bytes]:
    files = {
        "train/image-parse-v3/000001_00.png": b"\x89PNG parse",
        "train/openpose_json/000001_00_keypoints.json": b'{"people": []}',
        "test/cloth-mask/000002_00.jpg": os.urandom(5000),
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def test_same_files_make_the_same_pack_byte_for_byte(tmp_path):
    files = _tree(tmp_path / "a")
    assert packs.write(tmp_path / "a", tmp_path / "a.zip") == 3
    os.utime(tmp_path / "a" / "train/image-parse-v3/000001_00.png", (1, 1))  # times differ
    # the same files given as bytes, in another order: the same pack
    packs.write_members(tmp_path / "b.zip", [(n, d) for n, d in reversed(files.items())])
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:  # a plain zip, members stored
        assert zf.testzip() is None
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
    reader = packs.Reader(tmp_path / "a.zip")
    assert reader.names() == sorted(files)
    assert all(reader.read(n) == d for n, d in files.items())
    assert "train/nothing.png" not in reader
    with pytest.raises(KeyError, match=r"a\.zip has no member"):
        reader.read("train/nothing.png")


def test_duplicate_and_escaping_members_are_refused(tmp_path):
    with pytest.raises(ValueError, match="given twice"):
        packs.write_members(tmp_path / "x.zip", [("a", b"1"), ("a", b"2")])
    assert not (tmp_path / "x.zip").exists()  # atomic: nothing left behind
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("../outside.txt", b"x")
    with pytest.raises(ValueError, match="leaves the folder"):
        packs.extract(tmp_path / "evil.zip", tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists()


def test_view_is_made_once_per_content_and_remade_when_half_made(tmp_path):
    files = _tree(tmp_path / "ref")
    packs.write(tmp_path / "ref" / "train", tmp_path / "train.zip")
    packs.write(tmp_path / "ref" / "test", tmp_path / "test.zip")
    members = {"train": tmp_path / "train.zip", "test": tmp_path / "test.zip"}
    view = packs.view(members, tmp_path / "cache")
    assert {
        p.relative_to(view).as_posix(): p.read_bytes()
        for p in view.rglob("*.*")
        if p.name != ".complete"
    } == files
    stamp = (view / "train/image-parse-v3/000001_00.png").stat().st_mtime_ns
    assert packs.view(members, tmp_path / "cache") == view  # reused, not re-extracted
    assert (view / "train/image-parse-v3/000001_00.png").stat().st_mtime_ns == stamp
    (view / ".complete").unlink()  # a view a killed run left half-made
    assert packs.view(members, tmp_path / "cache") == view
    assert (view / ".complete").is_file()
    packs.write_members(tmp_path / "test.zip", [("cloth-mask/000002_00.jpg", b"other")])
    assert packs.view(members, tmp_path / "cache") != view  # new content, new view
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")] == []
