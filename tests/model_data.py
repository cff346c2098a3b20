"""Shared pieces of the model tests: a tiny VGG in torchvision's key layout, the toy
Parallel-UNet shape."""

from __future__ import annotations

import torch

from vton.models.vgg import VGGFeatures

TINY_PARALLEL_UNET = {
    "channels": [8, 16],
    "blocks": [1, 1],
    "attention_levels": 1,
    "heads": 2,
    "dim_head": 8,
    "cond_dim": 32,
    "pose_dim": 32,
    "pose_depth": 1,
}
"""A toy Parallel-UNet as params values (train_generator.tryondiffusion, train_sr keys)."""


def tiny_vgg_state(widths=(4, 8, 8, 16, 16), per_block=(2, 2, 3, 3, 3)) -> dict:
    """A narrow random VGG (VGG16's block depths by default) as a torchvision state dict:
    features.N with ReLUs and pools between, seeded, plus a classifier key that is ignored."""
    g = torch.Generator().manual_seed(1)
    state, index, cin = {}, 0, 3
    for width, count in zip(widths, per_block, strict=True):
        for _ in range(count):
            state[f"features.{index}.weight"] = torch.randn(width, cin, 3, 3, generator=g) * 0.3
            state[f"features.{index}.bias"] = torch.randn(width, generator=g) * 0.1
            cin, index = width, index + 2
        index += 1  # the max-pool
    state["classifier.0.weight"] = torch.zeros(2, 2)
    return state


def tiny_vgg(per_block=(1, 1, 1, 1, 1)) -> VGGFeatures:
    """Frozen VGG features of `tiny_vgg_state` (one conv a block by default), on CPU."""
    return VGGFeatures(tiny_vgg_state(per_block=per_block))
