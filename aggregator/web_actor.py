"""AggregatorWeb: the aggregator's web server (aggregator/web_app.py on Hypercorn) in an actor:
the browser UI and the JSON API.

It receives each gateway's live view from its GatewayProxy and reads alarms from PostgreSQL
over a connection of its own (the Store actor is the only writer).
"""

from __future__ import annotations

import asyncio

import asyncpg
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config
from hypercorn.utils import wrap_app

from actors.base.protocol_actor import ProtocolActor
from aggregator.messages import EdgeNodeView, InitService, ServiceDown, ServiceUp
from aggregator.site_view import AggregatedSite
from aggregator.store import RecordStore
from aggregator.ui.context import AggregatorUi
from aggregator.web_app import create_aggregator_app
from web.api_tokens import TokenVerifier


class AggregatorWeb(ProtocolActor):
    def __init__(self, capabilities=None, *args, **kwargs):
        super().__init__(capabilities, *args, **kwargs)
        self.site = AggregatedSite()
        self.started = False

    def receiveMsg_InitService(self, message: InitService, sender):
        if self.started:
            return self.watch()
        self.started, self.gateway = True, sender
        config = message.config
        web = config.web
        where = f"{'https' if web.tls_cert else 'http'}://{web.host}:{web.port}"

        async def main() -> None:
            try:
                reader = await RecordStore.reader(config.postgres_dsn, config.postgres_password)
            except (OSError, asyncpg.PostgresError, TimeoutError) as error:
                self.post_command(ServiceDown("web", f"PostgreSQL: {error}"))
                return
            ui = AggregatorUi.open(self.site, reader, config.storage, web.session_idle_min, tls=bool(web.tls_cert))
            app = create_aggregator_app(ui, TokenVerifier(config.storage), web.metrics_cells)
            hc = Config()
            hc.bind = [f"{web.host}:{web.port}"]
            hc.accesslog = hc.errorlog = None
            hc.graceful_timeout = 1.0
            if web.tls_cert and web.tls_key:
                hc.certfile, hc.keyfile = web.tls_cert, web.tls_key
            try:
                sockets = hc.create_sockets()
            except OSError as error:
                self.post_command(ServiceDown("web", f"cannot listen on {web.host}:{web.port}: {error.strerror}"))
                await reader.close()
                return
            for sock in sockets.secure_sockets + sockets.insecure_sockets:
                sock.listen(hc.backlog)
            self.post_command(ServiceUp("web", where))
            stopping = asyncio.Event()
            try:
                await worker_serve(
                    wrap_app(app, hc.wsgi_max_body_size, None), hc, sockets=sockets, shutdown_trigger=stopping.wait
                )
            finally:
                await reader.close()

        self.start_loop(main)
        return self.watch()

    def receiveMsg_EdgeNodeView(self, message: EdgeNodeView, sender):
        self.in_loop(self.site.apply, message)
        return self.watch()
