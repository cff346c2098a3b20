"""How each model kind runs on a batch: one definition for training, evaluation and try-on.

`run_warp(warp, batch)` -> `Warped`, `run_generator(generator, batch, warped)` ->
`Rendered`. A batch is `vton.train.data`'s sample contract with a batch axis, on the
models' device. The inputs each kind reads:

  gmm      person_representation (66 ch), cloth, cloth_mask
  tocg     cloth_in = cloth + cloth_mask (4); pose_in = 13-group agnostic parse one-hot +
           DensePose RGB (16), at the tocg's own size when its config records one (the
           finest flow is then upsampled and warps the garment at the batch's size, the
           segmentation is upsampled). Its output is post-processed as HR-VITON does at test time:
           condition aligning (the garment logit times the warped mask), occlusion removal
           (body parts in front of the garment cut from the mask), the garment on white
           outside the mask
  tom      person_representation, warped garment and mask, agnostic_mask
  unet_sa  gan41_representation (41 ch), warped garment and mask, agnostic_mask
  spade    x = agnostic + DensePose RGB + warped garment (9); seg = the 7 groups from the
           tocg's aligned segmentation (upsampled, blurred, arg-maxed, regrouped)
  none     (catvton's warp slot) the flat garment and its mask, unchanged
  ldm      agnostic, agnostic_mask and the warped garment (`vton.families.ldm`); sampled
  catvton  person, agnostic_mask, cloth (`vton.families.catvton`); sampled
  tryondiffusion  person, parse, agnostic_mask, keypoints, cloth, cloth_mask
           (`vton.families.tryondiffusion`); sampled, base then super-resolution
The diffusion generators sample with `Sampling` (steps, eta, guidance; 0 / None: the
model's own) and draw every random number from a generator seeded with its `seed`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from vton.models.inputs import one_hot, person_representation

N_GROUPS = 13


@dataclass
class Warped:
    cloth: torch.Tensor  # (B, 3, H, W) in [-1, 1], the garment on the person's body
    mask: torch.Tensor  # (B, 1, H, W) in [0, 1]
    seg: torch.Tensor | None  # (B, 13, H, W) aligned try-on segmentation logits (tocg only)
    raw: object  # the module's own output (GMMOutput, TOCGOutput), for the losses


@dataclass
class Rendered:
    result: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    rendered: torch.Tensor  # (B, 3, H, W): the generator's image before any composition
    mask: torch.Tensor  # (B, 1, H, W) in [0, 1]: where the warped garment is used


@dataclass(frozen=True)
class Sampling:
    """How a diffusion generator samples (ignored by the others)."""

    steps: int = 0  # 0: the model's sample_steps
    eta: float | None = None
    guidance: float | None = None  # catvton and tryondiffusion
    seed: int = 0
    progress: Callable[[int, int], None] | None = None  # called after every step

    def generator(self) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed)


def densepose_rgb(parts: torch.Tensor) -> torch.Tensor:
    """(B, H, W) DensePose part ids -> (B, 3, H, W) float in [-1, 1]: the parts in the
    colours of the dataset's DensePose images (`vton.formats.densepose.part_colors`)."""
    from vton.formats.densepose import part_colors

    lut = torch.from_numpy(part_colors()).to(parts.device, torch.float32) / 127.5 - 1
    return lut[parts.long()].permute(0, 3, 1, 2)


