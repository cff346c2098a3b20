"""Sources of samples, chosen by `data.source` in params.yaml.

Each source module has `iter_samples(cfg, height, width, base) -> Iterator[Sample | Reject]`
(the sample generator takes its counts and seed instead); `vton.sources.ingest` writes what
they yield into the VITON-HD layout.
"""

SOURCE_NAMES = ("sample", "vitonhd", "folder", "scraped", "dresscode")
