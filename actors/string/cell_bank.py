"""CellBank: supervisor of one string's CellSensor actors inside the private in-process system.

The string master asks the bank once per scan with the scan's readings; the bank tells every
cell the same CellBatch and answers with one status per cell. A cell answers only when its
status changed, so the bank keeps each cell's last status, and knows the scan is complete by
the CellRoundEnd it sends itself behind the batch (simpleSystemBase delivers in send order;
see messages.CellRoundEnd). Halving the in-process messages of a scan this way was the largest
single saving of the string master's CPU (docs/architecture.md).

A cell that cannot evaluate its reading reports CellFailed: the bank re-creates it from its
last good snapshot and reports it as not answering for this scan. A cell that raises anywhere
else comes back as a PoisonMessage and is re-created the same way.

Like CellSensor it dispatches on the message type itself (see cell_sensor.py for why).
"""

from __future__ import annotations

from thespian.actors import Actor, ActorExitRequest, PoisonMessage

from actors.device.cell_sensor import CellSensor, unresponsive_status
from actors.messages.down import ChangeCellLimits, InitCell, InitCellBank
from actors.messages.service import CrashForTest
from actors.messages.up import CellBatchResult, CellFailed, CellRoundEnd
from battery.readings import CellBatch
from battery.site import BatteryType
from battery.status import CellSnapshot, CellStatus


class CellBank(Actor):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.battery: BatteryType | None = None
        self.limits = None
        self.cells: list = []  # ActorAddress per cell, index 0 = battery 1
        self.snapshots: list[CellSnapshot | None] = []
        self.statuses: list[CellStatus | None] = []  # each cell's last status, by position
        self.transitions: list = []  # (cell index, AlarmTransition) of this scan
        self.restarted: list[int] = []
        self.asker = None

    def receiveMessage(self, message, sender):
        kind = type(message)
        if kind is CellStatus:
            self._cell_answered(message)
        elif kind is CellRoundEnd:
            self._round_end(message)
        elif kind is CellBatch:
            self._start_scan(message, sender)
        elif kind is CellFailed:
            self._replace(message.index, sender, failed_this_scan=True)
        elif kind is InitCellBank:
            self._init(message, sender)
        elif kind is ChangeCellLimits:
            self._change_limits(message, sender)
        elif kind is CrashForTest:
            self.asker = sender
            self.send(self.cells[message.cell_index - 1], message)
        elif kind is PoisonMessage:
            self._cell_raised(message, sender)

    def _init(self, message: InitCellBank, sender) -> None:
        self.battery = message.battery
        self.limits = message.limits
        count = message.battery.count
        self.snapshots = list(message.snapshots) + [None] * (count - len(message.snapshots))
        self.statuses = [None] * count
        self.cells = [self._create_cell(i) for i in range(1, count + 1)]
        self.send(sender, CellBatchResult((), ()))

    def _change_limits(self, message: ChangeCellLimits, sender) -> None:
        """Every cell gets the new limits before the next batch (in-process: delivered in order);
        a cell re-created later is created with them."""
        self.limits = message.limits
        for cell in self.cells:
            self.send(cell, message)
        self.send(sender, CellBatchResult((), ()))

    def _create_cell(self, index: int):
        address = self.createActor(CellSensor)
        self.send(address, InitCell(index, self.battery, self.snapshots[index - 1], self.limits))
        return address

    def _start_scan(self, batch: CellBatch, sender) -> None:
        self.asker = sender
        self.restarted = []
        self.transitions = []
        for cell in self.cells:
            self.send(cell, batch)
        self.send(self.myAddress, CellRoundEnd(0))

    def _cell_answered(self, status: CellStatus) -> None:
        position = status.index - 1
        self.statuses[position] = status
        self.snapshots[position] = status.snapshot
        if status.alarm_transitions:
            self.transitions.extend((status.index, t) for t in status.alarm_transitions)

    def _round_end(self, message: CellRoundEnd) -> None:
        if message.pass_no == 0:
            self.send(self.myAddress, CellRoundEnd(1))  # behind the answers sent meanwhile
            return
        statuses = self.statuses
        if None in statuses:  # a cell that has never answered (it failed at once): no data
            statuses = [s or unresponsive_status(i + 1, self.snapshots[i]) for i, s in enumerate(statuses)]
        self.send(self.asker, CellBatchResult(tuple(statuses), tuple(self.restarted), tuple(self.transitions)))

    def _cell_raised(self, message: PoisonMessage, sender) -> None:
        index = self._index_of(sender)
        if index is None:
            return
        failed = message.poisonMessage
        self._replace(index, sender, failed_this_scan=isinstance(failed, CellBatch))
        if isinstance(failed, CrashForTest):
            self.send(self.asker, CellBatchResult((), (index,)))

    def _replace(self, index: int, address, *, failed_this_scan: bool) -> None:
        """Re-create cell `index` from its last good snapshot."""
        self.send(address, ActorExitRequest())
        self.cells[index - 1] = self._create_cell(index)
        self.restarted.append(index)
        if failed_this_scan:
            self.statuses[index - 1] = unresponsive_status(index, self.snapshots[index - 1])
        else:
            self.statuses[index - 1] = None  # its next answer comes from the new actor

    def _index_of(self, address) -> int | None:
        for position, cell in enumerate(self.cells):
            if cell == address:
                return position + 1
        return None
