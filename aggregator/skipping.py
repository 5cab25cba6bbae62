"""Giving up on one message from a gateway, the same way wherever it happens (the proxy's rules
raised on it, or it killed its proxy over and over): an error in the log with what identifies it,
and a SkippedMessage for the Store, which keeps it as it came and then acknowledges it."""

from __future__ import annotations

import time

from aggregator.messages import Received, SkippedMessage


def give_up(log, edge_node: str, message: Received, seq: int | None, reason: str, reply_to) -> SkippedMessage:
    log.error(
        "message skipped",
        edge_node=edge_node,
        topic=message.topic[:200],
        seq=seq,
        bytes=len(message.payload),
        reason=reason,
    )
    mids = (message.mid,) if message.mid else ()  # QoS 0: nothing to acknowledge
    return SkippedMessage(edge_node, message.topic, message.payload, seq, reason, time.time(), mids, reply_to)
