"""One ReceivedBatch through an edge node's rules: what the proxy stores, acknowledges and does.

Pure (the clock is given). The messages go through EdgeNode one by one, in the order they
arrived, so the seq check and the births see exactly what they saw one message at a time; the
batch's records come out in that order, and all of its message ids go with them, so the
Store acknowledges the batch once all of it is stored. A message that cannot be decoded is
passed over (logged by the proxy) and acknowledged with the rest: the broker would only send
it again. A message the rules fail on (an exception: a bug, or input they did not foresee) is
set aside, not acknowledged with the batch: the proxy keeps it in PostgreSQL as it came
(`skipped_message`), and the messages after it go on in order. A replay (messages whose records
a dead Store lost) gives their records again and leaves the node's state as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aggregator.edge_node import EdgeNode, Outcome
from aggregator.messages import Received
from aggregator.records import Record
from protocols.uplink.payload import Payload, decode
from protocols.uplink.topics import Topic


@dataclass(frozen=True)
class Failed:
    """A message the rules raised on: set aside with its seq and why."""

    message: Received
    seq: int | None
    reason: str


@dataclass
class BatchOutcome:
    records: list[Record] = field(default_factory=list)
    alarm_events: list[dict] = field(default_factory=list)
    mids: list[int] = field(default_factory=list)  # the ack tokens going with the records, in arrival order
    outcomes: list[Outcome] = field(default_factory=list)  # per message: rebirth, on-line, off-line
    rebirth_for: list[Topic] = field(default_factory=list)  # the topics whose message asked a rebirth
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (topic, reason)
    failed: list[Failed] = field(default_factory=list)  # set aside, acknowledged once kept


def fold_batch(node: EdgeNode, batch: Sequence[Received], now: float) -> BatchOutcome:
    return _fold(batch, lambda topic, payload: node.receive(topic, payload, now))


def replay_batch(node: EdgeNode, batch: Sequence[Received]) -> BatchOutcome:
    return _fold(batch, node.records_of)


def _fold(batch: Sequence[Received], rules: Callable[[Topic, Payload], Outcome]) -> BatchOutcome:
    folded = BatchOutcome()
    for message in batch:
        try:
            topic = Topic.parse(message.topic)
            payload = decode(message.payload)
        except ValueError as error:
            folded.unreadable.append((message.topic[:200], str(error)))
            folded.mids.extend([message.mid] if message.mid else [])
            continue
        try:
            out = rules(topic, payload)
        except Exception as error:  # one message the rules cannot take must not stop its gateway's stream
            folded.failed.append(Failed(message, payload.seq, f"{type(error).__name__}: {error}"[:500]))
            continue
        folded.mids.extend([message.mid] if message.mid else [])
        folded.records.extend(out.records)
        folded.alarm_events.extend(out.alarm_events)
        folded.outcomes.append(out)
        if out.rebirth:
            folded.rebirth_for.append(topic)
    return folded
