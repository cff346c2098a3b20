"""Try-on latency end to end (annotators + models) and HTTP API throughput.

Latency: `InferencePipeline.run` on one real photo (scikit-image's astronaut) and a garment,
at each working size, models loaded once, after warm-up runs; p50 / p95 of the wall time
per try-on and the median of each stage.

Throughput: `vton serve` started as its own process on 127.0.0.1 (uvicorn), N concurrent
clients (threads with their own httpx connection) POST /api/v1/tryon as fast as answers
come; requests per second and the p50 / p95 latency a client sees.

Models: the checkpoint given with --checkpoint, else models of the architecture params.yaml
trains (train.gmm / train.tom widths at train.data's size) with seeded untrained weights,
saved to a temporary checkpoint; the time a forward pass takes does not depend on the
weights' values.

    python bench/infer.py [--checkpoint data/models] [--sizes 256x192,512x384] [--runs 20]
                          [--clients 1,2,4] [--requests 16] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import torch
import yaml
from PIL import Image
from skimage import data as skimage_data

from vton.config import load_params
from vton.infer import InferencePipeline
from vton.sources.sample import generate_sample

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def build_checkpoint(params, root: Path) -> Path:
    """Untrained models of the configured architecture (timings only)."""
    from vton.models import GMM, TOM, GMMConfig, TOMConfig

    t = params.train
    height, width = (t.data.height, t.data.width) if t.data.height else (256, 192)
    torch.manual_seed(0)
    gmm = GMMConfig(
        width=t.gmm.width, levels=t.gmm.levels, grid=t.gmm.grid, height=height, image_width=width
    )
    GMM(gmm).save_pretrained(root / "gmm")
    TOM(TOMConfig(width=t.tom.width, depth=t.tom.depth)).save_pretrained(root / "tom")
    return root


def photos() -> tuple[np.ndarray, np.ndarray]:
    person = skimage_data.astronaut()
    garment = generate_sample(0, 1024, 768, seed=1).cloth
    return person, garment


def latency(checkpoint: Path, params, size: tuple[int, int], runs: int, warmup: int) -> dict:
    infer = dataclasses.replace(params.infer, height=size[0], width=size[1])
    params = dataclasses.replace(params, infer=infer)
    t0 = time.perf_counter()
    pipe = InferencePipeline.from_checkpoint(checkpoint, params)
    load = time.perf_counter() - t0
    person, garment = photos()
    for _ in range(warmup):
        pipe.run(person, garment)
    totals, stages = [], {}
    for _ in range(runs):
        out = pipe.run(person, garment)
        totals.append(out.timings["total"])
        for k, v in out.timings.items():
            stages.setdefault(k, []).append(v)
    pipe.close()
    return {
        "size": f"{size[0]}x{size[1]}",
        "model_size": "x".join(map(str, pipe.model_size)),
        "device": str(pipe.device),
        "load_s": round(load, 2),
        "runs": runs,
        "p50_s": round(percentile(totals, 50), 3),
        "p95_s": round(percentile(totals, 95), 3),
        "stage_median_ms": {k: round(statistics.median(v) * 1000, 1) for k, v in stages.items()},
    }


def _start_server(
    checkpoint: Path, params_path: Path, workers: int, log
) -> tuple[subprocess.Popen, str]:
    """`vton serve` on a free port of 127.0.0.1, once its health route answers; its URL."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "vton.cli", "serve", "--checkpoint", str(checkpoint)]
    command += ["--params", str(params_path), "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url + "/api/v1/health", timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-3000:]
            server.kill()
            raise RuntimeError(f"vton serve did not come up; its log ends:\n{tail}")
        time.sleep(0.3)


def _load(url: str, files: dict, clients: int, requests: int, workers: int) -> dict:
    """`clients` threads posting try-ons concurrently: requests/s and latency percentiles."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    per_client = max(1, requests // clients)

    def client():
        with httpx.Client(base_url=url, timeout=120) as c:
            for _ in range(per_client):
                t0 = time.perf_counter()
                r = c.post("/api/v1/tryon", files=files, data={"format": "jpeg"})
                with lock:
                    if r.status_code == 200:
                        latencies.append(time.perf_counter() - t0)
                    else:
                        errors.append(r.status_code)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {
        "clients": clients,
        "workers": workers,
        "requests": len(latencies) + len(errors),
        "errors": errors,
        "req_per_s": round(len(latencies) / wall, 2),
        "p50_s": round(percentile(latencies, 50), 3),
        "p95_s": round(percentile(latencies, 95), 3),
    }


def throughput(
    checkpoint: Path, params_path: Path, clients: list[int], requests: int, workers: int
) -> list[dict]:
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    try:
        server, url = _start_server(checkpoint, params_path, workers, log)
    except BaseException:
        log.close()
        raise
    try:
        person, garment = photos()
        files = {}
        for name, rgb in (("person", person), ("garment", garment)):
            buf = io.BytesIO()
            Image.fromarray(rgb).save(buf, format="JPEG", quality=90)
            files[name] = (f"{name}.jpg", buf.getvalue(), "image/jpeg")
        with httpx.Client(base_url=url, timeout=120) as c:  # warm-up
            for _ in range(2):
                c.post("/api/v1/tryon", files=files).raise_for_status()
        return [_load(url, files, n, requests, workers) for n in clients]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, help="gmm/ + tom/ (default: untrained models)")
    ap.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    ap.add_argument("--sizes", default="256x192,512x384")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--clients", default="1,2,4")
    ap.add_argument("--requests", type=int, default=16, help="per client level")
    ap.add_argument("--workers", default="1,2", help="the server's try-on workers (a list)")
    ap.add_argument("--api-size", default="512x384")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    params = load_params(args.params)
    with tempfile.TemporaryDirectory(prefix="vton-bench-") as tmp:
        checkpoint = args.checkpoint
        if checkpoint is None:
            checkpoint = build_checkpoint(params, Path(tmp) / "checkpoint")
            print(f"untrained models of the configured architecture in {checkpoint}")
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
        results = {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "latency": [latency(checkpoint, params, s, args.runs, args.warmup) for s in sizes],
        }
        for row in results["latency"]:
            print(json.dumps(row))
        height, width = (int(v) for v in args.api_size.split("x"))
        api_params = Path(tmp) / "params.yaml"
        raw = yaml.safe_load(args.params.read_text())
        raw.setdefault("infer", {}).update(height=height, width=width)
        api_params.write_text(yaml.safe_dump(raw))
        clients = [int(c) for c in args.clients.split(",")]
        results["api"] = []
        for workers in (int(w) for w in args.workers.split(",")):
            results["api"] += throughput(checkpoint, api_params, clients, args.requests, workers)
        for row in results["api"]:
            print(json.dumps(row))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
