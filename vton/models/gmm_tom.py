"""GMM then TOM: the full try-on on tensors, loaded from two saved model directories."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from vton.models.gmm import GMM
from vton.models.inputs import person_representation
from vton.models.tom import TOM


class TryOnOutput(NamedTuple):
    result: torch.Tensor  # (B, 3, H, W) in [-1, 1], the person wearing the garment
    warped_cloth: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    warped_mask: torch.Tensor  # (B, 1, H, W) in [0, 1]
    rendered: torch.Tensor  # (B, 3, H, W) in [-1, 1], TOM's rendering before composition
    mask: torch.Tensor  # (B, 1, H, W) in [0, 1], TOM's composition mask


class TryOnPipeline(nn.Module):
    """forward(batch) -> `TryOnOutput`, with batch holding the person (`agnostic`,
    `parse_agnostic`, `keypoints`, `densepose`, see `vton.models.inputs`), `agnostic_mask`
    (B, 1, H, W) in {0, 1}, `cloth` (B, 3, H, W) in [-1, 1] and `cloth_mask` (B, 1, H, W)
    in [0, 1] -- the sample contract of `vton.train.data` with a batch axis. H, W: any size
    divisible by 2**tom.depth.
    """

    def __init__(self, gmm: GMM, tom: TOM):
        super().__init__()
        self.gmm, self.tom = gmm, tom

    @classmethod
    def from_pretrained(cls, gmm_dir: str | Path, tom_dir: str | Path) -> TryOnPipeline:
        """Both models on CPU in eval mode; move with `.to(device)`."""
        return cls(GMM.from_pretrained(gmm_dir), TOM.from_pretrained(tom_dir)).eval()

    @torch.no_grad()
    def forward(self, batch: dict[str, torch.Tensor]) -> TryOnOutput:
        person = person_representation(batch)
        warped = self.gmm(person, batch["cloth"], batch["cloth_mask"])
        out = self.tom(person, warped.warped_cloth, warped.warped_mask, batch.get("agnostic_mask"))
        return TryOnOutput(
            out.result, warped.warped_cloth, warped.warped_mask, out.rendered, out.mask
        )
