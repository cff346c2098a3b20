"""The HTTP API served for real by uvicorn on 127.0.0.1, every endpoint over a socket."""

from __future__ import annotations

import base64
import io
import json
import struct
import time
import zlib
from pathlib import Path

import httpx
import numpy as np
import pytest
from infer_data import SIZE, LiveServer, garment_photo, person_photo, tiny_checkpoint, tiny_params
from PIL import Image

import vton
from vton.infer import INTERMEDIATES
from vton.infer.api import ApiError, WorkerPool, create_app_from_checkpoint

MAX_UPLOAD_MB = 1.0
MAX_PIXELS = 2_000_000


def png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def bomb_png(side: int = 10_000) -> bytes:
    """A real, valid greyscale PNG of side x side black pixels (100 M pixels, ~100 kB)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    z = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + one row
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    checkpoint = tiny_checkpoint(tmp_path_factory.mktemp("checkpoint"))
    params = tiny_params(max_upload_mb=MAX_UPLOAD_MB, max_pixels=MAX_PIXELS, workers=1, queue=4)
    app = create_app_from_checkpoint(checkpoint, params)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def images() -> dict[str, bytes]:
    return {"person": png(person_photo()), "garment": png(garment_photo())}


def files(images, **override):
    out = {
        "person": ("person.png", images["person"], "image/png"),
        "garment": ("shirt.png", images["garment"], "image/png"),
    }
    out.update(override)
    return {k: v for k, v in out.items() if v is not None}


def assert_error(response: httpx.Response, status: int, reason: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == reason, body
    assert body["detail"], body
    return body


def assert_healthy(server: httpx.Client) -> None:
    health = server.get("/api/v1/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_health_says_what_is_loaded(server):
    body = server.get("/api/v1/health").json()
    assert body["model_loaded"] is True
    assert body["device"] == "cpu"
    assert body["version"] == vton.__version__
    assert body["model"]["working_size"] == list(SIZE)
    assert body["model"]["model_size"] == [64, 48]
    assert body["pool"]["workers"] == 1
    assert body["limits"]["max_pixels"] == MAX_PIXELS


def test_tryon_returns_the_image_in_each_format(server, images):
    response = server.post("/api/v1/tryon", files=files(images))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).size == (SIZE[1], SIZE[0])
    assert json.loads(response.headers["x-timings"])["total"] > 0
    for fmt, pil_name in (("jpeg", "JPEG"), ("webp", "WEBP")):
        response = server.post(
            "/api/v1/tryon", files=files(images), data={"format": fmt, "quality": "80"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == f"image/{fmt}"
        assert Image.open(io.BytesIO(response.content)).format == pil_name


def test_tryon_with_intermediates_returns_json(server, images):
    response = server.post("/api/v1/tryon", files=files(images), data={"intermediates": "1"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert tuple(body["intermediates"]) == INTERMEDIATES
    for url in [body["result"], *body["intermediates"].values()]:
        head, data = url.split(",", 1)
        assert head == "data:image/png;base64"
        assert Image.open(io.BytesIO(base64.b64decode(data))).size == (SIZE[1], SIZE[0])
    assert {"pose", "parse", "models", "total"} <= set(body["timings"])


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("not_an_image", 400, "not_an_image"),
        ("bomb", 413, "too_large"),
        ("oversized", 413, "too_large"),
        ("missing_field", 400, "missing_field"),
        ("path_in_filename", 400, "bad_filename"),
        ("windows_path", 400, "bad_filename"),
        ("text_content_type", 415, "unsupported_media_type"),
        ("not_multipart", 415, "bad_form"),
        ("bad_format", 400, "bad_option"),
        ("no_person", 422, "no_person"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_reason_and_the_server_stays_healthy(
    server, images, tmp_path, case, status, reason
):
    post = {"files": files(images)}
    if case == "not_an_image":
        post["files"] = files(images, person=("a.png", b"this is not a PNG" * 10, "image/png"))
    elif case == "bomb":
        post["files"] = files(images, person=("bomb.png", bomb_png(), "image/png"))
    elif case == "oversized":
        big = np.random.default_rng(0).integers(0, 255, (800, 800, 3), np.uint8)
        assert len(png(big)) > MAX_UPLOAD_MB * 1024 * 1024
        post["files"] = files(images, person=("big.png", png(big), "image/png"))
    elif case == "missing_field":
        post["files"] = files(images, garment=None)
    elif case == "path_in_filename":
        post["files"] = files(images, person=("../../etc/evil.png", images["person"], "image/png"))
    elif case == "windows_path":
        post["files"] = files(images, garment=("..\\..\\evil.png", images["garment"], "image/png"))
    elif case == "text_content_type":
        post["files"] = files(images, person=("a.txt", images["person"], "text/plain"))
    elif case == "not_multipart":
        post = {"json": {"person": "a.png"}}
    elif case == "bad_format":
        post["data"] = {"format": "gif"}
    elif case == "no_person":
        blank = png(np.full((256, 192, 3), 255, np.uint8))
        post["files"] = files(images, person=("blank.png", blank, "image/png"))
    body = assert_error(server.post("/api/v1/tryon", **post), status, reason)
    if case == "missing_field":
        assert "garment" in body["detail"]
    if case == "bomb":
        assert "pixels" in body["detail"]
    assert not (tmp_path.parent / "evil.png").exists()
    assert_healthy(server)


def test_unknown_routes_and_jobs_are_json_404(server):
    assert_error(server.get("/api/v1/nothing"), 404, "not_found")
    assert_error(server.get("/api/v1/jobs/" + "0" * 32), 404, "no_such_job")
    assert_error(server.get("/api/v1/jobs/not-a-job"), 404, "no_such_job")
    assert server.get("/api/v1/jobs/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert_error(server.get("/api/v1/tryon"), 405, "method_not_allowed")


def test_batch_job_runs_every_pair_and_reports_each(server, images):
    blank = png(np.full((256, 192, 3), 255, np.uint8))
    form = [
        ("person", ("p1.png", images["person"], "image/png")),
        ("garment", ("g1.png", images["garment"], "image/png")),
        ("person", ("nobody.png", blank, "image/png")),
        ("garment", ("g2.png", images["garment"], "image/png")),
    ]
    response = server.post("/api/v1/batch", files=form, data={"format": "jpeg"})
    assert response.status_code == 202, response.text
    job = response.json()["job"]
    deadline = time.monotonic() + 60
    while (status := server.get(f"/api/v1/jobs/{job}").json())["status"] != "done":
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert (status["total"], status["written"], status["failed"]) == (2, 1, 1)
    ok, bad = status["results"]
    assert (ok["person"], ok["garment"]) == ("p1", "g1")
    assert bad["error"] == "no_person" and bad["detail"]
    image = server.get(ok["url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(image.content)).size == (SIZE[1], SIZE[0])
    assert_error(server.get(f"/api/v1/jobs/{job}/results/1"), 404, "no_such_result")
    # Unpaired uploads are refused before any work.
    assert_error(server.post("/api/v1/batch", files=form[:3]), 400, "unpaired")
    assert_healthy(server)


def test_the_pool_admits_workers_plus_queue_then_says_busy():
    pool = WorkerPool([object()], queue_size=1)
    pool.admit()
    pool.admit()
    with pytest.raises(ApiError) as info:
        pool.admit()
    assert info.value.status == 503 and info.value.reason == "busy"
    pool.release()
    pool.admit()
    pool.executor.shutdown()


def vton_tryon(tmp_path: Path, images: dict, checkpoint: Path, *extra: str) -> None:
    """`vton tryon` of the test photos with `checkpoint` at the tests' size."""
    from vton.cli import main as vton_main

    (tmp_path / "person.png").write_bytes(images["person"])
    (tmp_path / "shirt.png").write_bytes(images["garment"])
    params = tmp_path / "params.yaml"
    params.write_text(f"infer:\n  height: {SIZE[0]}\n  width: {SIZE[1]}\n  device: cpu\n")
    out = tmp_path / "result.png"
    args = ["--person", str(tmp_path / "person.png"), "--garment", str(tmp_path / "shirt.png")]
    common = ["--checkpoint", str(checkpoint), "--params", str(params), *extra]
    assert vton_main(["tryon", *args, "--out", str(out), *common]) == 0
    assert Image.open(out).size == (SIZE[1], SIZE[0])


