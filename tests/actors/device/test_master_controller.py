"""MasterController: switch-off and siren commands down, IO module inputs and outages up."""

from __future__ import annotations

from actors.device.master_controller import MasterController
from actors.messages.down import InitMasterController
from battery.alarms.records import AlarmCleared, AlarmRaised
from battery.commands import SetStringRelay
from protocols.fieldbus.bus_messages import IoModuleScan, SetOutput
from protocols.fieldbus.outages import DeviceWatch
from tests.recorder import GetRecorded, Recorder
from tests.support import small_topology, wait_for


class Gateway(Recorder):
    """Plays the gateway and the alarm manager: sends the Init, receives the alarm events, records everything."""

    def receiveMsg_tuple(self, message, sender):
        target, payload = message
        self.send(target, payload)


def setup(actor_system, tmp_path):
    topology = small_topology(tmp_path, upses=1, strings_per_ups=2, cells=4)
    gateway = actor_system.createActor(Gateway)
    controller = actor_system.createActor(MasterController)
    actor_system.tell(
        gateway, (controller, InitMasterController(topology.master_controller, gateway, topology, gateway))
    )
    return topology, gateway, controller


def recorded(actor_system, gateway, kind):
    return [m for m in actor_system.ask(gateway, GetRecorded(), 5).messages if isinstance(m, kind)]


def test_switch_off_writes_the_strings_output(actor_system, tmp_path):
    topology, gateway, controller = setup(actor_system, tmp_path)
    actor_system.tell(controller, SetStringRelay("U1S2", closed=False, reason="cell voltage high"))
    written = wait_for(lambda: recorded(actor_system, gateway, SetOutput), what="the output command")
    assert written[0].device_address == 101 and written[0].output == 2 and written[0].on is True


def silent_scans(miss_limit: int, count: int) -> list[IoModuleScan]:
    """What the field bus sends of a silent BM-LC: its own miss counter decides the verdict."""
    watch = DeviceWatch("sim", 101, "BM-LC", miss_limit)
    scans = []
    for n in range(count):
        watch.missed(1000.0 + n, "timeout")
        scans.append(IoModuleScan("sim", 101, n, 1000.0 + n, False, communication_lost=watch.lost))
    return scans


def test_a_silent_io_module_raises_communication_lost_at_the_miss_limit_and_clears(actor_system, tmp_path):
    topology, gateway, controller = setup(actor_system, tmp_path)
    miss_limit = topology.bus("sim").miss_limit
    *before, at_limit = silent_scans(miss_limit, miss_limit)
    for scan in before:
        actor_system.tell(controller, scan)
    actor_system.ask(gateway, GetRecorded(), 5)
    assert not recorded(actor_system, gateway, AlarmRaised)
    actor_system.tell(controller, at_limit)
    raised = wait_for(lambda: recorded(actor_system, gateway, AlarmRaised), what="communication lost")
    assert raised[0].kind == "communication_lost" and raised[0].detail == "BM-LC io1"
    actor_system.tell(controller, IoModuleScan("sim", 101, 99, 1100.0, True, (False,) * 8, (False,) * 8))
    wait_for(lambda: recorded(actor_system, gateway, AlarmCleared), what="the alarm to clear")


def test_the_field_bus_verdict_alone_decides_communication_lost(actor_system, tmp_path):
    """The controller counts no misses of its own: silent scans without the verdict never raise,
    and the verdict raises at the first silent scan it sees (e.g. after a restart of the controller)."""
    topology, gateway, controller = setup(actor_system, tmp_path)
    for n in range(3 * topology.bus("sim").miss_limit):
        actor_system.tell(controller, IoModuleScan("sim", 101, n, 1000.0 + n, False))
    actor_system.ask(gateway, GetRecorded(), 5)
    assert not recorded(actor_system, gateway, AlarmRaised)
    actor_system.tell(controller, IoModuleScan("sim", 101, 50, 1050.0, False, communication_lost=True))
    raised = wait_for(lambda: recorded(actor_system, gateway, AlarmRaised), what="communication lost on the verdict")
    assert [(r.kind, r.detail, r.time) for r in raised] == [("communication_lost", "BM-LC io1", 1050.0)]
    actor_system.tell(controller, IoModuleScan("sim", 101, 51, 1051.0, True, (False,) * 8, (False,) * 8))
    cleared = wait_for(lambda: recorded(actor_system, gateway, AlarmCleared), what="the clear on the first answer")
    assert cleared[0].time == 1051.0


def test_a_failed_switch_off_raises_its_alarm_is_retried_and_clears_when_confirmed(actor_system, tmp_path):
    from protocols.fieldbus.bus_messages import OutputWritten

    topology, gateway, controller = setup(actor_system, tmp_path)
    actor_system.tell(controller, SetStringRelay("U1S1", closed=False, reason="cell voltage high"))
    wait_for(lambda: recorded(actor_system, gateway, SetOutput), what="the first attempt")
    actor_system.tell(controller, OutputWritten(101, 1, True, False, "port /dev/ttyUSB0 is lost", 0.0, 1000.0))
    raised = wait_for(lambda: recorded(actor_system, gateway, AlarmRaised), what="switch-off failed")
    assert raised[0].kind == "switch_off_failed" and raised[0].string_id == "U1S1"
    wait_for(lambda: len(recorded(actor_system, gateway, SetOutput)) >= 2, timeout=5, what="the retry")
    actor_system.tell(controller, OutputWritten(101, 1, True, True, "", 1.0, 1002.0))
    cleared = wait_for(lambda: recorded(actor_system, gateway, AlarmCleared), what="the alarm to clear")
    assert cleared[0].kind == "switch_off_failed" and cleared[0].detail == raised[0].detail
