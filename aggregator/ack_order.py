"""AckOrder: acknowledge the broker's QoS 1 messages in the order they arrived, each once stored.

MQTT 3.1.1 (4.6) wants a receiver's PUBACKs in the order of the PUBLISHes, and the broker may
count on it; but the aggregator stores a message when its gateway's proxy and the Store get to
it, so different gateways' messages finish out of order. A message is acknowledged once it and
every message that arrived before it on the same connection are stored.

Message ids are per connection and reused, so each message gets a token of its own instead: a
number never given before in this process. A late "stored" for a message of a lost connection
(which the broker delivers again) acknowledges nothing on the new one, and a message reported
stored twice (its proxy died after handing its records on, and the subscriber gave it to the
next proxy as well) cannot mark a later message that reuses its id as stored.
"""

from __future__ import annotations

from collections import deque


class AckOrder:
    def __init__(self) -> None:
        self.last_token = 0
        self.waiting: deque[int] = deque()  # tokens, in arrival order
        self.mids: dict[int, int] = {}  # token -> MQTT message id, for the tokens waiting
        self.stored: set[int] = set()

    def connected(self) -> None:
        """A new connection: what the last one did not acknowledge, the broker sends again."""
        self.waiting.clear()
        self.mids.clear()
        self.stored.clear()

    def arrived(self, mid: int) -> int:
        """The token of a message that just arrived (0 for QoS 0: nothing to acknowledge)."""
        if not mid:
            return 0
        self.last_token += 1
        self.waiting.append(self.last_token)
        self.mids[self.last_token] = mid
        return self.last_token

    def handled(self, tokens: tuple[int, ...]) -> list[int]:
        """These messages are stored: the message ids that may now be acknowledged, in order."""
        self.stored.update(token for token in tokens if token in self.mids)
        ready = []
        while self.waiting and self.waiting[0] in self.stored:
            token = self.waiting.popleft()
            self.stored.discard(token)
            ready.append(self.mids.pop(token))
        return ready
