"""WebServer: the served actor of the Quart app (web/service.py), as ModbusServerActor and
SnmpAgentActor are of theirs.

It subscribes to the site and to the alarm notices: the HTTP handlers read the site view, and
the notices (every active alarm when it subscribes, then each change) are laid over the alarm
table (web/live_alarms.py), so an alarm a full disk holds back is still shown. It tells the
gateway when it listens, or why it cannot: a port in use must stop `btms run` with a clear
message, not leave a gateway nobody can reach.
"""

from __future__ import annotations

from thespian.actors import ActorExitRequest

from actors.base.served_actor import ServedActor
from actors.messages.down import InitWebServer
from actors.messages.service import NotificationTestResult
from battery.site import Topology
from observability.log import configure_structlog, get_logger
from web.service import WebService


class WebServer(ServedActor):
    service_name = "web"

    def __init__(self, capabilities=None, *args, **kwargs):
        super().__init__(capabilities, *args, **kwargs)
        configure_structlog()
        self.log = get_logger("btms.web")

    def make_server(self, topology: Topology) -> WebService:
        return WebService(topology, self.post_command)

    def describe(self, topology: Topology) -> str:
        return self.server.where

    def receiveMsg_InitWebServer(self, message: InitWebServer, sender):
        self.start_serving(message.topology, sender)
        return self.watch()

    def receiveMsg_NotificationTestResult(self, message: NotificationTestResult, sender):
        """A settings page's test e-mail/SMS: the answer goes to the request waiting for it."""
        if self.server is not None:
            self.in_loop(self.server.bridge.resolve, message.request_id, message)
        return self.watch()

    def receiveMsg_ActorExitRequest(self, message: ActorExitRequest, sender):
        """Cancel running history queries first: their worker threads would keep the process alive."""
        if self.server is not None:
            self.server.history.stop()
        super().receiveMsg_ActorExitRequest(message, sender)
