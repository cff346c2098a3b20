"""Training throughput of each model family on CPU, and how much of a step waits for data.

For each size, on synthetic samples with exact annotations written at that size (4:3; a
size of another aspect, e.g. 64x32, loads the 4:3 files resized to it):
- loader only: the DataLoader alone (same workers, batch and augmentation), the bound
  that data loading puts on training (the baseline, measured in the same run);
- for each family (gmm_tom: gmm + tom, unet_sa: gmm + unet_sa, hrviton: tocg + spade,
  ldm: gmm + the latent-diffusion U-Net in a VAE that `train_vae` trains first, its rate
  in the footnote; tryondiffusion: no warp, the SR Parallel-UNet `train_sr` trains first,
  its rate in the footnote, then the base), `train_warp` then `train_generator` as the
  stages run them:
  params.yaml's widths (its CPU presets) at that size, `--set` to change any param; the GMM
  correlates at 16 rows (levels = log2(height / 16)) unless `--set train_warp.gmm.levels=N`
  says otherwise.
  Reported: samples/s of each stage after one warm-up run per size, from fit's summary
  once the first batch is in (the loader workers' start, seconds on a busy machine, is left
  out of both the stages and the baseline), the fraction of step time spent waiting for the
  next batch (target < 10%), and each model's parameters (the generators': G only).
  gmm_tom and unet_sa share one gmm run (the same warp params). Seconds per sample: one
  try-on of one test pair by the trained family (`TryOnModel`; ldm: DDIM with its
  `sample_steps`; tryondiffusion: the cascade's base and SR steps), after a warm-up one.
  catvton needs local SD weights and is not run here (`bench/families_gpu.py` runs it at
  full size on a GPU).

    python bench/train.py [--sizes 256x192,512x384] [--families gmm_tom,unet_sa,hrviton]
                          [--steps 6] [--samples 16] [--set train_generator.unet_sa.ngf=56]
    python bench/train.py --sizes 64x32 --steps 2     # a sanity run in seconds
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import tempfile
import time
from pathlib import Path

import yaml
from torch.utils.data import DataLoader

from vton.annotate.agnostic import make_agnostic
from vton.config import Params, parse_params
from vton.families.kinds import FAMILIES, GENERATORS, WARPS, family_kinds, load_model
from vton.layout import Layout, write_pairs
from vton.sources.sample import generate_sample
from vton.train import train_generator, train_warp
from vton.train.data import StepBatches, TryOnDataset
from vton.train.diffusion_setup import train_sr, train_vae
from vton.writer import write_sample

PROJECT = Path(__file__).resolve().parents[1]
SECTIONS = {  # params section of each model kind
    "gmm": ("train_warp", "gmm"),
    "tocg": ("train_warp", "tocg"),
    "tom": ("train_generator", "tom"),
    "unet_sa": ("train_generator", "unet_sa"),
    "spade": ("train_generator", "spade"),
    "ldm": ("train_generator", "ldm"),
    "vae": ("train_vae",),
    "tryondiffusion": ("train_generator", "tryondiffusion"),
    "sr": ("train_sr",),
}
WIDTHS = {  # the size knobs of each kind, for the footnote
    "gmm": ("width", "levels"),
    "tocg": ("ngf", "levels", "adversarial", "d_ndf"),
    "tom": ("width", "depth", "adversarial"),
    "unet_sa": ("ngf", "downsamplings", "res_blocks", "d_ndf"),
    "spade": ("ngf", "hidden", "injection", "upsamplings", "d_ndf"),
    "ldm": ("width", "levels", "layers", "sample_steps"),
    "tryondiffusion": ("channels", "blocks", "sample_steps"),
}
DEFAULT_FAMILIES = [f for f in FAMILIES if f != "catvton"]


def write_dataset(root: Path, count: int, height: int) -> None:
    """`count` paired train samples at height x (3/4 height), HR-VITON agnostics (the sample
    source draws 4:3 only; loading resizes to the training size)."""
    width = round(height * 3 / 4)
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


def loader_only(root: Path, params: Params, steps: int, batch: int) -> float:
    """Samples/s of the DataLoader alone, as `fit` builds it (workers, augmentation), from
    the first batch on."""
    data = TryOnDataset(
        root,
        "train",
        size=(params.train.data.height, params.train.data.width),
        augment=params.train.data,
    )
    workers = params.run.loader_workers
    loader = DataLoader(
        data,
        batch_sampler=StepBatches(len(data), batch, seed=0, start=0, steps=steps),
        num_workers=workers,
        prefetch_factor=4 if workers else None,
        multiprocessing_context="forkserver" if workers else None,
    )
    first = None
    for _ in loader:
        first = first or time.perf_counter()  # after the workers' start, as `steady` counts
    assert first is not None
    return (steps - 1) * batch / (time.perf_counter() - first)


def steady(summary: dict, batch: int) -> float:
    """Samples/s of a `fit` summary once the first batch is in: its steps over the seconds
    less the workers' start (fit's own samples_per_s counts that start too)."""
    steps = summary["step"] - summary["resumed_from"]
    return steps * batch / (summary["seconds"] - summary["startup_seconds"])


def load_base(path: Path, overrides: list[str]) -> Params:
    """params.yaml with each `a.b.c=value` (a YAML value) set, checked as `vton` checks it."""
    raw = yaml.safe_load(path.read_text())
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set takes KEY=VALUE (e.g. train_warp.gmm.width=32), got {item!r}")
        *parents, leaf = key.split(".")
        node = raw
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = yaml.safe_load(value)
    return parse_params(raw)


def replaced(obj, path: tuple[str, ...], **changes):
    """A copy of nested frozen dataclasses `obj` with `changes` made at `path`."""
    if not path:
        return dataclasses.replace(obj, **changes)
    head, *rest = path
    return dataclasses.replace(obj, **{head: replaced(getattr(obj, head), tuple(rest), **changes)})


def at_size(base: Params, family: str, size: tuple[int, int], steps: int, levels: bool) -> Params:
    """`base` for `family` at `size`, every stage `steps` long, no previews, checkpoint at
    the end only; the GMM's levels from the height when `levels`."""
    height, width = size
    params = replaced(base, ("train",), family=family)
    params = replaced(params, ("train", "data"), height=height, width=width)
    for section in SECTIONS.values():
        params = replaced(
            params, section, steps=steps, log_every=steps, sample_every=0, checkpoint_every=steps
        )
    if levels:
        params = replaced(params, SECTIONS["gmm"], levels=int(math.log2(height // 16)))
    return params


def section(params: Params, kind: str):
    out = params
    for name in SECTIONS[kind]:
        out = getattr(out, name)
    return out


def seconds_per_sample(root: Path, warp_dir: Path, gen_dir: Path, size: tuple[int, int]) -> float:
    """One try-on of one pair by the trained family, after a warm-up one."""
    import torch

    from vton.families.tryon_model import TryOnModel

    model = TryOnModel.from_pretrained(warp_dir, gen_dir)
    pair = TryOnDataset(root, "train", size=size)[0]
    batch = {k: v[None] for k, v in pair.items() if isinstance(v, torch.Tensor)}
    model(batch)
    began = time.perf_counter()
    model(batch)
    return time.perf_counter() - began


def millions(directory: Path, expect: tuple[str, ...]) -> float:
    model = load_model(directory, expect)
    return sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6  # trained


VAE_RATES: list[str] = []  # "HxW samples/s" of train_vae, for the footnote
SR_RATES: list[str] = []  # "HxW samples/s" of train_sr


def measure_size(args, base: Params, size: tuple[int, int], levels: bool) -> list[str]:
    """The table rows of one size: every family's two stages against the loader alone."""
    rows, loader_rates, warps = [], {}, {}
    vae_rates = VAE_RATES
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "dataset"
        write_dataset(root, args.samples, size[0])
        first = at_size(base, args.families[0], size, args.steps, levels)
        train_warp(first, root, Path(tmp) / "warm")  # warm-up: imports, allocator, threads
        for family in args.families:
            params = at_size(base, family, size, args.steps, levels)
            warp_kind, gen_kind = family_kinds(family, params.train_warp.module)
            warp_dir, gen_dir = Path(tmp) / warp_kind, Path(tmp) / f"{family}_{gen_kind}"
            if warp_kind not in warps:  # gmm_tom and unet_sa train the same gmm
                summary = train_warp(params, root, warp_dir)
                warps[warp_kind] = (summary, millions(warp_dir, WARPS))
            extra = {}
            if gen_kind == "ldm":
                vae = train_vae(params, root, Path(tmp) / "vae")
                vae_rates.append(
                    f"{size[0]}x{size[1]} {steady(vae, params.train_vae.batch_size):.1f}"
                )
                extra["vae_dir"] = Path(tmp) / "vae"
            if gen_kind == "tryondiffusion":
                sr = train_sr(params, root, Path(tmp) / "sr")
                SR_RATES.append(f"{size[0]}x{size[1]} {steady(sr, params.train_sr.batch_size):.1f}")
                extra["sr_dir"] = Path(tmp) / "sr"
            gen = train_generator(params, root, warp_dir, gen_dir, **extra)
            warp, warp_m = warps[warp_kind]
            warp_cells = "none | – | –"
            if warp_kind != "none":
                warp_rate = steady(warp, section(params, warp_kind).batch_size)
                warp_cells = (
                    f"{warp_kind} ({warp_m:.2f}M) | {warp_rate:.1f} | "
                    f"{warp['data_wait_fraction']:.1%}"
                )
            batch = section(params, gen_kind).batch_size
            if batch not in loader_rates:
                loader_rates[batch] = loader_only(root, params, args.steps, batch)
            rows.append(
                f"| {size[0]}x{size[1]} | {family} | {loader_rates[batch]:.1f} samples/s | "
                f"{warp_cells} | "
                f"{gen_kind} ({millions(gen_dir, GENERATORS):.2f}M) | "
                f"{steady(gen, batch):.1f} | {gen['data_wait_fraction']:.1%} | "
                f"{seconds_per_sample(root, warp_dir, gen_dir, size):.3f} |"
            )
            print(rows[-1], flush=True)
    return rows


def footnote(base: Params, args) -> str:
    parts = []
    for family in args.families:
        for kind in family_kinds(family, base.train_warp.module):
            if kind not in WIDTHS:
                continue
            s = section(base, kind)
            names = [
                k for k in WIDTHS[kind] if not (kind == "gmm" and k == "levels" and args.levels)
            ]
            knobs = ", ".join(f"{k} {getattr(s, k)}" for k in names)
            parts.append(f"{kind}: batch {s.batch_size}, {knobs}")
    t = base.train
    return (
        f"({args.steps} steps per stage, {base.run.loader_workers} loader workers, augmentation "
        f"{'on' if t.data.augment else 'off'}, device {t.device}; "
        f"{'; '.join(dict.fromkeys(parts))}"
        f"{'; gmm levels log2(height / 16)' if args.levels else ''}"
        f"{f'; train_vae (width {base.train_vae.width}) samples/s: ' if VAE_RATES else ''}"
        f"{', '.join(VAE_RATES)}"
        f"{'; train_sr samples/s: ' if SR_RATES else ''}{', '.join(SR_RATES)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256x192,512x384", help="HxW,HxW,...")
    parser.add_argument("--families", default=",".join(DEFAULT_FAMILIES), help="comma-separated")
    parser.add_argument("--samples", type=int, default=16, help="synthetic training samples")
    parser.add_argument("--steps", type=int, default=6, help="training steps per stage")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a param, repeatable"
    )
    args = parser.parse_args()
    args.families = args.families.split(",")
    if args.steps < 2:
        parser.error("--steps must be at least 2 (the rates count from the first batch on)")
    for family in args.families:
        if family not in FAMILIES:
            parser.error(f"unknown family {family!r}; one of {', '.join(FAMILIES)}")
    base = load_base(PROJECT / "params.yaml", args.set)
    args.levels = not any(s.startswith("train_warp.gmm.levels=") for s in args.set)
    print(
        "| size | family | loader only (baseline) | warp | samples/s | wait | generator "
        "| samples/s | wait | s/sample |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        height, width = (int(v) for v in size.split("x"))
        measure_size(args, base, (height, width), args.levels)
    print(footnote(base, args))


if __name__ == "__main__":
    main()
