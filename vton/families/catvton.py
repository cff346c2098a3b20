"""The catvton family: concatenation in space, self-attention only (CatVTON, ICLR 2025).

A Stable Diffusion 1.5 *inpainting* UNet2DConditionModel and its VAE, from local paths.
The masked person and the garment are encoded separately and concatenated along the height
(the released code's axis); the U-Net reads 9 channels over that (2h, w) latent:

  z_t (4)                      the noisy latent of [person ; garment]
  [mask ; 0] (1)               the agnostic mask at latent size, zero over the garment half
  [masked person ; garment] (4)

No text encoder: every cross-attention (`attn2`) processor returns its input, so each
transformer block adds LayerNorm2(h) to h, as the released weights were trained. Only the
self-attention modules (`attn1`: 49.57M parameters of the SD-1.5 config) train. Classifier-
free guidance drops the garment latent to zeros; the result is the person half decoded,
optionally blended into the photo through a blurred mask (`repaint`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from vton.families import diffusion
from vton.families.ldm import frozen, vae_from_config
from vton.families.vae import model_folder
from vton.models.blocks import ConfigModule

# Stable Diffusion 1.5 inpainting's U-Net (runwayml/stable-diffusion-inpainting unet/).
SD15_INPAINTING_UNET: dict[str, Any] = {
    "sample_size": 64,
    "in_channels": 9,
    "out_channels": 4,
    "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
    "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
    "block_out_channels": [320, 640, 1280, 1280],
    "layers_per_block": 2,
    "cross_attention_dim": 768,
    "attention_head_dim": 8,
}
UNET_KEY, VAE_KEY = "train_generator.catvton.unet", "train_generator.catvton.vae"
CONCAT_DIM = -2  # the height


class SkipAttnProcessor:
    """An attention processor that returns its input: the cross-attention of a block adds
    its normalised input (h + LN(h)) instead of attending to text."""

    def __call__(self, attn: Any, hidden_states: torch.Tensor, *args: Any, **kwargs: Any):
        return hidden_states


def skip_cross_attention(unet: nn.Module) -> None:
    """Every `attn2` processor skipped; the self-attentions keep diffusers' default."""
    from diffusers.models.attention_processor import AttnProcessor2_0

    unet_any: Any = unet
    unet_any.set_attn_processor(
        {
            name: SkipAttnProcessor() if ".attn2." in f".{name}" else AttnProcessor2_0()
            for name in unet_any.attn_processors
        }
    )


def is_self_attention(name: str) -> bool:
    return ".attn1." in f".{name}"


