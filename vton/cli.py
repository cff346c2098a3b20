"""The `vton` command: thin wrappers over the library (`vton SUBCOMMAND --help`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"size must be HEIGHTxWIDTH like 256x192, got {text!r}"
        ) from None
    return height, width


def cmd_ingest(args: argparse.Namespace) -> int:
    from vton.config import load_params
    from vton.sources.ingest import ingest

    params = load_params(args.params)
    summary = ingest(params, args.out, base=args.params.resolve().parent)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    import dataclasses

    from vton.config import Params, SampleSource, parse_params
    from vton.sources.ingest import ingest

    height, width = args.size
    base = parse_params({"base": {"seed": args.seed, "height": height, "width": width}})
    data = dataclasses.replace(base.data, sample=SampleSource(n_train=args.train, n_test=args.test))
    summary = ingest(Params(base=base.base, data=data), args.out)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from vton.layout import write_jsonl
    from vton.qa.validate import validate

    required = tuple(k for k in args.require.split(",") if k)
    report = validate(args.dataset, required=required)
    if args.json:
        args.json.write_text(json.dumps(report.metrics(), indent=2, sort_keys=True) + "\n")
    if args.violations:
        write_jsonl(args.violations, report.records())
    samples = ", ".join(f"{n} {s}" for s, n in report.samples.items()) or "no"
    if report.ok:
        print(f"{args.dataset}: {samples} samples, {report.checked_files} files, all conform")
        return 0
    print(
        f"{args.dataset}: {len(report.violations)} violations ({samples} samples)", file=sys.stderr
    )
    for violation in report.violations:
        print(f"  {violation}", file=sys.stderr)
    return 1


def _annotate_backend(kind: str, configured: str, chosen: str | None, photos: bool) -> str:
    """The backend `vton annotate` runs: --backend (checked against the registry), else the
    params' one; on plain photos (--in) an offline backend where params name `reference`,
    which reads a source's own annotations and so has nothing to read there."""
    from vton.annotate.registry import BACKENDS, OFFLINE

    names = list(BACKENDS[kind])
    if chosen is not None and chosen not in names:
        raise ValueError(
            f"--backend {chosen!r} is not a {kind} backend; choose one of {', '.join(names)}"
        )
    backend = chosen or configured
    if not photos or backend != "reference":
        return backend
    others = ", ".join(n for n in names if n != "reference")
    if chosen is not None:
        raise ValueError(
            "--backend reference reads the annotations a source carries (--dataset DIR "
            f"--reference DIR); a folder of photos has none: choose one of {others}"
        )
    print(
        f"{kind}: {kind}.backend is 'reference' (a source's own annotations, which plain "
        f"photos do not have); running the offline '{OFFLINE[kind]}' backend instead "
        f"(choose another with --backend: {others})",
        file=sys.stderr,
    )
    return OFFLINE[kind]


