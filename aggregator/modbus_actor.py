"""AggregatorModbus: the aggregator's read-only Modbus TCP view (aggregator/modbus_server.py) in an actor.

Each GatewayProxy sends it the gateway's live view, as it sends the web server. The active
alarm counts come from PostgreSQL, every ALARM_POLL_S, over a connection of its own: the
proxies know only the alarm events heard since the aggregator started, the store knows them
all (the same query and rule as `GET /api/v1/alarms?active=1`). While PostgreSQL cannot be
read, the counts read "not available".
"""

from __future__ import annotations

import asyncio

from actors.base.protocol_actor import ProtocolActor
from aggregator.alarm_list import active_alarms_by_gateway
from aggregator.messages import EdgeNodeView, InitService, ServiceDown, ServiceUp
from aggregator.modbus_server import AggregatorModbusServer
from aggregator.store import CONNECTION_ERRORS, RecordStore
from observability.log import get_logger
from observability.throttled_log import ThrottledLog

ALARM_POLL_S = 2.0


class AggregatorModbus(ProtocolActor):
    def __init__(self, capabilities=None, *args, **kwargs):
        super().__init__(capabilities, *args, **kwargs)
        self.server: AggregatorModbusServer | None = None

    def receiveMsg_InitService(self, message: InitService, sender):
        config = message.config
        if self.server is not None or config.modbus is None:
            return self.watch()
        self.gateway = sender
        server = self.server = AggregatorModbusServer(config.modbus)
        where = f"modbus://{config.modbus.host}:{config.modbus.port} (read-only)"
        problems = ThrottledLog(get_logger("btms.aggregator.modbus"))

        async def main() -> None:
            try:
                await server.start()
            except OSError as error:
                self.post_command(ServiceDown("modbus", str(error)))
                return
            self.post_command(ServiceUp("modbus", where))
            reader: RecordStore | None = None
            try:
                while True:
                    try:
                        if reader is None:
                            reader = await RecordStore.reader(config.postgres_dsn, config.postgres_password)
                        server.set_alarm_counts(await active_alarms_by_gateway(reader))
                    except CONNECTION_ERRORS as error:
                        server.set_alarm_counts(None)
                        problems.warning("Modbus view: alarms not readable from PostgreSQL", error=str(error))
                    await asyncio.sleep(ALARM_POLL_S)
            finally:
                if reader is not None:
                    await reader.close()
                await server.stop()

        self.start_loop(main)
        return self.watch()

    def receiveMsg_EdgeNodeView(self, message: EdgeNodeView, sender):
        if self.server is not None:
            self.in_loop(self.server.apply_view, message)
        return self.watch()
