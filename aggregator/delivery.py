"""Delivery: one edge node's messages from the subscriber to its GatewayProxy, until stored.

The broker's acknowledgements go in arrival order (aggregator/ack_order.py), so one message the
aggregator loses stops every acknowledgement after it, and the broker stops sending. Whoever
hands a message on must be able to hand it on again: the subscriber keeps each message it gave
a proxy until the message is stored (Handled), and gives them all again, in arrival order, to
the proxy that replaces a dead one, or (replay) to a proxy whose Store died holding their records.

A message that kills its proxy every time must not kill it for ever. After a death the messages
the dead proxy held are suspects: they go to the new proxy at once, as batches (a death from
outside, the usual case, costs nothing more). Should it die too with suspects in hand, they go
one at a time, each once the one before it is stored, and the new messages wait behind them; a
death with one suspect alone in hand is that message's fault. At MAX_DEATHS such deaths the
message is given up on (skipped; the subscriber keeps it in PostgreSQL and acknowledges it).
A batch the proxy could not handle (Thespian returns it as a PoisonMessage after two failed
tries) goes again one message per batch; a message that comes back alone is skipped.

Pure: no actor, no clock; QoS 0 messages (no ack token) are never kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from aggregator.inbox import MAX_BATCH
from aggregator.messages import Received

MAX_DEATHS = 3  # deaths of the proxy with one message alone in hand before it is skipped


@dataclass
class Step:
    """What the subscriber does now: send these batches to the proxy, skip those messages (why)."""

    batches: list[tuple[Received, ...]] = field(default_factory=list)
    skipped: list[tuple[Received, str]] = field(default_factory=list)


class Delivery:
    def __init__(self) -> None:
        self.given: dict[int, Received] = {}  # token -> message in the proxy's hands, arrival order
        self.queued: deque[Received] = deque()  # not yet given: behind the suspects, one at a time
        self.suspects: set[int] = set()  # tokens a dead proxy held, not yet stored
        self.one_at_a_time = False  # a proxy died again with suspects in hand
        self.deaths: dict[int, int] = {}  # token -> deaths with that message alone in hand

    def give(self, batch: Sequence[Received]) -> Step:
        """New messages: to the proxy at once, unless suspects go one at a time first."""
        self.queued.extend(batch)
        return self._next()

    def stored(self, tokens: Iterable[int]) -> Step:
        """These are stored: forget them, and give the next suspect if it was waiting for them."""
        done = set(tokens)
        for token in done:
            self.given.pop(token, None)
            self.deaths.pop(token, None)
        if self.queued:
            self.queued = deque(m for m in self.queued if m.mid not in done)
        self.suspects -= done
        return self._next()

    def proxy_died(self) -> Step:
        """The proxy is replaced: what it held goes to the new one, the oldest first."""
        skipped = []
        in_hand = list(self.given.values())
        if len(in_hand) == 1 and in_hand[0].mid in self.suspects:  # its fault, or a kill from outside
            token = in_hand[0].mid
            self.deaths[token] = self.deaths.get(token, 0) + 1
            if self.deaths[token] >= MAX_DEATHS:
                skipped.append((in_hand[0], f"its gateway proxy died {MAX_DEATHS} times with it alone in hand"))
                self._forget(in_hand[0])
        if self.suspects & set(self.given):
            self.one_at_a_time = True
        self.suspects |= set(self.given)
        self.queued = deque([*self.given.values(), *self.queued])
        self.given = {}
        step = self._next()
        step.skipped[:0] = skipped
        return step

    def poisoned(self, batch: Sequence[Received]) -> Step:
        """The proxy failed on this batch (and lives): a lone message is skipped, a batch's
        messages go again one by one so that only the guilty one comes back."""
        if len(batch) == 1:
            self._forget(batch[0])
            reason = "its gateway proxy failed on it alone twice (Thespian's PoisonMessage)"
            return Step(skipped=[(batch[0], reason)])
        return Step([(m,) for m in batch])

    def replay(self) -> list[tuple[Received, ...]]:
        """Everything the proxy was given and that is not stored, for a Store that died with it."""
        return _chunks(list(self.given.values()))

    def _forget(self, message: Received) -> None:
        self.given.pop(message.mid, None)
        self.suspects.discard(message.mid)
        self.deaths.pop(message.mid, None)

    def _next(self) -> Step:
        """Suspects one at a time, each once nothing else is in hand, if so; else all at once."""
        if not self.suspects:
            self.one_at_a_time = False
        step = Step()
        while self.queued and not (self.one_at_a_time and self.given):
            if self.one_at_a_time:
                message = self.queued.popleft()
                self._keep((message,))
                step.batches.append((message,))
                continue
            rest, self.queued = list(self.queued), deque()
            self._keep(rest)
            step.batches.extend(_chunks(rest))
        return step

    def _keep(self, batch: Iterable[Received]) -> None:
        self.given.update((m.mid, m) for m in batch if m.mid)


def _chunks(messages: Sequence[Received]) -> list[tuple[Received, ...]]:
    return [tuple(messages[i : i + MAX_BATCH]) for i in range(0, len(messages), MAX_BATCH)]
