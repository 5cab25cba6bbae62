"""One ReceivedBatch through an edge node's rules: what the proxy stores, acknowledges and does.

Pure (the clock is given). The messages go through EdgeNode one by one, in the order they
arrived, so the seq check and the births see exactly what they saw one message at a time; the
batch's records come out in that order, and all of its message ids go with them, so the
Store acknowledges the batch once all of it is stored. A message that cannot be decoded is
passed over (logged by the proxy) and acknowledged with the rest: the broker would only send
it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aggregator.edge_node import EdgeNode, Outcome
from aggregator.messages import Received
from aggregator.records import Record
from protocols.uplink.payload import decode
from protocols.uplink.topics import Topic


@dataclass
class BatchOutcome:
    records: list[Record] = field(default_factory=list)
    alarm_events: list[dict] = field(default_factory=list)
    mids: list[int] = field(default_factory=list)  # every message's ack token, in arrival order
    outcomes: list[Outcome] = field(default_factory=list)  # per message: rebirth, on-line, off-line
    rebirth_for: list[Topic] = field(default_factory=list)  # the topics whose message asked a rebirth
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (topic, reason)


def fold_batch(node: EdgeNode, batch: Sequence[Received], now: float) -> BatchOutcome:
    folded = BatchOutcome()
    for message in batch:
        if message.mid:
            folded.mids.append(message.mid)
        try:
            topic = Topic.parse(message.topic)
            payload = decode(message.payload)
        except ValueError as error:
            folded.unreadable.append((message.topic[:200], str(error)))
            continue
        out = node.receive(topic, payload, now)
        folded.records.extend(out.records)
        folded.alarm_events.extend(out.alarm_events)
        folded.outcomes.append(out)
        if out.rebirth:
            folded.rebirth_for.append(topic)
    return folded
