"""`vton plots`: the DVC plots as PNG and an offline HTML page (`vton.plots`)."""

from __future__ import annotations

import argparse


def cmd_plots(args: argparse.Namespace) -> int:
    from vton.plots import run

    return run(args)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `plots` to `subparsers`; its arguments are `vton.plots.add_arguments`."""
    from vton.plots import add_arguments

    p = subparsers.add_parser("plots", help="render the DVC plots to PNG and an offline HTML page")
    add_arguments(p)
    p.set_defaults(func=cmd_plots)
