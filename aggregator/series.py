"""A stored metric of one gateway's device as min/avg/max buckets, downsampled in PostgreSQL.

The History tab's numbers (aggregator/ui/history.py): one metric (`string.voltage`) of one
device (a UPS `UPS-A` or a string `UPS-A:A1`) over [start, end). The range is first cut to the
part that has records of the device (the primary key's index answers that), so the buckets
divide what is stored, as on a gateway; then ONE query groups the rows into at most `points`
buckets: whatever the range, at most `points` rows come back. The metric's place in a row's
`nums` depends on the row's layout (aggregator/schema.py): the device's layouts in the range
are read first and each one's position of the metric is looked up once. A statement timeout
bounds the work of a range far larger than the data suggests.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from storage.history.downsample import decimals

Point = tuple[float, float, float, float]  # (bucket start, UNIX s; min, avg, max)
TIMEOUT_MS = 30_000  # a year of a string at 10 s is about 3 million rows: some 15 s on a busy small machine

_SPAN = "SELECT min(ts), max(ts) FROM record WHERE edge_node = $1 AND device = $2 AND ts >= $3 AND ts < $4 AND layout = ANY($5)"
_LAYOUTS = "SELECT DISTINCT layout FROM record WHERE edge_node = $1 AND device = $2 AND ts >= $3 AND ts < $4"
_POSITIONS = (
    "SELECT id, array_position(numeric_names, $2) AS at FROM metric_layout "
    "WHERE id = ANY($1) AND array_position(numeric_names, $2) IS NOT NULL"
)
_BUCKETS = """
SELECT bucket, min(v) AS lo, avg(v) AS mean, max(v) AS hi FROM (
    SELECT least(floor((extract(epoch FROM r.ts)::float8 - $5::float8) / $6::float8), $7 - 1)::integer AS bucket,
        r.nums[($9::integer[])[array_position($8::integer[], r.layout)]] AS v
    FROM record r
    WHERE r.edge_node = $1 AND r.device = $2 AND r.ts >= $3 AND r.ts <= $4 AND r.layout = ANY($8::integer[])
) AS x
WHERE abs(v) < 'Infinity'::float8  -- not NULL (not available), nor NaN (above all in PostgreSQL), nor infinite
GROUP BY bucket  -- no ORDER BY: the few buckets are sorted here, not every row there
"""


def _time(unix_s: float) -> datetime:
    return datetime.fromtimestamp(unix_s, UTC)


async def device_series(
    db: asyncpg.Pool | asyncpg.Connection,
    edge_node: str,
    device: str,
    metric: str,
    resolution: float,
    start: float,
    end: float,
    points: int,
) -> list[Point]:
    """At most `points` buckets of the metric in [start, end), values rounded as a gateway's
    History rounds them (storage/history/downsample.py); [] when nothing of it is stored there."""
    async with _connection(db) as connection, connection.transaction(readonly=True):
        await connection.execute(f"SET LOCAL statement_timeout = {TIMEOUT_MS}")
        span_from, span_to = _time(start), _time(end)
        layouts = [r["layout"] for r in await connection.fetch(_LAYOUTS, edge_node, device, span_from, span_to)]
        found = await connection.fetch(_POSITIONS, layouts, metric) if layouts else []
        if not found:
            return []
        ids, places = [r["id"] for r in found], [r["at"] for r in found]
        first, last = await connection.fetchrow(_SPAN, edge_node, device, span_from, span_to, ids)
        start, end = first.timestamp(), last.timestamp()
        width = max(end - start, 0.001) / points
        rows = await connection.fetch(_BUCKETS, edge_node, device, first, last, start, width, points, ids, places)
    digits = decimals(resolution)
    return [
        (start + r["bucket"] * width, round(r["lo"], digits), round(r["mean"], digits), round(r["hi"], digits))
        for r in sorted(rows, key=lambda r: r["bucket"])
    ]


def _connection(db: asyncpg.Pool | asyncpg.Connection):
    """A connection of the pool for the transaction (the reader's), or the one connection given."""
    if isinstance(db, asyncpg.Pool):
        return db.acquire()
    return _Given(db)


class _Given:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def __aenter__(self) -> asyncpg.Connection:
        return self.connection

    async def __aexit__(self, *exc) -> None:
        return None
