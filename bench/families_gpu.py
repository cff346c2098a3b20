"""GPU smoke test of every model family at its design size: training steps, speed, memory.

For each model, the training Task that `vton train` runs (GmmTask, TomTask, TocgTask,
UnetSATask, SpadeTask: forward, losses, backward, optimiser steps, under the runtime's AMP
and torch's deterministic kernels as training sets them) takes `--steps` steps on synthetic
random batches of the loader's sample contract (`vton.train.data`), pinned on CUDA and
copied to the device each step as the loader's are. Losses and their weights are
params.yaml's; the sizes are the design's:

  gmm_tom  gmm (width 64, correlation at 16 rows) then tom (width 64) at 512x384
  unet_sa  UNetSAConfig.full() (54M) + its PatchGAN (ndf 64) at 512x384, over a frozen gmm
           (freshly initialised: a forward costs the same whatever the weights)
  hrviton  TOCGConfig.full() + TOCGDiscriminatorConfig.full() (adversarial on) at 256x192,
           then SPADEConfig.full(upsamplings_for(H)) + SPADEDiscriminatorConfig.full() at
           1024x768 over that frozen TOCG (which, as in training, runs at the batch's size)
  ldm      the latent-diffusion U-Net (128, 256, 512, 512 channels, 2 blocks a level, AdaGN +
           SE) in Stable Diffusion's VAE (its config; `--sd` loads local weights) at 512x384,
           then one full-resolution DDIM sample of 200 steps
  catvton  SD-1.5 inpainting's U-Net (860M; only its 49.57M self-attention trains, gradient
           checkpointing on) and VAE at 512x384 (a 128x48 latent), then one DDIM sample of
           50 steps with guidance 2.5
  tryondiffusion  the design's base Parallel-UNet (channels 128-1024, blocks 3, 4, 6, 7,
           attention at the two lowest levels) at 128x96, then its SR Parallel-UNet
           (128-1024 over five levels, blocks 2, 3, 4, 7, 7, attention at the lowest) at
           256x192, gradient checkpointing on; then one cascade sample (guidance 2) of the
           params' steps

Printed per model (a markdown table, one row as each model finishes): trainable parameters
(M; generator + discriminator; a diffusion model's trainable ones), batch, samples/s and
s/step over the steps after `--warmup` (synchronised), peak CUDA memory (max_memory_allocated,
reset per model; frozen warp included), the last step's losses with a finite check, and
for the diffusion families the seconds of one full-resolution sample of the batch. Exit
status 1 when a model fails or ends with a non-finite loss, 2 when `--device cuda` finds no
CUDA.

    python bench/families_gpu.py                                # CUDA, bfloat16 AMP, 200 steps
    python bench/families_gpu.py --amp-dtype float16 --spade-size 512x384 --unet-sa-size 1024x768
    python bench/families_gpu.py --families hrviton --batch 2 --steps 50 --json out.json
    python bench/families_gpu.py --device cpu --toy --steps 2   # the CPU sanity check, seconds
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import cast

import torch

from vton.config import load_params
from vton.families.kinds import FAMILIES
from vton.train.data import UPPER_GROUP
from vton.train.runtime import Runtime, deterministic, seed_everything
from vton.train.tasks import Task

PROJECT = Path(__file__).resolve().parents[1]
# (full, toy) default size of each model
SIZES = {
    "gmm_tom": ("512x384", "64x48"),
    "unet_sa": ("512x384", "64x48"),
    "tocg": ("256x192", "128x96"),
    "spade": ("1024x768", "64x32"),
    "ldm": ("512x384", "64x48"),
    "catvton": ("512x384", "64x48"),
    "tryondiffusion": ("256x192", "32x24"),  # the output: the base runs at half of it
}
# The design's Parallel-UNets (models.md 3c) and the toy stand-ins
PARALLEL_UNETS = {
    "base": {"channels": (128, 256, 512, 1024), "blocks": (3, 4, 6, 7), "attention_levels": 2},
    "sr": {"channels": (128, 128, 256, 512, 1024), "blocks": (2, 3, 4, 7, 7)}
    | {"attention_levels": 1, "cond_dim": 768},
}
PARALLEL_UNET_WIDTHS = {"heads": 8, "dim_head": 64, "cond_dim": 512, "pose_dim": 512}
TOY_PARALLEL_UNET = {"channels": (8, 16), "blocks": (1, 1), "attention_levels": 1}
TOY_PARALLEL_UNET |= {"heads": 2, "dim_head": 8, "cond_dim": 32, "pose_dim": 32}
# Stable Diffusion's VAE (sd-vae-ft-mse's config) and the toy stand-in
SD_VAE = {
    "block_out_channels": [128, 256, 512, 512],
    "layers_per_block": 2,
    "latent_channels": 4,
    "norm_num_groups": 32,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "scaling_factor": 0.18215,
}
TOY_VAE = SD_VAE | {"block_out_channels": [8, 16, 16, 16], "layers_per_block": 1}
TOY_VAE |= {"norm_num_groups": 8}
BATCHES = 4  # distinct synthetic batches, cycled


@dataclasses.dataclass
class Result:
    family: str
    model: str
    size: str
    batch: int
    params: str = ""
    samples_per_s: float = math.nan
    s_per_step: float = math.nan
    peak_gib: float = math.nan
    losses: dict = dataclasses.field(default_factory=dict)
    error: str = ""
    sample_s: float = math.nan  # one full-resolution sample (diffusion families)

    @property
    def ok(self) -> bool:
        return not self.error and all(math.isfinite(v) for v in self.losses.values())

    def row(self) -> str:
        loss = ", ".join(f"{k} {v:.4g}" for k, v in self.losses.items() if k in ("loss", "d_loss"))
        peak = "n/a" if math.isnan(self.peak_gib) else f"{self.peak_gib:.2f}"
        status = "yes" if self.ok else (f"**no**: {self.error}" if self.error else "**no**")
        sample = "" if math.isnan(self.sample_s) else f"{self.sample_s:.2f}"
        return (
            f"| {self.family} | {self.model} | {self.size} | {self.batch} | {self.params} | "
            f"{self.samples_per_s:.2f} | {self.s_per_step:.3f} | {peak} | "
            f"{loss} | {status} | {sample} |"
        )


HEADER = (
    "| family | model | size | batch | params (M) | samples/s | s/step | peak GiB | last loss "
    "| finite | sample s |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def synthetic_batch(batch: int, height: int, width: int, seed: int) -> dict:
    """Random tensors of the loader's sample contract with a batch axis (`vton.train.data`)."""
    g = torch.Generator().manual_seed(seed)
    b, h, w = batch, height, width

    def image() -> torch.Tensor:
        return torch.rand(b, 3, h, w, generator=g) * 2 - 1

    def ids(classes: int) -> torch.Tensor:
        return torch.randint(0, classes, (b, h, w), generator=g, dtype=torch.uint8)

    def mask() -> torch.Tensor:
        return (torch.rand(b, 1, h, w, generator=g) < 0.5).float()

    parse = ids(13)
    xy = torch.rand(b, 25, 2, generator=g) * torch.tensor([w, h])
    confidence = (torch.rand(b, 25, 1, generator=g) > 0.2).float()
    return {
        "person": image(),
        "agnostic": image(),
        "cloth": image(),
        "parse": parse,
        "parse_agnostic": ids(13),
        "parse_agnostic_ids": ids(20),
        "densepose": ids(25),
        "keypoints": torch.cat([xy, confidence], -1),
        "agnostic_mask": mask(),
        "cloth_mask": mask(),
        "person_cloth_mask": (parse == UPPER_GROUP)[:, None].float(),
        "id": [f"{seed}_{i}" for i in range(b)],
        "cloth_id": [f"{seed}_{i}" for i in range(b)],
        "seed": torch.arange(b, dtype=torch.int64) + seed * b,
    }


