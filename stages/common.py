"""What every stage does the same way: parse the standard arguments, write metrics JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vton.config import Params, ParamsError, load_params
from vton.fileio import atomic_write_bytes


def stage_args(description: str, *extra: tuple[str, dict]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    for flag, kwargs in extra:
        parser.add_argument(flag, **kwargs)
    return parser.parse_args()


def params_or_exit(path: Path) -> Params:
    try:
        return load_params(path)
    except ParamsError as exc:
        sys.exit(f"error: {exc}")


def write_metrics(path: Path, metrics: dict) -> None:
    atomic_write_bytes(path, (json.dumps(metrics, indent=2, sort_keys=True) + "\n").encode())
