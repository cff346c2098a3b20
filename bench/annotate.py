"""Annotation throughput per backend at 1024x768, and the cost of an incremental re-run.

For each backend, measured in the same run:
- naive: a plain loop over the images in one process (model loaded once, one image at a
  time, outputs written), the baseline;
- runner: `vton.annotate.runner.run` with its worker processes, cold cache;
- incremental: after 5% new images arrive, the runner's re-run time over the cold run's
  time (target <= 0.1).

Images: the golden VITON-HD photos (mirrored, brightness-shifted and corner-tagged copies,
so each has its own digest) when present, else synthetic people from the sample source.

    python bench/annotate.py [--images 40] [--workers 2] [--backends pose:mediapipe,...]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from vton.annotate.base import KIND_OUTPUTS, create_annotator
from vton.annotate.items import folder_dest, folder_items
from vton.annotate.runner import WorkItem, run
from vton.config import parse_params
from vton.formats.images import load_photo, write_jpeg
from vton.sources.sample import generate_sample
from vton.sources.writer import write_kinds

GOLDEN = Path(__file__).resolve().parents[1].parent / "shared" / "golden" / "vitonhd"


def make_images(folder: Path, count: int, start: int = 0) -> None:
    """Write `count` distinct 1024x768 person photos to `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    photos = sorted((GOLDEN / "test" / "image").glob("*.jpg")) if GOLDEN.is_dir() else []
    for i in range(start, start + count):
        if photos:
            rgb = np.asarray(Image.open(photos[i % len(photos)]).convert("RGB"))
            if (i // len(photos)) % 2:
                rgb = rgb[:, ::-1]
            shift = (i // (2 * len(photos))) % 9 - 4
            rgb = np.clip(rgb.astype(np.int16) + shift, 0, 255).astype(np.uint8)
            rgb[:8, :8] = (i % 256, i // 256 % 256, 0)  # a corner tag: every image is distinct
        else:
            rgb = generate_sample(i, 1024, 768, seed=7).person
        write_jpeg(folder / f"{i:05d}.jpg", np.ascontiguousarray(rgb))


def naive(kind: str, section, items: list[WorkItem], out: Path) -> float:
    """The baseline: load once, then annotate and write one image at a time."""
    annotator = create_annotator(kind, section)
    start = time.perf_counter()
    annotator.load()
    from vton.annotate.base import Item

    dest = folder_dest(out)
    for item in items:
        rgb = load_photo(item.image).rgb
        try:
            result = annotator.annotate(Item(item.id, "", rgb, item.image, {}))
        except Exception:
            continue
        write_kinds(result, lambda k, item=item: dest(k, item), *rgb.shape[:2],
                    only=KIND_OUTPUTS[kind])  # fmt: skip
    return time.perf_counter() - start


def bench(kind: str, backend: str, n_images: int, workers: int) -> None:
    section = dataclasses.replace(getattr(parse_params({}), kind), backend=backend)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_images(tmp / "in", n_images)
        items = folder_items(tmp / "in")
        t_naive = naive(kind, section, items, tmp / "naive")
        start = time.perf_counter()
        first = run(kind, section, items, folder_dest(tmp / "out"), tmp / "cache",
                    workers=workers, progress=False)  # fmt: skip
        t_first = time.perf_counter() - start
        extra = max(1, round(0.05 * n_images))
        make_images(tmp / "in", extra, start=n_images)
        start = time.perf_counter()
        again = run(kind, section, folder_items(tmp / "in"), folder_dest(tmp / "out"),
                    tmp / "cache", workers=workers, progress=False)  # fmt: skip
        t_again = time.perf_counter() - start
    print(f"{kind}:{backend}  {n_images} images at 1024x768")
    print(f"  naive loop (baseline)   {n_images / t_naive:7.2f} images/s")
    print(
        f"  runner, {workers} workers       {n_images / t_first:7.2f} images/s "
        f"({t_naive / t_first:.2f}x the naive loop; {first['rejects']} rejects)"
    )
    print(
        f"  re-run after +{extra} images  {t_again:6.2f} s = {t_again / t_first:.3f} of the "
        f"first run ({again['annotated']} annotated, {again['cached']} from cache)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--backends",
        default="pose:mediapipe,parse:mediapipe,densepose:mediapipe",
        help="comma-separated KIND:BACKEND",
    )
    args = parser.parse_args()
    for spec in args.backends.split(","):
        kind, backend = spec.split(":")
        bench(kind, backend, args.images, args.workers)


if __name__ == "__main__":
    main()
