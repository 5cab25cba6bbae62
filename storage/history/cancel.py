"""Cancelling a history query that runs in a worker thread.

A thread cannot be killed, and a worker thread that is still reading keeps its process alive
at exit. So a query checks its token between units of work (a string-day, a month of hourly
summaries, a chunk of CSV) and stops with QueryCancelled once its client has gone or the server
is stopping: a stopping web server ends within one unit of work, not at the end of the query.
"""

from __future__ import annotations

import threading


class QueryCancelled(Exception):
    """The query stopped before it finished: its client left, or the server is stopping."""


class CancelToken:
    """Cancelled by its own cancel() or by any of the events it was given (e.g. "server stopping")."""

    def __init__(self, *also: threading.Event) -> None:
        self._own = threading.Event()
        self._events = (self._own, *also)

    def cancel(self) -> None:
        self._own.set()

    @property
    def cancelled(self) -> bool:
        return any(e.is_set() for e in self._events)

    def check(self) -> None:
        """Raise QueryCancelled if the query should stop (called between units of work)."""
        if self.cancelled:
            raise QueryCancelled("history query cancelled: its client left or the server is stopping")


NEVER = CancelToken()  # for callers that run a query to its end (`btms export`, benchmarks)
