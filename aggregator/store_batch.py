"""What the Store writes in one go, and the acknowledgements it owes once it is written.

A batch is every StoreRecords and OfflineAlarm that queued while the last one was written
(each StoreRecords is itself a batch of MQTT messages, aggregator/edge_batch.py), and the
SkippedMessages the subscriber gave up on. Its message
ids are acknowledged only after all of it is stored: a write that fails acknowledges nothing,
and the Store writes the whole batch again (inserts are idempotent), so the broker never
forgets a message the aggregator did not store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import asyncpg

from actors.messages.address import Address
from aggregator.messages import OfflineAlarm, SkippedMessage, StoreRecords
from aggregator.store import RecordStore

# What passes: PostgreSQL away, restarting, shut down, out of disk. Any other error of
# PostgreSQL is about the data, and writing the same data again would fail for ever.
TRANSIENT_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)

Acknowledge = Callable[[Address, tuple[int, ...]], None]
Refused = Callable[[object, str], None]  # (the item PostgreSQL refused, why)


def records_in(batch: Sequence) -> int:
    return sum(len(item.records) + len(item.alarm_events) for item in batch if isinstance(item, StoreRecords))


async def write_batch(store: RecordStore, batch: Sequence, acknowledge: Acknowledge, refused: Refused) -> None:
    """Write the batch, then acknowledge its message ids, grouped by whom to tell.

    Raises what a lost PostgreSQL raised (nothing acknowledged). When PostgreSQL refuses the
    batch for its data, each record is written alone, so one it can never take (a text with a
    NUL, say) is reported to `refused` and passed over instead of holding every later record
    and acknowledgement for ever."""
    try:
        await _write(store, batch)
    except asyncpg.PostgresError as error:
        if isinstance(error, TRANSIENT_ERRORS):
            raise
        await _write_one_by_one(store, batch, refused)
    for reply_to, mids in acknowledgements(batch):
        acknowledge(reply_to, mids)


def acknowledgements(batch: Sequence) -> list[tuple[Address, tuple[int, ...]]]:
    """The batch's message ids per reply_to, in batch order (an ActorAddress is not hashable)."""
    by_reply: list[tuple[Address, list[int]]] = []
    for item in batch:
        if isinstance(item, StoreRecords | SkippedMessage) and item.mids:
            found = next((entry for entry in by_reply if entry[0] == item.reply_to), None)
            if found is None:
                by_reply.append((item.reply_to, list(item.mids)))
            else:
                found[1].extend(item.mids)
    return [(reply_to, tuple(mids)) for reply_to, mids in by_reply]


async def _write(store: RecordStore, batch: Sequence) -> None:
    await store.store([r for item in batch if isinstance(item, StoreRecords) for r in item.records])
    await store.store_alarm_events([e for item in batch if isinstance(item, StoreRecords) for e in item.alarm_events])
    await store.store_skipped([item for item in batch if isinstance(item, SkippedMessage)])
    for item in batch:
        if isinstance(item, OfflineAlarm):
            await _offline(store, item)


async def _offline(store: RecordStore, item: OfflineAlarm) -> None:
    if item.reason is None:
        await store.clear_offline(item.edge_node, item.at)
    else:
        await store.raise_offline(item.edge_node, item.at, item.reason)


async def _write_one_by_one(store: RecordStore, batch: Sequence, refused: Refused) -> None:
    for item in batch:
        if isinstance(item, StoreRecords):
            writes = [(r, store.store, [r]) for r in item.records]
            writes += [(e, store.store_alarm_events, [e]) for e in item.alarm_events]
        elif isinstance(item, SkippedMessage):
            writes = [(item, store.store_skipped, [item])]
        else:
            writes = [(item, lambda one: _offline(store, one[0]), [item])]
        for what, write, argument in writes:
            try:
                await write(argument)
            except asyncpg.PostgresError as error:
                if isinstance(error, TRANSIENT_ERRORS):
                    raise
                refused(what, str(error))
