"""Inbox: the subscriber's MQTT messages gathered per edge node, to go on as one batch.

Each MQTT message used to cross to its gateway's proxy as a Thespian message of its own, and
on to the Store as another: the latency of those hops, not CPU, bounded what the aggregator
stored. The subscriber now gathers what arrived together (every message that queued while it
was busy; nothing waits for a timer, so a lone message goes on at once) and sends each edge
node's messages as one ReceivedBatch, in the order they arrived, at most MAX_BATCH at a time.
"""

from __future__ import annotations

from aggregator.messages import Received

MAX_BATCH = 500  # MQTT messages per ReceivedBatch: bounds one Thespian message (a string record is ~10 kB)


class Inbox:
    def __init__(self, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._by_node: dict[str, list[Received]] = {}

    def add(self, node: str, message: Received) -> list[Received] | None:
        """Keep the message; a node's batch that is full is returned, to be sent at once."""
        batch = self._by_node.setdefault(node, [])
        batch.append(message)
        if len(batch) >= self.max_batch:
            del self._by_node[node]
            return batch
        return None

    def take_all(self) -> dict[str, list[Received]]:
        """Every node's messages gathered so far (each list oldest first); none kept."""
        taken, self._by_node = self._by_node, {}
        return taken
