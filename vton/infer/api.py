"""The HTTP API (FastAPI, served by uvicorn) and the web page, under `/api/v1`.

    GET  /api/v1/health            model loaded, device, version, pool state
    POST /api/v1/tryon             multipart: person, garment (image files); options
                                   format=png|jpeg|webp, quality=1..100, intermediates=0|1
                                   -> the image, or JSON with every intermediate (base64)
    POST /api/v1/batch             multipart: person and garment repeated (paired in order)
                                   -> 202 {"job": ID}
    GET  /api/v1/jobs/{id}         status, progress and per-pair results of a batch job
    GET  /api/v1/jobs/{id}/results/{index}   one result image of a batch job
    GET  /                         the web page (offline: no CDN, inline script and style)

The models load once, at start-up (`create_app(make_pipeline, serve)`); try-ons run in a
bounded pool of `serve.workers` threads, each with its own pipeline (shared models, own
MediaPipe graphs); a request that finds `workers + queue` try-ons under way gets 503.
Uploads are checked before any work: body size (`max_upload_mb`, 413), content type of
each file (415), file names (a path in a name is 400), pixel count from the image header
before decoding (`max_pixels`, 413: decompression bombs), decodability (400). Every error is
JSON `{"error": reason, "detail": what happened and how to fix it}`. Uploads stay in memory;
the only files written are each try-on's temporary dataset (`vton.infer.inputs`) and a batch
job's results, both inside a per-job temporary folder removed when the job is dropped.
"""

from __future__ import annotations

import asyncio
import base64
import json
import queue
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

import vton
from vton.config import ServeParams
from vton.infer.batch import safe_stem
from vton.infer.multipart import FormError, Part, parse_form
from vton.infer.output import MEDIA_TYPES, check_format, encode

PREFIX = "/api/v1"
IMAGE_TYPES = {
    "image/jpeg",
    "image/jpg",
    "image/pjpeg",
    "image/png",
    "image/webp",
    "image/bmp",
    "image/tiff",
}
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_BAD_NAME = re.compile(r"[/\\\x00]|^\.\.?$|^[A-Za-z]:")


class ApiError(Exception):
    """An error answered as JSON {"error": reason, "detail": detail} with `status`."""

    def __init__(self, status: int, reason: str, detail: str, headers: dict | None = None):
        super().__init__(f"{status} {reason}: {detail}")
        self.status, self.reason, self.detail, self.headers = status, reason, detail, headers


