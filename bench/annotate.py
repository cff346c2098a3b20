"""Annotation throughput per backend at 1024x768, and the cost of an incremental re-run.

For each backend, measured in the same run on the same images:
- decode: reading the input photos only (`load_photo`), the bound no stage can beat;
- naive: a plain loop in one process (model loaded once, one image at a time, outputs
  written), the baseline;
- runner: `vton.annotate.runner.run` with its worker processes, cold cache;
- incremental: after 5% new samples arrive, the runner's re-run time over the cold run's
  time (target <= 0.1).

With `--pipeline`, the whole offline annotation instead (issue 18's scale check): every
kind of every sample, the stages in the order `dvc repro` runs them (pose, parse, DensePose,
cloth mask, agnostic) through the runner with one shared cache, as samples/s and the time
extrapolated to VITON-HD's 13,679 samples, beside the decode bound (every person and
garment JPEG read once); `--check N` then runs each stage alone, each with a cache of its
own (so nothing is shared between stages), on the first N samples and compares every output
file byte for byte.

Samples: copies of the golden VITON-HD samples (photo, garment, parse, keypoints),
corner-tagged so each file has its own digest, when present; else synthetic samples.

    python bench/annotate.py [--images 100] [--workers 2] [--backends pose:mediapipe,...]
    python bench/annotate.py --pipeline --images 1000 [--check 50]
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from vton.annotate.base import ANNOTATION_KINDS, Item
from vton.annotate.items import dataset_dest, dataset_items
from vton.annotate.registry import create_annotator
from vton.annotate.runner import WorkItem, run
from vton.config import parse_params
from vton.formats import labels, openpose
from vton.formats.images import load_photo, read_rgb, write_jpeg
from vton.layout import Layout
from vton.sources.sample import generate_sample
from vton.writer import write_kinds

GOLDEN = Path(__file__).resolve().parents[1].parent / "shared" / "golden" / "vitonhd"
SPLIT = "test"


def add_samples(layout: Layout, count: int, start: int = 0) -> None:
    """Write samples start..start+count-1 (photo, garment, parse, keypoints) at 1024x768."""
    golden = Layout(GOLDEN)
    ids = golden.ids(SPLIT) if GOLDEN.is_dir() else []
    for i in range(start, start + count):
        sid = f"{i:05d}_00"
        if ids:
            src = ids[i % len(ids)]
            person = read_rgb(golden.path(SPLIT, "image", src))
            cloth = read_rgb(golden.path(SPLIT, "cloth", src))
            parse = labels.read_parse(golden.path(SPLIT, "parse", src))
            body = openpose.read_keypoints(golden.path(SPLIT, "pose_json", src))
        else:
            s = generate_sample(i, 1024, 768, seed=7)
            person, cloth, parse, body = s.person, s.cloth, s.parse, s.pose
        person, cloth = np.array(person), np.array(cloth)
        for rgb in (person, cloth):
            rgb[:8, :8] = (i % 256, i // 256 % 256, 0)  # a corner tag: every file is distinct
        write_jpeg(layout.path(SPLIT, "image", sid), person)
        write_jpeg(layout.path(SPLIT, "cloth", sid), cloth)
        labels.write_parse(layout.path(SPLIT, "parse", sid), np.ascontiguousarray(parse))
        openpose.write_keypoints(layout.path(SPLIT, "pose_json", sid), body)


def decode(items: list[WorkItem]) -> float:
    start = time.perf_counter()
    for item in items:
        load_photo(item.image)
    return time.perf_counter() - start


def naive(kind: str, section, items: list[WorkItem], out: Layout) -> float:
    """The baseline: load once, then annotate and write one image at a time."""
    annotator = create_annotator(kind, section)
    start = time.perf_counter()
    annotator.load()
    dest = dataset_dest(out)
    for item in items:
        rgb = load_photo(item.image).rgb
        try:
            result = annotator.annotate(
                Item(item.id, SPLIT, rgb, item.image, dict(item.reference), dict(item.inputs))
            )
        except Exception:
            continue
        outputs = ANNOTATION_KINDS[kind].outputs
        write_kinds(result, lambda k, item=item: dest(k, item), *rgb.shape[:2], only=outputs)
    return time.perf_counter() - start


def bench(kind: str, backend: str, n_images: int, workers: int, data: Path) -> None:
    section = dataclasses.replace(getattr(parse_params({}), kind), backend=backend)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        layout = Layout(tmp / "ds")
        shutil.copytree(data, layout.root)
        items = dataset_items(kind, layout)[:n_images]
        t_decode = decode(items)
        t_naive = naive(kind, section, items, Layout(tmp / "naive"))
        start = time.perf_counter()
        first = run(
            kind,
            section,
            items,
            dataset_dest(layout),
            tmp / "cache",
            workers=workers,
            progress=False,
        )
        t_first = time.perf_counter() - start
        extra = max(1, round(0.05 * n_images))
        add_samples(layout, extra, start=n_images)
        start = time.perf_counter()
        again = run(
            kind,
            section,
            dataset_items(kind, layout),
            dataset_dest(layout),
            tmp / "cache",
            workers=workers,
            progress=False,
        )
        t_again = time.perf_counter() - start
    print(f"{kind}:{backend}  {n_images} images at 1024x768")
    print(f"  decode only (bound)     {n_images / t_decode:7.2f} images/s")
    print(f"  naive loop (baseline)   {n_images / t_naive:7.2f} images/s")
    print(
        f"  runner, {workers} workers       {n_images / t_first:7.2f} images/s "
        f"({t_naive / t_first:.2f}x the naive loop, {t_first / t_decode:.1f}x the decode "
        f"time; {first['rejects']} rejects)"
    )
    print(
        f"  re-run after +{extra} images  {t_again:6.2f} s = {t_again / t_first:.3f} of the "
        f"first run ({again['annotated']} annotated, {again['cached']} from cache)"
    )


PIPELINE = (
    ("pose", "mediapipe"),
    ("parse", "mediapipe"),
    ("densepose", "mediapipe"),
    ("cloth_mask", "background"),
    ("agnostic", "hrviton"),
)
VITONHD_SAMPLES = 13_679


def annotate_all(layout: Layout, cache: Path, workers: int, progress: bool) -> dict[str, float]:
    """Every stage of PIPELINE over `layout` with one cache; seconds per stage."""
    seconds = {}
    for kind, backend in PIPELINE:
        section = dataclasses.replace(getattr(parse_params({}), kind), backend=backend)
        start = time.perf_counter()
        items = dataset_items(kind, layout)
        run(kind, section, items, dataset_dest(layout), cache, workers=workers, progress=progress)
        seconds[kind] = time.perf_counter() - start
    return seconds


def pipeline(n_images: int, workers: int, check: int, data: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        layout = Layout(tmp / "ds")
        shutil.copytree(data, layout.root)
        photos = [
            layout.path(SPLIT, k, sid) for sid in layout.ids(SPLIT) for k in ("image", "cloth")
        ]
        start = time.perf_counter()
        for path in photos:
            load_photo(path)
        t_decode = time.perf_counter() - start
        seconds = annotate_all(layout, tmp / "cache", workers, progress=True)
        total = sum(seconds.values())
        print(f"whole offline annotation, {n_images} samples at 1024x768, {workers} workers")
        print(f"  decode only (bound)  {n_images / t_decode:8.2f} samples/s (person + garment)")
        for kind, secs in seconds.items():
            print(f"  {kind:<11}          {n_images / secs:8.2f} samples/s  {secs:7.1f} s")
        hours = VITONHD_SAMPLES * total / n_images / 3600
        print(
            f"  all kinds            {n_images / total:8.2f} samples/s  {total:7.1f} s "
            f"({total / t_decode:.1f}x the decode time); {VITONHD_SAMPLES} samples: "
            f"{hours:.2f} h"
        )
        if check:
            compare_one_by_one(layout, data, min(check, n_images), tmp, workers)


def compare_one_by_one(layout: Layout, data: Path, n: int, tmp: Path, workers: int) -> None:
    """The first `n` samples again, each stage alone with a cache of its own: every output
    file must be byte-identical to the shared run's."""
    alone = Layout(tmp / "alone")
    source = Layout(data)
    for sid in source.ids(SPLIT)[:n]:
        for kind in ("image", "cloth", "parse", "pose_json"):
            target = alone.path(SPLIT, kind, sid)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.path(SPLIT, kind, sid), target)
    differ, compared = [], 0
    for kind, backend in PIPELINE:
        section = dataclasses.replace(getattr(parse_params({}), kind), backend=backend)
        items = dataset_items(kind, alone)
        run(
            kind,
            section,
            items,
            dataset_dest(alone),
            tmp / f"cache-{kind}",
            workers=workers,
            progress=False,
        )
        for item in items:
            for name in ANNOTATION_KINDS[kind].outputs:
                compared += 1
                ours = alone.path(SPLIT, name, item.id)
                shared = layout.path(SPLIT, name, item.id)
                if ours.read_bytes() != shared.read_bytes():
                    differ.append(f"{name}/{item.id}")
    print(
        f"  one by one, separate caches, {n} samples: {compared - len(differ)}/{compared} "
        f"output files byte-identical{'' if not differ else ': differ ' + ', '.join(differ[:5])}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--backends",
        default="pose:mediapipe,parse:mediapipe,densepose:mediapipe,"
        "cloth_mask:background,agnostic:hrviton",
        help="comma-separated KIND:BACKEND",
    )
    parser.add_argument("--pipeline", action="store_true", help="every kind, all stages")
    parser.add_argument("--check", type=int, default=50, help="--pipeline: samples re-run alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        add_samples(Layout(data), args.images)
        if args.pipeline:
            pipeline(args.images, args.workers, args.check, data)
            return
        for spec in args.backends.split(","):
            kind, backend = spec.split(":")
            bench(kind, backend, args.images, args.workers, data)


if __name__ == "__main__":
    main()
