"""The scraper against a fixture shop served from 127.0.0.1, then its output through the
`scraped` source and a real `dvc repro`.

The shop (`scraper/sites/example-shop.yaml` is its spec, the one docs/scraping.md shows) has
three listing pages joined by pagination and sixteen product links: good products (synthetic
people and garments from vton.sources.sample, which MediaPipe Pose finds whole), two real
photos where MediaPipe finds a person but no sure torso (skimage's astronaut, hips at the
bottom edge; matplotlib's Grace Hopper, head and shoulders), a page robots.txt forbids, a
link to another host (`localhost`: the same server under a name not in allowed_domains)
and a redirect to it, a broken image link, an HTML page served as an image, an HTML page
that claims to be a JPEG, an image over the byte limit, one over the pixel limit, a
flat-lay resized and re-used, an on-model photo re-used byte for byte, a product shot where
the on-model photo should be, a product of a category outside the dataset, and one product
linked under a second URL.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import yaml
from dvc_project import make_project, run
from PIL import Image

from scraper.dedupe import DuplicateIndex, signature
from scraper.run import run_crawl
from scraper.spec import SpecError, load_spec, parse_spec
from vton.cli import main as cli_main
from vton.formats.scraped_items import (
    IMAGES,
    ITEMS,
    image_path,
    read_crawl_summary,
    read_products,
)
from vton.layout import Layout, read_catalog, read_jsonl, read_pairs
from vton.sources.sample import generate_sample

PROJECT = Path(__file__).resolve().parents[1]
SPEC = load_spec("example-shop")

# --- the fixture shop ---------------------------------------------------------------------


def _jpeg(rgb: np.ndarray, scale: float = 1.0) -> bytes:
    img = Image.fromarray(rgb)
    if scale != 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _real_photo(name: str) -> bytes:
    if name == "astronaut":
        import skimage.data

        return _jpeg(skimage.data.astronaut())
    import matplotlib.cbook

    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as img:
        return _jpeg(np.asarray(img.convert("RGB")))


@dataclass
class Shop:
    """Routes (path -> status, content type, body) and the requests the server saw."""

    routes: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    seen: list[dict] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self, crawl: int) -> list[dict]:
        return [r for r in self.seen if r["crawl"] == crawl]


def _product_page(sku, title, category, flat, models, colour="Red") -> bytes:
    gallery = "".join(f'<img class="on-model" src="{m}">' for m in models)
    return (
        f'<html><body><main class="product" data-sku="{sku}"><h1 class="title">{title}</h1>'
        f'<nav class="breadcrumb"><a href="/shop/">Women</a> / '
        f'<span class="category">{category}</span></nav>'
        f'<img class="flat-lay" src="{flat}"><div class="gallery">{gallery}</div>'
        f'<dl><dt>Colour</dt><dd class="colour">{colour}</dd></dl>'
        '<ul class="sizes"><li>S</li><li>M</li><li>L</li></ul></main></body></html>'
    ).encode()


def _listing(links: list[str], next_page: str | None) -> bytes:
    items = "".join(f'<li><a class="product-link" href="{u}">item</a></li>' for u in links)
    nav = f'<a rel="next" href="{next_page}">Next</a>' if next_page else ""
    return (
        f'<html><body><ul class="products">{items}</ul>'
        f'<nav class="pagination"><a rel="prev" href="/shop/">First</a>{nav}</nav></body></html>'
    ).encode()


def build_shop(port: int) -> Shop:
    s = {i: generate_sample(i, 256, 192) for i in range(14)}
    html, jpeg, png = "text/html; charset=utf-8", "image/jpeg", "image/png"
    shop = Shop(port=port)
    r = shop.routes
    r["/robots.txt"] = (200, "text/plain", b"User-agent: *\nDisallow: /private/\n")
    noise = np.random.default_rng(0).integers(0, 256, (900, 1200, 3), dtype=np.uint8)
    images = {
        "/img/p01-flat.jpg": _jpeg(s[0].cloth),
        "/img/p01-model.jpg": _jpeg(s[0].person),
        "/img/p01-portrait.jpg": _real_photo("grace_hopper"),  # head and shoulders only
        "/img/p02-flat.jpg": _jpeg(s[1].cloth),
        "/img/p02-model-a.jpg": _jpeg(s[1].person),
        "/img/p02-model-b.jpg": _jpeg(s[6].person),
        "/img/p03-flat.jpg": _jpeg(s[2].cloth),
        "/img/p03-model.jpg": _jpeg(s[2].person),
        "/img/p04-flat.jpg": _jpeg(s[3].cloth),
        "/img/p04-model.jpg": _real_photo("astronaut"),  # hips at the bottom edge, unsure
        "/img/p05-flat.jpg": _jpeg(s[4].cloth),
        "/img/p05-model.jpg": _jpeg(s[9].cloth),  # a product shot where the person should be
        "/img/p06-flat.jpg": _jpeg(s[5].cloth),
        "/img/p06-model.jpg": _jpeg(s[5].person),
        "/img/p09-flat.jpg": _jpeg(s[7].cloth),
        "/img/p10-model.jpg": _jpeg(s[8].person),
        "/img/p11-flat.jpg": _jpeg(s[10].cloth),
        "/img/p11-model.png": _png(Image.fromarray(noise)),  # ~3 MB: over max_bytes
        "/img/p12-flat.jpg": _jpeg(s[0].cloth, scale=1.5),  # p01's flat-lay, larger
        "/img/p12-model.jpg": _jpeg(s[11].person),
        "/img/p13-flat.jpg": _jpeg(s[12].cloth),
        "/img/p14-flat.png": _png(Image.new("L", (6000, 6000), 250)),  # 36 Mpx, few bytes
        "/img/p14-model.jpg": _jpeg(s[12].person),
        "/img/p15-model.jpg": _jpeg(s[13].person),
    }
    images["/img/p13-model.jpg"] = images["/img/p02-model-a.jpg"]  # the same bytes again
    for path, body in images.items():
        r[path] = (200, png if path.endswith(".png") else jpeg, body)
    page = b"<html><body><h1>Henley</h1><p>Our lookbook</p></body></html>"
    r["/img/p10-flat.jpg"] = (200, html, page)  # an HTML page where an image should be
    r["/img/p15-flat.jpg"] = (200, jpeg, page)  # HTML claiming to be a JPEG
    products = {
        "p01": (
            "P01",
            "Striped tee",
            "Tops",
            "/img/p01-flat.jpg",
            ["/img/p01-model.jpg", "/img/p01-portrait.jpg"],
        ),
        "p02": (
            "P02",
            "Oxford shirt",
            "Shirts",
            "/img/p02-flat.jpg",
            ["/img/p02-model-a.jpg", "/img/p02-model-b.jpg"],
        ),
        "p03": ("P03", "Chinos", "Trousers", "/img/p03-flat.jpg", ["/img/p03-model.jpg"]),
        "p04": ("P04", "Summer dress", "Dresses", "/img/p04-flat.jpg", ["/img/p04-model.jpg"]),
        "p05": ("P05", "Linen shirt", "Tops", "/img/p05-flat.jpg", ["/img/p05-model.jpg"]),
        "p06": ("P06", "Silk scarf", "Scarves", "/img/p06-flat.jpg", ["/img/p06-model.jpg"]),
        "p09": ("P09", "Polo", "Tops", "/img/p09-flat.jpg", ["/img/missing.jpg"]),
        "p10": ("P10", "Henley", "Tops", "/img/p10-flat.jpg", ["/img/p10-model.jpg"]),
        "p11": ("P11", "Parka", "Tops", "/img/p11-flat.jpg", ["/img/p11-model.png"]),
        "p12": ("P12", "Rugby shirt", "Tops", "/img/p12-flat.jpg", ["/img/p12-model.jpg"]),
        "p13": ("P13", "Tank top", "Tops", "/img/p13-flat.jpg", ["/img/p13-model.jpg"]),
        "p14": ("P14", "Vest", "Tops", "/img/p14-flat.png", ["/img/p14-model.jpg"]),
        "p15": ("P15", "Cardigan", "Tops", "/img/p15-flat.jpg", ["/img/p15-model.jpg"]),
    }
    for name, (sku, title, category, flat, models) in products.items():
        r[f"/shop/{name}.html"] = (200, html, _product_page(sku, title, category, flat, models))
    r["/private/p07.html"] = (200, html, _product_page("P07", "Secret", "Tops", "/x", []))
    r["/shop/p08.html"] = r["/shop/p01.html"]
    r["/go/p16"] = (302, html, f"http://localhost:{port}/shop/p01.html".encode())  # offsite
    r["/shop/"] = (
        200,
        html,
        _listing([f"/shop/p0{i}.html" for i in (1, 2, 3, 4)], "/shop/?page=2"),
    )
    r["/shop/?page=2"] = (
        200,
        html,
        _listing(
            [
                "/shop/p05.html",
                "/shop/p06.html",
                "/private/p07.html",
                f"http://localhost:{port}/shop/p08.html",  # a host not in allowed_domains
                "/go/p16",  # a redirect to that host
            ],
            "/shop/?page=3",
        ),
    )
    r["/shop/?page=3"] = (
        200,
        html,
        _listing(
            [f"/shop/p{i:02d}.html" for i in range(9, 16)] + ["/shop/p01.html?ref=sale"], None
        ),
    )
    return shop


@pytest.fixture(scope="module")
def shop():
    holder: dict = {"crawl": 1}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            route = shop.routes.get(self.path) or shop.routes.get(self.path.split("?ref=")[0])
            shop.seen.append(
                {
                    "crawl": holder["crawl"],
                    "path": self.path,
                    "host": self.headers.get("Host", ""),
                    "agent": self.headers.get("User-Agent", ""),
                }
            )
            status, kind, body = route or (404, "text/html", b"<h1>not found</h1>")
            self.send_response(status)
            if status in (301, 302):
                self.send_header("Location", body.decode())
                body = b""
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    shop = build_shop(server.server_address[1])
    shop.holder = holder
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield shop
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def crawled(shop, tmp_path_factory) -> dict:
    """Two crawls of the shop into one folder: their summaries and the folder's state."""
    root = tmp_path_factory.mktemp("scraped") / "raw" / "scraped"
    start = [f"{shop.url}/shop/"]
    # The first crawl through the command line, the second through the library call under it.
    assert cli_main(["scrape", "example-shop", "--out", str(root), "--start-url", start[0]]) == 0
    first = read_crawl_summary(root)
    items_after_first = (root / ITEMS).read_bytes()
    files_after_first = sorted(p.relative_to(root) for p in (root / "images").rglob("*.jpg"))
    shop.holder["crawl"] = 2
    second = run_crawl("example-shop", root, start, log_level="WARNING", timeout=120)
    return {
        "root": root,
        "first": first,
        "second": second,
        "items_after_first": items_after_first,
        "files_after_first": files_after_first,
    }


