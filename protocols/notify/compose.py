"""Notification texts, batching and retry timing (pure).

Events that arrive within the batching window go out as one message per recipient; several
events read "3 events from <first> to <last>", the wording of the manual's e-mail/SMS logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.alarm_store import format_time
from storage.notification_store import InboxEvent

SMS_MAX_CHARS = 160  # one text-mode SMS in the GSM 7-bit alphabet

# Characters that are the same in ASCII and the GSM 03.38 default alphabet; everything else is
# replaced so that text mode never sends a character the phone shows as something else.
_GSM_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,:;!?'\"()+-*/=<>%&#\n")
_REPLACE = {"°": " deg ", "µ": "u", "Ω": "Ohm", "€": "EUR", "_": "-", "@": "(at)", "$": "USD"}


@dataclass(frozen=True)
class Composed:
    alarm_label: str  # the log's "Alarm" column: a title or "3 events from … to …"
    subject: str
    body: str
    sms_text: str
    ups_id: str | None  # filled when every event is of the same UPS (string, cell)
    string_id: str | None
    cell_index: int | None


def _where(e: InboxEvent) -> str:
    parts = []
    if e.ups_id:
        parts.append(f"UPS {e.ups_id}")
    if e.string_id:
        parts.append(f"string {e.string_id}")
    if e.cell_index:
        parts.append(f"cell #{e.cell_index:03d}")
    return ", ".join(parts) or "site"


def _line(e: InboxEvent) -> str:
    state = "active" if e.event == "raised" else "gone"
    return f"{format_time(e.time)}  {e.title} ({state}) - {_where(e)}"


def _common(values: Sequence[object]) -> object | None:
    return values[0] if values and all(v == values[0] for v in values) else None


def compose(events: Sequence[InboxEvent], site_name: str = "") -> Composed:
    if not events:
        raise ValueError("compose: no events to notify about")
    events = sorted(events, key=lambda e: (e.time, e.id))
    site = f"{site_name}: " if site_name else ""
    if len(events) == 1:
        e = events[0]
        label = e.title if e.event == "raised" else f"{e.title} gone"
        subject = f"{site}{label} - {_where(e)}"
    else:
        label = f"{len(events)} events from {format_time(events[0].time)} to {format_time(events[-1].time)}"
        subject = f"{site}{label}"
    lines = [_line(e) for e in events]
    body = "\n".join([f"{site}battery monitoring alarm events:", "", *lines, ""])
    sms_text = to_gsm_text(f"{site}{label}: " + "; ".join(f"{e.title} {_where(e)}" for e in events))
    return Composed(
        alarm_label=label,
        subject=subject,
        body=body,
        sms_text=sms_text,
        ups_id=_common([e.ups_id for e in events]),  # type: ignore[arg-type]
        string_id=_common([e.string_id for e in events]),  # type: ignore[arg-type]
        cell_index=_common([e.cell_index for e in events]),  # type: ignore[arg-type]
    )


def to_gsm_text(text: str, limit: int = SMS_MAX_CHARS) -> str:
    """Text-mode safe (see _GSM_SAFE), cut to one SMS with "..." when longer."""
    out = "".join(c if c in _GSM_SAFE else _REPLACE.get(c, "?") for c in text)
    if len(out) > limit:
        out = out[: limit - 3] + "..."
    return out


def retry_delay_s(attempts: int, first_s: float, max_s: float) -> float:
    """Exponential back-off: first, 2×first, 4×first ... capped at max (attempts >= 1)."""
    if attempts < 1:
        raise ValueError(f"retry_delay_s: attempts must be >= 1, got {attempts}")
    return min(max_s, first_s * (2 ** min(attempts - 1, 30)))


def contact_label(user: str, contact: str) -> str:
    """The log's Contact column: "The Main Admin User / razvoj@…"."""
    return f"{user} / {contact}"
