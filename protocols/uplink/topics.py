"""The Sparkplug B topic namespace (Sparkplug 3.0): `spBv1.0/<group>/<type>/<edge node>[/<device>]`,
and the primary host's `spBv1.0/STATE/<host id>`.

An id in a topic must not contain the MQTT separators and wildcards (`/`, `+`, `#`); the
topology reader checks configured ids with `id_problem` so a bad one is refused at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

NAMESPACE = "spBv1.0"
_FORBIDDEN = frozenset("/+#")


class MessageType(StrEnum):
    """The Sparkplug message types this project publishes or receives."""

    NBIRTH = "NBIRTH"
    NDEATH = "NDEATH"
    NDATA = "NDATA"
    NCMD = "NCMD"
    DBIRTH = "DBIRTH"
    DDEATH = "DDEATH"
    DDATA = "DDATA"
    DCMD = "DCMD"


NODE_TYPES = frozenset({MessageType.NBIRTH, MessageType.NDEATH, MessageType.NDATA, MessageType.NCMD})


def id_problem(value: str) -> str | None:
    """What makes `value` unusable as a group, edge node, device or host id; None when it is fine."""
    if not value:
        return "is empty"
    bad = sorted(set(value) & _FORBIDDEN)
    if bad:
        return f"contains {' '.join(repr(c) for c in bad)}, which MQTT topics reserve"
    return None


@dataclass(frozen=True)
class Topic:
    """One Sparkplug topic of an edge node (device None for the node's own messages)."""

    group_id: str
    message_type: MessageType
    edge_node_id: str
    device_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("group_id", "edge_node_id", "device_id"):
            value = getattr(self, name)
            if value is None:
                continue
            problem = id_problem(value)
            if problem:
                raise ValueError(f"Sparkplug {name} {value!r} {problem}")
        if (self.message_type in NODE_TYPES) != (self.device_id is None):
            raise ValueError(f"a {self.message_type} topic {'has no' if self.device_id is None else 'has a'} device id")

    def __str__(self) -> str:
        parts = [NAMESPACE, self.group_id, str(self.message_type), self.edge_node_id]
        if self.device_id is not None:
            parts.append(self.device_id)
        return "/".join(parts)

    @classmethod
    def parse(cls, text: str) -> Topic:
        """A topic string back into its parts; ValueError names what is wrong."""
        parts = text.split("/")
        if len(parts) not in (4, 5) or parts[0] != NAMESPACE:
            raise ValueError(f"{text!r} is not a Sparkplug B topic ({NAMESPACE}/GROUP/TYPE/NODE[/DEVICE])")
        try:
            message_type = MessageType(parts[2])
        except ValueError:
            raise ValueError(f"{text!r}: unknown Sparkplug message type {parts[2]!r}") from None
        return cls(parts[1], message_type, parts[3], parts[4] if len(parts) == 5 else None)


def node_filter(group_id: str, edge_node_id: str) -> str:
    """The MQTT filter of everything one edge node publishes (node and device messages)."""
    return f"{NAMESPACE}/{group_id}/+/{edge_node_id}/#"


def state_topic(host_id: str) -> str:
    """The primary host application's retained STATE topic (Sparkplug 3.0)."""
    problem = id_problem(host_id)
    if problem:
        raise ValueError(f"Sparkplug host id {host_id!r} {problem}")
    return f"{NAMESPACE}/STATE/{host_id}"
