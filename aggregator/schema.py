"""The aggregator's PostgreSQL schema: a year of 10 gateways at 10 s, inserted idempotently.

A record is what one Sparkplug data message says about one device at one scan time: a string's
values, the batteries of a string that changed (the gateway sends cells by exception, in a
record of their own with the same scan time), a UPS, or the gateway's discharge event. It is
ONE row, keyed by (edge node, device, scan time, layout): a replayed record carries the same
metric names, so it meets that key and is dropped (`ON CONFLICT DO NOTHING`), and is stored
once however often it arrives. The row's numbers and texts are arrays whose metric names are a
shared layout (a string of 120 batteries always has the same 722 names), so the names are
stored once, not in every row.

Size: a string row of 120 batteries holds 607 numbers; PostgreSQL compresses arrays over 2 kB
(TOAST). A year of 10 gateways of 32 strings at 10 s is 1.0 billion rows; the table is
partitioned by month, so indexes stay the size of a month, a query of a day touches one
partition, and retention drops a month as one file (docs/aggregator.md).
"""

from __future__ import annotations

from datetime import UTC, datetime

STATEMENTS = (
    # The names of a string of 120 batteries are over 10 kB: more than a b-tree index entry
    # may hold (2,704 bytes), so the layout is unique by a digest of its names.
    """CREATE TABLE IF NOT EXISTS metric_layout (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        digest text NOT NULL UNIQUE,       -- SHA-256 of the names (aggregator/store.py layout_digest)
        numeric_names text[] NOT NULL,
        text_names text[] NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS record (
        edge_node text NOT NULL,
        device text NOT NULL,              -- '' for the edge node's own metrics
        ts timestamptz NOT NULL,           -- the scan time the gateway stamped
        layout integer NOT NULL REFERENCES metric_layout (id),
        nums double precision[] NOT NULL,  -- in the layout's numeric_names order; NULL: not available
        texts text[] NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (edge_node, device, ts, layout)
    ) PARTITION BY RANGE (ts)""",
    """CREATE TABLE IF NOT EXISTS offline_alarm (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        edge_node text NOT NULL,
        raised_at timestamptz NOT NULL,
        cleared_at timestamptz,
        reason text NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS gateway_alarm_event (
        edge_node text NOT NULL,
        alarm_id bigint NOT NULL,          -- the gateway's own alarm number
        event text NOT NULL,               -- raised, cleared, acknowledged, closed
        body jsonb NOT NULL,               -- the event/alarm object as the gateway sent it
        PRIMARY KEY (edge_node, alarm_id, event)
    )""",
    # A message the aggregator could not take (its gateway proxy failed on it every time,
    # aggregator/delivery.py), kept as it came so that nothing is dropped unseen.
    """CREATE TABLE IF NOT EXISTS skipped_message (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        edge_node text NOT NULL,
        topic text NOT NULL,
        seq integer,                       -- the Sparkplug seq, if the payload could be read
        payload bytea NOT NULL,            -- the MQTT payload as it came
        reason text NOT NULL,
        skipped_at timestamptz NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS offline_alarm_open ON offline_alarm (edge_node) WHERE cleared_at IS NULL",
)


def month_of(ts: datetime) -> tuple[int, int]:
    return ts.year, ts.month


def partition_statement(year: int, month: int) -> str:
    """The partition of one month (UTC), created when its first record arrives."""
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return (
        f"CREATE TABLE IF NOT EXISTS record_{year:04d}_{month:02d} PARTITION OF record "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )
