"""What the diffusion families share: noise schedules, per-sample draws, DDIM, paste-back.

One function defines each family's betas (`betas`); training (`training_scheduler`:
diffusers' DDPMScheduler, for `add_noise` and alphas) and sampling (`sampling_scheduler`:
DDIMScheduler) are both built from it, so a model is always sampled with the schedule it was
trained with (the from-scratch LDM design's own pipeline sampled a cosine-trained model with
a linear schedule).

  cosine          GLIDE's cosine, s = 0.008, betas clipped to [1e-4, 0.999] (the ldm design:
                  the 1e-4 floor changes the first betas against diffusers' squaredcos_cap_v2)
  scaled_linear   Stable Diffusion's, sqrt-linear from 0.00085 to 0.012 (catvton)

Randomness of training (noise, timesteps, condition dropout) is drawn per sample from the
sample's seed (`vton.train.data`), so a DDP run over split batches draws exactly what one
process draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

Schedule = Literal["cosine", "scaled_linear"]
COSINE_S = 0.008
COSINE_FLOOR, COSINE_CAP = 1e-4, 0.999


def betas(schedule: Schedule, timesteps: int = 1000) -> np.ndarray:
    """(timesteps,) float64 betas of `schedule`."""
    if schedule == "cosine":

        def f(t: np.ndarray) -> np.ndarray:
            return np.cos((t / timesteps + COSINE_S) / (1 + COSINE_S) * math.pi / 2) ** 2

        t = np.arange(timesteps + 1, dtype=np.float64)
        alphas_cumprod = f(t) / f(np.zeros(1))
        out = 1 - alphas_cumprod[1:] / alphas_cumprod[:-1]
        return np.clip(out, COSINE_FLOOR, COSINE_CAP)
    if schedule == "scaled_linear":
        return np.linspace(0.00085**0.5, 0.012**0.5, timesteps, dtype=np.float64) ** 2
    raise ValueError(f"unknown noise schedule {schedule!r} (cosine or scaled_linear)")


def training_scheduler(schedule: Schedule, timesteps: int = 1000):
    """diffusers' DDPMScheduler over `betas(schedule)`, epsilon prediction."""
    from diffusers import DDPMScheduler

    return DDPMScheduler(
        num_train_timesteps=timesteps,
        trained_betas=betas(schedule, timesteps).tolist(),
        prediction_type="epsilon",
        clip_sample=False,
    )


def sampling_scheduler(schedule: Schedule, timesteps: int = 1000):
    """diffusers' DDIMScheduler over the same betas; steps spread evenly from T-1 to 0.

    No clipping: `clip_sample` would clip the *latent* x0 estimate (the design's bug 3);
    pixel values are clipped once, after decoding."""
    from diffusers import DDIMScheduler

    return DDIMScheduler(
        num_train_timesteps=timesteps,
        trained_betas=betas(schedule, timesteps).tolist(),
        prediction_type="epsilon",
        clip_sample=False,
        set_alpha_to_one=True,
        timestep_spacing="linspace",
    )


def generators(seeds: Sequence[int] | torch.Tensor, salt: int) -> list[torch.Generator]:
    """One CPU generator per sample, seeded from its seed and `salt` (what is drawn)."""
    values = seeds.tolist() if isinstance(seeds, torch.Tensor) else list(seeds)
    out = []
    for seed in values:
        state = np.random.SeedSequence([int(seed) % 2**63, salt]).generate_state(2)
        out.append(torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1])))
    return out


def per_sample_noise(
    gens: list[torch.Generator], shape: Sequence[int], device: torch.device
) -> torch.Tensor:
    """(B, *shape) standard normal noise, sample i from `gens[i]`."""
    return torch.stack([torch.randn(tuple(shape), generator=g) for g in gens]).to(device)


def per_sample_timesteps(gens: list[torch.Generator], timesteps: int, device) -> torch.Tensor:
    """(B,) int64 timesteps uniform in [0, timesteps)."""
    return torch.cat([torch.randint(0, timesteps, (1,), generator=g) for g in gens]).to(device)


def per_sample_uniform(gens: list[torch.Generator], device) -> torch.Tensor:
    """(B,) floats uniform in [0, 1)."""
    return torch.cat([torch.rand(1, generator=g) for g in gens]).to(device)


