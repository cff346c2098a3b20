"""LPIPS and FID/KID from local feature-network weights (never downloaded, never random).

- `LPIPS`: the learned perceptual distance of Zhang et al. (2018), VGG variant: a VGG16
  backbone (torchvision's `vgg16-397923af.pth`) and the LPIPS linear layers (`vgg.pth` of
  the lpips package, keys `lin0..lin4`). Inputs are shifted and scaled as LPIPS defines,
  features unit-normalised per position, squared differences weighted by the linear layers,
  averaged over space and summed over the five layers.
- `FeatureNet`: a TorchScript image-feature network for FID and KID, e.g. the Inception
  network `inception-2015-12-05.pt` that clean-fid and StyleGAN use: images go in resized to
  299x299 as float in [0, 255]; it is asked for features (`return_features=True`) when its
  forward takes that argument.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vton.models.vgg import VGGFeatures, load_state_dict

# LPIPS's input scaling layer (per RGB channel, for inputs in [-1, 1]).
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)


class LPIPS(nn.Module):
    """forward(x, y) with (B, 3, H, W) in [-1, 1] -> (B,) distances (lower is closer)."""

    shift: torch.Tensor  # buffers, (1, 3, 1, 1)
    scale: torch.Tensor

    def __init__(self, backbone: str | Path, linear: str | Path):
        super().__init__()
        self.net = VGGFeatures(load_state_dict(backbone), taps="last", source=str(backbone))
        lin = load_state_dict(linear)
        weights = []
        for k, channels in enumerate(self.net.channels):
            keys = [n for n in lin if n.startswith(f"lin{k}.") and n.endswith("weight")]
            if len(keys) != 1 or tuple(lin[keys[0]].shape) != (1, channels, 1, 1):
                raise ValueError(
                    f"{linear}: expected one weight lin{k}.*.weight of shape (1, {channels}, 1, "
                    f"1) for VGG layer {k} (the lpips package's vgg.pth); found {keys}"
                )
            weights.append(lin[keys[0]].float())
        self.weights = nn.ParameterList(nn.Parameter(w, requires_grad=False) for w in weights)
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).view(1, 3, 1, 1), False)
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).view(1, 3, 1, 1), False)
        self.eval()

    @torch.no_grad()
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        fx = self.net((x.float() - self.shift) / self.scale, normalize=False)
        fy = self.net((y.float() - self.shift) / self.scale, normalize=False)
        total = torch.zeros(x.shape[0], device=x.device)
        for a, b, w in zip(fx, fy, self.weights, strict=True):
            a = a / (a.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            b = b / (b.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total += ((a - b) ** 2 * w.view(1, -1, 1, 1)).sum(1).mean((1, 2))
        return total


class FeatureNet(nn.Module):
    """A TorchScript feature network: forward((B, 3, H, W) in [-1, 1]) -> (B, D) float64."""

    def __init__(self, path: str | Path, size: int = 299):
        super().__init__()
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"feature network {path} does not exist")
        try:
            with warnings.catch_warnings():  # TorchScript is what FID networks ship as
                warnings.simplefilter("ignore", DeprecationWarning)
                self.net = torch.jit.load(str(path), map_location="cpu").eval()
        except RuntimeError as exc:
            raise ValueError(
                f"{path} is not a TorchScript module ({exc}); FID/KID need a scripted feature "
                f"network such as inception-2015-12-05.pt"
            ) from exc
        names = [a.name for a in self.net.forward.schema.arguments]
        self.ask_features = "return_features" in names
        self.size = size

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x.float(), size=(self.size, self.size), mode="bilinear")
        x = ((x + 1) * 127.5).clamp(0, 255)
        out = self.net(x, return_features=True) if self.ask_features else self.net(x)
        return out.flatten(1).double()


def fid(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two (N, D) feature sets."""
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = np.asarray(linalg.sqrtm(cov_a @ cov_b)).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def kid(a: np.ndarray, b: np.ndarray, subset: int = 50, subsets: int = 100, seed: int = 0) -> float:
    """Kernel inception distance: unbiased MMD^2 with the cubic polynomial kernel, averaged
    over random subsets of `min(subset, N)` samples."""
    n = min(subset, len(a), len(b))
    if n < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {len(a)} and {len(b)}")
    d, rng, values = a.shape[1], np.random.default_rng(seed), []
    for _ in range(subsets):
        x = a[rng.choice(len(a), n, replace=False)]
        y = b[rng.choice(len(b), n, replace=False)]
        kxx, kyy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        off = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        values.append(off - 2 * kxy.mean())
    return float(np.mean(values))
