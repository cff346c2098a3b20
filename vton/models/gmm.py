"""Geometric matching module: warp a flat garment onto a person with a thin-plate spline.

Two encoders turn the person representation and the garment into feature maps at
1/2**levels of the regression size; a correlation layer compares every person position
with every garment position; a regressor turns the correlation into offsets of a
`grid x grid` lattice of control points; a TPS grid generator turns the lattice into a
dense sampling grid at the input resolution (any resolution: the regression runs on inputs
resized to `height x width`, the grid is evaluated where it is applied).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, cast

import torch
import torch.nn.functional as F
from torch import nn

from vton.checks import check_tensor
from vton.models.blocks import ConfigModule, conv_block
from vton.models.inputs import PERSON_CHANNELS


@dataclass(frozen=True)
class GMMConfig:
    person_channels: int = PERSON_CHANNELS
    cloth_channels: int = 4  # garment RGB + its mask
    width: int = 16
    levels: int = 4
    grid: int = 5
    height: int = 256  # regression resolution (inputs are resized to it)
    image_width: int = 192


class GMMOutput(NamedTuple):
    warped_cloth: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    warped_mask: torch.Tensor  # (B, 1, H, W) in [0, 1]
    grid: torch.Tensor  # (B, H, W, 2) sampling grid, normalised coordinates
    lattice: torch.Tensor  # (B, G, G, 2) control points in garment coordinates


class Encoder(nn.Module):
    def __init__(self, cin: int, width: int, levels: int):
        super().__init__()
        layers: list[nn.Module] = []
        c = cin
        for i in range(levels):
            out = width * 2 ** min(i, 3)
            layers.append(conv_block(c, out, stride=2))
            c = out
        layers.append(nn.Conv2d(c, c, 3, 1, 1))
        self.net = nn.Sequential(*layers)
        self.out_channels = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(x), dim=1)


def correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) x2 -> (B, h*w, h, w): channel k at (i, j) is <a[i, j], b[position k]>."""
    batch, _, h, w = a.shape
    corr = torch.bmm(b.flatten(2).transpose(1, 2), a.flatten(2))  # (B, hw_b, hw_a)
    return F.normalize(F.relu(corr.view(batch, h * w, h, w)), dim=1)


def tps_kernel(d2: torch.Tensor) -> torch.Tensor:
    """U(r) = r^2 log r^2 of squared distances (0 at 0)."""
    return d2 * torch.log(d2.clamp_min(1e-12))


