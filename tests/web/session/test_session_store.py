"""Sessions end when idle, at their maximum age, at log-out and when their user goes."""

from __future__ import annotations

import asyncio

from web.session.store import MAX_AGE_S, SessionStore
from web.users.book import User, UserBook

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_session_lives_while_used_and_ends_when_idle(tmp_path):
    UserBook(tmp_path).add(User("alice", "operator"), PASSWORD)
    clock = Clock()
    store = SessionStore(tmp_path, idle_s=600, clock=clock)

    async def scenario():
        session_id, session = await store.create("alice")
        assert (await store.find(session_id)).role == "operator"
        for _ in range(5):  # used every 9 minutes: still alive after 45
            clock.now += 540
            assert await store.find(session_id) is not None
        clock.now += 601
        gone = await store.find(session_id)
        await store.close()
        return session, gone

    session, gone = run(scenario())
    assert len(session.csrf) >= 32
    assert gone is None


def test_a_session_ends_at_its_maximum_age_even_when_used(tmp_path):
    UserBook(tmp_path).add(User("alice", "viewer"), PASSWORD)
    clock = Clock()
    store = SessionStore(tmp_path, idle_s=MAX_AGE_S, clock=clock)

    async def scenario():
        session_id, _ = await store.create("alice")
        found = []
        while clock.now < 1_000_000.0 + MAX_AGE_S + 3600:
            clock.now += 1800
            found.append(await store.find(session_id) is not None)
        await store.close()
        return found

    found = run(scenario())
    assert found[0] and not found[-1]


def test_log_out_a_removed_user_and_a_changed_role(tmp_path):
    book = UserBook(tmp_path)
    book.add(User("root", "admin"), PASSWORD)
    book.add(User("bob", "operator"), PASSWORD)
    store = SessionStore(tmp_path, idle_s=600)

    async def scenario():
        mine, _ = await store.create("root")
        other, _ = await store.create("root")
        bobs, _ = await store.create("bob")
        await store.end(mine)
        ended = await store.find(mine)
        book.update(User("bob", "viewer"))
        demoted = await store.find(bobs)
        book.remove("bob")
        removed = await store.find(bobs)
        kept = await store.find(other)
        await store.close()
        return ended, demoted, removed, kept

    ended, demoted, removed, kept = run(scenario())
    assert ended is None
    assert demoted.role == "viewer"
    assert removed is None
    assert kept is not None and kept.user == "root"


def test_a_made_up_or_oversized_session_id_finds_nothing(tmp_path):
    store = SessionStore(tmp_path, idle_s=600)

    async def scenario():
        results = [await store.find(x) for x in ("", "nope", "x" * 10_000)]
        await store.close()
        return results

    assert run(scenario()) == [None, None, None]
