"""A database open cancelled half-way (an actor stopping while it starts) leaves no thread behind
that later reports to a closed event loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import pytest

from storage.async_sqlite import open_sqlite

pytestmark = pytest.mark.timeout(60)


def _aiosqlite_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}


def _wait_for_threads_to_end(before: set[threading.Thread]) -> set[threading.Thread]:
    """The connection threads started since `before` (other tests' are not this one's) still alive after a while."""
    deadline = time.monotonic() + 20
    while (left := _aiosqlite_threads() - before) and time.monotonic() < deadline:
        time.sleep(0.01)
    return left


def _open_then_cancel(path, steps: int) -> None:
    async def start_and_stop() -> None:
        async def prepare(db) -> None:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("CREATE TABLE IF NOT EXISTS t (x)")

        task = asyncio.ensure_future(open_sqlite(path, prepare))
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            db = await task
            await db.close()  # the open had already finished

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(start_and_stop())
    finally:
        loop.close()


def test_a_cancelled_open_finishes_and_closes_before_the_loop_closes(tmp_path):
    failures: list[BaseException | None] = []
    before = _aiosqlite_threads()
    previous = threading.excepthook
    threading.excepthook = lambda args: failures.append(args.exc_value)
    try:
        for attempt in range(30):
            _open_then_cancel(tmp_path / "cancelled.db", steps=attempt % 6)
        left = _wait_for_threads_to_end(before)
    finally:
        threading.excepthook = previous
    assert failures == []
    assert left == set()


def test_a_failing_preparation_closes_the_connection(tmp_path):
    before = _aiosqlite_threads()

    async def bad_schema(db) -> None:
        await db.execute("CREATE TABLE broken (")

    async def run() -> None:
        with pytest.raises(Exception, match="syntax error|incomplete input"):
            await open_sqlite(tmp_path / "bad.db", bad_schema)

    asyncio.run(run())
    assert _wait_for_threads_to_end(before) == set()
