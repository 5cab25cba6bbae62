"""The Notifier: e-mail and SMS for alarm events, batched, logged, retried, restart-safe.

It subscribes to the gateway's alarm notices (topic ALARMS: no SiteUpdate of every cell each
scan) and acts on AlarmNotice "raised"/"cleared"; "active" (a state sync after a restart or a
resubscription), "acknowledged" and "closed" notify nobody. Each event is first
written to the batching inbox in settings.db; when a channel's window closes, its events become
one queued message per recipient; the queue is worked with exponential back-off until
`retry_for_s` has passed. Inbox and queue are tables, so a restart loses nothing: it resumes
where it stopped. Every attempt (and the settings pages' test sends) goes to the attempt log.

Nothing one message does may stop notification: a failed send of any cause is a logged failed
attempt, a failed step of the worker is retried, a failed input is logged and skipped. An event
the inbox cannot take (the disk is full, the file locked) is held in memory, in order and
bounded (`MAX_HELD`), and put into the inbox at the next step that can: it is notified late,
never lost.

`NotificationService` is the asyncio engine and is tested without actors; `Notifier` is the thin
protocol actor around it (actor thread -> loop: `in_loop`; loop -> actors: `post_command`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import structlog

from actors.base.init_gate import InitGate
from actors.base.protocol_actor import ProtocolActor, SendTo
from actors.messages.address import Address
from actors.messages.down import InitNotifier, ReloadNotificationSettings, SendTestNotification
from actors.messages.service import ALARMS, NotificationTestResult, Subscribe
from actors.messages.up import SiteUpdate
from battery.alarms.records import AlarmNotice
from protocols.notify.compose import (
    InboxEvent,
    compose,
    contact_label,
    retry_delay_s,
    to_gsm_text,
)
from protocols.notify.gsm_modem import ModemError, send_sms_via_modem
from protocols.notify.sms_http import SmsHttpError, send_sms_http
from protocols.notify.smtp_mailer import MailError, send_mail
from storage.notification_settings import CHANNELS, NotificationSettings, channel_enabled
from storage.notification_store import (
    NotificationStore,
    QueuedMessage,
    Recipient,
)

_NOT_CONFIGURED = ("SMTP server not configured", "SMS not configured")
MAX_HELD = 1_000  # events held in memory while the inbox refuses them (the oldest go first)
_log = structlog.get_logger("gateway.notifier")


class DeliveryError(Exception):
    """A send failed; `permanent` means retrying cannot help (nothing is configured)."""

    def __init__(self, text: str, permanent: bool = False) -> None:
        super().__init__(text)
        self.permanent = permanent


class NotificationService:
    def __init__(self, store: NotificationStore, site_name: str = "", clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._site_name = site_name
        self._clock = clock
        self._wake = asyncio.Event()
        self._modem_lock = asyncio.Lock()
        self.settings = NotificationSettings()
        self._switches: dict[tuple[str, str], tuple[bool, bool]] = {}
        self.loaded = False  # settings read once: until then nothing is sent (defaults say "not configured")
        self._held: deque[tuple[InboxEvent, float]] = deque()  # (event, received at) the inbox refused
        self._holding_since: float | None = None
        self._releasing = asyncio.Lock()

    async def reload(self) -> None:
        """Read settings and switches; bad stored values raise ValueError and keep the previous ones."""
        self.settings = await self._store.load_settings()
        self._switches = await self._store.switches()
        self.loaded = True
        self._wake.set()

    # -- events in --------------------------------------------------------------------------

    def _channel_on(self, channel: str) -> bool:
        return channel == "email" or self.settings.sms.method != "off"

    async def on_notice(self, n: AlarmNotice) -> int:
        """Put a raise/clear into each enabled channel's window; returns how many were queued.

        Other events notify nobody: "active" only re-states an alarm someone was told about when
        it was raised, "acknowledged" is an operator's own action, "closed" happened while down."""
        if n.event not in ("raised", "cleared"):
            return 0
        now = self._clock()
        added = 0
        for channel in CHANNELS:
            if not self._channel_on(channel) or not channel_enabled(self._switches, n.string_id, n.kind, channel):
                continue
            when = n.from_time if n.event == "raised" else (n.to_time or now)
            self._hold(
                InboxEvent(
                    0, channel, when, n.event, n.alarm_id, n.title, n.ups_id, n.string_id, n.cell_index, n.value
                ),
                now,
            )
            added += 1
        if added:
            await self._release_held()
            self._wake.set()
        return added

    def _hold(self, event: InboxEvent, received_at: float) -> None:
        self._held.append((event, received_at))
        if len(self._held) > MAX_HELD:
            lost, _ = self._held.popleft()
            _log.error(
                "notification event dropped: the inbox has refused events for too long",
                held=MAX_HELD,
                alarm_id=lost.alarm_id,
                channel=lost.channel,
                title=lost.title,
            )

    async def _release_held(self) -> None:
        """Put held events into the inbox, oldest first; stop at the first one the store refuses.

        One caller at a time (an event arriving and the worker's step): each event goes in once."""
        async with self._releasing:
            while self._held:
                event, received_at = self._held[0]
                try:
                    await self._store.add_to_inbox(event, received_at=received_at)
                except (sqlite3.Error, OSError) as error:
                    if self._holding_since is None:
                        self._holding_since = time.monotonic()
                        _log.error(
                            "notification events held in memory: settings.db refused them; they are "
                            "notified when it takes them",
                            held=len(self._held),
                            error=f"{type(error).__name__}: {error}",
                        )
                    return
                self._held.popleft()
        if self._holding_since is not None:
            _log.warning("held notification events stored", after_s=round(time.monotonic() - self._holding_since, 1))
            self._holding_since = None

    # -- the worker -------------------------------------------------------------------------

    async def run(self) -> None:
        """Flush closed windows, send due messages, sleep until the next deadline or event.

        Ends only when cancelled: a step that fails (the store: a full disk, a locked file) is
        logged and tried again after `retry_first_s`.
        """
        while True:
            self._wake.clear()
            try:
                await self.step()
                deadline = await self._next_deadline()
            except Exception:  # noqa: BLE001 - logged with its cause; stopping here would end all notification
                _log.error("notification step failed; retried later", exc_info=True)
                deadline = self._clock() + self.settings.retry_first_s
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    async def step(self) -> None:
        await self._release_held()
        now = self._clock()
        for channel in CHANNELS:
            await self._flush_inbox(channel, now)
        due = await self._store.queued(due_before=now)
        by_channel = [[m for m in due if m.channel == c] for c in CHANNELS]
        await asyncio.gather(*(self._send_all(ms) for ms in by_channel if ms))

    async def _next_deadline(self) -> float | None:
        times = [self._clock() + self.settings.retry_first_s] if self._held else []
        for channel in CHANNELS:
            inbox = await self._store.inbox(channel)
            if inbox:
                times.append(min(r for _, r in inbox) + self.settings.batch_window_s)
        queued = await self._store.queued()
        if queued:
            times.append(queued[0].next_attempt_at)
        return min(times) if times else None

    async def _flush_inbox(self, channel: str, now: float) -> None:
        inbox = await self._store.inbox(channel)
        if not inbox or min(r for _, r in inbox) + self.settings.batch_window_s > now:
            return
        events = [e for e, _ in inbox]
        c = compose(events, self._site_name)
        recipients = await self._store.recipients(channel)
        messages = [
            QueuedMessage(
                id=0,
                channel=channel,
                recipient=r.name,
                contact=r.contact(channel),
                alarm_label=c.alarm_label,
                subject=c.subject,
                body=c.body if channel == "email" else c.sms_text,
                ups_id=c.ups_id,
                string_id=c.string_id,
                cell_index=c.cell_index,
                created_at=now,
                next_attempt_at=now,
                attempts=0,
            )
            for r in recipients
        ]
        await self._store.move_to_queue([e.id for e in events], messages)

    async def _send_all(self, messages: list[QueuedMessage]) -> None:
        for m in messages:
            await self._attempt(m)

    async def _attempt(self, m: QueuedMessage) -> None:
        now = self._clock()
        attempts = m.attempts + 1
        try:
            await self._deliver(m.channel, m.contact, m.subject, m.body)
        except DeliveryError as e:
            await self._store.log_attempt(
                m.channel,
                alarm=m.alarm_label,
                time=now,
                contact=contact_label(m.recipient, m.contact),
                ok=False,
                error=str(e),
                ups_id=m.ups_id,
                string_id=m.string_id,
                cell_index=m.cell_index,
            )
            s = self.settings
            next_at = self._clock() + retry_delay_s(attempts, s.retry_first_s, s.retry_max_s)
            if e.permanent or next_at > m.created_at + s.retry_for_s:
                await self._store.remove(m.id)
            else:
                await self._store.reschedule(m.id, next_at, attempts)
            return
        await self._store.log_attempt(
            m.channel,
            alarm=m.alarm_label,
            time=now,
            contact=contact_label(m.recipient, m.contact),
            ok=True,
            error="",
            ups_id=m.ups_id,
            string_id=m.string_id,
            cell_index=m.cell_index,
        )
        await self._store.remove(m.id)

    async def _deliver(self, channel: str, contact: str, subject: str, body: str) -> None:
        """Send one message; every failure, expected or not, is a DeliveryError with its text."""
        try:
            await self._send(channel, contact, subject, body)
        except DeliveryError:
            raise
        except Exception as e:  # a bug in a sender: logged with its traceback, a failed attempt
            _log.error("notification send failed unexpectedly", channel=channel, contact=contact, exc_info=True)
            raise DeliveryError(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__) from e

    async def _send(self, channel: str, contact: str, subject: str, body: str) -> None:
        if channel == "email":
            s = self.settings.smtp
            if not s.configured:
                raise DeliveryError("SMTP server not configured", permanent=True)
            try:
                await send_mail(
                    host=s.host,
                    port=s.port,
                    sender=s.sender,
                    to=[contact],
                    subject=subject,
                    body=body,
                    security=s.security,
                    username=s.username,
                    password=s.password,
                    timeout_s=s.timeout_s,
                    ca_file=s.ca_file,
                )
            except MailError as e:
                raise DeliveryError(str(e)) from e
            return
        sms = self.settings.sms
        if not sms.configured:
            raise DeliveryError("SMS not configured", permanent=True)
        text = to_gsm_text(body)
        try:
            if sms.method == "modem":
                async with self._modem_lock:  # one user of the serial port at a time
                    await send_sms_via_modem(
                        port=sms.modem_port,
                        number=contact,
                        text=text,
                        baudrate=sms.modem_baudrate,
                        pin=sms.modem_pin,
                        timeout_s=sms.modem_timeout_s,
                    )
            else:
                await send_sms_http(
                    url=sms.http_url,
                    number=contact,
                    text=text,
                    token=sms.http_token,
                    to_field=sms.http_to_field,
                    text_field=sms.http_text_field,
                    timeout_s=sms.http_timeout_s,
                )
        except (ModemError, SmsHttpError) as e:
            raise DeliveryError(str(e)) from e

    # -- the settings pages' test buttons ---------------------------------------------------

    async def send_test(self, channel: str, contact: str) -> tuple[bool, str]:
        """Send a test message now (no batching, no retry) and log the attempt."""
        if channel not in CHANNELS:
            return False, f"unknown channel {channel!r}"
        try:  # the settings as saved this moment: a test right after a change must prove the change
            await self.reload()
        except ValueError as error:
            return False, f"stored notification settings not usable: {error}"
        site = f"{self._site_name}: " if self._site_name else ""
        label = "Test e-mail" if channel == "email" else "Test SMS"
        text = f"{site}test message from the battery monitoring gateway"
        try:
            await self._deliver(channel, contact, f"{site}{label}", text)
            ok, error = True, ""
        except DeliveryError as e:
            ok, error = False, str(e)
        await self._store.log_attempt(channel, alarm=label, time=self._clock(), contact=contact, ok=ok, error=error)
        return ok, error

    async def recipients(self, channel: str) -> list[Recipient]:
        return await self._store.recipients(channel)