def tocg_inputs(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(cloth_in (B, 4, H, W), pose_in (B, 16, H, W)) of the condition generator."""
    cloth_in = torch.cat([batch["cloth"].float(), batch["cloth_mask"].float()], 1)
    pose_in = torch.cat(
        [one_hot(batch["parse_agnostic"], N_GROUPS), densepose_rgb(batch["densepose"])], 1
    )
    return cloth_in, pose_in


def run_warp(warp: nn.Module, batch: dict[str, torch.Tensor]) -> Warped:
    """The garment warped onto the person by a gmm or tocg module (or its DDP wrapper)."""
    from vton.families.tocg import align_conditions, remove_occlusion

    kind = _kind(warp)
    if kind == "none":
        return Warped(batch["cloth"].float(), batch["cloth_mask"].float(), None, None)
    if kind == "gmm":
        out = warp(person_representation(batch), batch["cloth"], batch["cloth_mask"])
        return Warped(out.warped_cloth, out.warped_mask, None, out)
    if kind == "tocg":
        out = _tocg_at_its_size(warp, *tocg_inputs(batch))
        seg = align_conditions(out.seg_logits, out.warped_mask)
        mask = remove_occlusion(out.warped_mask, seg)
        cloth = out.warped_cloth.float() * mask + (1 - mask)  # white outside, as HR-VITON
        return Warped(cloth, mask, seg, out)
    raise ValueError(f"not a warping module: kind {kind!r} (gmm, tocg or none)")


def _tocg_at_its_size(tocg: nn.Module, cloth_in: torch.Tensor, pose_in: torch.Tensor):
    """The tocg's output at the inputs' size, run at its own recorded size when another."""
    from vton.families.tocg import TOCGOutput, upsample_flow
    from vton.families.tocg import warp as warp_image

    inner = tocg.module if isinstance(tocg, nn.parallel.DistributedDataParallel) else tocg
    c, size = cast(Any, inner).config, cast(tuple[int, int], tuple(cloth_in.shape[-2:]))
    own = (int(c.height), int(c.width))
    if not (c.height and c.width) or own == size:
        return cast(TOCGOutput, tocg(cloth_in, pose_in))
    low = tocg(
        F.interpolate(cloth_in, size=own, mode="bilinear", align_corners=False, antialias=True),
        F.interpolate(pose_in, size=own, mode="nearest"),
    )
    warped = warp_image(cloth_in, upsample_flow(low.flows[-1], size))
    seg = F.interpolate(low.seg_logits, size=size, mode="bilinear", align_corners=False)
    return TOCGOutput(low.flows, warped[:, :3], warped[:, 3:4], seg)


def run_generator(
    generator: nn.Module,
    batch: dict[str, torch.Tensor],
    warped: Warped,
    sampling: Sampling | None = None,
) -> Rendered:
    """The try-on image of any generator kind (or its DDP wrapper)."""
    from vton.families.unet_sa import gan41_representation

    kind, mask = _kind(generator), batch.get("agnostic_mask")
    if kind == "tom":
        out = generator(person_representation(batch), warped.cloth, warped.mask, mask)
        return Rendered(out.result, out.rendered, out.mask)
    if kind == "unet_sa":
        out = generator(gan41_representation(batch), warped.cloth, warped.mask, mask)
        return Rendered(out.result, out.rendered, out.mask)
    if kind == "spade":
        if warped.seg is None:
            raise ValueError("the spade generator needs the tocg warp's segmentation")
        x, seg = spade_inputs(batch, warped)
        result = generator(x, seg, agnostic_mask=mask)
        return Rendered(result, result, warped.mask)
    if kind == "tryondiffusion":
        s = sampling or Sampling()
        result, sampled = cast(Any, _inner(generator)).sample(
            batch, steps=s.steps, guidance=s.guidance, generator=s.generator(), progress=s.progress
        )
        return Rendered(result, sampled, batch["agnostic_mask"].float())
    if kind in ("ldm", "catvton"):
        inner: Any = _inner(generator)
        s = sampling or Sampling()
        options = {"steps": s.steps, "eta": s.eta, "generator": s.generator()}
        if kind == "ldm":
            result, decoded = inner.sample(
                batch, warped.cloth, warped.mask, progress=s.progress, **options
            )
        else:
            result, decoded = inner.sample(
                batch, guidance=s.guidance, progress=s.progress, **options
            )
        return Rendered(result, decoded, batch["agnostic_mask"].float())
    raise ValueError(
        f"not an image generator: kind {kind!r} (tom, unet_sa, spade, ldm, catvton or "
        f"tryondiffusion)"
    )


def spade_inputs(
    batch: dict[str, torch.Tensor], warped: Warped
) -> tuple[torch.Tensor, torch.Tensor]:
    """(x (B, 9, H, W), seg (B, 7, H, W)) of the SPADE generator."""
    from vton.families.tocg import seg7_from_tocg

    assert warped.seg is not None
    size = cast(tuple[int, int], tuple(batch["agnostic"].shape[-2:]))
    x = torch.cat(
        [batch["agnostic"].float(), densepose_rgb(batch["densepose"]), warped.cloth.float()], 1
    )
    return x, seg7_from_tocg(warped.seg.detach(), size)


def _inner(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def _kind(module: nn.Module) -> str:
    inner = _inner(module)
    return str(getattr(inner, "kind", type(inner).__name__))
