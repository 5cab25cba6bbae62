"""CellBank: supervisor of one string's CellSensor actors inside the private in-process system.

The string master asks the bank once per scan with the scan's readings; the bank tells every
cell the same CellBatch and answers when every cell has answered. A cell whose handler keeps
raising comes back as a PoisonMessage: the bank re-creates that cell from its last good
snapshot, reports it as not answering for this scan, and the next scan reaches the new actor.

Like CellSensor it dispatches on the message type itself (see cell_sensor.py for why).
"""

from __future__ import annotations

from thespian.actors import Actor, ActorExitRequest, PoisonMessage

from actors.device.cell_sensor import CellSensor, unresponsive_status
from actors.messages import (
    BatteryType,
    CellBatch,
    CellBatchResult,
    CellSnapshot,
    CellStatus,
    CrashForTest,
    InitCell,
    InitCellBank,
)


class CellBank(Actor):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.battery: BatteryType | None = None
        self.limits = None
        self.cells: list = []  # ActorAddress per cell, index 0 = battery 1
        self.snapshots: list[CellSnapshot | None] = []
        self.statuses: list[CellStatus | None] = []  # this scan's, by position
        self.missing = 0  # cells that have not answered this scan
        self.restarted: list[int] = []
        self.asker = None

    def receiveMessage(self, message, sender):
        kind = type(message)
        if kind is CellStatus:
            self._cell_answered(message)
        elif kind is CellBatch:
            self._start_scan(message, sender)
        elif kind is InitCellBank:
            self._init(message, sender)
        elif kind is CrashForTest:
            self.asker = sender
            self.send(self.cells[message.cell_index - 1], message)
        elif kind is PoisonMessage:
            self._cell_failed(message, sender)

    def _init(self, message: InitCellBank, sender) -> None:
        self.battery = message.battery
        self.limits = message.limits
        self.snapshots = list(message.snapshots) + [None] * (message.battery.count - len(message.snapshots))
        self.cells = [self._create_cell(i) for i in range(1, message.battery.count + 1)]
        self.send(sender, CellBatchResult((), ()))

    def _create_cell(self, index: int):
        address = self.createActor(CellSensor)
        self.send(address, InitCell(index, self.battery, self.snapshots[index - 1], self.limits))
        return address

    def _start_scan(self, batch: CellBatch, sender) -> None:
        self.asker = sender
        self.restarted = []
        self.statuses = [None] * len(self.cells)
        self.missing = len(self.cells)
        for cell in self.cells:
            self.send(cell, batch)
        if not self.cells:
            self._reply()

    def _cell_answered(self, status: CellStatus) -> None:
        position = status.index - 1
        self.snapshots[position] = status.snapshot
        if position < len(self.statuses):  # else an answer after its scan was given up: keep only the state
            self._record(position, status)

    def _record(self, position: int, status: CellStatus) -> None:
        if self.statuses[position] is None:
            self.missing -= 1
        self.statuses[position] = status
        if self.missing == 0:
            self._reply()

    def _cell_failed(self, message: PoisonMessage, sender) -> None:
        index = self._index_of(sender)
        if index is None:
            return
        self.send(sender, ActorExitRequest())
        self.cells[index - 1] = self._create_cell(index)
        self.restarted.append(index)
        failed = message.poisonMessage
        if isinstance(failed, CellBatch):
            self._record(index - 1, unresponsive_status(index, self.snapshots[index - 1]))
        elif isinstance(failed, CrashForTest):
            self.send(self.asker, CellBatchResult((), (index,)))

    def _index_of(self, address) -> int | None:
        for position, cell in enumerate(self.cells):
            if cell == address:
                return position + 1
        return None

    def _reply(self) -> None:
        self.send(self.asker, CellBatchResult(tuple(self.statuses), tuple(self.restarted)))
        self.statuses = []
