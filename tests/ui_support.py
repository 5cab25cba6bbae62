"""A real gateway with users, and a raw HTTP client that logs in as a browser would."""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from tests.gateway_process import REPO, GatewayProcess, kill_all, wait_serving, write_demo_topology

PASSWORD = "correct horse battery"


def add_user(topology: Path, name: str, role: str, password: str = PASSWORD, *extra: str) -> None:
    """`btms user add`, the password given twice on standard input as a script would."""
    done = subprocess.run(
        [sys.executable, "-m", "btms.cli", "user", "add", name, "--role", role, "--topology", str(topology), *extra],
        cwd=REPO,
        input=f"{password}\n{password}\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def start_ui_gateway(tmp_path: Path, cells: int = 8, **topology_options) -> GatewayProcess:
    """The demo site on the simulator, serving, with an administrator, an operator and a viewer."""
    topology, data = write_demo_topology(tmp_path, cells=cells, **topology_options)
    for name, role in (("root", "admin"), ("olga", "operator"), ("vera", "viewer")):
        add_user(topology, name, role)
    gateway = GatewayProcess.start(tmp_path, topology, data)
    wait_serving(gateway, timeout=30)
    return gateway


def stop_gateway(gateway: GatewayProcess) -> None:
    pids = gateway.actor_pids()
    try:
        gateway.stop(signal.SIGTERM)
    finally:
        kill_all(pids)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: str


@dataclass
class RawBrowser:
    """Cookies and forms over http.client: what an attacker's script sends, nothing more."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            answer = Answer(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read().decode(errors="replace"),
            )
            for value in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(value).items():
                    if morsel.value:
                        self.cookies[name] = morsel.value
                    else:
                        self.cookies.pop(name, None)
        finally:
            connection.close()
        return answer

    def log_in(self, name: str, password: str = PASSWORD) -> Answer:
        form = self.request("GET", "/login").body
        token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
        return self.request("POST", "/login", {"username": name, "password": password, "login_csrf": token})

    def csrf(self, path: str = "/site/realtime") -> str:
        return re.search(r'<meta name="csrf-token" content="([^"]+)"', self.request("GET", path).body).group(1)


# -- the same through the app itself (no process): quick tests of pages and forms ------------------


def app_with_users(tmp_path: Path, topology=None):
    """(app, ui) over tmp_path with root (admin), olga (operator) and vera (viewer)."""
    from tests.factories import ui_context
    from tests.support import small_topology
    from web.api_tokens import TokenVerifier
    from web.app import create_app
    from web.users.book import User

    ui = ui_context(topology or small_topology(tmp_path), tmp_path)
    for name, role in (("root", "admin"), ("olga", "operator"), ("vera", "viewer")):
        ui.users.add(User(name, role), PASSWORD)
    return create_app(ui, TokenVerifier(tmp_path)), ui


async def app_log_in(client, name: str, password: str = PASSWORD):
    form = await (await client.get("/login")).get_data(as_text=True)
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    return await client.post("/login", form={"username": name, "password": password, "login_csrf": token})


async def app_csrf(client, path: str = "/account") -> str:
    page = await (await client.get(path)).get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def run_app(app, scenario):
    """asyncio.run(scenario(client)) with the app started (its stores opened) around it."""
    import asyncio

    async def outer():
        async with app.test_app():
            return await scenario(app.test_client())

    return asyncio.run(outer())


def browser_log_in(page, gateway: GatewayProcess, name: str, password: str = PASSWORD, path: str = "/site/realtime"):
    """Open `path`, log in with the form as a person does, and land back on `path`."""
    from playwright.sync_api import expect

    page.goto(gateway.web_url + path)
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(gateway.web_url + path)
