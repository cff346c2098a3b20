"""Training throughput at 256x192 and 512x384, and how much of a step waits for data.

For each size, on synthetic samples with exact annotations written at that size:
- loader only: the DataLoader alone (same workers, batch and augmentation), the bound
  that data loading puts on training (the baseline);
- train_gmm and train_tom: `vton.train` as the stages run it (default params from
  params.yaml at that size; the GMM correlates at 1/16 of the size), samples/s after one
  warm-up run, and the fraction of step time spent waiting for the next batch (target < 10%).

    python bench/train.py [--sizes 256x192,512x384] [--samples 16] [--steps 12]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import tempfile
import time
from pathlib import Path

from torch.utils.data import DataLoader

from vton.annotate.agnostic import make_agnostic
from vton.config import load_params
from vton.layout import Layout, write_pairs
from vton.sources.sample import generate_sample
from vton.train import train_gmm, train_tom
from vton.train.data import StepBatches, TryOnDataset
from vton.writer import write_sample

PROJECT = Path(__file__).resolve().parents[1]


def write_dataset(root: Path, count: int, height: int, width: int) -> None:
    layout, ids = Layout(root), []
    for i in range(count):
        sample = generate_sample(i, height, width, seed=11, split="train")
        agn = make_agnostic(sample.person, sample.parse, sample.pose)
        sample = dataclasses.replace(
            sample, agnostic=agn.agnostic, parse_agnostic=agn.parse_agnostic, agnostic_mask=agn.mask
        )
        write_sample(layout, sample, height, width)
        ids.append(sample.id)
    write_pairs(layout.pairs_path("train"), [(i, i) for i in ids])


def loader_only(root: Path, params, steps: int) -> float:
    data = TryOnDataset(
        root,
        "train",
        size=(params.train.data.height, params.train.data.width),
        augment=params.train.data,
    )
    batch = params.train.tom.batch_size
    loader = DataLoader(
        data,
        batch_sampler=StepBatches(len(data), batch, seed=0, start=0, steps=steps),
        num_workers=params.run.loader_workers,
    )
    began = time.perf_counter()
    for _ in loader:
        pass
    return steps * batch / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256x192,512x384")
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    base = load_params(PROJECT / "params.yaml")
    print("| size | loader only (baseline) | train_gmm | wait | train_tom | wait |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        height, width = (int(v) for v in size.split("x"))
        t = base.train
        params = dataclasses.replace(
            base,
            train=dataclasses.replace(
                t,
                data=dataclasses.replace(t.data, height=height, width=width),
                gmm=dataclasses.replace(
                    t.gmm,
                    steps=args.steps,
                    levels=int(math.log2(height // 16)),
                    log_every=args.steps,
                    sample_every=0,
                    checkpoint_every=args.steps,
                ),
                tom=dataclasses.replace(
                    t.tom,
                    steps=args.steps,
                    log_every=args.steps,
                    sample_every=0,
                    checkpoint_every=args.steps,
                ),
            ),
        )
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "dataset"
            write_dataset(root, args.samples, height, width)
            loader = loader_only(root, params, args.steps)
            train_gmm(params, root, Path(tmp) / "warm")  # warm-up: imports, allocator, threads
            gmm = train_gmm(params, root, Path(tmp) / "gmm")
            tom = train_tom(params, root, Path(tmp) / "gmm", Path(tmp) / "tom")
        print(
            f"| {size} | {loader:.1f} samples/s | {gmm['samples_per_s']:.1f} samples/s | "
            f"{gmm['data_wait_fraction']:.1%} | {tom['samples_per_s']:.1f} samples/s | "
            f"{tom['data_wait_fraction']:.1%} |",
            flush=True,
        )
    t = base.train
    print(
        f"(batch {t.tom.batch_size}, {base.run.loader_workers} loader workers, {args.steps} steps, "
        f"GMM width {t.gmm.width}, TOM width {t.tom.width} depth {t.tom.depth}, "
        f"augmentation {'on' if t.data.augment else 'off'})"
    )


if __name__ == "__main__":
    main()
