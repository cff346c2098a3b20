"""DVC stage `train_generator`: the family's image generator over the trained warp.

The ldm family also reads the VAE (`--vae`, stage train_vae) and the pre-warped garments
(`--warped`, stage warp_cloth); tryondiffusion trains its base and saves it with the
super-resolution model (`--sr`, stage train_sr) as one cascade. Run it under
`torchrun --nproc-per-node N -m stages.train_generator ...` for DDP; same arguments.
"""

from __future__ import annotations

from pathlib import Path

from stages.training import run_training
from vton.train import train_generator


def main() -> None:
    run_training(
        __doc__,
        "train_generator",
        train_generator,
        ("--warp", {"type": Path, "required": True, "help": "the trained warp directory"}),
        ("--vae", {"type": Path, "help": "the VAE directory (ldm)"}),
        ("--warped", {"type": Path, "help": "the warp_cloth stage's packs (ldm)"}),
        ("--sr", {"type": Path, "help": "the super-resolution model (tryondiffusion)"}),
    )


if __name__ == "__main__":
    main()
