"""Durability on real files: kill -9 under load, and a long reader next to the writer."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from storage.history import schema
from storage.history.reader import HistoryQueries
from storage.history.retention import RetentionPolicy
from storage.history.writer import HistoryWriter
from tests.factories import T0, make_status
from tests.support import REPO as ROOT

# The child writes 4 strings x 120 cells as fast as it can with a 0.2 s commit interval, and
# after every flush prints the newest timestamp that is now committed.
CHILD = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from storage.history.writer import HistoryWriter
    from storage.history.retention import RetentionPolicy
    from tests.factories import T0, make_status

    async def main():
        w = HistoryWriter(Path(sys.argv[1]), policy=RetentionPolicy(min_free_mb=0), commit_interval_s=0.2,
                          housekeeping_interval_s=1e9, compact=False)
        await w.open()
        i = 0
        while True:
            for _ in range(50):
                ts = T0 + i * 10
                for s in range(1, 5):
                    w.submit_string(make_status(f"S{s}", s, ts, cells=120))
                i += 1
                await asyncio.sleep(0)
            await w.flush()
            print(f"committed {ts}", flush=True)

    asyncio.run(main())
""")


@pytest.mark.integration
def test_kill_9_while_writing_keeps_every_commit_and_a_clean_database(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    try:
        last_acked = None
        deadline = time.monotonic() + 40
        acks = 0
        while acks < 15 and time.monotonic() < deadline:
            line = child.stdout.readline()  # type: ignore[union-attr]
            assert line, "the writer child died before being killed"
            if not line.startswith("committed "):  # a log line of the writer's
                continue
            last_acked = float(line.split()[1])
            acks += 1
        assert acks == 15, "the writer child did not commit 15 times within 40 s"
        os.kill(child.pid, signal.SIGKILL)  # in the middle of writing: it never stops between flushes
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert last_acked is not None
    files = sorted(schema.history_dir(tmp_path).glob("*.db"))
    assert files
    for f in files:
        con = sqlite3.connect(f)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f.name
        con.close()
    con = sqlite3.connect(schema.hot_path(tmp_path, schema.day_of(T0)))
    acked_scans = int((last_acked - T0) / 10) + 1
    rows = con.execute("SELECT count(*) FROM string_scan WHERE ts_ms <= ?", (int(last_acked * 1000),)).fetchone()[0]
    con.close()
    assert rows == 4 * acked_scans  # everything acknowledged as committed is there
    snap = HistoryQueries(tmp_path).string_snapshot("S3", last_acked)
    assert snap is not None and snap["timestamp"] == last_acked and len(snap["cells"]) == 120


@pytest.mark.integration
def test_long_reader_does_not_stall_the_writer_and_wal_stays_bounded(tmp_path: Path) -> None:
    async def main() -> None:
        w = HistoryWriter(
            tmp_path,
            policy=RetentionPolicy(min_free_mb=0),
            commit_interval_s=3600,
            housekeeping_interval_s=1e9,
            compact=False,
        )
        await w.open()
        w.submit_string(make_status(ts=T0, cells=120))
        await w.flush()
        hot = schema.hot_path(tmp_path, schema.day_of(T0))
        wal = Path(f"{hot}-wal")
        reader = sqlite3.connect(f"file:{hot}?mode=ro", uri=True)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM string_scan").fetchone()[0] == 1  # snapshot now held
        for minute in range(60):  # an hour of a 32-string site at a 10 s scan, one commit per minute
            for k in range(6):
                for s in range(1, 33):
                    w.submit_string(make_status(f"S{s}", s, T0 + 60 + minute * 60 + k * 10, cells=120))
            await w.commit()
        await w.housekeeping()  # TRUNCATE checkpoint gives up quickly: the reader still holds the WAL
        held_wal = wal.stat().st_size
        stats = w.stats()
        assert stats.commits >= 61 and stats.commit_p99_ms < 1000  # never waited on the reader
        assert reader.execute("SELECT count(*) FROM string_scan").fetchone()[0] == 1  # its snapshot is stable
        assert 0 < held_wal < 100 * 2**20
        reader.execute("COMMIT")
        reader.close()
        await w.housekeeping()
        assert wal.stat().st_size == 0  # truncated once the reader let go
        await w.close()
        con = sqlite3.connect(hot)
        assert con.execute("SELECT count(*) FROM string_scan").fetchone()[0] == 1 + 60 * 6 * 32
        con.close()

    asyncio.run(main())
