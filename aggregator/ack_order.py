"""AckOrder: acknowledge the broker's QoS 1 messages in the order they arrived, each once stored.

MQTT 3.1.1 (4.6) wants a receiver's PUBACKs in the order of the PUBLISHes, and the broker may
count on it; but the aggregator stores a message when its gateway's proxy and the Store get to
it, so different gateways' messages finish out of order. A message is acknowledged once it and
every message that arrived before it on the same connection are stored.

Message ids are per connection and reused: each is tagged with the connection it came on (a
token), so a late "stored" for a message of a lost connection (which the broker delivers again)
acknowledges nothing on the new one.
"""

from __future__ import annotations

from collections import deque

MID_BITS = 16  # MQTT packet identifiers are 16 bits


class AckOrder:
    def __init__(self) -> None:
        self.connection = 0
        self.waiting: deque[int] = deque()  # tokens, in arrival order
        self.stored: set[int] = set()

    def connected(self) -> None:
        """A new connection: what the last one did not acknowledge, the broker sends again."""
        self.connection += 1
        self.waiting.clear()
        self.stored.clear()

    def arrived(self, mid: int) -> int:
        """The token of a message that just arrived (0 for QoS 0: nothing to acknowledge)."""
        if not mid:
            return 0
        token = (self.connection << MID_BITS) | mid
        self.waiting.append(token)
        return token

    def handled(self, tokens: tuple[int, ...]) -> list[int]:
        """These messages are stored: the message ids that may now be acknowledged, in order."""
        for token in tokens:
            if token and token >> MID_BITS == self.connection:
                self.stored.add(token)
        ready = []
        while self.waiting and self.waiting[0] in self.stored:
            token = self.waiting.popleft()
            self.stored.discard(token)
            ready.append(token & ((1 << MID_BITS) - 1))
        return ready
