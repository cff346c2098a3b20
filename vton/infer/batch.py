"""Many try-ons with one loaded pipeline: pairs from two folders or a pairs file.

A pair that fails (unreadable photo, nobody found, ...) is a reject with its reason in
`rejects.jsonl`; the others go on. Results are named `PERSON__GARMENT.<fmt>` after the
sanitised file stems.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from vton.infer.output import encode, strip

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def safe_stem(name: str, default: str = "image") -> str:
    """A file stem that is a plain name: no folders, no dots, only [A-Za-z0-9_-]."""
    stem = Path(str(name).replace("\\", "/")).name
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    stem = _UNSAFE.sub("_", stem).strip("_-")[:80]
    return stem or default


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of photos")
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )
    if not files:
        raise FileNotFoundError(f"{folder} holds no {'/'.join(sorted(IMAGE_SUFFIXES))} files")
    return files


def folder_pairs(
    persons: Path, garments: Path, pairing: str = "by_name"
) -> list[tuple[Path, Path]]:
    """Pairs of two folders: `by_name` (same file stem; persons without one are an error)
    or `sorted` (i-th person with i-th garment; the counts must agree)."""
    people, clothes = _images(Path(persons)), _images(Path(garments))
    if pairing == "sorted":
        if len(people) != len(clothes):
            raise ValueError(
                f"--pairing sorted needs as many garments as persons: {len(people)} in "
                f"{persons}, {len(clothes)} in {garments}"
            )
        return list(zip(people, clothes, strict=True))
    if pairing != "by_name":
        raise ValueError(f"pairing must be by_name or sorted, got {pairing!r}")
    by_stem = {p.stem: p for p in clothes}
    lonely = [p.name for p in people if p.stem not in by_stem]
    if lonely:
        raise ValueError(
            f"no garment in {garments} has the stem of {', '.join(lonely[:5])}"
            f"{' ...' if len(lonely) > 5 else ''}; rename them or use --pairing sorted"
        )
    return [(p, by_stem[p.stem]) for p in people]


def read_pairs_file(path: Path) -> list[tuple[Path, Path]]:
    """Lines `PERSON GARMENT` (paths, relative to the file's folder); `#` starts a comment."""
    path = Path(path)
    pairs = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(
                f"{path}:{number}: expected 'PERSON GARMENT' (two paths), got {line!r}"
            )
        pairs.append(
            tuple(p if Path(p).is_absolute() else path.parent / p for p in map(Path, parts))
        )
    if not pairs:
        raise ValueError(f"{path} lists no pairs")
    return pairs  # type: ignore[return-value]


def run_batch(
    pipe,
    pairs: list[tuple[Path, Path]],
    out: Path,
    *,
    fmt: str = "png",
    quality: int = 90,
    with_strip: bool = False,
    max_pixels: int = 64_000_000,
    progress: bool = True,
    on_result: Callable[[dict], None] | None = None,
    sampling=None,
) -> dict:
    """Try every pair on with the loaded `pipe`; writes results and rejects.jsonl into `out`.

    Returns the summary: counts, seconds, per-stage mean timings.
    """
    from tqdm import tqdm

    from vton.annotate.base import AnnotationRejected
    from vton.fileio import atomic_write_bytes, atomic_write_text
    from vton.formats.images import ImageRejected, load_photo

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rejects: list[dict] = []
    done = 0
    stage_sums: dict[str, float] = {}
    start = time.perf_counter()
    names = set()
    for person_path, garment_path in tqdm(pairs, desc="try-on", unit="pair", disable=not progress):
        name = f"{safe_stem(person_path.name)}__{safe_stem(garment_path.name)}"
        while name in names:
            name += "_"
        names.add(name)
        record = {"person": str(person_path), "garment": str(garment_path), "name": name}
        try:
            person = load_photo(person_path, max_pixels=max_pixels).rgb
            garment = load_photo(garment_path, max_pixels=max_pixels).rgb
            result = pipe.run(person, garment, sampling)
        except (ImageRejected, AnnotationRejected) as exc:
            record |= {"reason": exc.reason, "detail": exc.detail}
            rejects.append(record)
            continue
        except FileNotFoundError as exc:
            record |= {"reason": "missing_file", "detail": str(exc)}
            rejects.append(record)
            continue
        image = strip(result.images) if with_strip else result.result
        target = out / f"{name}.{'jpg' if fmt == 'jpeg' else fmt}"
        atomic_write_bytes(target, encode(image, fmt, quality))
        for stage, seconds in result.timings.items():
            stage_sums[stage] = stage_sums.get(stage, 0.0) + seconds
        done += 1
        if on_result is not None:
            on_result(record | {"path": str(target), "timings": result.timings})
    atomic_write_text(out / "rejects.jsonl", "".join(json.dumps(r) + "\n" for r in rejects))
    seconds = time.perf_counter() - start
    return {
        "pairs": len(pairs),
        "written": done,
        "rejected": len(rejects),
        "seconds": round(seconds, 3),
        "mean_stage_seconds": {k: round(v / max(done, 1), 4) for k, v in stage_sums.items()},
        "out": str(out),
    }


def tryon_file(
    pipe,
    person: Path,
    garment: Path,
    out: Path,
    *,
    with_strip: bool = False,
    quality: int = 90,
    max_pixels: int = 64_000_000,
    sampling=None,
):
    """One try-on from two files to `out` (format from its suffix); returns the TryOnResult.

    Raises ImageRejected / AnnotationRejected with the reason.
    """
    from vton.formats.images import load_photo
    from vton.infer.output import write_image

    result = pipe.run(
        load_photo(person, max_pixels=max_pixels).rgb,
        load_photo(garment, max_pixels=max_pixels).rgb,
        sampling,
    )
    write_image(out, strip(result.images) if with_strip else result.result, quality)
    return result
