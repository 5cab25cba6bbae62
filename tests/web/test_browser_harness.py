"""The browser harness itself, on pages served by a throwaway local HTTP server: it drives Debian's Chromium,
the vendored uPlot draws 100k points offline, and the watch catches a request off the origin and a
JavaScript error (so a browser test can fail)."""

from __future__ import annotations

import functools
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_support import TABLET, chromium_path, watched_page
from tests.support import REPO

pytestmark = pytest.mark.integration

UPLOT = REPO / "web" / "static" / "vendor" / "uplot"

BUTTON_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Scan</title>
<script src="scan.js" defer></script></head>
<body><button type="button" id="scan">Start scan</button></body></html>"""

BUTTON_SCRIPT = """document.getElementById("scan").addEventListener("click", (event) => {
  event.target.textContent = "Scanning";
});"""

POINTS = 100_000

# The same plot through each vendored build: the classic script's global, or the ES module's default export.
PLOT_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Plot</title>
<link rel="stylesheet" href="vendor/uplot/uPlot.min.css"></head>
<body><h1>Cell voltage</h1><p id="status">waiting</p><div id="plot"></div>{loader}</body></html>"""

IIFE_LOADER = """<script src="vendor/uplot/uPlot.iife.min.js"></script>
<script>{draw}</script>"""

ESM_LOADER = """<script type="module">import uPlot from "./vendor/uplot/uPlot.esm.js";
{draw}</script>"""

DRAW = f"""const n = {POINTS}, xs = new Float64Array(n), ys = new Float64Array(n);
for (let i = 0; i < n; i++) {{ xs[i] = 1.7e9 + i; ys[i] = 2.2 + 0.05 * Math.sin(i / 500); }}
const started = performance.now();
new uPlot({{
  width: 1200, height: 400,
  series: [{{}}, {{label: "Voltage (V)", stroke: "blue"}}],
  hooks: {{draw: [(u) => {{
    document.getElementById("status").textContent =
      `drew ${{u.data[0].length}} points in ${{Math.round(performance.now() - started)}} ms`;
  }}]}},
}}, [xs, ys], document.getElementById("plot"));"""

BROKEN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Broken</title>
<script src="http://example.invalid/x.js"></script></head>
<body><p>broken</p><script>throw new Error("boom from the page");</script></body></html>"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # the test output stays readable
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """The pages above and a copy of the vendored uPlot, served on 127.0.0.1 on a port of their own."""
    (tmp_path / "index.html").write_text(BUTTON_PAGE)
    (tmp_path / "scan.js").write_text(BUTTON_SCRIPT)
    (tmp_path / "plot-iife.html").write_text(PLOT_PAGE.format(loader=IIFE_LOADER.format(draw=DRAW)))
    (tmp_path / "plot-esm.html").write_text(PLOT_PAGE.format(loader=ESM_LOADER.format(draw=DRAW)))
    (tmp_path / "broken.html").write_text(BROKEN_PAGE)
    shutil.copytree(UPLOT, tmp_path / "vendor" / "uplot")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_click_runs_the_pages_own_script(page, site) -> None:
    page.goto(f"{site}/index.html")
    page.get_by_role("button", name="Start scan").click()
    expect(page.get_by_role("button")).to_have_text("Scanning")


@pytest.mark.parametrize("build", ["iife", "esm"])
def test_vendored_uplot_draws_100k_points_offline(page, site, shoot, build) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{site}/plot-{build}.html")
    expect(page.locator("#status")).to_have_text(re.compile(rf"drew {POINTS} points in \d+ ms"), timeout=30_000)
    expect(page.locator("#plot canvas")).to_have_count(1)
    assert page.locator("#plot canvas").bounding_box()["width"] > 1000
    served = {url.removeprefix(site) for url in requests}
    assert "/vendor/uplot/uPlot.min.css" in served
    assert f"/vendor/uplot/{'uPlot.iife.min.js' if build == 'iife' else 'uPlot.esm.js'}" in served
    picture = shoot(page, f"harness-uplot-{build}")
    assert picture.read_bytes().startswith(b"\x89PNG")
    print(page.locator("#status").inner_text())  # the draw time, for the curious (pytest -s)
    # The `page` fixture then fails the test on any request off 127.0.0.1 or any script error.


def test_the_watch_catches_a_request_off_the_origin_and_a_script_error(browser, site) -> None:
    with watched_page(browser) as (page, watch):
        with page.expect_event("pageerror"), page.expect_request("http://example.invalid/x.js"):
            page.goto(f"{site}/broken.html")
    assert watch.origin == site
    assert watch.foreign_requests() == ["http://example.invalid/x.js"]
    assert watch.page_errors == ["Error: boom from the page"]
    with pytest.raises(AssertionError) as failure:
        watch.check()
    assert "request off the gateway" in str(failure.value)
    assert "http://example.invalid/x.js" in str(failure.value)
    assert "boom from the page" in str(failure.value)


def test_a_clean_page_passes_the_watch(browser, site) -> None:
    with watched_page(browser) as (page, watch):
        page.goto(f"{site}/index.html")
        expect(page.get_by_role("button", name="Start scan")).to_be_visible()
    assert watch.requests == [f"{site}/index.html", f"{site}/scan.js"]
    watch.check()


def test_the_tablet_page_is_a_1024_by_768_touch_screen(tablet_page, site) -> None:
    tablet_page.goto(f"{site}/index.html")
    assert tablet_page.evaluate("[innerWidth, innerHeight, navigator.maxTouchPoints > 0]") == [
        TABLET.width,
        TABLET.height,
        True,
    ]
    tablet_page.get_by_role("button", name="Start scan").tap()
    expect(tablet_page.get_by_role("button")).to_have_text("Scanning")


def test_no_chromium_names_the_debian_package(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="Debian's package `chromium`"):
        chromium_path()
