"""Daily compaction: a finished hot day file -> rows of the month's cold file.

Runs as its own process (`python -m storage.history.compactor STORAGE_DIR DAY`) so that
its minute of CPU never competes with the sample writer for the GIL, and it is the only
writer of cold files. It is idempotent: a crash half-way leaves the day unmarked (one
transaction), and the next run redoes it.

Scans are decoded in the current format (history/formats.py), whatever format their hot rows
are in, and the day is marked with it in `day_format`.

Per string it decodes every scan of the day once, lays each column out scan-major, and cuts
one cell's series out with a strided slice (C speed), so the cost is per scan, not per value.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from array import array
from dataclasses import dataclass
from pathlib import Path

from battery.codes import CellFault, Health
from battery.plausibility import cell_answered
from storage.history import codec, formats, schema, summaries
from storage.history.scan_row import unpack_scan
from storage.history.schema import ABSENT, CELL_FIELDS, DAY_S, STRING_FIELDS

CELL_SUMMARY_FIELDS = tuple(q.field for q in schema.CELL_QUANTITIES.values())
STRING_SUMMARY_FIELDS = tuple(q.field for q in schema.STRING_QUANTITIES.values())

# battery.plausibility.cell_answered, one byte at a time: it is one test of the health and one of
# the faults, and both are decided by the low byte (Health codes and the NO_RESPONSE bit fit in it).
_ANSWERED_BY_HEALTH = bytes(cell_answered(i, 0) for i in range(256))
_ANSWERED_BY_FAULTS = bytes(cell_answered(int(Health.OK), i) for i in range(256))


@dataclass(frozen=True)
class CompactionResult:
    day: int
    strings: int
    cells: int
    scans: int
    cold_bytes: int  # compressed bytes written (blobs only)
    cpu_s: float


def compact_day(storage_dir: Path, day: int) -> CompactionResult:
    t_cpu = time.process_time()
    hot = schema.open_read_only(schema.hot_path(storage_dir, day))
    cold = schema.open_for_writing(schema.cold_path(storage_dir, day), schema.COLD_DDL)
    strings = cells = scans = written = 0
    try:
        string_nos = [r[0] for r in hot.execute("SELECT DISTINCT string_no FROM string_scan ORDER BY 1")]
        cold.execute("BEGIN IMMEDIATE")
        for string_no in string_nos:
            rows = hot.execute(
                "SELECT ts_ms, payload FROM string_scan WHERE string_no=? ORDER BY ts_ms", (string_no,)
            ).fetchall()
            n_cells, blobs = compact_string(day, rows)
            cold.execute(
                "INSERT OR REPLACE INTO string_day VALUES (?,?,?,?,?)",
                (string_no, day, len(rows), n_cells, blobs.string_samples),
            )
            cold.execute("INSERT OR REPLACE INTO string_hour VALUES (?,?,?)", (string_no, day, blobs.string_hourly))
            cold.executemany(
                "INSERT OR REPLACE INTO cell_day VALUES (?,?,?,?)",
                ((string_no, c + 1, day, b) for c, b in enumerate(blobs.cell_samples)),
            )
            cold.executemany(
                "INSERT OR REPLACE INTO cell_hour VALUES (?,?,?,?)",
                ((string_no, c + 1, day, b) for c, b in enumerate(blobs.cell_hourly)),
            )
            strings += 1
            cells += n_cells
            scans += len(rows)
            written += blobs.size
        cold.execute("INSERT OR REPLACE INTO compacted VALUES (?,?)", (day, time.time()))
        cold.execute("INSERT OR REPLACE INTO day_format VALUES (?,?)", (day, formats.CURRENT))
        cold.execute("COMMIT")
        cold.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        hot.close()
        cold.close()
    return CompactionResult(day, strings, cells, scans, written, time.process_time() - t_cpu)


@dataclass(frozen=True)
class StringDayBlobs:
    string_samples: bytes
    string_hourly: bytes
    cell_samples: list[bytes]
    cell_hourly: list[bytes]

    @property
    def size(self) -> int:
        return (
            len(self.string_samples)
            + len(self.string_hourly)
            + sum(map(len, self.cell_samples))
            + sum(map(len, self.cell_hourly))
        )


def compact_string(day: int, rows: list[tuple[int, bytes]]) -> tuple[int, StringDayBlobs]:
    """Encode one string's scans of one day (rows of (ts_ms, payload), ascending)."""
    day_ms = day * DAY_S * 1000
    decoded = [unpack_scan(p) for _, p in rows]
    n_cells = max((r.cell_count for r in decoded), default=0)
    offsets = array("i", [ts - day_ms for ts, _ in rows])

    # String columns and their presence.
    string_cols = [array("i", [r.string_fields[k] for r in decoded]) for k in range(len(STRING_FIELDS))]
    fresh = bytes(r.string_fields[0] != Health.STALE for r in decoded)
    string_present = []
    for f in STRING_SUMMARY_FIELDS:
        col = string_cols[STRING_FIELDS.index(f)]
        if f in ("ambient_dc", "humidity_dpct"):
            string_present.append(bytes(ok and v != ABSENT for ok, v in zip(fresh, col)))
        else:
            string_present.append(fresh)
    string_samples = codec.pack_series([offsets.tobytes()] + [c.tobytes() for c in string_cols])
    string_hourly = summaries.pack_hours(
        summaries.summarize(
            offsets, [string_cols[STRING_FIELDS.index(f)] for f in STRING_SUMMARY_FIELDS], string_present
        )
    )

    # Cell columns scan-major; a scan without (all) cells repeats the last values, marked stale.
    big = [array("i") for _ in CELL_FIELDS]
    last = [array("i", [0] * n_cells) for _ in CELL_FIELDS]
    stale_h = array("i", [Health.STALE] * n_cells)
    stale_f = array("i", [CellFault.NO_RESPONSE] * n_cells)
    i_health, i_faults = CELL_FIELDS.index("health"), CELL_FIELDS.index("faults")
    for r in decoded:
        if r.cell_count == n_cells:
            for k, col in enumerate(r.cells):
                big[k].extend(col)
            last = list(r.cells)
        else:
            for k in range(len(CELL_FIELDS)):
                big[k].extend(stale_h if k == i_health else stale_f if k == i_faults else last[k])

    cell_samples, cell_hourly = [], []
    summary_idx = [CELL_FIELDS.index(f) for f in CELL_SUMMARY_FIELDS]
    for c in range(n_cells):
        series = [col[c::n_cells] for col in big]
        cell_samples.append(codec.pack_series([s.tobytes() for s in series]))
        mask = presence_mask(series[i_health], series[i_faults])
        stats = summaries.summarize(offsets, [series[k] for k in summary_idx], [mask] * len(summary_idx))
        cell_hourly.append(summaries.pack_hours(stats))
    return n_cells, StringDayBlobs(string_samples, string_hourly, cell_samples, cell_hourly)


def presence_mask(health: array, faults: array) -> bytes:
    """1 per scan where the cell reading is real (C-speed: byte translate + big-integer AND)."""
    h = health.tobytes()[0 :: codec.LANE_BYTES].translate(_ANSWERED_BY_HEALTH)
    f = faults.tobytes()[0 :: codec.LANE_BYTES].translate(_ANSWERED_BY_FAULTS)
    return (int.from_bytes(h, "little") & int.from_bytes(f, "little")).to_bytes(len(h), "little")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Compact one hot day of history into its month's cold file.")
    ap.add_argument("storage_dir", type=Path)
    ap.add_argument("day", type=int, help="UNIX day number (UTC)")
    ap.add_argument("--nice", type=int, default=10)
    args = ap.parse_args(argv)
    if args.nice:
        os.nice(args.nice)
    r = compact_day(args.storage_dir, args.day)
    print(
        f"compacted {schema.day_name(r.day)}: {r.strings} strings, {r.cells} cells, {r.scans} scans, "
        f"{r.cold_bytes} bytes, {r.cpu_s:.1f} s CPU",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
