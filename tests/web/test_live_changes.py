"""The change board: a scan's messages make one version per level, and closing wakes every stream."""

from __future__ import annotations

import asyncio

import pytest

from web.live.changes import ChangeBoard, Closed


def test_messages_of_one_scan_make_one_version_and_wake_the_waiter():
    async def check():
        board = ChangeBoard(coalesce_s=0.01, clock=lambda: 123.0)
        waiting = asyncio.create_task(board.wait_newer("site", 0, timeout_s=5))
        for _ in range(40):  # a UPS and its strings, one message each
            board.mark(("site", "ups:A"))
        assert await asyncio.wait_for(waiting, 2) == 1
        assert board.version("site") == 1 and board.version("ups:A") == 1 and board.version("string:A1") == 0
        assert board.changed_at("site") == 123.0

    asyncio.run(check())


def test_a_quiet_level_returns_its_version_after_the_timeout():
    async def check():
        board = ChangeBoard()
        assert await board.wait_newer("string:A1", 0, timeout_s=0.05) == 0

    asyncio.run(check())


def test_closing_ends_every_wait_at_once():
    async def check():
        board = ChangeBoard()
        waiters = [asyncio.create_task(board.wait_newer(key, 0, timeout_s=60)) for key in ("site", "kiosk")]
        await asyncio.sleep(0)
        board.close()
        for waiter in waiters:
            with pytest.raises(Closed):
                await asyncio.wait_for(waiter, 1)
        board.mark(("site",))  # after closing: ignored, no timer left behind
        assert board.version("site") == 0

    asyncio.run(check())
