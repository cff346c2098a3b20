"""The API's routes under `/api/v1` and the web page; see `vton.infer.api`.

The handlers find what `create_app` set up on `request.app.state`: `serve` (the
`ServeParams`), `upload_limit` (bytes), and from the lifespan `pool` (`WorkerPool`), `jobs`
(`Jobs`), `info` (the first pipeline's `info()`) and `started` (a `time.time()`).
"""

from __future__ import annotations

import base64
import json
import tempfile
import threading
import time
import uuid
from importlib import resources
from pathlib import Path

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

import vton
from vton.config import ServeParams
from vton.infer.errors import ApiError
from vton.infer.jobs import Job, Jobs
from vton.infer.multipart import Part
from vton.infer.output import MEDIA_TYPES, encode
from vton.infer.pool import WorkerPool
from vton.infer.uploads import (
    check_filename,
    check_upload,
    decode_upload,
    one_part,
    read_form,
    read_options,
    read_sampling,
)

PREFIX = "/api/v1"

router = APIRouter()


def _data_url(rgb: np.ndarray, fmt: str, quality: int) -> str:
    data = base64.b64encode(encode(rgb, fmt, quality)).decode("ascii")
    return f"data:{MEDIA_TYPES[fmt]};base64,{data}"


def _tryon(pipe, person: np.ndarray, garment: np.ndarray, sampling=None):
    from vton.annotate.base import AnnotationRejected

    try:
        return pipe.run(person, garment, sampling)
    except AnnotationRejected as exc:
        raise ApiError(
            422,
            exc.reason,
            f"{exc.detail} (use a front-facing photo of one person whose "
            "shoulders are visible, and a garment photographed flat on a plain background)",
        ) from None


@router.get(f"{PREFIX}/health")
async def health(request: Request) -> dict:
    state = request.app.state
    pool: WorkerPool = state.pool
    serve: ServeParams = state.serve
    info = state.info
    return {
        "status": "ok",
        "model_loaded": True,
        "device": info["device"],
        "version": vton.__version__,
        "uptime_s": round(time.time() - state.started, 1),
        "pool": pool.state(),
        "jobs_active": state.jobs.active(),
        "model": info,
        "limits": {
            "max_upload_bytes": state.upload_limit,
            "max_pixels": serve.max_pixels,
            "batch_max_pairs": serve.batch_max_pairs,
        },
    }


@router.post(f"{PREFIX}/tryon")
async def tryon(request: Request):
    pool: WorkerPool = request.app.state.pool
    max_pixels = request.app.state.serve.max_pixels
    fields = await read_form(request, request.app.state.upload_limit)
    person_part = one_part(fields, "person", file=True)
    garment_part = one_part(fields, "garment", file=True)
    fmt, quality, intermediates = read_options(fields)
    sampling = read_sampling(fields)
    check_upload(person_part)
    check_upload(garment_part)

    def work(pipe):  # on a worker thread: decoding and encoding stay off the event loop
        person = decode_upload(person_part, max_pixels)
        garment = decode_upload(garment_part, max_pixels)
        result = _tryon(pipe, person, garment, sampling)
        timings = {k: round(v, 4) for k, v in result.timings.items()}
        if not intermediates:
            return Response(
                encode(result.result, fmt, quality),
                media_type=MEDIA_TYPES[fmt],
                headers={"X-Timings": json.dumps(timings)},
            )
        return {
            "result": _data_url(result.result, fmt, quality),
            "intermediates": {k: _data_url(v, fmt, quality) for k, v in result.images.items()},
            "timings": timings,
            "notes": json.loads(json.dumps(result.notes, default=str)),
        }

    pool.admit()
    try:
        return await pool.run(work)
    finally:
        pool.release()


