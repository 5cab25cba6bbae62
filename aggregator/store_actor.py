"""StoreActor: the one writer of the aggregator's PostgreSQL (aggregator/store.py).

Records arrive from every GatewayProxy; the actor's event loop writes whatever has queued in
one transaction (a batch grows by itself when PostgreSQL is slower than the gateways), then
tells the Subscriber which MQTT messages are now stored, so it acknowledges them to the broker:
a message the aggregator did not store is delivered again after a crash. While PostgreSQL is
unreachable the batch waits and is retried; nothing is acknowledged meanwhile.
"""

from __future__ import annotations

import asyncio

import asyncpg

from actors.base.protocol_actor import ProtocolActor, SendTo
from aggregator.messages import Handled, InitService, OfflineAlarm, ServiceDown, ServiceUp, StoreRecords
from aggregator.store import RecordStore
from observability.log import get_logger

RETRY_S = 1.0
MAX_BATCH = 2_000  # records per transaction


class StoreActor(ProtocolActor):
    def __init__(self, capabilities=None, *args, **kwargs):
        super().__init__(capabilities, *args, **kwargs)
        self.log = get_logger("btms.aggregator.store")
        self.queue: asyncio.Queue | None = None
        self.started = False

    def receiveMsg_InitService(self, message: InitService, sender):
        if self.started:
            return self.watch()
        self.started = True
        self.gateway = sender
        config = message.config

        async def main() -> None:
            self.queue = asyncio.Queue()
            try:
                store = await RecordStore.open(config.postgres_dsn, config.postgres_password)
            except (OSError, asyncpg.PostgresError, TimeoutError) as error:
                self.post_command(ServiceDown("store", f"PostgreSQL {_where(config.postgres_dsn)}: {error}"))
                return
            self.post_command(ServiceUp("store", _where(config.postgres_dsn)))
            try:
                await self._write_forever(store)
            finally:
                await self._drain(store)
                await store.close()

        self.start_loop(main)
        return self.watch()

    def receiveMsg_StoreRecords(self, message: StoreRecords, sender):
        self._enqueue(message)
        return self.watch()

    def receiveMsg_OfflineAlarm(self, message: OfflineAlarm, sender):
        self._enqueue(message)
        return self.watch()

    def _enqueue(self, item) -> None:
        if self.queue is not None:
            self.in_loop(self.queue.put_nowait, item)

    async def _write_forever(self, store: RecordStore) -> None:
        assert self.queue is not None
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self.queue.get_nowait())
            await self._write(store, batch)

    async def _drain(self, store: RecordStore) -> None:
        """On stop: what has queued is written before the connection closes."""
        if self.queue is None or self.queue.empty():
            return
        batch = []
        while not self.queue.empty():
            batch.append(self.queue.get_nowait())
        try:
            await asyncio.wait_for(self._write(store, batch, retry=False), 10)
        except (TimeoutError, asyncpg.PostgresError, OSError) as error:
            self.log.warning("records not stored at stop; the broker delivers them again", reason=str(error))

    async def _write(self, store: RecordStore, batch: list, retry: bool = True) -> None:
        records = [r for item in batch if isinstance(item, StoreRecords) for r in item.records]
        events = [e for item in batch if isinstance(item, StoreRecords) for e in item.alarm_events]
        while True:
            try:
                await store.store(records)
                await store.store_alarm_events(events)
                for item in batch:
                    if isinstance(item, OfflineAlarm):
                        if item.reason is None:
                            await store.clear_offline(item.edge_node, item.at)
                        else:
                            await store.raise_offline(item.edge_node, item.at, item.reason)
                break
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                if not retry:
                    raise
                self.log.warning("PostgreSQL write failed; retrying", reason=str(error), records=len(records))
                await asyncio.sleep(RETRY_S)
        by_reply: list = []  # (address, mids): an ActorAddress is not hashable
        for item in batch:
            if isinstance(item, StoreRecords) and item.mids:
                found = next((entry for entry in by_reply if entry[0] == item.reply_to), None)
                if found is None:
                    by_reply.append((item.reply_to, list(item.mids)))
                else:
                    found[1].extend(item.mids)
        for reply_to, mids in by_reply:
            self.post_command(SendTo(reply_to, Handled(tuple(mids))))


def _where(dsn: str) -> str:
    """The DSN without its password, for messages."""
    head, at, tail = dsn.rpartition("@")
    if not at:
        return dsn
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.split(':', 1)[0]}@{tail}"
