"""The dataset manifest (vton/formats/manifest.py): what the later stages depend on."""

from __future__ import annotations

from pathlib import Path

import pytest

from vton.formats import manifest


def _tree(root: Path) -> None:
    for rel, data in {"train/image/a.jpg": b"aa", "train/cloth/a.jpg": b"c", "x.txt": b""}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def test_it_changes_with_the_bytes_and_not_with_a_remade_file(tmp_path):
    root = tmp_path / "dataset"
    _tree(root)
    first = manifest.build([root, tmp_path / "absent"])
    assert [e.path.removeprefix(root.as_posix()) for e in first] == [
        "/train/cloth/a.jpg",
        "/train/image/a.jpg",
        "/x.txt",
    ]
    assert [e.size for e in first] == [1, 2, 0]
    path = tmp_path / "manifest.tsv"
    manifest.write(path, first)
    assert manifest.read(path) == first

    photo = root / "train" / "image" / "a.jpg"
    photo.unlink()
    photo.write_bytes(b"aa")  # re-made, same bytes (new inode and mtime)
    assert manifest.build([root]) == first
    photo.write_bytes(b"ab")  # hand-edited: same size, other bytes
    assert manifest.build([root]) != first
    assert manifest.of_kinds(root, ("image",)) == [manifest.build([root])[1]]


def test_a_malformed_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "manifest.tsv"
    path.write_text(manifest.HEADER + "a.jpg\t12\n")
    with pytest.raises(ValueError, match=r"manifest.tsv:2: expected PATH<TAB>SIZE<TAB>SHA256"):
        manifest.read(path)
