"""Try-on models: `GMM` (garment warping), `TOM` (rendering), the PatchGAN discriminator.

Inference on tensors::

    from vton.models import TryOnPipeline
    pipe = TryOnPipeline.from_pretrained("data/models/gmm", "data/models/tom").to(device).eval()
    out = pipe(batch)  # batch: dict of (B, C, H, W) tensors, see vton.models.inputs
    out.result         # (B, 3, H, W) in [-1, 1]

A batch for one (person, garment) pair of a VITON-HD-layout dataset comes from
`vton.train.data.load_pair(layout, split, person_id, cloth_id, size)` (add the batch axis
with `[None]`).
"""

from vton.models.discriminator import DiscriminatorConfig, PatchDiscriminator
from vton.models.gmm import GMM, GMMConfig, GMMOutput
from vton.models.gmm_tom import TryOnOutput, TryOnPipeline
from vton.models.inputs import PERSON_CHANNELS, PERSON_PARTS, person_representation
from vton.models.tom import TOM, TOMConfig, TOMOutput

__all__ = [
    "GMM",
    "PERSON_CHANNELS",
    "PERSON_PARTS",
    "TOM",
    "DiscriminatorConfig",
    "GMMConfig",
    "GMMOutput",
    "PatchDiscriminator",
    "TOMConfig",
    "TOMOutput",
    "TryOnOutput",
    "TryOnPipeline",
    "person_representation",
]