def trainable_parameters(unet: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The self-attention parameters (to_q, to_k, to_v, to_out of every attn1)."""
    return [(n, p) for n, p in unet.named_parameters() if is_self_attention(n)]


def concat(person: torch.Tensor, garment: torch.Tensor) -> torch.Tensor:
    return torch.cat([person, garment], CONCAT_DIM)


def split(latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The person and garment halves of a concatenated latent."""
    person, garment = latent.chunk(2, CONCAT_DIM)
    return person, garment


@dataclass(frozen=True)
class CatVTONConfig:
    unet_config: dict = field(default_factory=dict)
    vae_config: dict = field(default_factory=dict)
    timesteps: int = 1000
    schedule: str = "scaled_linear"
    sample_steps: int = 50
    eta: float = 1.0
    guidance: float = 2.5
    repaint: bool = False
    height: int = 0
    width: int = 0


class CatVTON(ConfigModule):
    """forward(x (B, 9, 2h, w), t (B,)) -> noise (B, 4, 2h, w); `vae` frozen; only `attn1`
    parameters require gradients."""

    kind = "catvton"
    config_class = CatVTONConfig

    def __init__(self, config: CatVTONConfig):
        from diffusers import UNet2DConditionModel

        super().__init__(config)
        if not config.unet_config or not config.vae_config:
            raise ValueError("a catvton config needs its unet_config and vae_config")
        self.unet: Any = UNet2DConditionModel.from_config(config.unet_config)
        skip_cross_attention(self.unet)
        for name, p in self.unet.named_parameters():
            p.requires_grad_(is_self_attention(name))
        self.vae = frozen(vae_from_config(config.vae_config))
        self.scheduler = diffusion.training_scheduler(
            cast(diffusion.Schedule, config.schedule), config.timesteps
        )

    @classmethod
    def from_local(cls, unet: str | Path, vae: str | Path, **settings: Any) -> CatVTON:
        """The SD inpainting U-Net and the VAE from local diffusers folders (the keys of
        params.yaml name them in every error)."""
        from diffusers import AutoencoderKL, UNet2DConditionModel

        unet_dir = model_folder(unet, "unet", UNET_KEY, "UNet2DConditionModel")
        vae_dir = model_folder(vae, "vae", VAE_KEY, "AutoencoderKL")
        try:
            u = UNet2DConditionModel.from_pretrained(str(unet_dir), low_cpu_mem_usage=False)
            v = AutoencoderKL.from_pretrained(str(vae_dir), low_cpu_mem_usage=False)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{UNET_KEY} / {VAE_KEY}: cannot load the weights: {exc}") from exc
        if u.config.in_channels != 9:
            raise ValueError(
                f"{UNET_KEY} = {unet}: the U-Net reads {u.config.in_channels} channels; catvton "
                f"needs an inpainting U-Net (9: latent, mask, masked-image latent)"
            )
        config = CatVTONConfig(unet_config=dict(u.config), vae_config=dict(v.config), **settings)
        model = cls(config)
        model.unet.load_state_dict(u.state_dict())
        model.vae.load_state_dict(v.state_dict())
        return model

    def train(self, mode: bool = True):
        super().train(mode)
        self.vae.eval()
        return self

    def trainable(self) -> list[nn.Parameter]:
        return [p for _, p in trainable_parameters(self.unet)]

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.unet(x, t, encoder_hidden_states=None).sample

    def condition(
        self, batch: dict[str, torch.Tensor], generators: list[torch.Generator] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mask channel (B, 1, 2h, w), masked-person latent, garment latent (B, 4, h, w)).

        The person is masked to zero where the agnostic mask repaints."""
        mask = batch["agnostic_mask"].float()
        person = batch["person"].float() * (mask < 0.5)
        z_person = diffusion.encode(self.vae, person)
        z_garment = diffusion.encode(self.vae, batch["cloth"].float())
        m = diffusion.latent_mask(mask, tuple(z_person.shape[-2:]))
        return concat(m, torch.zeros_like(m)), z_person, z_garment

    @staticmethod
    def unet_input(
        z_t: torch.Tensor, mask: torch.Tensor, z_person: torch.Tensor, z_garment: torch.Tensor
    ) -> torch.Tensor:
        return torch.cat([z_t, mask, concat(z_person, z_garment)], 1)

    @torch.no_grad()
    def sample(
        self,
        batch: dict[str, torch.Tensor],
        *,
        steps: int = 0,
        eta: float | None = None,
        guidance: float | None = None,
        generator: torch.Generator | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(result, decoded person half): DDIM from noise with classifier-free guidance
        (the unconditional branch has the garment latent zeroed, nothing else)."""
        c = self.config
        g = c.guidance if guidance is None else guidance
        mask, z_person, z_garment = self.condition(batch)
        cond = self.unet_input(
            torch.zeros_like(concat(z_person, z_garment)), mask, z_person, z_garment
        )
        uncond = guidance_input(cond)

        def eps(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            n = z.shape[0]
            if g == 1.0:
                cond[:, :4] = z
                return self(cond, t.expand(n))
            both = torch.cat([cond, uncond])
            both[:, :4] = torch.cat([z, z])
            e_cond, e_uncond = self(both, t.expand(2 * n)).chunk(2)
            return e_uncond + g * (e_cond - e_uncond)

        scheduler = diffusion.sampling_scheduler(cast(diffusion.Schedule, c.schedule), c.timesteps)
        z = diffusion.ddim_sample(
            eps,
            concat(z_person, z_garment),
            scheduler,
            steps or c.sample_steps,
            c.eta if eta is None else eta,
            generator,
            from_start=False,
            progress=progress,
        )
        person_half, _ = split(z)
        decoded = diffusion.decode(self.vae, person_half).float().clamp(-1, 1)
        result = decoded
        if c.repaint:
            result = repaint(decoded, batch["person"].float(), batch["agnostic_mask"].float())
        return result, decoded


def guidance_input(cond: torch.Tensor) -> torch.Tensor:
    """The unconditional U-Net input of `cond`: the garment half of the condition latent
    (channels 5..8, lower half) zeroed; the noisy latent, the mask and the person kept."""
    uncond = cond.clone()
    half = cond.shape[CONCAT_DIM] // 2
    uncond[:, 5:, half:] = 0
    return uncond


def repaint(result: torch.Tensor, photo: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The result blended into the photo through the mask blurred by a Gaussian of kernel
    H/50 (odd, at least 3; sigma a third of it)."""
    k = max(3, int(result.shape[-2] / 50) | 1)
    x = torch.arange(k, dtype=torch.float32, device=mask.device) - k // 2
    w = torch.exp(-0.5 * (x / (k / 3)) ** 2)
    w = (w / w.sum()).to(mask.dtype)
    soft = nn.functional.pad(mask, (k // 2,) * 4, mode="replicate")
    soft = nn.functional.conv2d(soft, w.view(1, 1, 1, k))
    soft = nn.functional.conv2d(soft, w.view(1, 1, k, 1))
    return photo * (1 - soft) + result * soft
