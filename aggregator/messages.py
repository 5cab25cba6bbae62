"""Messages between the aggregator's actors (frozen dataclasses, pickled by Thespian)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from actors.messages.address import Address
from aggregator.config import AggregatorConfig
from aggregator.records import Record


@dataclass(frozen=True)
class InitAggregator:
    """Main program -> Aggregator: build the tree; the answer is AggregatorReady or AggregatorFailed."""

    config: AggregatorConfig


@dataclass(frozen=True)
class AggregatorReady:
    web: str  # where the web server listens


@dataclass(frozen=True)
class AggregatorFailed:
    reason: str


@dataclass(frozen=True)
class InitService:
    """Aggregator -> Store, Web or Subscriber: start; answered with ServiceUp or ServiceDown."""

    config: AggregatorConfig
    web: Address | None = None
    store: Address | None = None


@dataclass(frozen=True)
class ServiceUp:
    name: str
    where: str


@dataclass(frozen=True)
class ServiceDown:
    name: str
    reason: str


@dataclass(frozen=True)
class NeedProxy:
    """Subscriber -> Aggregator: a message came from an edge node that has no proxy yet."""

    edge_node: str


@dataclass(frozen=True)
class InitProxy:
    edge_node: str
    config: AggregatorConfig
    store: Address
    subscriber: Address


@dataclass(frozen=True)
class ProxyFor:
    edge_node: str
    proxy: Address


@dataclass(frozen=True)
class ViewTo:
    """Aggregator -> GatewayProxy: send the live view to this actor (the web server, the Modbus
    view), from now on and once at once; sent again with the new address when that actor is
    re-created."""

    name: str
    target: Address
    cells: bool = False  # the batteries' values too (most of a view's size)


@dataclass(frozen=True)
class Received:
    """One MQTT message, undecoded (the proxy decodes it); it travels in a ReceivedBatch."""

    topic: str
    payload: bytes
    mid: int  # the message's ack token (aggregator/ack_order.py), 0 for QoS 0; acknowledged once handled
    received_at: float


@dataclass(frozen=True)
class ReceivedBatch:
    """Subscriber -> GatewayProxy: one edge node's MQTT messages that arrived together, in
    arrival order (aggregator/inbox.py): one Thespian message for many MQTT messages.

    `replay`: messages this proxy already took, whose records the Store lost when it died; only
    their records go to the (new) Store, the gateway's state is not touched again."""

    messages: tuple[Received, ...]
    replay: bool = False


@dataclass(frozen=True)
class StoreAt:
    """Aggregator -> Subscriber -> each GatewayProxy: the Store was re-created and is up, here;
    the subscriber sends it on to each proxy before the messages whose records it must replay."""

    store: Address


@dataclass(frozen=True)
class Handled:
    """GatewayProxy or Store -> Subscriber: these messages may now be acknowledged to the broker."""

    mids: tuple[int, ...]


@dataclass(frozen=True)
class Publish:
    """GatewayProxy -> Subscriber: send a command (NCMD Node Control/Rebirth)."""

    topic: str
    payload: bytes


@dataclass(frozen=True)
class StoreRecords:
    """GatewayProxy -> Store: what one ReceivedBatch holds to store; `mids` are acknowledged
    (Handled to `reply_to`) once every record and event of it is stored, never before."""

    records: tuple[Record, ...]
    alarm_events: tuple[tuple[str, dict], ...]  # (edge node, event/alarm object)
    mids: tuple[int, ...]
    reply_to: Address


@dataclass(frozen=True)
class SkippedMessage:
    """Subscriber -> Store: a message its gateway proxy failed on every time
    (aggregator/delivery.py), kept as it came in `skipped_message`; `mids` are acknowledged
    (Handled to `reply_to`) once it is written there, so the stream goes on without it."""

    edge_node: str
    topic: str
    payload: bytes
    seq: int | None
    reason: str
    at: float
    mids: tuple[int, ...]
    reply_to: Address


@dataclass(frozen=True)
class OfflineAlarm:
    """GatewayProxy -> Store: raise (the reason) or clear (None) the edge node's off-line alarm."""

    edge_node: str
    at: float
    reason: str | None


@dataclass(frozen=True)
class EdgeNodeView:
    """GatewayProxy -> Web (and ViewTo targets): the gateway as the site view shows it (latest values, online state)."""

    edge_node: str
    online: bool
    offline_reason: str
    last_heard: float | None
    devices: dict  # device -> {metric name: value}
    device_times_ms: dict  # device -> UNIX ms of its newest value
    alarms: dict  # gateway alarm number -> latest event/alarm object

    def without_cells(self) -> EdgeNodeView:
        """The view without the batteries' values (`cell.voltage/17` ...): a 120-battery string's
        dozen own values instead of some 700 for a reader of UPSes and strings only."""
        devices = {d: {k: v for k, v in m.items() if not k.startswith(CELL_PREFIX)} for d, m in self.devices.items()}
        return replace(self, devices=devices)


CELL_PREFIX = "cell."
