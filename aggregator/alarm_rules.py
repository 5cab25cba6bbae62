"""Which of the site's alarms are active: ONE rule for the JSON API, the pages and the Modbus view.

A gateway alarm is known by the latest event the gateway sent for its number
(RecordStore.gateway_alarms); it is active until that event clears or closes it (an
acknowledgement does not end it). The aggregator's own off-line alarm of a gateway is active
while its row has no `cleared_at`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def gateway_alarm_active(latest_event: Mapping) -> bool:
    return latest_event.get("event") not in ("cleared", "closed") and latest_event.get("to_time") is None


def active_alarm_counts(gateway_alarms: Iterable[Mapping], active_offline: Iterable[Mapping]) -> dict[str, int]:
    """Edge node -> its active alarms: the gateway's own and the aggregator's off-line alarm.

    `gateway_alarms`: the latest event of each gateway alarm, with its `edge_node`;
    `active_offline`: the off-line alarm rows that are not cleared."""
    counts: dict[str, int] = {}
    for alarm in gateway_alarms:
        if gateway_alarm_active(alarm):
            counts[alarm["edge_node"]] = counts.get(alarm["edge_node"], 0) + 1
    for row in active_offline:
        counts[row["edge_node"]] = counts.get(row["edge_node"], 0) + 1
    return counts
