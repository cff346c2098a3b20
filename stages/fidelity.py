"""DVC stage `fidelity`: how the pipeline's annotations agree with the source's own ones,
kind by kind, and end to end: the agnostic kinds a user with only the photos gets (our pose
and parse backends, `reference` swapped for `mediapipe`), scored as `e2e_*`."""

from __future__ import annotations

from pathlib import Path

from stages.common import params_or_exit, stage_args, write_metrics
from vton.annotate.items import reference_root
from vton.qa.end_to_end import end_to_end, offline
from vton.qa.fidelity import fidelity


def main() -> None:
    args = stage_args(
        __doc__,
        ("--ref", {"type": Path, "required": True}),
        ("--ours", {"type": Path, "required": True}),
        ("--metrics", {"type": Path, "required": True}),
    )
    params = params_or_exit(args.params)
    ref = reference_root(args.ref, params.run.annotate_cache)  # ingest packs data/reference
    scores = fidelity(ref, args.ours)
    try:
        whole = end_to_end(ref, args.ours, offline(params.pose), offline(params.parse))
        scores |= whole.summary
    except FileNotFoundError as exc:  # a source without reference agnostics: nothing to score
        print(f"fidelity: no end-to-end scores ({exc})")
    write_metrics(args.metrics, scores)
    print(f"fidelity: {scores.get('samples_compared', 0)} samples compared -> {args.metrics}")


if __name__ == "__main__":
    main()