def predicted_x0(scheduler: Any, noisy: torch.Tensor, eps: torch.Tensor, t: torch.Tensor):
    """The one-step clean estimate (z_t - sqrt(1 - a_t) eps) / sqrt(a_t), differentiable."""
    a = scheduler.alphas_cumprod.to(noisy.device, torch.float32)[t].view(-1, 1, 1, 1)
    return (noisy.float() - (1 - a).sqrt() * eps.float()) / a.sqrt()


EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def ddim_sample(
    eps: EpsFn,
    start: torch.Tensor,
    scheduler: Any,
    steps: int,
    eta: float,
    generator: torch.Generator | None = None,
    *,
    from_start: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """DDIM from `start` noised to the first timestep (`from_start`; else from pure noise).

    `eps(z_t, t)` predicts the noise of a batch at one timestep (a 0-d tensor). Every random
    draw comes from `generator` (a CPU generator), so a fixed generator gives the same sample
    bit for bit. `progress(i, steps)` is called after each step."""
    if steps <= 0:
        raise ValueError(f"sampling steps must be positive, got {steps}")
    scheduler.set_timesteps(steps)
    device = start.device
    noise = torch.randn(start.shape, generator=generator).to(device, start.dtype)
    first = scheduler.timesteps[:1]
    z = scheduler.add_noise(start, noise, first.to(device)) if from_start else noise
    for i, t in enumerate(scheduler.timesteps):
        step_noise = None
        if eta > 0:
            step_noise = torch.randn(start.shape, generator=generator).to(device, start.dtype)
        e = eps(z, t.to(device))
        z = scheduler.step(e, t, z, eta=eta, variance_noise=step_noise).prev_sample
        if progress is not None:
            progress(i + 1, steps)
    return z


def paste_back(result: torch.Tensor, photo: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """`result` inside `mask` (1 = repaint), `photo` everywhere else, exactly."""
    return torch.where(mask > 0.5, result, photo)


def latent_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, 1, H, W) repaint mask at latent size: a latent cell repaints when any of its
    pixels does (max pooling), so nothing to repaint is lost to the downsampling."""
    return F.adaptive_max_pool2d(mask.float(), size)


def vae_scale(vae: Any) -> float:
    return float(getattr(vae.config, "scaling_factor", 0.18215) or 0.18215)


def encode(vae: Any, images: torch.Tensor, generator: list[torch.Generator] | None = None):
    """(B, 3, H, W) in [-1, 1] -> scaled latents: the posterior's mean (`generator` None) or
    a sample of it drawn per image."""
    posterior = vae.encode(images).latent_dist
    if generator is None:
        z = posterior.mean
    else:
        noise = per_sample_noise(generator, posterior.mean.shape[1:], images.device)
        z = posterior.mean + posterior.std * noise.to(posterior.mean.dtype)
    return z * vae_scale(vae)


def decode(vae: Any, latents: torch.Tensor) -> torch.Tensor:
    """Scaled latents -> (B, 3, H, W) images (not clipped; differentiable)."""
    return vae.decode(latents / vae_scale(vae)).sample


class EMA:
    """An exponential moving average of a module's trainable parameters (diffusers'
    EMAModel); `decay` 0 keeps none. Its state travels in the checkpoint."""

    def __init__(self, params: list[torch.nn.Parameter], decay: float):
        from diffusers.training_utils import EMAModel

        self.params = params
        self.model = EMAModel(params, decay=decay) if decay > 0 else None

    def to(self, device: torch.device) -> None:
        if self.model is not None:
            self.model.to(device)

    def update(self) -> None:
        if self.model is not None:
            self.model.step(self.params)

    def state_dict(self) -> dict:
        return {} if self.model is None else self.model.state_dict()

    def load_state_dict(self, state: dict) -> None:
        if self.model is not None and state:
            self.model.load_state_dict(state)

    def averaged(self) -> list[torch.Tensor]:
        """The averaged values (the live ones without EMA), detached copies on CPU."""
        if self.model is None:
            return [p.detach().cpu().clone() for p in self.params]
        return [p.detach().cpu().clone() for p in self.model.shadow_params]
