"""The gateway as a Sparkplug B edge node: outbox in, births, data and deaths out (docs/uplink.md).

Runs in the uplink actor's event loop (actors/site/uplink.py). Everything the recorder makes
goes to the outbox first; a session (protocols/uplink/mqtt_session.py) sends it from there:

1. connect with the NDEATH of a new bdSeq as the last will; subscribe to NCMD (and to the
   primary host's STATE when one is configured);
2. with no primary host at once, with one when its STATE says online: NBIRTH (seq 0), a DBIRTH
   per UPS and string with the latest values;
3. the outbox's records in order as NDATA/DDATA (QoS 1); a record created before this birth
   goes with is_historical set. A record is deleted on its PUBACK, unless the primary host is
   offline by then (it is sent again later: the host may not have it);
4. the primary host going offline, the connection ending or the broker refusing it ends the
   session; the next starts after a back-off. NCMD "Node Control/Rebirth" repeats step 2.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from battery.served_site import LinkState
from protocols.uplink.host_state import HostState, HostWatch
from protocols.uplink.mqtt_session import Acknowledged, Connected, Ended, MqttSession, Received, Refused, Will
from protocols.uplink.naming import (
    ALARM_METRIC,
    DISCHARGE_METRIC,
    string_birth_metrics,
    string_device_id,
    ups_birth_metrics,
    ups_device_id,
)
from protocols.uplink.payload import DataType, Metric, Payload, decode, encode, restamp
from protocols.uplink.recorder import NODE, OutRecord, Recorder
from protocols.uplink.sequence import BDSEQ_METRIC, REBIRTH_METRIC, MessageSequence, next_bdseq
from protocols.uplink.topics import MessageType, Topic, state_topic
from protocols.uplink.uplink_settings import UplinkSettings
from storage.outbox import Dropped, Outbox

# Records published and not yet acknowledged, at most: a replay streams at the rate the
# broker acknowledges, not at one round trip per record.
WINDOW = 100
BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
BDSEQ_COUNTER = "bdseq"
OUTBOX_RECORDS_METRIC = "uplink/outbox_records"
DROPPED_RECORDS_METRIC = "uplink/dropped_records"


@dataclass(frozen=True)
class LinkStatus:
    state: LinkState
    outbox_records: int
    dropped_records: int  # since the outbox was created
    detail: str  # why it is down, or the broker it is connected to


class SessionEnded(Exception):
    pass


class EdgeNode:
    def __init__(
        self,
        settings: UplinkSettings,
        recorder: Recorder,
        outbox: Outbox,
        on_status: Callable[[LinkStatus], None],
        on_overflow: Callable[[bool, Dropped], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.recorder = recorder
        self.outbox = outbox
        self.on_status = on_status
        self.on_overflow = on_overflow
        self.clock = clock
        self.state = LinkState.DOWN
        self.detail = "not connected yet"
        self._dropped = outbox.dropped_total().total
        self._overflowing = False
        self._wake = asyncio.Event()
        self._session: MqttSession | None = None
        self._bdseq = 0

    # -- records in -----------------------------------------------------------------------------

    def store(self, records: list[OutRecord]) -> None:
        dropped = Dropped()
        for r in records:
            payload = encode(Payload(r.created_ms, r.metrics))
            dropped += self.outbox.append(r.priority, r.device, r.created_ms, payload)
        if dropped.total:
            self._dropped += dropped.total
            self._overflowing = True
            self.on_overflow(True, dropped)
        if records:
            self._wake.set()

    def status(self) -> LinkStatus:
        return LinkStatus(self.state, self.outbox.records, self._dropped, self.detail)

    def _set_state(self, state: LinkState, detail: str) -> None:
        self.state, self.detail = state, detail
        self.on_status(self.status())

    # -- sessions -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Sessions one after the other until cancelled."""
        failures = 0
        while True:
            born = False
            try:
                born = await self._one_session()
            except SessionEnded as ended:
                self._set_state(LinkState.DOWN, str(ended))
            failures = 0 if born else failures + 1
            await asyncio.sleep(BACKOFF_S[min(failures, len(BACKOFF_S) - 1)])

    async def _one_session(self) -> bool:
        s = self.settings
        self._bdseq = next_bdseq(self.outbox.counter(BDSEQ_COUNTER))
        self.outbox.set_counter(BDSEQ_COUNTER, self._bdseq)
        session = MqttSession(
            client_id=s.client_id,
            host=s.host,
            port=s.port,
            keepalive_s=s.keepalive_s,
            will=Will(str(self._topic(MessageType.NDEATH)), self._death_payload()),
            tls=s.tls,
            username=s.username,
            password=s.password,
            max_inflight=WINDOW,
        )
        self._session = session
        session.start()
        born = False
        try:
            born = await self._serve(session)
        finally:
            self._session = None
            await session.close()
        return born

    async def _serve(self, session: MqttSession) -> bool:
        s = self.settings
        event = await session.events.get()
        if not isinstance(event, Connected):
            raise SessionEnded(event.reason if isinstance(event, Refused | Ended) else "no CONNACK")
        session.subscribe(str(self._topic(MessageType.NCMD)))
        host = HostWatch()
        if s.primary_host_id is not None:
            session.subscribe(state_topic(s.primary_host_id))
            self._set_state(LinkState.WAITING, f"waiting for primary host {s.primary_host_id} on {s.where}")
        born = False
        seq = MessageSequence()
        birth_ms = 0
        in_flight: dict[int, int] = {}  # mid -> record id
        acknowledged: list[int] = []  # record ids to remove, together once no event waits
        last_sent = 0
        try:
            while True:
                if acknowledged and session.events.empty():
                    self._remove(acknowledged)
                    acknowledged = []
                if born and len(in_flight) < WINDOW:
                    for record in self.outbox.oldest(WINDOW - len(in_flight), after_id=last_sent):
                        mid = self._publish_record(session, record, seq, birth_ms)
                        in_flight[mid] = record.id
                        last_sent = record.id
                if s.primary_host_id is None and not born:
                    birth_ms = self._births(session, seq)
                    born = True
                    self._set_state(LinkState.CONNECTED, s.where)
                    continue
                event = await self._next_event(session)
                if event is None:
                    continue
                if isinstance(event, Acknowledged):
                    if event.refused is not None:  # kept in the outbox: sent again when the broker allows it
                        raise SessionEnded(f"the broker refused a record: {event.refused}")
                    record_id = in_flight.pop(event.mid, None)
                    if record_id is not None and (s.primary_host_id is None or host.online):
                        acknowledged.append(record_id)
                elif isinstance(event, Received):
                    if event.topic == str(self._topic(MessageType.NCMD)):
                        if born and self._asks_rebirth(event.payload):
                            birth_ms = self._births(session, seq)
                    elif s.primary_host_id is not None and event.topic == state_topic(s.primary_host_id):
                        try:
                            changed = host.received(HostState.decode(event.payload))
                        except ValueError:
                            continue  # not a STATE: nothing to act on
                        if changed and host.online and not born:
                            birth_ms = self._births(session, seq)
                            born = True
                            self._set_state(LinkState.CONNECTED, s.where)
                        elif changed and not host.online and born:
                            self._goodbye(session)
                            raise SessionEnded(f"primary host {s.primary_host_id} went offline")
                elif isinstance(event, Ended | Refused):
                    raise SessionEnded(event.reason)
        finally:
            self._remove(acknowledged)  # acknowledged while the host listened: delivered

    async def _next_event(self, session: MqttSession):
        """The session's next event, or None when new records were stored meanwhile."""
        if not session.events.empty():
            return session.events.get_nowait()
        self._wake.clear()
        getter = asyncio.ensure_future(session.events.get())
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            done, _ = await asyncio.wait({getter, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waker.cancel()
            if not getter.done():
                getter.cancel()
        return getter.result() if getter in done and not getter.cancelled() else None

    async def stop(self) -> None:
        """A clean stop: NDEATH (a host then knows the gateway left on purpose), then disconnect."""
        session = self._session
        if session is not None and self.state is LinkState.CONNECTED:
            self._goodbye(session)

    def _goodbye(self, session: MqttSession) -> None:
        session.publish(str(self._topic(MessageType.NDEATH)), self._death_payload(), qos=1)

    # -- messages -------------------------------------------------------------------------------

    def _births(self, session: MqttSession, seq: MessageSequence) -> int:
        now = round(self.clock() * 1000)
        node = (
            Metric(BDSEQ_METRIC, DataType.UINT64, self._bdseq, now),
            Metric(REBIRTH_METRIC, DataType.BOOLEAN, False, now),
            Metric(OUTBOX_RECORDS_METRIC, DataType.UINT64, self.outbox.records, now),
            Metric(DROPPED_RECORDS_METRIC, DataType.UINT64, self._dropped, now),
            Metric(ALARM_METRIC, DataType.STRING, None, now),
            Metric(DISCHARGE_METRIC, DataType.STRING, None, now),
        )
        self._send(session, MessageType.NBIRTH, None, Payload(now, node, seq.birth()), qos=0)
        topology = self.recorder.topology
        for ups in topology.upses:
            metrics = ups_birth_metrics(self.recorder.upses.get(ups.id), now)
            self._send(session, MessageType.DBIRTH, ups_device_id(ups.id), Payload(now, metrics, seq.next()), qos=0)
            for string in ups.strings:
                metrics = string_birth_metrics(string, self.recorder.strings.get(string.id), now)
                device = string_device_id(ups.id, string.id)
                self._send(session, MessageType.DBIRTH, device, Payload(now, metrics, seq.next()), qos=0)
        self.recorder.births_sent()
        return now

    def _publish_record(self, session: MqttSession, record, seq: MessageSequence, birth_ms: int) -> int:
        payload = restamp(record.payload, seq.next(), historical=record.created_ms < birth_ms)
        kind, device = (MessageType.NDATA, None) if record.device == NODE else (MessageType.DDATA, record.device)
        mid = session.publish(str(self._topic(kind, device)), payload, qos=1)
        if mid is None:
            raise SessionEnded("the connection did not take a message")
        return mid

    def _send(self, session: MqttSession, kind: MessageType, device: str | None, payload: Payload, qos: int):
        return session.publish(str(self._topic(kind, device)), encode(payload), qos)

    def _topic(self, kind: MessageType, device: str | None = None) -> Topic:
        return Topic(self.settings.group_id, kind, self.settings.edge_node_id, device)

    def _death_payload(self) -> bytes:
        now = round(self.clock() * 1000)
        return encode(Payload(now, (Metric(BDSEQ_METRIC, DataType.UINT64, self._bdseq, now),)))

    @staticmethod
    def _asks_rebirth(data: bytes) -> bool:
        try:
            payload = decode(data)
        except ValueError:
            return False
        return any(m.name == REBIRTH_METRIC and m.value is True for m in payload.metrics)

    def _remove(self, record_ids: list[int]) -> None:
        if not record_ids:
            return
        self.outbox.remove(record_ids)
        if self._overflowing and self.outbox.records == 0:
            self._overflowing = False
            self.on_overflow(False, Dropped())
