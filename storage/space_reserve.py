"""Room kept on the storage disk for alarms: a pre-allocated file given up when the disk is full.

The history writer, the notifier and the operating system share the storage disk with
settings.db. If they fill it, the alarm store deletes this file ("disk full" from SQLite) and
writes its alarms into the space it frees. The file is made again once there is room for it
twice over, so making it never fills the disk itself.

Its blocks are really allocated (posix_fallocate, or zeros where the file system cannot):
a sparse file would free nothing.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import structlog

_log = structlog.get_logger("gateway.alarms")

RESERVE_FILE = "alarm-reserve.bin"
_CHUNK = 1 << 20


class SpaceReserve:
    def __init__(self, path: Path, size_bytes: int) -> None:
        if size_bytes < 0:
            raise ValueError(f"alarm space reserve {path}: size must be >= 0 bytes, got {size_bytes}")
        self.path = Path(path)
        self.size_bytes = size_bytes

    @property
    def present(self) -> bool:
        return self.size_bytes > 0 and self.path.exists()

    def ensure(self) -> bool:
        """Make the file if it is missing and the disk has room for it twice; True when it is there."""
        if self.size_bytes == 0:
            return False
        if self.path.exists() and self.path.stat().st_size >= self.size_bytes:
            return True
        try:
            if shutil.disk_usage(self.path.parent).free < 2 * self.size_bytes:
                return False
            self._allocate()
        except OSError as error:
            self.path.unlink(missing_ok=True)
            _log.warning("alarm space reserve not made", file=str(self.path), error=str(error))
            return False
        _log.info("alarm space reserve ready", file=str(self.path), mib=round(self.size_bytes / _CHUNK, 1))
        return True

    def _allocate(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            try:
                os.posix_fallocate(fd, 0, self.size_bytes)
            except OSError as error:
                if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                zeros = bytes(_CHUNK)
                written = 0
                while written < self.size_bytes:
                    written += os.write(fd, zeros[: min(_CHUNK, self.size_bytes - written)])
            os.fsync(fd)
        finally:
            os.close(fd)

    def release(self) -> bool:
        """Delete the file to free its space; True when there was one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True