def _error(status: int, reason: str, detail: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": reason, "detail": detail}, status, headers=headers)


# --- the worker pool ----------------------------------------------------------------------


class WorkerPool:
    """`workers` threads, each running try-ons with its own pipeline; admission is bounded."""

    def __init__(self, pipelines: list, queue_size: int):
        self.pipelines: queue.Queue = queue.Queue()
        for pipe in pipelines:
            self.pipelines.put(pipe)
        self.workers = len(pipelines)
        self.capacity = self.workers + queue_size
        self.executor = ThreadPoolExecutor(self.workers, thread_name_prefix="vton-tryon")
        self._lock = threading.Lock()
        self.in_flight = 0
        self.running = 0
        self.served = 0

    def admit(self) -> None:
        """Reserve a place for one try-on, or raise 503 when the pool and queue are full."""
        with self._lock:
            if self.in_flight >= self.capacity:
                raise ApiError(
                    503,
                    "busy",
                    f"{self.in_flight} try-ons are running or waiting (limit {self.capacity}: "
                    "infer.serve.workers + queue); retry in a moment",
                    {"Retry-After": "1"},
                )
            self.in_flight += 1

    def release(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _call(self, fn: Callable, *args):
        pipe = self.pipelines.get()
        with self._lock:
            self.running += 1
        try:
            return fn(pipe, *args)
        finally:
            with self._lock:
                self.running -= 1
                self.served += 1
            self.pipelines.put(pipe)

    async def run(self, fn: Callable, *args):
        """Run `fn(pipeline, *args)` on a worker (the caller has admitted it)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self._call, fn, *args)

    def submit(self, fn: Callable, *args):
        return self.executor.submit(self._call, fn, *args)

    def state(self) -> dict:
        with self._lock:
            return {
                "workers": self.workers,
                "running": self.running,
                "waiting": max(0, self.in_flight - self.running),
                "capacity": self.capacity,
                "served": self.served,
            }

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        while not self.pipelines.empty():
            self.pipelines.get().close()


# --- batch jobs -----------------------------------------------------------------------------


@dataclass
class Job:
    id: str
    folder: Path
    fmt: str
    quality: int
    pairs: list[tuple[str, str]]  # sanitised (person, garment) names
    status: str = "queued"
    created: float = field(default_factory=time.time)
    results: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        done = [r for r in self.results if "url" in r]
        return {
            "job": self.id,
            "status": self.status,
            "total": len(self.pairs),
            "finished": len(self.results),
            "written": len(done),
            "failed": len(self.results) - len(done),
            "results": self.results,
        }


class Jobs:
    """Batch jobs by id; the oldest finished ones (and their folders) go beyond `kept`."""

    def __init__(self, kept: int):
        self.kept = kept
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.status in ("done", "failed")]
            for old in finished[: max(0, len(self._jobs) - self.kept)]:
                self._jobs.pop(old.id)
                shutil.rmtree(old.folder, ignore_errors=True)

    def get(self, job_id: str) -> Job:
        if not _JOB_ID.match(job_id):
            raise ApiError(404, "no_such_job", f"{job_id!r} is not a job id (32 hex digits)")
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise ApiError(
                404, "no_such_job", f"no job {job_id} (finished jobs are kept {self.kept} deep)"
            )
        return job

    def active(self) -> int:
        with self._lock:
            return sum(j.status in ("queued", "running") for j in self._jobs.values())

    def close(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                shutil.rmtree(job.folder, ignore_errors=True)
            self._jobs.clear()


# --- request checks ---------------------------------------------------------------------------


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "bad_content_length", f"Content-Length {declared!r}")
        if int(declared) > limit:
            raise ApiError(
                413,
                "too_large",
                f"the request is {int(declared)} bytes, above the {limit}-byte limit "
                "(infer.serve.max_upload_mb); send smaller photos",
            )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(
                413,
                "too_large",
                f"the request passed the {limit}-byte limit "
                "(infer.serve.max_upload_mb); send smaller photos",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def check_filename(part: Part) -> str:
    """The upload's file name as a plain stem; a name holding a path is refused (400)."""
    name = part.filename or ""
    if _BAD_NAME.search(name) or ".." in name.replace("\\", "/").split("/"):
        raise ApiError(
            400,
            "bad_filename",
            f"field {part.name!r}: file name {name!r} holds a path; send a plain file name",
        )
    return safe_stem(name, default=part.name)


def check_upload(part: Part) -> None:
    """The cheap checks of an uploaded image part: file name, content type, not empty."""
    check_filename(part)
    ctype = part.content_type.split(";")[0].strip()
    if ctype not in IMAGE_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"field {part.name!r} has content type {ctype or 'none'!r}; send "
            f"{', '.join(sorted(IMAGE_TYPES))}",
        )
    if not part.data:
        raise ApiError(400, "empty_file", f"field {part.name!r} holds no bytes")


def decode_upload(part: Part, max_pixels: int) -> np.ndarray:
    """An uploaded image part -> (H, W, 3) uint8 RGB; 415/413/400 with the reason. The pixel
    count is read from the header and checked before anything is decoded."""
    from vton.formats.images import ImageRejected, load_photo

    check_upload(part)
    try:
        return load_photo(part.data, min_side=32, max_pixels=max_pixels).rgb
    except ImageRejected as exc:
        status = 413 if exc.reason == "too_large" else 400
        raise ApiError(status, exc.reason, f"field {part.name!r}: {exc.detail}") from None


def _fields(parts: list[Part]) -> dict[str, list[Part]]:
    out: dict[str, list[Part]] = {}
    for part in parts:
        out.setdefault(part.name, []).append(part)
    return out


def _one(fields: dict[str, list[Part]], name: str, *, file: bool) -> Part:
    found = fields.get(name)
    if not found:
        what = "an image file" if file else "a value"
        raise ApiError(
            400,
            "missing_field",
            f"the form has no {name!r} field ({what}); it has {sorted(fields) or 'no fields'}",
        )
    if len(found) > 1:
        raise ApiError(400, "repeated_field", f"the form has {len(found)} {name!r} fields")
    if file and found[0].filename is None:
        raise ApiError(400, "not_a_file", f"field {name!r} must be a file upload")
    return found[0]


def _options(fields: dict[str, list[Part]]) -> tuple[str, int, bool]:
    def value(name: str, default: str) -> str:
        found = fields.get(name)
        return found[0].text().strip() if found else default

    quality_text = value("quality", "90")
    if not quality_text.isdigit():
        raise ApiError(
            400, "bad_option", f"quality must be an integer 1..100, got {quality_text!r}"
        )
    try:
        fmt = check_format(value("format", "png"), int(quality_text))
    except ValueError as exc:
        raise ApiError(400, "bad_option", str(exc)) from None
    flag = value("intermediates", "0").lower()
    if flag not in ("0", "1", "true", "false", "yes", "no", ""):
        raise ApiError(400, "bad_option", f"intermediates must be 0 or 1, got {flag!r}")
    return fmt, int(quality_text), flag in ("1", "true", "yes")


def _data_url(rgb: np.ndarray, fmt: str, quality: int) -> str:
    data = base64.b64encode(encode(rgb, fmt, quality)).decode("ascii")
    return f"data:{MEDIA_TYPES[fmt]};base64,{data}"


def _tryon(pipe, person: np.ndarray, garment: np.ndarray):
    from vton.annotate.base import AnnotationRejected

    try:
        return pipe.run(person, garment)
    except AnnotationRejected as exc:
        raise ApiError(
            422,
            exc.reason,
            f"{exc.detail} (use a front-facing photo of one person whose "
            "shoulders are visible, and a garment photographed flat on a plain background)",
        ) from None


# --- the app ----------------------------------------------------------------------------------


def create_app(make_pipeline: Callable[[], object], serve: ServeParams | None = None) -> FastAPI:
    """The API and web page; `make_pipeline()` builds the first `InferencePipeline` at start-up
    (the other workers `fork()` it)."""
    serve = serve or ServeParams()
    if serve.workers < 1 or serve.queue < 0:
        raise ValueError(f"infer.serve.workers must be >= 1 and queue >= 0, got {serve}")
    limit = int(serve.max_upload_mb * 1024 * 1024)
    state: dict = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        first = make_pipeline()
        pipelines = [first] + [first.fork() for _ in range(serve.workers - 1)]
        state["info"] = first.info()
        state["pool"] = WorkerPool(pipelines, serve.queue)
        state["jobs"] = Jobs(serve.jobs_kept)
        state["started"] = time.time()
        try:
            yield
        finally:
            state["pool"].close()
            state["jobs"].close()

    app = FastAPI(
        title="vton try-on API",
        version=vton.__version__,
        lifespan=lifespan,
        docs_url=f"{PREFIX}/docs",
        openapi_url=f"{PREFIX}/openapi.json",
        redoc_url=None,
    )

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return _error(exc.status, exc.reason, exc.detail, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        reason = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = exc.detail if exc.status_code != 404 else f"no route {request.url.path}"
        return _error(exc.status_code, reason, str(detail))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        # A bug, not a bad request: say so in JSON too (the traceback goes to the log).
        import logging

        logging.getLogger("vton.infer.api").exception("%s failed", request.url.path)
        return _error(500, "internal", f"{type(exc).__name__}: {exc}")

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return _error(422, "invalid_request", json.dumps(exc.errors(), default=str))

    @app.get(f"{PREFIX}/health")
    async def health() -> dict:
        pool: WorkerPool = state["pool"]
        info = state["info"]
        return {
            "status": "ok",
            "model_loaded": True,
            "device": info["device"],
            "version": vton.__version__,
            "uptime_s": round(time.time() - state["started"], 1),
            "pool": pool.state(),
            "jobs_active": state["jobs"].active(),
            "model": info,
            "limits": {
                "max_upload_bytes": limit,
                "max_pixels": serve.max_pixels,
                "batch_max_pairs": serve.batch_max_pairs,
            },
        }

    async def read_form(request: Request) -> dict:
        """The request's multipart fields by name; a malformed body is a 400 (415 for a
        body that is not multipart at all)."""
        try:
            body = await read_body(request, limit)
            return _fields(parse_form(body, request.headers.get("content-type")))
        except FormError as exc:
            status = 415 if "Content-Type" in str(exc) else 400
            raise ApiError(status, "bad_form", str(exc)) from None

    @app.post(f"{PREFIX}/tryon")
    async def tryon(request: Request):
        pool: WorkerPool = state["pool"]
        fields = await read_form(request)
        person_part = _one(fields, "person", file=True)
        garment_part = _one(fields, "garment", file=True)
        fmt, quality, intermediates = _options(fields)
        check_upload(person_part)
        check_upload(garment_part)

        def work(pipe):  # on a worker thread: decoding and encoding stay off the event loop
            person = decode_upload(person_part, serve.max_pixels)
            garment = decode_upload(garment_part, serve.max_pixels)
            result = _tryon(pipe, person, garment)
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

    def run_job(job: Job, uploads: list[tuple[Part, Part]]) -> None:
        pool: WorkerPool = state["pool"]
        job.status = "running"

        def work(pipe, person_part: Part, garment_part: Part):
            person = decode_upload(person_part, serve.max_pixels)
            garment = decode_upload(garment_part, serve.max_pixels)
            return _tryon(pipe, person, garment)

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

    @app.post(f"{PREFIX}/batch", status_code=202)
    async def batch(request: Request):
        jobs: Jobs = state["jobs"]
        fields = await read_form(request)
        persons, garments = fields.get("person", []), fields.get("garment", [])
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
        fmt, quality, _ = _options(fields)
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
        threading.Thread(target=run_job, args=(job, uploads), daemon=True).start()
        return {"job": job_id, "status": job.status, "url": f"{PREFIX}/jobs/{job_id}"}

    @app.get(f"{PREFIX}/jobs/{{job_id}}")
    async def job_status(job_id: str) -> dict:
        return state["jobs"].get(job_id).summary()

    @app.get(f"{PREFIX}/jobs/{{job_id}}/results/{{index}}")
    async def job_result(job_id: str, index: int):
        job: Job = state["jobs"].get(job_id)
        record = next((r for r in list(job.results) if r["index"] == index), None)
        if record is None or "url" not in record:
            raise ApiError(404, "no_such_result", f"job {job_id} has no result {index} (yet)")
        suffix = "jpg" if job.fmt == "jpeg" else job.fmt
        return Response(
            (job.folder / f"{index:04d}.{suffix}").read_bytes(), media_type=MEDIA_TYPES[job.fmt]
        )

    @app.get("/", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        html = resources.files("vton.infer").joinpath("web/index.html").read_text("utf-8")
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    return app


def create_app_from_checkpoint(checkpoint: str | Path, params=None) -> FastAPI:
    """`create_app` for a checkpoint folder and `Params` (their `infer` section)."""
    from vton.config import Params
    from vton.infer.pipeline import InferencePipeline, checkpoint_dirs

    params = params or Params()
    checkpoint_dirs(checkpoint)  # fail before the server starts, not in its lifespan
    return create_app(
        lambda: InferencePipeline.from_checkpoint(checkpoint, params), params.infer.serve
    )


def serve(checkpoint: str | Path, params, host: str | None = None, port: int | None = None):
    """Run the API with uvicorn until interrupted (`vton serve`)."""
    import uvicorn

    app = create_app_from_checkpoint(checkpoint, params)
    s = params.infer.serve
    uvicorn.run(
        app, host=host or s.host, port=port if port is not None else s.port, log_level="info"
    )
