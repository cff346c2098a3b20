"""flows/refresh.py end to end under Prefect's test harness: a shop on 127.0.0.1, a real git +
DVC project with a local-directory remote, four refreshes (first version, one new product,
nothing new, the shop down)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from dvc_project import make_project, run
from test_scraper import Shop, _jpeg, _listing, _product_page

from vton.layout import Layout, read_catalog
from vton.sources.sample import generate_sample

PROJECT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
TARGETS = ("validate", "data/raw/scraped.dvc")  # what the refresh reproduces and records


def add_product(shop: Shop, n: int) -> None:
    """Product P0n: a synthetic person wearing the garment, and its flat-lay."""
    s = generate_sample(n, 256, 192)
    flat, model = f"/img/p{n:02d}-flat.jpg", f"/img/p{n:02d}-model.jpg"
    shop.routes[flat] = (200, "image/jpeg", _jpeg(s.cloth))
    shop.routes[model] = (200, "image/jpeg", _jpeg(s.person))
    page = _product_page(f"P{n:02d}", f"Tee {n}", "Tops", flat, [model])
    shop.routes[f"/shop/p{n:02d}.html"] = (200, "text/html", page)
    links = sorted(p for p in shop.routes if p.startswith("/shop/p"))
    shop.routes["/shop/"] = (200, "text/html", _listing(links, None))


@pytest.fixture
def shop():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, kind, body = shop.routes.get(self.path) or (404, "text/html", b"")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    shop = Shop(port=server.server_address[1])
    shop.routes["/robots.txt"] = (200, "text/plain", b"User-agent: *\nDisallow: /private/\n")
    for n in (1, 2):
        add_product(shop, n)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    shop.server = server
    yield shop
    if shop.server is not None:
        server.shutdown()
        server.server_close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A committed git + DVC project reading the scraped source, with a local remote."""

    def scraped(params: dict) -> None:
        params["base"].update(height=128, width=96)
        params["data"].update(source="scraped")
        params["data"]["scraped"].update(root="data/raw/scraped", test_fraction=0.0)
        params["annotate"].update(max_reject_rate=0.5)
        params["run"]["annotate_workers"] = 0
        for kind in ("pose", "parse", "densepose"):
            params[kind]["backend"] = "mediapipe"
        params["cloth_mask"]["backend"] = "background"
        params["refresh"].update(
            sites=["example-shop"], targets=["validate"], retries=1, retry_delay_s=0.1
        )

    root = make_project(tmp_path / "project", scraped, folders=("stages", "vton", "flows"))
    run(root, "dvc", "remote", "add", "-d", "local", str(tmp_path / "remote"))
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-q", "-m", "project")
    return root


def head(root: Path) -> str:
    return run(root, "git", "rev-parse", "HEAD").strip()


def sample_ids(root: Path) -> list[str]:
    return sorted(read_catalog(Layout(root / "data" / "dataset").catalog_path)["id"])


def test_refresh_versions_pushes_adds_only_the_new_and_survives_a_dead_shop(
    shop, project, tmp_path, prefect_api
):
    from flows.refresh import refresh

    urls = {"example-shop": [f"{shop.url}/shop/"]}
    start = head(project)

    first = refresh(project=str(project), start_urls=urls)
    assert first["changed"] and first["new_products"] == 2
    assert first["new_samples"] == ["example-shop-P01_00", "example-shop-P02_00"]
    assert first["previous"] == start and first["version"] == head(project) != start
    assert first["pushed"]
    assert "refresh: 2 new products, 2 new samples" in run(project, "git", "log", "-1")
    assert not run(project, "git", "status", "--porcelain").strip()  # all committed
    assert "up to date" in run(project, "dvc", "status", *TARGETS)
    assert "in sync" in run(project, "dvc", "status", "--cloud")  # all pushed
    assert (project / "data" / "raw" / "scraped.dvc").exists()
    assert first["metrics_diff"]["metrics/ingest.json"]["samples"]["new"] == 2

    add_product(shop, 3)
    second = refresh(project=str(project), start_urls=urls)
    assert second["new_products"] == 1 and second["new_samples"] == ["example-shop-P03_00"]
    assert sample_ids(project) == [f"example-shop-P0{n}_00" for n in (1, 2, 3)]
    assert second["previous"] == first["version"] and second["version"] == head(project)
    assert second["metrics_diff"]["metrics/ingest.json"]["samples"] == {
        "old": 2,
        "new": 3,
        "diff": 1,
    }
    assert "in sync" in run(project, "dvc", "status", "--cloud")

    third = refresh(project=str(project), start_urls=urls)
    assert not third["changed"] and third["new_products"] == 0
    assert head(project) == second["version"]
    assert not run(project, "git", "status", "--porcelain").strip()  # nothing changed
    assert "up to date" in run(project, "dvc", "status", *TARGETS)

    shop.server.shutdown()  # the shop goes down
    shop.server.server_close()
    shop.server = None
    catalog = Layout(project / "data" / "dataset").catalog_path.read_bytes()
    with pytest.raises(RuntimeError, match="crawl of example-shop failed"):
        refresh(project=str(project), start_urls=urls)
    assert head(project) == second["version"]  # the previous version, intact
    assert not run(project, "git", "status", "--porcelain").strip()
    assert "up to date" in run(project, "dvc", "status", *TARGETS)
    assert Layout(project / "data" / "dataset").catalog_path.read_bytes() == catalog


def test_serve_registers_the_cron_deployment(project, prefect_api):
    """`python -m flows.refresh serve` against a running Prefect server: the deployment
    exists with params.yaml's cron schedule, pointing at the project."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from prefect.client.orchestration import get_client

    env = {**os.environ, "PREFECT_API_URL": prefect_api}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.refresh", "serve", "--project", str(project)],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deployment = None
    try:
        with get_client(sync_client=True) as client:
            deadline = time.monotonic() + 120
            while deployment is None and time.monotonic() < deadline:
                assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
                try:
                    deployment = client.read_deployment_by_name("vton-refresh/vton-refresh")
                except Exception:  # not registered yet
                    time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert deployment is not None, "serve did not register the deployment"
    crons = [s.schedule.cron for s in deployment.schedules]
    assert crons == ["0 4 * * *"]
    assert deployment.parameters["project"] == str(project.resolve())