# --- the crawls ---------------------------------------------------------------------------


def _image(products, sku, role, k=0):
    product = next(p for p in products if p.product_id == sku)
    return product.images_of(role)[k]


def test_first_crawl_stores_what_is_usable_and_refuses_the_rest_with_reasons(shop, crawled):
    root, first = crawled["root"], crawled["first"]
    assert first["listing_pages"] == 3 and first["new_products"] == 13
    assert first["known_products"] == 1  # P01 again, under /shop/p01.html?ref=sale
    refused = {k: v for k, v in first.items() if k.startswith("refused_")}
    assert refused == {
        "refused_robots": 1,
        "refused_offsite": 2,
        "refused_http_404": 1,
        "refused_content_type": 1,
        "refused_not_an_image": 1,
        "refused_too_large": 1,
        "refused_too_many_pixels": 1,
    }
    by_reason = {r["reason"]: r for r in first["refusals"]}
    assert by_reason["robots"]["url"].endswith("/private/p07.html")
    offsite = [r for r in first["refusals"] if r["reason"] == "offsite"]
    assert {r["url"] for r in offsite} == {
        f"http://localhost:{shop.port}/shop/p08.html",
        f"http://localhost:{shop.port}/shop/p01.html",
    }
    assert {r["referer"] for r in offsite} == {f"{shop.url}/shop/?page=2", f"{shop.url}/go/p16"}
    assert by_reason["http_404"]["url"].endswith("/img/missing.jpg")
    assert by_reason["content_type"]["url"].endswith("/img/p10-flat.jpg")
    assert "text/html" in by_reason["content_type"]["detail"]
    assert by_reason["not_an_image"]["url"].endswith("/img/p15-flat.jpg")
    assert by_reason["too_large"]["url"].endswith("/img/p11-model.png")
    assert by_reason["too_many_pixels"]["url"].endswith("/img/p14-flat.png")
    assert first["images_duplicate"] == 2
    dups = {d["url"].rsplit("/", 1)[1]: d for d in first["duplicates"]}
    assert dups["p12-flat.jpg"]["how"] == "resized"
    assert dups["p12-flat.jpg"]["duplicate_of"].endswith("/img/p01-flat.jpg")
    assert 0 < dups["p12-flat.jpg"]["distance"] < SPEC.images.duplicate_distance
    assert dups["p13-model.jpg"]["how"] == "same_bytes"
    assert dups["p13-model.jpg"]["duplicate_of"].endswith("/img/p02-model-a.jpg")

    products = read_products(root)
    assert {p.product_id for p in products} == {
        f"P{i:02d}" for i in (1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15)
    }
    p02 = next(p for p in products if p.product_id == "P02")
    assert p02.site == "example-shop" and p02.title == "Oxford shirt" and p02.category == "top"
    assert p02.fields == {"colour": ["Red"], "sizes": ["S", "M", "L"]}
    assert p02.url == f"{shop.url}/shop/p02.html" and p02.fetched_at.endswith("Z")
    assert [i.url.rsplit("/", 1)[1] for i in p02.images] == [
        "p02-flat.jpg",
        "p02-model-a.jpg",
        "p02-model-b.jpg",
    ]
    stored = [i for p in products for i in p.images if i.status == "stored"]
    assert len(stored) == first["images_stored"] == 21
    for image in stored:  # stored under the digest of the URL, the bytes as served
        assert image.path == image_path(image.url)
        assert (root / image.path).is_file()
        assert image.width > 0 and image.sha256 and image.signature
    p01_flat = _image(products, "P01", "flat_lay")
    served = shop.routes["/img/p01-flat.jpg"][2]
    assert (root / p01_flat.path).read_bytes() == served  # a JPEG is kept byte for byte
    assert _image(products, "P09", "on_model").reason == "http_404"
    assert _image(products, "P12", "flat_lay").status == "duplicate"
    assert next(p for p in products if p.product_id == "P06").category is None

    seen = shop.requests(1)
    # Everything the shop links to was fetched, once, except what robots.txt forbids and
    # what lives on another host.
    paths = [r["path"] for r in seen]
    assert len(paths) == len(set(paths))
    unreachable = {"/private/p07.html", "/shop/p08.html"}
    assert set(paths) == set(shop.routes) - unreachable | {
        "/img/missing.jpg",
        "/shop/p01.html?ref=sale",
    }
    assert {r["agent"] for r in seen} == {SPEC.user_agent}
    assert not [r for r in seen if r["path"].startswith("/private/")]
    assert not [r for r in seen if r["host"].startswith("localhost")]
    assert [r["path"] for r in seen].count("/robots.txt") == 1
    assert first["robotstxt_forbidden"] == 1
    assert first["requests"] == len(seen)


