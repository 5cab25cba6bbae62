"""StoreActor: the one writer of the aggregator's PostgreSQL (aggregator/store.py).

Records arrive from every GatewayProxy; the actor's event loop writes whatever has queued in
one transaction (a batch grows by itself when PostgreSQL is slower than the gateways), then
tells the Subscriber which MQTT messages are now stored, so it acknowledges them to the broker:
a message the aggregator did not store is delivered again after a crash. While PostgreSQL is
unreachable the batch waits and is retried on a new connection; nothing is acknowledged meanwhile.
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
# What a lost or refused PostgreSQL connection raises (asyncpg's InterfaceError: a closed connection).
CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
# Of those, what passes: PostgreSQL away, restarting, shut down, out of disk. Any other error
# of PostgreSQL is about the data, and writing the same data again would fail for ever.
TRANSIENT_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


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
            while not self.queue.empty() and len(batch) < MAX_BATCH:
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

    async def _write_one_by_one(self, batch: list) -> None:
        """PostgreSQL refused the batch for its data: write each item alone, so one record it
        can never take (a text with a NUL, say) is logged and passed over instead of holding
        every later record and acknowledgement for ever."""
        for item in batch:
            try:
                assert self.store is not None
                await _write_once(self.store, [item])
            except asyncpg.PostgresError as error:
                if isinstance(error, TRANSIENT_ERRORS):
                    raise
                self.log.error("PostgreSQL refused a record; passed over", item=repr(item)[:300], reason=str(error))

    async def _write(self, batch: list, retry: bool = True) -> None:
        """Write the batch in one go; while PostgreSQL is away (a broken connection, a restart)
        reconnect every RETRY_S and write it again: inserts are idempotent."""
        while True:
            try:
                if self.store is None:
                    self.store = await self._open()
                    self.log.info("PostgreSQL connected", where=_where(self.dsn))
                try:
                    await _write_once(self.store, batch)
                except asyncpg.PostgresError as error:
                    if isinstance(error, TRANSIENT_ERRORS):
                        raise
                    await self._write_one_by_one(batch)
                break
            except CONNECTION_ERRORS as error:
                if not retry:
                    raise
                self.log.warning("PostgreSQL write failed; reconnecting", reason=str(error), items=len(batch))
                await self._drop()
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


async def _write_once(store: RecordStore, batch: list) -> None:
    await store.store([r for item in batch if isinstance(item, StoreRecords) for r in item.records])
    await store.store_alarm_events([e for item in batch if isinstance(item, StoreRecords) for e in item.alarm_events])
    for item in batch:
        if isinstance(item, OfflineAlarm):
            if item.reason is None:
                await store.clear_offline(item.edge_node, item.at)
            else:
                await store.raise_offline(item.edge_node, item.at, item.reason)


def _where(dsn: str) -> str:
    """The DSN without its password, for messages."""
    head, at, tail = dsn.rpartition("@")
    if not at:
        return dsn
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.split(':', 1)[0]}@{tail}"
