"""CellBank: supervisor of one string's CellSensor actors inside the private in-process system.

The string master asks the bank once per scan with all readings; the bank tells each cell its
reading and answers when every cell has answered. A cell whose handler keeps raising comes
back as a PoisonMessage: the bank re-creates that cell from its last good snapshot, reports it
as not answering for this scan, and the next scan reaches the new actor.
"""

from __future__ import annotations

from thespian.actors import ActorExitRequest, ActorTypeDispatcher, PoisonMessage

from actors.device.cell_sensor import CellSensor, unresponsive_status
from actors.messages import (
    BatteryType,
    CellBatch,
    CellBatchResult,
    CellReading,
    CellSnapshot,
    CellStatus,
    CrashForTest,
    InitCell,
    InitCellBank,
)


class CellBank(ActorTypeDispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.battery: BatteryType | None = None
        self.limits = None
        self.cells: list = []  # ActorAddress per cell, index 0 = battery 1
        self.snapshots: list[CellSnapshot | None] = []
        self.pending: dict[int, CellStatus | None] = {}
        self.expected = 0
        self.scan_no = 0
        self.restarted: list[int] = []
        self.asker = None

    def receiveMsg_InitCellBank(self, message: InitCellBank, sender):
        self.battery = message.battery
        self.limits = message.limits
        self.snapshots = list(message.snapshots) + [None] * (message.battery.count - len(message.snapshots))
        self.cells = [self._create_cell(i) for i in range(1, message.battery.count + 1)]
        self.send(sender, CellBatchResult((), ()))

    def _create_cell(self, index: int):
        address = self.createActor(CellSensor)
        self.send(address, InitCell(index, self.battery, self.snapshots[index - 1], self.limits))
        return address

    def receiveMsg_CellBatch(self, message: CellBatch, sender):
        self.asker = sender
        self.pending = {}
        self.restarted = []
        self.expected = len(message.readings)
        self.scan_no = message.readings[0].scan_no if message.readings else 0
        for position, reading in enumerate(message.readings):
            self.send(self.cells[position], reading)
        if not message.readings:
            self._reply()

    def receiveMsg_CellStatus(self, status: CellStatus, sender):
        self.snapshots[status.index - 1] = status.snapshot
        self.pending[status.index] = status
        if len(self.pending) == self.expected:
            self._reply()

    def receiveMsg_CrashForTest(self, message: CrashForTest, sender):
        self.asker = sender
        self.expected = 0
        self.send(self.cells[message.cell_index - 1], message)

    def receiveMsg_PoisonMessage(self, message: PoisonMessage, sender):
        failed = message.poisonMessage
        index = self._index_of(sender)
        if index is None:
            return
        self.send(sender, ActorExitRequest())
        self.cells[index - 1] = self._create_cell(index)
        self.restarted.append(index)
        if isinstance(failed, CellReading):
            self.pending[index] = unresponsive_status(index, failed.scan_no, self.snapshots[index - 1])
            if len(self.pending) == self.expected:
                self._reply()
        elif isinstance(failed, CrashForTest):
            self.send(self.asker, CellBatchResult((), (index,)))

    def _index_of(self, address) -> int | None:
        for position, cell in enumerate(self.cells):
            if cell == address:
                return position + 1
        return None

    def _reply(self) -> None:
        statuses = tuple(self.pending[i] for i in sorted(self.pending))
        self.send(self.asker, CellBatchResult(statuses, tuple(self.restarted)))
        self.pending = {}
