"""A tiny complete try-on dataset (every kind the models read) for the training tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from vton.annotate.agnostic import make_agnostic
from vton.layout import Layout, unpaired, write_pairs
from vton.sources.sample import generate_sample
from vton.writer import write_sample


def write_tiny_dataset(root: Path, n_train: int = 4, n_test: int = 2, height=64, width=48) -> Path:
    """Synthetic samples with their exact annotations and HR-VITON agnostics at 64x48."""
    layout = Layout(root)
    index = 0
    for split, count in (("train", n_train), ("test", n_test)):
        ids = []
        for _ in range(count):
            sample = generate_sample(index, height, width, seed=3, split=split)
            agn = make_agnostic(sample.person, sample.parse, sample.pose)
            sample = dataclasses.replace(
                sample,
                agnostic=agn.agnostic,
                parse_agnostic=agn.parse_agnostic,
                agnostic_mask=agn.mask,
            )
            write_sample(layout, sample, height, width)
            ids.append(sample.id)
            index += 1
        write_pairs(layout.pairs_path(split), [(i, i) for i in ids])
        write_pairs(layout.pairs_path(split, unpaired=True), unpaired(ids, seed=0))
    return root
