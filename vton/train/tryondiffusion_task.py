"""The training step of one Parallel-UNet of the tryondiffusion cascade (the base or the
super-resolution model), on the shared loop (`vton.train.loop.fit`).

A batch comes at the output size. The base learns the person at half that size; the SR
model learns it at that size from the ground truth downsampled to the base's size and
upsampled again (the cascade's training input; at sampling it is the base's sample). Every
random draw (time, noise, the augmentation level and its noise, condition dropout) comes
from the sample's seed, so resuming replays and DDP splits them exactly.
"""

from __future__ import annotations

import dataclasses
from typing import cast

import numpy as np
import torch
from torch import nn

from vton.config import ParallelUNetTrain
from vton.families import diffusion
from vton.families import tryondiffusion as td
from vton.families.parallel_unet import ParallelUNet
from vton.train.diffusion_tasks import DROPOUT, NOISE, PREVIEW_STEPS, TIMESTEP, DiffusionTask
from vton.train.grid import image_grid

AUGMENT, AUGMENT_NOISE = 5, 6  # salts: the augmentation level, then its noise (6, 7, 8)


def own_size(model: ParallelUNet, size: tuple[int, int]) -> tuple[int, int]:
    """The size a cascade member works at for output `size`: the SR's, or half of it."""
    return size if model.config.lowres else td.base_size(size)


def lowres_input(person: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The SR model's training input: `person` at the base's size, upsampled to `size`."""
    return td.upsampled(td.resized(person, td.base_size(size)), size)


class ParallelUNetTask(DiffusionTask):
    """Min-SNR-weighted noise MSE; `sr`, for the base, is the super-resolution model its
    export carries (None: a cascade of the base alone)."""

    def __init__(
        self,
        model: ParallelUNet,
        cfg: ParallelUNetTrain,
        sr: ParallelUNet | None = None,
        sampling: dict | None = None,
    ):
        super().__init__(model, cfg.lr, cfg.ema_decay, checkpointing=False)
        if cfg.gradient_checkpointing:
            model.enable_gradient_checkpointing()
        if not 0 <= cfg.cond_drop <= 1:
            raise ValueError(f"cond_drop must be in [0, 1], got {cfg.cond_drop}")
        self.cfg, self.sr, self.sampling = cfg, sr, sampling or {}

    def conditions(self, b: dict, x: dict, own: tuple[int, int], train: bool) -> td.Conditions:
        """The model's conditions at its size: augmented and dropped per sample (`train`),
        or clean and kept (previews)."""
        seeds, device = b["seed"], b["person"].device
        lowres = lowres_input(x["person"], own) if self.model.config.lowres else None
        if not train:
            aug = torch.zeros(len(seeds), device=device)
            return td.conditions(x, own, aug, [torch.zeros(1, device=device)] * 3, lowres)
        aug = diffusion.per_sample_uniform(diffusion.generators(seeds, AUGMENT), device)
        noise = [
            diffusion.per_sample_noise(
                diffusion.generators(seeds, AUGMENT_NOISE + k), (3, *own), device
            )
            for k in range(3)
        ]
        keep = diffusion.per_sample_uniform(diffusion.generators(seeds, DROPOUT), device)
        return td.conditions(x, own, aug, noise, lowres, keep >= self.cfg.cond_drop)

    def losses(self, b: dict) -> dict[str, torch.Tensor]:
        """`mse` (min-SNR weighted, what is optimised) and `mse_plain` of a batch on the device."""
        x = td.inputs(b)
        own = own_size(self.model, (x["person"].shape[-2], x["person"].shape[-1]))
        seeds, device = b["seed"], b["person"].device
        target = td.resized(x["person"], own)
        noise = diffusion.per_sample_noise(
            diffusion.generators(seeds, NOISE), target.shape[1:], device
        )
        t = diffusion.per_sample_uniform(diffusion.generators(seeds, TIMESTEP), device)
        cond = self.conditions(b, x, own, train=True)
        with self.runtime.autocast():
            eps = td.denoise(self.run["model"], td.noised(target, noise, t), t, cond).float()
        per_sample = (eps - noise).square().mean((1, 2, 3))
        weight = td.min_snr_weight(t, self.cfg.min_snr_gamma)
        self.last = (b, x, own)
        return {"mse": (weight * per_sample).mean(), "mse_plain": per_sample.mean().detach()}

    def step(self, batch: dict) -> dict[str, float]:
        terms = self.losses(self.to_device(batch))
        self.optimise(terms["mse"])
        return {"loss": terms["mse"].item(), "mse_plain": terms["mse_plain"].item()}

    def preview(self) -> np.ndarray:
        b, x, own = self.last
        model = self.model.eval()
        cond = self.conditions(b, x, own, train=False)
        guidance = float(self.sampling.get("guidance", 1.0))
        with torch.no_grad():
            out = td.sample(model, cond, PREVIEW_STEPS, guidance, torch.Generator())
        model.train()
        columns = [td.resized(x[k], own) for k in ("person", "agnostic", "garment")]
        if cond.lowres is not None:
            columns.append(cond.lowres)
        return image_grid([*columns, out], rows=4)

    def exported(self) -> nn.Module:
        """The SR model alone (EMA weights), or for the base the whole cascade."""
        unet = cast(ParallelUNet, super().exported())
        if self.model.config.lowres:
            return unet
        config = td.TryOnDiffusionConfig(
            base=dataclasses.asdict(unet.config),
            sr={} if self.sr is None else dataclasses.asdict(self.sr.config),
            **self.sampling,
        )
        cascade = td.TryOnDiffusion(config)
        cascade.base.load_state_dict(unet.state_dict())
        if self.sr is not None and cascade.sr is not None:
            cascade.sr.load_state_dict(self.sr.state_dict())
        return cascade
