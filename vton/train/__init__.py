"""Training of the model families: `train_warp` then `train_generator` (each a DVC stage).

`train.family` picks what they train (`vton.families.kinds`): the warp (gmm, or tocg
for hrviton; `train_warp.module` names another; catvton's is the `none` kind, nothing to
train) and the image generator over the frozen warp (tom, unet_sa, spade, ldm, catvton or
tryondiffusion's base). `train_vae` writes the autoencoder the ldm family diffuses in
(trained, or a local one); `train_sr` tryondiffusion's super-resolution model.
All read the shared `train` params and their own section, run on the device chosen at
run time (CUDA when present, with mixed precision), under `torchrun` across processes or
GPUs with the same code, resume from their last checkpoint, log metrics and plots with
DVCLive and write preview grids. The result of each is a model directory (`config.json`
with its kind + `model.safetensors`) that
`vton.families.tryon_model.TryOnModel.from_pretrained(warp_dir, generator_dir)` loads.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

from vton.config import Params
from vton.families.kinds import WARPS, family_kinds, load_model
from vton.fileio import file_digest, tree_digest
from vton.models.blocks import WEIGHTS_NAME
from vton.train.data import TryOnDataset, dataset_size
from vton.train.loop import SCHEDULE_KEYS, Schedule, dataset_digest, fingerprint, fit
from vton.train.runtime import deterministic, seed_everything, start, stop
from vton.train.tasks import Task

# Params that only say how a trained diffusion model samples: they are saved in its config
# (the defaults of evaluation and try-on) but keep a checkpoint valid.
SAMPLING_KEYS = (
    "sample_steps",
    "eta",
    "guidance",
    "repaint",
    "clip_x0",
    "aug_level",
    "threshold",
)


def train_size(params: Params, dataset: Path) -> tuple[int, int]:
    """The training (height, width): train.data's, or the dataset's own when 0."""
    d = params.train.data
    if d.height and d.width:
        return d.height, d.width
    if d.height or d.width:
        raise ValueError("set both train.data.height and train.data.width, or neither (0)")
    return dataset_size(dataset)


def _schedule(section) -> Schedule:
    return Schedule(**{f.name: getattr(section, f.name) for f in dataclasses.fields(Schedule)})


def _loss_params(section) -> dict:
    skip = (*SCHEDULE_KEYS, *SAMPLING_KEYS)
    return {k: v for k, v in dataclasses.asdict(section).items() if k not in skip}


def _model_identity(config) -> dict:
    return {k: v for k, v in dataclasses.asdict(config).items() if k not in SAMPLING_KEYS}


def train_warp(
    params: Params,
    dataset: str | Path,
    out: str | Path,
    *,
    checkpoints: str | Path | None = None,
    live_dir: str | Path | None = None,
    samples_dir: str | Path | None = None,
) -> dict:
    """Train the family's warp on the paired train split of `dataset`; save it to `out`."""
    dataset = Path(dataset)
    warp, _ = family_kinds(params.train.family, params.train_warp.module)
    if warp == "none":
        return _no_warp(params, Path(out), live_dir)
    size = train_size(params, dataset)
    t = params.train_warp.tocg
    if warp == "tocg" and (t.height or t.width):
        if not (t.height and t.width):
            raise ValueError("set both train_warp.tocg.height and width, or neither (0)")
        size = (t.height, t.width)
    config, section, build = warp_task(params, warp, size)
    return _train(
        params,
        dataset,
        size,
        warp,
        config,
        section,
        build,
        out,
        checkpoints,
        live_dir,
        samples_dir,
    )


def _no_warp(params: Params, out: Path, live_dir: str | Path | None) -> dict:
    """The `none` warp of a family that warps nothing: saved, with a summary that says so."""
    from vton.families.nowarp import NoWarp

    NoWarp().save_pretrained(out)
    summary = {"step": 0, "resumed_from": 0, "samples_per_s": 0.0, "warp": "none"}
    if live_dir is not None:
        live = Path(live_dir)
        live.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"warp": "none", "family": params.train.family}, indent=2)
        (live / "metrics.json").write_text(text + "\n")
        (live / "plots" / "metrics").mkdir(parents=True, exist_ok=True)
    return summary


