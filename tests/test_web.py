"""The web page, driven in headless Chromium over the Chrome DevTools Protocol.

The browser loads the page from the live server, the test puts two photo files into the
page's file inputs (`DOM.setFileInputFiles`, what a user's file chooser does), clicks
"Try on", waits for the result image to load, takes a screenshot and checks the result is
on it. The CDP client is the `websockets` package's synchronous client.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
import shutil
import subprocess
import time

import httpx
import numpy as np
import pytest
from infer_data import LiveServer, garment_photo, person_photo, tiny_checkpoint, tiny_params
from PIL import Image

from vton.infer import INTERMEDIATES
from vton.infer.api import create_app_from_checkpoint

CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH")


class DevTools:
    """A minimal CDP session on one page target."""

    def __init__(self, ws_url: str):
        from websockets.sync.client import connect

        self.ws = connect(ws_url, max_size=None, open_timeout=30)
        self.ids = itertools.count(1)

    def __call__(self, method: str, **params):
        message_id = next(self.ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:  # events arrive in between; skip them
            reply = json.loads(self.ws.recv(timeout=60))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def js(self, expression: str):
        result = self("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60, what: str = ""):
        deadline = time.monotonic() + timeout
        while not (value := self.js(expression)):
            if time.monotonic() > deadline:
                status = self.js("document.getElementById('status')?.textContent")
                raise AssertionError(f"timed out waiting for {what or expression}; page: {status}")
            time.sleep(0.1)
        return value

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    checkpoint = tiny_checkpoint(tmp_path_factory.mktemp("checkpoint"))
    app = create_app_from_checkpoint(checkpoint, tiny_params())
    with LiveServer(app) as live:
        yield live.url


@pytest.fixture
def browser(tmp_path):
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--window-size=1280,1000",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            assert proc.poll() is None, f"chromium exited with {proc.returncode}"
            assert time.monotonic() < deadline, "chromium wrote no DevToolsActivePort"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        yield tools
        tools.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_the_page_needs_nothing_from_outside(server):
    html = httpx.get(server + "/", timeout=10).text
    assert '<input type="file" id="person"' in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html


def test_upload_two_photos_and_see_the_result(server, browser, tmp_path):
    person, garment = tmp_path / "person.jpg", tmp_path / "shirt.png"
    Image.fromarray(person_photo()).save(person, quality=95)
    Image.fromarray(garment_photo()).save(garment)

    browser("Page.enable")
    browser("Page.navigate", url=server + "/")
    browser.wait_for("document.readyState === 'complete' && !!document.getElementById('run')")
    root = browser("DOM.getDocument")["root"]["nodeId"]
    for selector, path in (("#person", person), ("#garment", garment)):
        node = browser("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        browser("DOM.setFileInputFiles", nodeId=node, files=[str(path)])
    browser.wait_for("!document.getElementById('run').disabled", what="the button to enable")
    browser.js("document.getElementById('run').click()")
    width = browser.wait_for(
        "(() => { const r = document.getElementById('result');"
        " return r.classList.contains('shown') && r.complete && r.naturalWidth; })()",
        what="the result image",
    )
    assert width == 96
    names = browser.js("[...document.querySelectorAll('img.step')].map(i => i.alt)")
    assert tuple(names) == INTERMEDIATES
    assert browser.js("document.getElementById('status').textContent").startswith("Done")

    shot = base64.b64decode(browser("Page.captureScreenshot", format="png")["data"])
    (tmp_path / "page.png").write_bytes(shot)
    screen = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))
    box = browser.js(
        "(() => { const b = document.getElementById('result').getBoundingClientRect();"
        " const s = devicePixelRatio;"
        " return [b.left, b.top, b.right, b.bottom].map(v => Math.round(v * s)); })()"
    )
    left, top, right, bottom = box
    assert right - left > 50 and bottom - top > 50, box
    region = screen[top + 2 : bottom - 2, left + 2 : right - 2]
    # The result is a photo on the screenshot: many colours, not the page's blank background.
    assert region.std() > 20 and len(np.unique(region.reshape(-1, 3), axis=0)) > 500
