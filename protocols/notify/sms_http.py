"""Sending an SMS through an HTTP SMS gateway: one JSON POST per message.

Providers differ; the common denominator is a URL, a bearer token and two field names, all in
the SMS settings. The request runs in a worker thread (urllib) so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request


class SmsHttpError(Exception):
    """The gateway did not accept the message; str() is the text for the SMS log."""


def _post(url: str, payload: bytes, headers: dict[str, str], timeout_s: float) -> int:
    req = urllib.request.Request(url, data=payload, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        detail = e.read(200).decode("utf-8", "replace").strip()
        raise SmsHttpError(f"HTTP {e.code} {e.reason}" + (f": {detail}" if detail else "")) from e
    except urllib.error.URLError as e:
        raise SmsHttpError(str(e.reason)) from e
    except (OSError, ValueError) as e:  # timeouts, resets; a malformed URL
        raise SmsHttpError(f"{type(e).__name__}: {e}") from e


async def send_sms_http(
    *,
    url: str,
    number: str,
    text: str,
    token: str = "",
    to_field: str = "to",
    text_field: str = "text",
    timeout_s: float = 10.0,
) -> None:
    if not url:
        raise SmsHttpError("SMS gateway not configured")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = json.dumps({to_field: number, text_field: text}).encode()
    status = await asyncio.to_thread(_post, url, payload, headers, timeout_s)
    if not 200 <= status < 300:
        raise SmsHttpError(f"HTTP {status}")
