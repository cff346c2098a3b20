"""The gmm_tom family's models: `GMM` (garment warping), `TOM` (rendering), the PatchGAN
discriminator, and what every family shares (inputs, losses, VGG, config-carrying modules).

Inference on tensors, for any family: `vton.families.tryon_model.TryOnModel`.

A batch for one (person, garment) pair of a VITON-HD-layout dataset comes from
`vton.train.data.load_pair(layout, split, person_id, cloth_id, size)` (add the batch axis
with `[None]`).
"""

from vton.models.discriminator import DiscriminatorConfig, PatchDiscriminator
from vton.models.gmm import GMM, GMMConfig, GMMOutput
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
    "person_representation",
]
