"""Drive the operator's pages in Debian's Chromium through Playwright's sync API, as a person would, and
fail on what a person would not see: a request that leaves the gateway (the gateway's network has no
internet), a JavaScript error, an error in the console.

Never `playwright install`: it downloads browsers from the internet. The browser is Debian's `chromium`."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Playwright, Request, Route, WebSocket

# Headless Chromium without its own traffic: no sync, no component or safe-browsing updates, no QUIC
# probes, no first-run pages. --no-sandbox: the tests may run as root, where the sandbox refuses to start.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# Schemes that never reach the network.
LOCAL_SCHEMES = frozenset({"about", "blob", "data"})
# A WebSocket shares the origin of the page that opens it, with its own scheme.
HTTP_SCHEME_OF = {"ws": "http", "wss": "https"}


@dataclass(frozen=True)
class Viewport:
    """The screen a page is read on."""

    width: int
    height: int
    touch: bool = False

    def context_options(self) -> dict:
        return {"viewport": {"width": self.width, "height": self.height}, "has_touch": self.touch}


DESKTOP = Viewport(1366, 768)  # the data center's laptop
TABLET = Viewport(1024, 768, touch=True)  # a tablet held in landscape


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError(
            "no `chromium` on PATH: install Debian's package `chromium` (scripts/test lists it); "
            "do not run `playwright install`, it downloads browsers from the internet"
        )
    return path


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, kept off the network except for what the pages ask."""
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=list(CHROMIUM_ARGS))


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    scheme = HTTP_SCHEME_OF.get(parts.scheme, parts.scheme)
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{parts.hostname}:{port}"


@dataclass
class PageWatch:
    """Everything a browser context asked for, and every script error, judged at the end of a test.

    The gateway's origin is `origin`, or else the origin of the first page the test opens."""

    origin: str | None = None
    requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    documents: set[str] = field(default_factory=set)  # pages opened: their 4xx answers are pages too

    def is_foreign(self, url: str, opens_page: bool = False) -> bool:
        if urlsplit(url).scheme in LOCAL_SCHEMES:
            return False
        if self.origin is None and opens_page:
            self.origin = origin_of(url)
        return self.origin is None or origin_of(url) != self.origin

    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests if self.is_foreign(url)]

    def problems(self) -> list[str]:
        return (
            [f"request off the gateway ({self.origin}): {url}" for url in self.foreign_requests()]
            + [f"JavaScript error: {error}" for error in self.page_errors]
            + [f"console error: {text}" for text in self.console_errors]
        )

    def check(self) -> None:
        """Fail with every problem seen, one a line."""
        problems = self.problems()
        assert not problems, "the page did what a person would not see:\n  " + "\n  ".join(problems)

    def on_request(self, request: Request) -> None:
        opens_page = _opens_page(request)
        self.is_foreign(request.url, opens_page=opens_page)
        self.requests.append(request.url)
        if opens_page:
            self.documents.add(request.url)

    def on_websocket(self, websocket: WebSocket) -> None:
        self.requests.append(websocket.url)

    def on_route(self, route: Route) -> None:
        """Refuse a request off the gateway at once, rather than wait for a network that is not there."""
        if self.is_foreign(route.request.url, opens_page=_opens_page(route.request)):
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def on_page_error(self, error: Error) -> None:
        self.page_errors.append(f"{error.name}: {error.message}")

    def on_console(self, message: ConsoleMessage) -> None:
        """A page answered 401 or 429 (a wrong password) is what the person should see, not a fault;
        a script, style or API call that fails still is."""
        url = message.location.get("url", "")
        if message.text.startswith("Failed to load resource") and url in self.documents:
            return
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")


def _opens_page(request: Request) -> bool:
    return request.is_navigation_request() and request.frame.parent_frame is None


@contextmanager
def watched_page(
    browser: Browser, viewport: Viewport = DESKTOP, origin: str | None = None
) -> Iterator[tuple[Page, PageWatch]]:
    """A page in a fresh browser context (no cookies from another test) whose requests and errors are
    recorded; the context closes on leaving. The caller judges the watch (PageWatch.check)."""
    watch = PageWatch(origin=origin)
    # Service workers blocked: every request the pages make goes through the watch's route.
    context = browser.new_context(**viewport.context_options(), service_workers="block")
    context.on("request", watch.on_request)
    context.route("**/*", watch.on_route)
    context.on("page", lambda page: _watch_page(page, watch))
    try:
        page = context.new_page()
        yield page, watch
    finally:
        context.close()


def _watch_page(page: Page, watch: PageWatch) -> None:
    page.on("pageerror", watch.on_page_error)
    page.on("console", watch.on_console)
    page.on("websocket", watch.on_websocket)


SCREENSHOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def screenshot(page: Page, name: str, folder: Path) -> Path:
    """The whole page as `folder`/`name`.png, to look at: a test can pass on a page no person could read."""
    if not SCREENSHOT_NAME.fullmatch(name):
        raise ValueError(f"screenshot name {name!r}: use letters, digits, '.', '_' and '-' only")
    path = folder / (name if name.endswith(".png") else f"{name}.png")
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path