def warp_task(params: Params, kind: str, size: tuple[int, int]) -> tuple:
    """(model config, params section, task builder) of a warp kind at `size`."""
    height, width = size
    if kind == "gmm":
        from vton.models.gmm import GMM, GMMConfig
        from vton.train.tasks import GmmTask

        g = params.train_warp.gmm
        config = GMMConfig(
            width=g.width, levels=g.levels, grid=g.grid, height=height, image_width=width
        )
        return config, g, lambda: GmmTask(GMM(config), g)
    from vton.families.tocg import ConditionGenerator, TOCGConfig
    from vton.train.family_tasks import TocgTask

    t = params.train_warp.tocg
    tconfig = TOCGConfig(ngf=t.ngf, levels=t.levels, norm=t.norm, height=height, width=width)
    _divisible(size, 2**t.levels, f"train_warp.tocg.levels = {t.levels}")
    return tconfig, t, lambda: TocgTask(ConditionGenerator(tconfig), t)


def train_generator(
    params: Params,
    dataset: str | Path,
    warp_dir: str | Path,
    out: str | Path,
    *,
    checkpoints: str | Path | None = None,
    live_dir: str | Path | None = None,
    samples_dir: str | Path | None = None,
    vae_dir: str | Path | None = None,
    warped_dir: str | Path | None = None,
    sr_dir: str | Path | None = None,
) -> dict:
    """Train the family's generator over the frozen warp saved in `warp_dir`; save to `out`.

    ldm also reads the VAE in `vae_dir` (stage train_vae) and, when given, the warped
    garments stage warp_cloth packed into `warped_dir` (FileNotFoundError when its train
    pack is missing) instead of running the warp every step.
    tryondiffusion trains its base and saves it with the super-resolution model in `sr_dir`
    (stage train_sr) as one cascade; the SR model is not part of the base's checkpoint
    identity, so a new SR model re-exports the cascade without retraining the base."""
    dataset = Path(dataset)
    warp_kind, kind = family_kinds(params.train.family, params.train_warp.module)
    if kind == "catvton":  # the local weights first: a missing path fails at once
        from vton.train.diffusion_setup import catvton_folders

        catvton_folders(params)
    warp = load_model(warp_dir, WARPS)
    if warp.kind != warp_kind:
        raise ValueError(
            f"{warp_dir} holds a {warp.kind} warp but train.family {params.train.family} with "
            f"train_warp.module {params.train_warp.module} trains over {warp_kind}: run "
            f"train_warp first"
        )
    size = train_size(params, dataset)
    identity: dict = {"warp": file_digest(Path(warp_dir) / WEIGHTS_NAME), "size": size}
    vae = None
    if kind == "ldm":
        from vton.families.vae import load_vae

        if vae_dir is None:
            raise ValueError("the ldm family needs the VAE (stage train_vae, --vae)")
        vae = load_vae(vae_dir, "--vae (stage train_vae's output)")
        identity["vae"] = tree_digest(vae_dir)
    sr = _super_resolution(sr_dir) if kind == "tryondiffusion" else None
    config, section, build = generator_task(params, kind, warp, size, vae, sr)
    if kind == "catvton":
        identity["pretrained"] = config.identity
        config = config.model
    warped = None
    if kind == "ldm" and warped_dir is not None:
        from vton.families.warp_cloth import pack_path

        warped = Path(warped_dir)
        pack = pack_path(warped, "train")
        if not pack.is_file():
            raise FileNotFoundError(
                f"{pack} is missing: --warped {warped_dir} is not what stage warp_cloth writes "
                f"(one pack per split); run warp_cloth first"
            )
        # packs are deterministic: the pack's bytes change exactly when a garment's do
        identity["warped"] = file_digest(pack)
    return _train(
        params,
        dataset,
        size,
        kind,
        config,
        section,
        build,
        out,
        checkpoints,
        live_dir,
        samples_dir,
        identity=identity,
        warped=warped,
    )


def _super_resolution(sr_dir: str | Path | None):
    """The SR Parallel-UNet stage train_sr saved in `sr_dir` (None when it saved `none`)."""
    from vton.families.kinds import SUPER_RESOLUTION

    if sr_dir is None:
        raise ValueError("the tryondiffusion family needs the SR model (stage train_sr, --sr)")
    model = load_model(sr_dir, SUPER_RESOLUTION)
    if model.kind == "none":
        print(f"note: {sr_dir} holds no super-resolution model: the cascade is the base alone")
        return None
    return model


