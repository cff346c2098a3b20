"""The tryondiffusion family: TryOnDiffusion's pixel-space cascade of two Parallel-UNets.

Inputs (`inputs`, from a batch of `vton.train.data`'s contract at the output size):

  person        the photo (the target)
  agnostic      the design's clothing-agnostic image (`box_agnostic`): the person's bounding
                box greyed, then the head (hair, face), the hands (arm pixels outside the
                agnostic mask's arm strips) and the lower body (bottom garment, legs, shoes,
                socks) pasted back from the photo. Made from the parse and the agnostic mask
                on the device, so it needs no files beyond the VITON-HD kinds
  garment       the segmented garment I_c = cloth x cloth mask (black outside the mask)
  person_pose   (18, 2) COCO-18 keypoints normalised to [0, 1] (missing: 0, 0)
  garment_pose  (18, 2) the constant 0.5: flat-lay garments have no pose (the stand-in the
                design's authors recommend)

Diffusion (`log_snr`, `noised`, `min_snr_weight`, `sample`): continuous time t in [0, 1]
with the cosine schedule log SNR(t) = -2 log tan(pi/2 (t + s) / (1 + s)), s = 0.008
(clamped to [-20, 20]); epsilon prediction, each sample's MSE weighted by min(SNR, gamma) /
SNR (min-SNR, gamma 5); conditioning images noise-augmented to a level drawn from U[0, 1]
in training and fixed at sampling, the level embedded as a condition; the garment and both
poses dropped together for 10 % of the samples; sampling by the ancestral sampler of the
same schedule with classifier-free guidance and dynamic thresholding (each clean estimate
clipped to its 95th percentile of |x|, at least 1, and rescaled).

The cascade (`TryOnDiffusion`, kind `tryondiffusion`, what stage `train_generator` saves):
the base Parallel-UNet at half the output size (128x96 at 256x192), then the super-
resolution Parallel-UNet at the output size conditioned on the upsampled base sample (stage
`train_sr`). The result keeps the photo's pixels wherever the agnostic image kept them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from vton.families.parallel_unet import ParallelUNet, ParallelUNetConfig
from vton.models.blocks import ConfigModule

SR_FACTOR = 2  # the super-resolution model doubles the base model's size
COSINE_S = 0.008
LOG_SNR_LIMIT = 20.0
# 13-group ids (vton.formats.labels.PARSE_GROUPS) the box agnostic pastes back
HEAD_GROUPS = (1, 2)  # hair, face
LOWER_GROUPS = (4, 7, 8, 9, 10, 11)  # bottom, legs, shoes, socks
ARM_GROUPS = (5, 6)
GARMENT_POSE = 0.5


@dataclass(frozen=True)
class Conditions:
    """What a Parallel-UNet is conditioned on, at its own size."""

    agnostic: torch.Tensor  # (B, 3, H, W) in [-1, 1] (noise-augmented)
    garment: torch.Tensor  # (B, 3, H, W) in [-1, 1] (noise-augmented)
    person_pose: torch.Tensor  # (B, 18, 2) in [0, 1]
    garment_pose: torch.Tensor  # (B, 18, 2) in [0, 1]
    aug: torch.Tensor  # (B,) the noise-augmentation level in [0, 1]
    lowres: torch.Tensor | None = None  # (B, 3, H, W), the SR model's upsampled input
    keep: torch.Tensor | None = None  # (B,) bool: False drops the garment and the poses

    def dropped(self) -> Conditions:
        """The unconditional inputs of guidance: garment and poses dropped, nothing else."""
        keep = torch.zeros(self.aug.shape[0], dtype=torch.bool, device=self.aug.device)
        return dataclasses.replace(self, keep=keep)


def box_agnostic(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(agnostic (B, 3, H, W) in [-1, 1], masked (B, 1, H, W) {0, 1}): the photo with the
    person's bounding box greyed except head, hands and lower body."""
    parse = batch["parse"].long()
    person = batch["person"].float()
    body = parse > 0
    masked = torch.zeros_like(body)
    for i in range(parse.shape[0]):
        ys, xs = torch.nonzero(body[i], as_tuple=True)
        if len(ys):
            masked[i, ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
    keep = torch.isin(parse, torch.tensor((*HEAD_GROUPS, *LOWER_GROUPS), device=parse.device))
    arms = torch.isin(parse, torch.tensor(ARM_GROUPS, device=parse.device))
    keep |= arms & (batch["agnostic_mask"][:, 0] < 0.5)  # the hands
    masked = (masked & ~keep)[:, None].float()
    return person * (1 - masked), masked


def normalised_pose(keypoints: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, 25, 3) BODY_25 pixels + confidence -> (B, 18, 2) COCO-18 in [0, 1] (missing: 0)."""
    from vton.formats.openpose import COCO18_TO_BODY25

    points = keypoints[:, list(COCO18_TO_BODY25)].float()
    scale = torch.tensor([size[1], size[0]], dtype=torch.float32, device=points.device)
    xy = (points[..., :2] / scale).clamp(0, 1)
    return xy * (points[..., 2:] > 0).float()


def inputs(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The family's tensors of a batch at its own size (see the module doc)."""
    size = (batch["person"].shape[-2], batch["person"].shape[-1])
    agnostic, masked = box_agnostic(batch)
    mask = batch["cloth_mask"].float()
    garment = (batch["cloth"].float() + 1) * mask - 1
    person_pose = normalised_pose(batch["keypoints"], size)
    return {
        "person": batch["person"].float(),
        "agnostic": agnostic,
        "masked": masked,
        "garment": garment,
        "person_pose": person_pose,
        "garment_pose": torch.full_like(person_pose, GARMENT_POSE),
    }


def base_size(size: tuple[int, int]) -> tuple[int, int]:
    """The base model's (height, width) under a cascade output of `size`."""
    return size[0] // SR_FACTOR, size[1] // SR_FACTOR


def upsampled(low: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The SR model's low-resolution input at `size`: bilinear, the same in training (the
    downsampled ground truth) and sampling (the base's sample)."""
    return F.interpolate(low, size=size, mode="bilinear", align_corners=False)


def resized(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Images resized with an antialiased bilinear filter (the identity at their size)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


def log_snr(t: torch.Tensor) -> torch.Tensor:
    """The continuous cosine schedule's log SNR at times `t` in [0, 1] (float32)."""
    # float64 and cos, sin apart: in float32 the angle at t = 1 rounds past pi / 2, where
    # tan turns negative
    angle = (t.double() + COSINE_S) / (1 + COSINE_S) * math.pi / 2
    cos, sin = torch.cos(angle).clamp(min=1e-12), torch.sin(angle).clamp(min=1e-12)
    lsnr = 2 * (torch.log(cos) - torch.log(sin))
    return lsnr.clamp(-LOG_SNR_LIMIT, LOG_SNR_LIMIT).float()


def alpha_sigma(lsnr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(alpha, sigma) with alpha^2 + sigma^2 = 1 and alpha^2 / sigma^2 = exp(lsnr)."""
    return torch.sigmoid(lsnr).sqrt(), torch.sigmoid(-lsnr).sqrt()


def noised(x: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t = alpha(t) x + sigma(t) noise, per sample."""
    alpha, sigma = alpha_sigma(log_snr(t))
    return alpha.view(-1, 1, 1, 1) * x + sigma.view(-1, 1, 1, 1) * noise


def min_snr_weight(t: torch.Tensor, gamma: float) -> torch.Tensor:
    """(B,) min(SNR, gamma) / SNR, the epsilon-prediction weight of min-SNR weighting."""
    snr = torch.exp(log_snr(t))
    return snr.clamp(max=gamma) / snr


def dynamic_threshold(x0: torch.Tensor, percentile: float) -> torch.Tensor:
    """Clip each sample to its `percentile` of |x0| (at least 1) and rescale into [-1, 1]."""
    s = torch.quantile(x0.flatten(1).abs().float(), percentile, dim=1).clamp(min=1.0)
    s = s.view(-1, 1, 1, 1).to(x0.dtype)
    return x0.clamp(-s, s) / s


def denoise(model: Any, x: torch.Tensor, t: torch.Tensor, cond: Conditions) -> torch.Tensor:
    """The noise `model` (a ParallelUNet or its DDP wrapper) predicts in `x` at times `t`."""
    return model(
        x,
        cond.agnostic,
        cond.garment,
        cond.person_pose,
        cond.garment_pose,
        t,
        cond.aug,
        cond.lowres,
        keep=cond.keep,
    )


def predict(
    model: ParallelUNet, x: torch.Tensor, t: torch.Tensor, cond: Conditions, guidance: float
) -> torch.Tensor:
    """The guided noise estimate: eps_u + w (eps_c - eps_u) (one conditional pass at w = 1)."""
    if guidance == 1.0:
        return denoise(model, x, t, cond).float()
    both = _stacked(cond, cond.dropped())
    e = denoise(model, torch.cat([x, x]), torch.cat([t, t]), both).float()
    e_cond, e_uncond = e.chunk(2)
    return e_uncond + guidance * (e_cond - e_uncond)


def _stacked(a: Conditions, b: Conditions) -> Conditions:
    keep_a = a.keep if a.keep is not None else torch.ones_like(a.aug, dtype=torch.bool)
    assert b.keep is not None
    return Conditions(
        torch.cat([a.agnostic, b.agnostic]),
        torch.cat([a.garment, b.garment]),
        torch.cat([a.person_pose, b.person_pose]),
        torch.cat([a.garment_pose, b.garment_pose]),
        torch.cat([a.aug, b.aug]),
        None if a.lowres is None or b.lowres is None else torch.cat([a.lowres, b.lowres]),
        torch.cat([keep_a, b.keep]),
    )


def sample(
    model: ParallelUNet,
    cond: Conditions,
    steps: int,
    guidance: float,
    generator: torch.Generator | None,
    *,
    percentile: float = 0.95,
    progress: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1]: ancestral sampling from pure noise at t = 1 to t = 0 in
    `steps` even steps, every random draw from `generator` (a CPU generator)."""
    if steps <= 0:
        raise ValueError(f"sampling steps must be positive, got {steps}")
    shape = tuple(cond.agnostic.shape)
    device, b = cond.agnostic.device, shape[0]
    x = torch.randn(shape, generator=generator).to(device)
    times = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    for i in range(steps):
        t, s = float(times[i]), float(times[i + 1])
        lt = log_snr(torch.tensor([t]))
        ls = log_snr(torch.tensor([s]))
        alpha_t, sigma_t = alpha_sigma(lt)
        eps = predict(model, x, torch.full((b,), t, device=device), cond, guidance)
        x0 = dynamic_threshold((x - sigma_t.to(device) * eps) / alpha_t.to(device), percentile)
        if i == steps - 1:
            x = x0
        else:
            alpha_s, sigma_s = alpha_sigma(ls)
            c = -torch.expm1(lt - ls)  # 1 - SNR(t) / SNR(s)
            mean = alpha_s * (x * (1 - c).to(device) / alpha_t + c * x0)
            std = (sigma_s**2 * c).sqrt()
            noise = torch.randn(shape, generator=generator).to(device)
            x = mean + std.to(device) * noise
        if progress is not None:
            progress(i + 1, steps)
    return x.clamp(-1, 1)


def unet_config(section: Any, lowres: bool, size: tuple[int, int]) -> ParallelUNetConfig:
    """The ParallelUNetConfig of a params section (train_generator.tryondiffusion or
    train_sr) at `size`."""
    s = section
    config = ParallelUNetConfig(
        channels=tuple(s.channels),
        blocks=tuple(s.blocks),
        attention_levels=s.attention_levels,
        heads=s.heads,
        dim_head=s.dim_head,
        cond_dim=s.cond_dim,
        pose_dim=s.pose_dim,
        pose_depth=s.pose_depth,
        lowres=lowres,
        height=size[0],
        width=size[1],
    )
    config.check()
    return config


def _as_config(doc: dict) -> ParallelUNetConfig:
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in doc.items()}
    return ParallelUNetConfig(**values)


@dataclass(frozen=True)
class TryOnDiffusionConfig:
    base: dict = field(default_factory=dict)  # the base ParallelUNetConfig
    sr: dict = field(default_factory=dict)  # the SR one ({}: the base alone, upsampled)
    sample_steps: int = 64
    sr_sample_steps: int = 32
    guidance: float = 2.0
    aug_level: float = 0.0  # the conditioning images' noise level at sampling
    threshold: float = 0.95  # dynamic thresholding percentile
    height: int = 0  # the output size it was trained at
    width: int = 0


class TryOnDiffusion(ConfigModule):
    """The cascade: `base` (a ParallelUNet at half size) and `sr` (None: no SR stage)."""

    kind = "tryondiffusion"
    config_class = TryOnDiffusionConfig

    def __init__(self, config: TryOnDiffusionConfig):
        super().__init__(config)
        if not config.base:
            raise ValueError("a tryondiffusion config needs the base model's config (base)")
        self.base = ParallelUNet(_as_config(config.base))
        self.sr = ParallelUNet(_as_config(config.sr)) if config.sr else None

    @property
    def step(self) -> int:
        """What the output's height and width must divide by."""
        steps = [SR_FACTOR * self.base.config.step]
        if self.sr is not None:
            steps.append(self.sr.config.step)
        return math.lcm(*steps)

    @torch.no_grad()
    def sample(
        self,
        batch: dict[str, torch.Tensor],
        *,
        steps: int = 0,
        guidance: float | None = None,
        generator: torch.Generator | None = None,
        progress: Callable[[int, int], None] | None = None,
        eta: float | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(result pasted into the photo's kept pixels, the cascade's sample alone), both at
        the batch's size. `steps`: the base's (the SR takes `sr_sample_steps` scaled alike);
        `eta` is ignored (the ancestral sampler has none)."""
        c = self.config
        x = inputs(batch)
        size = (x["person"].shape[-2], x["person"].shape[-1])
        low_size = base_size(size)
        w = c.guidance if guidance is None else guidance
        base_steps = steps or c.sample_steps
        sr_steps = max(1, round(c.sr_sample_steps * base_steps / c.sample_steps))
        total = base_steps + (sr_steps if self.sr is not None else 0)

        def report(done: int) -> Callable[[int, int], None] | None:
            return None if progress is None else (lambda i, _n: progress(done + i, total))

        b, device = x["person"].shape[0], x["person"].device
        aug = torch.full((b,), c.aug_level, device=device)

        def noise(at: tuple[int, int]) -> list[torch.Tensor]:  # of the conditions' augmentation
            return [torch.randn((b, 3, *at), generator=generator).to(device) for _ in range(3)]

        low = sample(
            self.base,
            conditions(x, low_size, aug, noise(low_size)),
            base_steps,
            w,
            generator,
            percentile=c.threshold,
            progress=report(0),
        )
        up = upsampled(low, size)
        if self.sr is None:
            out = up
        else:
            cond = conditions(x, size, aug, noise(size), lowres=up)
            out = sample(
                self.sr,
                cond,
                sr_steps,
                w,
                generator,
                percentile=c.threshold,
                progress=report(base_steps),
            )
        result = torch.where(x["masked"] > 0.5, out, x["person"])
        return result, out


def conditions(
    x: dict[str, torch.Tensor],
    size: tuple[int, int],
    aug: torch.Tensor,
    noise: list[torch.Tensor],
    lowres: torch.Tensor | None = None,
    keep: torch.Tensor | None = None,
) -> Conditions:
    """The conditions at `size`: agnostic, garment (and `lowres`) noise-augmented to the
    per-sample level `aug` with `noise` (one standard-normal tensor per image, that order)."""
    images = [resized(x["agnostic"], size), resized(x["garment"], size)]
    if lowres is not None:
        images.append(lowres)
    if len(noise) < len(images):
        raise ValueError(f"{len(images)} conditioning images need as many noise tensors")
    t = aug.to(images[0].device)
    augmented = [noised(im, n.to(im), t) for im, n in zip(images, noise, strict=False)]
    return Conditions(
        augmented[0],
        augmented[1],
        x["person_pose"],
        x["garment_pose"],
        t,
        augmented[2] if lowres is not None else None,
        keep,
    )