def batches(batch: int, size: tuple[int, int], device: torch.device) -> list[dict]:
    out = [synthetic_batch(batch, *size, seed=i) for i in range(BATCHES)]
    if device.type == "cuda":  # as the DataLoader's pin_memory
        out = [{k: v.pin_memory() if torch.is_tensor(v) else v for k, v in b.items()} for b in out]
    return out


def parse_size(text: str) -> tuple[int, int]:
    height, width = (int(v) for v in text.lower().split("x"))
    return height, width


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def count(task: Task) -> str:
    return " + ".join(
        f"{sum(p.numel() for p in net.parameters() if p.requires_grad) / 1e6:.2f}"
        for net in task.nets.values()
    )


def measure(
    args,
    runtime: Runtime,
    result: Result,
    build: Callable[[], Task],
    sample: Callable[[Task, dict], object] | None = None,
) -> Task | None:
    """Build the task (seeded), set it up and time `args.steps` steps into `result`, then
    `sample(task, batch)` once (timed, in eval mode); the task (None when it failed, the
    error in `result`)."""
    device = runtime.device
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    try:
        seed_everything(0)
        task = build()
        task.setup(runtime)
        result.params = count(task)
        data = batches(result.batch, parse_size(result.size), device)
        warmup = min(args.warmup, args.steps - 1)
        began = time.perf_counter()
        for i in range(args.steps):
            if i == warmup:
                sync(device)
                began = time.perf_counter()
            result.losses = task.step(data[i % len(data)])
        sync(device)
        seconds, timed = time.perf_counter() - began, args.steps - warmup
        result.s_per_step = seconds / timed
        result.samples_per_s = timed * result.batch / seconds
        if sample is not None:
            for net in task.nets.values():
                net.eval()
            batch = task.to_device(data[0])
            began = time.perf_counter()
            with torch.no_grad(), runtime.autocast():
                sample(task, batch)
            sync(device)
            result.sample_s = time.perf_counter() - began
        if device.type == "cuda":
            result.peak_gib = torch.cuda.max_memory_allocated(device) / 2**30
        return task
    except Exception as exc:  # one model failing (e.g. out of memory) leaves the others
        traceback.print_exc(file=sys.stderr)
        result.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
        return None
    finally:
        print(result.row(), flush=True)


def gmm_net(args, size: tuple[int, int]):
    from vton.models.gmm import GMM, GMMConfig

    height, width = size
    levels = args.gmm_levels or int(math.log2(height // 16))
    return GMM(
        GMMConfig(width=args.gmm_width, levels=levels, grid=5, height=height, image_width=width)
    )


def run_gmm_tom(args, params, runtime: Runtime, results: list[Result]) -> None:
    from vton.models.tom import TOM, TOMConfig
    from vton.train.tasks import GmmTask, TomTask

    size = parse_size(args.gmm_tom_size)
    g = dataclasses.replace(params.train_warp.gmm, batch_size=args.batch)
    t = dataclasses.replace(params.train_generator.tom, batch_size=args.batch)
    t = dataclasses.replace(t, perceptual_weights=args.perceptual_weights or t.perceptual_weights)
    gmm = gmm_net(args, size)
    results.append(
        Result("gmm_tom", f"gmm (width {args.gmm_width})", args.gmm_tom_size, g.batch_size)
    )
    measure(args, runtime, results[-1], lambda: GmmTask(gmm, g))
    config = TOMConfig(width=args.tom_width, depth=t.depth, keep_unmasked=t.keep_unmasked)
    results.append(
        Result("gmm_tom", f"tom (width {args.tom_width})", args.gmm_tom_size, t.batch_size)
    )
    measure(args, runtime, results[-1], lambda: TomTask(TOM(config), gmm, t))


def run_unet_sa(args, params, runtime: Runtime, results: list[Result]) -> None:
    from vton.families.unet_sa import (
        DISCRIMINATOR_PRESETS,
        UNetSAConfig,
        UNetSAGenerator,
    )
    from vton.train.family_tasks import UnetSATask

    preset = "toy" if args.toy else "full"
    config = UNetSAConfig.toy() if args.toy else UNetSAConfig.full()
    d = DISCRIMINATOR_PRESETS[preset]
    u = dataclasses.replace(
        params.train_generator.unet_sa, batch_size=args.batch, d_ndf=d.ndf, d_layers=d.n_layers
    )
    u = dataclasses.replace(u, perceptual_weights=args.perceptual_weights or u.perceptual_weights)
    config = dataclasses.replace(config, keep_unmasked=u.keep_unmasked, norm=u.norm)
    size = parse_size(args.unet_sa_size)
    gmm = gmm_net(args, size)

    def build() -> Task:
        task = UnetSATask(UNetSAGenerator(config), gmm, u)
        assert task.nets["discriminator"].config == d, "not the design's discriminator"
        return task

    results.append(Result("unet_sa", f"unet_sa {preset}", args.unet_sa_size, u.batch_size))
    measure(args, runtime, results[-1], build)


def run_hrviton(args, params, runtime: Runtime, results: list[Result]) -> None:
    from vton.families.spade import (
        SPADEConfig,
        SPADEDiscriminatorConfig,
        SPADEGenerator,
        upsamplings_for,
    )
    from vton.families.tocg import ConditionGenerator, TOCGConfig, TOCGDiscriminatorConfig
    from vton.train.family_tasks import SpadeTask, TocgTask

    preset = "toy" if args.toy else "full"
    vgg = args.perceptual_weights
    tsize, ssize = parse_size(args.tocg_size), parse_size(args.spade_size)
    tconfig = TOCGConfig.toy() if args.toy else TOCGConfig.full()
    tconfig = dataclasses.replace(tconfig, height=tsize[0], width=tsize[1])
    td = TOCGDiscriminatorConfig.toy() if args.toy else TOCGDiscriminatorConfig.full()
    t = dataclasses.replace(
        params.train_warp.tocg, batch_size=args.batch, adversarial=True, d_ndf=td.ndf
    )
    t = dataclasses.replace(t, perceptual_weights=vgg or t.perceptual_weights)
    tocg = ConditionGenerator(tconfig)

    def build_tocg() -> Task:
        task = TocgTask(tocg, t)
        assert task.nets["discriminator"].config == td, "not the design's discriminator"
        return task

    results.append(Result("hrviton", f"tocg {preset}", args.tocg_size, t.batch_size))
    measure(args, runtime, results[-1], build_tocg)
    depth = "normal" if args.toy else upsamplings_for(ssize[0])
    sd = SPADEDiscriminatorConfig.toy() if args.toy else SPADEDiscriminatorConfig.full()
    s = dataclasses.replace(
        params.train_generator.spade, batch_size=args.batch, d_ndf=sd.ndf, spectral=sd.spectral
    )
    s = dataclasses.replace(s, perceptual_weights=vgg or s.perceptual_weights)
    sconfig = SPADEConfig.toy() if args.toy else SPADEConfig.full(depth)
    sconfig = dataclasses.replace(sconfig, upsamplings=depth, keep_unmasked=s.keep_unmasked)

    def build_spade() -> Task:
        task = SpadeTask(SPADEGenerator(sconfig), tocg, s)
        assert task.nets["discriminator"].config == sd, "not the design's discriminator"
        return task

    results.append(Result("hrviton", f"spade {preset} ({depth})", args.spade_size, s.batch_size))
    measure(args, runtime, results[-1], build_spade)


def _vae(args):
    """Stable Diffusion's VAE: local weights (`--sd`), else its config freshly initialised."""
    from diffusers import AutoencoderKL

    from vton.families.vae import load_vae

    if args.sd:
        return load_vae(args.sd, "--sd")
    return AutoencoderKL(**(TOY_VAE if args.toy else SD_VAE))


def run_ldm(args, params, runtime: Runtime, results: list[Result]) -> None:
    from vton.families.ldm import LatentDiffusion, ldm_config
    from vton.train.diffusion_tasks import LdmTask

    size = parse_size(args.ldm_size)
    width, levels, layers = (8, 2, 1) if args.toy else (128, 4, 2)
    s = dataclasses.replace(
        params.train_generator.ldm,
        batch_size=args.batch,
        width=width,
        levels=levels,
        layers=layers,
        gradient_checkpointing=args.checkpointing,
        perceptual_weights=args.perceptual_weights or params.train_generator.ldm.perceptual_weights,
    )
    vae = _vae(args)
    gmm = gmm_net(args, size)

    def build() -> Task:
        model = LatentDiffusion(ldm_config(s, dict(vae.config), size))
        model.vae.load_state_dict(vae.state_dict())
        return LdmTask(model, gmm, s)

    def sample(task: Task, batch: dict) -> object:
        warped = task.warped(batch)  # type: ignore[attr-defined]
        steps = 4 if args.toy else s.sample_steps
        return task.model.sample(batch, warped.cloth, warped.mask, steps=steps)  # type: ignore[attr-defined]

    name = f"ldm unet {width}x{levels} levels"
    results.append(Result("ldm", name, args.ldm_size, s.batch_size))
    measure(args, runtime, results[-1], build, sample)


def run_catvton(args, params, runtime: Runtime, results: list[Result]) -> None:
    from diffusers import UNet2DConditionModel

    from vton.families.catvton import SD15_INPAINTING_UNET, CatVTON, CatVTONConfig
    from vton.train.diffusion_tasks import CatvtonTask

    c = dataclasses.replace(
        params.train_generator.catvton,
        batch_size=args.batch,
        gradient_checkpointing=args.checkpointing,
    )
    vae = _vae(args)
    unet_config = dict(SD15_INPAINTING_UNET)
    if args.toy:
        unet_config |= {"block_out_channels": [16, 32], "layers_per_block": 1}
        unet_config |= {"down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"]}
        unet_config |= {"up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"]}
        unet_config |= {"cross_attention_dim": 16, "attention_head_dim": 4, "norm_num_groups": 8}

    def build() -> Task:
        if args.sd:
            model = CatVTON.from_local(args.sd, args.sd)
        else:
            unet = UNet2DConditionModel(**unet_config)
            model = CatVTON(
                CatVTONConfig(unet_config=dict(unet.config), vae_config=dict(vae.config))
            )
            model.vae.load_state_dict(vae.state_dict())
        return CatvtonTask(model, c)

    def sample(task: Task, batch: dict) -> object:
        steps = 2 if args.toy else c.sample_steps
        return task.model.sample(batch, steps=steps, guidance=c.guidance)  # type: ignore[attr-defined]

    results.append(Result("catvton", "sd15-inpainting attn1", args.catvton_size, c.batch_size))
    measure(args, runtime, results[-1], build, sample)


def run_tryondiffusion(args, params, runtime: Runtime, results: list[Result]) -> None:
    from vton.families import tryondiffusion as td
    from vton.train.tryondiffusion_task import ParallelUNetTask

    size = parse_size(args.tryondiffusion_size)
    tasks = {}
    for role, section in (("base", params.train_generator.tryondiffusion), ("sr", params.train_sr)):
        shape = TOY_PARALLEL_UNET if args.toy else PARALLEL_UNET_WIDTHS | PARALLEL_UNETS[role]
        s = dataclasses.replace(
            section, batch_size=args.batch, gradient_checkpointing=args.checkpointing, **shape
        )
        config = td.unet_config(s, lowres=role == "sr", size=size)

        def build(config=config, s=s) -> Task:
            return ParallelUNetTask(td.ParallelUNet(config), s)

        shown = size if role == "sr" else td.base_size(size)
        name = f"parallel-unet {role} {'-'.join(map(str, config.channels))}"
        results.append(Result("tryondiffusion", name, "x".join(map(str, shown)), args.batch))
        tasks[role] = measure(args, runtime, results[-1], build)
    if tasks["base"] is None or tasks["sr"] is None:
        return
    base, sr = (cast(ParallelUNetTask, tasks[r]).model for r in ("base", "sr"))
    g = params.train_generator.tryondiffusion
    config = td.TryOnDiffusionConfig(
        base=dataclasses.asdict(base.config),
        sr=dataclasses.asdict(sr.config),
        sample_steps=4 if args.toy else g.sample_steps,
        sr_sample_steps=2 if args.toy else params.train_sr.sample_steps,
        guidance=g.guidance,
    )
    cascade = td.TryOnDiffusion(config).to(runtime.device).eval()
    cascade.base.load_state_dict(base.state_dict())
    cast(td.ParallelUNet, cascade.sr).load_state_dict(sr.state_dict())
    batch = {
        k: v.to(runtime.device) if torch.is_tensor(v) else v
        for k, v in synthetic_batch(args.batch, *size, seed=0).items()
    }
    result = Result("tryondiffusion", "cascade sample", args.tryondiffusion_size, args.batch)
    results.append(result)
    began = time.perf_counter()
    with torch.no_grad(), runtime.autocast():
        out, _ = cascade.sample(batch, generator=torch.Generator().manual_seed(0))
    sync(runtime.device)
    result.sample_s = time.perf_counter() - began
    result.losses = {"finite": float(torch.isfinite(out).all())}
    if runtime.device.type == "cuda":
        result.peak_gib = torch.cuda.max_memory_allocated(runtime.device) / 2**30
    print(result.row(), flush=True)


