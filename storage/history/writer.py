"""The one writer of history: batches scans, commits once per interval, keeps the files tidy.

Runs inside one asyncio loop (the Historian's thread, or a benchmark/test process). Scans
are packed when they arrive (`submit_string`, a few microseconds) and kept in a bounded list;
every `commit_interval_s` the list goes to SQLite in one transaction per file. Why batch:
one commit per 10 s scan of 32 strings rewrites the same b-tree pages six times a minute;
one per minute keeps SSD writes near 0.5 GB/day (docs/storage.md). The price is stated: a
crash or power cut loses at most the scans of the last commit interval, never the database
(WAL, synchronous=NORMAL).

Housekeeping (compaction of finished days in a child process, deletion of old files, the
disk-space floor, WAL truncation) runs after commits and never holds up submissions.

Free space is looked at every `space_check_s` whatever the commits do (a commit on a full
disk fails, and the check must not depend on it): under the floor (`min_free_mb`) the oldest
history is deleted and, if that is not enough, "Storage space low" is raised, well before the
disk is full and the commits stop; it clears once free space is back above the floor by
`space_hysteresis_bytes` (a disk hovering at the floor raises it once).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from battery.status import StringStatus
from observability.log import get_logger
from storage.async_sqlite import open_sqlite
from storage.history import retention, schema
from storage.history.discharge import DischargeTracker, Transition, summary_row
from storage.history.disk_alarm import HistoryDiskAlarm
from storage.history.scan_row import pack_scan
from storage.history.writer_stats import WriterStats

log = get_logger("btms.history.writer")

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds `storage/`


@dataclass
class _Pending:
    day: int
    string_no: int
    ts_ms: int
    payload: bytes
    event_id: int | None


class HistoryWriter:
    def __init__(
        self,
        storage_dir: Path,
        *,
        policy: retention.RetentionPolicy | None = None,
        commit_interval_s: float = 60.0,
        max_pending: int = 100_000,
        housekeeping_interval_s: float = 300.0,
        compact: bool = True,
        on_alarm: Callable[[HistoryDiskAlarm], None] | None = None,
        space_check_s: float = 5.0,
    ) -> None:
        """on_alarm is called when the disk-space alarm is raised or cleared."""
        if commit_interval_s <= 0:
            raise ValueError(f"commit_interval_s must be > 0, got {commit_interval_s}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        self.storage_dir = Path(storage_dir)
        self.policy = policy or retention.RetentionPolicy()
        self.commit_interval_s = commit_interval_s
        self.max_pending = max_pending
        self.housekeeping_interval_s = housekeeping_interval_s
        self.compact_enabled = compact
        self.on_alarm = on_alarm
        self.space_check_s = space_check_s
        self._next_space_check = 0.0
        self._pending: list[_Pending] = []
        self._event_rows: list[tuple[str, tuple]] = []  # SQL for discharge_event, in order
        self._strings: dict[str, tuple[int, str]] = {}  # string_id -> (string_no, ups_id)
        self._catalog_dirty: list[tuple[int, str, str, int]] = []
        self._known_cells: dict[int, int] = {}
        self._tracker = DischargeTracker()
        self._hot: dict[int, aiosqlite.Connection] = {}
        self._catalog: aiosqlite.Connection | None = None
        self._commit_ms: deque[float] = deque(maxlen=2000)
        self._received = self._committed = self._dropped = self._commits = 0
        self._high_water = 0
        self._newest_ts = 0.0
        self._compactions = 0
        self._compaction: asyncio.Task | None = None
        self._compacting_day: int | None = None
        self._disk_alarm = False
        self._last_housekeeping = 0.0
        self._wake = asyncio.Event()
        self._flush_waiters: list[asyncio.Future] = []
        self._runner: asyncio.Task | None = None
        self._closing = False
        self._warned_full = False
        self._commit_failing_since: float | None = None

    # ---------------------------------------------------------------- life cycle

    async def open(self) -> None:
        schema.history_dir(self.storage_dir).mkdir(parents=True, exist_ok=True)
        self._catalog = await self._connect(schema.catalog_path(self.storage_dir), schema.CATALOG_DDL)
        async with self._catalog.execute("SELECT string_no, string_id, ups_id, cells FROM string_catalog") as cur:
            async for no, sid, uid, cells in cur:
                self._strings[sid] = (no, uid)
                self._known_cells[no] = cells
        async with self._catalog.execute("SELECT COALESCE(MAX(id), 0) FROM discharge_event") as cur:
            self._tracker.next_id = (await cur.fetchone())[0] + 1
        async with self._catalog.execute("SELECT id, string_no FROM discharge_event WHERE end_ms IS NULL") as cur:
            async for eid, no in cur:
                self._tracker.open_events[no] = eid
        self._runner = asyncio.create_task(self._run(), name="history-writer")

    async def close(self) -> None:
        """Commit what was received, wait for a running compaction, close every file."""
        if self._runner is None:
            return
        await self.flush()
        self._closing = True
        self._wake.set()
        await self._runner
        self._runner = None
        if self._compaction is not None:
            await asyncio.shield(self._compaction)
        for con in self._hot.values():
            await con.close()
        self._hot.clear()
        if self._catalog is not None:
            await self._catalog.close()
            self._catalog = None

    # ---------------------------------------------------------------- input

    def register_string(self, string_id: str, string_no: int, ups_id: str, cells: int) -> None:
        """Name a string number (StringConfig.index) once; the catalog is what readers list."""
        if self._strings.get(string_id) == (string_no, ups_id) and self._known_cells.get(string_no) == cells:
            return
        self._strings[string_id] = (string_no, ups_id)
        self._known_cells[string_no] = cells
        self._catalog_dirty.append((string_no, string_id, ups_id, cells))

    def submit_string(self, status: StringStatus) -> bool:
        """Queue one scan (call on the writer's loop). False when refused: the queue is full."""
        self._received += 1
        if len(self._pending) >= self.max_pending:
            self._dropped += 1
            if not self._warned_full:
                self._warned_full = True
                log.error("history writer behind: dropping new scans", waiting=len(self._pending))
            return False
        if status.string_id not in self._strings:
            self.register_string(status.string_id, status.index, status.ups_id, len(status.cell_voltage_mv))
        string_no = self._strings[status.string_id][0]
        if len(status.cell_voltage_mv) > self._known_cells.get(string_no, 0):
            self.register_string(status.string_id, string_no, status.ups_id, len(status.cell_voltage_mv))
        payload = pack_scan(status)
        ts_ms = round(status.timestamp * 1000)
        t, event_id = self._tracker.on_scan(string_no, int(status.health), status.discharging)
        if t is Transition.START:
            # The detector back-dates the start to the first scan past its threshold.
            start_ms = round((status.discharge_started_at or status.timestamp) * 1000)
            self._event_rows.append(
                (
                    "INSERT INTO discharge_event (id, string_no, string_id, ups_id, start_ms) VALUES (?,?,?,?,?)",
                    (event_id, string_no, status.string_id, status.ups_id, start_ms),
                )
            )
        elif t is Transition.END:
            self._event_rows.append(("UPDATE discharge_event SET end_ms=? WHERE id=?", (ts_ms, event_id)))
            if status.discharge_ended is not None:
                self._event_rows.append(summary_row(event_id, status.discharge_ended))
            event_id = None
        self._pending.append(_Pending(schema.day_of(status.timestamp), string_no, ts_ms, payload, event_id))
        self._high_water = max(self._high_water, len(self._pending))
        self._newest_ts = max(self._newest_ts, status.timestamp)
        return True

    async def flush(self) -> None:
        """Return once everything submitted before this call is committed."""
        if self._runner is None:
            raise RuntimeError("HistoryWriter.flush() before open()")
        fut = asyncio.get_running_loop().create_future()
        self._flush_waiters.append(fut)
        self._wake.set()
        await fut

    def stats(self) -> WriterStats:
        ms = sorted(self._commit_ms)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else 0.0
        return WriterStats(
            received=self._received,
            committed=self._committed,
            dropped=self._dropped,
            pending=len(self._pending),
            pending_high_water=self._high_water,
            max_pending=self.max_pending,
            commits=self._commits,
            commit_p99_ms=p99,
            last_commit_ms=ms and self._commit_ms[-1] or 0.0,
            compactions=self._compactions,
            compaction_running=self._compaction is not None and not self._compaction.done(),
            disk_alarm=self._disk_alarm,
        )

    # ---------------------------------------------------------------- the loop

    async def _run(self) -> None:
        commit_at = time.monotonic() + self.commit_interval_s
        while True:
            woken = True
            try:
                timeout = min(commit_at, self._next_space_check) - time.monotonic()
                await asyncio.wait_for(self._wake.wait(), max(0.0, timeout))
            except TimeoutError:
                woken = False
            now = time.monotonic()
            if now >= self._next_space_check and not self._closing:
                self._next_space_check = now + self.space_check_s
                try:
                    await self.check_space()
                except (aiosqlite.Error, OSError):
                    log.exception("history disk space not checked")
            if not woken and now < commit_at:
                continue
            commit_at = now + self.commit_interval_s
            self._wake.clear()
            waiters, self._flush_waiters = self._flush_waiters, []
            try:
                await self.commit()
                if self._commit_failing_since is not None:
                    log.warning(
                        "history commits resumed", after_s=round(time.monotonic() - self._commit_failing_since, 1)
                    )
                    self._commit_failing_since = None
                if not self._closing:
                    await self._housekeeping_if_due()
            except (aiosqlite.Error, OSError) as e:
                # Keep running: the scans stay pending (bounded) and the next interval retries.
                # Said once per episode (a full disk fails every interval), and once when it ends.
                if self._commit_failing_since is None:
                    self._commit_failing_since = time.monotonic()
                    log.error(
                        "history commit failed; retried every commit interval",
                        error=str(e),
                        pending=len(self._pending),
                        exc_info=True,
                    )
                for w in waiters:
                    if not w.done():
                        w.set_exception(e)
                waiters = []
            for w in waiters:
                if not w.done():
                    w.set_result(None)
            if self._closing:
                return

    async def commit(self) -> int:
        """Write every pending scan now (one transaction per file). Returns how many."""
        batch, self._pending = self._pending, []
        events, self._event_rows = self._event_rows, []
        catalog_rows, self._catalog_dirty = self._catalog_dirty, []
        if not batch and not events and not catalog_rows:
            return 0
        t0 = time.perf_counter()
        try:
            by_day: dict[int, list[tuple[int, int, bytes]]] = {}
            for p in batch:
                by_day.setdefault(p.day, []).append((p.string_no, p.ts_ms, p.payload))
            for day, rows in by_day.items():
                con = await self._hot_connection(day)
                await con.execute("BEGIN")
                await con.executemany("INSERT OR REPLACE INTO string_scan VALUES (?,?,?)", rows)
                await con.commit()
            assert self._catalog is not None
            await self._catalog.execute("BEGIN")
            await self._catalog.executemany("INSERT OR REPLACE INTO string_catalog VALUES (?,?,?,?)", catalog_rows)
            for sql, args in events:
                await self._catalog.execute(sql, args)
            await self._catalog.executemany(
                "INSERT OR REPLACE INTO discharge_scan VALUES (?,?,?)",
                [(p.event_id, p.ts_ms, p.payload) for p in batch if p.event_id is not None],
            )
            await self._catalog.commit()
        except BaseException:
            # Nothing is lost by a failed commit: put the batch back in front (still bounded).
            self._pending = (batch + self._pending)[: max(self.max_pending, len(batch))]
            self._event_rows = events + self._event_rows
            self._catalog_dirty = catalog_rows + self._catalog_dirty
            raise
        ms = (time.perf_counter() - t0) * 1000
        self._commit_ms.append(ms)
        self._commits += 1
        self._committed += len(batch)
        if self._warned_full and len(self._pending) < self.max_pending // 2:
            self._warned_full = False
            log.warning("history writer caught up", dropped_so_far=self._dropped)
        if ms > self.commit_interval_s * 1000 / 2:
            log.warning("history commit slow: the writer is falling behind", commit_ms=round(ms), scans=len(batch))
        return len(batch)

    async def _hot_connection(self, day: int) -> aiosqlite.Connection:
        con = self._hot.get(day)
        if con is None:
            con = await self._connect(schema.hot_path(self.storage_dir, day), schema.HOT_DDL)
            self._hot[day] = con
            # Keep today's and yesterday's file open (late scans); close older ones.
            for old in [d for d in self._hot if d < max(self._hot) - 1]:
                await self._hot.pop(old).close()
        return con

    @staticmethod
    async def _connect(path: Path, ddl: tuple[str, ...]) -> aiosqlite.Connection:
        async def prepare(con: aiosqlite.Connection) -> None:
            for stmt in ddl:
                if stmt.startswith("PRAGMA page_size"):
                    await con.execute(stmt)
            for p in schema.WRITER_PRAGMAS:
                await con.execute(p)
            for stmt in ddl:
                if not stmt.startswith("PRAGMA"):
                    await con.execute(stmt)

        return await open_sqlite(path, prepare, isolation_level=None)

    # ---------------------------------------------------------------- housekeeping

    async def _housekeeping_if_due(self) -> None:
        now = time.monotonic()
        if now - self._last_housekeeping < self.housekeeping_interval_s:
            return
        self._last_housekeeping = now
        await self.housekeeping()

    async def housekeeping(self) -> None:
        """Start due compactions, delete expired files, enforce the free-space floor, trim WALs."""
        if not self._newest_ts:
            return
        today = schema.day_of(self._newest_ts)
        hot_days = schema.hot_days_on_disk(self.storage_dir)
        compacted = self._compacted_days()
        if self.compact_enabled and (self._compaction is None or self._compaction.done()):
            due = retention.days_to_compact(hot_days, compacted, self._newest_ts, self.policy)
            if due:
                self._compacting_day = due[0]
                self._compaction = asyncio.create_task(self._compact(due[0]), name=f"compact-{due[0]}")
        compacting = self._compacting_day if self._compaction and not self._compaction.done() else None
        for day in retention.hot_days_to_delete(hot_days, compacted, today, self.policy):
            if day != compacting:
                await self._delete_hot(day)
        months = [m for m, _ in schema.cold_months_on_disk(self.storage_dir)]
        for month in retention.months_to_delete(months, today, self.policy):
            self._delete_cold(month)
        await self._delete_old_events(today)
        await self.check_space()
        await self._truncate_wals()

    def _compacted_days(self) -> set[int]:
        out: set[int] = set()
        for _, path in schema.cold_months_on_disk(self.storage_dir):
            con = schema.open_read_only(path)
            try:
                out.update(d for (d,) in con.execute("SELECT day FROM compacted"))
            except schema.sqlite3.OperationalError as e:
                log.warning("cannot read history file", file=path.name, error=str(e))
            finally:
                con.close()
        return out

    async def _compact(self, day: int) -> None:
        """Compact one day in a child process (its CPU never holds this loop's GIL)."""
        con = self._hot.pop(day, None)
        if con is not None:
            await con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            await con.close()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")]))
        cmd = [sys.executable, "-m", "storage.history.compactor", str(self.storage_dir), str(day)]
        proc = await asyncio.to_thread(subprocess.run, cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            log.error(
                "compaction failed",
                day=schema.day_name(day),
                exit_code=proc.returncode,
                stderr=proc.stderr.strip()[-2000:],
            )
        else:
            self._compactions += 1
            log.info("compaction output", output=proc.stderr.strip())

    async def _delete_hot(self, day: int) -> None:
        con = self._hot.pop(day, None)
        if con is not None:
            await con.close()
        _unlink_db(schema.hot_path(self.storage_dir, day))
        log.info("deleted hot history", day=schema.day_name(day))

    def _delete_cold(self, month: str) -> None:
        _unlink_db(schema.history_dir(self.storage_dir) / f"cold-{month}.db")
        log.info("deleted history", month=month)

    async def _delete_old_events(self, today: int) -> None:
        assert self._catalog is not None
        first_ms = retention.oldest_kept_day(today, self.policy) * schema.DAY_S * 1000
        await self._catalog.execute("BEGIN")
        for table in ("discharge_scan", "discharge_summary"):
            await self._catalog.execute(
                f"DELETE FROM {table} WHERE event_id IN "
                "(SELECT id FROM discharge_event WHERE start_ms < ? AND end_ms IS NOT NULL)",
                (first_ms,),
            )
        await self._catalog.execute(
            "DELETE FROM discharge_event WHERE start_ms < ? AND end_ms IS NOT NULL", (first_ms,)
        )
        await self._catalog.commit()

    async def check_space(self) -> None:
        """The free-space floor: delete the oldest history under it, then raise or clear the alarm."""
        floor = self.policy.min_free_mb * 1024 * 1024
        hdir = schema.history_dir(self.storage_dir)
        deleted = []
        while self._newest_ts and shutil.disk_usage(hdir).free < floor:
            victim = retention.space_victim(
                schema.hot_days_on_disk(self.storage_dir),
                [m for m, _ in schema.cold_months_on_disk(self.storage_dir)],
                schema.day_of(self._newest_ts),
            )
            if victim is None:
                break
            kind, which = victim
            if kind == "cold":
                self._delete_cold(str(which))
            else:
                await self._delete_hot(int(which))
            deleted.append(f"{kind} {which}")
        free = shutil.disk_usage(hdir).free
        if deleted:
            log.warning(
                "history disk space under the floor: oldest history deleted",
                deleted=", ".join(deleted),
                free_mb=round(free / 2**20, 1),
                floor_mb=self.policy.min_free_mb,
            )
        if not self._disk_alarm and free < floor:
            self._disk_alarm = True
            text = (
                f"history disk: {free / 2**20:.1f} MB free, under the floor of {self.policy.min_free_mb} MB; "
                f"deleted {', '.join(deleted) or 'nothing (nothing old enough left)'}"
            )
            log.error("history disk", text=text)
            self._tell_alarm(text, True, free)
        elif self._disk_alarm and free >= floor + space_hysteresis_bytes(floor):
            self._disk_alarm = False
            self._tell_alarm(f"history disk: {free / 2**20:.1f} MB free, back above the floor", False, free)

    def _tell_alarm(self, text: str, active: bool, free_bytes: int) -> None:
        if self.on_alarm is not None:
            self.on_alarm(HistoryDiskAlarm(text, active, round(free_bytes / 2**20, 1), self.policy.min_free_mb))

    async def _truncate_wals(self) -> None:
        """A long reader stops passive checkpoints; a TRUNCATE with a short wait bounds the WAL."""
        for con in [*self._hot.values(), self._catalog]:
            if con is None:
                continue
            await con.execute("PRAGMA busy_timeout=100")
            try:
                await con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                await con.execute("PRAGMA busy_timeout=5000")


def space_hysteresis_bytes(floor_bytes: int) -> int:
    """How far above the floor free space must be to clear the alarm: 5 %, at least 1 MiB."""
    return max(1 << 20, floor_bytes // 20)


def _unlink_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass
