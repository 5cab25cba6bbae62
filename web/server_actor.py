"""WebServer: the protocol actor that serves the Quart app with Hypercorn.

It subscribes to the gateway and keeps a SiteView up to date in its event loop; the HTTP
handlers read that view. The alarm notices it receives (every active alarm when it subscribes,
then each change) are laid over the alarm table (web/live_alarms.py). It tells the gateway when
it listens (or why it cannot: a port in use must stop `btms run` with a clear message, not leave
a gateway nobody can reach). Hypercorn's `serve` runs the app's start-up hooks before it binds
its sockets and loads the TLS files, so the actor loads and binds them first and hands the bound
sockets to Hypercorn's worker.
"""

from __future__ import annotations

import asyncio

from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config
from hypercorn.utils import wrap_app
from thespian.actors import ActorExitRequest

from actors.base.protocol_actor import ProtocolActor
from actors.messages.down import InitWebServer
from actors.messages.service import ALARMS, SITE, NotificationTestResult, Subscribe
from actors.messages.up import ServiceFailed, ServiceStarted, SiteUpdate
from battery.alarms.records import AlarmNotice
from observability.log import configure_structlog, get_logger
from storage.history.reader import HistoryReader
from web.api_tokens import TokenVerifier
from web.app import create_app
from web.routes_alarms import AlarmAccess
from web.site_view import SiteView
from web.tree_bridge import TreeBridge


class WebServer(ProtocolActor):
    def __init__(self, capabilities=None, *args, **kwargs):
        super().__init__(capabilities, *args, **kwargs)
        configure_structlog()
        self.view: SiteView | None = None
        self.bridge: TreeBridge | None = None
        self.history: HistoryReader | None = None
        self.alarms: AlarmAccess | None = None
        self.log = get_logger("btms.web")

    def receiveMsg_InitWebServer(self, message: InitWebServer, sender):
        self.gateway = sender
        topology = message.topology
        web = topology.services.web
        self.view = SiteView(topology)
        verifier = TokenVerifier(topology.storage_dir())
        scheme = "https" if web.tls_cert else "http"
        where = f"{scheme}://{web.host}:{web.port}"

        async def on_serving() -> None:
            self.post_command(ServiceStarted("web", where))

        self.bridge = TreeBridge(self.post_command)
        self.history = HistoryReader(topology.storage_dir())
        self.alarms = AlarmAccess(topology.storage_dir() / "settings.db")
        app = create_app(
            self.view,
            verifier,
            on_serving,
            bridge=self.bridge,
            history=self.history,
            alarms=self.alarms,
        )
        config = Config()
        config.bind = [f"{web.host}:{web.port}"]
        config.accesslog = None
        config.errorlog = None
        config.graceful_timeout = 1.0
        if web.tls_cert and web.tls_key:
            config.certfile = web.tls_cert
            config.keyfile = web.tls_key

        async def main() -> None:
            if config.ssl_enabled:
                try:
                    config.create_ssl_context()
                except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
                    self.post_command(
                        ServiceFailed(
                            "web",
                            f"TLS certificate {web.tls_cert} or key {web.tls_key} unusable: {error.strerror or error}",
                        )
                    )
                    return
            try:
                sockets = config.create_sockets()
            except OSError as error:
                self.post_command(
                    ServiceFailed("web", f"cannot listen on {web.host}:{web.port}: {error.strerror or error}")
                )
                return
            await worker_serve(
                wrap_app(app, config.wsgi_max_body_size, None),
                config,
                sockets=sockets,
                shutdown_trigger=asyncio.Event().wait,
            )

        self.start_loop(main)
        # Alarm notices lay what the AlarmManager announced over the alarm table (a full disk may hold a row back).
        self.send(self.gateway, Subscribe(self.myAddress, frozenset({SITE, ALARMS})))
        return self.watch()

    def receiveMsg_NotificationTestResult(self, message: NotificationTestResult, sender):
        if self.bridge is not None:
            self.in_loop(self.bridge.resolve, message.request_id, message)
        return self.watch()

    def receiveMsg_SiteUpdate(self, message: SiteUpdate, sender):
        if self.view is not None:
            for update in message.updates:
                self.in_loop(self.view.apply, update)
        return self.watch()

    def receiveMsg_ActorExitRequest(self, message: ActorExitRequest, sender):
        """Cancel running history queries first: their worker threads would keep the process alive."""
        if self.history is not None:
            self.history.stop()
        super().receiveMsg_ActorExitRequest(message, sender)

    def receiveMsg_AlarmNotice(self, message: AlarmNotice, sender):
        if self.alarms is not None:
            self.in_loop(self.alarms.live.apply, message)
        return self.watch()
