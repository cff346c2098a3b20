"""The ldm family's generator: latent diffusion over the warped garment (after DCI-VTON).

A frozen KL autoencoder (downsampling 8, diffusers' AutoencoderKL: a local SD VAE or the
one stage `train_vae` trains) and a U-Net that predicts the noise from 9 latent channels:

  z_t (4)  the noisy latent of the person photo
  z_c (4)  the latent of the composite: the agnostic image with the warped garment pasted
           in where the warped mask meets the agnostic mask
  m   (1)  the agnostic mask at latent size (1 = repaint)

The U-Net is diffusers' UNet2DModel with timestep-adaptive group norm (scale and shift from
the time embedding: `resnet_time_scale_shift="scale_shift"`) plus a squeeze-excitation gate
on every resnet block's residual branch (the design's SE blocks; diffusers has none).

Sampling (`sample`): DDIM over the training schedule (`vton.families.diffusion`), starting
from the composite's latent noised to the last timestep, each step's clean estimate clipped
to [-1, 1] in pixel space (`clip_x0`; decoded, clipped, encoded: the latent itself is never
clipped), the last decoded and pasted into the agnostic photo outside the mask.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch import nn

from vton.families import diffusion
from vton.models.blocks import ConfigModule


@dataclass(frozen=True)
class LDMConfig:
    base_channels: int = 32
    levels: int = 3
    max_channels: int = 512
    layers: int = 1
    se_reduction: int = 16
    latent_channels: int = 4
    timesteps: int = 1000
    schedule: str = "cosine"
    vae_config: dict = field(default_factory=dict)  # the AutoencoderKL's diffusers config
    sample_steps: int = 200
    eta: float = 0.0
    clip_x0: bool = True  # the clean estimate clipped to [-1, 1] in pixel space at each step
    height: int = 0  # the training size (0: not recorded)
    width: int = 0

    def channels(self) -> tuple[int, ...]:
        return tuple(min(self.base_channels * 2**i, self.max_channels) for i in range(self.levels))


class SqueezeExcite(nn.Module):
    """x * sigmoid(W2 silu(W1 mean(x))), the squeeze at channels / r (at least 4)."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.reduce = nn.Conv2d(channels, hidden, 1)
        self.expand = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.expand(nn.functional.silu(self.reduce(x.mean((2, 3), keepdim=True))))
        return x * torch.sigmoid(gate)


def vae_from_config(config: dict):
    from diffusers import AutoencoderKL

    return AutoencoderKL.from_config(config)