@pytest.mark.parametrize("family", ["unet_sa", "hrviton"])
def test_every_family_checkpoint_serves_and_runs_in_vton_tryon(family, images, tmp_path, capsys):
    """The HTTP API over a socket and `vton tryon` with the other families' checkpoints
    (gmm_tom is what the tests above serve)."""
    checkpoint = tiny_checkpoint(tmp_path / "checkpoint", family)
    app = create_app_from_checkpoint(checkpoint, tiny_params(workers=1, queue=2))
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        model = client.get("/api/v1/health").json()["model"]
        kinds = {"unet_sa": ("gmm", "unet_sa"), "hrviton": ("tocg", "spade")}[family]
        assert (model["warp"]["kind"], model["generator"]["kind"]) == kinds
        assert model["family"] == "+".join(kinds)
        response = client.post("/api/v1/tryon", files=files(images))
        assert response.status_code == 200, response.text
        result = np.asarray(Image.open(io.BytesIO(response.content)))
        assert result.shape == (*SIZE, 3) and result.std() > 0
    vton_tryon(tmp_path, images, checkpoint)
    capsys.readouterr()


@pytest.mark.parametrize("family", ["ldm", "catvton", "tryondiffusion"])
def test_diffusion_checkpoints_take_sampling_options(family, images, tmp_path, capsys):
    """steps / guidance / seed as form fields over a socket (the same seed, the same bytes),
    a bad value is a 400; `vton tryon --steps` with a progress bar over the steps."""
    checkpoint = tiny_checkpoint(tmp_path / "checkpoint", family)
    app = create_app_from_checkpoint(checkpoint, tiny_params(workers=1, queue=2))
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=120) as client:
        model = client.get("/api/v1/health").json()["model"]
        assert model["generator"]["kind"] == family
        options = {"steps": "2", "seed": "5", "guidance": "2.0"}
        first = client.post("/api/v1/tryon", files=files(images), data=options)
        again = client.post("/api/v1/tryon", files=files(images), data=options)
        assert first.status_code == again.status_code == 200, first.text
        assert first.content == again.content  # seeded sampling is reproducible
        other = client.post("/api/v1/tryon", files=files(images), data=options | {"seed": "6"})
        assert other.status_code == 200 and other.content != first.content
        for bad in ({"steps": "0"}, {"steps": "many"}, {"guidance": "-1"}):
            assert_error(
                client.post("/api/v1/tryon", files=files(images), data=bad), 400, "bad_option"
            )
        assert_healthy(client)
    capsys.readouterr()
    vton_tryon(tmp_path, images, checkpoint, "--steps", "3")
    assert "sampling" in capsys.readouterr().err  # the bar over the 3 steps
