"""Opening an aiosqlite connection so that a cancelled open leaves no thread behind.

aiosqlite runs each connection in a thread of its own that hands every result back through the
event loop. An actor stopped while it was still opening its database (a gateway that gives up at
start because a port is taken) cancelled the open half-way; the connection's thread then finished
its work after the loop had closed and died with "Event loop is closed". Here an open that is
cancelled is first finished and closed, and only then does the cancellation go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite

Prepare = Callable[[aiosqlite.Connection], Awaitable[None]]


async def open_sqlite(path: str | Path, prepare: Prepare | None = None, **options: Any) -> aiosqlite.Connection:
    """The connection, after `prepare` (pragmas, schema) ran on it; closed again if anything fails."""
    opening = asyncio.ensure_future(_connect(str(path), options))
    try:
        db = await asyncio.shield(opening)
    except asyncio.CancelledError:
        await _close_once_open(opening)
        raise
    if prepare is not None:
        try:
            await prepare(db)
        except BaseException:
            await db.close()  # waits for the statement in flight, so its result finds the loop open
            raise
    return db


async def _connect(path: str, options: dict[str, Any]) -> aiosqlite.Connection:
    return await aiosqlite.connect(path, **options)


async def _close_once_open(opening: asyncio.Future[aiosqlite.Connection]) -> None:
    try:
        db = await opening
    except Exception:
        return  # the open failed by itself: aiosqlite has stopped its thread
    await db.close()
