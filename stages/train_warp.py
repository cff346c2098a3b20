"""DVC stage `train_warp`: the family's garment warp (gmm or tocg) on the train pairs.

catvton warps nothing: the stage then saves the `none` kind and trains nothing. Run it under
`torchrun --nproc-per-node N -m stages.train_warp ...` for DDP; same arguments.
"""

from __future__ import annotations

from stages.training import run_training
from vton.train import train_warp


def main() -> None:
    run_training(__doc__, "train_warp", train_warp)


if __name__ == "__main__":
    main()
