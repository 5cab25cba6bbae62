"""Parts of the alarm benchmark that drive a real `btms run` tree (bench/alarms.py --tree).

Why a separate file: bench/alarms.py keeps the in-process measurement readable; here are the
pieces that talk to a running gateway from the outside, the way an installer would see it:
- the site (32 strings x 120 cells on sim://) with a BM-LC disconnect output and easy alarm
  limits on each string we break;
- settings.db prepared before start-up: SMTP server, one user with an e-mail address, the
  e-mail switch of "cell voltage high" on each broken string, the batching window;
- a local SMTP server that notes when each message's DATA arrives;
- readers of the evidence the gateway leaves: the alarms and alarm_actions tables of
  settings.db, and the "output written" events of <storage>/log/gateway.jsonl.

All times are UNIX seconds (time.time()): the alarm's from_time is the start of the scan at
which the on-delay elapsed, stamped by the FieldBus actor with time.time() on this machine.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import psutil

from bench.bench_site import IO_MODULE, IO_MODULE_ADDRESS, write_site
from storage.notification_settings import NotificationSettings, SmtpSettings
from storage.notification_store import NotificationStore
from storage.settings_db import open_settings, settings_path

SIREN_OUTPUT = 8
ALARM_KIND = "cell_voltage_high"
RECIPIENT = ("bench", "bench@example.com")


@dataclass(frozen=True)
class FaultSite:
    """One cell we break, its string and the BM-LC output that disconnects that string."""

    string_id: str
    cell: int  # 1-based, as on the string and in the UI
    output: int  # relay output 1..7 of IO_MODULE (8 is the siren)


def fault_sites(strings: int, cells: int, count: int) -> tuple[FaultSite, ...]:
    """`count` different strings spread over the site, each with a different cell."""
    if not 1 <= count <= 7:
        raise ValueError(f"fault sites: 1..7 (one BM-LC has 7 outputs left beside the siren), got {count}")
    if count > strings:
        raise ValueError(f"fault sites: {count} strings asked for but the site has only {strings}")
    picked = []
    for k in range(count):
        index = 1 + (k * strings + strings // 2) // count  # 32 strings, 3 sites: S06, S17, S27
        index = min(strings, index)
        cell = 1 + (k * 53 + cells // 7) % cells
        picked.append(FaultSite(f"S{index:02d}", cell, k + 1))
    if len({s.string_id for s in picked}) != count:
        raise ValueError(f"fault sites: could not spread {count} sites over {strings} strings")
    return tuple(picked)


def tree_topology(
    tmp: Path,
    strings: int,
    cells: int,
    sites: Sequence[FaultSite],
    *,
    high_limit_v: float,
    on_delay_s: float,
    scan_period_s: float = 1.0,
) -> tuple[Path, dict]:
    """bench/scale.py's site (every service on), plus a disconnect output and easy limits per site."""
    outputs = [
        {"module": IO_MODULE, "output": s.output, "function": "disconnect", "string": s.string_id} for s in sites
    ]
    outputs.append({"module": IO_MODULE, "output": SIREN_OUTPUT, "function": "siren"})
    overrides = {s.string_id: {"cell_voltage_high_v": high_limit_v, "alarm_on_delay_s": on_delay_s} for s in sites}
    return write_site(
        tmp, strings, cells, name="Alarm benchmark", outputs=outputs, overrides=overrides, scan_period_s=scan_period_s
    )


def prepare_notifications(storage_dir: Path, smtp_port: int, window_s: float, sites: Sequence[FaultSite]) -> None:
    """Before start-up: SMTP on 127.0.0.1 (plain, no auth), one recipient, e-mail on for each site."""
    with open_settings(storage_dir) as db:  # the users table with the web code's schema
        db.execute("INSERT INTO users (name, email, role) VALUES (?, ?, 'operator')", RECIPIENT)
        db.commit()

    async def write() -> None:
        store = await NotificationStore.open(settings_path(storage_dir))
        try:
            await store.save_settings(
                NotificationSettings(
                    smtp=SmtpSettings(
                        host="127.0.0.1", port=smtp_port, sender="gateway@example.com", security="none", timeout_s=5.0
                    ),
                    batch_window_s=window_s,
                )
            )
            for site in sites:
                await store.set_switch(site.string_id, ALARM_KIND, email=True, sms=False)
        finally:
            await store.close()

    asyncio.run(write())