def run_job(
    job: Job,
    uploads: list[tuple[Part, Part]],
    pool: WorkerPool,
    max_pixels: int,
    sampling=None,
) -> None:
    """Try every uploaded pair of `job` on, one after the other; a failed pair fails only it."""
    job.status = "running"

    def work(pipe, person_part: Part, garment_part: Part):
        person = decode_upload(person_part, max_pixels)
        garment = decode_upload(garment_part, max_pixels)
        return _tryon(pipe, person, garment, sampling)

    for index, ((person_part, garment_part), (pname, gname)) in enumerate(
        zip(uploads, job.pairs, strict=True)
    ):
        record = {"index": index, "person": pname, "garment": gname}
        try:
            result = pool.submit(work, person_part, garment_part).result()
        except ApiError as exc:
            job.results.append(record | {"error": exc.reason, "detail": exc.detail})
            continue
        except Exception as exc:  # an unexpected failure of one pair fails only it
            job.results.append(record | {"error": "internal", "detail": repr(exc)})
            continue
        suffix = "jpg" if job.fmt == "jpeg" else job.fmt
        (job.folder / f"{index:04d}.{suffix}").write_bytes(
            encode(result.result, job.fmt, job.quality)
        )
        timings = {k: round(v, 4) for k, v in result.timings.items()}
        url = f"{PREFIX}/jobs/{job.id}/results/{index}"
        job.results.append(record | {"url": url, "timings": timings})
    job.status = "done"


def _check_batch(persons: list[Part], garments: list[Part], serve: ServeParams, jobs: Jobs):
    """Refuse a batch that is unpaired, too long, or arrives while the job queue is full."""
    for name, found in (("person", persons), ("garment", garments)):
        if not found:
            raise ApiError(400, "missing_field", f"the form has no {name!r} file fields")
    if len(persons) != len(garments):
        raise ApiError(
            400,
            "unpaired",
            f"{len(persons)} person and {len(garments)} garment files; "
            "send them in pairs (the i-th person with the i-th garment)",
        )
    if len(persons) > serve.batch_max_pairs:
        raise ApiError(
            413,
            "too_many_pairs",
            f"{len(persons)} pairs, above the limit of "
            f"{serve.batch_max_pairs} (infer.serve.batch_max_pairs); split the batch",
        )
    if jobs.active() >= max(1, serve.queue):
        raise ApiError(
            503,
            "busy",
            f"{jobs.active()} batch jobs are queued or running; retry later",
            {"Retry-After": "5"},
        )


@router.post(f"{PREFIX}/batch", status_code=202)
async def batch(request: Request):
    state = request.app.state
    jobs: Jobs = state.jobs
    fields = await read_form(request, state.upload_limit)
    persons, garments = fields.get("person", []), fields.get("garment", [])
    _check_batch(persons, garments, state.serve, jobs)
    fmt, quality, _ = read_options(fields)
    sampling = read_sampling(fields)
    names = []
    for p, g in zip(persons, garments, strict=True):
        check_upload(p)  # the cheap checks now; decoding runs pair by pair in the job
        check_upload(g)
        names.append((check_filename(p), check_filename(g)))
    job_id = uuid.uuid4().hex
    folder = Path(tempfile.mkdtemp(prefix=f"vton-job-{job_id}-"))
    job = Job(job_id, folder, fmt, quality, names)
    jobs.add(job)
    uploads = list(zip(persons, garments, strict=True))
    args = (job, uploads, state.pool, state.serve.max_pixels, sampling)
    threading.Thread(target=run_job, args=args, daemon=True).start()
    return {"job": job_id, "status": job.status, "url": f"{PREFIX}/jobs/{job_id}"}


@router.get(f"{PREFIX}/jobs/{{job_id}}")
async def job_status(request: Request, job_id: str) -> dict:
    return request.app.state.jobs.get(job_id).summary()


@router.get(f"{PREFIX}/jobs/{{job_id}}/results/{{index}}")
async def job_result(request: Request, job_id: str, index: int):
    job: Job = request.app.state.jobs.get(job_id)
    record = next((r for r in list(job.results) if r["index"] == index), None)
    if record is None or "url" not in record:
        raise ApiError(404, "no_such_result", f"job {job_id} has no result {index} (yet)")
    suffix = "jpg" if job.fmt == "jpeg" else job.fmt
    return Response(
        (job.folder / f"{index:04d}.{suffix}").read_bytes(), media_type=MEDIA_TYPES[job.fmt]
    )


@router.get("/", response_class=HTMLResponse)
async def page() -> HTMLResponse:
    html = resources.files("vton.infer").joinpath("web/index.html").read_text("utf-8")
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