class TPSGridGenerator(nn.Module):
    """Control-point lattice in garment coordinates -> dense (B, H, W, 2) sampling grid.

    The control points sit on a regular lattice in output coordinates; the spline maps
    each of them to its (regressed) position in the garment and interpolates in between.
    """

    points: torch.Tensor  # (N, 2) buffers
    inverse: torch.Tensor

    def __init__(self, grid: int):
        super().__init__()
        axis = torch.linspace(-1.0, 1.0, grid)
        ys, xs = torch.meshgrid(axis, axis, indexing="ij")
        points = torch.stack([xs.flatten(), ys.flatten()], 1)  # (N, 2) as (x, y)
        n = points.shape[0]
        system = torch.zeros(n + 3, n + 3, dtype=torch.float64)
        p64 = points.double()
        system[:n, :n] = tps_kernel(torch.cdist(p64, p64) ** 2)
        system[:n, n] = 1
        system[:n, n + 1 :] = p64
        system[n, :n] = 1
        system[n + 1 :, :n] = p64.T
        self.register_buffer("points", points, persistent=False)
        self.register_buffer("inverse", torch.linalg.inv(system).float(), persistent=False)
        self._basis: dict[tuple, torch.Tensor] = {}

    def basis(self, height: int, width: int) -> torch.Tensor:
        """(H*W, N+3) spline basis of every output pixel (cached per size and device)."""
        key = (height, width, self.points.device)
        if key not in self._basis:
            ys = torch.linspace(-1.0, 1.0, height, device=self.points.device)
            xs = torch.linspace(-1.0, 1.0, width, device=self.points.device)
            gy, gx = torch.meshgrid(ys, xs, indexing="ij")
            pixels = torch.stack([gx.flatten(), gy.flatten()], 1)
            kernel = tps_kernel(torch.cdist(pixels, self.points) ** 2)
            ones = torch.ones(pixels.shape[0], 1, device=pixels.device)
            self._basis = {key: torch.cat([kernel, ones, pixels], 1)}
        return self._basis[key]

    def forward(self, targets: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """(B, N, 2) control-point targets -> (B, H, W, 2) grid for `grid_sample`."""
        padded = F.pad(targets.float(), (0, 0, 0, 3))  # (B, N+3, 2): the affine rows are 0
        coefficients = self.inverse @ padded
        grid = self.basis(height, width) @ coefficients  # (B, HW, 2)
        return grid.view(targets.shape[0], height, width, 2)


class GMM(ConfigModule):
    """Geometric matching module.

    forward(person, cloth, cloth_mask):
      person: (B, person_channels, H, W) float, the person representation
        (`vton.models.inputs.person_representation`);
      cloth: (B, 3, H, W) float in [-1, 1]; cloth_mask: (B, 1, H, W) float in [0, 1].
    Returns `GMMOutput` at the input resolution.
    """

    kind = "gmm"
    config_class = GMMConfig

    def __init__(self, config: GMMConfig):
        super().__init__(config)
        c = config
        if c.height % 2**c.levels or c.image_width % 2**c.levels:
            raise ValueError(
                f"gmm regression size {c.height}x{c.image_width} must be divisible by "
                f"2**levels = {2**c.levels}; change train.data height/width or "
                f"train_warp.gmm.levels"
            )
        self.person_encoder = Encoder(c.person_channels, c.width, c.levels)
        self.cloth_encoder = Encoder(c.cloth_channels, c.width, c.levels)
        positions = (c.height // 2**c.levels) * (c.image_width // 2**c.levels)
        hidden = 4 * c.width
        self.regressor = nn.Sequential(
            conv_block(positions, hidden),
            conv_block(hidden, hidden),
            nn.AdaptiveAvgPool2d((4, 3)),
            nn.Flatten(),
            nn.Linear(hidden * 12, 2 * c.grid * c.grid),
        )
        # Zero offsets at the start: the first warp is the identity (the garment as it lies).
        last = cast(nn.Linear, self.regressor[-1])
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.tps = TPSGridGenerator(c.grid)

    def forward(
        self, person: torch.Tensor, cloth: torch.Tensor, cloth_mask: torch.Tensor
    ) -> GMMOutput:
        c = self.config
        check_tensor(person, "person", c.person_channels)
        batch, size = person.shape[0], tuple(person.shape[-2:])
        check_tensor(cloth, "cloth", 3, batch=batch, size=size)
        check_tensor(cloth_mask, "cloth_mask", 1, batch=batch, size=size)
        regress = (c.height, c.image_width)

        def resized(x: torch.Tensor) -> torch.Tensor:
            if size == regress:
                return x
            return F.interpolate(x, size=regress, mode="bilinear", align_corners=False)

        fa = self.person_encoder(resized(person))
        fb = self.cloth_encoder(resized(torch.cat([cloth, cloth_mask], 1)))
        offsets = self.regressor(correlation(fa, fb)).view(batch, -1, 2)
        with torch.autocast(device_type=person.device.type, enabled=False):
            targets = self.tps.points + offsets.float()
            grid = self.tps(targets, *size)
            warped_cloth = F.grid_sample(
                cloth.float(), grid, padding_mode="border", align_corners=True
            )
            warped_mask = F.grid_sample(
                cloth_mask.float(), grid, padding_mode="zeros", align_corners=True
            )
        lattice = targets.view(batch, c.grid, c.grid, 2)
        return GMMOutput(warped_cloth, warped_mask, grid, lattice)


def lattice_smoothness(lattice: torch.Tensor) -> torch.Tensor:
    """Mean |second difference| of a (B, G, G, 2) lattice along both axes (0 for affine)."""
    dx = lattice[:, :, 2:] - 2 * lattice[:, :, 1:-1] + lattice[:, :, :-2]
    dy = lattice[:, 2:] - 2 * lattice[:, 1:-1] + lattice[:, :-2]
    return dx.abs().mean() + dy.abs().mean()
