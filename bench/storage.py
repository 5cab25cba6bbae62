"""Storage benchmark: a simulated site of 3,840 cells at a 10 s scan, in accelerated time.

Writes `--days` simulated days (default 1) through the real HistoryWriter (one commit per
simulated minute, as in production), compacts them with the real compactor, then clones
the compacted day over a year of cold files (hourly summaries for every cell, full samples
for the string that is queried) to time year-long queries on a realistic number of rows.
Measures one day and projects a year. Figures are warm-cache (page cache not dropped).

    python bench/storage.py [--days 1] [--strings 32] [--cells 120] [--scan 10] [--dir DIR]

Last line: one JSON object with the figures the issue asks for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from battery.codes import ChargeState, Health
from battery.status import StringStatus
from storage.history import schema
from storage.history.compactor import compact_day
from storage.history.export_csv import csv_chunks
from storage.history.reader import HistoryQueries
from storage.history.retention import RetentionPolicy
from storage.history.writer import HistoryWriter

DAY = 86_400
VALUES_PER_CELL = 5  # voltage, resistance, temperature, SOC, SOH (health/faults are flags)
FIRST_DAY = 20_089  # 2025-01-01
_NOISE = bytes(0 if b < 64 else 2 if b >= 192 else 1 for b in range(256))  # -1/0/+1 step, p = 1/4, 1/2, 1/4


def io_written() -> int:
    """Bytes this process sent to the storage layer (what the SSD sees, before its own overhead)."""
    fields = dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())
    return int(fields["write_bytes"]) - int(fields["cancelled_write_bytes"])


class SimulatedString:
    """Cells that differ, drift, follow a daily temperature cycle, discharge, with one step of noise.

    Values are built as one big integer of int32 lanes (C speed), not per value in Python.
    """

    def __init__(self, no: int, cells: int, rng: random.Random, discharges: bool) -> None:
        self.no, self.n, self.rng, self.discharges = no, cells, rng, discharges
        self.ones = int.from_bytes(b"\x01\x00\x00\x00" * cells, "little")
        self.v = [13_500 + rng.randint(-40, 40) for _ in range(cells)]
        self.r = [4_000 + rng.randint(-300, 300) for _ in range(cells)]
        self.t = [250 + rng.randint(-15, 15) for _ in range(cells)]
        self.soh = [97 + rng.randint(-3, 2) for _ in range(cells)]

    def _lanes(self, base: list[int], offset: int, noise: bool) -> tuple[int, ...]:
        x = int.from_bytes(b"".join(v.to_bytes(4, "little") for v in base), "little") + offset * self.ones
        if noise:
            buf = bytearray(4 * self.n)
            buf[0::4] = self.rng.randbytes(self.n).translate(_NOISE)
            x += int.from_bytes(buf, "little") - self.ones
        return tuple(memoryview(x.to_bytes(4 * self.n, "little")).cast("i"))

    def scan(self, ts: float, scan_no: int) -> StringStatus:
        sec = ts % DAY
        temp_off = round(20 * math.sin(2 * math.pi * sec / DAY))  # +-2 degC a day
        in_discharge = self.discharges and 14 * 3600 <= sec < 14 * 3600 + 1800
        drop = int((sec - 14 * 3600) / 1800 * 900) if in_discharge else 0
        soc = 100 - drop // 20
        cells_v = self._lanes(self.v, temp_off // 4 - drop, True)
        current = -5000 if in_discharge else 20
        return StringStatus(
            string_id=f"S{self.no:02d}",
            ups_id=f"U{(self.no - 1) // 4 + 1}",
            index=self.no,
            scan_no=scan_no,
            timestamp=ts,
            health=Health.OK,
            voltage_v=sum(cells_v) / 1000,
            current_a=current / 100 + 0.01 * (scan_no % 3),
            state=ChargeState.DISCHARGE if in_discharge else ChargeState.FLOAT,
            soc_pct=float(soc),
            soh_pct=97.5,
            balance_pct=1.5,
            ambient_c=22.0 + temp_off / 10,
            humidity_pct=45.0,
            hall_ok=True,
            relay_closed=True,
            cell_health=(1,) * self.n,
            cell_faults=(0,) * self.n,
            cell_voltage_mv=cells_v,
            cell_resistance_uohm=self._lanes(self.r, 0, True),
            cell_temperature_dc=self._lanes(self.t, temp_off, True),
            cell_soc_pct=(soc,) * self.n,
            cell_soh_pct=tuple(self.soh),
        )


async def write_days(d: Path, days: int, strings: list[SimulatedString], scan_s: float) -> tuple[object, float]:
    w = HistoryWriter(
        d, policy=RetentionPolicy(min_free_mb=0), commit_interval_s=3600, compact=False, housekeeping_interval_s=1e12
    )
    await w.open()
    per_minute = max(1, round(60 / scan_s))
    scans = int(DAY / scan_s)
    t_start = time.perf_counter()
    for day in range(days):
        for i in range(scans):
            ts = (FIRST_DAY + day) * DAY + i * scan_s
            for s in strings:
                w.submit_string(s.scan(ts, i))
            if (i + 1) % per_minute == 0:
                await w.commit()  # accelerated time: one commit per simulated minute of scans
            if i % (scans // 10) == 0:
                print(
                    f"  day {day + 1}/{days}: {i * 100 // scans:3d} %  ({time.perf_counter() - t_start:.0f} s)",
                    flush=True,
                )
    await w.commit()
    wall = time.perf_counter() - t_start
    stats = w.stats()
    await w.close()  # the last connection to close checkpoints the WAL into the file
    return stats, wall


def clone_year(d: Path, src_day: int, string_no: int) -> None:
    """Fill 365 days of cold files from one compacted day (hourly rows for all, samples for one string)."""
    src = schema.cold_path(d, src_day)
    for n in range(1, 366):
        day = src_day - n
        con = schema.open_for_writing(schema.cold_path(d, day), schema.COLD_DDL)
        con.execute("ATTACH DATABASE ? AS src", (f"file:{src}?mode=ro",))
        con.execute("BEGIN")
        con.execute(
            "INSERT OR REPLACE INTO cell_hour SELECT string_no, cell_no, ?, hourly FROM src.cell_hour WHERE day=?",
            (day, src_day),
        )
        con.execute(
            "INSERT OR REPLACE INTO string_hour SELECT string_no, ?, hourly FROM src.string_hour WHERE day=?",
            (day, src_day),
        )
        con.execute(
            "INSERT OR REPLACE INTO string_day SELECT string_no, ?, scans, cells, samples FROM src.string_day "
            "WHERE day=? AND string_no=?",
            (day, src_day, string_no),
        )
        con.execute(
            "INSERT OR REPLACE INTO cell_day SELECT string_no, cell_no, ?, samples FROM src.cell_day "
            "WHERE day=? AND string_no=?",
            (day, src_day, string_no),
        )
        con.execute("INSERT OR REPLACE INTO compacted VALUES (?, 0)", (day,))
        con.execute("COMMIT")
        con.execute("DETACH DATABASE src")
        con.close()


def timed(fn, repeat: int = 5) -> float:
    """Median seconds of `repeat` calls."""
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return sorted(out)[len(out) // 2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=1, help="simulated days to write (the first is measured)")
    ap.add_argument("--strings", type=int, default=32)
    ap.add_argument("--cells", type=int, default=120)
    ap.add_argument("--scan", type=float, default=10.0, help="scan period, s")
    ap.add_argument("--hot-days", type=int, default=2)
    ap.add_argument("--dir", type=Path, help="work directory (default: a temporary one, deleted)")
    args = ap.parse_args()
    d = args.dir or Path(tempfile.mkdtemp(prefix="btms-bench-storage-"))
    d.mkdir(parents=True, exist_ok=True)
    rng = random.Random(42)
    sims = [SimulatedString(i + 1, args.cells, rng, discharges=i < 4) for i in range(args.strings)]
    cells = args.strings * args.cells
    scans_per_day = int(DAY / args.scan)
    values_per_day = cells * VALUES_PER_CELL * scans_per_day
    print(
        f"storage benchmark: {args.strings} strings x {args.cells} cells, {args.scan:g} s scan, "
        f"{args.days} simulated day(s) in {d}"
    )
    try:
        w0 = io_written()
        st, wall = asyncio.run(write_days(d, args.days, sims, args.scan))
        written_hot = (io_written() - w0) / args.days
        hot_file = schema.hot_path(d, FIRST_DAY)
        hot_bytes = hot_file.stat().st_size
        print(
            f"write: {st.committed} scans in {wall:.1f} s wall ({st.committed / wall:.0f} scans/s), "
            f"{st.commits} commits, commit p99 {st.commit_p99_ms:.1f} ms, queue high water {st.pending_high_water}"
        )

        # ---- queries
        q = HistoryQueries(d)
        s1 = "S01"
        end_of_day = (FIRST_DAY + 1) * DAY
        # hot tier: the day's file as written (snapshot), before it is compacted away
        snap = timed(lambda: q.string_snapshot(s1, end_of_day - 1), 20)
        print(f"string snapshot (hot): {snap * 1e3:.2f} ms")
        hot_day = timed(lambda: q.series("cell", f"{s1}/7", "voltage", FIRST_DAY * DAY, end_of_day, 1000), 3)
        print(f"one cell, one day, hot tier: {hot_day * 1e3:.0f} ms")
        w1 = io_written()
        cpu = time.process_time()
        results = [compact_day(d, FIRST_DAY + n) for n in range(args.days)]
        compaction_cpu = (time.process_time() - cpu) / args.days
        written_cold = (io_written() - w1) / args.days
        cold_bytes = schema.cold_path(d, FIRST_DAY).stat().st_size / args.days
        r0 = results[0]
        print(f"compaction: {compaction_cpu:.1f} s CPU per day, {r0.cold_bytes / 1e6:.1f} MB of blobs per day")

        hot_bpv = hot_bytes / values_per_day
        cold_bpv = cold_bytes / values_per_day
        catalog = schema.catalog_path(d).stat().st_size / args.days  # discharge scans: kept for a year
        year_bytes = 365 * (cold_bytes + catalog) + args.hot_days * hot_bytes
        bpv = year_bytes / (365 * values_per_day)
        written_day = written_hot + written_cold
        print(f"hot tier:  {hot_bytes / 1e6:8.1f} MB/day  {hot_bpv:.3f} bytes/value (kept {args.hot_days} days)")
        print(f"cold tier: {cold_bytes / 1e6:8.1f} MB/day  {cold_bpv:.3f} bytes/value")
        print(f"catalog (discharge scans): {catalog / 1e6:.1f} MB/day")
        print(f"overall:   {bpv:.3f} bytes/value, one year {year_bytes / 2**30:.1f} GiB")
        print(
            f"SSD writes: hot {written_hot / 2**30:.2f} GiB/day + compaction {written_cold / 2**30:.2f} GiB/day"
            f" = {written_day / 2**30:.2f} GiB/day"
        )

        for n in range(args.days):
            shutil.move(schema.hot_path(d, FIRST_DAY + n), d / f"hot-kept-{n}.db")  # reads now go to the cold tier
        cold_day = timed(lambda: q.series("cell", f"{s1}/7", "voltage", FIRST_DAY * DAY, end_of_day, 1000))
        print(f"one cell, one day, cold tier: {cold_day * 1e3:.1f} ms")
        cold_snap = timed(lambda: q.string_snapshot(s1, end_of_day - 1), 5)
        print(f"string snapshot (cold tier): {cold_snap * 1e3:.1f} ms")
        t = time.perf_counter()
        clone_year(d, FIRST_DAY, 1)
        print(f"(cloned the day over 365 cold days in {time.perf_counter() - t:.0f} s)")
        month = timed(lambda: q.series("cell", f"{s1}/7", "voltage", end_of_day - 30 * DAY, end_of_day, 1000), 3)
        print(f"one cell, one month (1000 points, full resolution): {month * 1e3:.0f} ms")
        year = timed(lambda: q.series("cell", f"{s1}/7", "voltage", end_of_day - 365 * DAY, end_of_day, 1000), 5)
        pts = len(q.series("cell", f"{s1}/7", "voltage", end_of_day - 365 * DAY, end_of_day, 1000))
        print(f"one cell, one year ({pts} points from hourly summaries): {year * 1e3:.1f} ms")
        ups_year = timed(lambda: q.series("string", s1, "current", end_of_day - 365 * DAY, end_of_day, 1000), 3)
        print(f"one string's current, one year: {ups_year * 1e3:.1f} ms")

        def csv_day() -> int:
            return sum(len(c) for c in csv_chunks(q, "cells", FIRST_DAY * DAY, end_of_day, string=s1))

        t = time.perf_counter()
        size = csv_day()
        csv_s = time.perf_counter() - t
        print(f"CSV of one string-day ({args.cells} cells x {scans_per_day} scans): {csv_s:.2f} s, {size / 1e6:.0f} MB")
        print(
            json.dumps(
                {
                    "bench": "storage",
                    "bytes_per_value": round(bpv, 3),
                    "year_gib": round(year_bytes / 2**30, 2),
                    "written_gib_per_day": round(written_day / 2**30, 3),
                    "commit_p99_ms": round(st.commit_p99_ms, 1),
                    "cell_year_ms": round(year * 1e3, 1),
                    "snapshot_ms": round(snap * 1e3, 2),
                    "csv_string_day_s": round(csv_s, 2),
                }
            )
        )
    finally:
        if args.dir is None:
            shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