def cmd_annotate(args: argparse.Namespace) -> int:
    import dataclasses

    from vton.annotate.items import dataset_dest, dataset_items, folder_dest, folder_items
    from vton.annotate.runner import AnnotationFailed, run
    from vton.config import load_params, parse_params
    from vton.layout import Layout

    params = load_params(args.params) if args.params.exists() else parse_params({})
    section = getattr(params, args.kind)
    backend = _annotate_backend(args.kind, section.backend, args.backend, not args.dataset)
    section = dataclasses.replace(section, backend=backend)
    if args.dataset:
        layout = Layout(args.dataset)
        reference = Layout(args.reference) if args.reference else None
        catalog = args.catalog or (layout.catalog_path if layout.catalog_path.exists() else None)
        items = dataset_items(args.kind, layout, reference, catalog)
        dest, report = dataset_dest(layout), args.dataset / f"annotate_{args.kind}"
    else:
        if not (args.input and args.out):
            raise ValueError("give --in DIR and --out DIR (a folder of photos), or --dataset DIR")
        if args.reference or args.catalog:
            raise ValueError("--reference and --catalog go with --dataset, not --in")
        items, dest = folder_items(args.input, args.kind, args.out), folder_dest(args.out)
        report = args.out
    if not items:
        raise FileNotFoundError("no images to annotate")
    rejects = args.rejects or report / "rejects.jsonl"
    limit = args.max_reject_rate
    if limit is None:
        limit = params.annotate.max_reject_rate
    try:
        summary = run(
            args.kind,
            section,
            items,
            dest,
            args.cache or Path(params.run.annotate_cache),
            workers=params.run.annotate_workers if args.workers is None else args.workers,
            max_reject_rate=limit,
            rejects_path=rejects,
            log_path=report / "log.jsonl",
        )
    except AnnotationFailed as exc:  # the rejects and the log are written by then
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    if summary["written"] == 0:
        reasons = ", ".join(
            f"{k[len('rejects_') :]} {v}" for k, v in summary.items() if k.startswith("rejects_")
        )
        print(
            f"error: none of the {summary['samples']} images was annotated "
            f"({reasons or 'all skipped'}); reasons in {rejects}",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from vton.qa.report import load_stage_reports, write_report

    metrics, rejects = load_stage_reports(args.metrics_dir, args.annotate_dir, args.dataset)
    index = write_report(
        args.dataset,
        args.out,
        metrics=metrics,
        rejects=rejects,
        per_page=args.per_page,
        thumb_height=args.thumb_height,
    )
    print(f"contact sheet: {index}")
    return 0


def cmd_fidelity(args: argparse.Namespace) -> int:
    from vton.qa.fidelity import fidelity

    scores = fidelity(args.ref, args.ours)
    text = json.dumps(scores, indent=2, sort_keys=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from vton.export import export

    summary = export(args.dataset, args.out, flavor=args.flavor, category=args.category)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_labels(args: argparse.Namespace) -> int:
    from vton.formats.labels import LABEL_SETS

    names = [args.set] if args.set else list(LABEL_SETS)
    for name in names:
        if name not in LABEL_SETS:
            print(f"unknown label set {name!r}; known: {', '.join(LABEL_SETS)}", file=sys.stderr)
            return 2
        enum, table = LABEL_SETS[name]
        print(f"{name} ({len(enum)} labels) -> VITON-HD ids")
        for label in enum:
            target = table[label]
            shown = (
                f"{target[0].name}/{target[1].name} (split by side)"
                if isinstance(target, tuple)
                else f"{int(target):2d} {target.name}"
            )
            print(f"  {int(label):2d} {label.name:<26} -> {shown}")
    return 0


def cmd_scrape(args: argparse.Namespace) -> int:
    from scraper.run import run_crawl

    summary = run_crawl(args.site, args.out, args.start_url, log_level=args.log_level)
    counts = {k: v for k, v in summary.items() if not isinstance(v, list)}
    print(json.dumps(counts, indent=2, sort_keys=True))
    print(f"details (every refusal and duplicate): {args.out / 'crawl.json'}")
    return 0


def cmd_pose_convert(args: argparse.Namespace) -> int:
    from vton.formats import openpose

    body = openpose.read_keypoints(args.input)
    openpose.write_keypoints(args.output, body, coco18=args.to == "coco18")
    print(f"{args.input} -> {args.output} ({args.to})")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from vton.config import load_params
    from vton.train import train_gmm, train_tom

    params = load_params(args.params)
    where = {"checkpoints": args.checkpoints, "live_dir": args.live, "samples_dir": args.samples}
    if args.model == "gmm":
        summary = train_gmm(params, args.dataset, args.out, **where)
    else:
        if args.gmm is None:
            raise ValueError("vton train tom needs --gmm DIR, the trained GMM directory")
        summary = train_tom(params, args.dataset, args.gmm, args.out, **where)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from vton.config import load_params
    from vton.evaluate import beats_baselines, evaluate
    from vton.train import train_size

    params = load_params(args.params)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    result = evaluate(
        params,
        args.dataset,
        args.gmm,
        args.tom,
        size=train_size(params, args.dataset),
        results_dir=out / "results",
        scores_path=out / "scores.csv",
        grid_path=out / "grid.png",
        unpaired_grid_path=out / "grid_unpaired.png",
    )
    result |= {k: int(v) for k, v in beats_baselines(result).items()}
    (out / "metrics.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


def cmd_tryon(args: argparse.Namespace) -> int:
    from vton.annotate.base import AnnotationRejected
    from vton.config import load_params
    from vton.formats.images import ImageRejected
    from vton.infer import InferencePipeline
    from vton.infer.batch import folder_pairs, read_pairs_file, run_batch, tryon_file
    from vton.infer.output import check_format

    params = load_params(args.params)
    if args.batch:
        if args.pairs is not None:
            pairs = read_pairs_file(args.pairs)
        elif args.person is not None and args.garment is not None:
            pairs = folder_pairs(args.person, args.garment, args.pairing)
        else:
            raise ValueError("--batch needs --pairs FILE, or --person DIR and --garment DIR")
        fmt = check_format(args.format, args.quality)
        pipe = InferencePipeline.from_checkpoint(args.checkpoint, params, args.device)
        summary = run_batch(
            pipe, pairs, args.out, fmt=fmt, quality=args.quality, with_strip=args.strip
        )
        print(json.dumps(summary, indent=2))
        return 0 if summary["rejected"] == 0 else 1
    if args.person is None or args.garment is None:
        raise ValueError("vton tryon needs --person PHOTO and --garment PHOTO (or --batch)")
    pipe = InferencePipeline.from_checkpoint(args.checkpoint, params, args.device)
    try:
        result = tryon_file(
            pipe, args.person, args.garment, args.out, with_strip=args.strip, quality=args.quality
        )
    except (ImageRejected, AnnotationRejected) as exc:
        print(f"error: {exc.reason}: {exc.detail}", file=sys.stderr)
        return 1
    timings = {k: round(v * 1000) for k, v in result.timings.items()}
    print(json.dumps({"out": str(args.out), "ms": timings}))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import dataclasses

    from vton.config import load_params
    from vton.infer.api import serve

    params = load_params(args.params)
    if args.workers is not None:
        s = dataclasses.replace(params.infer.serve, workers=args.workers)
        params = dataclasses.replace(params, infer=dataclasses.replace(params.infer, serve=s))
    serve(args.checkpoint, params, args.host, args.port)
    return 0


def cmd_export_model(args: argparse.Namespace) -> int:
    from vton.infer.export import export_checkpoint

    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    report = export_checkpoint(
        args.checkpoint, args.out, formats=formats, size=args.size, atol=args.atol
    )
    print(json.dumps(report, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vton", description="Reproducible data and training pipeline for virtual try-on."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="build a VITON-HD-layout dataset from params.yaml's source")
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    p.add_argument("--out", type=Path, required=True, help="dataset root to write")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("sample", help="write a synthetic dataset with exact annotations")
    p.add_argument("out", type=Path, help="dataset root to write")
    p.add_argument("--train", type=int, default=32, help="training samples (default 32)")
    p.add_argument("--test", type=int, default=8, help="test samples (default 8)")
    p.add_argument("--size", type=_size, default=(256, 192), help="HEIGHTxWIDTH, 4:3")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("validate", help="check a dataset against the VITON-HD layout")
    p.add_argument("dataset", type=Path, help="dataset root (holds train/ and/or test/)")
    p.add_argument(
        "--require", default="image,cloth", help="comma-separated kinds every sample must have"
    )
    p.add_argument("--json", type=Path, help="write the metrics report here")
    p.add_argument("--violations", type=Path, help="write every violation here (JSON lines)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "annotate",
        help="annotate a folder of photos (or a dataset) with one kind",
        description="Run one annotator over every image of a folder (outputs in the "
        "VITON-HD folder names under --out, rejects in OUT/rejects.jsonl) or over a dataset.",
    )
    p.add_argument("kind", choices=("pose", "parse", "densepose", "cloth_mask", "agnostic"))
    p.add_argument("--in", dest="input", type=Path, help="folder of photos")
    p.add_argument("--out", type=Path, help="output folder (with --in)")
    p.add_argument("--dataset", type=Path, help="annotate a VITON-HD-layout root in place")
    p.add_argument("--reference", type=Path, help="reference annotations (with --dataset)")
    p.add_argument(
        "--backend",
        help="the kind's backend (default: params.yaml's; with --in, an offline one where "
        "that is reference: pose/parse/densepose mediapipe, cloth_mask background)",
    )
    p.add_argument(
        "--catalog",
        type=Path,
        help="with --dataset: the catalog giving each sample's garment category "
        "(agnostic.category: auto; default: DATASET/catalog.csv when present)",
    )
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--workers", type=int, help="worker processes (default: run.annotate_workers)")
    p.add_argument("--cache", type=Path, help="cache folder (default: run.annotate_cache)")
    p.add_argument("--rejects", type=Path, help="rejects file (default: OUT/rejects.jsonl)")
    p.add_argument(
        "--max-reject-rate",
        type=float,
        help="exit 1 above this reject rate, after writing the rejects (default: "
        "annotate.max_reject_rate); exit 1 as well when no image is annotated",
    )
    p.set_defaults(func=cmd_annotate)

    p = sub.add_parser("report", help="write an HTML contact sheet of a dataset (offline)")
    p.add_argument("dataset", type=Path, help="dataset root in the VITON-HD layout")
    p.add_argument("--out", type=Path, required=True, help="folder for index.html and pages")
    p.add_argument("--metrics-dir", type=Path, default=Path("metrics"), help="stage metrics")
    p.add_argument(
        "--annotate-dir", type=Path, default=Path("data/annotate"), help="stage rejects/logs"
    )
    p.add_argument("--per-page", type=int, default=24)
    p.add_argument("--thumb-height", type=int, default=256)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "fidelity",
        help="compare two datasets kind by kind (PCK, parse mIoU, mask IoU, agnostics)",
        description="How far do OURS's annotations differ from REF's? Flat JSON of scores.",
    )
    p.add_argument("ref", type=Path, help="reference dataset root (e.g. the shipped one)")
    p.add_argument("ours", type=Path, help="dataset root to compare (e.g. regenerated)")
    p.add_argument("--json", type=Path, help="also write the scores here (for DVC metrics)")
    p.set_defaults(func=cmd_fidelity)

    p = sub.add_parser(
        "export",
        help="write a dataset in the layout a peer codebase reads (hr-viton, viton-hd, dresscode)",
        description="Write DATASET (our layout) to OUT for a peer codebase's loader: hard links "
        "where the filesystem allows, copies otherwise; OUT is replaced at the end, whole.",
    )
    p.add_argument("dataset", type=Path, help="dataset root in our layout")
    p.add_argument("out", type=Path, help="folder to write (replaced)")
    from vton.layout import DRESSCODE_CATEGORIES, FLAVORS

    p.add_argument("--flavor", choices=FLAVORS, default="hr-viton")
    p.add_argument(
        "--category",
        choices=DRESSCODE_CATEGORIES,
        default="upper_body",
        help="DressCode category folder (dresscode only)",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("labels", help="print a label set and its mapping to VITON-HD ids")
    p.add_argument("set", nargs="?", help="a label set name (default all)")
    p.set_defaults(func=cmd_labels)

    p = sub.add_parser(
        "scrape",
        help="crawl a shop (a site spec) into a scraped folder: images + items.jsonl",
        description="Crawl the shop a site spec describes (robots.txt obeyed, throttled, "
        "allowed domains only). A second crawl into the same folder adds only new products. "
        "The folder is the `scraped` source (data.scraped.root).",
    )
    p.add_argument("site", help="spec name in scraper/sites/ (e.g. example-shop) or a YAML path")
    p.add_argument(
        "--out", type=Path, required=True, help="the scraped folder, e.g. data/raw/scraped"
    )
    p.add_argument(
        "--start-url",
        action="append",
        help="start from this listing page instead of the spec's start_urls (repeatable)",
    )
    p.add_argument("--log-level", default="INFO", help="scrapy log level (default INFO)")
    p.set_defaults(func=cmd_scrape)

    p = sub.add_parser("pose-convert", help="convert OpenPose JSON between BODY_25 and COCO-18")
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("--to", choices=("body25", "coco18"), default="body25")
    p.set_defaults(func=cmd_pose_convert)

    p = sub.add_parser(
        "train",
        help="train the GMM or the TOM on a dataset (params: train.*)",
        description="Train one model (CUDA when present). For DDP run it under torchrun: "
        "torchrun --nproc-per-node 2 -m vton.cli train gmm ...",
    )
    p.add_argument("model", choices=("gmm", "tom"))
    p.add_argument("--dataset", type=Path, required=True, help="VITON-HD-layout root")
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--gmm", type=Path, help="trained GMM directory (for tom)")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--checkpoints", type=Path, help="resume state folder (default: none)")
    p.add_argument("--live", type=Path, help="DVCLive metrics and plots folder")
    p.add_argument("--samples", type=Path, help="preview grids folder")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "evaluate",
        help="score trained models and two baselines on the test pairs",
        description="SSIM, PSNR, L1 (paired) and unpaired scores of GMM+TOM, the pasted-garment "
        "and agnostic-only baselines; LPIPS and FID/KID with local weights (params: evaluate).",
    )
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--gmm", type=Path, required=True)
    p.add_argument("--tom", type=Path, required=True)
    p.add_argument(
        "--out", type=Path, required=True, help="folder for metrics.json, scores.csv, grids"
    )
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "tryon",
        help="try a garment on a person photo (or --batch many) with a trained checkpoint",
        description="Annotate the person (pose, parse, DensePose, agnostic) and the garment "
        "(mask), run GMM + TOM and write the result (params: infer, and the annotators' "
        "sections). --batch: PERSON and GARMENT are folders (or give --pairs FILE) and OUT "
        "is a folder; models load once.",
    )
    p.add_argument("--person", type=Path, help="person photo (a folder with --batch)")
    p.add_argument("--garment", type=Path, help="garment photo (a folder with --batch)")
    p.add_argument(
        "--checkpoint",
        type=Path,
        default=Path("data/models"),
        help="folder with gmm/ and tom/ (default: data/models, what dvc repro trains)",
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="result image (.png/.jpg/.webp); a folder with --batch",
    )
    p.add_argument("--strip", action="store_true", help="write every intermediate side by side")
    p.add_argument("--batch", action="store_true", help="many pairs, one loaded pipeline")
    p.add_argument("--pairs", type=Path, help="with --batch: lines 'PERSON GARMENT' (paths)")
    p.add_argument(
        "--pairing",
        choices=("by_name", "sorted"),
        default="by_name",
        help="with --batch over folders: same file stem, or i-th with i-th",
    )
    p.add_argument("--format", default="png", help="with --batch: png, jpeg or webp")
    p.add_argument("--quality", type=int, default=90, help="jpeg/webp quality 1..100")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N (default: infer.device)")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.set_defaults(func=cmd_tryon)

    p = sub.add_parser(
        "serve",
        help="serve the try-on HTTP API and web page (FastAPI + uvicorn)",
        description="Loads the checkpoint once, then serves /api/v1 (tryon, batch, jobs, "
        "health) and the web page at / (params: infer.serve).",
    )
    p.add_argument("--checkpoint", type=Path, default=Path("data/models"))
    p.add_argument("--host", help="default: infer.serve.host (127.0.0.1)")
    p.add_argument("--port", type=int, help="default: infer.serve.port")
    p.add_argument("--workers", type=int, help="try-ons at once (default: infer.serve.workers)")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "export-model",
        help="export the GMM and TOM to ONNX and TorchScript, checked against PyTorch",
    )
    p.add_argument("--checkpoint", type=Path, default=Path("data/models"))
    p.add_argument("--out", type=Path, required=True, help="folder for gmm/tom .onnx and .pt")
    p.add_argument("--format", default="onnx,torchscript", help="comma list: onnx, torchscript")
    p.add_argument("--size", type=_size, help="HxW to export at (default: the training size)")
    p.add_argument("--atol", type=float, default=1e-4, help="largest allowed |difference|")
    p.set_defaults(func=cmd_export_model)
    return parser


def main(argv: list[str] | None = None) -> int:
    from vton.config import ParamsError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ParamsError, FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
