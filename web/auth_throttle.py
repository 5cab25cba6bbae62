"""A limit on invalid API tokens per client address: guessing gets 429, not an answer each time.

A token is 256 random bits, so guessing one cannot succeed; the limit stops a client from
making the gateway look up thousands of tokens a second (1,000 bad tokens were answered in
1.6 s) and makes such a client visible in the log. An address that sent MAX_FAILURES invalid
tokens within WINDOW_S gets 429 with Retry-After for every API request until its oldest
failure leaves the window; other addresses are not affected. A valid token does not clear
the count (it would let one leaked token reset a guesser's window).

Memory is bounded: at most MAX_FAILURES times per address and MAX_ADDRESSES addresses; when
full, the address whose last failure is the oldest is forgotten first. Behind a reverse proxy
every client has the proxy's address: the limit then applies to all of them together.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_FAILURES = 10
WINDOW_S = 60.0
MAX_ADDRESSES = 4096


class FailureWindow:
    """Invalid-token times per client address, in a sliding window."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_s: float = WINDOW_S,
        max_addresses: int = MAX_ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_failures < 1 or window_s <= 0 or max_addresses < 1:
            raise ValueError(
                f"FailureWindow: max_failures {max_failures} and max_addresses {max_addresses} "
                f"must be >= 1, window_s {window_s} > 0"
            )
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_addresses = max_addresses
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()  # least recently failed first

    def __len__(self) -> int:
        """How many addresses are tracked (bounded by max_addresses)."""
        return len(self._failures)

    def retry_after(self, address: str) -> int:
        """Whole seconds until `address` may send a token again; 0 when it may now."""
        times = self._failures.get(address)
        if times is None:
            return 0
        now = self._clock()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[address]
            return 0
        if len(times) < self.max_failures:
            return 0
        return max(1, math.ceil(times[0] + self.window_s - now))

    def failed(self, address: str) -> bool:
        """Count an invalid token from `address`; True when this failure reached the limit."""
        times = self._failures.pop(address, None)
        if times is None:
            times = deque(maxlen=self.max_failures)
        times.append(self._clock())
        self._failures[address] = times
        while len(self._failures) > self.max_addresses:
            self._failures.popitem(last=False)
        return len(times) == self.max_failures
