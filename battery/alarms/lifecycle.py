"""Pure decisions of the alarm manager: identity, switch-off, siren, restart reconciliation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from battery.alarms.kinds import AlarmKind
from battery.alarms.records import AlarmCleared, AlarmRaised
from battery.site import Topology

# An alarm's identity: the same condition on the same device is the same alarm while active.
AlarmKey = tuple[str, str, str, str, int]  # kind, detail, ups_id, string_id, cell_index (0 = none)


def alarm_key(kind: str, detail: str, ups_id: str | None, string_id: str | None, cell_index: int | None) -> AlarmKey:
    return (str(kind), detail or "", ups_id or "", string_id or "", cell_index or 0)


def key_of(event: AlarmRaised | AlarmCleared) -> AlarmKey:
    return alarm_key(event.kind, event.detail, event.ups_id, event.string_id, event.cell_index)


def disconnect_strings(topology: Topology) -> frozenset[str]:
    """Strings that have a BM-LC output of function "disconnect" assigned in the topology."""
    mc = topology.master_controller
    if mc is None:
        return frozenset()
    return frozenset(o.string for o in mc.outputs if o.function == "disconnect" and o.string)


@dataclass(frozen=True)
class SwitchOffDecision:
    switch_off: bool
    reason: str  # why (for the action log), also when nothing is done


def switch_off_decision(
    event: AlarmRaised, new_alarm: bool, switch_off_kinds: Iterable[str], with_output: frozenset[str]
) -> SwitchOffDecision:
    """Whether a raised alarm opens its string's breaker.

    Only a *new* alarm acts: an alarm that is still true after a restart was acted upon
    before, and an operator who closed the breaker again since then decided so explicitly.
    """
    cell_alarm_without_cell = event.cell_index is None and AlarmKind(event.kind).is_cell_limit
    if event.string_id is None or str(event.kind) not in set(switch_off_kinds) or cell_alarm_without_cell:
        return SwitchOffDecision(False, "not a switch-off alarm")
    if not new_alarm:
        return SwitchOffDecision(False, "alarm already active before (no second switch-off)")
    if event.string_id not in with_output:
        return SwitchOffDecision(False, f"string {event.string_id} has no BM-LC disconnect output in the topology")
    if event.cell_index is None:  # a string's own alarm (thermal runaway)
        return SwitchOffDecision(True, f"string {event.string_id}: {event.kind}")
    return SwitchOffDecision(
        True,
        f"cell {event.cell_index} of string {event.string_id}: {event.kind} (value {event.value}, limit {event.limit})",
    )


def siren_on(active_unacknowledged: int) -> bool:
    """The siren/warning light follows "any unacknowledged active alarm"."""
    return active_unacknowledged > 0


def keys_to_close_after_restart(
    active_at_start: Iterable[AlarmKey], confirmed_since_start: Iterable[AlarmKey]
) -> list[AlarmKey]:
    """Alarms stored as active at start-up that no rule has raised again: they cleared while down."""
    confirmed = set(confirmed_since_start)
    return [k for k in active_at_start if k not in confirmed]