def test_second_crawl_adds_nothing(shop, crawled):
    root, second = crawled["root"], crawled["second"]
    assert second["new_products"] == 0 and second["images_stored"] == 0
    assert second["products_before"] == second["products_after"] == 13
    assert (root / ITEMS).read_bytes() == crawled["items_after_first"]
    files = sorted(p.relative_to(root) for p in (root / "images").rglob("*.jpg"))
    assert files == crawled["files_after_first"]
    assert read_crawl_summary(root) == second
    # Only listing pages, robots.txt and the one product link not recorded under its URL.
    paths = sorted(r["path"] for r in shop.requests(2))
    assert paths == sorted(
        [
            "/robots.txt",
            "/shop/",
            "/shop/?page=2",
            "/shop/?page=3",
            "/shop/p01.html?ref=sale",
            "/go/p16",
        ]
    )
    assert second["known_product_pages"] == 13 and second["known_products"] == 1
    assert second["refused_robots"] == 1 and second["refused_offsite"] == 2


def test_a_killed_crawl_resumes_from_the_images_it_stored(shop, crawled, tmp_path):
    """A crawl killed after storing a product's images but before writing its line: the next
    crawl writes the product from the stored files, without downloading them again."""
    root = tmp_path / "scraped"
    shutil.copytree(crawled["root"], root)
    lines = (root / ITEMS).read_text().splitlines(keepends=True)
    lost = next(line for line in lines if '"product_id": "P03"' in line)
    (root / ITEMS).write_text("".join(line for line in lines if line is not lost))
    shop.holder["crawl"] = 3  # keeps its requests apart from the second crawl's
    before = len(shop.seen)
    summary = run_crawl("example-shop", root, [f"{shop.url}/shop/"], log_level="WARNING")
    assert summary["new_products"] == 1 and summary["images_stored"] == 2
    requested = [r["path"] for r in shop.seen[before:]]
    assert "/shop/p03.html" in requested and not [p for p in requested if p.startswith("/img/")]
    again = next(p for p in read_products(root) if p.product_id == "P03")
    original = next(p for p in read_products(crawled["root"]) if p.product_id == "P03")
    assert again.images == original.images
    files = sorted(p.relative_to(root) for p in (root / "images").rglob("*.jpg"))
    assert files == crawled["files_after_first"]


