"""GatewayProxy: one actor per edge node, holding what the primary host knows of that gateway.

It decodes the node's messages a batch at a time (aggregator/edge_batch.py; edge_node.py
applies the Sparkplug rules), hands each batch's records to the Store as one StoreRecords with
the batch's MQTT message ids (the broker's messages are acknowledged once stored), asks for a
rebirth through the Subscriber, raises and clears the off-line alarm, and sends the web server
the gateway's live view at most once a second. It holds nothing the subscriber cannot give again
(aggregator/delivery.py): a proxy that dies is replaced and given what it had not yet stored.
It answers the subscriber that sent it the batch, so a re-created subscriber gets its
acknowledgements (the broker gives it what the dead one had not acknowledged).
"""

from __future__ import annotations

import time
from datetime import timedelta

from thespian.actors import ActorTypeDispatcher, WakeupMessage

from aggregator.edge_batch import BatchOutcome, fold_batch, replay_batch
from aggregator.edge_node import EdgeNode, Outcome
from aggregator.messages import (
    EdgeNodeView,
    Handled,
    InitProxy,
    OfflineAlarm,
    Publish,
    ReceivedBatch,
    StoreAt,
    StoreRecords,
    ViewTo,
)
from aggregator.records import Record
from aggregator.skipping import give_up
from observability.log import configure_structlog, get_logger
from protocols.uplink.payload import DataType, Metric, Payload, encode
from protocols.uplink.sequence import REBIRTH_METRIC
from protocols.uplink.topics import MessageType, Topic

TICK = timedelta(seconds=1)


class GatewayProxy(ActorTypeDispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        configure_structlog()
        self.log = get_logger("btms.aggregator.proxy")
        self.init: InitProxy | None = None
        self.node: EdgeNode | None = None
        self.alarms: dict[int, dict] = {}
        self.view_due = False
        self.early: list[tuple[ReceivedBatch, object]] = []  # (batch, its sender) before InitProxy
        self.store = None  # the Store's address: InitProxy's, or a re-created Store's (StoreAt)
        self.subscriber = None  # who sent the last batch: a re-created subscriber is answered, not the dead one
        self.view_to: dict[str, tuple] = {}  # name -> (address, with cells): the services that show the gateway

    def receiveMsg_InitProxy(self, message: InitProxy, sender):
        if self.init is None:
            self.init = message
            self.store = self.store or message.store  # a StoreAt may overtake InitProxy (two senders)
            self.subscriber = self.subscriber or message.subscriber
            self.node = EdgeNode(message.edge_node, message.config.offline_after_s)
            self.wakeupAfter(TICK)
            early, self.early = self.early, []
            for batch, batch_sender in early:
                self.receiveMsg_ReceivedBatch(batch, batch_sender)

    def receiveMsg_ViewTo(self, message: ViewTo, sender):
        self.view_to[message.name] = (message.target, message.cells)
        self._send_view()

    def receiveMsg_StoreAt(self, message: StoreAt, sender):
        self.store = message.store

    def receiveMsg_ReceivedBatch(self, message: ReceivedBatch, sender):
        if self.node is None or self.init is None:
            # The subscriber's first messages can overtake the Aggregator's InitProxy (two
            # senders): kept, not dropped, since the broker's acknowledgements wait for each.
            self.early.append((message, sender))
            self.subscriber = sender
            return
        self.subscriber = sender
        if message.replay:
            replayed = replay_batch(self.node, message.messages)
            self._set_aside(replayed)
            self._store(replayed.records, replayed.alarm_events, replayed.mids)
            return
        folded = fold_batch(self.node, message.messages, time.time())
        for topic, reason in folded.unreadable:
            self.log.warning("unreadable message dropped", topic=topic, reason=reason)
        if folded.rebirth_for:
            self._ask_rebirth(folded.rebirth_for[-1])
        for out in folded.outcomes:
            self._follow(out)
        self._set_aside(folded)
        self._store(folded.records, folded.alarm_events, folded.mids)

    def _set_aside(self, folded: BatchOutcome) -> None:
        """Messages the rules failed on: logged, and kept by the Store, which acknowledges them."""
        init = self.init
        assert init is not None
        for failed in folded.failed:
            skipped = give_up(self.log, init.edge_node, failed.message, failed.seq, failed.reason, self.subscriber)
            self.send(self.store, skipped)

    def receiveMsg_WakeupMessage(self, message: WakeupMessage, sender):
        if self.node is None:
            return
        self._follow(self.node.tick(time.time()))
        if self.view_due:
            self._send_view()
        self.wakeupAfter(TICK)

    def _store(self, records: list[Record], alarm_events: list[dict], mids: list[int]) -> None:
        """One StoreRecords for the batch; a batch with nothing to store is acknowledged at once."""
        init = self.init
        assert init is not None
        if records or alarm_events:
            events = tuple((init.edge_node, e) for e in alarm_events)
            self.send(self.store, StoreRecords(tuple(records), events, tuple(mids), self.subscriber))
        elif mids:
            self.send(self.subscriber, Handled(tuple(mids)))

    def _follow(self, out: Outcome) -> None:
        """The gateway's alarms, its on-line state and the live view, after one message or tick."""
        init = self.init
        assert init is not None and self.node is not None
        for event in out.alarm_events:
            alarm_id = event.get("alarm_id")
            if isinstance(alarm_id, int):
                self.alarms[alarm_id] = event
        now = time.time()
        if out.went_offline is not None:
            self.log.warning("gateway off-line", edge_node=init.edge_node, reason=out.went_offline)
            self.send(self.store, OfflineAlarm(init.edge_node, now, out.went_offline))
            self._send_view()
        if out.came_online:
            self.log.info("gateway on-line", edge_node=init.edge_node)
            self.send(self.store, OfflineAlarm(init.edge_node, now, None))
            self._send_view()
        if out.changed or out.alarm_events:
            self.view_due = True

    def _ask_rebirth(self, topic: Topic) -> None:
        assert self.init is not None
        command = Topic(topic.group_id, MessageType.NCMD, topic.edge_node_id)
        body = encode(Payload(int(time.time() * 1000), (Metric(REBIRTH_METRIC, DataType.BOOLEAN, True),)))
        self.log.info("rebirth requested", edge_node=topic.edge_node_id, gaps=self.node.gaps if self.node else 0)
        self.send(self.subscriber, Publish(str(command), body))

    def _send_view(self) -> None:
        node = self.node
        if node is None or not self.view_to:
            return
        self.view_due = False
        view = EdgeNodeView(
            node.name,
            node.online,
            node.offline_reason,
            node.last_heard,
            {d: dict(v) for d, v in node.latest.items()},
            dict(node.latest_ms),
            dict(self.alarms),
        )
        trimmed = None
        for target, cells in self.view_to.values():
            if not cells and trimmed is None:
                trimmed = view.without_cells()
            self.send(target, view if cells else trimmed)
