"""Builders for the aggregator's page tests: gateways' live views as their proxies send them
(EdgeNodeView, the names and values a gateway publishes), alarm events in a real PostgreSQL, the
aggregator's app over them, and that app served by Hypercorn on a free port for a browser.

Lighter than `btms aggregate` with Mosquitto and real gateways (tests/aggregator/test_site_of_gateways.py
does that): the pages read only the AggregatedSite and the store, which are fed here directly.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from aggregator.messages import EdgeNodeView
from aggregator.records import Record
from aggregator.site_view import AggregatedSite
from aggregator.store import RecordStore
from aggregator.ui.context import AggregatorUi
from aggregator.web_app import create_aggregator_app
from tests.support import free_port, wait_for
from web.api_tokens import TokenVerifier
from web.users.book import User, UserBook

HOSTILE = '<img src=x onerror=alert(1)>"&?#%'  # a name a hostile gateway could publish
PASSWORD = "Aggregator-pw-1"
NOW_MS = 1_796_000_000_000


def string_metrics(cells: int, voltage: float = 54.2, null_cell: int | None = None) -> dict:
    metrics: dict = {
        "string.voltage": voltage,
        "string.current": -1.5,
        "string.soc": 87.0,
        "string.soh": 96.0,
        "string.health": "OK",
        "string.state": "FLOAT",
    }
    for n in range(1, cells + 1):
        metrics[f"cell.voltage/{n}"] = None if n == null_cell else round(13.5 + n / 100, 3)
        metrics[f"cell.resistance/{n}"] = 4.2
        metrics[f"cell.temperature/{n}"] = 24.5
        metrics[f"cell.health/{n}"] = "OK"
    return metrics


def gateway_view(
    edge_node: str,
    strings: dict[str, dict] | None = None,
    online: bool = True,
    alarms: dict | None = None,
    at_ms: int = NOW_MS,
) -> EdgeNodeView:
    """A gateway with one UPS `UPS-A` and the given strings (id -> string_metrics(...))."""
    strings = strings if strings is not None else {"A1": string_metrics(4)}
    devices = {"": {"gateway/version": "1.0"}, "UPS-A": {"ups.voltage": 400.0, "ups.soc": 90.0, "ups.health": "OK"}}
    devices.update({f"UPS-A:{s}": m for s, m in strings.items()})
    return EdgeNodeView(
        edge_node,
        online,
        "" if online else "no message for 30 s",
        at_ms / 1000,
        devices,
        {d: at_ms for d in devices if d},
        alarms or {},
    )


def alarm_event(alarm_id: int, title: str, event: str = "raised", string_id: str = "A1", cell: int | None = 2) -> dict:
    return {
        "event": event,
        "alarm_id": alarm_id,
        "kind": "cell_voltage_high",
        "title": title,
        "ups_id": "UPS-A",
        "string_id": string_id,
        "cell_index": cell,
        "value": 14.9,
        "limit": 14.4,
        "from_time": NOW_MS / 1000 - alarm_id * 60,
        "to_time": None if event in ("raised", "acknowledged") else NOW_MS / 1000,
        "acknowledged_by": None,
        "acknowledged_at": None,
        "detail": "",
    }


def add_user(storage: Path, name: str, role: str) -> None:
    UserBook(storage).add(User(name, role), PASSWORD)


async def store_alarms(dsn: str, events: list[tuple[str, dict]], offline: list[tuple[str, float, str]] = ()) -> None:
    store = await RecordStore.open(dsn)
    try:
        await store.store_alarm_events(events)
        for node, at, reason in offline:
            await store.raise_offline(node, at, reason)
    finally:
        await store.close()


def record(edge_node: str, device: str, ts_ms: int, nums: dict, texts: dict | None = None) -> Record:
    """One stored record as a GatewayProxy hands it to the store: its metrics' names and values."""
    texts = texts or {}
    return Record(edge_node, device, ts_ms, tuple(nums), tuple(nums.values()), tuple(texts), tuple(texts.values()))


async def store_records(dsn: str, records: list[Record]) -> None:
    store = await RecordStore.open(dsn)
    try:
        await store.store(records)
    finally:
        await store.close()


async def open_app(site: AggregatedSite, storage: Path, dsn: str | None):
    reader = await RecordStore.reader(dsn) if dsn else None
    ui = AggregatorUi.open(site, reader, storage, idle_min=30)
    return create_aggregator_app(ui, TokenVerifier(storage), metrics_cells=False), reader


async def logged_in(client, name: str = "olga", password: str = PASSWORD, next_path: str = "/site/realtime"):
    form = await (await client.get(f"/login?next={next_path}")).get_data(as_text=True)
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    return await client.post(
        "/login", form={"username": name, "password": password, "login_csrf": token, "next": next_path}
    )


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def run(site, tmp_path, scenario, dsn=None):
    async def main():
        app, reader = await open_app(site, tmp_path, dsn)
        try:
            async with app.test_app() as test_app:
                return await scenario(test_app.test_client())
        finally:
            if reader is not None:
                await reader.close()

    return asyncio.run(main())


@contextmanager
def served(site: AggregatedSite, storage: Path, dsn: str | None) -> Iterator[str]:
    """The app on http://127.0.0.1:PORT in a thread of its own until the block ends; yields the URL."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    port = free_port()
    loop = asyncio.new_event_loop()
    stop: asyncio.Event | None = None
    failed: list[BaseException] = []

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        app, reader = await open_app(site, storage, dsn)
        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.accesslog = config.errorlog = None
        config.graceful_timeout = 1.0
        try:
            await serve(app, config, shutdown_trigger=stop.wait)
        finally:
            if reader is not None:
                await reader.close()

    def run() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as error:  # shown by the test that waits for it
            failed.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    import socket

    def listening() -> bool:
        if failed:
            raise failed[0]
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    wait_for(listening, timeout=20, what="the aggregator's app to listen")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(lambda: stop.set())
        thread.join(10)
        loop.close()


def apply_views(site: AggregatedSite, *views: EdgeNodeView, now: Callable[[], float] | None = None) -> None:
    for view in views:
        site.apply(view, now() if now else NOW_MS / 1000 - 3600)


def one_gateway_site() -> AggregatedSite:
    """A site of one gateway, gw1, with its default strings."""
    site = AggregatedSite()
    apply_views(site, gateway_view("gw1"))
    return site
