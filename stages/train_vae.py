"""DVC stage `train_vae`: the KL autoencoder (factor 8) the ldm family diffuses in.

With `train_vae.pretrained` (a local diffusers AutoencoderKL folder) that VAE is written out
unchanged; otherwise one is trained on the train split's photos. Either way the metrics give
its reconstruction L1 on the test photos. Run it under `torchrun` for DDP; same arguments.
"""

from __future__ import annotations

from stages.training import run_training
from vton.train.diffusion_setup import train_vae


def main() -> None:
    run_training(__doc__, "train_vae", train_vae)


if __name__ == "__main__":
    main()
