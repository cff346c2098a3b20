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
the only files written are each try-on's temporary dataset (`vton.infer.model_io`) and a batch
job's results, both inside a per-job temporary folder removed when the job is dropped.

Modules: `routes` (the handlers, an `APIRouter`), `uploads` (form parsing and upload checks),
`pool` (the worker pool), `jobs` (batch jobs), `errors` (`ApiError` and the JSON error
handlers); this one builds the app and runs it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI

import vton
from vton.config import ServeParams
from vton.infer.errors import ApiError, add_error_handlers
from vton.infer.jobs import Jobs
from vton.infer.pool import WorkerPool
from vton.infer.routes import PREFIX, router

if TYPE_CHECKING:
    from vton.infer.pipeline import InferencePipeline

__all__ = ["PREFIX", "ApiError", "WorkerPool", "create_app", "create_app_from_checkpoint", "serve"]


def create_app(
    make_pipeline: Callable[[], InferencePipeline], serve: ServeParams | None = None
) -> FastAPI:
    """The API and web page; `make_pipeline()` builds the first `InferencePipeline` at start-up
    (the other workers `fork()` it)."""
    settings = serve or ServeParams()
    if settings.workers < 1 or settings.queue < 0:
        raise ValueError(f"infer.serve.workers must be >= 1 and queue >= 0, got {settings}")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        first = make_pipeline()
        pipelines = [first] + [first.fork() for _ in range(settings.workers - 1)]
        app.state.info = first.info()
        app.state.pool = WorkerPool(pipelines, settings.queue)
        app.state.jobs = Jobs(settings.jobs_kept)
        app.state.started = time.time()
        try:
            yield
        finally:
            app.state.pool.close()
            app.state.jobs.close()

    app = FastAPI(
        title="vton try-on API",
        version=vton.__version__,
        lifespan=lifespan,
        docs_url=f"{PREFIX}/docs",
        openapi_url=f"{PREFIX}/openapi.json",
        redoc_url=None,
    )
    app.state.serve = settings
    app.state.upload_limit = int(settings.max_upload_mb * 1024 * 1024)
    add_error_handlers(app)
    app.include_router(router)
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
