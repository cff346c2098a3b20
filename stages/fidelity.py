"""DVC stage `fidelity`: how the pipeline's annotations agree with the source's own ones."""

from __future__ import annotations

from pathlib import Path

from stages.common import stage_args, write_metrics
from vton.qa.fidelity import fidelity


def main() -> None:
    args = stage_args(
        __doc__,
        ("--ref", {"type": Path, "required": True}),
        ("--ours", {"type": Path, "required": True}),
        ("--metrics", {"type": Path, "required": True}),
    )
    scores = fidelity(args.ref, args.ours)
    write_metrics(args.metrics, scores)
    print(f"fidelity: {scores.get('samples_compared', 0)} samples compared -> {args.metrics}")


if __name__ == "__main__":
    main()
