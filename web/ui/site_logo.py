"""The project's logo: a PNG or JPEG of at most 256 kB in the storage directory.

SVG is refused: it can carry scripts, and the logo is served from the gateway's own origin.
The type is decided by the file's first bytes, never by its name or the browser's claim, and the
logo is served with that type and `nosniff`, so no upload is ever run as something else.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

MAX_LOGO_BYTES = 256 * 1024
TYPES = {".png": "image/png", ".jpg": "image/jpeg"}
_MAGIC = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"))
STEM = "site-logo"


class LogoError(ValueError):
    """An upload that is not stored; the message says why."""


def logo_suffix(data: bytes) -> str:
    """ ".png" or ".jpg" from the first bytes; LogoError for anything else, and for too big a file."""
    if len(data) > MAX_LOGO_BYTES:
        raise LogoError(f"the logo has {len(data) // 1024} kB; at most {MAX_LOGO_BYTES // 1024} kB")
    if not data:
        raise LogoError("the logo file is empty")
    for magic, suffix in _MAGIC:
        if data.startswith(magic):
            return suffix
    if data.lstrip()[:5].lower() in (b"<?xml", b"<svg ") or b"<svg" in data[:1024].lower():
        raise LogoError("SVG logos are refused (an SVG can carry scripts): upload a PNG or JPEG")
    raise LogoError("the logo is neither a PNG nor a JPEG (checked by its content, not its name)")


def logo_file(storage_dir: Path) -> Path | None:
    for suffix in TYPES:
        path = storage_dir / f"{STEM}{suffix}"
        if path.is_file():
            return path
    return None


def save_logo(storage_dir: Path, data: bytes) -> Path:
    """Check and store `data` (atomically: a reader sees the old logo or the new one)."""
    suffix = logo_suffix(data)
    storage_dir.mkdir(parents=True, exist_ok=True)
    target = storage_dir / f"{STEM}{suffix}"
    handle, temporary = tempfile.mkstemp(dir=storage_dir, prefix=".logo-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for other in TYPES:
        if other != suffix:
            (storage_dir / f"{STEM}{other}").unlink(missing_ok=True)
    return target


def delete_logo(storage_dir: Path) -> bool:
    """Remove the logo; False when there was none."""
    found = logo_file(storage_dir)
    if found is None:
        return False
    found.unlink(missing_ok=True)
    return True