RUNS = {
    "gmm_tom": run_gmm_tom,
    "unet_sa": run_unet_sa,
    "hrviton": run_hrviton,
    "ldm": run_ldm,
    "catvton": run_catvton,
    "tryondiffusion": run_tryondiffusion,
}


def arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    p.add_argument("--families", default=",".join(FAMILIES), help="comma-separated")
    p.add_argument("--steps", type=int, default=200, help="steps per model, warm-up included")
    p.add_argument("--warmup", type=int, default=5, help="first steps left out of the timing")
    p.add_argument("--batch", type=int, default=4, help="batch size of every model")
    p.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="autocast (default: on for CUDA, off on CPU, as training)",
    )
    p.add_argument("--amp-dtype", choices=("bfloat16", "float16"), default="bfloat16")
    p.add_argument("--toy", action="store_true", help="toy presets at tiny sizes (CPU sanity)")
    p.add_argument("--gmm-width", type=int, default=None, help="default 64 (toy 8)")
    p.add_argument("--gmm-levels", type=int, default=0, help="0: correlation at 16 rows")
    p.add_argument("--tom-width", type=int, default=None, help="default 64 (toy 8)")
    for name, what in (("gmm-tom", "gmm_tom"), ("unet-sa", "unet_sa"), ("ldm", "ldm")):
        p.add_argument(f"--{name}-size", default=None, help=f"HxW, default {SIZES[what][0]}")
    p.add_argument("--tocg-size", default=None, help=f"HxW, default {SIZES['tocg'][0]}")
    p.add_argument("--spade-size", default=None, help="HxW: 1024x768 (default), 512x384, 256x192")
    p.add_argument("--catvton-size", default=None, help=f"HxW, default {SIZES['catvton'][0]}")
    p.add_argument(
        "--tryondiffusion-size",
        default=None,
        help=f"the cascade's output HxW (the base at half), default {SIZES['tryondiffusion'][0]}",
    )
    p.add_argument(
        "--sd", default="", help="a local SD-1.5 inpainting pipeline root (unet/, vae/) to load"
    )
    p.add_argument(
        "--checkpointing",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="gradient checkpointing of the diffusion U-Nets",
    )
    p.add_argument("--perceptual-weights", default="", help="local VGG19 state dict: VGG terms on")
    p.add_argument(
        "--cudnn-benchmark",
        action="store_true",
        help="cuDNN autotuning instead of training's deterministic kernels",
    )
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args()
    args.families = args.families.split(",")
    unknown = [f for f in args.families if f not in FAMILIES]
    if unknown or args.steps < 1 or args.batch < 1:
        p.error(f"families from {', '.join(FAMILIES)}, --steps and --batch >= 1 ({unknown})")
    index = 1 if args.toy else 0
    for name in SIZES:
        key = f"{name}_size"
        setattr(args, key, getattr(args, key) or SIZES[name][index])
    args.gmm_width = args.gmm_width or (8 if args.toy else 64)
    args.tom_width = args.tom_width or (8 if args.toy else 64)
    return args


