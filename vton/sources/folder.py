"""A folder of person photos and a folder of garment photos, normalised to the target size.

Every file in the two folders is considered (hidden files excepted), so a stray non-image
is a counted reject rather than silently skipped. Photos are decoded with
`vton.formats.images.load_photo` (EXIF orientation, colour modes, corrupt data) and fitted
to the target size by padding with white, keeping the aspect.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from vton.config import FolderSource
from vton.formats.images import ImageRejected, fit_to, load_photo
from vton.layout import sample_id
from vton.records import Reject, Sample

NAME = "folder"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def split_of(sid: str, test_fraction: float) -> str:
    """Deterministic split from the id alone, so adding photos never moves old ones."""
    bucket = int.from_bytes(hashlib.sha256(sid.encode()).digest()[:8], "big") / 2**64
    return "test" if bucket < test_fraction else "train"


def _pairs(persons: list[Path], garments: list[Path], cfg: FolderSource):
    """Yield (person path, garment path or None, id)."""
    if cfg.pairing == "sorted":
        for k, person in enumerate(persons):
            yield person, garments[k] if k < len(garments) else None, sample_id(person.stem)
        return
    by_stem: dict[str, Path] = {}
    for g in garments:
        by_stem.setdefault(g.stem, g)
    for person in persons:
        yield person, by_stem.get(person.stem), sample_id(person.stem)


def iter_samples(
    cfg: FolderSource, height: int, width: int, base: Path | None = None
) -> Iterator[Sample | Reject]:
    """Yield a sample per usable person/garment pair and a reject for everything else."""
    folders = []
    for key in ("persons", "garments"):
        value = getattr(cfg, key)
        if not value:
            raise ValueError(f"data.folder.{key} is empty: set it to a folder of photos")
        path = Path(value)
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_dir():
            raise FileNotFoundError(f"data.folder.{key} {path} is not a folder")
        folders.append(path)
    persons, garments = _files(folders[0]), _files(folders[1])
    if not persons:
        raise FileNotFoundError(f"data.folder.persons {folders[0]} holds no files")
    seen: set[str] = set()
    for person, garment, sid in _pairs(persons, garments, cfg):
        origin = str(person)
        if sid in seen:
            yield Reject(
                sid,
                origin,
                "duplicate_id",
                f"{person.name} maps to id {sid!r} "
                "which another file already uses; rename one of them",
                NAME,
            )
            continue
        seen.add(sid)
        if garment is None:
            how = "the same file name" if cfg.pairing == "by_name" else "a garment at its rank"
            yield Reject(
                sid, origin, "no_garment", f"no garment photo with {how} in {folders[1]}", NAME
            )
            continue
        photos = {}
        try:
            for role, path in (("person", person), ("garment", garment)):
                photos[role] = load_photo(
                    path, min_side=cfg.min_side, max_pixels=cfg.max_pixels, convert=cfg.convert
                )
        except ImageRejected as exc:
            bad = garment if "person" in photos else person
            yield Reject(sid, str(bad), exc.reason, f"{role} photo: {exc.detail}", NAME)
            continue
        person_rgb, person_fit = fit_to(photos["person"].rgb, height, width)
        cloth_rgb, cloth_fit = fit_to(photos["garment"].rgb, height, width)
        yield Sample(
            id=sid,
            split=split_of(sid, cfg.test_fraction),
            person=person_rgb,
            cloth=cloth_rgb,
            source=NAME,
            origin=origin,
            provenance={
                "person": str(person),
                "garment": str(garment),
                "person_mode": photos["person"].source_mode,
                "garment_mode": photos["garment"].source_mode,
                "conversions": photos["person"].conversions + photos["garment"].conversions,
                "person_fit": [round(v, 6) for v in person_fit],
                "garment_fit": [round(v, 6) for v in cloth_fit],
            },
        )