class Notifier(InitGate, ProtocolActor):
    """Protocol actor around NotificationService. Leaf: creates no actors.

    Messages before InitNotifier are held and replayed after it (InitGate)."""

    init_message = InitNotifier

    def __init__(self, capabilities=None, *args, **kwargs):
        super().__init__(capabilities, *args, **kwargs)
        self._inputs: asyncio.Queue | None = None

    def receiveMsg_InitNotifier(self, message: InitNotifier, sender: Address):
        if self._inputs is None:
            self.gateway = sender
            self._inputs = asyncio.Queue()
            inputs = self._inputs

            async def main() -> None:
                store = await NotificationStore.open(message.settings_db)
                service = NotificationService(store, message.site_name)
                worker: asyncio.Task | None = None
                try:
                    await self._handle_logged(service, ReloadNotificationSettings())  # settings before any send
                    while True:
                        # Not before the settings are read (defaults fail every send for good); again
                        # should the worker ever have ended (_report_stopped_worker logged why).
                        if service.loaded and (worker is None or worker.done()):
                            worker = asyncio.create_task(service.run())
                            worker.add_done_callback(_report_stopped_worker)
                        await self._handle_logged(service, await inputs.get())
                finally:
                    if worker is not None:
                        worker.cancel()
                    await store.close()

            self.start_loop(main)
            self.send(sender, Subscribe(self.myAddress, frozenset({ALARMS})))
        return self.watch()

    async def _handle_logged(self, service: NotificationService, item: Any) -> None:
        """One input that fails (bad stored settings, a store error) is logged and skipped."""
        try:
            await self._handle(service, item)
        except Exception:  # noqa: BLE001 - logged with the item and its cause; the loop must outlive it
            _log.error("notifier input not handled", item=repr(item), exc_info=True)

    async def _handle(self, service: NotificationService, item: Any) -> None:
        if isinstance(item, AlarmNotice):
            await service.on_notice(item)
        elif isinstance(item, ReloadNotificationSettings):
            await service.reload()
        elif isinstance(item, tuple):  # (SendTestNotification, reply-to)
            request, reply_to = item

            async def test() -> None:
                try:
                    ok, error = await service.send_test(request.channel, request.contact)
                except Exception as e:  # noqa: BLE001 - the attempt log could not be written: still answer the page
                    _log.error("test notification not logged", request=repr(request), exc_info=True)
                    ok, error = False, f"{type(e).__name__}: {e}"
                self.post_command(
                    SendTo(
                        reply_to,
                        NotificationTestResult(request.request_id, request.channel, request.contact, ok, error),
                    )
                )

            asyncio.get_running_loop().create_task(test())

    def _enqueue(self, item: Any) -> None:
        self.in_loop(self._inputs.put_nowait, item)

    def receiveMsg_AlarmNotice(self, message: AlarmNotice, sender: Address):
        self._enqueue(message)
        return self.watch()

    def receiveMsg_ReloadNotificationSettings(self, message: ReloadNotificationSettings, sender: Address):
        self._enqueue(message)
        return self.watch()

    def receiveMsg_SendTestNotification(self, message: SendTestNotification, sender: Address):
        self._enqueue((message, sender))
        return self.watch()

    def receiveMsg_SiteUpdate(self, message: SiteUpdate, sender: Address):
        """Not subscribed to (topic ALARMS only); one may still arrive from an older gateway: ignored."""
        return self.watch()

    def receiveUnrecognizedMessage(self, message: Any, sender: Address):
        """Anything else the gateway fans out: not needed here."""
        return self.watch()


def _report_stopped_worker(worker: asyncio.Task) -> None:
    """run() ends only when cancelled; should it ever end otherwise, say so loudly."""
    if not worker.cancelled() and worker.exception() is not None:
        _log.error("notification worker stopped", exc_info=worker.exception())
