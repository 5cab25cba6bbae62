"""The primary host application's STATE message (Sparkplug 3.0): a retained JSON payload
`{"online": true|false, "timestamp": <ms>}` on `spBv1.0/STATE/<host id>`.

An edge node with a configured primary host publishes nothing live until the host says it is
online, and treats a STATE older than the last one it saw as stale (the host may republish an
old retained message after its own restart).
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class HostState:
    online: bool
    timestamp_ms: int

    def encode(self) -> bytes:
        return json.dumps({"online": self.online, "timestamp": self.timestamp_ms}).encode()

    @classmethod
    def decode(cls, payload: bytes) -> HostState:
        """Raises ValueError naming what is wrong with a payload that is not a STATE."""
        try:
            data = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"STATE payload is not JSON: {e}") from None
        if not isinstance(data, dict):
            raise ValueError("STATE payload is not a JSON object")
        online, timestamp = data.get("online"), data.get("timestamp")
        if not isinstance(online, bool):
            raise ValueError(f"STATE 'online' is {online!r}, not true or false")
        if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
            raise ValueError(f"STATE 'timestamp' is {timestamp!r}, not milliseconds since 1970")
        return cls(online, timestamp)


class HostWatch:
    """What the edge node believes of its primary host, from the STATE messages it received."""

    def __init__(self) -> None:
        self._last: HostState | None = None

    @property
    def online(self) -> bool:
        return self._last is not None and self._last.online

    def received(self, state: HostState) -> bool:
        """Take a STATE; False (ignored) when it is older than the newest one seen."""
        if self._last is not None and state.timestamp_ms < self._last.timestamp_ms:
            return False
        self._last = state
        return True
