"""Ingest throughput: synthetic generation, layout writing, and VITON-HD import.

Prints samples/s for each step and ratios against a baseline measured in the same run
(writing already-generated samples: the pure encode + I/O cost). Usage:

    python bench/ingest.py [--count 64] [--sizes 256x192,512x384] [--golden DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from vton.config import parse_params
from vton.layout import Layout
from vton.sources import sample
from vton.sources.ingest import ingest
from vton.writer import write_sample


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_size(count: int, height: int, width: int) -> None:
    samples: list = []
    t_gen = timed(lambda: samples.extend(sample.generate(count, height, width, seed=1)))
    with tempfile.TemporaryDirectory() as tmp:
        layout = Layout(Path(tmp) / "write")
        t_write = timed(lambda: [write_sample(layout, s, height, width) for s in samples])
        params = parse_params(
            {
                "base": {"seed": 1, "height": height, "width": width},
                "data": {"sample": {"n_train": count, "n_test": 0}},
            }
        )
        t_ingest = timed(lambda: ingest(params, Path(tmp) / "ingest", progress=False))
    print(f"{height}x{width}, {count} samples")
    print(f"  generate only        {count / t_gen:8.1f} samples/s")
    print(f"  write only (baseline){count / t_write:8.1f} samples/s")
    print(
        f"  full ingest          {count / t_ingest:8.1f} samples/s "
        f"(ingest time / write time = {t_ingest / t_write:.2f})"
    )


def bench_vitonhd(golden: Path, repeats: int) -> None:
    params = parse_params(
        {
            "base": {"height": 1024, "width": 768},
            "data": {"source": "vitonhd", "vitonhd": {"root": str(golden)}},
        }
    )
    small = dataclasses.replace(
        params, base=dataclasses.replace(params.base, height=256, width=192)
    )
    with tempfile.TemporaryDirectory() as tmp:
        n = ingest(params, Path(tmp) / "n0", progress=False)["samples"]
        t_copy = sum(
            timed(lambda i=i: ingest(params, Path(tmp) / f"c{i}", progress=False))
            for i in range(repeats)
        )
        t_resample = sum(
            timed(lambda i=i: ingest(small, Path(tmp) / f"r{i}", progress=False))
            for i in range(repeats)
        )
    print(f"vitonhd import, {n} samples x {repeats}")
    print(f"  native copy (baseline) {n * repeats / t_copy:8.1f} samples/s")
    print(
        f"  resample to 256x192    {n * repeats / t_resample:8.1f} samples/s "
        f"({t_resample / t_copy:.1f}x the copy time)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--sizes", default="256x192,512x384")
    parser.add_argument("--golden", type=Path, default=Path("../shared/golden/vitonhd"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for size in args.sizes.split(","):
        height, width = (int(v) for v in size.split("x"))
        bench_size(args.count, height, width)
    if (args.golden / "test" / "image").is_dir():
        bench_vitonhd(args.golden, args.repeats)
    else:
        print(f"vitonhd import: skipped, no VITON-HD samples at {args.golden}")


if __name__ == "__main__":
    main()
