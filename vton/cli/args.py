"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse


def parse_size(text: str) -> tuple[int, int]:
    """`HEIGHTxWIDTH` (e.g. 256x192) -> (height, width)."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"size must be HEIGHTxWIDTH like 256x192, got {text!r}"
        ) from None
    return height, width
