"""RecordStore: the aggregator's PostgreSQL (asyncpg), written by the Store actor only.

Inserts are idempotent (schema.py): `store()` may be given the same record any number of
times, from a replay after a broker outage, a rebirth or a restarted gateway, and the table
holds it once. It answers how many rows were new, so the caller can tell replays apart.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import asyncpg

from aggregator.records import Record
from aggregator.schema import STATEMENTS, month_of, partition_statement

# What a lost, restarting or refusing PostgreSQL raises (asyncpg's InterfaceError: a closed
# connection): the callers wait, retry or answer 503.
CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)

# A batch goes to PostgreSQL in two round trips: COPY into a temporary staging table (binary,
# no statement per row), then one INSERT ... SELECT that skips the keys stored already and a
# key met twice in the batch, and says how many rows were new.
STAGING = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS record_staging (edge_node text, device text, ts timestamptz, "
    "layout integer, nums double precision[], texts text[]) ON COMMIT DELETE ROWS"
)
FROM_STAGING = (
    "INSERT INTO record (edge_node, device, ts, layout, nums, texts) "
    "SELECT edge_node, device, ts, layout, nums, texts FROM record_staging ON CONFLICT DO NOTHING"
)


def to_time(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC)


class RecordStore:
    def __init__(self, connection: asyncpg.Connection | asyncpg.Pool) -> None:
        self.db = connection
        self._layouts: dict[tuple[tuple[str, ...], tuple[str, ...]], int] = {}
        self._months: set[tuple[int, int]] = set()
        self._staging = False

    @classmethod
    async def open(cls, dsn: str, password: str | None = None, timeout_s: float = 10.0) -> RecordStore:
        connection = await asyncpg.connect(dsn, password=password, timeout=timeout_s)
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(4242)")  # one schema creator at a time
            for statement in STATEMENTS:
                await connection.execute(statement)
        return cls(connection)

    @classmethod
    async def reader(cls, dsn: str, password: str | None = None, timeout_s: float = 10.0) -> RecordStore:
        """For reading only (the web): a pool of two, which replaces a connection PostgreSQL
        dropped (a restart), where a single connection would stay broken."""
        pool = await asyncpg.create_pool(dsn, password=password, timeout=timeout_s, min_size=1, max_size=2)
        return cls(pool)

    async def close(self) -> None:
        await self.db.close()

    async def store(self, records: Sequence[Record]) -> int:
        """Insert the records in one transaction; return how many were new (a record met
        twice, in the table or in `records`, is stored once)."""
        if not records:
            return 0
        rows = []
        for r in records:
            ts = to_time(r.ts_ms)
            await self._partition(ts)
            layout = await self._layout(r.numeric_names, r.text_names)
            rows.append((r.edge_node, r.device, ts, layout, list(r.nums), list(r.texts)))
        if not self._staging:
            await self.db.execute(STAGING)  # per connection: a temporary table lives in its session
            self._staging = True
        async with self.db.transaction():
            await self.db.copy_records_to_table("record_staging", records=rows)
            status = await self.db.execute(FROM_STAGING)
        return int(status.split()[-1])  # "INSERT 0 <new rows>"

    async def _partition(self, ts: datetime) -> None:
        month = month_of(ts)
        if month not in self._months:
            async with self.db.transaction():
                await self.db.execute("SELECT pg_advisory_xact_lock(4243)")
                await self.db.execute(partition_statement(*month))
            self._months.add(month)

    async def _layout(self, numeric: tuple[str, ...], text: tuple[str, ...]) -> int:
        key = (numeric, text)
        found = self._layouts.get(key)
        if found is None:
            found = await self.db.fetchval(
                "WITH new AS (INSERT INTO metric_layout (digest, numeric_names, text_names) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING RETURNING id) "
                "SELECT id FROM new UNION ALL "
                "SELECT id FROM metric_layout WHERE digest = $1 LIMIT 1",
                layout_digest(numeric, text),
                list(numeric),
                list(text),
            )
            self._layouts[key] = found
        return found

    async def store_alarm_events(self, events: Sequence[tuple[str, dict]]) -> None:
        """The gateways' alarm events, each (edge node, alarm number, event) once."""
        rows = [
            (node, int(e["alarm_id"]), str(e.get("event", "")), json.dumps(e))
            for node, e in events
            if isinstance(e.get("alarm_id"), int)
        ]
        if rows:
            await self.db.executemany(
                "INSERT INTO gateway_alarm_event (edge_node, alarm_id, event, body) VALUES ($1, $2, $3, $4::jsonb) "
                "ON CONFLICT DO NOTHING",
                rows,
            )

    async def gateway_alarms(self) -> list[dict]:
        """The latest event of every gateway alarm (the acknowledgement does not end it)."""
        rows = await self.db.fetch(
            "SELECT DISTINCT ON (edge_node, alarm_id) edge_node, body FROM gateway_alarm_event "
            "ORDER BY edge_node, alarm_id, CASE event WHEN 'raised' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END DESC"
        )
        return [{"edge_node": r["edge_node"], **json.loads(r["body"])} for r in rows]

    async def store_skipped(self, skipped: Sequence) -> None:
        """Messages the aggregator gave up on (aggregator/messages.py SkippedMessage), as they came."""
        if skipped:
            await self.db.executemany(
                "INSERT INTO skipped_message (edge_node, topic, seq, payload, reason, skipped_at) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                [
                    (m.edge_node, m.topic, m.seq, m.payload, m.reason, datetime.fromtimestamp(m.at, UTC))
                    for m in skipped
                ],
            )

    async def skipped_counts(self) -> dict[str, int]:
        """How many messages each gateway had skipped: a count above 0 is something to look into."""
        rows = await self.db.fetch("SELECT edge_node, count(*) AS n FROM skipped_message GROUP BY edge_node")
        return {r["edge_node"]: r["n"] for r in rows}

    # -- the off-line alarm -----------------------------------------------------------------

    async def raise_offline(self, edge_node: str, at: float, reason: str) -> bool:
        """Open the edge node's off-line alarm unless one is open; True when it was raised now."""
        async with self.db.transaction():
            open_id = await self.db.fetchval(
                "SELECT id FROM offline_alarm WHERE edge_node = $1 AND cleared_at IS NULL", edge_node
            )
            if open_id is not None:
                return False
            await self.db.execute(
                "INSERT INTO offline_alarm (edge_node, raised_at, reason) VALUES ($1, $2, $3)",
                edge_node,
                datetime.fromtimestamp(at, UTC),
                reason,
            )
        return True

    async def clear_offline(self, edge_node: str, at: float) -> bool:
        done = await self.db.execute(
            "UPDATE offline_alarm SET cleared_at = $2 WHERE edge_node = $1 AND cleared_at IS NULL",
            edge_node,
            datetime.fromtimestamp(at, UTC),
        )
        return done != "UPDATE 0"

    async def offline_alarms(self, active_only: bool = False, limit: int = 1000) -> list[asyncpg.Record]:
        where = "WHERE cleared_at IS NULL" if active_only else ""
        return await self.db.fetch(
            f"SELECT id, edge_node, raised_at, cleared_at, reason FROM offline_alarm {where} ORDER BY id DESC LIMIT $1",
            limit,
        )


def layout_digest(numeric: Sequence[str], text: Sequence[str]) -> str:
    """The key of a layout: its names, both lists in order (a name never holds a newline)."""
    joined = "\n".join(numeric) + "\n\n" + "\n".join(text)
    return hashlib.sha256(joined.encode()).hexdigest()


def layout_names(rows: Iterable[asyncpg.Record]) -> dict[int, tuple[tuple[str, ...], tuple[str, ...]]]:
    return {r["id"]: (tuple(r["numeric_names"]), tuple(r["text_names"])) for r in rows}
