"""StoreActor: the one writer of the aggregator's PostgreSQL (aggregator/store.py).

Batches of records arrive from every GatewayProxy (one StoreRecords per batch of MQTT
messages); the actor's event loop writes whatever has queued in one go (aggregator/store_batch.py:
the batch grows by itself when PostgreSQL is slower than the gateways), then tells the
Subscriber which MQTT messages are now stored, so it acknowledges them to the broker:
a message the aggregator did not store is delivered again after a crash. While PostgreSQL is
unreachable the batch waits and is retried on a new connection; nothing is acknowledged meanwhile.
"""

from __future__ import annotations

import asyncio

from actors.base.protocol_actor import ProtocolActor, SendTo
from aggregator.messages import (
    Handled,
    InitService,
    OfflineAlarm,
    ServiceDown,
    ServiceUp,
    SkippedMessage,
    StoreRecords,
)
from aggregator.store import CONNECTION_ERRORS, RecordStore
from aggregator.store_batch import records_in, write_batch
from observability.log import get_logger

RETRY_S = 1.0
MAX_BATCH = 2_000  # records per write, about; a StoreRecords is never split


class StoreActor(ProtocolActor):
    def __init__(self, capabilities=None, *args, **kwargs):
        super().__init__(capabilities, *args, **kwargs)
        self.log = get_logger("btms.aggregator.store")
        self.queue: asyncio.Queue | None = None
        self.started = False
        self.store: RecordStore | None = None

    def receiveMsg_InitService(self, message: InitService, sender):
        if self.started:
            return self.watch()
        self.started = True
        self.gateway = sender  # ProtocolActor sends ServiceUp/ServiceDown here: the Aggregator
        self.dsn, self.password = message.config.postgres_dsn, message.config.postgres_password

        async def main() -> None:
            self.queue = asyncio.Queue()
            try:
                self.store = await self._open()
            except CONNECTION_ERRORS as error:
                self.post_command(ServiceDown("store", f"PostgreSQL {_where(self.dsn)}: {error}"))
                return
            self.log.info("PostgreSQL connected", where=_where(self.dsn))
            self.post_command(ServiceUp("store", _where(self.dsn)))
            try:
                await self._write_forever()
            finally:
                await self._drain()
                await self._drop()

        self.start_loop(main)
        return self.watch()

    def receiveMsg_StoreRecords(self, message: StoreRecords, sender):
        self._enqueue(message)
        return self.watch()

    def receiveMsg_SkippedMessage(self, message: SkippedMessage, sender):
        self._enqueue(message)
        return self.watch()

    def receiveMsg_OfflineAlarm(self, message: OfflineAlarm, sender):
        self._enqueue(message)
        return self.watch()

    def _enqueue(self, item) -> None:
        if self.queue is not None:
            self.in_loop(self.queue.put_nowait, item)

    async def _open(self) -> RecordStore:
        return await RecordStore.open(self.dsn, self.password)

    async def _drop(self) -> None:
        """Close the connection (a broken one too); the next write opens a new one."""
        store, self.store = self.store, None
        if store is not None:
            try:
                await asyncio.wait_for(store.close(), 5)
            except (*CONNECTION_ERRORS, RuntimeError):
                store.db.terminate()

    async def _write_forever(self) -> None:
        assert self.queue is not None
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty() and records_in(batch) < MAX_BATCH:
                batch.append(self.queue.get_nowait())
            await self._write(batch)

    async def _drain(self) -> None:
        """On stop: what has queued is written before the connection closes."""
        if self.queue is None or self.queue.empty():
            return
        batch = []
        while not self.queue.empty():
            batch.append(self.queue.get_nowait())
        try:
            await asyncio.wait_for(self._write(batch, retry=False), 10)
        except CONNECTION_ERRORS as error:
            self.log.warning("records not stored at stop; the broker delivers them again", reason=str(error))

    async def _write(self, batch: list, retry: bool = True) -> None:
        """Write the batch in one go, then acknowledge it; while PostgreSQL is away (a broken
        connection, a restart) reconnect every RETRY_S and write it again: inserts are idempotent."""
        while True:
            try:
                if self.store is None:
                    self.store = await self._open()
                    self.log.info("PostgreSQL connected", where=_where(self.dsn))
                await write_batch(self.store, batch, self._acknowledge, self._refused)
                return
            except CONNECTION_ERRORS as error:
                if not retry:
                    raise
                self.log.warning("PostgreSQL write failed; reconnecting", reason=str(error), items=len(batch))
                await self._drop()
                await asyncio.sleep(RETRY_S)

    def _acknowledge(self, reply_to, mids: tuple[int, ...]) -> None:
        self.post_command(SendTo(reply_to, Handled(mids)))

    def _refused(self, item, reason: str) -> None:
        self.log.error("PostgreSQL refused a record; passed over", item=repr(item)[:300], reason=reason)


def _where(dsn: str) -> str:
    """The DSN without its password, for messages."""
    head, at, tail = dsn.rpartition("@")
    if not at:
        return dsn
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.split(':', 1)[0]}@{tail}"
