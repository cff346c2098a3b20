"""The `none` kind: the warp slot of a family that warps nothing (catvton, tryondiffusion),
and the super-resolution slot of a family without one (all but tryondiffusion).

Stages `train_warp` and `train_sr` save it (no weights to train) so that every family fills
the same model folders; `vton.families.forward.run_warp` passes the flat garment and its
mask on.
"""

from __future__ import annotations

from dataclasses import dataclass

from vton.models.blocks import ConfigModule


@dataclass(frozen=True)
class NoWarpConfig:
    pass


class NoWarp(ConfigModule):
    kind = "none"
    config_class = NoWarpConfig

    def __init__(self, config: NoWarpConfig | None = None):
        super().__init__(config or NoWarpConfig())
