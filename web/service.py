"""WebService: the Quart app on Hypercorn, with the shape every served service has.

`start()` loads the TLS files and binds the port before it returns (Hypercorn's own `serve` runs
the app's start-up hooks before either, which announced a web server that could not serve), then
serves in a task; `stop()` ends it; `apply()` takes what the gateway publishes. The actor that
hosts it is actors/base/served_actor.py's, as for Modbus TCP and SNMP.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.utils import wrap_app

from battery.alarms.records import AlarmNotice
from battery.served_site import UplinkLink
from battery.site import Topology
from battery.status import StringStatus, UpsStatus
from storage.history.reader import HistoryReader
from web.api_tokens import TokenVerifier
from web.app import create_app
from web.open_connections import TrackingListener, tracking
from web.routes_alarms import AlarmAccess
from web.session.store import SessionStore
from web.site_view import SiteView
from web.tree_bridge import TreeBridge
from web.ui.context import UiContext
from web.ui.site_settings import SiteSettingsBook
from web.users.book import UserBook

# After Hypercorn's graceful period (config.graceful_timeout) the connections still open are
# hung up on; then the server has this long to end its tasks.
HANG_UP_GRACE_S = 0.25
STOP_TIMEOUT_S = 1.0
# Kernel send buffer of every connection (accepted sockets inherit the listener's). Linux would
# grow it to 4 MiB for a client that does not read, and that buffer is a queue of old live
# events; at this size a stalled browser holds a few scans, then its stream skips versions.
# 256 KiB still sends a history download at several MB/s over a 50 ms link.
SEND_BUFFER_BYTES = 256 * 1024


class WebService:
    def __init__(self, topology: Topology, post_command: Callable[[object], None]) -> None:
        web = topology.services.web
        self.web = web
        self.where = f"{'https' if web.tls_cert else 'http'}://{web.host}:{web.port}"
        self.view = SiteView(topology)
        self.bridge = TreeBridge(post_command)
        self.history = HistoryReader(topology.storage_dir())
        self.alarms = AlarmAccess(topology.storage_dir() / "settings.db")
        storage = topology.storage_dir()
        self.ui = UiContext(
            topology=topology,
            view=self.view,
            storage_dir=storage,
            users=UserBook(storage),
            sessions=SessionStore(storage, idle_s=web.session_idle_min * 60.0),
            site_settings=SiteSettingsBook(storage),
            tls=bool(web.tls_cert and web.tls_key),
            history=self.history,
            alarms=self.alarms,
            bridge=self.bridge,
        )
        self.app = create_app(self.ui, TokenVerifier(storage))
        self.live = self.ui.live
        self.config = Config()
        self.config.bind = [f"{web.host}:{web.port}"]
        self.config.accesslog = None
        self.config.errorlog = None
        self.config.graceful_timeout = 1.0
        if web.tls_cert and web.tls_key:
            self.config.certfile = web.tls_cert
            self.config.keyfile = web.tls_key
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._listeners: list[TrackingListener] = []

    async def start(self) -> None:
        """Load TLS and bind, or raise OSError saying which file or port; then serve."""
        if self.config.ssl_enabled:
            try:
                self.config.create_ssl_context()
            except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
                reason = getattr(error, "strerror", None) or error
                raise OSError(
                    f"TLS certificate {self.web.tls_cert} or key {self.web.tls_key} unusable: {reason}"
                ) from None
        try:
            sockets = self.config.create_sockets()
        except OSError as error:
            raise OSError(f"cannot listen on {self.web.host}:{self.web.port}: {error.strerror or error}") from None
        for sock in sockets.secure_sockets + sockets.insecure_sockets:
            # Listening now, not when Hypercorn's task gets to it: the gateway says "serving" as
            # soon as this returns, and a client that connects then must queue, not be refused.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
            sock.listen(self.config.backlog)
        sockets = Sockets(tracking(sockets.secure_sockets), tracking(sockets.insecure_sockets), sockets.quic_sockets)
        self._listeners = sockets.secure_sockets + sockets.insecure_sockets
        app = wrap_app(self.app, self.config.wsgi_max_body_size, None)
        self._task = asyncio.get_running_loop().create_task(
            worker_serve(app, self.config, sockets=sockets, shutdown_trigger=self._stopping.wait)
        )

    async def finished(self) -> None:
        """Returns when Hypercorn stops serving (after stop(), or on its own)."""
        if self._task is not None:
            # Shielded: a cancelled actor loop ends the server through stop(), gracefully.
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        """Bounded: in-flight requests get the graceful period, then every connection is hung up on."""
        self.history.stop()  # a query's worker thread must not keep the process alive
        self.live.close()  # open event streams end now, not after Hypercorn's graceful timeout
        self._stopping.set()
        if self._task is None:
            return
        done, _ = await asyncio.wait({self._task}, timeout=self.config.graceful_timeout + HANG_UP_GRACE_S)
        if done:
            return
        for listener in self._listeners:
            listener.hang_up()
        try:
            await asyncio.wait_for(self._task, STOP_TIMEOUT_S)
        except (TimeoutError, asyncio.CancelledError):
            pass

    def apply(self, message: UpsStatus | StringStatus | AlarmNotice | UplinkLink) -> None:
        if isinstance(message, UplinkLink):
            self.view.site.apply_uplink(message)
        elif isinstance(message, UpsStatus):
            self.view.site.apply_ups(message)
        elif isinstance(message, StringStatus):
            self.view.site.apply_string(message)
        elif isinstance(message, AlarmNotice):
            self.alarms.live.apply(message)
            self.view.site.apply_alarm(message)  # the active alarms /metrics counts
        else:
            return
        self.live.apply(message)  # wakes the live streams of what changed
