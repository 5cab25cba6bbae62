"""Sparkplug B sequence numbers (Sparkplug 3.0).

- bdSeq ("birth/death sequence"): 0..255, one per MQTT session of the edge node. The NDEATH
  registered as the session's last will and the NBIRTH sent after connecting carry the same
  bdSeq, so a host can tell a late death of an old session from the death of the current one.
  It goes up by one (255 wraps to 0) for each new connection and survives a restart of the
  gateway (the outbox database keeps it).
- seq: 0..255 on every NBIRTH, DBIRTH, NDATA, DDATA and DDEATH of a session; NBIRTH carries 0,
  each following message the next number, 255 wraps to 0. NDEATH carries none. A host that
  sees a gap asks for a rebirth.
"""

from __future__ import annotations

MODULUS = 256
BDSEQ_METRIC = "bdSeq"
REBIRTH_METRIC = "Node Control/Rebirth"


def next_bdseq(previous: int | None) -> int:
    """The bdSeq of a new session, after `previous` (None: the first session ever: 0)."""
    return 0 if previous is None else (previous + 1) % MODULUS


class MessageSequence:
    """The seq counter of one session: `birth()` for NBIRTH (0), `next()` for each later message."""

    def __init__(self) -> None:
        self._last: int | None = None

    def birth(self) -> int:
        self._last = 0
        return 0

    def next(self) -> int:
        if self._last is None:
            raise RuntimeError("a Sparkplug message before the session's NBIRTH")
        self._last = (self._last + 1) % MODULUS
        return self._last
