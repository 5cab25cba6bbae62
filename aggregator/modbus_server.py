"""The aggregator's Modbus TCP server: the gateway's listener and request handling, its own units.

Plain asyncio: the AggregatorModbus actor feeds it (`apply_view`, `set_alarm_counts`) from its
loop thread. Connections, framing and their limits are the gateway's
(protocols/scada/modbus_tcp_listener.py), and so are the request PDUs and the refusals
(protocols/scada/modbus_tcp_server.py `answer_request`) under a policy that allows no write:
a write answers exception 1 (illegal function), as a gateway whose writes are off does; an
unknown unit id answers exception 0x0A (gateway path unavailable).

A unit is rendered when a request reads it and what it shows changed or is a second old (the
silence of a gateway counts in seconds), so a site of many gateways costs nothing unread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from aggregator.messages import EdgeNodeView
from aggregator.modbus_config import ModbusViewConfig
from aggregator.modbus_registers import GATEWAY_UNIT_SPAN, SITE_UNIT_ID, SITE_UNIT_SPAN
from aggregator.modbus_view import gateway_order, render_gateway, render_site
from observability.log import get_logger
from protocols.scada.modbus_tcp_listener import ConnectionLimits, ModbusTcpListener
from protocols.scada.modbus_tcp_server import WritePolicy, answer_request
from protocols.scada.modbus_units import RegisterUnit

READ_ONLY = WritePolicy(enabled=False, clients=frozenset())
RENDER_AGE_S = 1.0

log = get_logger("btms.aggregator.modbus")


class AggregatorModbusServer:
    """Call `start()`, feed it, `stop()`."""

    def __init__(self, config: ModbusViewConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.views: dict[str, EdgeNodeView] = {}
        self.alarm_counts: Mapping[str, int] | None = None  # None: PostgreSQL not read (yet)
        self.gateways: list[str] = gateway_order(config.gateways, ())
        self.site_unit = RegisterUnit(words=[0] * SITE_UNIT_SPAN)
        self._units: dict[int, RegisterUnit] = {}
        self._rendered_at: dict[int, float] = {}
        self._started_at = clock()
        self._listener: ModbusTcpListener | None = None
        self._left_out_logged = False

    async def start(self) -> None:
        listener = ModbusTcpListener(
            self.answer, ConnectionLimits(self.config.max_connections, self.config.idle_timeout_s)
        )
        await listener.start(self.config.host, self.config.port)
        self._listener = listener

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("Modbus TCP server is not running")
        return self._listener.port

    # -- data in --------------------------------------------------------------------------

    def apply_view(self, view: EdgeNodeView) -> None:
        new = view.edge_node not in self.views
        self.views[view.edge_node] = view
        if new and not self.config.gateways:
            self._reorder()
            self._rendered_at.clear()  # unit ids may have moved
        self._rendered_at.pop(SITE_UNIT_ID, None)
        if view.edge_node in self.gateways:
            self._rendered_at.pop(self.gateways.index(view.edge_node) + 1, None)

    def set_alarm_counts(self, counts: Mapping[str, int] | None) -> None:
        if counts != self.alarm_counts:
            self.alarm_counts = counts
            self._rendered_at.clear()

    def _reorder(self) -> None:
        heard = list(self.views)
        self.gateways = gateway_order((), heard)
        if len(heard) > len(self.gateways) and not self._left_out_logged:
            self._left_out_logged = True
            log.warning(
                "more gateways than Modbus unit ids; the last in order are left out of the Modbus view",
                gateways=len(heard),
                served=len(self.gateways),
            )

    # -- requests -------------------------------------------------------------------------

    def answer(self, unit_id: int, pdu: bytes, client_ip: str) -> bytes:
        """The response PDU to one request PDU (called by the listener)."""
        known = {SITE_UNIT_ID, *range(1, len(self.gateways) + 1)}
        return answer_request(unit_id, pdu, client_ip, known, READ_ONLY, self.unit)

    def unit(self, unit_id: int) -> RegisterUnit:
        """The unit, rendered if what it shows changed or is a second old."""
        now = self.clock()
        if now - self._rendered_at.get(unit_id, -RENDER_AGE_S) < RENDER_AGE_S:
            return self.site_unit if unit_id == SITE_UNIT_ID else self._units[unit_id]
        self._rendered_at[unit_id] = now
        if unit_id == SITE_UNIT_ID:
            heartbeat = int(now - self._started_at)
            render_site(self.site_unit.words, self.gateways, self.views, self.alarm_counts, now, heartbeat)
            return self.site_unit
        unit = self._units.get(unit_id)
        if unit is None:
            unit = self._units[unit_id] = RegisterUnit(words=[0] * GATEWAY_UNIT_SPAN)
        edge_node = self.gateways[unit_id - 1]
        count = None if self.alarm_counts is None else self.alarm_counts.get(edge_node, 0)
        render_gateway(unit.words, edge_node, self.views.get(edge_node), count, now)
        return unit