def generator_task(
    params: Params, kind: str, warp, size: tuple[int, int], vae=None, sr=None
) -> tuple:
    """(model config, params section, task builder) of a generator kind over `warp` (ldm:
    and the VAE it diffuses in; catvton: a `Pretrained` config instead of the model's;
    tryondiffusion: its base's, exported with the SR model `sr`)."""
    g = params.train_generator
    if kind in ("ldm", "catvton", "tryondiffusion"):
        from vton.train.diffusion_setup import diffusion_task

        return diffusion_task(params, kind, warp, size, vae, sr)
    if kind == "tom":
        from vton.models.tom import TOM, TOMConfig
        from vton.train.tasks import TomTask

        t = g.tom
        config = TOMConfig(width=t.width, depth=t.depth, keep_unmasked=t.keep_unmasked)
        _divisible(size, 2**t.depth, f"train_generator.tom.depth = {t.depth}")
        return config, t, lambda: TomTask(TOM(config), warp, t)
    if kind == "unet_sa":
        from vton.families.unet_sa import UNetSAConfig, UNetSAGenerator
        from vton.train.family_tasks import UnetSATask

        u = g.unet_sa
        uconfig = UNetSAConfig(
            ngf=u.ngf,
            downsamplings=u.downsamplings,
            res_blocks=u.res_blocks,
            norm=u.norm,
            keep_unmasked=u.keep_unmasked,
            height=size[0],
            width=size[1],
        )
        _divisible(
            size, 2**u.downsamplings, f"train_generator.unet_sa.downsamplings = {u.downsamplings}"
        )
        return uconfig, u, lambda: UnetSATask(UNetSAGenerator(uconfig), warp, u)
    from vton.families.spade import SPADEConfig, SPADEGenerator, upsamplings_for
    from vton.train.family_tasks import SpadeTask

    p = g.spade
    depth: str = p.upsamplings
    if depth == "auto":
        depth = upsamplings_for(size[0]) if size[0] in (256, 512, 1024) else "normal"
    sconfig = SPADEConfig(
        ngf=p.ngf,
        hidden=p.hidden,
        injection=p.injection,
        upsamplings=depth,
        spectral=p.spectral,
        keep_unmasked=p.keep_unmasked,
        height=size[0],
        width=size[1],
    )
    sconfig.start_size(*size)  # a clear error now, not in the first step
    return sconfig, p, lambda: SpadeTask(SPADEGenerator(sconfig), warp, p)


def _divisible(size: tuple[int, int], step: int, what: str) -> None:
    if size[0] % step or size[1] % step:
        raise ValueError(
            f"training size {size[0]}x{size[1]} must divide by {step} ({what}); change "
            f"train.data.height/width"
        )


def _train(
    params: Params,
    dataset: Path,
    size: tuple[int, int],
    kind: str,
    config,
    section,
    build: Callable[[], Task],
    out: str | Path,
    checkpoints: str | Path | None,
    live_dir: str | Path | None,
    samples_dir: str | Path | None,
    identity: dict | None = None,
    warped: Path | None = None,
) -> dict:
    """Start the runtime, build the task (`build`, after seeding every RNG), fingerprint the
    run (model config, losses, data, seed, dataset and `identity`) and `fit` it, all with
    torch's deterministic kernels."""
    t = params.train
    runtime = start(t.device, t.amp, t.amp_dtype)
    try:
        with deterministic(runtime.device):
            seed_everything(t.seed)
            task = build()
            data = TryOnDataset(dataset, "train", size=size, augment=t.data, warped=warped)
            fp = fingerprint(
                kind=kind,
                model=_model_identity(config),
                loss=_loss_params(section),
                data=dataclasses.asdict(t.data),
                seed=t.seed,
                dataset=dataset_digest(dataset),
                **(identity or {}),
            )
            return fit(
                task,
                runtime,
                data,
                _schedule(section),
                t.seed,
                fp,
                out=Path(out),
                checkpoints=_path(checkpoints),
                live_dir=_path(live_dir),
                samples_dir=_path(samples_dir),
                loader_workers=params.run.loader_workers,
            )
    finally:
        stop(runtime)


def _path(p: str | Path | None) -> Path | None:
    return None if p is None else Path(p)
