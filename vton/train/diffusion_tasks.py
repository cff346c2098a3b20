"""The training steps of the diffusion families: the VAE, the ldm U-Net and catvton.

Each is a `vton.train.tasks.Task` the shared loop (`vton.train.loop.fit`) runs. Noise,
timesteps and condition dropout are drawn per sample from its seed
(`vton.families.diffusion`), so resuming replays and DDP splits them exactly. The ldm and
catvton tasks keep an EMA of the trained weights (in the checkpoint; the exported model
carries the averaged weights) and can checkpoint their U-Net's activations.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vton.config import CatvtonTrain, LdmTrain, VaeTrain
from vton.families import diffusion
from vton.families.catvton import CatVTON, concat
from vton.families.forward import Warped, run_warp
from vton.families.ldm import LatentDiffusion, ldm_composite
from vton.models.losses import PerceptualLoss
from vton.train.grid import image_grid
from vton.train.tasks import Task, frozen, vgg_from

# salts of the per-sample draws (what each generator stream is for)
NOISE, TIMESTEP, DROPOUT, POSTERIOR = 1, 2, 3, 4
PREVIEW_STEPS = 20  # DDIM steps of the preview grids


def _perceptual(path: str, key: str, weight: float) -> PerceptualLoss | None:
    if weight <= 0:
        return None
    vgg = vgg_from(path, key)
    return None if vgg is None else PerceptualLoss(vgg)


class VaeTask(Task):
    """The KL autoencoder on person and garment photos: L1 + KL (+ VGG)."""

    export_name = "vae"

    def __init__(self, vae: nn.Module, cfg: VaeTrain):
        self.cfg = cfg
        self.nets = {"vae": vae}
        self.optimizers = {"vae": torch.optim.Adam(vae.parameters(), lr=cfg.lr)}
        self.perceptual = _perceptual(
            cfg.perceptual_weights, "train_vae.perceptual_weights", cfg.lambda_vgg
        )
        self.frozen = () if self.perceptual is None else (self.perceptual,)

    def step(self, batch: dict) -> dict[str, float]:
        b, c = self.to_device(batch), self.cfg
        images = torch.cat([b["person"], b["cloth"]])
        gens = diffusion.generators(torch.cat([b["seed"], b["seed"] + 1]), POSTERIOR)
        vae: Any = self.run["vae"]
        with self.runtime.autocast():
            posterior = vae.encode(images).latent_dist
            noise = diffusion.per_sample_noise(gens, posterior.mean.shape[1:], images.device)
            z = posterior.mean + posterior.std * noise.to(posterior.mean.dtype)
            recon = vae.decode(z).sample.float()
        l1 = F.l1_loss(recon, images)
        kl = posterior.kl().float().mean() / images[0].numel()
        loss = l1 + c.lambda_kl * kl
        logs = {"l1": l1.item(), "kl": kl.item()}
        if self.perceptual is not None:
            vgg, _ = self.perceptual(recon, images)
            loss = loss + c.lambda_vgg * vgg
            logs["vgg"] = vgg.item()
        self.backward(loss, "vae")
        self.scaler.update()
        self.last = (images, recon)
        return {"loss": loss.item(), **logs}

    def preview(self) -> np.ndarray:
        images, recon = self.last
        return image_grid([images, recon.clamp(-1, 1)], rows=4)


class DiffusionTask(Task):
    """One trained denoiser (`model.trainable()`), AdamW, EMA and gradient checkpointing."""

    export_name = "model"

    def __init__(self, model: Any, lr: float, ema_decay: float, checkpointing: bool):
        self.model = model
        if checkpointing:
            model.unet.enable_gradient_checkpointing()
        params = model.trainable()
        self.nets = {"model": model}
        self.optimizers = {"model": torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999))}
        self.ema = diffusion.EMA(params, ema_decay)

    def setup(self, runtime) -> None:
        super().setup(runtime)
        self.ema.to(runtime.device)

    def extra_state(self) -> dict:
        return {"ema": self.ema.state_dict()}

    def load_extra_state(self, state: dict) -> None:
        self.ema.load_state_dict(state.get("ema", {}))

    def exported(self) -> nn.Module:
        """A copy of the model with the EMA weights (the live ones without EMA)."""
        out = copy.deepcopy(self.model).cpu()
        for p, value in zip(out.trainable(), self.ema.averaged(), strict=True):
            p.data.copy_(value)
        return out

    def optimise(self, loss: torch.Tensor) -> None:
        self.backward(loss, "model")
        self.scaler.update()
        self.ema.update()


class LdmTask(DiffusionTask):
    """Noise MSE on the person latent, plus VGG on the differentiable decode of the one-step
    clean estimate from the noised composite latent (the design's second branch)."""

    def __init__(self, model: LatentDiffusion, warp: nn.Module | None, cfg: LdmTrain):
        super().__init__(model, cfg.lr, cfg.ema_decay, cfg.gradient_checkpointing)
        self.cfg = cfg
        self.warp = None if warp is None else frozen(warp)
        self.perceptual = _perceptual(
            cfg.perceptual_weights, "train_generator.ldm.perceptual_weights", cfg.lambda_vgg
        )
        self.frozen = tuple(m for m in (self.warp, self.perceptual) if m is not None)

    def warped(self, b: dict) -> Warped:
        """The warped garment: the `cloth-warp` kinds the warp_cloth stage wrote when the
        batch has them, else the frozen warp run on the batch."""
        if "cloth_warp" in b:
            return Warped(b["cloth_warp"], b["cloth_warp_mask"], None, None)
        if self.warp is None:
            raise ValueError("the ldm task needs the warp model or the cloth-warp kinds")
        with torch.no_grad(), self.runtime.autocast():
            return run_warp(self.warp, b)

    def losses(self, b: dict) -> dict[str, torch.Tensor]:
        """The loss terms of a batch on the device: `mse`, and `vgg` with VGG weights."""
        model, c = self.model, self.cfg
        device = b["person"].device
        warped = self.warped(b)
        composite, mask = ldm_composite(b, warped.cloth, warped.mask)
        with torch.no_grad():
            cond = model.condition(composite, mask)
            posterior = diffusion.generators(b["seed"], POSTERIOR)
            z0 = diffusion.encode(model.vae, b["person"], posterior)
        noise = diffusion.per_sample_noise(
            diffusion.generators(b["seed"], NOISE), z0.shape[1:], device
        )
        t = diffusion.per_sample_timesteps(
            diffusion.generators(b["seed"], TIMESTEP), c.timesteps, device
        )
        sched = model.scheduler
        branches = [torch.cat([sched.add_noise(z0, noise, t), cond], 1)]
        z_agn = sched.add_noise(cond[:, : z0.shape[1]], noise, t)  # the same noise
        if self.perceptual is not None:
            branches.append(torch.cat([z_agn, cond], 1))
        with self.runtime.autocast():  # one forward over both branches (one DDP pass)
            eps = self.run["model"](torch.cat(branches), t.repeat(len(branches))).float()
        terms = {"mse": F.mse_loss(eps[: len(t)], noise)}
        if self.perceptual is not None:
            x0 = diffusion.predicted_x0(sched, z_agn, eps[len(t) :], t)
            with self.runtime.autocast():
                image = diffusion.decode(model.vae, x0).float()
            terms["vgg"], _ = self.perceptual(image, b["person"])
        self.last = (b, warped)
        return terms

    def step(self, batch: dict) -> dict[str, float]:
        terms = self.losses(self.to_device(batch))
        loss = terms["mse"] + self.cfg.lambda_vgg * terms.get("vgg", 0.0)
        self.optimise(loss)
        return {"loss": loss.item(), **{k: v.item() for k, v in terms.items()}}

    def preview(self) -> np.ndarray:
        b, warped = self.last
        model = self.model.eval()
        result, decoded = model.sample(
            b, warped.cloth, warped.mask, steps=PREVIEW_STEPS, generator=torch.Generator()
        )
        model.train()
        composite, _ = ldm_composite(b, warped.cloth, warped.mask)
        return image_grid([b["person"], b["cloth"], composite, decoded, result], rows=4)


class CatvtonTask(DiffusionTask):
    """Noise MSE over the whole [person ; garment] latent, the garment condition dropped for
    guidance, DREAM's estimate-adaptive correction when `dream` > 0."""

    def __init__(self, model: CatVTON, cfg: CatvtonTrain):
        super().__init__(model, cfg.lr, cfg.ema_decay, cfg.gradient_checkpointing)
        self.cfg = cfg
        if not 0 <= cfg.garment_dropout <= 1:
            raise ValueError(
                f"train_generator.catvton.garment_dropout must be in [0, 1], got "
                f"{cfg.garment_dropout}"
            )

    def step(self, batch: dict) -> dict[str, float]:
        b, c, model = self.to_device(batch), self.cfg, self.model
        device = b["person"].device
        seeds = b["seed"]
        with torch.no_grad():
            mask, z_person, z_garment = model.condition(b)
            z_truth = diffusion.encode(
                model.vae, b["person"].float(), diffusion.generators(seeds, POSTERIOR)
            )
        keep = diffusion.per_sample_uniform(diffusion.generators(seeds, DROPOUT), device)
        keep = (keep >= c.garment_dropout).float().view(-1, 1, 1, 1)
        target_latent = concat(z_truth, z_garment)
        noise = diffusion.per_sample_noise(
            diffusion.generators(seeds, NOISE), target_latent.shape[1:], device
        )
        t = diffusion.per_sample_timesteps(
            diffusion.generators(seeds, TIMESTEP), model.config.timesteps, device
        )
        sched = model.scheduler
        noisy = sched.add_noise(target_latent, noise, t)
        condition = (mask, z_person, z_garment * keep)
        target = noise
        if c.dream > 0:
            from diffusers.training_utils import compute_dream_and_update_latents

            def unet(x: torch.Tensor, timesteps: torch.Tensor, _ehs: Any) -> SimpleNamespace:
                return SimpleNamespace(sample=model(model.unet_input(x, *condition), timesteps))

            noisy, target = compute_dream_and_update_latents(
                cast(Any, unet), sched, t, noise, noisy, noise, cast(Any, None), c.dream
            )
        with self.runtime.autocast():
            eps = self.run["model"](model.unet_input(noisy, *condition), t).float()
        loss = F.mse_loss(eps, target)
        self.optimise(loss)
        self.last = b
        return {"loss": loss.item(), "kept_garment": keep.mean().item()}

    def preview(self) -> np.ndarray:
        b = self.last
        model = self.model.eval()
        result, _ = model.sample(b, steps=PREVIEW_STEPS, generator=torch.Generator())
        model.train()
        mask = b["agnostic_mask"]
        return image_grid([b["person"], b["cloth"], b["person"] * (mask < 0.5), result], rows=4)
