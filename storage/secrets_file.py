"""The secrets file: credentials the gateway needs, in `<storage>/secrets.json`, mode 0600.

settings.db is opened by the CLI, the web server and several actors, copied for support and
backed up with the data; a password stored in it would travel with every copy. Credentials
(the SMTP password, the SMS gateway's token, the SIM's PIN) live here instead, readable by the
gateway's user only; settings.db keeps a reference in their place.

The file is replaced, never rewritten in place: a new file is created with mode 0600 (no
moment with wider permissions), written, flushed to disk, then renamed over the old one, so a
crash leaves the old file or the new one, never half of one. Writers take a lock on the
storage directory, so the CLI and the gateway never lose each other's change.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import structlog

SECRETS_FILE = "secrets.json"
# The uplink's MQTT password (services.uplink.password may leave it out of topology.yaml). Only
# here: unlike the notification credentials it has no reference in settings.db, which the
# uplink does not read.
UPLINK_PASSWORD = "uplink.password"
MODE = 0o600
MAX_BYTES = 1024 * 1024  # a handful of credentials; anything bigger is not our file

_log = structlog.get_logger("gateway.secrets")


class SecretsFileError(ValueError):
    """The secrets file cannot be used; the message names the file and what is wrong (never a value)."""


def secrets_path(storage_dir: Path) -> Path:
    return storage_dir / SECRETS_FILE


def read_secrets(path: Path) -> dict[str, str]:
    """Every secret by name; {} when the file does not exist yet.

    A file others may read is tightened to 0600 and the fact logged: refusing to read it would
    stop the alarm e-mails, which is worse."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise SecretsFileError(f"{path}: cannot open: {error.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretsFileError(f"{path}: not a regular file")
        if info.st_mode & 0o077:
            os.fchmod(fd, MODE)
            _log.warning(
                "secrets file was readable by others; set to 0600", path=str(path), was=oct(stat.S_IMODE(info.st_mode))
            )
        with os.fdopen(os.dup(fd), "rb") as file:
            raw = file.read(MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        raise SecretsFileError(f"{path}: larger than {MAX_BYTES} bytes; not a secrets file")
    try:
        secrets = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError) as error:
        raise SecretsFileError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(secrets, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in secrets.items()):
        raise SecretsFileError(f'{path}: must be one JSON object of names to strings, e.g. {{"smtp.password": "..."}}')
    return secrets


def write_secrets(path: Path, secrets: Mapping[str, str]) -> None:
    """Replace the file atomically with exactly these secrets, mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.unlink()  # left by a crash of this very pid number: O_EXCL below needs it gone
    except FileNotFoundError:
        pass
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, MODE)
    try:
        os.fchmod(fd, MODE)  # the umask could have removed bits from MODE; never added any
        with os.fdopen(fd, "wb") as file:
            file.write(json.dumps(dict(sorted(secrets.items())), indent=2).encode("utf-8") + b"\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


@contextmanager
def _directory_locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def update_secrets(path: Path, changes: Mapping[str, str | None]) -> bool:
    """Set (a string) or remove (None or "") secrets by name; the others stay. True if the file changed."""
    with _directory_locked(path.parent):
        secrets = read_secrets(path)
        updated = dict(secrets)
        for name, value in changes.items():
            if value:
                updated[name] = value
            else:
                updated.pop(name, None)
        if updated == secrets:
            return False
        write_secrets(path, updated)
        return True