@dataclass(frozen=True)
class Mail:
    received_at: float  # time.time() when the server got the DATA
    subject: str
    body: str


class MailSink:
    """aiosmtpd handler: every message's arrival time and text, for matching to an alarm."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mails: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        at = time.time()
        message = message_from_bytes(envelope.original_content or envelope.content)
        payload = message.get_payload(decode=True)
        body = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(message.get_payload())
        with self._lock:
            self._mails.append(Mail(at, str(message.get("Subject", "")), body))
        return "250 OK"

    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)


def mentions_raise(mail: Mail, site: FaultSite) -> bool:
    """The message tells of this site's alarm being raised (alone or in a batch)."""
    where = f"string {site.string_id}, cell #{site.cell:03d}"
    return any(where in line and "(active)" in line for line in mail.body.splitlines())


@dataclass(frozen=True)
class StoredAlarm:
    id: int
    from_time: float  # start of the scan at which the on-delay elapsed
    seen_at: float  # when this reader first saw the committed row


def poll_alarm(settings_db: Path, site: FaultSite, timeout_s: float, interval_s: float = 0.005) -> StoredAlarm:
    """Read settings.db every `interval_s` until the site's active alarm row is there."""
    deadline = time.monotonic() + timeout_s
    db = sqlite3.connect(settings_db, timeout=1.0)
    try:
        while time.monotonic() < deadline:
            try:
                row = db.execute(
                    "SELECT id, from_time FROM alarms WHERE kind = ? AND string_id = ? AND cell_index = ?"
                    " AND to_time IS NULL",
                    (ALARM_KIND, site.string_id, site.cell),
                ).fetchone()
            except sqlite3.OperationalError as e:  # the gateway has not created its tables yet
                if "no such table" not in str(e):
                    raise
                row = None
            if row is not None:
                return StoredAlarm(int(row[0]), float(row[1]), time.time())
            time.sleep(interval_s)  # the polling period of the measurement
    finally:
        db.close()
    raise TimeoutError(
        f"no {ALARM_KIND} alarm for {site.string_id} cell {site.cell} in {settings_db} within {timeout_s:.0f} s"
    )


def switch_off_logged_at(settings_db: Path, alarm_id: int) -> float | None:
    """The alarm_actions row the AlarmManager writes after handing over the switch-off."""
    with sqlite3.connect(settings_db, timeout=1.0) as db:
        row = db.execute(
            "SELECT time FROM alarm_actions WHERE alarm_id = ? AND action = 'switch off string' ORDER BY id LIMIT 1",
            (alarm_id,),
        ).fetchone()
    return None if row is None else float(row[0])


def iso_to_unix(timestamp: str) -> float:
    """structlog's ISO time ("...Z" or "+00:00") as UNIX seconds (3.11 reads the "Z")."""
    return datetime.fromisoformat(timestamp).timestamp()


def outputs_written(lines: Sequence[str], device: int, output: int, after: float) -> list[float]:
    """Times of successful "output written ... on" events of one relay output, after `after`."""
    found = []
    for line in lines:
        if '"output written"' not in line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line the logger process is still writing
        if event.get("device") == device and event.get("output") == output and event.get("on") is True:
            at = iso_to_unix(event["timestamp"])
            if at >= after:
                found.append(at)
    return found


def wait_output_written(log_file: Path, output: int, after: float, timeout_s: float) -> float:
    """The first "output written" event of IO_MODULE's `output` switched on since `after`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log_file.exists():
            found = outputs_written(log_file.read_text(errors="replace").splitlines(), IO_MODULE_ADDRESS, output, after)
            if found:
                return found[0]
        time.sleep(0.05)  # polling period; the event carries its own timestamp
    raise TimeoutError(
        f"no 'output written' event for output {output} of device {IO_MODULE_ADDRESS} in {log_file} "
        f"within {timeout_s:.0f} s"
    )


def wait_mail(sink: MailSink, accept: Callable[[Mail], bool], timeout_s: float) -> Mail:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for mail in sink.mails():
            if accept(mail):
                return mail
        time.sleep(0.005)  # polling period; the mail carries its own arrival time
    raise TimeoutError(f"no matching e-mail within {timeout_s:.0f} s; received: {[m.subject for m in sink.mails()]}")


def cpu_seconds(pids: set[int]) -> float:
    """User + system CPU of these processes so far (gone ones count 0: compare like with like)."""
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total
