"""DVC stage `train_sr`: tryondiffusion's super-resolution Parallel-UNet.

It learns the person at the training size from the ground truth at half that size; stage
train_generator then saves it with the base as one cascade. For every other family it
saves the `none` kind and trains nothing. Run it under `torchrun` for DDP; same arguments.
"""

from __future__ import annotations

from stages.training import run_training
from vton.train.diffusion_setup import train_sr


def main() -> None:
    run_training(__doc__, "train_sr", train_sr)


if __name__ == "__main__":
    main()