def runtime_for(args) -> Runtime:
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(
            f"error: --device {args.device} but CUDA is not available here (torch "
            f"{torch.__version__}, built for CUDA {torch.version.cuda}); run on a GPU machine "
            f"or pass --device cpu --toy for the CPU sanity check",
            file=sys.stderr,
        )
        sys.exit(2)
    device = torch.device(args.device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda:0")
    amp = device.type == "cuda" if args.amp is None else args.amp
    dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}[args.amp_dtype]
    return Runtime(device=device, amp=amp, amp_dtype=dtype)


def describe(args, runtime: Runtime) -> str:
    dev = runtime.device
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    amp = f"AMP {args.amp_dtype}" if runtime.amp else "no AMP"
    kernels = "cuDNN benchmark" if args.cudnn_benchmark else "deterministic kernels (training's)"
    return (
        f"{name}, torch {torch.__version__} (CUDA {torch.version.cuda}), {amp}"
        f"{' with grad scaling' if runtime.scaled else ''}, {kernels}, {args.steps} steps "
        f"({min(args.warmup, args.steps - 1)} warm-up), {'toy' if args.toy else 'full'} presets"
    )


def main() -> None:
    args = arguments()
    runtime = runtime_for(args)
    params = load_params(PROJECT / "params.yaml")
    print(describe(args, runtime), flush=True)
    print(HEADER, flush=True)
    results: list[Result] = []
    if args.cudnn_benchmark:
        torch.backends.cudnn.benchmark = True
        for family in args.families:
            RUNS[family](args, params, runtime, results)
    else:
        with deterministic(runtime.device):
            for family in args.families:
                RUNS[family](args, params, runtime, results)
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=1))
    bad = [f"{r.family}/{r.model}" for r in results if not r.ok]
    if bad:
        print(f"error: failed or non-finite: {', '.join(bad)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
