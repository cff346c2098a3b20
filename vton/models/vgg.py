"""VGG16/VGG19 feature extractors built from a local state dict (torchvision's key layout).

No weights ship with vton and none are downloaded: the perceptual loss and LPIPS take a
local file, e.g. torchvision's `vgg19-dcbb9e9d.pth` / `vgg16-397923af.pth`. The network is
rebuilt from the file itself (number of convolutions and their widths), so any file with
`features.N.weight` / `features.N.bias` keys in torchvision's order works.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_CONV = re.compile(r"^(?:module\.)?(?:vgg\.)?features\.(\d+)\.weight$")


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A local .pth/.pt/.safetensors state dict (CPU tensors); errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, got {type(state).__name__}")
    return state


class VGGFeatures(nn.Module):
    """Frozen VGG features. forward(x) with x (B, 3, H, W) in [-1, 1] -> list of tapped maps.

    `taps` picks ReLU outputs by (block, index) counted from 1 (relu3_1 = (3, 1));
    "first" taps the first ReLU of every block, "last" the last (LPIPS's layers).
    """

    mean: torch.Tensor  # (1, 3, 1, 1) buffers
    std: torch.Tensor

    def __init__(self, state: dict[str, torch.Tensor], taps: str = "first", source: str = ""):
        super().__init__()
        convs = sorted(
            (int(m.group(1)), key) for key in state if (m := _CONV.match(key)) is not None
        )
        if not convs:
            sample = ", ".join(list(state)[:4])
            raise ValueError(
                f"{source or 'state dict'} holds no VGG 'features.N.weight' keys (found: "
                f"{sample}, ...); give a torchvision vgg16/vgg19 state dict"
            )
        layers: list[nn.Module] = []
        blocks: list[list[int]] = [[]]  # indices into `layers` of each block's ReLUs
        previous = None
        for index, key in convs:
            if previous is not None and index - previous > 2:  # a max-pool sat between
                layers.append(nn.MaxPool2d(2, 2))
                blocks.append([])
            weight = state[key]
            conv = nn.Conv2d(weight.shape[1], weight.shape[0], weight.shape[2], 1, 1)
            conv.weight.data.copy_(weight)
            cast(torch.Tensor, conv.bias).data.copy_(state[key[: -len("weight")] + "bias"])
            layers += [conv, nn.ReLU(inplace=False)]
            blocks[-1].append(len(layers) - 1)
            previous = index
        picks = [b[0] if taps == "first" else b[-1] for b in blocks]
        self.layers = nn.Sequential(*layers[: max(picks) + 1])
        self.taps = set(picks)
        self.channels = [layers[i - 1].out_channels for i in picks]
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGGFeatures:
        return super().train(False)  # always frozen

    def forward(self, x: torch.Tensor, normalize: bool = True) -> list[torch.Tensor]:
        if normalize:
            x = ((x + 1) / 2 - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.taps:
                out.append(x)
        return out


def load_vgg(path: str | Path, taps: str = "first") -> VGGFeatures:
    return VGGFeatures(load_state_dict(path), taps=taps, source=str(path))