def frozen(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


class LatentDiffusion(ConfigModule):
    """forward(x (B, 9, h, w), t (B,)) -> predicted noise (B, 4, h, w); `vae` is frozen."""

    kind = "ldm"
    config_class = LDMConfig

    def __init__(self, config: LDMConfig):
        from diffusers import UNet2DModel

        super().__init__(config)
        if not config.vae_config:
            raise ValueError("an ldm config needs the VAE's config (vae_config)")
        self.vae = frozen(vae_from_config(config.vae_config))
        channels = config.channels()
        groups = 8 if all(c % 8 == 0 for c in channels) else 1
        latent = config.latent_channels
        unet: Any = UNet2DModel(
            sample_size=None,
            in_channels=2 * latent + 1,
            out_channels=latent,
            block_out_channels=channels,
            layers_per_block=config.layers,
            down_block_types=("DownBlock2D",) * config.levels,
            up_block_types=("UpBlock2D",) * config.levels,
            norm_num_groups=groups,
            resnet_time_scale_shift="scale_shift",
        )
        self.unet = unet
        resnets = [m for m in unet.modules() if type(m).__name__ == "ResnetBlock2D"]
        self.se = nn.ModuleList(
            SqueezeExcite(r.conv2.out_channels, config.se_reduction) for r in resnets
        )
        for resnet, se in zip(resnets, self.se, strict=True):
            resnet.conv2.register_forward_hook(_gate(cast(SqueezeExcite, se)))
        self.scheduler = diffusion.training_scheduler(
            cast(diffusion.Schedule, config.schedule), config.timesteps
        )

    def train(self, mode: bool = True):
        super().train(mode)
        self.vae.eval()  # frozen: always in eval mode
        return self

    def trainable(self) -> list[nn.Parameter]:
        return [*self.unet.parameters(), *self.se.parameters()]

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.unet(x, t).sample

    def latent_size(self, size: tuple[int, int]) -> tuple[int, int]:
        factor = 2 ** (len(self.config.vae_config.get("block_out_channels", [0] * 4)) - 1)
        return size[0] // factor, size[1] // factor

    @torch.no_grad()
    def sample(
        self,
        batch: dict[str, torch.Tensor],
        warped_cloth: torch.Tensor,
        warped_mask: torch.Tensor,
        *,
        steps: int = 0,
        eta: float | None = None,
        generator: torch.Generator | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(result, decoded): the try-on image pasted back, and the decoded sample alone."""
        c = self.config
        composite, mask = ldm_composite(batch, warped_cloth, warped_mask)
        cond = self.condition(composite, mask)
        scheduler = diffusion.sampling_scheduler(cast(diffusion.Schedule, c.schedule), c.timesteps)

        def eps(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            e = self(torch.cat([z, cond], 1), t.expand(z.shape[0]))
            return self.clipped(z, e, t) if c.clip_x0 else e

        z = diffusion.ddim_sample(
            eps,
            cond[:, : c.latent_channels],
            scheduler,
            steps or c.sample_steps,
            c.eta if eta is None else eta,
            generator,
            progress=progress,
        )
        decoded = diffusion.decode(self.vae, z).float().clamp(-1, 1)
        return diffusion.paste_back(decoded, batch["agnostic"].float(), mask), decoded

    def clipped(self, z: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The noise that makes the step's clean estimate the clipped image's latent.

        The one-step estimate (z - sqrt(1 - a) eps) / sqrt(a) divides by sqrt(a), 5e-5 at the
        cosine schedule's last timestep: a small error of the noise becomes a huge latent.
        It is decoded, clipped to [-1, 1] in pixel space and encoded again (never the latent
        itself), and the noise recomputed from it."""
        a = self.scheduler.alphas_cumprod.to(z.device, torch.float32)[t].view(-1, 1, 1, 1)
        x0 = diffusion.predicted_x0(self.scheduler, z, eps, t.expand(z.shape[0]))
        image = diffusion.decode(self.vae, x0.to(z.dtype)).clamp(-1, 1)
        x0 = diffusion.encode(self.vae, image).float()
        return ((z.float() - a.sqrt() * x0) / (1 - a).sqrt()).to(eps.dtype)

    def condition(self, composite: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, 5, h, w): the composite's latent (posterior mean) and the latent-size mask."""
        z = diffusion.encode(self.vae, composite)
        return torch.cat([z, diffusion.latent_mask(mask, tuple(z.shape[-2:]))], 1)


def _gate(se: SqueezeExcite):
    def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
        return se(output)

    return hook


def ldm_composite(
    batch: dict[str, torch.Tensor], warped_cloth: torch.Tensor, warped_mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(composite (B, 3, H, W), repaint mask (B, 1, H, W)): the agnostic image with the warped
    garment pasted in where the warped mask lies inside the agnostic mask."""
    mask = batch["agnostic_mask"].float()
    garment = warped_mask.float() * mask
    composite = batch["agnostic"].float() * (1 - garment) + warped_cloth.float() * garment
    return composite, mask


def ldm_config(params_section: Any, vae_config: dict, size: tuple[int, int]) -> LDMConfig:
    """The LDMConfig of the `train_generator.ldm` params over a VAE, at `size`."""
    s = params_section
    return LDMConfig(
        base_channels=s.width,
        levels=s.levels,
        max_channels=s.max_width,
        layers=s.layers,
        se_reduction=s.se_reduction,
        latent_channels=int(vae_config.get("latent_channels", 4)),
        timesteps=s.timesteps,
        vae_config=dict(vae_config),
        sample_steps=s.sample_steps,
        eta=s.eta,
        clip_x0=s.clip_x0,
        height=size[0],
        width=size[1],
    )


def config_without_vae(config: LDMConfig) -> dict:
    return {k: v for k, v in dataclasses.asdict(config).items() if k != "vae_config"}
