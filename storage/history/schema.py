"""Where history lives on disk and what its tables look like.

Layout under `<storage dir>/history/` (justified with measurements in docs/storage.md):

- `hot-YYYY-MM-DD.db`, one file per UTC day: one row per string per scan, the string's
  fields and its cells as byte planes + zlib. Recent scans, cheap to append; dropped whole
  a few days after compaction (deleting a file writes nothing).
- `cold-YYYY-MM.db`, one file per UTC month: one row per cell per day, every scan, time
  deltas + byte planes + zlib; hourly min/avg/max per cell and per string in small rows of
  their own, so that a year of one cell reads 365 small rows. Retention deletes files.
- `catalog.db`: which string number is which string/UPS, and the discharge events with their
  scans at full resolution (kept for the whole retention).

Settings, users and alarms are not here (settings.db belongs to the web side), so the UI
never waits on this writer's locks.

Values are stored as integers in the wire scale of their quantity (battery/quantities.py). Format
1 stored a string's SOC and SOH in 0.1 %; format 2 (now) stores them in the registry's 1 %, like
every other interface. Old rows are never rewritten: they are read through history/formats.py.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from battery.quantities import Quantity, quantity

DAY_S = 86_400
HISTORY_DIR = "history"
CATALOG_FILE = "catalog.db"
ABSENT = -(2**31)  # an optional string reading (ambient, humidity) that the string does not have

# Pragmas measured in STORAGE.md: WAL + synchronous=NORMAL survive a power cut with at most the
# last commit lost; secure_delete is on in Debian's build and multiplies delete writes.
WRITER_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA secure_delete=OFF",
    "PRAGMA journal_size_limit=67108864",
    "PRAGMA busy_timeout=5000",
)
HOT_PAGE_SIZE = 8192  # a string's row (~0.5-1 KB) stays on its b-tree page, no overflow chain

HOT_DDL = (
    f"PRAGMA page_size={HOT_PAGE_SIZE}",
    """CREATE TABLE IF NOT EXISTS string_scan (
        string_no INTEGER NOT NULL,
        ts_ms     INTEGER NOT NULL,   -- scan start, UNIX milliseconds
        payload   BLOB    NOT NULL,   -- scan_row.pack_scan()
        -- Time first: every commit appends at the right edge of the b-tree (a string-first key
        -- rewrote ~6 half-full pages per string per commit: 2.5 GB/day of SSD writes, measured).
        PRIMARY KEY (ts_ms, string_no)
    ) WITHOUT ROWID""",
)

COLD_DDL = (
    """CREATE TABLE IF NOT EXISTS string_day (
        string_no INTEGER NOT NULL,
        day       INTEGER NOT NULL,   -- UNIX day (UTC)
        scans     INTEGER NOT NULL,
        cells     INTEGER NOT NULL,
        samples   BLOB    NOT NULL,   -- codec.pack_series([offset ms, 11 string fields])
        PRIMARY KEY (string_no, day)
    )""",
    """CREATE TABLE IF NOT EXISTS string_hour (
        string_no INTEGER NOT NULL,
        day       INTEGER NOT NULL,
        hourly    BLOB    NOT NULL,   -- summaries.pack_hours()
        PRIMARY KEY (string_no, day)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS cell_day (
        string_no INTEGER NOT NULL,
        cell_no   INTEGER NOT NULL,   -- 1-based position in the string
        day       INTEGER NOT NULL,
        samples   BLOB    NOT NULL,   -- codec.pack_series(7 cell columns), one lane per scan
        PRIMARY KEY (string_no, cell_no, day)
    )""",
    """CREATE TABLE IF NOT EXISTS cell_hour (
        string_no INTEGER NOT NULL,
        cell_no   INTEGER NOT NULL,
        day       INTEGER NOT NULL,
        hourly    BLOB    NOT NULL,
        PRIMARY KEY (string_no, cell_no, day)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS compacted (
        day         INTEGER PRIMARY KEY,
        finished_at REAL NOT NULL
    )""",
    # The format of each compacted day's rows; a day compacted before this table existed has no
    # row here and is format 1 (history/formats.py).
    """CREATE TABLE IF NOT EXISTS day_format (
        day    INTEGER PRIMARY KEY,
        format INTEGER NOT NULL
    )""",
)

CATALOG_DDL = (
    """CREATE TABLE IF NOT EXISTS string_catalog (
        string_no INTEGER PRIMARY KEY,  -- StringConfig.index
        string_id TEXT NOT NULL,
        ups_id    TEXT NOT NULL,
        cells     INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS discharge_event (
        id        INTEGER PRIMARY KEY,
        string_no INTEGER NOT NULL,
        string_id TEXT    NOT NULL,
        ups_id    TEXT    NOT NULL,
        start_ms  INTEGER NOT NULL,
        end_ms    INTEGER             -- NULL while the discharge goes on
    )""",
    "CREATE INDEX IF NOT EXISTS discharge_event_start ON discharge_event (start_ms)",
    # What the string master's detector measured over a finished event (battery/analytics/discharge.py).
    # A table of its own, so catalogs written before it get it by CREATE IF NOT EXISTS.
    """CREATE TABLE IF NOT EXISTS discharge_summary (
        event_id      INTEGER PRIMARY KEY,
        ah            REAL NOT NULL,        -- delivered
        wh            REAL NOT NULL,
        min_string_v  REAL,
        min_cell_mv   INTEGER,
        weakest_cells TEXT NOT NULL         -- JSON [[cell, lowest mV], ...], weakest first
    )""",
    """CREATE TABLE IF NOT EXISTS discharge_scan (
        event_id INTEGER NOT NULL,
        ts_ms    INTEGER NOT NULL,
        payload  BLOB    NOT NULL,      -- same format as string_scan.payload
        PRIMARY KEY (event_id, ts_ms)
    ) WITHOUT ROWID""",
)


# Columns of a string scan and of a cell, in the order they are packed (every one an int32).
STRING_FIELDS = (
    "health",
    "voltage_cv",
    "current_ca",
    "state",
    "soc_pct",
    "soh_pct",
    "balance_cpct",
    "ambient_dc",
    "humidity_dpct",
    "hall_ok",
    "relay_closed",
)
CELL_FIELDS = ("voltage_mv", "resistance_uohm", "temperature_dc", "soc_pct", "soh_pct", "health", "faults")


@dataclass(frozen=True)
class StoredQuantity:
    """One plottable/exportable quantity: where it is packed; its unit and scale are the registry's."""

    name: str  # as the API names it (`/api/v1/series?quantity=voltage`)
    field: str  # a name in STRING_FIELDS or CELL_FIELDS
    quantity: Quantity

    @property
    def scale(self) -> float:
        """stored integer * scale = value in `unit`."""
        return float(self.quantity.resolution)

    @property
    def unit(self) -> str:
        return self.quantity.unit


def _stored(name: str, field: str, key: str) -> StoredQuantity:
    return StoredQuantity(name, field, quantity(key))


CELL_QUANTITIES = {
    q.name: q
    for q in (
        _stored("voltage", "voltage_mv", "cell.voltage"),
        _stored("resistance", "resistance_uohm", "cell.resistance"),
        _stored("temperature", "temperature_dc", "cell.temperature"),
        _stored("soc", "soc_pct", "cell.soc"),
        _stored("soh", "soh_pct", "cell.soh"),
    )
}
STRING_QUANTITIES = {
    q.name: q
    for q in (
        _stored("voltage", "voltage_cv", "string.voltage"),
        _stored("current", "current_ca", "string.current"),
        _stored("soc", "soc_pct", "string.soc"),
        _stored("soh", "soh_pct", "string.soh"),
        _stored("balance", "balance_cpct", "string.balance"),
        _stored("ambient", "ambient_dc", "string.ambient_temperature"),
        _stored("humidity", "humidity_dpct", "string.ambient_humidity"),
    )
}
# UPS values are not stored: they are derived from the UPS's strings the way the UPS actor
# computes them (voltage = mean of the strings, current = sum, SOC = mean), in the string's scale
# (the registry gives ups.X the unit and resolution of string.X; a test holds them equal).
UPS_QUANTITIES = {"voltage": "mean", "current": "sum", "soc": "mean"}
UPS_REGISTRY_QUANTITIES = {name: quantity(f"ups.{name}") for name in UPS_QUANTITIES}


def day_of(ts: float) -> int:
    """UNIX day number (UTC) of a UNIX time."""
    return int(ts // DAY_S)


def day_name(day: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()


def month_name(day: int) -> str:
    return day_name(day)[:7]


def history_dir(storage_dir: Path) -> Path:
    return Path(storage_dir) / HISTORY_DIR


def hot_path(storage_dir: Path, day: int) -> Path:
    return history_dir(storage_dir) / f"hot-{day_name(day)}.db"


def cold_path(storage_dir: Path, day: int) -> Path:
    return history_dir(storage_dir) / f"cold-{month_name(day)}.db"


def catalog_path(storage_dir: Path) -> Path:
    return history_dir(storage_dir) / CATALOG_FILE


def hot_days_on_disk(storage_dir: Path) -> list[int]:
    """Days that have a hot file, oldest first."""
    out = []
    for p in history_dir(storage_dir).glob("hot-*.db"):
        d = dt.date.fromisoformat(p.stem[4:])
        out.append((d - dt.date(1970, 1, 1)).days)
    return sorted(out)


def cold_months_on_disk(storage_dir: Path) -> list[tuple[str, Path]]:
    """(YYYY-MM, path) of every cold file, oldest first."""
    return sorted((p.stem[5:], p) for p in history_dir(storage_dir).glob("cold-*.db"))


def month_first_day(month: str) -> int:
    return (dt.date.fromisoformat(month + "-01") - dt.date(1970, 1, 1)).days


def month_last_day(month: str) -> int:
    y, m = int(month[:4]), int(month[5:7])
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return (nxt - dt.date(1970, 1, 1)).days - 1


def open_for_writing(path: Path, ddl: tuple[str, ...]) -> sqlite3.Connection:
    """A plain sqlite3 connection with the writer pragmas and the tables created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for stmt in ddl[:1] if ddl and ddl[0].startswith("PRAGMA page_size") else ():
        con.execute(stmt)  # must precede the first table (and WAL) to take effect
    for p in WRITER_PRAGMAS:
        con.execute(p)
    for stmt in ddl:
        if not stmt.startswith("PRAGMA"):
            con.execute(stmt)
    return con


def open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection (mode=ro): a reader never takes the writer's lock."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    con.execute("PRAGMA busy_timeout=2000")
    return con