# --- the scrapy project (scrapy.cfg, scraper/settings.py) -----------------------------------


def _scrapy(*args: str) -> subprocess.CompletedProcess:
    """The `scrapy` command run in the project root, as a scrapy user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _timeless(summary: dict) -> dict:
    """A crawl summary without its times, its lists in a fixed order."""
    return {
        k: sorted(v, key=json.dumps) if isinstance(v, list) else v
        for k, v in summary.items()
        if k not in ("started_at", "finished_at", "seconds")
    }


def _stored(root: Path) -> tuple[dict, dict]:
    """What ROOT holds, without fetch times: the products by id, file digests by path."""
    products = {p.product_id: replace(p, fetched_at="") for p in read_products(root)}
    files = {
        str(f.relative_to(root)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted((root / IMAGES).rglob("*"))
        if f.is_file()
    }
    return products, files


def test_scrapy_list_and_check_find_the_project():
    listed = _scrapy("list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["shop"]
    checked = _scrapy("check")
    assert checked.returncode == 0, checked.stderr
    assert "Ran 0 contracts" in checked.stderr and "OK" in checked.stderr


def test_scrapy_crawl_runs_the_same_crawl_as_vton_scrape(shop, crawled, tmp_path):
    """`scrapy crawl shop` into an empty folder leaves what `vton scrape` left after its
    first crawl of the same shop, fetching the same pages as the same user agent."""
    root = tmp_path / "scraped"
    shop.holder["crawl"] = "scrapy"
    done = _scrapy(
        "crawl",
        "shop",
        "-a",
        "site=example-shop",
        "-a",
        f"out={root}",
        "-a",
        f"start_urls={shop.url}/shop/",
        "-s",
        "LOG_LEVEL=WARNING",
    )
    assert done.returncode == 0, done.stderr
    (products, files), (first_products, first_files) = _stored(root), _stored(crawled["root"])
    assert len(products) == 13 and products == first_products  # the second crawl added none
    assert len(files) == 21 and files == first_files
    assert _timeless(read_crawl_summary(root)) == _timeless(crawled["first"])
    paths = sorted(r["path"] for r in shop.requests("scrapy"))
    assert paths == sorted(r["path"] for r in shop.requests(1))
    assert {r["agent"] for r in shop.requests("scrapy")} == {SPEC.user_agent}


def test_scrapy_crawl_refuses_to_run_impolitely_or_without_its_arguments(shop, tmp_path):
    shop.holder["crawl"] = "refused"
    start = f"start_urls={shop.url}/shop/"
    base = ["crawl", "shop", "-a", "site=example-shop", "-a", f"out={tmp_path}", "-a", start]
    for setting in ("ROBOTSTXT_OBEY", "AUTOTHROTTLE_ENABLED"):
        done = _scrapy(*base, "-s", f"{setting}=False")
        assert done.returncode != 0 and f"{setting} turned off" in done.stderr
    done = _scrapy("crawl", "shop", "-a", start)
    assert done.returncode != 0
    assert "needs a site spec and an output folder" in done.stderr and "-a out=ROOT" in done.stderr
    assert shop.requests("refused") == []


# --- pieces -------------------------------------------------------------------------------


def test_site_spec_errors_name_the_key():
    raw = yaml.safe_load((PROJECT / "scraper" / "sites" / "example-shop.yaml").read_text())
    with pytest.raises(SpecError, match=r"unknown key product\.flatlay"):
        parse_spec({**raw, "product": {**raw["product"], "flatlay": "img"}})
    with pytest.raises(SpecError, match=r"missing key product\.on_model"):
        product = {k: v for k, v in raw["product"].items() if k != "on_model"}
        parse_spec({**raw, "product": product})
    with pytest.raises(SpecError, match=r"allowed_domains.*host name only"):
        parse_spec({**raw, "allowed_domains": ["http://127.0.0.1:8000"]})
    with pytest.raises(SpecError, match=r"categories: \['shoes'\]"):
        parse_spec({**raw, "categories": {"shoes": ["Shoes"]}})
    with pytest.raises(FileNotFoundError, match="example-shop"):
        load_spec("no-such-shop")
    assert SPEC.category_of(" t-shirts ") == "top" and SPEC.category_of("Scarves") is None


def test_docs_show_the_example_spec_the_tests_use():
    spec = (PROJECT / "scraper" / "sites" / "example-shop.yaml").read_text()
    assert f"```yaml\n{spec}```" in (PROJECT / "docs" / "scraping.md").read_text()


def test_duplicate_index_tells_resized_copies_from_other_pictures():
    index = DuplicateIndex(distance=6.0)
    samples = [generate_sample(i, 256, 192) for i in range(6)]
    for k, s in enumerate(samples):
        rgb = s.cloth
        index.add(f"u{k}", hashlib.sha256(rgb.tobytes()).hexdigest(), signature(rgb), 192, 256)
    big = np.asarray(Image.fromarray(samples[3].cloth).resize((288, 384)))
    match = index.find("other", signature(big), 288, 384)
    assert match is not None and match.url == "u3" and match.how == "resized"
    other = generate_sample(40, 256, 192).cloth
    assert index.find("x", signature(other), 192, 256) is None
    crop = np.ascontiguousarray(samples[3].cloth[:128])  # another aspect: not the same picture
    assert index.find("y", signature(crop), 128, 192) is None


# --- through the pipeline -----------------------------------------------------------------


@pytest.mark.slow
def test_dvc_repro_turns_the_scraped_folder_into_the_vitonhd_layout(crawled, tmp_path):
    def scraped(params: dict) -> None:
        params["data"].update(source="scraped", max_reject_rate=0.9)
        params["data"]["scraped"].update(root=str(crawled["root"]), test_fraction=0.3)
        params["run"].update(annotate_workers=0, annotate_cache=str(tmp_path / "cache"))
        for kind in ("pose", "parse", "densepose"):
            params[kind]["backend"] = "mediapipe"
        params["cloth_mask"]["backend"] = "background"

    repo = make_project(tmp_path / "repo", scraped)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    run(repo, "dvc", "repro", "validate")

    layout = Layout(repo / "data" / "dataset")
    ids = sorted(layout.ids("train") + layout.ids("test"))
    assert ids == [
        "example-shop-P01_00",
        "example-shop-P02_00",
        "example-shop-P02_01",
        "example-shop-P03_00",
    ]
    for split in ("train", "test"):
        for kind_name in params["validate"]["required"]:
            assert layout.ids(split, kind_name) == layout.ids(split), (split, kind_name)
        assert [p for p, _ in read_pairs(layout.pairs_path(split))] == layout.ids(split)
    splits = {sid: s for s in ("train", "test") for sid in layout.ids(s)}
    assert splits["example-shop-P02_00"] == splits["example-shop-P02_01"]  # one product, one split
    catalog = read_catalog(layout.catalog_path).set_index("id")
    p03 = json.loads(catalog.loc["example-shop-P03_00", "provenance"])
    assert p03["site"] == "example-shop" and p03["product_id"] == "P03"
    assert p03["category"] == "bottom" and p03["person_url"].endswith("/img/p03-model.jpg")
    assert p03["cloth_path"] == image_path(p03["cloth_url"]) and p03["fetched_at"].endswith("Z")
    rejects = {r["id"]: r["reason"] for r in read_jsonl(layout.rejects_path)}
    assert rejects == {
        "example-shop-P01_01": "partial_person",
        "example-shop-P04_00": "partial_person",
        "example-shop-P05_00": "flat_lay_as_person",
        "example-shop-P06": "category",
        "example-shop-P09_00": "crawl_http_404",
        "example-shop-P10": "crawl_content_type",
        "example-shop-P11_00": "crawl_too_large",
        "example-shop-P12": "crawl_duplicate",
        "example-shop-P13_00": "crawl_duplicate",
        "example-shop-P14": "crawl_too_many_pixels",
        "example-shop-P15": "crawl_not_an_image",
    }
    ingest = json.loads((repo / "metrics" / "ingest.json").read_text())
    assert ingest["source"] == "scraped" and ingest["samples"] == 4 and ingest["rejects"] == 11
    assert json.loads((repo / "metrics" / "validate.json").read_text())["violations"] == 0
    assert json.loads((repo / "metrics" / "pose.json").read_text())["written"] == 4
