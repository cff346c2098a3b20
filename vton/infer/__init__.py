"""Try-on of new photos: the one-pair pipeline, batches, the HTTP API and web page, export.

    from vton.config import load_params
    from vton.infer import InferencePipeline
    from vton.formats.images import load_photo

    pipe = InferencePipeline.from_checkpoint("data/models", load_params())  # warp/ + generator/
    out = pipe.run(load_photo("person.jpg").rgb, load_photo("shirt.jpg").rgb)
    out.result     # (H, W, 3) uint8 at infer.height x infer.width
    out.images     # every intermediate by name; out.timings: seconds per stage

(`vton.families.tryon_model.TryOnModel` is the tensor-level warp + generator of any family
this builds on.) Front ends:
`vton tryon`, `vton serve` (`vton.infer.api`), `vton export-model` (`vton.infer.model_export`).
"""

from vton.infer.pipeline import INTERMEDIATES, InferencePipeline, TryOnResult, checkpoint_dirs

__all__ = ["INTERMEDIATES", "InferencePipeline", "TryOnResult", "checkpoint_dirs"]
