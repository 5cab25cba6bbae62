"""Exports made from the browser: CSV files of a time range in <storage>/exports/, bounded.

The rows are storage/history/export_csv.py's (the same as `btms export`). Bounds: the range at
most MAX_RANGE_DAYS, all exports together at most `cap_bytes` (an export that would pass it
stops, and its partial file is removed), and files are named only by this module, so a name
given back by a browser is accepted only if it is one of them (no path can be smuggled in).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from storage.history.cancel import NEVER, CancelToken
from storage.history.export_csv import Kind, csv_chunks
from storage.history.reader import HistoryQueries

FOLDER = "exports"
MAX_RANGE_DAYS = 366
DEFAULT_CAP_BYTES = 2 * 1024**3  # the whole folder; an SD card must keep room for the history itself
NAME = re.compile(
    r"btms-(strings|cells)-[0-9]{8}T[0-9]{4}-[0-9]{8}T[0-9]{4}(-[A-Za-z0-9._-]{1,40})?(-[0-9]{1,3})?\.csv"
)


class ExportError(ValueError):
    """An export that cannot be made or found; the message says what is wrong."""


@dataclass(frozen=True)
class ExportFile:
    name: str
    size: int
    modified: float


def export_dir(storage_dir: Path) -> Path:
    return storage_dir / FOLDER


def list_exports(storage_dir: Path) -> list[ExportFile]:
    """The folder's export files, newest first (anything else in it is not listed)."""
    folder = export_dir(storage_dir)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        if NAME.fullmatch(path.name) and path.is_file():
            stat = path.stat()
            found.append(ExportFile(path.name, stat.st_size, stat.st_mtime))
    return sorted(found, key=lambda f: (-f.modified, f.name))


def export_path(storage_dir: Path, name: str) -> Path:
    """The file of an export by its name; ExportError unless it is an existing export's name."""
    if not NAME.fullmatch(name):
        raise ExportError(f"{name[:80]!r} is not the name of an export")
    path = export_dir(storage_dir) / name
    if not path.is_file():
        raise ExportError(f"no export named {name!r}")
    return path


def delete_export(storage_dir: Path, name: str) -> None:
    export_path(storage_dir, name).unlink()


def check_range(start: dt.datetime, end: dt.datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ExportError("the start and the end need a time zone")
    if not end > start:
        raise ExportError(f"the end ({end.isoformat()}) must be after the start ({start.isoformat()})")
    if end - start > dt.timedelta(days=MAX_RANGE_DAYS):
        raise ExportError(f"at most {MAX_RANGE_DAYS} days in one export; split the range")


def write_export(
    storage_dir: Path,
    kinds: tuple[Kind, ...],
    start: dt.datetime,
    end: dt.datetime,
    ups: str | None = None,
    string: str | None = None,
    cap_bytes: int = DEFAULT_CAP_BYTES,
    progress: Callable[[int, int], None] | None = None,
    cancel: CancelToken = NEVER,
) -> list[Path]:
    """Write one CSV file per kind; ExportError (and no partial file) when the folder would pass
    `cap_bytes`. UnknownItem for an id history does not know. Runs in a worker thread."""
    check_range(start, end)
    folder = export_dir(storage_dir)
    folder.mkdir(parents=True, exist_ok=True)
    queries = HistoryQueries(storage_dir)
    used = sum(f.size for f in list_exports(storage_dir))
    label = f"-{string or ups}" if (string or ups) else ""
    label = re.sub(r"[^A-Za-z0-9._-]", "_", label)[:41]
    stamp = f"{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}{label}"
    written: list[Path] = []
    try:
        for n, kind in enumerate(kinds):
            path = _free_name(folder, f"btms-{kind}-{stamp}")
            written.append(path)

            def report(done: int, total: int, n: int = n) -> None:
                if progress:
                    progress(n * total + done, total * len(kinds))

            with open(path, "w", encoding="utf-8", newline="") as out:
                for chunk in csv_chunks(
                    queries, kind, start.timestamp(), end.timestamp(), ups, string, None, start.tzinfo, report, cancel
                ):
                    used += len(chunk.encode())
                    if used > cap_bytes:
                        raise ExportError(
                            f"exports would pass {cap_bytes // 1024**2} MB: delete older exports or export less"
                        )
                    out.write(chunk)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written


def _free_name(folder: Path, stem: str) -> Path:
    for n in range(1000):
        path = folder / (f"{stem}.csv" if n == 0 else f"{stem}-{n}.csv")
        if not path.exists():
            return path
    raise ExportError("too many exports of the same range: delete some")
